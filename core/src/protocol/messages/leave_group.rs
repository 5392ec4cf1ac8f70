//! LeaveGroup (key 13): members leave a group. Versions 0-5, flexible from 4;
//! v3+ carries a batch of `members` instead of one `member_id`.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 5;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaveGroupRequest {
    pub group_id: String,
    /// v0-2.
    pub member_id: String,
    /// v3+.
    pub members: Vec<MemberIdentity>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberIdentity {
    pub member_id: String,
    /// Nullable; default null.
    pub group_instance_id: Option<String>,
    /// v5+ (nullable); default null.
    pub reason: Option<String>,
}

impl Decode for MemberIdentity {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = MemberIdentity { member_id: r.string()?, group_instance_id: r.nullable_string()?, ..Default::default() };
        if version >= 5 {
            m.reason = r.nullable_string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MemberIdentity {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.member_id);
        w.nullable_string(self.group_instance_id.as_deref());
        if version >= 5 {
            w.nullable_string(self.reason.as_deref());
        }
        w.empty_tagged_fields();
    }
}

impl Decode for LeaveGroupRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 4;
        let mut m = LeaveGroupRequest { group_id: r.string()?, ..Default::default() };
        if version <= 2 {
            m.member_id = r.string()?;
        } else {
            m.members = r.array_of(version)?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for LeaveGroupRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        w.string(&self.group_id);
        if version <= 2 {
            w.string(&self.member_id);
        } else {
            w.array_of(&self.members, version);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaveGroupResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: i16,
    /// v3+.
    pub members: Vec<MemberResponse>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberResponse {
    pub member_id: String,
    /// Nullable.
    pub group_instance_id: Option<String>,
    pub error_code: i16,
}

impl Decode for MemberResponse {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = MemberResponse { member_id: r.string()?, group_instance_id: r.nullable_string()?, error_code: r.i16()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MemberResponse {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.member_id);
        w.nullable_string(self.group_instance_id.as_deref());
        w.i16(self.error_code);
        w.empty_tagged_fields();
    }
}

impl Decode for LeaveGroupResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 4;
        let mut m = LeaveGroupResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        if version >= 3 {
            m.members = r.array_of(version)?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for LeaveGroupResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 3 {
            w.array_of(&self.members, version);
        }
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    /// A request using every field the version carries; the rest at Kafka's defaults.
    fn request(version: i16) -> LeaveGroupRequest {
        let mut m = LeaveGroupRequest { group_id: "my-group".into(), ..Default::default() };
        if version <= 2 {
            m.member_id = "consumer-1-abc".into();
        } else {
            let mut first =
                MemberIdentity { member_id: "consumer-1-abc".into(), group_instance_id: Some("instance-7".into()), reason: None };
            let second = MemberIdentity { member_id: String::new(), group_instance_id: Some("instance-8".into()), reason: None };
            if version >= 5 {
                first.reason = Some("the consumer is being closed".into());
            }
            m.members = vec![first, second];
        }
        m
    }

    /// A response using every field the version carries; the rest at Kafka's defaults.
    fn response(version: i16) -> LeaveGroupResponse {
        let mut m = LeaveGroupResponse { error_code: 16, ..Default::default() };
        if version >= 1 {
            m.throttle_time_ms = 31;
        }
        if version >= 3 {
            m.members = vec![
                MemberResponse { member_id: "consumer-1-abc".into(), group_instance_id: Some("instance-7".into()), error_code: 0 },
                MemberResponse { member_id: "consumer-2-def".into(), group_instance_id: None, error_code: 25 },
            ];
        }
        m
    }

    /// Every version (0-5) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&LeaveGroupRequest::default(), version);
            round_trip(&LeaveGroupResponse::default(), version);
        }
    }

    /// Fields absent from a version decode to Kafka's defaults.
    #[test]
    fn absent_fields_take_kafka_defaults() {
        let mut w = Writer::new();
        request(5).encode(&mut w, 3);
        let mut r = Reader::new(w.finish().freeze());
        let got = LeaveGroupRequest::decode(&mut r, 3).unwrap();
        assert_eq!(got.member_id, "");
        assert_eq!(got.members[0].reason, None);
        assert_eq!(got.members[0].group_instance_id.as_deref(), Some("instance-7"));

        let mut r = Reader::new(Bytes::from_static(&[0, 1, b'g', 0, 1, b'm']));
        let got = LeaveGroupRequest::decode(&mut r, 0).unwrap();
        assert_eq!(got, LeaveGroupRequest { group_id: "g".into(), member_id: "m".into(), members: vec![] });
    }

    /// A v0 and a v3 (classic) request and a v3 response match bytes assembled by hand.
    #[test]
    fn known_bytes_classic() {
        let req = LeaveGroupRequest { group_id: "g".into(), member_id: "m".into(), members: vec![] };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',     // group_id "g"
            0, 1, b'm',     // member_id "m"
        ];
        assert_known_bytes(&req, 0, req_bytes);

        let req = LeaveGroupRequest {
            group_id: "g".into(),
            member_id: String::new(),
            members: vec![MemberIdentity { member_id: "m".into(), group_instance_id: None, reason: None }],
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',     // group_id "g"
            0, 0, 0, 1,     // members: 1
            0, 1, b'm',     //   member_id "m"
            0xff, 0xff,     //   group_instance_id null
        ];
        assert_known_bytes(&req, 3, req_bytes);

        let resp = LeaveGroupResponse {
            throttle_time_ms: 1,
            error_code: 0,
            members: vec![MemberResponse { member_id: "m".into(), group_instance_id: Some("i".into()), error_code: 25 }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 1,     // throttle_time_ms 1
            0, 0,           // error_code
            0, 0, 0, 1,     // members: 1
            0, 1, b'm',     //   member_id "m"
            0, 1, b'i',     //   group_instance_id "i"
            0, 25,          //   error_code 25 (UNKNOWN_MEMBER_ID)
        ];
        assert_known_bytes(&resp, 3, resp_bytes);
    }

    /// A v5 (flexible) request and response match bytes assembled by hand.
    #[test]
    fn known_bytes_flexible() {
        let req = LeaveGroupRequest {
            group_id: "g".into(),
            member_id: String::new(),
            members: vec![MemberIdentity { member_id: "m".into(), group_instance_id: Some("i".into()), reason: Some("x".into()) }],
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            2, b'g',        // group_id "g"
            2,              // members: 1
            2, b'm',        //   member_id "m"
            2, b'i',        //   group_instance_id "i"
            2, b'x',        //   reason "x"
            0,              //   member tags
            0,              // top-level tags
        ];
        assert_known_bytes(&req, 5, req_bytes);

        let resp = LeaveGroupResponse {
            throttle_time_ms: 0,
            error_code: 0,
            members: vec![MemberResponse { member_id: "m".into(), group_instance_id: None, error_code: 0 }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,     // throttle_time_ms
            0, 0,           // error_code
            2,              // members: 1
            2, b'm',        //   member_id "m"
            0,              //   group_instance_id null
            0, 0,           //   error_code
            0,              //   member tags
            0,              // top-level tags
        ];
        assert_known_bytes(&resp, 5, resp_bytes);

        // Unknown tags on a member and at the top level are skipped.
        #[rustfmt::skip]
        let with_unknown: &[u8] = &[
            0, 0, 0, 0, 0, 0, 2, 2, b'm', 0, 0, 0,
            1, 6, 1, 0x01,  //   member tags: tag 6, 1 byte
            1, 2, 0,        // top-level tags: tag 2, empty
        ];
        let mut r = Reader::new(Bytes::from_static(with_unknown));
        assert_eq!(LeaveGroupResponse::decode(&mut r, 5).unwrap(), resp);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<LeaveGroupRequest>(&[0, 1, b'g', 0x7f, 0xff, 0xff, 0xff, 0, 0], 3), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<LeaveGroupRequest>(&[2, b'g', 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 4), DecodeError::NotEnoughBytes);
        assert_eq!(
            decode_error::<LeaveGroupResponse>(&[0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 5),
            DecodeError::NotEnoughBytes
        );
    }
}
