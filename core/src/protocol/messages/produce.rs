//! Produce (key 0): append record batches, versions 3-11 (flexible 9+).
//!
//! The record set of each partition is kept as a slice of the request frame
//! (`records`), unparsed: validation belongs to `records`. Tagged fields: response
//! partition `current_leader` (tag 0, v10+) and response `node_endpoints` (tag 0,
//! v10+), sharing their types with Fetch.

use bytes::Bytes;

pub use super::fetch::{LeaderIdAndEpoch, NodeEndpoint};
use crate::protocol::codec::{check_version, tagged_field, tagged_reader, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 3;
const VERSION_MAX: i16 = 11;
const FLEXIBLE_FROM: i16 = 9;

// ---------------------------------------------------------------- request

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceRequest {
    /// v3+, nullable: `None` unless the producer is transactional.
    pub transactional_id: Option<String>,
    /// 0, 1 or -1 (all in-sync replicas).
    pub acks: i16,
    pub timeout_ms: i32,
    pub topic_data: Vec<TopicProduceData>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicProduceData {
    pub name: String,
    pub partition_data: Vec<PartitionProduceData>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartitionProduceData {
    pub index: i32,
    /// The record batches as the client sent them (nullable).
    pub records: Option<Bytes>,
}

impl Decode for PartitionProduceData {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = PartitionProduceData { index: r.i32()?, records: r.records()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for PartitionProduceData {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.index);
        w.nullable_bytes(self.records.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for TopicProduceData {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = TopicProduceData { name: r.string()?, partition_data: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for TopicProduceData {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partition_data, version);
        w.empty_tagged_fields();
    }
}

impl Decode for ProduceRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let m = ProduceRequest {
            transactional_id: r.nullable_string()?,
            acks: r.i16()?,
            timeout_ms: r.i32()?,
            topic_data: r.array_of(version)?,
        };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ProduceRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        w.nullable_string(self.transactional_id.as_deref());
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array_of(&self.topic_data, version);
        w.empty_tagged_fields();
    }
}

// ---------------------------------------------------------------- response

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProduceResponse {
    pub responses: Vec<TopicProduceResponse>,
    /// v1+.
    pub throttle_time_ms: i32,
    /// Tag 0, v10+: written only when non-empty (Kafka's default is empty).
    pub node_endpoints: Vec<NodeEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicProduceResponse {
    pub name: String,
    pub partition_responses: Vec<PartitionProduceResponse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionProduceResponse {
    pub index: i32,
    pub error_code: i16,
    pub base_offset: i64,
    /// v2+. Default -1 (CreateTime topics).
    pub log_append_time_ms: i64,
    /// v5+. Default -1.
    pub log_start_offset: i64,
    /// v8+.
    pub record_errors: Vec<BatchIndexAndErrorMessage>,
    /// v8+, nullable.
    pub error_message: Option<String>,
    /// Tag 0, v10+. Written only when `Some`.
    pub current_leader: Option<LeaderIdAndEpoch>,
}

impl Default for PartitionProduceResponse {
    fn default() -> Self {
        PartitionProduceResponse {
            index: 0,
            error_code: 0,
            base_offset: 0,
            log_append_time_ms: -1,
            log_start_offset: -1,
            record_errors: Vec::new(),
            error_message: None,
            current_leader: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchIndexAndErrorMessage {
    pub batch_index: i32,
    /// Nullable.
    pub batch_index_error_message: Option<String>,
}

impl Decode for BatchIndexAndErrorMessage {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = BatchIndexAndErrorMessage { batch_index: r.i32()?, batch_index_error_message: r.nullable_string()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for BatchIndexAndErrorMessage {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.batch_index);
        w.nullable_string(self.batch_index_error_message.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for PartitionProduceResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = PartitionProduceResponse {
            index: r.i32()?,
            error_code: r.i16()?,
            base_offset: r.i64()?,
            ..PartitionProduceResponse::default()
        };
        if version >= 2 {
            m.log_append_time_ms = r.i64()?;
        }
        if version >= 5 {
            m.log_start_offset = r.i64()?;
        }
        if version >= 8 {
            m.record_errors = r.array_of(version)?;
            m.error_message = r.nullable_string()?;
        }
        for (tag, data) in r.tagged_fields()? {
            if tag == 0 && version >= 10 {
                m.current_leader = Some(LeaderIdAndEpoch::decode(&mut tagged_reader(data), version)?);
            }
        }
        Ok(m)
    }
}

impl Encode for PartitionProduceResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.index);
        w.i16(self.error_code);
        w.i64(self.base_offset);
        if version >= 2 {
            w.i64(self.log_append_time_ms);
        }
        if version >= 5 {
            w.i64(self.log_start_offset);
        }
        if version >= 8 {
            w.array_of(&self.record_errors, version);
            w.nullable_string(self.error_message.as_deref());
        }
        let mut tags = Vec::new();
        if let (true, Some(l)) = (version >= 10, &self.current_leader) {
            tags.push(tagged_field(0, |w| l.encode(w, version)));
        }
        w.tagged_fields(&tags);
    }
}

impl Decode for TopicProduceResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = TopicProduceResponse { name: r.string()?, partition_responses: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for TopicProduceResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partition_responses, version);
        w.empty_tagged_fields();
    }
}

impl Decode for ProduceResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = ProduceResponse { responses: r.array_of(version)?, throttle_time_ms: r.i32()?, ..ProduceResponse::default() };
        for (tag, data) in r.tagged_fields()? {
            if tag == 0 && version >= 10 {
                m.node_endpoints = tagged_reader(data).array_of(version)?;
            }
        }
        Ok(m)
    }
}

impl Encode for ProduceResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        w.array_of(&self.responses, version);
        w.i32(self.throttle_time_ms);
        let mut tags = Vec::new();
        if version >= 10 && !self.node_endpoints.is_empty() {
            tags.push(tagged_field(0, |w| w.array_of(&self.node_endpoints, version)));
        }
        w.tagged_fields(&tags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;

    fn request() -> ProduceRequest {
        ProduceRequest {
            transactional_id: Some("txn-1".into()),
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![
                TopicProduceData {
                    name: "orders".into(),
                    partition_data: vec![
                        PartitionProduceData { index: 0, records: Some(Bytes::from_static(b"\x00\x00batch")) },
                        PartitionProduceData { index: 1, records: None },
                    ],
                },
                TopicProduceData { name: "empty".into(), partition_data: Vec::new() },
            ],
        }
    }

    /// A response using every field the version carries; the rest at Kafka's defaults.
    fn response(v: i16) -> ProduceResponse {
        ProduceResponse {
            responses: vec![TopicProduceResponse {
                name: "orders".into(),
                partition_responses: vec![
                    PartitionProduceResponse {
                        index: 0,
                        error_code: 6,
                        base_offset: 4242,
                        log_append_time_ms: 1_700_000_000_000,
                        log_start_offset: if v >= 5 { 12 } else { -1 },
                        record_errors: if v >= 8 {
                            vec![
                                BatchIndexAndErrorMessage { batch_index: 3, batch_index_error_message: Some("bad".into()) },
                                BatchIndexAndErrorMessage { batch_index: 4, batch_index_error_message: None },
                            ]
                        } else {
                            Vec::new()
                        },
                        error_message: if v >= 8 { Some("records rejected".into()) } else { None },
                        current_leader: if v >= 10 { Some(LeaderIdAndEpoch { leader_id: 2, leader_epoch: 9 }) } else { None },
                    },
                    PartitionProduceResponse { index: 1, ..PartitionProduceResponse::default() },
                ],
            }],
            throttle_time_ms: 5,
            node_endpoints: if v >= 10 {
                vec![NodeEndpoint { node_id: 2, host: "broker-2".into(), port: 9092, rack: None }]
            } else {
                Vec::new()
            },
        }
    }

    /// Every implemented version round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for v in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(), v);
            round_trip(&ProduceRequest::default(), v);
            round_trip(&response(v), v);
            round_trip(&ProduceResponse::default(), v);
        }
    }

    /// The record bytes decode as a slice of the frame, not a copy.
    #[test]
    fn records_are_a_slice_of_the_frame() {
        let mut w = Writer::new();
        request().encode(&mut w, 3);
        let frame = w.finish().freeze();
        let mut r = Reader::new(frame.clone());
        let m = ProduceRequest::decode(&mut r, 3).unwrap();
        let records = m.topic_data[0].partition_data[0].records.as_ref().unwrap();
        let start = records.as_ptr() as usize - frame.as_ptr() as usize;
        assert!(start + records.len() <= frame.len());
    }

    /// Hand-assembled bytes of a v3 request.
    #[test]
    fn known_bytes_v3_request() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0xff, 0xff,                         // transactional_id null
            0x00, 0x01,                         // acks 1
            0x00, 0x00, 0x03, 0xe8,             // timeout_ms 1000
            0x00, 0x00, 0x00, 0x01,             // 1 topic
            0x00, 0x01, b't',                   // "t"
            0x00, 0x00, 0x00, 0x01,             // 1 partition
            0x00, 0x00, 0x00, 0x07,             // index 7
            0x00, 0x00, 0x00, 0x03, 1, 2, 3,    // records, 3 bytes
        ];
        let expected = ProduceRequest {
            transactional_id: None,
            acks: 1,
            timeout_ms: 1000,
            topic_data: vec![TopicProduceData {
                name: "t".into(),
                partition_data: vec![PartitionProduceData { index: 7, records: Some(Bytes::from_static(&[1, 2, 3])) }],
            }],
        };
        assert_known_bytes(&expected, 3, bytes);
    }

    /// Hand-assembled bytes of a v10 response with CurrentLeader and NodeEndpoints.
    #[test]
    fn known_bytes_v10_response_with_tags() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x02,                               // 1 topic (compact)
            0x02, b't',                         // "t"
            0x02,                               // 1 partition
            0x00, 0x00, 0x00, 0x00,             // index 0
            0x00, 0x06,                         // error_code 6
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // base_offset -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log_append_time_ms -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log_start_offset -1
            0x01,                               // record_errors: empty
            0x00,                               // error_message null
            0x01,                               // 1 tagged field
            0x00, 0x09,                         // tag 0, 9 bytes
            0x00, 0x00, 0x00, 0x02,             //   leader_id 2
            0x00, 0x00, 0x00, 0x05,             //   leader_epoch 5
            0x00,                               //   no tags
            0x00,                               // topic: no tags
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms 0
            0x01,                               // 1 tagged field
            0x00, 0x0d,                         // tag 0, 13 bytes
            0x02,                               //   1 endpoint
            0x00, 0x00, 0x00, 0x02,             //   node_id 2
            0x02, b'h',                         //   host "h"
            0x00, 0x00, 0x23, 0x84,             //   port 9092
            0x00,                               //   rack null
            0x00,                               //   no tags
        ];
        let expected = ProduceResponse {
            responses: vec![TopicProduceResponse {
                name: "t".into(),
                partition_responses: vec![PartitionProduceResponse {
                    error_code: 6,
                    base_offset: -1,
                    current_leader: Some(LeaderIdAndEpoch { leader_id: 2, leader_epoch: 5 }),
                    ..PartitionProduceResponse::default()
                }],
            }],
            throttle_time_ms: 0,
            node_endpoints: vec![NodeEndpoint { node_id: 2, host: "h".into(), port: 9092, rack: None }],
        };
        assert_known_bytes(&expected, 10, bytes);
    }

    /// A body declaring ~2^31 topics (or 2^32-2 in compact form) fails cleanly.
    #[test]
    fn huge_topic_count_is_rejected() {
        let mut classic = vec![0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0x7f, 0xff, 0xff, 0xff];
        classic.extend_from_slice(&[0u8; 8]);
        assert_eq!(decode_error::<ProduceRequest>(&classic, 3), DecodeError::NotEnoughBytes);

        let mut compact = vec![0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0xfe, 0xff, 0xff, 0xff, 0x0f];
        compact.extend_from_slice(&[0u8; 8]);
        assert_eq!(decode_error::<ProduceRequest>(&compact, 9), DecodeError::NotEnoughBytes);
    }

    /// A records length past the end of the frame fails cleanly.
    #[test]
    fn records_longer_than_frame_are_rejected() {
        let bytes: &[u8] = &[0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1];
        assert_eq!(decode_error::<ProduceRequest>(bytes, 3), DecodeError::NotEnoughBytes);
    }
}
