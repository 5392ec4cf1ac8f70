//! Proves DESIGN §5 items 1 and 2 for the metadata the controller commits,
//! from every node's `Partition` events:
//!
//! - leader ∈ ISR ⊆ replicas, and the ISR is never empty (Kafka keeps the last
//!   member of the ISR even when it is fenced; the leader is then none);
//! - at most one leader per (topic, partition, leader epoch), over all nodes and
//!   all time;
//! - as each node applies the metadata log (each run of a node, in the order it
//!   reports), a partition's leader epoch and partition epoch never decrease;
//! - one partition epoch is one state: every node that reports a partition at
//!   a partition epoch reports the same replicas, ISR, leader and leader epoch
//!   (the epoch is bumped by every change, so two states at one epoch mean two
//!   histories).
//!
//! - one entry is one state: every node that reports a partition as of the
//!   entry at an index reports the same state. (Until 49cb2fb the core read the
//!   state after a whole batch of applied entries and labelled it with each
//!   entry's index; this check found that on every restart. The core now reports
//!   each entry's own effect.)
//!
//! A deleted and re-created topic would start its epochs again; the cluster
//! workloads never delete topics.

use std::collections::{BTreeMap, BTreeSet};

use chronik_core::cluster::events::ClusterEvent;
use chronik_core::types::NodeId;

use crate::cluster::TaggedEvent;

pub const NAME: &str = "partition_leaders";

/// One `Partition` event's content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    replicas: Vec<NodeId>,
    isr: Vec<NodeId>,
    leader: Option<NodeId>,
    leader_epoch: i32,
    partition_epoch: i32,
}

