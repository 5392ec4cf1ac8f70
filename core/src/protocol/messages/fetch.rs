//! Fetch (key 1): read record batches from partitions, versions 4-17 (flexible 12+).
//!
//! v13+ name topics by id (`topic_id`) instead of by name (`topic`); both fields are
//! kept and each version reads and writes the one it carries. Tagged fields:
//! request `cluster_id` (tag 0, v12+) and `replica_state` (tag 1, v15+), request
//! partition `replica_directory_id` (tag 0, v17+); response partition
//! `diverging_epoch` (tag 0), `current_leader` (tag 1), `snapshot_id` (tag 2), all
//! v12+, and response `node_endpoints` (tag 0, v16+).
//!
//! Also home of the pieces Produce shares: [`LeaderIdAndEpoch`] and [`NodeEndpoint`].

use bytes::Bytes;

use crate::protocol::codec::{check_version, tagged_field, tagged_reader, Decode, DecodeResult, Encode, Reader, Writer};
use crate::types::TopicId;

const VERSION_MIN: i16 = 4;
const VERSION_MAX: i16 = 17;
const FLEXIBLE_FROM: i16 = 12;

// ---------------------------------------------------------------- request

#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    /// Tag 0, v12+. Written only when `Some`.
    pub cluster_id: Option<String>,
    /// v0-14 (v15+ carry it in `replica_state`). Default -1 (a consumer).
    pub replica_id: i32,
    /// Tag 1, v15+. Written only when `Some`.
    pub replica_state: Option<ReplicaState>,
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    /// v3+. Default 0x7fffffff.
    pub max_bytes: i32,
    /// v4+. 0 = read uncommitted, 1 = read committed.
    pub isolation_level: i8,
    /// v7+. Default 0.
    pub session_id: i32,
    /// v7+. Default -1.
    pub session_epoch: i32,
    pub topics: Vec<FetchTopic>,
    /// v7+.
    pub forgotten_topics_data: Vec<ForgottenTopic>,
    /// v11+. Default "".
    pub rack_id: String,
}

impl Default for FetchRequest {
    fn default() -> Self {
        FetchRequest {
            cluster_id: None,
            replica_id: -1,
            replica_state: None,
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: i32::MAX,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics: Vec::new(),
            forgotten_topics_data: Vec::new(),
            rack_id: String::new(),
        }
    }
}

