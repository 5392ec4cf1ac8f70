//! FindCoordinator (key 10): the broker coordinating a group or transaction.
//! Versions 0-6, flexible from 3; v4+ batches keys (`coordinator_keys` in the
//! request, `coordinators` in the response).

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 6;

/// `key_type` values.
pub mod key_type {
    pub const GROUP: i8 = 0;
    pub const TRANSACTION: i8 = 1;
    pub const SHARE: i8 = 2;
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindCoordinatorRequest {
    /// v0-3.
    pub key: String,
    /// v1+. Default 0 (group).
    pub key_type: i8,
    /// v4+.
    pub coordinator_keys: Vec<String>,
}

impl Decode for FindCoordinatorRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 3;
        let mut m = FindCoordinatorRequest::default();
        if version <= 3 {
            m.key = r.string()?;
        }
        if version >= 1 {
            m.key_type = r.i8()?;
        }
        if version >= 4 {
            m.coordinator_keys = r.array(|r| r.string())?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for FindCoordinatorRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 3;
        if version <= 3 {
            w.string(&self.key);
        }
        if version >= 1 {
            w.i8(self.key_type);
        }
        if version >= 4 {
            w.array(&self.coordinator_keys, |w, k| w.string(k));
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FindCoordinatorResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    /// v0-3.
    pub error_code: i16,
    /// v1-3 (nullable); Kafka's default for other versions is the empty string.
    pub error_message: Option<String>,
    /// v0-3.
    pub node_id: i32,
    /// v0-3.
    pub host: String,
    /// v0-3.
    pub port: i32,
    /// v4+.
    pub coordinators: Vec<Coordinator>,
}

impl Default for FindCoordinatorResponse {
    fn default() -> Self {
        FindCoordinatorResponse {
            throttle_time_ms: 0,
            error_code: 0,
            error_message: Some(String::new()),
            node_id: 0,
            host: String::new(),
            port: 0,
            coordinators: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coordinator {
    pub key: String,
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub error_code: i16,
    /// Nullable.
    pub error_message: Option<String>,
}

impl Decode for Coordinator {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = Coordinator {
            key: r.string()?,
            node_id: r.i32()?,
            host: r.string()?,
            port: r.i32()?,
            error_code: r.i16()?,
            error_message: r.nullable_string()?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for Coordinator {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.key);
        w.i32(self.node_id);
        w.string(&self.host);
        w.i32(self.port);
        w.i16(self.error_code);
        w.nullable_string(self.error_message.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for FindCoordinatorResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= 3;
        let mut m = FindCoordinatorResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32()?;
        }
        if version <= 3 {
            m.error_code = r.i16()?;
            if version >= 1 {
                m.error_message = r.nullable_string()?;
            }
            m.node_id = r.i32()?;
            m.host = r.string()?;
            m.port = r.i32()?;
        }
        if version >= 4 {
            m.coordinators = r.array_of(version)?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for FindCoordinatorResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= 3;
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        if version <= 3 {
            w.i16(self.error_code);
            if version >= 1 {
                w.nullable_string(self.error_message.as_deref());
            }
            w.i32(self.node_id);
            w.string(&self.host);
            w.i32(self.port);
        }
        if version >= 4 {
            w.array_of(&self.coordinators, version);
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
    fn request(version: i16) -> FindCoordinatorRequest {
        let mut m = FindCoordinatorRequest::default();
        if version <= 3 {
            m.key = "my-group".into();
        }
        if version >= 1 {
            m.key_type = key_type::TRANSACTION;
        }
        if version >= 4 {
            m.coordinator_keys = vec!["txn-a".into(), "txn-b".into(), String::new()];
        }
        m
    }

    /// A response using every field the version carries; the rest at Kafka's defaults.
    fn response(version: i16) -> FindCoordinatorResponse {
        let mut m = FindCoordinatorResponse::default();
        if version >= 1 {
            m.throttle_time_ms = 17;
        }
        if version <= 3 {
            m.error_code = 15;
            if version >= 1 {
                m.error_message = Some("coordinator not available".into());
            }
            m.node_id = 3;
            m.host = "broker-3".into();
            m.port = 9094;
        }
        if version >= 4 {
            m.coordinators = vec![
                Coordinator { key: "txn-a".into(), node_id: 1, host: "broker-1".into(), port: 9092, error_code: 0, error_message: None },
                Coordinator {
                    key: "txn-b".into(),
                    node_id: -1,
                    host: String::new(),
                    port: -1,
                    error_code: 15,
                    error_message: Some("loading".into()),
                },
            ];
        }
        m
    }

    /// Every version (0-6) round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for version in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(version), version);
            round_trip(&response(version), version);
            round_trip(&FindCoordinatorRequest::default(), version);
            round_trip(&FindCoordinatorResponse::default(), version);
        }
    }

    /// Fields absent from a version decode to Kafka's defaults.
    #[test]
    fn absent_fields_take_kafka_defaults() {
        let mut r = Reader::new(Bytes::from_static(&[0, 1, b'g']));
        let got = FindCoordinatorRequest::decode(&mut r, 0).unwrap();
        assert_eq!(got, FindCoordinatorRequest { key: "g".into(), key_type: key_type::GROUP, coordinator_keys: vec![] });

        let mut w = Writer::new();
        response(4).encode(&mut w, 4);
        let mut r = Reader::new(w.finish().freeze());
        let got = FindCoordinatorResponse::decode(&mut r, 4).unwrap();
        assert_eq!(got.error_code, 0);
        assert_eq!(got.error_message.as_deref(), Some(""));
        assert_eq!((got.node_id, got.host.as_str(), got.port), (0, "", 0));
    }

    /// A v1 (classic) request and response match bytes assembled by hand.
    #[test]
    fn known_bytes_v1() {
        let req = FindCoordinatorRequest { key: "g".into(), key_type: key_type::TRANSACTION, coordinator_keys: vec![] };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0, 1, b'g', // key "g"
            1,          // key_type 1 (transaction)
        ];
        assert_known_bytes(&req, 1, req_bytes);

        let resp = FindCoordinatorResponse {
            throttle_time_ms: 2,
            error_code: 0,
            error_message: None,
            node_id: 1,
            host: "h".into(),
            port: 9092,
            coordinators: vec![],
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 2,       // throttle_time_ms 2
            0, 0,             // error_code 0
            0xff, 0xff,       // error_message null
            0, 0, 0, 1,       // node_id 1
            0, 1, b'h',       // host "h"
            0, 0, 0x23, 0x84, // port 9092
        ];
        assert_known_bytes(&resp, 1, resp_bytes);
    }

    /// A v3 (first flexible) and a v4 (batched) request and response match bytes
    /// assembled by hand.
    #[test]
    fn known_bytes_flexible() {
        let req = FindCoordinatorRequest { key: "g".into(), key_type: key_type::GROUP, coordinator_keys: vec![] };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            2, b'g', // key "g" (compact)
            0,       // key_type 0 (group)
            0,       // tagged fields
        ];
        assert_known_bytes(&req, 3, req_bytes);

        let req = FindCoordinatorRequest { key: String::new(), key_type: key_type::GROUP, coordinator_keys: vec!["a".into(), "b".into()] };
        #[rustfmt::skip]
        let req_bytes: &[u8] = &[
            0,                      // key_type 0 (group)
            3, 2, b'a', 2, b'b',    // coordinator_keys: 2, "a", "b"
            0,                      // tagged fields
        ];
        assert_known_bytes(&req, 4, req_bytes);

        let resp = FindCoordinatorResponse {
            throttle_time_ms: 0,
            coordinators: vec![Coordinator {
                key: "a".into(),
                node_id: 2,
                host: "h".into(),
                port: 9092,
                error_code: 0,
                error_message: None,
            }],
            ..Default::default()
        };
        #[rustfmt::skip]
        let resp_bytes: &[u8] = &[
            0, 0, 0, 0,       // throttle_time_ms
            2,                // coordinators: 1
            2, b'a',          //   key "a"
            0, 0, 0, 2,       //   node_id 2
            2, b'h',          //   host "h"
            0, 0, 0x23, 0x84, //   port 9092
            0, 0,             //   error_code
            0,                //   error_message null
            0,                //   coordinator tags
            0,                // top-level tags
        ];
        assert_known_bytes(&resp, 4, resp_bytes);

        // Unknown tags on the coordinator and at the top level are skipped.
        #[rustfmt::skip]
        let with_unknown: &[u8] = &[
            0, 0, 0, 0, 2, 2, b'a', 0, 0, 0, 2, 2, b'h', 0, 0, 0x23, 0x84, 0, 0, 0,
            1, 7, 2, 0xaa, 0xbb, // coordinator tags: 1 field, tag 7, 2 bytes
            1, 9, 0,             // top-level tags: 1 field, tag 9, empty
        ];
        let mut r = Reader::new(Bytes::from_static(with_unknown));
        assert_eq!(FindCoordinatorResponse::decode(&mut r, 4).unwrap(), resp);
        assert_eq!(r.remaining(), 0);
    }

    /// A hostile array count fails with a DecodeError instead of allocating.
    #[test]
    fn huge_array_counts_are_rejected() {
        assert_eq!(decode_error::<FindCoordinatorRequest>(&[0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 4), DecodeError::NotEnoughBytes);
        assert_eq!(decode_error::<FindCoordinatorResponse>(&[0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0], 6), DecodeError::NotEnoughBytes);
    }

    #[test]
    fn unsupported_versions_are_rejected() {
        assert!(matches!(decode_error::<FindCoordinatorRequest>(&[0, 0], 7), DecodeError::Invalid(_)));
        assert!(matches!(decode_error::<FindCoordinatorResponse>(&[0, 0], -1), DecodeError::Invalid(_)));
    }
}
