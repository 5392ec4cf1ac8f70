//! Proves the metadata part of DESIGN §5 item 9: once the faults stop, the
//! network heals and every node is restarted, within a bounded simulated time
//! (`runner::cluster::LIVENESS_MS`) the cluster settles:
//!
//! - every live node has reported its Raft state since its last start;
//! - exactly one live node is Raft leader, and every live node's latest state
//!   names it, in the same term;
//! - every live broker is registered and unfenced (latest `Broker` event);
//! - every partition with an ISR member on a live node has a leader (latest
//!   `Partition` event by Raft index, from any node: the history is one, as
//!   `raft_safety` checks).
//!
//! [`check`] judges one moment; the runner calls it until it passes or the
//! window ends, and reports what it said last.

use std::collections::BTreeMap;

use chronik_core::cluster::events::ClusterEvent;
use chronik_core::cluster::raft::Role;
use chronik_core::types::NodeId;

use crate::cluster::TaggedEvent;

pub const NAME: &str = "cluster_liveness";

/// A partition's latest (index, ISR, leader).
type LatestPartition = (u64, Vec<NodeId>, Option<NodeId>);

/// The latest `RaftState` of each node's latest incarnation: node -> (incarnation, term, role, leader).
pub fn latest_raft_states(events: &[TaggedEvent]) -> BTreeMap<usize, (u32, u64, Role, Option<NodeId>)> {
    let mut latest = BTreeMap::new();
    for e in events {
        if let ClusterEvent::RaftState { term, role, leader, .. } = &e.event {
            latest.insert(e.node, (e.incarnation, *term, *role, *leader));
        }
    }
    latest
}