impl FetchRequest {
    /// The requesting replica whichever version carried it: -1 for a consumer.
    pub fn effective_replica_id(&self) -> i32 {
        match &self.replica_state {
            Some(s) => s.replica_id,
            None => self.replica_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaState {
    /// Default -1.
    pub replica_id: i32,
    /// Default -1.
    pub replica_epoch: i64,
}

impl Default for ReplicaState {
    fn default() -> Self {
        ReplicaState { replica_id: -1, replica_epoch: -1 }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchTopic {
    /// v0-12.
    pub topic: String,
    /// v13+.
    pub topic_id: TopicId,
    pub partitions: Vec<FetchPartition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchPartition {
    pub partition: i32,
    /// v9+. Default -1.
    pub current_leader_epoch: i32,
    pub fetch_offset: i64,
    /// v12+. Default -1.
    pub last_fetched_epoch: i32,
    /// v5+. Default -1.
    pub log_start_offset: i64,
    pub partition_max_bytes: i32,
    /// Tag 0, v17+ (a directory UUID, held in the UUID type).
    pub replica_directory_id: Option<TopicId>,
}

impl Default for FetchPartition {
    fn default() -> Self {
        FetchPartition {
            partition: 0,
            current_leader_epoch: -1,
            fetch_offset: 0,
            last_fetched_epoch: -1,
            log_start_offset: -1,
            partition_max_bytes: 0,
            replica_directory_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForgottenTopic {
    /// v7-12.
    pub topic: String,
    /// v13+.
    pub topic_id: TopicId,
    pub partitions: Vec<i32>,
}

impl Decode for ReplicaState {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = ReplicaState { replica_id: r.i32()?, replica_epoch: r.i64()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ReplicaState {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.replica_id);
        w.i64(self.replica_epoch);
        w.empty_tagged_fields();
    }
}

impl Decode for FetchPartition {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = FetchPartition { partition: r.i32()?, ..FetchPartition::default() };
        if version >= 9 {
            m.current_leader_epoch = r.i32()?;
        }
        m.fetch_offset = r.i64()?;
        if version >= 12 {
            m.last_fetched_epoch = r.i32()?;
        }
        if version >= 5 {
            m.log_start_offset = r.i64()?;
        }
        m.partition_max_bytes = r.i32()?;
        for (tag, data) in r.tagged_fields()? {
            if tag == 0 && version >= 17 {
                m.replica_directory_id = Some(tagged_reader(data).uuid()?);
            }
        }
        Ok(m)
    }
}

impl Encode for FetchPartition {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition);
        if version >= 9 {
            w.i32(self.current_leader_epoch);
        }
        w.i64(self.fetch_offset);
        if version >= 12 {
            w.i32(self.last_fetched_epoch);
        }
        if version >= 5 {
            w.i64(self.log_start_offset);
        }
        w.i32(self.partition_max_bytes);
        let mut tags = Vec::new();
        if let (true, Some(id)) = (version >= 17, self.replica_directory_id) {
            tags.push(tagged_field(0, |w| w.uuid(id)));
        }
        w.tagged_fields(&tags);
    }
}

impl Decode for FetchTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = FetchTopic::default();
        if version >= 13 {
            m.topic_id = r.uuid()?;
        } else {
            m.topic = r.string()?;
        }
        m.partitions = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for FetchTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 13 {
            w.uuid(self.topic_id);
        } else {
            w.string(&self.topic);
        }
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for ForgottenTopic {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = ForgottenTopic::default();
        if version >= 13 {
            m.topic_id = r.uuid()?;
        } else {
            m.topic = r.string()?;
        }
        m.partitions = r.array(|r| r.i32())?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for ForgottenTopic {
    fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 13 {
            w.uuid(self.topic_id);
        } else {
            w.string(&self.topic);
        }
        w.array(&self.partitions, |w, p| w.i32(*p));
        w.empty_tagged_fields();
    }
}

impl Decode for FetchRequest {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = FetchRequest::default();
        if version <= 14 {
            m.replica_id = r.i32()?;
        }
        m.max_wait_ms = r.i32()?;
        m.min_bytes = r.i32()?;
        m.max_bytes = r.i32()?;
        m.isolation_level = r.i8()?;
        if version >= 7 {
            m.session_id = r.i32()?;
            m.session_epoch = r.i32()?;
        }
        m.topics = r.array_of(version)?;
        if version >= 7 {
            m.forgotten_topics_data = r.array_of(version)?;
        }
        if version >= 11 {
            m.rack_id = r.string()?;
        }
        for (tag, data) in r.tagged_fields()? {
            match tag {
                0 => m.cluster_id = tagged_reader(data).nullable_string()?,
                1 if version >= 15 => m.replica_state = Some(ReplicaState::decode(&mut tagged_reader(data), version)?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl Encode for FetchRequest {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        if version <= 14 {
            w.i32(self.replica_id);
        }
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        w.i32(self.max_bytes);
        w.i8(self.isolation_level);
        if version >= 7 {
            w.i32(self.session_id);
            w.i32(self.session_epoch);
        }
        w.array_of(&self.topics, version);
        if version >= 7 {
            w.array_of(&self.forgotten_topics_data, version);
        }
        if version >= 11 {
            w.string(&self.rack_id);
        }
        let mut tags = Vec::new();
        if let Some(id) = &self.cluster_id {
            tags.push(tagged_field(0, |w| w.nullable_string(Some(id))));
        }
        if let (true, Some(s)) = (version >= 15, &self.replica_state) {
            tags.push(tagged_field(1, |w| s.encode(w, version)));
        }
        w.tagged_fields(&tags);
    }
}

// ---------------------------------------------------------------- response

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    /// v7+.
    pub error_code: i16,
    /// v7+. Default 0.
    pub session_id: i32,
    pub responses: Vec<FetchableTopicResponse>,
    /// Tag 0, v16+: written only when non-empty (Kafka's default is empty).
    pub node_endpoints: Vec<NodeEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchableTopicResponse {
    /// v0-12.
    pub topic: String,
    /// v13+.
    pub topic_id: TopicId,
    pub partitions: Vec<PartitionData>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionData {
    pub partition_index: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    /// v4+. Default -1.
    pub last_stable_offset: i64,
    /// v5+. Default -1.
    pub log_start_offset: i64,
    /// Tag 0, v12+.
    pub diverging_epoch: Option<EpochEndOffset>,
    /// Tag 1, v12+.
    pub current_leader: Option<LeaderIdAndEpoch>,
    /// Tag 2, v12+.
    pub snapshot_id: Option<SnapshotId>,
    /// v4+, nullable.
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    /// v11+. Default -1.
    pub preferred_read_replica: i32,
    /// The stored record batches, as is.
    pub records: Option<Bytes>,
}

impl Default for PartitionData {
    fn default() -> Self {
        PartitionData {
            partition_index: 0,
            error_code: 0,
            high_watermark: 0,
            last_stable_offset: -1,
            log_start_offset: -1,
            diverging_epoch: None,
            current_leader: None,
            snapshot_id: None,
            aborted_transactions: None,
            preferred_read_replica: -1,
            records: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpochEndOffset {
    /// Default -1.
    pub epoch: i32,
    /// Default -1.
    pub end_offset: i64,
}

impl Default for EpochEndOffset {
    fn default() -> Self {
        EpochEndOffset { epoch: -1, end_offset: -1 }
    }
}

/// Also used by Produce (tag 0 of its partition response, v10+).
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderIdAndEpoch {
    /// Default -1 (unknown).
    pub leader_id: i32,
    /// Default -1.
    pub leader_epoch: i32,
}

impl Default for LeaderIdAndEpoch {
    fn default() -> Self {
        LeaderIdAndEpoch { leader_id: -1, leader_epoch: -1 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotId {
    /// Default -1.
    pub end_offset: i64,
    /// Default -1.
    pub epoch: i32,
}

impl Default for SnapshotId {
    fn default() -> Self {
        SnapshotId { end_offset: -1, epoch: -1 }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AbortedTransaction {
    pub producer_id: i64,
    pub first_offset: i64,
}

/// Also used by Produce (its tag 0, v10+).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeEndpoint {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl Decode for EpochEndOffset {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = EpochEndOffset { epoch: r.i32()?, end_offset: r.i64()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for EpochEndOffset {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.epoch);
        w.i64(self.end_offset);
        w.empty_tagged_fields();
    }
}

impl Decode for LeaderIdAndEpoch {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = LeaderIdAndEpoch { leader_id: r.i32()?, leader_epoch: r.i32()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for LeaderIdAndEpoch {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.leader_id);
        w.i32(self.leader_epoch);
        w.empty_tagged_fields();
    }
}

impl Decode for SnapshotId {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = SnapshotId { end_offset: r.i64()?, epoch: r.i32()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for SnapshotId {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i64(self.end_offset);
        w.i32(self.epoch);
        w.empty_tagged_fields();
    }
}

impl Decode for AbortedTransaction {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = AbortedTransaction { producer_id: r.i64()?, first_offset: r.i64()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for AbortedTransaction {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i64(self.producer_id);
        w.i64(self.first_offset);
        w.empty_tagged_fields();
    }
}

impl Decode for NodeEndpoint {
    fn decode(r: &mut Reader, _version: i16) -> DecodeResult<Self> {
        let m = NodeEndpoint { node_id: r.i32()?, host: r.string()?, port: r.i32()?, rack: r.nullable_string()? };
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for NodeEndpoint {
    fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.node_id);
        w.string(&self.host);
        w.i32(self.port);
        w.nullable_string(self.rack.as_deref());
        w.empty_tagged_fields();
    }
}

impl Decode for PartitionData {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = PartitionData { partition_index: r.i32()?, error_code: r.i16()?, high_watermark: r.i64()?, ..PartitionData::default() };
        if version >= 4 {
            m.last_stable_offset = r.i64()?;
        }
        if version >= 5 {
            m.log_start_offset = r.i64()?;
        }
        if version >= 4 {
            m.aborted_transactions = r.nullable_array_of(version)?;
        }
        if version >= 11 {
            m.preferred_read_replica = r.i32()?;
        }
        m.records = r.records()?;
        for (tag, data) in r.tagged_fields()? {
            let mut t = tagged_reader(data);
            match tag {
                0 => m.diverging_epoch = Some(EpochEndOffset::decode(&mut t, version)?),
                1 => m.current_leader = Some(LeaderIdAndEpoch::decode(&mut t, version)?),
                2 => m.snapshot_id = Some(SnapshotId::decode(&mut t, version)?),
                _ => {}
            }
        }
        Ok(m)
    }
}

impl Encode for PartitionData {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.partition_index);
        w.i16(self.error_code);
        w.i64(self.high_watermark);
        if version >= 4 {
            w.i64(self.last_stable_offset);
        }
        if version >= 5 {
            w.i64(self.log_start_offset);
        }
        if version >= 4 {
            w.nullable_array_of(self.aborted_transactions.as_deref(), version);
        }
        if version >= 11 {
            w.i32(self.preferred_read_replica);
        }
        w.nullable_records(self.records.as_ref());
        let mut tags = Vec::new();
        if let Some(d) = &self.diverging_epoch {
            tags.push(tagged_field(0, |w| d.encode(w, version)));
        }
        if let Some(l) = &self.current_leader {
            tags.push(tagged_field(1, |w| l.encode(w, version)));
        }
        if let Some(s) = &self.snapshot_id {
            tags.push(tagged_field(2, |w| s.encode(w, version)));
        }
        w.tagged_fields(&tags);
    }
}

impl Decode for FetchableTopicResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        let mut m = FetchableTopicResponse::default();
        if version >= 13 {
            m.topic_id = r.uuid()?;
        } else {
            m.topic = r.string()?;
        }
        m.partitions = r.array_of(version)?;
        r.skip_tagged_fields()?;
        Ok(m)
    }
}

impl Encode for FetchableTopicResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 13 {
            w.uuid(self.topic_id);
        } else {
            w.string(&self.topic);
        }
        w.array_of(&self.partitions, version);
        w.empty_tagged_fields();
    }
}

impl Decode for FetchResponse {
    fn decode(r: &mut Reader, version: i16) -> DecodeResult<Self> {
        check_version(version, VERSION_MIN, VERSION_MAX)?;
        r.flexible = version >= FLEXIBLE_FROM;
        let mut m = FetchResponse { throttle_time_ms: r.i32()?, ..FetchResponse::default() };
        if version >= 7 {
            m.error_code = r.i16()?;
            m.session_id = r.i32()?;
        }
        m.responses = r.array_of(version)?;
        for (tag, data) in r.tagged_fields()? {
            if tag == 0 && version >= 16 {
                m.node_endpoints = tagged_reader(data).array_of(version)?;
            }
        }
        Ok(m)
    }
}

impl Encode for FetchResponse {
    fn encode(&self, w: &mut Writer, version: i16) {
        w.flexible = version >= FLEXIBLE_FROM;
        w.i32(self.throttle_time_ms);
        if version >= 7 {
            w.i16(self.error_code);
            w.i32(self.session_id);
        }
        w.array_of(&self.responses, version);
        let mut tags = Vec::new();
        if version >= 16 && !self.node_endpoints.is_empty() {
            tags.push(tagged_field(0, |w| w.array_of(&self.node_endpoints, version)));
        }
        w.tagged_fields(&tags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::testing::{assert_known_bytes, decode_error, id, round_trip};
    use crate::protocol::codec::DecodeError;

    /// A request using every field the version carries; the rest at Kafka's defaults.
    fn request(v: i16) -> FetchRequest {
        let d = FetchRequest::default();
        let dp = FetchPartition::default();
        FetchRequest {
            cluster_id: if v >= 12 { Some("cluster-a".into()) } else { None },
            replica_id: if v <= 14 { 3 } else { d.replica_id },
            replica_state: if v >= 15 { Some(ReplicaState { replica_id: 4, replica_epoch: 99 }) } else { None },
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 52_428_800,
            isolation_level: 1,
            session_id: if v >= 7 { 17 } else { d.session_id },
            session_epoch: if v >= 7 { 2 } else { d.session_epoch },
            topics: vec![FetchTopic {
                topic: if v <= 12 { "orders".into() } else { String::new() },
                topic_id: if v >= 13 { id(7) } else { TopicId::ZERO },
                partitions: vec![
                    FetchPartition {
                        partition: 0,
                        current_leader_epoch: if v >= 9 { 5 } else { dp.current_leader_epoch },
                        fetch_offset: 1234,
                        last_fetched_epoch: if v >= 12 { 4 } else { dp.last_fetched_epoch },
                        log_start_offset: if v >= 5 { 10 } else { dp.log_start_offset },
                        partition_max_bytes: 1 << 20,
                        replica_directory_id: if v >= 17 { Some(id(9)) } else { None },
                    },
                    FetchPartition { partition: 1, fetch_offset: 0, partition_max_bytes: 100, ..FetchPartition::default() },
                ],
            }],
            forgotten_topics_data: if v >= 7 {
                vec![ForgottenTopic {
                    topic: if v <= 12 { "gone".into() } else { String::new() },
                    topic_id: if v >= 13 { id(8) } else { TopicId::ZERO },
                    partitions: vec![0, 2, 5],
                }]
            } else {
                Vec::new()
            },
            rack_id: if v >= 11 { "rack-1".into() } else { String::new() },
        }
    }

    fn response(v: i16) -> FetchResponse {
        FetchResponse {
            throttle_time_ms: 12,
            error_code: if v >= 7 { 70 } else { 0 },
            session_id: if v >= 7 { 17 } else { 0 },
            responses: vec![FetchableTopicResponse {
                topic: if v <= 12 { "orders".into() } else { String::new() },
                topic_id: if v >= 13 { id(7) } else { TopicId::ZERO },
                partitions: vec![
                    PartitionData {
                        partition_index: 0,
                        error_code: 6,
                        high_watermark: 100,
                        last_stable_offset: 90,
                        log_start_offset: if v >= 5 { 3 } else { -1 },
                        diverging_epoch: if v >= 12 { Some(EpochEndOffset { epoch: 3, end_offset: 77 }) } else { None },
                        current_leader: if v >= 12 { Some(LeaderIdAndEpoch { leader_id: 2, leader_epoch: 6 }) } else { None },
                        snapshot_id: if v >= 12 { Some(SnapshotId { end_offset: 50, epoch: 2 }) } else { None },
                        aborted_transactions: Some(vec![AbortedTransaction { producer_id: 1000, first_offset: 20 }]),
                        preferred_read_replica: if v >= 11 { 1 } else { -1 },
                        records: Some(Bytes::from_static(b"\x00\x01batch-bytes")),
                    },
                    PartitionData { partition_index: 1, records: None, aborted_transactions: None, ..PartitionData::default() },
                    PartitionData { partition_index: 2, records: Some(Bytes::new()), ..PartitionData::default() },
                ],
            }],
            node_endpoints: if v >= 16 {
                vec![
                    NodeEndpoint { node_id: 2, host: "b2".into(), port: 9092, rack: Some("r".into()) },
                    NodeEndpoint { node_id: 3, host: "b3".into(), port: 9093, rack: None },
                ]
            } else {
                Vec::new()
            },
        }
    }

    /// Every implemented version round-trips every field it carries.
    #[test]
    fn round_trips_every_version() {
        for v in VERSION_MIN..=VERSION_MAX {
            round_trip(&request(v), v);
            round_trip(&response(v), v);
            round_trip(&FetchRequest::default(), v);
            round_trip(&FetchResponse::default(), v);
        }
    }

    /// Tagged fields the version does not know (and unknown tags) are skipped, not misread.
    #[test]
    fn unknown_tags_are_skipped() {
        // A v12 response whose top level carries tag 0 (NodeEndpoints only exists from v16) and tag 9.
        let mut w = Writer::new();
        w.flexible = true;
        w.i32(0);
        w.i16(0);
        w.i32(0);
        w.array_len(Some(0));
        w.tagged_fields(&[(0, Bytes::from_static(&[1])), (9, Bytes::from_static(b"xyz"))]);
        let mut r = Reader::new(w.finish().freeze());
        let m = FetchResponse::decode(&mut r, 12).unwrap();
        assert_eq!(m, FetchResponse::default());
        assert_eq!(r.remaining(), 0);
    }

    /// Hand-assembled bytes of a v4 request, so an encode/decode pair that agree on a
    /// wrong layout cannot pass.
    #[test]
    fn known_bytes_v4_request() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0xff, 0xff, 0xff, 0xff,             // replica_id -1
            0x00, 0x00, 0x01, 0xf4,             // max_wait_ms 500
            0x00, 0x00, 0x00, 0x01,             // min_bytes 1
            0x00, 0x10, 0x00, 0x00,             // max_bytes 1 MiB
            0x01,                               // isolation_level 1
            0x00, 0x00, 0x00, 0x01,             // 1 topic
            0x00, 0x01, b't',                   // "t"
            0x00, 0x00, 0x00, 0x01,             // 1 partition
            0x00, 0x00, 0x00, 0x02,             // partition 2
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, // fetch_offset 42
            0x00, 0x00, 0x10, 0x00,             // partition_max_bytes 4096
        ];
        let expected = FetchRequest {
            replica_id: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 1 << 20,
            isolation_level: 1,
            topics: vec![FetchTopic {
                topic: "t".into(),
                partitions: vec![FetchPartition { partition: 2, fetch_offset: 42, partition_max_bytes: 4096, ..FetchPartition::default() }],
                ..FetchTopic::default()
            }],
            ..FetchRequest::default()
        };
        assert_known_bytes(&expected, 4, bytes);
    }

    /// Hand-assembled bytes of a v12 response partition with tag 1 (CurrentLeader).
    #[test]
    fn known_bytes_v12_response_with_tag() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 0x00, 0x00, 0x00,             // throttle_time_ms
            0x00, 0x00,                         // error_code
            0x00, 0x00, 0x00, 0x00,             // session_id
            0x02,                               // 1 topic (compact)
            0x02, b't',                         // "t" (compact)
            0x02,                               // 1 partition
            0x00, 0x00, 0x00, 0x00,             // partition_index 0
            0x00, 0x06,                         // error_code 6
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // high_watermark 5
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // last_stable_offset -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log_start_offset -1
            0x00,                               // aborted_transactions null
            0xff, 0xff, 0xff, 0xff,             // preferred_read_replica -1
            0x00,                               // records null
            0x01,                               // 1 tagged field
            0x01, 0x09,                         // tag 1, 9 bytes
            0x00, 0x00, 0x00, 0x03,             //   leader_id 3
            0x00, 0x00, 0x00, 0x07,             //   leader_epoch 7
            0x00,                               //   no tags
            0x00,                               // topic: no tags
            0x00,                               // top level: no tags
        ];
        let expected = FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic: "t".into(),
                partitions: vec![PartitionData {
                    error_code: 6,
                    high_watermark: 5,
                    current_leader: Some(LeaderIdAndEpoch { leader_id: 3, leader_epoch: 7 }),
                    ..PartitionData::default()
                }],
                ..FetchableTopicResponse::default()
            }],
            ..FetchResponse::default()
        };
        assert_known_bytes(&expected, 12, bytes);
    }

    #[test]
    fn unsupported_version_is_an_error() {
        let mut r = Reader::new(Bytes::from_static(&[0; 64]));
        assert!(FetchRequest::decode(&mut r, 3).is_err());
    }

    /// A hostile partition count fails without allocating.
    #[test]
    fn huge_partition_count_is_rejected() {
        let mut w = Writer::new();
        w.i32(-1);
        w.i32(0);
        w.i32(0);
        w.i32(0);
        w.i8(0);
        w.i32(1);
        w.string("t");
        w.i32(i32::MAX);
        assert_eq!(decode_error::<FetchRequest>(&w.finish(), 4), DecodeError::NotEnoughBytes);
    }
}
