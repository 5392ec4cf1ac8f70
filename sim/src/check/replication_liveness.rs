//! Proves DESIGN §5 item 9 for the data topic: after the faults stop and the
//! network heals, within the liveness window every partition of the topic has
//! a leader that is running, its ISR has regrown to all of its replicas, the
//! leader's high watermark has reached its log end (so every replica holds the
//! whole log), and the final read-back (every partition from 0 to its leader's high
//! watermark) succeeds. The runner polls [`settled`] through the window; the
//! read-back follows, and [`check`] judges both at the end.

use std::collections::BTreeMap;

use chronik_core::cluster::events::ClusterEvent;

use crate::cluster::{partition_states, PartitionState, TaggedEvent};
use crate::ledger::ReadBack;

pub const NAME: &str = "replication_liveness";

/// What still keeps the topic's partitions from being settled (empty: settled).
/// `running[n]`: node `n` is up.
/// `events`' latest `HighWatermark` report of each partition's leader at its current
/// epoch as (high watermark, log end), by (topic, partition).
fn leader_high_watermarks(events: &[TaggedEvent], states: &BTreeMap<(String, i32), PartitionState>) -> BTreeMap<(String, i32), (i64, i64)> {
    let mut out = BTreeMap::new();
    for e in events {
        let ClusterEvent::HighWatermark { topic, partition, leader_epoch, high_watermark, log_end } = &e.event else { continue };
        let key = (topic.clone(), *partition);
        if states.get(&key).is_some_and(|s| s.leader == Some(e.node) && s.leader_epoch == leader_epoch.0) {
            out.insert(key, (high_watermark.0, log_end.0));
        }
    }
    out
}

pub fn settled(events: &[TaggedEvent], topic: &str, partitions: i32, running: &[bool]) -> Vec<String> {
    let states = partition_states(events);
    let states = &states;
    let reported = leader_high_watermarks(events, states);
    let mut out = Vec::new();
    for p in 0..partitions {
        let Some(s) = states.get(&(topic.to_string(), p)) else {
            out.push(format!("{topic}-{p}: no node reports it"));
            continue;
        };
        match s.leader {
            None => out.push(format!("{topic}-{p}: no leader (ISR {:?}, epoch {})", s.isr, s.leader_epoch)),
            Some(l) if !running.get(l).copied().unwrap_or(false) => out.push(format!("{topic}-{p}: leader {l} is down")),
            Some(_) => {}
        }
        let (mut isr, mut replicas) = (s.isr.clone(), s.replicas.clone());
        isr.sort();
        replicas.sort();
        if isr != replicas {
            out.push(format!("{topic}-{p}: ISR {isr:?} short of replicas {replicas:?}"));
        }
        // A full ISR alone does not mean every replica holds the log: a member can be
        // in it while the high watermark waits for it (a restarted broker keeps its
        // place). Once the leader's high watermark reaches its log end, it does.
        match reported.get(&(topic.to_string(), p)) {
            Some((hw, end)) if hw == end => {}
            Some((hw, end)) => out.push(format!("{topic}-{p}: leader's high watermark {hw} below its log end {end}")),
            None => out.push(format!("{topic}-{p}: no high watermark from the leader at epoch {}", s.leader_epoch)),
        }
    }
    out
}

/// The verdict at the end: the last [`settled`] result, and the read-back
/// (`None`: never attempted).
pub fn check(unsettled: &[String], readback: Option<&Result<ReadBack, String>>) -> Vec<String> {
    let mut out: Vec<String> = unsettled.to_vec();
    match readback {
        Some(Ok(_)) => {}
        Some(Err(e)) => out.push(format!("final read-back failed: {e}")),
        None => out.push("no final read-back".into()),
    }
    out
}

#[cfg(test)]
mod tests {
    use chronik_core::cluster::metadata::PartitionEpoch;
    use chronik_core::types::{LeaderEpoch, NodeId, Offset};

    use super::*;

    fn tagged(node: usize, event: ClusterEvent) -> TaggedEvent {
        TaggedEvent { at_ms: 0, node, incarnation: 0, event }
    }

    /// Partition t-0 on replicas 0..3 as the metadata has it, plus the leader's high
    /// watermark report (at the current epoch 3) if `hw` is given.
    fn events(leader: Option<usize>, isr: Vec<usize>, hw: Option<(i64, i64)>) -> Vec<TaggedEvent> {
        let ids = |v: Vec<usize>| v.into_iter().map(|n| NodeId(n as i32)).collect();
        let mut out = vec![tagged(
            0,
            ClusterEvent::Partition {
                index: 9,
                topic: "t".into(),
                partition: 0,
                replicas: ids(vec![0, 1, 2]),
                isr: ids(isr),
                leader: leader.map(|l| NodeId(l as i32)),
                leader_epoch: LeaderEpoch(3),
                partition_epoch: PartitionEpoch(4),
            },
        )];
        if let (Some(l), Some((hw, end))) = (leader, hw) {
            let report = |epoch| ClusterEvent::HighWatermark {
                topic: "t".into(),
                partition: 0,
                leader_epoch: LeaderEpoch(epoch),
                high_watermark: Offset(hw),
                log_end: Offset(end),
            };
            out.push(tagged(l, report(3)));
            // An older epoch's report, from another node, does not count.
            out.push(tagged((l + 1) % 3, report(2)));
        }
        out
    }

    // Proves: a led partition with its whole ISR (in any order) and the leader's high
    // watermark at its log end is settled.
    #[test]
    fn settled_with_leader_full_isr_and_high_watermark_at_the_end() {
        assert!(settled(&events(Some(1), vec![2, 0, 1], Some((7, 7))), "t", 1, &[true; 3]).is_empty());
        assert!(check(&[], Some(&Ok(ReadBack::new()))).is_empty());
    }

    // Proves: no leader, a leader that is down, a short ISR, a high watermark short of
    // the log end or never reported, a missing partition and a failed read-back are each reported.
    #[test]
    fn reports_what_is_missing() {
        let full = Some((7, 7));
        assert!(settled(&events(None, vec![0, 1, 2], full), "t", 1, &[true; 3])[0].contains("no leader"));
        assert!(settled(&events(Some(1), vec![0, 1, 2], full), "t", 1, &[true, false, true])[0].contains("leader 1 is down"));
        assert!(settled(&events(Some(1), vec![1], full), "t", 1, &[true; 3])[0].contains("short of replicas"));
        assert!(settled(&events(Some(1), vec![0, 1, 2], Some((5, 7))), "t", 1, &[true; 3])[0].contains("below its log end"));
        assert!(settled(&events(Some(1), vec![0, 1, 2], None), "t", 1, &[true; 3])[0].contains("no high watermark"));
        assert!(settled(&events(Some(1), vec![0, 1, 2], full), "t", 2, &[true; 3])[0].contains("t-1: no node"));
        assert_eq!(check(&[], Some(&Err("timeout".into()))).len(), 1);
        assert_eq!(check(&["x".into()], None).len(), 2);
    }
}
