//! Metadata (key 3): brokers, topics, partition leaders and replicas, versions 0-12
//! (flexible 9+).
//!
//! `MetadataRequest::topics` is `None` for "all topics" in every version: v1+ send a
//! null array for that, v0 an empty one, and v0's empty array decodes as `None`
//! (so `Some(vec![])` is not representable in v0 and encodes as "all topics").
//! Topic names are nullable from v10 (request) and v12 (response), when topics may
//! be named by id; in earlier versions `None` is written as an empty string.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};
use crate::types::TopicId;

const VERSION_MIN: i16 = 0;
const VERSION_MAX: i16 = 12;
const FLEXIBLE_FROM: i16 = 9;

/// Kafka's "authorized operations not requested" bitfield.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

// ---------------------------------------------------------------- request

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRequest {
    /// `None` = all topics (null in v1+, empty in v0).
    pub topics: Option<Vec<MetadataRequestTopic>>,
    /// v4+. Default true.
    pub allow_auto_topic_creation: bool,
    /// v8-10.
    pub include_cluster_authorized_operations: bool,
    /// v8+.
    pub include_topic_authorized_operations: bool,
}

impl Default for MetadataRequest {
    fn default() -> Self {
        MetadataRequest {
            topics: None,
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataRequestTopic {
    /// v10+.
    pub topic_id: TopicId,
    /// Nullable from v10 (a topic asked for by id).
    pub name: Option<String>,
}

impl Decode for MetadataRequestTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = MetadataRequestTopic::default();
        if version >= 10 {
            m.topic_id = r.uuid()?;
            m.name = r.nullable_string()?;
        } else {
            m.name = Some(r.string()?);
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MetadataRequestTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 10 {
            w.uuid(self.topic_id);
            w.nullable_string(self.name.as_deref());
        } else {
            w.string(self.name.as_deref().unwrap_or(""));
        }
        w.empty_tagged_fields();
    }
}

impl Decode for MetadataRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = MetadataRequest::default();
        if version >= 1 {
            m.topics = r.nullable_array_of(version)?;
        } else {
            let topics: Vec<MetadataRequestTopic> = r.array_of(version)?;
            m.topics = if topics.is_empty() { None } else { Some(topics) };
        }
        if version >= 4 {
            m.allow_auto_topic_creation = r.bool()?;
        }
        if (8..=10).contains(&version) {
            m.include_cluster_authorized_operations = r.bool()?;
        }
        if version >= 8 {
            m.include_topic_authorized_operations = r.bool()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MetadataRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        if version >= 1 {
            w.nullable_array_of(self.topics.as_deref(), version);
        } else {
            w.array_of(self.topics.as_deref().unwrap_or(&[]), version);
        }
        if version >= 4 {
            w.bool(self.allow_auto_topic_creation);
        }
        if (8..=10).contains(&version) {
            w.bool(self.include_cluster_authorized_operations);
        }
        if version >= 8 {
            w.bool(self.include_topic_authorized_operations);
        }
        w.empty_tagged_fields();
    }
}

// ---------------------------------------------------------------- response

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataResponse {
    /// v3+.
    pub throttle_time_ms: i32,
    pub brokers: Vec<MetadataResponseBroker>,
    /// v2+, nullable.
    pub cluster_id: Option<String>,
    /// v1+. Default -1.
    pub controller_id: i32,
    pub topics: Vec<MetadataResponseTopic>,
    /// v8-10. Default [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub cluster_authorized_operations: i32,
}

impl Default for MetadataResponse {
    fn default() -> Self {
        MetadataResponse {
            throttle_time_ms: 0,
            brokers: Vec::new(),
            cluster_id: None,
            controller_id: -1,
            topics: Vec::new(),
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetadataResponseBroker {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    /// v1+, nullable.
    pub rack: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataResponseTopic {
    pub error_code: i16,
    /// Nullable from v12 (a topic asked for by an unknown id).
    pub name: Option<String>,
    /// v10+.
    pub topic_id: TopicId,
    /// v1+.
    pub is_internal: bool,
    pub partitions: Vec<MetadataResponsePartition>,
    /// v8+. Default [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub topic_authorized_operations: i32,
}

impl Default for MetadataResponseTopic {
    fn default() -> Self {
        MetadataResponseTopic {
            error_code: 0,
            name: None,
            topic_id: TopicId::ZERO,
            is_internal: false,
            partitions: Vec::new(),
            topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataResponsePartition {
    pub error_code: i16,
    pub partition_index: i32,
    pub leader_id: i32,
    /// v7+. Default -1.
    pub leader_epoch: i32,
    pub replica_nodes: Vec<i32>,
    pub isr_nodes: Vec<i32>,
    /// v5+.
    pub offline_replicas: Vec<i32>,
}

impl Default for MetadataResponsePartition {
    fn default() -> Self {
        MetadataResponsePartition {
            error_code: 0,
            partition_index: 0,
            leader_id: 0,
            leader_epoch: -1,
            replica_nodes: Vec::new(),
            isr_nodes: Vec::new(),
            offline_replicas: Vec::new(),
        }
    }
}

impl Decode for MetadataResponseBroker {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = MetadataResponseBroker { node_id: r.i32()?, host: r.string()?, port: r.i32()?, rack: None };
        if version >= 1 {
            m.rack = r.nullable_string()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MetadataResponseBroker {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.node_id);
        w.string(&self.host);
        w.i32(self.port);
        if version >= 1 {
            w.nullable_string(self.rack.as_deref());
        }
        w.empty_tagged_fields();
    }
}

impl Decode for MetadataResponsePartition {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = MetadataResponsePartition {
            error_code: r.i16()?,
            partition_index: r.i32()?,
            leader_id: r.i32()?,
            ..MetadataResponsePartition::default()
        };
        if version >= 7 {
            m.leader_epoch = r.i32()?;
        }
        m.replica_nodes = r.array(|r| r.i32())?;
        m.isr_nodes = r.array(|r| r.i32())?;
        if version >= 5 {
            m.offline_replicas = r.array(|r| r.i32())?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MetadataResponsePartition {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code);
        w.i32(self.partition_index);
        w.i32(self.leader_id);
        if version >= 7 {
            w.i32(self.leader_epoch);
        }
        w.array(&self.replica_nodes, |w, n| w.i32(*n));
        w.array(&self.isr_nodes, |w, n| w.i32(*n));
        if version >= 5 {
            w.array(&self.offline_replicas, |w, n| w.i32(*n));
        }
        w.empty_tagged_fields();
    }
}

impl Decode for MetadataResponseTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = MetadataResponseTopic { error_code: r.i16()?, ..MetadataResponseTopic::default() };
        m.name = if version >= 12 { r.nullable_string()? } else { Some(r.string()?) };
        if version >= 10 {
            m.topic_id = r.uuid()?;
        }
        if version >= 1 {
            m.is_internal = r.bool()?;
        }
        m.partitions = r.array_of(version)?;
        if version >= 8 {
            m.topic_authorized_operations = r.i32()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MetadataResponseTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code);
        if version >= 12 {
            w.nullable_string(self.name.as_deref());
        } else {
            w.string(self.name.as_deref().unwrap_or(""));
        }
        if version >= 10 {
            w.uuid(self.topic_id);
        }
        if version >= 1 {
            w.bool(self.is_internal);
        }
        w.array_of(&self.partitions, version);
        if version >= 8 {
            w.i32(self.topic_authorized_operations);
        }
        w.empty_tagged_fields();
    }
}

impl Decode for MetadataResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = MetadataResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32()?;
        }
        m.brokers = r.array_of(version)?;
        if version >= 2 {
            m.cluster_id = r.nullable_string()?;
        }
        if version >= 1 {
            m.controller_id = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        if (8..=10).contains(&version) {
            m.cluster_authorized_operations = r.i32()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for MetadataResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.brokers, version);
        if version >= 2 {
            w.nullable_string(self.cluster_id.as_deref());
        }
        if version >= 1 {
            w.i32(self.controller_id);
        }
        w.array_of(&self.topics, version);
        if (8..=10).contains(&version) {
            w.i32(self.cluster_authorized_operations);
        }
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, id, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    /// A request using every field the version carries; the rest at Kafka's defaults.
    fn request(v: i16) -> MetadataRequest {
        let mut topics = vec![MetadataRequestTopic { topic_id: if v >= 10 { id(1) } else { TopicId::ZERO }, name: Some("orders".into()) }];
        if v >= 10 {
            topics.push(MetadataRequestTopic { topic_id: id(2), name: None });
        }
        MetadataRequest {
            topics: Some(topics),
            allow_auto_topic_creation: v < 4,
            include_cluster_authorized_operations: (8..=10).contains(&v),
            include_topic_authorized_operations: v >= 8,
        }
    }

    fn response(v: i16) -> MetadataResponse {
        let mut topics = vec![MetadataResponseTopic {
            error_code: 0,
            name: Some("orders".into()),
            topic_id: if v >= 10 { id(1) } else { TopicId::ZERO },
            is_internal: v >= 1,
            partitions: vec![
                MetadataResponsePartition {
                    error_code: 0,
                    partition_index: 0,
                    leader_id: 1,
                    leader_epoch: if v >= 7 { 4 } else { -1 },
                    replica_nodes: vec![1, 2, 3],
                    isr_nodes: vec![1, 2],
                    offline_replicas: if v >= 5 { vec![3] } else { Vec::new() },
                },
                MetadataResponsePartition { error_code: 5, partition_index: 1, leader_id: -1, ..MetadataResponsePartition::default() },
            ],
            topic_authorized_operations: if v >= 8 { 0x1f8 } else { AUTHORIZED_OPERATIONS_OMITTED },
        }];
        if v >= 12 {
            topics.push(MetadataResponseTopic { error_code: 100, name: None, topic_id: id(9), ..MetadataResponseTopic::default() });
        }
        MetadataResponse {
            throttle_time_ms: if v >= 3 { 11 } else { 0 },
            brokers: vec![
                MetadataResponseBroker { node_id: 1, host: "b1".into(), port: 9092, rack: if v >= 1 { Some("r1".into()) } else { None } },
                MetadataResponseBroker { node_id: 2, host: "b2".into(), port: 9093, rack: None },
            ],
            cluster_id: if v >= 2 { Some("chronik-1".into()) } else { None },
            controller_id: if v >= 1 { 1 } else { -1 },
            topics,
            cluster_authorized_operations: if (8..=10).contains(&v) { 0xff } else { AUTHORIZED_OPERATIONS_OMITTED },
        }
    }

    /// Every implemented version round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for v in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(v), v);
            round_trip(&response(v), v);
            round_trip(&MetadataRequest::default(), v);
            round_trip(&MetadataResponse::default(), v);
        }
    }

    /// "All topics": null in v1+, empty in v0; both decode as `None`. An empty,
    /// non-null array in v1+ means no topics.
    #[test]
    fn all_topics_in_every_version() {
        let mut r = Reader::new(Bytes::from_static(&[0, 0, 0, 0]));
        assert_eq!(MetadataRequest::decode(&mut r, 0).unwrap().topics, None);
        let mut r = Reader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]));
        assert_eq!(MetadataRequest::decode(&mut r, 1).unwrap().topics, None);
        let mut r = Reader::new(Bytes::from_static(&[0, 0, 0, 0]));
        assert_eq!(MetadataRequest::decode(&mut r, 1).unwrap().topics, Some(Vec::new()));
        let mut r = Reader::new(Bytes::from_static(&[0x00, 0x01, 0x00, 0x00, 0x00]));
        let m = MetadataRequest::decode(&mut r, 9).unwrap();
        assert_eq!(m.topics, None);
        assert!(m.allow_auto_topic_creation);
        assert_eq!(r.remaining(), 0);
    }

