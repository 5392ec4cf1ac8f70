//! DescribeCluster (key 60): the brokers and controller, versions 0-1 (all flexible).

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 1;

/// `endpoint_type` values.
pub mod endpoint_type {
    pub const BROKERS: i8 = 1;
    pub const CONTROLLERS: i8 = 2;
}

/// Kafka's "authorized operations not requested" bitfield.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

#[derive(Debug, Clone, PartialEq)]
pub struct DescribeClusterRequest {
    pub include_cluster_authorized_operations: bool,
    /// v1+. Default 1 (brokers).
    pub endpoint_type: i8,
}

impl Default for DescribeClusterRequest {
    fn default() -> Self {
        DescribeClusterRequest { include_cluster_authorized_operations: false, endpoint_type: endpoint_type::BROKERS }
    }
}

impl Decode for DescribeClusterRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = true;
        let mut m = DescribeClusterRequest { include_cluster_authorized_operations: r.bool()?, ..DescribeClusterRequest::default() };
        if version >= 1 {
            m.endpoint_type = r.i8()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeClusterRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = true;
        w.bool(self.include_cluster_authorized_operations);
        if version >= 1 {
            w.i8(self.endpoint_type);
        }
        w.empty_tagged_fields();
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribeClusterResponse {
    pub throttle_time_ms: i32,
    pub error_code: i16,
    /// Nullable.
    pub error_message: Option<String>,
    /// v1+. Default 1 (brokers).
    pub endpoint_type: i8,
    pub cluster_id: String,
    /// Default -1.
    pub controller_id: i32,
    pub brokers: Vec<DescribeClusterBroker>,
    /// Default [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub cluster_authorized_operations: i32,
}

impl Default for DescribeClusterResponse {
    fn default() -> Self {
        DescribeClusterResponse {
            throttle_time_ms: 0,
            error_code: 0,
            error_message: None,
            endpoint_type: endpoint_type::BROKERS,
            cluster_id: String::new(),
            controller_id: -1,
            brokers: Vec::new(),
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeClusterBroker {
    pub broker_id: i32,
    pub host: String,
    pub port: i32,
    /// Nullable.
    pub rack: Option<String>,
}

impl Decode for DescribeClusterBroker {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = DescribeClusterBroker { broker_id: r.i32()?, host: r.string()?, port: r.i32()?, rack: r.nullable_string()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeClusterBroker {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.broker_id);
        w.string(&self.host);
        w.i32(self.port);
        w.nullable_string(self.rack.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for DescribeClusterResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = true;
        let mut m = DescribeClusterResponse {
            throttle_time_ms: r.i32()?,
            error_code: r.i16()?,
            error_message: r.nullable_string()?,
            ..DescribeClusterResponse::default()
        };
        if version >= 1 {
            m.endpoint_type = r.i8()?;
        }
        m.cluster_id = r.string()?;
        m.controller_id = r.i32()?;
        m.brokers = r.array_of(version)?;
        m.cluster_authorized_operations = r.i32()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for DescribeClusterResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = true;
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code);
        w.nullable_string(self.error_message.as_deref());
        if version >= 1 {
            w.i8(self.endpoint_type);
        }
        w.string(&self.cluster_id);
        w.i32(self.controller_id);
        w.array_of(&self.brokers, version);
        w.i32(self.cluster_authorized_operations);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    /// Every implemented version round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for v in VERSION_MIN..=VERSION_MAX {
            let request = DescribeClusterRequest {
                include_cluster_authorized_operations: true,
                endpoint_type: if v >= 1 { endpoint_type::CONTROLLERS } else { endpoint_type::BROKERS },
            };
            let response = DescribeClusterResponse {
                throttle_time_ms: 4,
                error_code: 0,
                error_message: Some("fine".into()),
                endpoint_type: if v >= 1 { endpoint_type::CONTROLLERS } else { endpoint_type::BROKERS },
                cluster_id: "chronik-1".into(),
                controller_id: 1,
                brokers: vec![
                    DescribeClusterBroker { broker_id: 1, host: "b1".into(), port: 9092, rack: Some("r1".into()) },
                    DescribeClusterBroker { broker_id: 2, host: "b2".into(), port: 9093, rack: None },
                ],
                cluster_authorized_operations: 0x0ff0,
            };
            round_trip(&request, v);
            round_trip(&response, v);
            round_trip(&DescribeClusterRequest::default(), v);
            round_trip(&DescribeClusterResponse::default(), v);
        }
    }

    /// Hand-assembled bytes of a v0 response.
    #[test]
    fn known_bytes_v0_response() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms
            0x00, 0x00,                         // error_code
            0x00,                               // error_message null
            0x02, b'c',                         // cluster_id "c"
            0x00, 0x00, 0x00, 0x01,             // controller_id 1
            0x02,                               // 1 broker
            0x00, 0x00, 0x00, 0x01,             //   broker_id 1
            0x02, b'h',                         //   host "h"
            0x00, 0x00, 0x23, 0x84,             //   port 9092
            0x00,                               //   rack null
            0x00,                               //   no tags
            0x80, 0x00, 0x00, 0x00,             // cluster_authorized_operations omitted
            0x00,                               // no tags
        ];
        let expected = DescribeClusterResponse {
            cluster_id: "c".into(),
            controller_id: 1,
            brokers: vec![DescribeClusterBroker { broker_id: 1, host: "h".into(), port: 9092, rack: None }],
            ..DescribeClusterResponse::default()
        };
        assert_known_bytes(&expected, 0, bytes);
    }

    /// A v0 request decodes endpoint_type as Kafka's default (brokers).
    #[test]
    fn known_bytes_v0_request() {
        let mut r = Reader::new(Bytes::from_static(&[0x01, 0x00]));
        let m = DescribeClusterRequest::decode(&mut r, 0).unwrap();
        assert_eq!(m, DescribeClusterRequest { include_cluster_authorized_operations: true, endpoint_type: 1 });
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn huge_broker_count_is_rejected() {
        let bytes: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0];
        assert_eq!(decode_error::<DescribeClusterResponse>(bytes, 0), DecodeError::NotEnoughBytes);
    }
}