/// `live[n]`: node `n` is up, in that incarnation (`None`: down). Empty
/// result: the cluster is settled.
pub fn check(events: &[TaggedEvent], running: &[Option<u32>]) -> Vec<String> {
    let mut out = Vec::new();
    let states = latest_raft_states(events);
    // A state from an earlier run of the node says nothing about now.
    let runs: BTreeMap<usize, u32> = running.iter().enumerate().filter_map(|(n, inc)| inc.map(|i| (n, i))).collect();
    let live: Vec<bool> = running.iter().map(Option::is_some).collect();
    let live_nodes: Vec<usize> = (0..live.len()).filter(|n| live[*n]).collect();
    let mut leaders = Vec::new();
    for n in &live_nodes {
        match states.get(n) {
            Some((inc, term, role, _)) if Some(inc) == runs.get(n) => {
                if *role == Role::Leader {
                    leaders.push((*n, *term));
                }
            }
            _ => out.push(format!("node {n} reported no Raft state since its last start")),
        }
    }
    match leaders.as_slice() {
        [] => out.push(format!("no Raft leader among live nodes {live_nodes:?}")),
        [(l, term)] => {
            for n in &live_nodes {
                if let Some((_, t, _, leader)) = states.get(n) {
                    if *leader != Some(NodeId(*l as i32)) || t != term {
                        out.push(format!("node {n} is at term {t} with leader {leader:?}, not leader {l} of term {term}"));
                    }
                }
            }
        }
        many => out.push(format!("{} Raft leaders among live nodes: {many:?} (node, term)", many.len())),
    }
    let is_live = |id: &NodeId| usize::try_from(id.0).ok().is_some_and(|n| live.get(n).copied().unwrap_or(false));
    // Latest broker registration by index, over all nodes.
    let mut brokers: BTreeMap<i32, (u64, Option<u64>, bool)> = BTreeMap::new();
    // Latest partition state by index, over all nodes.
    let mut partitions: BTreeMap<(String, i32), LatestPartition> = BTreeMap::new();
    for e in events {
        match &e.event {
            ClusterEvent::Broker { index, id, incarnation, fenced } => {
                let b = brokers.entry(id.0).or_insert((*index, *incarnation, *fenced));
                if *index >= b.0 {
                    *b = (*index, *incarnation, *fenced);
                }
            }
            ClusterEvent::Partition { index, topic, partition, isr, leader, .. } => {
                let p = partitions.entry((topic.clone(), *partition)).or_insert((*index, isr.clone(), *leader));
                if *index >= p.0 {
                    *p = (*index, isr.clone(), *leader);
                }
            }
            _ => {}
        }
    }
    for n in &live_nodes {
        match brokers.get(&(*n as i32)) {
            Some((_, Some(_), false)) => {}
            Some((index, None, _)) => out.push(format!("broker {n} is live but unregistered (index {index})")),
            Some((index, Some(_), true)) => out.push(format!("broker {n} is live but fenced (index {index})")),
            None => out.push(format!("broker {n} is live but was never registered")),
        }
    }
    for ((topic, partition), (index, isr, leader)) in &partitions {
        if leader.is_none() && isr.iter().any(is_live) {
            out.push(format!("{topic}-{partition} has no leader although ISR {isr:?} has a live member (index {index})"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::cluster::*;
    use super::*;

    /// Settled: node 1 leads term 3, all know it, every broker unfenced, t-0 led.
    fn settled() -> Vec<TaggedEvent> {
        vec![
            leader(0, 0, 2),
            follower(1, 0, 2, Some(0)),
            broker(0, 2, 0, false),
            broker(0, 3, 1, false),
            broker(0, 4, 2, false),
            partition(0, 5, 0, &[0, 1, 2], &[0, 1, 2], Some(0), 0, 0),
            follower(2, 1, 3, None),
            follower(0, 1, 3, Some(1)),
            leader(1, 0, 3),
            follower(2, 1, 3, Some(1)),
            broker(1, 6, 0, true),
            partition(1, 7, 0, &[0, 1, 2], &[1, 2], Some(1), 1, 1),
            broker(1, 8, 0, false),
        ]
    }

    // Proves: one leader known to all in one term, registered brokers and led partitions pass.
    #[test]
    fn passes_when_settled() {
        assert_eq!(check(&settled(), &[Some(1), Some(0), Some(1)]), Vec::<String>::new());
    }

    // Proves: no leader, two leaders, or a node that names another leader or term are reported.
    #[test]
    fn leader_must_be_one_and_known() {
        let mut h = settled();
        h.push(follower(1, 0, 4, None));
        let v = check(&h, &[Some(1), Some(0), Some(1)]);
        assert!(v.iter().any(|m| m.contains("no Raft leader")), "{v:?}");
        let mut h = settled();
        h.push(leader(2, 1, 4));
        let v = check(&h, &[Some(1), Some(0), Some(1)]);
        assert!(v.iter().any(|m| m.contains("2 Raft leaders")), "{v:?}");
        let mut h = settled();
        h.push(follower(0, 1, 3, None));
        let v = check(&h, &[Some(1), Some(0), Some(1)]);
        assert!(v.len() == 1 && v[0].contains("node 0 is at term 3 with leader None"), "{v:?}");
    }

    // Proves: a node whose latest state predates its restart counts as silent.
    #[test]
    fn stale_incarnation_is_silent() {
        let h = settled();
        let v = check(&h, &[Some(1), Some(0), Some(2)]);
        assert!(v.len() == 1 && v[0].contains("node 2 reported no Raft state since its last start"), "{v:?}");
    }

    // Proves: a partition without a leader while an ISR member is live, or a fenced live broker, is reported; a dead ISR excuses it.
    #[test]
    fn partitions_need_leaders() {
        let mut h = settled();
        h.push(partition(1, 10, 0, &[0, 1, 2], &[2], None, 2, 2));
        let v = check(&h, &[Some(1), Some(0), Some(1)]);
        assert!(v.len() == 1 && v[0].contains("t-0 has no leader"), "{v:?}");
        let v = check(&h, &[Some(1), Some(0), None]);
        assert!(v.iter().all(|m| !m.contains("t-0")), "{v:?}");
        let mut h = settled();
        h.push(broker(1, 10, 2, true));
        let v = check(&h, &[Some(1), Some(0), Some(1)]);
        assert!(v.len() == 1 && v[0].contains("broker 2 is live but fenced"), "{v:?}");
    }
}
