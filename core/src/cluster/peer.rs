//! Messages between the nodes of a cluster (`Output::PeerSend` / `Input::PeerReceived`),
//! serialized with postcard. Every message may be lost, duplicated or reordered: Raft
//! tolerates that by design, heartbeats are periodic, and forwarded requests are resent
//! until their outcome is applied (re-applying is rejected, never doubled: a forwarded
//! topic creation carries the topic id chosen by the broker that received it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metadata::{Address, PartitionEpoch};
use crate::types::{LeaderEpoch, NodeId, Offset, TopicId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// A raft-rs message (protobuf bytes).
    Raft(Vec<u8>),
    /// A broker tells the controller it is alive (Kafka's BrokerHeartbeat, with the
    /// registration folded in: the controller registers a broker it does not know, or
    /// knows with an older incarnation or another address).
    Heartbeat { id: NodeId, incarnation: u64, address: Address },
    /// A broker asks the controller to change the metadata on a client's behalf.
    Forward { origin: NodeId, token: u64, request: ControllerRequest },
    /// The controller refused a forwarded request before proposing it.
    ForwardRefused { token: u64, error_code: i16, message: String },
    /// A follower fetches one partition from its leader (Kafka's follower Fetch, pull
    /// model): it holds everything below `fetch_offset` (as the leader's log has it, at
    /// `leader_epoch`) and has synced everything below `durable`. `seq` pairs the answer.
    ReplicaFetch { topic_id: TopicId, partition: i32, leader_epoch: LeaderEpoch, fetch_offset: Offset, durable: Offset, seq: u64 },
    /// The leader's answer to [`PeerMessage::ReplicaFetch`].
    ReplicaFetched { topic_id: TopicId, partition: i32, seq: u64, result: Result<Fetched, i16> },
    /// A follower asks where `epoch` ends in the leader's log (OffsetForLeaderEpoch),
    /// fenced by the leader's epoch it follows.
    EpochQuery { topic_id: TopicId, partition: i32, current_leader_epoch: LeaderEpoch, epoch: LeaderEpoch, seq: u64 },
    /// The leader's answer: the largest epoch not above the asked one and its end
    /// offset (`None`: Kafka's UNDEFINED), or an error code.
    EpochAnswer { topic_id: TopicId, partition: i32, seq: u64, result: Result<Option<(LeaderEpoch, Offset)>, i16> },
}

/// Records a leader sends a follower, with its high watermark and log start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    pub records: RawBytes,
    pub high_watermark: Offset,
    pub log_start: Offset,
}

/// Bytes serialized as one length-prefixed run (not element by element, as a
/// `Vec<u8>` would be): record batches travel in fetch answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawBytes(pub bytes::Bytes);

impl Serialize for RawBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for RawBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawBytes, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawBytes;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<RawBytes, E> {
                Ok(RawBytes(bytes::Bytes::copy_from_slice(v)))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// What a broker may ask of the controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// Create a topic; the controller places the replicas unless `assignment` gives them.
    CreateTopic {
        name: String,
        topic_id: TopicId,
        partitions: i32,
        replication_factor: i16,
        assignment: Option<Vec<Vec<NodeId>>>,
        configs: BTreeMap<String, String>,
    },
    DeleteTopic {
        name: String,
        topic_id: TopicId,
    },
    /// Grant the asking broker a block of `size` producer ids.
    AllocateProducerIds {
        size: i64,
    },
    /// A broker the metadata names leader of a partition at `leader_epoch`, but which
    /// may not lead at that epoch (it restarted since, and may have lost records it
    /// wrote in it), asks to be elected again: a new epoch. Ignored if the partition
    /// moved on.
    Reelect {
        topic: String,
        partition: i32,
        leader_epoch: LeaderEpoch,
    },
    /// A replica whose log lost records it once held (its partition directory came
    /// back empty or marked incomplete) asks to leave the partition's ISR, handing
    /// leadership to another live ISR member first if it leads. It rejoins the usual
    /// way, once it has caught up with the leader.
    LeaveIsr {
        topic: String,
        partition: i32,
    },
    /// A partition leader asks to change the ISR (Kafka's AlterPartition), valid only
    /// while the partition epoch is still `expected_partition_epoch`.
    ChangeIsr {
        topic: String,
        partition: i32,
        isr: Vec<NodeId>,
        expected_partition_epoch: PartitionEpoch,
    },
}

impl PeerMessage {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard into a Vec cannot fail")
    }

    /// `None` for malformed bytes (including trailing garbage).
    pub fn from_bytes(bytes: &[u8]) -> Option<PeerMessage> {
        match postcard::take_from_bytes(bytes) {
            Ok((m, [])) => Some(m),
            _ => None,
        }
    }
}

/// The context of a forwarded proposal: who asked, and which of its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalContext {
    pub origin: NodeId,
    pub token: u64,
}

impl ProposalContext {
    pub fn to_bytes(self) -> Vec<u8> {
        postcard::to_allocvec(&self).expect("postcard into a Vec cannot fail")
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<ProposalContext> {
        match postcard::take_from_bytes(bytes) {
            Ok((c, [])) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages survive their wire form; garbage and truncations never decode.
    #[test]
    fn peer_messages_round_trip_and_refuse_garbage() {
        let m = PeerMessage::Forward {
            origin: NodeId(2),
            token: 7,
            request: ControllerRequest::CreateTopic {
                name: "t".into(),
                topic_id: TopicId([3; 16]),
                partitions: 3,
                replication_factor: 3,
                assignment: None,
                configs: BTreeMap::from([("retention.ms".into(), "1000".into())]),
            },
        };
        let b = m.to_bytes();
        assert_eq!(PeerMessage::from_bytes(&b), Some(m));
        for cut in 0..b.len() {
            assert_eq!(PeerMessage::from_bytes(&b[..cut]), None, "truncated at {cut}");
        }
        assert_eq!(PeerMessage::from_bytes(&[0xff; 64]), None);
        // A declared length far beyond the bytes present fails without allocating it.
        assert_eq!(PeerMessage::from_bytes(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f]), None);
    }

    /// Fetch answers carry their records as one run of bytes and survive the wire;
    /// a record length beyond the message is refused.
    #[test]
    fn replica_fetch_answers_round_trip() {
        let records = bytes::Bytes::from(vec![7u8; 3000]);
        let m = PeerMessage::ReplicaFetched {
            topic_id: TopicId([1; 16]),
            partition: 2,
            seq: 9,
            result: Ok(Fetched { records: RawBytes(records), high_watermark: Offset(5), log_start: Offset(0) }),
        };
        let b = m.to_bytes();
        assert!(b.len() < 3000 + 64, "records are not expanded: {} bytes", b.len());
        assert_eq!(PeerMessage::from_bytes(&b), Some(m));
        assert_eq!(PeerMessage::from_bytes(&b[..b.len() - 1]), None);
    }
}
