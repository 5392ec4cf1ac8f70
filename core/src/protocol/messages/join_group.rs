//! JoinGroup (key 11): join (or rejoin) a consumer group and take part in its
//! rebalance. Versions 0-9, flexible from 6.

use bytes::Bytes;

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 9;

#[derive(Debug, Clone, PartialEq)]
pub struct JoinGroupRequest {
    pub group_id: String,
    pub session_timeout_ms: i32,
    /// v1+; Kafka's default -1 (v0 carries none: the broker decides what applies).
    pub rebalance_timeout_ms: i32,
    /// Empty on the first join.
    pub member_id: String,
    /// v5+ (nullable); default null.
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    pub protocols: Vec<JoinGroupRequestProtocol>,
    /// v8+ (nullable); default null.
    pub reason: Option<String>,
}

impl Default for JoinGroupRequest {
    fn default() -> Self {
        JoinGroupRequest {
            group_id: String::new(),
            session_timeout_ms: 0,
            rebalance_timeout_ms: -1,
            member_id: String::new(),
            group_instance_id: None,
            protocol_type: String::new(),
            protocols: Vec::new(),
            reason: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinGroupRequestProtocol {
    pub name: String,
    pub metadata: Bytes,
}

impl Decode for JoinGroupRequestProtocol {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = JoinGroupRequestProtocol { name: r.string()?, metadata: r.bytes()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for JoinGroupRequestProtocol {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.name);
        w.bytes(&self.metadata);
        w.empty_tagged_fields();
    }
}

impl Decode for JoinGroupRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 6;
        let mut m = JoinGroupRequest { group_id: r.string()?, session_timeout_ms: r.i32()?, ..Default::default() };
        if version >= 1 {
            m.rebalance_timeout_ms = r.i32()?;
        }
        m.member_id = r.string()?;
        if version >= 5 {
            m.group_instance_id = r.nullable_string()?;
        }
        m.protocol_type = r.string()?;
        m.protocols = r.array_of(version)?;
        if version >= 8 {
            m.reason = r.nullable_string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for JoinGroupRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 6;
        w.string(&self.group_id);
        w.i32(self.session_timeout_ms);
        if version >= 1 {
            w.i32(self.rebalance_timeout_ms);
        }
        w.string(&self.member_id);
        if version >= 5 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        w.string(&self.protocol_type);
        w.array_of(&self.protocols, version);
        if version >= 8 {
            w.nullable_string(self.reason.as_deref());
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinGroupResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub error_code: i16,
    /// Kafka's default -1.
    pub generation_id: i32,
    /// v7+ (nullable); default null.
    pub protocol_type: Option<String>,
    /// Nullable from v7; before that a null is written as the empty string, and a
    /// null on the wire is rejected.
    pub protocol_name: Option<String>,
    pub leader: String,
    /// v9+.
    pub skip_assignment: bool,
    pub member_id: String,
    pub members: Vec<JoinGroupResponseMember>,
}

impl Default for JoinGroupResponse {
    fn default() -> Self {
        JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: 0,
            generation_id: -1,
            protocol_type: None,
            protocol_name: Some(String::new()),
            leader: String::new(),
            skip_assignment: false,
            member_id: String::new(),
            members: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinGroupResponseMember {
    pub member_id: String,
    /// v5+ (nullable); default null.
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

impl Decode for JoinGroupResponseMember {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = JoinGroupResponseMember { member_id: r.string()?, ..Default::default() };
        if version >= 5 {
            m.group_instance_id = r.nullable_string()?;
        }
        m.metadata = r.bytes()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for JoinGroupResponseMember {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.member_id);
        if version >= 5 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        w.bytes(&self.metadata);
        w.empty_tagged_fields();
    }
}

impl Decode for JoinGroupResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 6;
        let mut m = JoinGroupResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        m.generation_id = r.i32()?;
        if version >= 7 {
            m.protocol_type = r.nullable_string()?;
            m.protocol_name = r.nullable_string()?;
        } else {
            m.protocol_name = Some(r.string()?);
        }
        m.leader = r.string()?;
        if version >= 9 {
            m.skip_assignment = r.bool()?;
        }
        m.member_id = r.string()?;
        m.members = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for JoinGroupResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 6;
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
        w.i32(self.generation_id);
        if version >= 7 {
            w.nullable_string(self.protocol_type.as_deref());
            w.nullable_string(self.protocol_name.as_deref());
        } else {
            w.string(self.protocol_name.as_deref().unwrap_or(""));
        }
        w.string(&self.leader);
        if version >= 9 {
            w.bool(self.skip_assignment);
        }
        w.string(&self.member_id);
        w.array_of(&self.members, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    /// A request using every field the version carries; the rest at Kafka's defaults.
    fn request(version: i16) -> JoinGroupRequest {
        let mut m = JoinGroupRequest {
            group_id: "my-group".into(),
            session_timeout_ms: 45_000,
            member_id: "consumer-1-abc".into(),
            protocol_type: "consumer".into(),
            protocols: vec![
                JoinGroupRequestProtocol { name: "range".into(), metadata: Bytes::from_static(&[0, 3, 1, 2, 3]) },
                JoinGroupRequestProtocol { name: "cooperative-sticky".into(), metadata: Bytes::new() },
            ],
            ..Default::default()
        };
        if version >= 1 {
            m.rebalance_timeout_ms = 300_000;
        }
        if version >= 5 {
            m.group_instance_id = Some("instance-7".into());
        }
        if version >= 8 {
            m.reason = Some("rebalance failed due to MemberIdRequiredException".into());
        }
        m
    }

    /// A response using every field the version carries; the rest at Kafka's defaults.
    fn response(version: i16) -> JoinGroupResponse {
        let mut first = JoinGroupResponseMember {
            member_id: "consumer-1-abc".into(),
            group_instance_id: None,
            metadata: Bytes::from_static(&[9, 8, 7]),
        };
        let mut second = JoinGroupResponseMember { member_id: "consumer-2-def".into(), group_instance_id: None, metadata: Bytes::new() };
        if version >= 5 {
            first.group_instance_id = Some("instance-7".into());
            second.group_instance_id = None;
        }
        let mut m = JoinGroupResponse {
            error_code: 27,
            generation_id: 12,
            protocol_name: Some("range".into()),
            leader: "consumer-1-abc".into(),
            member_id: "consumer-1-abc".into(),
            members: vec![first, second],
            ..Default::default()
        };
        if version >= 2 {
            m.throttle_time_ms = 31;
        }
        if version >= 7 {
            m.protocol_type = Some("consumer".into());
        }
        if version >= 9 {
            m.skip_assignment = true;
        }
        m
    }

    /// Every version (0-9) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&JoinGroupRequest::default(), version);
            round_trip(&JoinGroupResponse::default(), version);
        }
        // v7+ can carry a null protocol name.
        round_trip(&JoinGroupResponse { protocol_name: None, ..response(7) }, 7);
    }

    /// Fields absent from a version decode to Kafka's defaults.
    #[test]
    fn absent_fields_take_kafka_defaults() {
        let mut w = Writer::new();
        request(9).encode(&mut w, 0);
        let mut r = Reader::new(w.finish().freeze());
        let got = JoinGroupRequest::decode(&mut r, 0).unwrap();
        assert_eq!(got.rebalance_timeout_ms, -1);
        assert_eq!(got.session_timeout_ms, 45_000);
        assert_eq!(got.group_instance_id, None);
        assert_eq!(got.reason, None);

        // A null protocol name cannot be written before v7: it goes out empty.
        let mut w = Writer::new();
        JoinGroupResponse { protocol_name: None, ..response(6) }.encode(&mut w, 6);
        let mut r = Reader::new(w.finish().freeze());
        assert_eq!(JoinGroupResponse::decode(&mut r, 6).unwrap().protocol_name.as_deref(), Some(""));
    }

    /// A v5 (classic) request and a v2 response match bytes assembled by hand.
    #[test]
    fn known_bytes_classic() {
        let req = JoinGroupRequest {
            group_id: "g".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 300_000,
            member_id: String::new(),
            group_instance_id: None,
            protocol_type: "c".into(),
            protocols: vec![JoinGroupRequestProtocol { name: "r".into(), metadata: Bytes::from_static(&[1, 2]) }],
            reason: None,
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',             // group_id "g"
            0, 0, 0x27, 0x10,       // session_timeout_ms 10000
            0, 0x04, 0x93, 0xe0,    // rebalance_timeout_ms 300000
            0, 0,                   // member_id ""
            0xff, 0xff,             // group_instance_id null
            0, 1, b'c',             // protocol_type "c"
            0, 0, 0, 1,             // protocols: 1
            0, 1, b'r',             //   name "r"
            0, 0, 0, 2, 1, 2,       //   metadata [1, 2]
        ];
        assert_known_bytes(&req, 5, req_bytes);

        let resp = JoinGroupResponse {
            throttle_time_ms: 1,
            error_code: 0,
            generation_id: 3,
            protocol_type: None,
            protocol_name: Some("r".into()),
            leader: "m".into(),
            skip_assignment: false,
            member_id: "m".into(),
            members: vec![JoinGroupResponseMember { member_id: "m".into(), group_instance_id: None, metadata: Bytes::from_static(&[7]) }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 1,             // throttle_time_ms 1
            0, 0,                   // error_code
            0, 0, 0, 3,             // generation_id 3
            0, 1, b'r',             // protocol_name "r"
            0, 1, b'm',             // leader "m"
            0, 1, b'm',             // member_id "m"
            0, 0, 0, 1,             // members: 1
            0, 1, b'm',             //   member_id "m"
            0, 0, 0, 1, 7,          //   metadata [7]
        ];
        assert_known_bytes(&resp, 2, resp_bytes);
    }

    /// A v8 (flexible) request and a v9 response match bytes assembled by hand.
    #[test]
    fn known_bytes_flexible() {
        let req = JoinGroupRequest {
            group_id: "g".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 300_000,
            member_id: String::new(),
            group_instance_id: Some("i".into()),
            protocol_type: "c".into(),
            protocols: vec![JoinGroupRequestProtocol { name: "r".into(), metadata: Bytes::from_static(&[1, 2]) }],
            reason: Some("x".into()),
        };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            2, b'g',                // group_id "g"
            0, 0, 0x27, 0x10,       // session_timeout_ms 10000
            0, 0x04, 0x93, 0xe0,    // rebalance_timeout_ms 300000
            1,                      // member_id ""
            2, b'i',                // group_instance_id "i"
            2, b'c',                // protocol_type "c"
            2,                      // protocols: 1
            2, b'r',                //   name "r"
            3, 1, 2,                //   metadata [1, 2]
            0,                      //   protocol tags
            2, b'x',                // reason "x"
            0,                      // top-level tags
        ];
        assert_known_bytes(&req, 8, req_bytes);

        let resp = JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: 0,
            generation_id: 3,
            protocol_type: Some("c".into()),
            protocol_name: None,
            leader: "m".into(),
            skip_assignment: true,
            member_id: "m".into(),
            members: vec![JoinGroupResponseMember {
                member_id: "m".into(),
                group_instance_id: Some("i".into()),
                metadata: Bytes::from_static(&[7]),
            }],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,             // throttle_time_ms
            0, 0,                   // error_code
            0, 0, 0, 3,             // generation_id 3
            2, b'c',                // protocol_type "c"
            0,                      // protocol_name null
            2, b'm',                // leader "m"
            1,                      // skip_assignment true
            2, b'm',                // member_id "m"
            2,                      // members: 1
            2, b'm',                //   member_id "m"
            2, b'i',                //   group_instance_id "i"
            2, 7,                   //   metadata [7]
            0,                      //   member tags
            0,                      // top-level tags
        ];
        assert_known_bytes(&resp, 9, resp_bytes);

        // An unknown top-level tag is skipped.
        let mut with_unknown = resp_bytes[..resp_bytes.len() - 1].to_vec();
        with_unknown.extend_from_slice(&[1, 5, 1, 0xff]);
        let mut r = Reader::new(Bytes::from(with_unknown));
        assert_eq!(JoinGroupResponse::decode(&mut r, 9).unwrap(), resp);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        #[rustfmt::skip]
        let classic: &[u8] = &[
            0, 1, b'g', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, b'c', // group, timeouts, member, protocol_type
            0x7f, 0xff, 0xff, 0xff, 0, 0,                          // protocols: 2^31-1
        ];
        assert_eq!(decode_error::<JoinGroupRequest>(classic, 1), DecodeError::NotEnoughBytes);
        #[rustfmt::skip]
        let flexible: &[u8] = &[
            2, b'g', 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 2, b'c', // group, timeouts, member, instance, protocol_type
            0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0,             // protocols: 2^32-2
        ];
        assert_eq!(decode_error::<JoinGroupRequest>(flexible, 6), DecodeError::NotEnoughBytes);
        #[rustfmt::skip]
        let resp: &[u8] = &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, // throttle .. member_id
            0xfe, 0xff, 0xff, 0xff, 0x0f, 0,             // members: 2^32-2
        ];
        assert_eq!(decode_error::<JoinGroupResponse>(resp, 7), DecodeError::NotEnoughBytes);
    }
}
