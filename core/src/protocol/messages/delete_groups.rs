//! DeleteGroups (key 42): delete consumer groups. Versions 0-2, flexible from 2.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 2;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteGroupsRequest {
    pub groups_names: Vec<String>,
}

impl Decode for DeleteGroupsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 2;
        let m = DeleteGroupsRequest { groups_names: r.array(|r| r.string())? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteGroupsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.array(&self.groups_names, |w, g| w.string(g));
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteGroupsResponse {
    pub throttle_time_ms: i32,
    pub results: Vec<DeletableGroupResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeletableGroupResult {
    pub group_id: String,
    pub error_code: i16,
}

impl Decode for DeletableGroupResult {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DeletableGroupResult { group_id: r.string()?, error_code: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeletableGroupResult {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.group_id);
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for DeleteGroupsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 2;
        let m = DeleteGroupsResponse { throttle_time_ms: r.i32()?, results: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DeleteGroupsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 2;
        w.i32(self.throttle_time_ms);
        w.array_of(&self.results, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    /// Every version (0-2) round-trips every field.
    #[test]
    fn round_trips_every_version() {
        let req = DeleteGroupsRequest { groups_names: vec!["payments".into(), "".into(), "audit".into()] };
        let resp = DeleteGroupsResponse {
            throttle_time_ms: 12,
            results: vec![
                DeletableGroupResult { group_id: "payments".into(), error_code: 0 },
                DeletableGroupResult { group_id: "audit".into(), error_code: 68 },
            ],
        };
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&req, version);
            round_trip(&resp, version);
            round_trip(&DeleteGroupsRequest::default(), version);
            round_trip(&DeleteGroupsResponse::default(), version);
        }
    }

    /// A v1 request and response and a v2 request and response match bytes
    /// assembled by hand.
    #[test]
    fn known_bytes() {
        let req = DeleteGroupsRequest { groups_names: vec!["g".into(), "hi".into()] };
        #[rustfmt::skip]
        let v1: &[u8] = &[
            0, 0, 0, 2,             // groups_names: 2
            0, 1, b'g',             //   "g"
            0, 2, b'h', b'i',       //   "hi"
        ];
        assert_known_bytes(&req, 1, v1);
        #[rustfmt::skip]
        let v2: &[u8] = &[
            3,                      // groups_names: 2 (compact)
            2, b'g',                //   "g"
            3, b'h', b'i',          //   "hi"
            0,                      // top-level tags
        ];
        assert_known_bytes(&req, 2, v2);

        let resp =
            DeleteGroupsResponse { throttle_time_ms: 1, results: vec![DeletableGroupResult { group_id: "g".into(), error_code: 69 }] };
        #[rustfmt::skip]
        let v1: &[u8] = &[
            0, 0, 0, 1,             // throttle_time_ms
            0, 0, 0, 1,             // results: 1
            0, 1, b'g',             //   group_id "g"
            0, 69,                  //   error_code
        ];
        assert_known_bytes(&resp, 1, v1);
        #[rustfmt::skip]
        let v2: &[u8] = &[
            0, 0, 0, 1,             // throttle_time_ms
            2,                      // results: 1 (compact)
            2, b'g',                //   group_id "g"
            0, 69,                  //   error_code
            0,                      //   result tags
            0,                      // top-level tags
        ];
        assert_known_bytes(&resp, 2, v2);

        // An unknown tagged field (tag 5, 2 bytes) on a result is skipped.
        let mut r = Reader::new(Bytes::from_static(&[0, 0, 0, 1, 2, 2, b'g', 0, 69, 1, 5, 2, 0xaa, 0xbb, 0]));
        assert_eq!(DeleteGroupsResponse::decode(&mut r, 2).unwrap(), resp);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<DeleteGroupsRequest>(&[0x7f, 0xff, 0xff, 0xff, 0, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<DeleteGroupsRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 2), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<DeleteGroupsResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 2), DecodeError::NotEnoughBytes);
    }
}
