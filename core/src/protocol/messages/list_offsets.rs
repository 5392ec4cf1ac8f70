//! ListOffsets (key 2): offsets by timestamp, versions 1-10 (flexible 6+).
//!
//! The v0-only fields (`MaxNumOffsets`, `OldStyleOffsets`) are not modelled: v0 is
//! outside the implemented range and is rejected on decode.

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 1;
const VERSION_MAX: i16 = 10;
const FLEXIBLE_FROM: i16 = 6;

/// Timestamp sentinels a client may ask for.
pub mod timestamp {
    pub const LATEST: i64 = -1;
    pub const EARLIEST: i64 = -2;
    /// v7+.
    pub const MAX_TIMESTAMP: i64 = -3;
    /// v8+.
    pub const EARLIEST_LOCAL: i64 = -4;
    /// v9+.
    pub const LATEST_TIERED: i64 = -5;
}

// ---------------------------------------------------------------- request

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOffsetsRequest {
    /// The requesting broker, or -1 for a consumer.
    pub replica_id: i32,
    /// v2+. 0 = read uncommitted, 1 = read committed.
    pub isolation_level: i8,
    pub topics: Vec<ListOffsetsTopic>,
    /// v10+.
    pub timeout_ms: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOffsetsTopic {
    pub name: String,
    pub partitions: Vec<ListOffsetsPartition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListOffsetsPartition {
    pub partition_index: i32,
    /// v4+. Default -1.
    pub current_leader_epoch: i32,
    pub timestamp: i64,
}

impl Default for ListOffsetsPartition {
    fn default() -> Self {
        ListOffsetsPartition { partition_index: 0, current_leader_epoch: -1, timestamp: 0 }
    }
}

impl Decode for ListOffsetsPartition {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = ListOffsetsPartition { partition_index: r.i32()?, ..ListOffsetsPartition::default() };
        if version >= 4 {
            m.current_leader_epoch = r.i32()?;
        }
        m.timestamp = r.i64()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListOffsetsPartition {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition_index);
        if version >= 4 {
            w.i32(self.current_leader_epoch);
        }
        w.i64(self.timestamp);
        w.empty_tagged_fields();
    }
}

impl Decode for ListOffsetsTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = ListOffsetsTopic { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListOffsetsTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for ListOffsetsRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = ListOffsetsRequest { replica_id: r.i32()?, ..ListOffsetsRequest::default() };
        if version >= 2 {
            m.isolation_level = r.i8()?;
        }
        m.topics = r.array_of(version)?;
        if version >= 10 {
            m.timeout_ms = r.i32()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListOffsetsRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        w.i32(self.replica_id);
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array_of(&self.topics, version);
        if version >= 10 {
            w.i32(self.timeout_ms);
        }
        w.empty_tagged_fields();
    }
}

// ---------------------------------------------------------------- response

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOffsetsResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub topics: Vec<ListOffsetsTopicResponse>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListOffsetsTopicResponse {
    pub name: String,
    pub partitions: Vec<ListOffsetsPartitionResponse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListOffsetsPartitionResponse {
    pub partition_index: i32,
    pub error_code: i16,
    /// v1+. Default -1.
    pub timestamp: i64,
    /// v1+. Default -1.
    pub offset: i64,
    /// v4+. Default -1.
    pub leader_epoch: i32,
}

impl Default for ListOffsetsPartitionResponse {
    fn default() -> Self {
        ListOffsetsPartitionResponse { partition_index: 0, error_code: 0, timestamp: -1, offset: -1, leader_epoch: -1 }
    }
}

impl Decode for ListOffsetsPartitionResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = ListOffsetsPartitionResponse {
            partition_index: r.i32()?,
            error_code: r.i16()?,
            timestamp: r.i64()?,
            offset: r.i64()?,
            ..ListOffsetsPartitionResponse::default()
        };
        if version >= 4 {
            m.leader_epoch = r.i32()?;
        }
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListOffsetsPartitionResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition_index);
        w.i16(self.error_code);
        w.i64(self.timestamp);
        w.i64(self.offset);
        if version >= 4 {
            w.i32(self.leader_epoch);
        }
        w.empty_tagged_fields();
    }
}

