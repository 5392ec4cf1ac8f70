//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, versions 2-4
//! (flexible 4+). Followers use it after an epoch change to find the divergence
//! point before truncating (KIP-101/279).

use crate::protocol::codec::{check_version, Decode, DecodeResult, Encode, Reader, Writer};

const VERSION_MIN: i16 = 2;
const VERSION_MAX: i16 = 4;
const FLEXIBLE_FROM: i16 = 4;

/// The `replica_id` Kafka assumes when the request predates the field (v0-2).
pub const REPLICA_ID_DEFAULT: i32 = -2;
/// The `replica_id` a consumer sends.
pub const REPLICA_ID_CONSUMER: i32 = -1;

// ---------------------------------------------------------------- request

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetForLeaderEpochRequest {
    /// v3+. Default -2 ([`REPLICA_ID_DEFAULT`]); -1 for a consumer.
    pub replica_id: i32,
    pub topics: Vec<OffsetForLeaderTopic>,
}

impl Default for OffsetForLeaderEpochRequest {
    fn default() -> Self {
        OffsetForLeaderEpochRequest { replica_id: REPLICA_ID_DEFAULT, topics: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetForLeaderTopic {
    pub topic: String,
    pub partitions: Vec<OffsetForLeaderPartition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OffsetForLeaderPartition {
    pub partition: i32,
    /// v2+. Default -1.
    pub current_leader_epoch: i32,
    pub leader_epoch: i32,
}

impl Default for OffsetForLeaderPartition {
    fn default() -> Self {
        OffsetForLeaderPartition { partition: 0, current_leader_epoch: -1, leader_epoch: 0 }
    }
}

impl Decode for OffsetForLeaderPartition {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = OffsetForLeaderPartition { partition: r.i32()?, ..OffsetForLeaderPartition::default() };
        if version >= 2 {
            m.current_leader_epoch = r.i32()?;
        }
        m.leader_epoch = r.i32()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetForLeaderPartition {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition);
        if version >= 2 {
            w.i32(self.current_leader_epoch);
        }
        w.i32(self.leader_epoch);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetForLeaderTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetForLeaderTopic { topic: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetForLeaderTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.topic);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetForLeaderEpochRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = OffsetForLeaderEpochRequest::default();
        if version >= 3 {
            m.replica_id = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetForLeaderEpochRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        if version >= 3 {
            w.i32(self.replica_id);
        }
        w.array_of(&self.topics, version);
        w.empty_tagged_fields();
    }
}

// ---------------------------------------------------------------- response

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetForLeaderEpochResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetForLeaderTopicResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffsetForLeaderTopicResult {
    pub topic: String,
    pub partitions: Vec<EpochEndOffset>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpochEndOffset {
    pub error_code: i16,
    pub partition: i32,
    /// v1+. Default -1.
    pub leader_epoch: i32,
    /// Default -1.
    pub end_offset: i64,
}

impl Default for EpochEndOffset {
    fn default() -> Self {
        EpochEndOffset { error_code: 0, partition: 0, leader_epoch: -1, end_offset: -1 }
    }
}

impl Decode for EpochEndOffset {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = EpochEndOffset { error_code: r.i16()?, partition: r.i32()?, ..EpochEndOffset::default() };
        if version >= 1 {
            m.leader_epoch = r.i32()?;
        }
        m.end_offset = r.i64()?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for EpochEndOffset {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code);
        w.i32(self.partition);
        if version >= 1 {
            w.i32(self.leader_epoch);
        }
        w.i64(self.end_offset);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetForLeaderTopicResult {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let m = OffsetForLeaderTopicResult { topic: r.string()?, partitions: r.array_of(version)? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetForLeaderTopicResult {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.topic);
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for OffsetForLeaderEpochResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = OffsetForLeaderEpochResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for OffsetForLeaderEpochResponse {
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

    fn request(v: i16) -> OffsetForLeaderEpochRequest {
        OffsetForLeaderEpochRequest {
            replica_id: if v >= 3 { 2 } else { REPLICA_ID_DEFAULT },
            topics: vec![OffsetForLeaderTopic {
                topic: "orders".into(),
                partitions: vec![
                    OffsetForLeaderPartition { partition: 0, current_leader_epoch: 8, leader_epoch: 5 },
                    OffsetForLeaderPartition { partition: 1, leader_epoch: 0, ..OffsetForLeaderPartition::default() },
                ],
            }],
        }
    }

    fn response() -> OffsetForLeaderEpochResponse {
        OffsetForLeaderEpochResponse {
            throttle_time_ms: 3,
            topics: vec![OffsetForLeaderTopicResult {
                topic: "orders".into(),
                partitions: vec![
                    EpochEndOffset { error_code: 0, partition: 0, leader_epoch: 5, end_offset: 1200 },
                    EpochEndOffset { error_code: 74, partition: 1, ..EpochEndOffset::default() },
                ],
            }],
        }
    }

    /// Every implemented version round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for v in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(v), v);
            round_trip(&response(), v);
            round_trip(&OffsetForLeaderEpochRequest::default(), v);
            round_trip(&OffsetForLeaderEpochResponse::default(), v);
        }
    }

    /// v2 carries no replica id: it decodes as Kafka's default, -2.
    #[test]
    fn v2_replica_id_defaults_to_minus_two() {
        let bytes: &[u8] = &[0, 0, 0, 0];
        let mut r = Reader::new(Bytes::from_static(bytes));
        assert_eq!(OffsetForLeaderEpochRequest::decode(&mut r, 2).unwrap().replica_id, -2);
    }

    /// Hand-assembled bytes of a v3 request and a v4 (flexible) response.
    #[test]
    fn known_bytes() {
        #[rustfmt::skip]
        let request: &[u8] = &[
            0x00, 0x00, 0x00, 0x01,             // replica_id 1
            0x00, 0x00, 0x00, 0x01,             // 1 topic
            0x00, 0x01, b't',                   // "t"
            0x00, 0x00, 0x00, 0x01,             // 1 partition
            0x00, 0x00, 0x00, 0x00,             // partition 0
            0x00, 0x00, 0x00, 0x04,             // current_leader_epoch 4
            0x00, 0x00, 0x00, 0x03,             // leader_epoch 3
        ];
        let expected = OffsetForLeaderEpochRequest {
            replica_id: 1,
            topics: vec![OffsetForLeaderTopic {
                topic: "t".into(),
                partitions: vec![OffsetForLeaderPartition { partition: 0, current_leader_epoch: 4, leader_epoch: 3 }],
            }],
        };
        assert_known_bytes(&expected, 3, request);

        #[rustfmt::skip]
        let response: &[u8] = &[
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms
            0x02,                               // 1 topic (compact)
            0x02, b't',                         // "t"
            0x02,                               // 1 partition
            0x00, 0x00,                         // error_code
            0x00, 0x00, 0x00, 0x00,             // partition 0
            0x00, 0x00, 0x00, 0x03,             // leader_epoch 3
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, // end_offset 100
            0x00, 0x00, 0x00,                   // tags: partition, topic, top level
        ];
        let expected = OffsetForLeaderEpochResponse {
            throttle_time_ms: 0,
            topics: vec![OffsetForLeaderTopicResult {
                topic: "t".into(),
                partitions: vec![EpochEndOffset { error_code: 0, partition: 0, leader_epoch: 3, end_offset: 100 }],
            }],
        };
        assert_known_bytes(&expected, 4, response);
    }

    #[test]
    fn huge_topic_count_is_rejected() {
        let bytes: &[u8] = &[0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0];
        assert_eq!(decode_error::<OffsetForLeaderEpochRequest>(bytes, 3), DecodeError::NotEnoughBytes);
    }
}
