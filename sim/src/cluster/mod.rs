//! Cluster mode in the simulator: several brokers agreeing on metadata through
//! Raft, over a peer network the simulator owns.
//!
//! - [`net`]: the peer network ([`net::PeerNet`]): latency and jitter, loss,
//!   duplication, reordering, symmetric and one-way cuts, all drawn from the seed.
//! - [`faults`]: cluster fault schedules (partitions, isolate-the-leader, crashes
//!   of any node including the controller, lossy windows).
//! - [`workload`]: clients that create topics (RF 1 and 3) on random brokers
//!   and ask for Metadata.
//! - [`ClusterLog`]: every `Output::Event` of every node, tagged with the node
//!   and its incarnation, for the cluster checkers (`check::raft_safety`,
//!   `check::partition_leaders`, `check::cluster_liveness`).
//!
//! The runner is `runner::cluster`.

pub mod data;
pub mod faults;
pub mod net;
pub mod workload;

use std::sync::{Arc, Mutex};

use chronik_core::cluster::events::ClusterEvent;

/// One `Output::Event` as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedEvent {
    /// Simulated ms since the start of the run.
    pub at_ms: u64,
    /// The node (its index, which is also its `NodeId`).
    pub node: usize,
    /// How many times the node was started before this run of it (0 = first start).
    pub incarnation: u32,
    pub event: ClusterEvent,
}

/// The events of a whole run, shared by every node (cheap to clone).
#[derive(Clone, Default)]
pub struct ClusterLog {
    inner: Arc<Mutex<Vec<TaggedEvent>>>,
}

impl ClusterLog {
    pub fn new() -> ClusterLog {
        ClusterLog::default()
    }

    pub fn push(&self, event: TaggedEvent) {
        self.inner.lock().expect("cluster log lock").push(event);
    }

    /// A copy of everything recorded so far, in the order it happened.
    pub fn snapshot(&self) -> Vec<TaggedEvent> {
        self.inner.lock().expect("cluster log lock").clone()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().expect("cluster log lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a node in cluster mode needs from the runner: its place in the peer
/// network and where to report its events.
#[derive(Clone)]
pub struct ClusterPort {
    pub net: net::PeerNet,
    pub log: ClusterLog,
}

impl std::fmt::Debug for ClusterPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterPort")
    }
}

/// A partition's assignment as the metadata last had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    /// The Raft index it is as of.
    pub index: u64,
    pub replicas: Vec<usize>,
    pub isr: Vec<usize>,
    pub leader: Option<usize>,
    pub leader_epoch: i32,
}

/// The latest state of every partition any node applied (the one at the
/// highest Raft index), by (topic, partition).
pub fn partition_states(events: &[TaggedEvent]) -> std::collections::BTreeMap<(String, i32), PartitionState> {
    let mut out: std::collections::BTreeMap<(String, i32), PartitionState> = std::collections::BTreeMap::new();
    for e in events {
        if let ClusterEvent::Partition { index, topic, partition, replicas, isr, leader, leader_epoch, .. } = &e.event {
            let key = (topic.clone(), *partition);
            if out.get(&key).is_some_and(|s| s.index >= *index) {
                continue;
            }
            let ids = |v: &[chronik_core::types::NodeId]| v.iter().map(|n| n.0 as usize).collect::<Vec<_>>();
            out.insert(
                key,
                PartitionState {
                    index: *index,
                    replicas: ids(replicas),
                    isr: ids(isr),
                    leader: leader.map(|l| l.0 as usize),
                    leader_epoch: leader_epoch.0,
                },
            );
        }
    }
    out
}

/// The current Raft leader as the nodes report it: among each node's latest
/// `RaftState`, the one that says Leader in the highest term.
pub fn current_leader(events: &[TaggedEvent]) -> Option<usize> {
    crate::check::cluster_liveness::latest_raft_states(events)
        .into_iter()
        .filter(|(_, (_, _, role, _))| *role == chronik_core::cluster::raft::Role::Leader)
        .max_by_key(|(node, (_, term, _, _))| (*term, std::cmp::Reverse(*node)))
        .map(|(node, _)| node)
}
