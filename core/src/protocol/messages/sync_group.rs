//! SyncGroup (key 14): the group leader hands out assignments and every member
//! collects its own. Versions 0-5, flexible from 4.

use bytes::Bytes;

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 5;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// v3+ (nullable); default null.
    pub group_instance_id: Option<String>,
    /// v5+ (nullable); default null.
    pub protocol_type: Option<String>,
    /// v5+ (nullable); default null.
    pub protocol_name: Option<String>,
    /// Empty unless sent by the leader.
    pub assignments: Vec<SyncGroupRequestAssignment>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncGroupRequestAssignment {
    pub member_id: String,
    pub assignment: Bytes,
}

impl Decode for SyncGroupRequestAssignment {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = SyncGroupRequestAssignment { member_id: r.string()?, assignment: r.bytes()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for SyncGroupRequestAssignment {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.member_id);
        w.bytes(&self.assignment);
        w.empty_tagged_fields();
    }
}

impl Decode for SyncGroupRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 4;
        let mut m = SyncGroupRequest { group_id: r.string()?, generation_id: r.i32()?, member_id: r.string()?, ..Default::default() };
        if version >= 3 {
            m.group_instance_id = r.nullable_string()?;
        }
        if version >= 5 {
            m.protocol_type = r.nullable_string()?;
            m.protocol_name = r.nullable_string()?;
        }
        m.assignments = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for SyncGroupRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        w.string(&self.group_id);
        w.i32(self.generation_id);
        w.string(&self.member_id);
        if version >= 3 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        if version >= 5 {
            w.nullable_string(self.protocol_type.as_deref());
            w.nullable_string(self.protocol_name.as_deref());
        }
        w.array_of(&self.assignments, version);
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncGroupResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: i16,
    /// v5+ (nullable); default null.
    pub protocol_type: Option<String>,
    /// v5+ (nullable); default null.
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl Decode for SyncGroupResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 4;
        let mut m = SyncGroupResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        if version >= 5 {
            m.protocol_type = r.nullable_string()?;
            m.protocol_name = r.nullable_string()?;
        }
        m.assignment = r.bytes()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for SyncGroupResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        if version >= 5 {
            w.nullable_string(self.protocol_type.as_deref());
            w.nullable_string(self.protocol_name.as_deref());
        }
        w.bytes(&self.assignment);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    /// A request using every field the version carries; the rest at Kafka's defaults.
    fn request(version: i16) -> SyncGroupRequest {
        let mut m = SyncGroupRequest {
            group_id: "my-group".into(),
            generation_id: 12,
            member_id: "consumer-1-abc".into(),
            assignments: vec![
                SyncGroupRequestAssignment { member_id: "consumer-1-abc".into(), assignment: Bytes::from_static(&[0, 1, 2, 3]) },
                SyncGroupRequestAssignment { member_id: "consumer-2-def".into(), assignment: Bytes::new() },
            ],
            ..Default::default()
        };
        if version >= 3 {
            m.group_instance_id = Some("instance-7".into());
        }
        if version >= 5 {
            m.protocol_type = Some("consumer".into());
            m.protocol_name = Some("range".into());
        }
        m
    }

    /// A response using every field the version carries; the rest at Kafka's defaults.
    fn response(version: i16) -> SyncGroupResponse {
        let mut m = SyncGroupResponse { error_code: 27, assignment: Bytes::from_static(&[0, 1, 0, 0, 0, 1]), ..Default::default() };
        if version >= 1 {
            m.throttle_time_ms = 31;
        }
        if version >= 5 {
            m.protocol_type = Some("consumer".into());
            m.protocol_name = Some("range".into());
        }
        m
    }

    /// Every version (0-5) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&SyncGroupRequest::default(), version);
            round_trip(&SyncGroupResponse::default(), version);
        }
    }

    /// Fields absent from a version decode to Kafka's defaults (null).
    #[test]
    fn absent_fields_take_kafka_defaults() {
        let mut w = Writer::new();
        request(5).encode(&mut w, 2);
        let mut r = Reader::new(w.finish().freeze());
        let got = SyncGroupRequest::decode(&mut r, 2).unwrap();
        assert_eq!((got.group_instance_id, got.protocol_type, got.protocol_name), (None, None, None));
        assert_eq!(got.assignments, request(5).assignments);
    }

    /// A v3 (classic) request and a v1 response match bytes assembled by hand.
    #[test]
    fn known_bytes_classic() {
        let req = SyncGroupRequest {
            group_id: "g".into(),
            generation_id: 2,
            member_id: "m".into(),
            group_instance_id: Some("i".into()),
            protocol_type: None,
            protocol_name: None,
            assignments: vec![SyncGroupRequestAssignment { member_id: "m".into(), assignment: Bytes::from_static(&[5, 6]) }],
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',         // group_id "g"
            0, 0, 0, 2,         // generation_id 2
            0, 1, b'm',         // member_id "m"
            0, 1, b'i',         // group_instance_id "i"
            0, 0, 0, 1,         // assignments: 1
            0, 1, b'm',         //   member_id "m"
            0, 0, 0, 2, 5, 6,   //   assignment [5, 6]
        ];
        assert_known_bytes(&req, 3, req_bytes);

        let resp =
            SyncGroupResponse { throttle_time_ms: 1, error_code: 25, protocol_type: None, protocol_name: None, assignment: Bytes::new() };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 1,     // throttle_time_ms 1
            0, 25,          // error_code 25 (UNKNOWN_MEMBER_ID)
            0, 0, 0, 0,     // assignment: empty
        ];
        assert_known_bytes(&resp, 1, resp_bytes);
    }

    /// A v5 (flexible) request and response match bytes assembled by hand.
    #[test]
    fn known_bytes_flexible() {
        let req = SyncGroupRequest {
            group_id: "g".into(),
            generation_id: 2,
            member_id: "m".into(),
            group_instance_id: None,
            protocol_type: Some("c".into()),
            protocol_name: Some("r".into()),
            assignments: vec![SyncGroupRequestAssignment { member_id: "m".into(), assignment: Bytes::from_static(&[5, 6]) }],
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            2, b'g',        // group_id "g"
            0, 0, 0, 2,     // generation_id 2
            2, b'm',        // member_id "m"
            0,              // group_instance_id null
            2, b'c',        // protocol_type "c"
            2, b'r',        // protocol_name "r"
            2,              // assignments: 1
            2, b'm',        //   member_id "m"
            3, 5, 6,        //   assignment [5, 6]
            0,              //   assignment tags
            0,              // top-level tags
        ];
        assert_known_bytes(&req, 5, req_bytes);

        let resp = SyncGroupResponse {
            throttle_time_ms: 0,
            error_code: 0,
            protocol_type: Some("c".into()),
            protocol_name: None,
            assignment: Bytes::from_static(&[9]),
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,     // throttle_time_ms
            0, 0,           // error_code
            2, b'c',        // protocol_type "c"
            0,              // protocol_name null
            2, 9,           // assignment [9]
            0,              // top-level tags
        ];
        assert_known_bytes(&resp, 5, resp_bytes);

        // An unknown top-level tag is skipped.
        let mut with_unknown = resp_bytes[..resp_bytes.len() - 1].to_vec();
        with_unknown.extend_from_slice(&[1, 3, 2, 0xab, 0xcd]);
        let mut r = Reader::new(Bytes::from(with_unknown));
        assert_eq!(SyncGroupResponse::decode(&mut r, 5).unwrap(), resp);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile array count (or bytes length) fails with a DecodeError instead of
    /// allocating.
    #[test]
    fn huge_counts_are_rejected() {
        #[rustfmt::skip]
        let classic: &[u8] = &[
            0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm', // group_id, generation_id, member_id
            0x7f, 0xff, 0xff, 0xff, 0, 0,       // assignments: 2^31-1
        ];
        assert_eq!(decode_error::<SyncGroupRequest>(classic, 0), DecodeError::NotEnoughBytes);
        #[rustfmt::skip]
        let flexible: &[u8] = &[
            2, b'g', 0, 0, 0, 1, 2, b'm', 0, 0, 0, // group_id .. protocol_name
            0xfe, 0xff, 0xff, 0xff, 0x0f, 0,       // assignments: 2^32-2
        ];
        assert_eq!(decode_error::<SyncGroupRequest>(flexible, 5), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<SyncGroupResponse>(&[0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 4), DecodeError::NotEnoughBytes);
    }
}
