//! What the metadata layer reports as it runs: `Output::Event`s for logs, traces and
//! the simulator's checkers. Every field is a function of the node's Raft log and the
//! seed, never of wall-clock time or memory addresses, so traces stay reproducible.

use crate::types::{LeaderEpoch, NodeId, Offset};

use super::metadata::PartitionEpoch;
use super::raft::Role;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
    /// The node's Raft term, role or known leader changed (also reported once at start).
    RaftState { term: u64, role: Role, leader: Option<NodeId>, commit: u64 },
    /// A committed entry was applied (normal entries with a command, and conf changes).
    /// `digest` is FNV-1a 64 over the entry's data: two nodes that applied different
    /// commands at one index report different digests.
    Applied { index: u64, term: u64, digest: u64, accepted: bool },
    /// The node replaced its state with a snapshot (a follower that fell behind).
    SnapshotInstalled { index: u64, term: u64 },
    /// A partition's assignment, leader or ISR as of the entry at `index`.
    Partition {
        index: u64,
        topic: String,
        partition: i32,
        replicas: Vec<NodeId>,
        isr: Vec<NodeId>,
        leader: Option<NodeId>,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
    },
    /// A broker's registration as of the entry at `index` (`None`: removed).
    Broker { index: u64, id: NodeId, incarnation: Option<u64>, fenced: bool },
    /// The high watermark of a partition this node leads at `leader_epoch` moved, was
    /// set on becoming leader, or stayed while the leader's log end moved. `log_end` is
    /// the leader's log end offset then.
    HighWatermark { topic: String, partition: i32, leader_epoch: LeaderEpoch, high_watermark: Offset, log_end: Offset },
    /// A follower of a partition (led at `leader_epoch`) cut its log at `to` after the
    /// divergence check; `high_watermark` is the committed offset it knew then, which
    /// the cut never goes below.
    Truncated { topic: String, partition: i32, leader_epoch: LeaderEpoch, to: Offset, high_watermark: Offset },
}

/// FNV-1a, 64 bits: a stable digest (unlike `DefaultHasher`).
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