    /// Hand-assembled bytes of a v1 request naming two topics.
    #[test]
    fn known_bytes_v1_request() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 0x00, 0x00, 0x02,             // 2 topics
            0x00, 0x01, b'a',                   // "a"
            0x00, 0x02, b'b', b'c',             // "bc"
        ];
        let expected = MetadataRequest {
            topics: Some(vec![
                MetadataRequestTopic { name: Some("a".into()), ..MetadataRequestTopic::default() },
                MetadataRequestTopic { name: Some("bc".into()), ..MetadataRequestTopic::default() },
            ]),
            ..MetadataRequest::default()
        };
        assert_known_bytes(&expected, 1, bytes);
    }

    /// Hand-assembled bytes of a v9 (first flexible) response.
    #[test]
    fn known_bytes_v9_response() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms
            0x02,                               // 1 broker (compact)
            0x00, 0x00, 0x00, 0x01,             //   node_id 1
            0x02, b'h',                         //   host "h"
            0x00, 0x00, 0x23, 0x84,             //   port 9092
            0x00,                               //   rack null
            0x00,                               //   no tags
            0x02, b'c',                         // cluster_id "c"
            0x00, 0x00, 0x00, 0x01,             // controller_id 1
            0x02,                               // 1 topic
            0x00, 0x00,                         //   error_code
            0x02, b't',                         //   name "t"
            0x00,                               //   is_internal false
            0x02,                               //   1 partition
            0x00, 0x00,                         //     error_code
            0x00, 0x00, 0x00, 0x00,             //     partition_index 0
            0x00, 0x00, 0x00, 0x01,             //     leader_id 1
            0x00, 0x00, 0x00, 0x02,             //     leader_epoch 2
            0x02, 0x00, 0x00, 0x00, 0x01,       //     replica_nodes [1]
            0x02, 0x00, 0x00, 0x00, 0x01,       //     isr_nodes [1]
            0x01,                               //     offline_replicas []
            0x00,                               //     no tags
            0x80, 0x00, 0x00, 0x00,             //   topic_authorized_operations omitted
            0x00,                               //   no tags
            0x80, 0x00, 0x00, 0x00,             // cluster_authorized_operations omitted
            0x00,                               // no tags
        ];
        let expected = MetadataResponse {
            throttle_time_ms: 0,
            brokers: vec![MetadataResponseBroker { node_id: 1, host: "h".into(), port: 9092, rack: None }],
            cluster_id: Some("c".into()),
            controller_id: 1,
            topics: vec![MetadataResponseTopic {
                name: Some("t".into()),
                partitions: vec![MetadataResponsePartition {
                    leader_id: 1,
                    leader_epoch: 2,
                    replica_nodes: vec![1],
                    isr_nodes: vec![1],
                    ..MetadataResponsePartition::default()
                }],
                ..MetadataResponseTopic::default()
            }],
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        };
        assert_known_bytes(&expected, 9, bytes);
    }

    /// A 20-byte v12 request whose topics compact-array length is 2^32-2 fails
    /// with a decode error instead of allocating for it.
    #[test]
    fn huge_topic_count_in_tiny_v12_request_is_rejected() {
        let mut body = vec![0xfe, 0xff, 0xff, 0xff, 0x0f];
        body.resize(20, 0);
        assert_eq!(body.len(), 20);
        assert_eq!(decode_error::<MetadataRequest>(&body, 12), DecodeError::NotEnoughBytes);
    }

    /// A hostile replica count in a response fails cleanly too.
    #[test]
    fn huge_replica_count_is_rejected() {
        let mut w = Writer::new();
        w.i32(0); // no brokers
        w.i32(1); // controller_id
        w.i32(1); // 1 topic
        w.i16(0);
        w.string("t");
        w.bool(false);
        w.i32(1); // 1 partition
        w.i16(0);
        w.i32(0);
        w.i32(1);
        w.i32(i32::MAX); // replica_nodes count
        assert_eq!(decode_error::<MetadataResponse>(&w.finish(), 1), DecodeError::NotEnoughBytes);
    }
}
