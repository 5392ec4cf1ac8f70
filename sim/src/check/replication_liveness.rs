//! Proves DESIGN §5 item 9 for the data topic: after the faults stop and the
//! network heals, within the liveness window every partition of the topic has
//! a leader that is running, its ISR has regrown to all of its replicas, and
//! the final read-back (every partition from 0 to its leader's high
//! watermark) succeeds. The runner polls [`settled`] through the window; the
//! read-back follows, and [`check`] judges both at the end.

use std::collections::BTreeMap;

use crate::cluster::PartitionState;
use crate::ledger::ReadBack;

pub const NAME: &str = "replication_liveness";

/// What still keeps the topic's partitions from being settled (empty: settled).
/// `running[n]`: node `n` is up.
pub fn settled(states: &BTreeMap<(String, i32), PartitionState>, topic: &str, partitions: i32, running: &[bool]) -> Vec<String> {
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
    use super::*;

    fn state(leader: Option<usize>, isr: Vec<usize>) -> BTreeMap<(String, i32), PartitionState> {
        BTreeMap::from([(("t".to_string(), 0), PartitionState { index: 9, replicas: vec![0, 1, 2], isr, leader, leader_epoch: 3 })])
    }

    // Proves: a led partition with its whole ISR (in any order) is settled.
    #[test]
    fn settled_with_leader_and_full_isr() {
        assert!(settled(&state(Some(1), vec![2, 0, 1]), "t", 1, &[true; 3]).is_empty());
        assert!(check(&[], Some(&Ok(ReadBack::new()))).is_empty());
    }

    // Proves: no leader, a leader that is down, a short ISR, a missing partition and a failed read-back are each reported.
    #[test]
    fn reports_what_is_missing() {
        assert!(settled(&state(None, vec![0, 1, 2]), "t", 1, &[true; 3])[0].contains("no leader"));
        assert!(settled(&state(Some(1), vec![0, 1, 2]), "t", 1, &[true, false, true])[0].contains("leader 1 is down"));
        assert!(settled(&state(Some(1), vec![1]), "t", 1, &[true; 3])[0].contains("short of replicas"));
        assert!(settled(&state(Some(1), vec![0, 1, 2]), "t", 2, &[true; 3])[0].contains("t-1: no node"));
        assert_eq!(check(&[], Some(&Err("timeout".into()))).len(), 1);
        assert_eq!(check(&["x".into()], None).len(), 2);
    }
}
