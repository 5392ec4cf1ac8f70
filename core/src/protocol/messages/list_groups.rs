//! ListGroups (key 16): the groups a broker coordinates, optionally filtered by
//! state and type. Versions 0-5, flexible from 3.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 5;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListGroupsRequest {
    /// v4+. Empty: every state.
    pub states_filter: Vec<String>,
    /// v5+. Empty: every type.
    pub types_filter: Vec<String>,
}

impl Decode for ListGroupsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 3;
        let mut m = ListGroupsRequest::default();
        if version >= 4 {
            m.states_filter = r.array(|r| r.string())?;
        }
        if version >= 5 {
            m.types_filter = r.array(|r| r.string())?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListGroupsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 3;
        if version >= 4 {
            w.array(&self.states_filter, |w, s| w.string(s));
        }
        if version >= 5 {
            w.array(&self.types_filter, |w, s| w.string(s));
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListGroupsResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: i16,
    pub groups: Vec<ListedGroup>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    /// v4+.
    pub group_state: String,
    /// v5+.
    pub group_type: String,
}

impl Decode for ListedGroup {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = ListedGroup { group_id: r.string()?, protocol_type: r.string()?, ..Default::default() };
        if version >= 4 {
            m.group_state = r.string()?;
        }
        if version >= 5 {
            m.group_type = r.string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListedGroup {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.group_id);
        w.string(&self.protocol_type);
        if version >= 4 {
            w.string(&self.group_state);
        }
        if version >= 5 {
            w.string(&self.group_type);
        }
        w.empty_tagged_fields();
    }
}

impl Decode for ListGroupsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 3;
        let mut m = ListGroupsResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        m.groups = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListGroupsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 3;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.array_of(&self.groups, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    fn request(version: i16) -> ListGroupsRequest {
        let mut m = ListGroupsRequest::default();
        if version >= 4 {
            m.states_filter = vec!["Stable".into(), "Empty".into()];
        }
        if version >= 5 {
            m.types_filter = vec!["classic".into()];
        }
        m
    }

    fn response(version: i16) -> ListGroupsResponse {
        let mut groups = vec![
            ListedGroup { group_id: "payments".into(), protocol_type: "consumer".into(), ..Default::default() },
            ListedGroup { group_id: "connect".into(), protocol_type: "".into(), ..Default::default() },
        ];
        if version >= 4 {
            groups[0].group_state = "Stable".into();
            groups[1].group_state = "Empty".into();
        }
        if version >= 5 {
            groups[0].group_type = "classic".into();
            groups[1].group_type = "consumer".into();
        }
        ListGroupsResponse { throttle_time_ms: if version >= 1 { 8 } else { 0 }, error_code: 15, groups }
    }

    /// Every version (0-5) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&ListGroupsRequest::default(), version);
            round_trip(&ListGroupsResponse::default(), version);
        }
    }

    /// A v0 request and response and a v5 request and response match bytes
    /// assembled by hand.
    #[test]
    fn known_bytes() {
        assert_known_bytes(&ListGroupsRequest::default(), 0, &[]);
        let req = ListGroupsRequest { states_filter: vec!["S".into()], types_filter: vec![] };
        #[rustfmt::skip]
        let v5: &[u8] = &[
            2, 2, b'S',             // states_filter: ["S"]
            1,                      // types_filter: []
            0,                      // top-level tags
        ];
        assert_known_bytes(&req, 5, v5);

        let resp = ListGroupsResponse {
            throttle_time_ms: 0,
            error_code: 0,
            groups: vec![ListedGroup { group_id: "g".into(), protocol_type: "c".into(), ..Default::default() }],
        };
        #[rustfmt::skip]
        let v0: &[u8] = &[
            0, 0,                   // error_code
            0, 0, 0, 1,             // groups: 1
            0, 1, b'g',             //   group_id "g"
            0, 1, b'c',             //   protocol_type "c"
        ];
        assert_known_bytes(&resp, 0, v0);

        let resp = ListGroupsResponse {
            throttle_time_ms: 2,
            error_code: 0,
            groups: vec![ListedGroup { group_id: "g".into(), protocol_type: "c".into(), group_state: "E".into(), group_type: "t".into() }],
        };
        #[rustfmt::skip]
        let v5: &[u8] = &[
            0, 0, 0, 2,             // throttle_time_ms
            0, 0,                   // error_code
            2,                      // groups: 1 (compact)
            2, b'g',                //   group_id "g"
            2, b'c',                //   protocol_type "c"
            2, b'E',                //   group_state "E"
            2, b't',                //   group_type "t"
            0,                      //   group tags
            0,                      // top-level tags
        ];
        assert_known_bytes(&resp, 5, v5);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<ListGroupsRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0], 4), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<ListGroupsResponse>(&[0, 0, 0x7f, 0xff, 0xff, 0xff, 0], 0), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<ListGroupsResponse>(&[0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 3),
            DecodeError::NotEnoughBytes
        );
    }
}
