//! Heartbeat (key 12): a group member tells the coordinator it is alive.
//! Versions 0-4, flexible from 4.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 4;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// v3+ (nullable); default null.
    pub group_instance_id: Option<String>,
}

impl Decode for HeartbeatRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 4;
        let mut m = HeartbeatRequest { group_id: r.string()?, generation_id: r.i32()?, member_id: r.string()?, ..Default::default() };
        if version >= 3 {
            m.group_instance_id = r.nullable_string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for HeartbeatRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        w.string(&self.group_id);
        w.i32(self.generation_id);
        w.string(&self.member_id);
        if version >= 3 {
            w.nullable_string(self.group_instance_id.as_deref());
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeartbeatResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: i16,
}

impl Decode for HeartbeatResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 4;
        let mut m = HeartbeatResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        m.error_code = r.i16()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for HeartbeatResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 4;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code);
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
    fn request(version: i16) -> HeartbeatRequest {
        let mut m =
            HeartbeatRequest { group_id: "my-group".into(), generation_id: 12, member_id: "consumer-1-abc".into(), ..Default::default() };
        if version >= 3 {
            m.group_instance_id = Some("instance-7".into());
        }
        m
    }

    /// A response using every field the version carries; the rest at Kafka's defaults.
    fn response(version: i16) -> HeartbeatResponse {
        HeartbeatResponse { throttle_time_ms: if version >= 1 { 31 } else { 0 }, error_code: 27 }
    }

    /// Every version (0-4) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&HeartbeatRequest::default(), version);
            round_trip(&HeartbeatResponse::default(), version);
        }
    }

    /// Fields absent from a version decode to Kafka's defaults.
    #[test]
    fn absent_fields_take_kafka_defaults() {
        let mut w = Writer::new();
        request(4).encode(&mut w, 2);
        let mut r = Reader::new(w.finish().freeze());
        assert_eq!(HeartbeatRequest::decode(&mut r, 2).unwrap(), HeartbeatRequest { group_instance_id: None, ..request(4) });
    }

    /// A v3 (classic) request and a v0 response match bytes assembled by hand.
    #[test]
    fn known_bytes_classic() {
        let req = HeartbeatRequest { group_id: "g".into(), generation_id: 258, member_id: "m".into(), group_instance_id: None };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g',     // group_id "g"
            0, 0, 1, 2,     // generation_id 258
            0, 1, b'm',     // member_id "m"
            0xff, 0xff,     // group_instance_id null
        ];
        assert_known_bytes(&req, 3, req_bytes);

        let resp = HeartbeatResponse { throttle_time_ms: 0, error_code: 27 };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 27,          // error_code 27 (REBALANCE_IN_PROGRESS)
        ];
        assert_known_bytes(&resp, 0, resp_bytes);
    }

    /// A v4 (flexible) request and response match bytes assembled by hand.
    #[test]
    fn known_bytes_flexible() {
        let req = HeartbeatRequest { group_id: "g".into(), generation_id: 2, member_id: "m".into(), group_instance_id: Some("i".into()) };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            2, b'g',        // group_id "g"
            0, 0, 0, 2,     // generation_id 2
            2, b'm',        // member_id "m"
            2, b'i',        // group_instance_id "i"
            0,              // top-level tags
        ];
        assert_known_bytes(&req, 4, req_bytes);

        let resp = HeartbeatResponse { throttle_time_ms: 5, error_code: 0 };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 5,     // throttle_time_ms 5
            0, 0,           // error_code
            0,              // top-level tags
        ];
        assert_known_bytes(&resp, 4, resp_bytes);

        // An unknown top-level tag is skipped.
        let mut r = Reader::new(Bytes::from_static(&[2, b'g', 0, 0, 0, 2, 2, b'm', 2, b'i', 1, 4, 1, 0]));
        assert_eq!(HeartbeatRequest::decode(&mut r, 4).unwrap(), req);
        assert_eq!(r.remaining(), 0);
    }

    /// Heartbeat carries no arrays: hostile string lengths and tag counts fail with
    /// a DecodeError instead of reading past the frame.
    #[test]
    fn huge_lengths_are_rejected() {
        assert_eq!(decode_error::<HeartbeatRequest>(&[0x7f, 0xff, b'g'], 0), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<HeartbeatRequest>(&[0xfe, 0xff, 0xff, 0xff, 0x0f, b'g'], 4), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<HeartbeatResponse>(&[0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f], 4), DecodeError::NotEnoughBytes);
    }
}
