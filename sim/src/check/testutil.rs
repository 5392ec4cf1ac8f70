//! Hand-built ledgers for the checkers' unit tests.

use crate::ledger::{Ledger, Outcome};

/// A consistent history: two partitions, values a0..a2 (acks=all) on partition
/// 0, b0..b1 (acks=1) on partition 1, one unknown and one failed value; one
/// consumer that read everything in order; a read-back that has it all.
pub fn clean_ledger() -> Ledger {
    let mut l = Ledger::default();
    for i in 0..3 {
        l.record_outcome(&format!("a{i}"), Outcome::Acked { partition: 0, offset: i, acks: -1 });
    }
    for i in 0..2 {
        l.record_outcome(&format!("b{i}"), Outcome::Acked { partition: 1, offset: i, acks: 1 });
    }
    l.record_outcome("u", Outcome::Unknown { partition: 1 });
    l.record_outcome("f", Outcome::Failed { partition: 0, error_code: 56 });
    l.record_fetch(0, 0, 0, &[]);
    l.record_fetch(0, 0, 2, &[(0, "a0".into()), (1, "a1".into())]);
    l.record_fetch(0, 1, 3, &[(0, "b0".into()), (1, "b1".into()), (2, "u".into())]);
    l.record_fetch(0, 0, 3, &[(2, "a2".into())]);
    l.set_final_readback(Ok([
        (0, vec![(0, "a0".into()), (1, "a1".into()), (2, "a2".into())]),
        (1, vec![(0, "b0".into()), (1, "b1".into()), (2, "u".into())]),
    ]
    .into_iter()
    .collect()));
    l
}

/// A commit by `slot` of `offset` on `g`/t/`partition`, answered at `at` ns.
pub fn commit(slot: usize, partition: i32, offset: i64, reset: bool, at: u64) -> crate::group_ledger::CommitRecord {
    crate::group_ledger::CommitRecord {
        group: "g".into(),
        slot,
        member_id: format!("m{slot}"),
        generation: 1,
        topic: "t".into(),
        partition,
        offset,
        reset,
        sent_ns: at.saturating_sub(5),
        answered_ns: at,
    }
}

/// An OffsetFetch by `slot` on `g`/t/`partition` sent at `at` ns that returned `offset`.
pub fn read(slot: usize, partition: i32, offset: i64, at: u64) -> crate::group_ledger::OffsetReadRecord {
    crate::group_ledger::OffsetReadRecord {
        group: "g".into(),
        slot,
        topic: "t".into(),
        partition,
        offset,
        sent_ns: at,
        answered_ns: at + 5,
    }
}

/// `member` of group `g` assigned `partitions` in `generation`.
pub fn assignment(generation: i32, member: &str, partitions: &[i32]) -> crate::group_ledger::AssignmentRecord {
    crate::group_ledger::AssignmentRecord {
        group: "g".into(),
        generation,
        member_id: member.into(),
        slot: 0,
        partitions: partitions.to_vec(),
        answered_ns: 10,
    }
}

/// The member list of `generation` of group `g`, led by its first member.
pub fn generation(generation: i32, members: &[&str]) -> crate::group_ledger::GenerationRecord {
    crate::group_ledger::GenerationRecord {
        group: "g".into(),
        generation,
        leader: members[0].into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        answered_ns: 5,
    }
}

/// Cluster events for the cluster checkers' unit tests: `(node, incarnation)` then the fields.
pub mod cluster {
    use chronik_core::cluster::events::ClusterEvent;
    use chronik_core::cluster::metadata::PartitionEpoch;
    use chronik_core::cluster::raft::Role;
    use chronik_core::types::{LeaderEpoch, NodeId};

    use crate::cluster::TaggedEvent;

    fn tag(node: usize, incarnation: u32, event: ClusterEvent) -> TaggedEvent {
        TaggedEvent { at_ms: 0, node, incarnation, event }
    }

    pub fn state(node: usize, inc: u32, term: u64, role: Role, leader: Option<i32>) -> TaggedEvent {
        tag(node, inc, ClusterEvent::RaftState { term, role, leader: leader.map(NodeId), commit: 0 })
    }

    pub fn leader(node: usize, inc: u32, term: u64) -> TaggedEvent {
        state(node, inc, term, Role::Leader, Some(node as i32))
    }

    pub fn follower(node: usize, inc: u32, term: u64, leader: Option<i32>) -> TaggedEvent {
        state(node, inc, term, Role::Follower, leader)
    }

    pub fn applied(node: usize, inc: u32, index: u64, term: u64, digest: u64) -> TaggedEvent {
        tag(node, inc, ClusterEvent::Applied { index, term, digest, accepted: true })
    }

    pub fn snapshot(node: usize, inc: u32, index: u64, term: u64) -> TaggedEvent {
        tag(node, inc, ClusterEvent::SnapshotInstalled { index, term })
    }

    /// Partition `t-p` as of `index`, seen by `node` (incarnation 0).
    #[allow(clippy::too_many_arguments)]
    pub fn partition(node: usize, index: u64, p: i32, replicas: &[i32], isr: &[i32], leader: Option<i32>, le: i32, pe: i32) -> TaggedEvent {
        tag(
            node,
            0,
            ClusterEvent::Partition {
                index,
                topic: "t".into(),
                partition: p,
                replicas: replicas.iter().map(|r| NodeId(*r)).collect(),
                isr: isr.iter().map(|r| NodeId(*r)).collect(),
                leader: leader.map(NodeId),
                leader_epoch: LeaderEpoch(le),
                partition_epoch: PartitionEpoch(pe),
            },
        )
    }

    pub fn broker(node: usize, index: u64, id: i32, fenced: bool) -> TaggedEvent {
        tag(node, 0, ClusterEvent::Broker { index, id: NodeId(id), incarnation: Some(1), fenced })
    }
}