pub fn check(events: &[TaggedEvent]) -> Vec<String> {
    let mut out = Vec::new();
    // (topic, partition, leader epoch) -> (leader, who reported it first).
    let mut epoch_leaders: BTreeMap<(String, i32, i32), (NodeId, usize, u64)> = BTreeMap::new();
    // (topic, partition, partition epoch) -> (state, who reported it first).
    let mut by_epoch: BTreeMap<(String, i32, i32), (State, String)> = BTreeMap::new();
    // (node, incarnation, topic, partition) -> the last state reported by that run.
    let mut runs: BTreeMap<(usize, u32, String, i32), State> = BTreeMap::new();
    // (topic, partition, index) -> (state, who reported it first).
    let mut by_index: BTreeMap<(String, i32, u64), (State, String)> = BTreeMap::new();
    let mut reported = BTreeSet::new();
    for e in events {
        let ClusterEvent::Partition { index, topic, partition, replicas, isr, leader, leader_epoch, partition_epoch } = &e.event else {
            continue;
        };
        let at = format!("{topic}-{partition} at index {index} (node {}, {} ms)", e.node, e.at_ms);
        if isr.is_empty() {
            out.push(format!("{at}: empty ISR"));
        }
        if let Some(x) = isr.iter().find(|r| !replicas.contains(r)) {
            out.push(format!("{at}: ISR member {} is not a replica (replicas {replicas:?}, ISR {isr:?})", x.0));
        }
        if let Some(l) = leader {
            if !isr.contains(l) {
                out.push(format!("{at}: leader {} is not in the ISR {isr:?}", l.0));
            }
            let key = (topic.clone(), *partition, leader_epoch.0);
            match epoch_leaders.get(&key) {
                None => {
                    epoch_leaders.insert(key, (*l, e.node, *index));
                }
                Some((first, node, first_index)) if first != l => {
                    if reported.insert(("epoch", key.clone())) {
                        out.push(format!(
                            "{topic}-{partition} leader epoch {}: leader {} (index {first_index}, node {node}) and leader {} ({at})",
                            leader_epoch.0, first.0, l.0
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        let state = State {
            replicas: replicas.clone(),
            isr: isr.clone(),
            leader: *leader,
            leader_epoch: leader_epoch.0,
            partition_epoch: partition_epoch.0,
        };
        let run = (e.node, e.incarnation, topic.clone(), *partition);
        if let Some(prev) = runs.get(&run) {
            if state.leader_epoch < prev.leader_epoch {
                out.push(format!("{at}: leader epoch went from {} back to {}", prev.leader_epoch, state.leader_epoch));
            }
            if state.partition_epoch < prev.partition_epoch {
                out.push(format!("{at}: partition epoch went from {} back to {}", prev.partition_epoch, state.partition_epoch));
            }
        }
        runs.insert(run, state.clone());
        match by_index.get(&(topic.clone(), *partition, *index)) {
            None => {
                by_index.insert((topic.clone(), *partition, *index), (state.clone(), at.clone()));
            }
            Some((s, first)) if *s != state => {
                if reported.insert(("index", (topic.clone(), *partition, *index as i32))) {
                    out.push(format!("{topic}-{partition} as of index {index}: {s:?} ({first}) and {state:?} ({at})"));
                }
            }
            Some(_) => {}
        }
        match by_epoch.get(&(topic.clone(), *partition, partition_epoch.0)) {
            None => {
                by_epoch.insert((topic.clone(), *partition, partition_epoch.0), (state, at));
            }
            Some((s, first)) if *s != state => {
                if reported.insert(("pe", (topic.clone(), *partition, partition_epoch.0))) {
                    out.push(format!("{topic}-{partition} partition epoch {}: {s:?} ({first}) and {state:?} ({at})", partition_epoch.0));
                }
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::cluster::*;
    use super::*;

    /// t-0 on replicas 0,1,2: leader 0 (epoch 0), the ISR shrinks, node 0 is
    /// fenced and 1 takes over (epoch 1), then everyone is fenced but the last
    /// ISR member stays. Reported by two nodes alike.
    fn good() -> Vec<TaggedEvent> {
        let mut h = vec![
            partition(0, 2, 0, &[0, 1, 2], &[0, 1, 2], Some(0), 0, 0),
            partition(0, 5, 0, &[0, 1, 2], &[0, 1], Some(0), 0, 1),
            partition(0, 7, 0, &[0, 1, 2], &[1], Some(1), 1, 2),
            partition(0, 9, 0, &[0, 1, 2], &[1], None, 2, 3),
        ];
        let replay: Vec<_> = h.iter().map(|e| TaggedEvent { node: 1, ..e.clone() }).collect();
        h.extend(replay);
        h.push(partition(2, 3, 1, &[2], &[2], Some(2), 0, 0));
        h
    }

    // Proves: a good history passes, including a replay of it by another node.
    #[test]
    fn passes_a_good_history() {
        assert_eq!(check(&good()), Vec::<String>::new());
    }

    // Proves: a leader outside the ISR, an ISR outside the replicas and an empty ISR are reported.
    #[test]
    fn leader_isr_replicas() {
        let mut h = good();
        h.push(partition(2, 10, 0, &[0, 1, 2], &[1], Some(2), 3, 4));
        h.push(partition(2, 11, 0, &[0, 1], &[1, 2], Some(1), 4, 5));
        h.push(partition(2, 12, 0, &[0, 1, 2], &[], None, 5, 6));
        let v = check(&h);
        assert_eq!(v.len(), 3, "{v:?}");
        assert!(v[0].contains("leader 2 is not in the ISR"));
        assert!(v[1].contains("ISR member 2 is not a replica"));
        assert!(v[2].contains("empty ISR"));
    }

    // Proves: two states reported as of one index are reported (a batch labelled with each entry's index).
    #[test]
    fn one_index_one_state() {
        let mut h = good();
        h.push(TaggedEvent { node: 1, incarnation: 1, ..partition(0, 2, 0, &[0, 1, 2], &[1], None, 2, 3) });
        let v = check(&h);
        assert!(v.iter().any(|m| m.contains("as of index 2")), "{v:?}");
    }

    // Proves: two leaders in one leader epoch are reported, even at different indexes from different nodes.
    #[test]
    fn two_leaders_one_epoch() {
        let mut h = good();
        h.push(partition(2, 8, 0, &[0, 1, 2], &[1, 2], Some(2), 1, 5));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("leader epoch 1: leader 1") && v[0].contains("leader 2"), "{v:?}");
    }

    // Proves: an epoch that goes back within one run of a node, or two states at one partition epoch, are reported; a restart may start over.
    #[test]
    fn epochs_only_grow() {
        let mut h = good();
        h.push(partition(0, 10, 0, &[0, 1, 2], &[1], Some(1), 1, 2));
        let v = check(&h);
        assert!(v.len() == 2 && v[0].contains("leader epoch went from 2") && v[1].contains("partition epoch went from 3"), "{v:?}");
        let mut h = good();
        h.push(TaggedEvent { incarnation: 1, ..partition(0, 2, 0, &[0, 1, 2], &[0, 1, 2], Some(0), 0, 0) });
        assert_eq!(check(&h), Vec::<String>::new());
        let mut h = good();
        h.push(partition(2, 19, 0, &[0, 1, 2], &[1, 2], None, 2, 3));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("t-0 partition epoch 3"), "{v:?}");
    }
}