impl Decode for ListOffsetsTopicResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = ListOffsetsTopicResponse { name: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListOffsetsTopicResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.name);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for ListOffsetsResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = ListOffsetsResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ListOffsetsResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.topics, version);
        w.empty_tagged_fields();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, round_trip};
    use crate::protocol::codec::DecodeError;
    use bytes::Bytes;

    fn request(v: i16) -> ListOffsetsRequest {
        ListOffsetsRequest {
            replica_id: -1,
            isolation_level: if v >= 2 { 1 } else { 0 },
            topics: vec![ListOffsetsTopic {
                name: "orders".into(),
                partitions: vec![
                    ListOffsetsPartition {
                        partition_index: 3,
                        current_leader_epoch: if v >= 4 { 7 } else { -1 },
                        timestamp: timestamp::EARLIEST,
                    },
                    ListOffsetsPartition { partition_index: 4, timestamp: 1_700_000_000_000, ..ListOffsetsPartition::default() },
                ],
            }],
            timeout_ms: if v >= 10 { 1500 } else { 0 },
        }
    }

    fn response(v: i16) -> ListOffsetsResponse {
        ListOffsetsResponse {
            throttle_time_ms: if v >= 2 { 9 } else { 0 },
            topics: vec![ListOffsetsTopicResponse {
                name: "orders".into(),
                partitions: vec![
                    ListOffsetsPartitionResponse {
                        partition_index: 3,
                        error_code: 0,
                        timestamp: 1_700_000_000_000,
                        offset: 42,
                        leader_epoch: if v >= 4 { 7 } else { -1 },
                    },
                    ListOffsetsPartitionResponse { partition_index: 4, error_code: 6, ..ListOffsetsPartitionResponse::default() },
                ],
            }],
        }
    }

    /// Every implemented version round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for v in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(v), v);
            round_trip(&response(v), v);
            round_trip(&ListOffsetsRequest::default(), v);
            round_trip(&ListOffsetsResponse::default(), v);
        }
    }

    /// Hand-assembled bytes of a v1 request (no isolation level, no leader epoch).
    #[test]
    fn known_bytes_v1_request() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0xff, 0xff, 0xff, 0xff,             // replica_id -1
            0x00, 0x00, 0x00, 0x01,             // 1 topic
            0x00, 0x01, b't',                   // "t"
            0x00, 0x00, 0x00, 0x01,             // 1 partition
            0x00, 0x00, 0x00, 0x02,             // partition_index 2
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // timestamp -2 (earliest)
        ];
        let expected = ListOffsetsRequest {
            replica_id: -1,
            topics: vec![ListOffsetsTopic {
                name: "t".into(),
                partitions: vec![ListOffsetsPartition { partition_index: 2, timestamp: -2, ..ListOffsetsPartition::default() }],
            }],
            ..ListOffsetsRequest::default()
        };
        assert_known_bytes(&expected, 1, bytes);
    }

    /// Hand-assembled bytes of a v6 (first flexible) response.
    #[test]
    fn known_bytes_v6_response() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms
            0x02,                               // 1 topic (compact)
            0x02, b't',                         // "t"
            0x02,                               // 1 partition
            0x00, 0x00, 0x00, 0x01,             // partition_index 1
            0x00, 0x00,                         // error_code
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // timestamp -1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, // offset 10
            0x00, 0x00, 0x00, 0x03,             // leader_epoch 3
            0x00,                               // partition: no tags
            0x00,                               // topic: no tags
            0x00,                               // top level: no tags
        ];
        let expected = ListOffsetsResponse {
            throttle_time_ms: 0,
            topics: vec![ListOffsetsTopicResponse {
                name: "t".into(),
                partitions: vec![ListOffsetsPartitionResponse {
                    partition_index: 1,
                    offset: 10,
                    leader_epoch: 3,
                    ..ListOffsetsPartitionResponse::default()
                }],
            }],
        };
        assert_known_bytes(&expected, 6, bytes);
    }

    #[test]
    fn huge_topic_count_is_rejected() {
        let bytes: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0];
        assert_eq!(decode_error::<ListOffsetsRequest>(bytes, 6), DecodeError::NotEnoughBytes);
    }

    #[test]
    fn v0_is_rejected() {
        let mut r = Reader::new(Bytes::from_static(&[0; 32]));
        assert!(ListOffsetsRequest::decode(&mut r, 0).is_err());
    }
}
