//! Bounded availability during the faults (DESIGN §6: a dead broker is fenced
//! after `broker.session.timeout.ms` and its partitions get new leaders).
//!
//! The liveness phase restarts every node, which hides a leader that died and
//! was never replaced: it comes back and leads again. This checker judges the
//! safety phase instead, and only where the runner *knows* the answer must be
//! yes: node `n` crashed at `t0` (the runner powered it off; not a cut, which a
//! node cannot tell from a slow network) and stayed down past
//! `J = s + session + slack`, where `s` is the crash or, if other faults came
//! soon after it, the first moment after them that begins a quiet stretch:
//! during `[s - QUIET_BEFORE_MS, J]` every other
//! node was up (so a Raft quorum runs, and no other broker was freshly
//! restarted or fenced) and no cut or lossy window was in force (the base
//! loss, duplication and reordering stay; the slack covers them). Then each
//! partition that `n` led at `t0`, with another ISR member, must have a
//! `Partition` event moving its leadership off `n` within `(t0, J]`.

use std::collections::BTreeMap;

use chronik_core::cluster::events::ClusterEvent;

use crate::cluster::TaggedEvent;

pub const NAME: &str = "leader_failover";

/// Slack on top of the session timeout: a Raft election (the controller may be
/// the node that died; up to two election timeouts of 1-2 s) and the new
/// controller's own session clock, the fencing and election proposals, loss.
pub const SLACK_MS: u64 = 6_000;
/// Other nodes must have been up this long before the crash (a restarted broker
/// re-registers and is unfenced within a few heartbeats).
pub const QUIET_BEFORE_MS: u64 = 5_000;

/// What the runner knows about the faults of a run, in simulated ms since the
/// start (the clock of [`TaggedEvent::at_ms`]).
#[derive(Debug, Clone, Default)]
pub struct FaultTimeline {
    /// (node, crashed at, restarted at; `None`: still down at the end).
    pub down: Vec<(usize, u64, Option<u64>)>,
    /// Windows of network cuts and lossy links: (from, until, and `Some(n)` for
    /// a cut of node `n`'s links only, which cannot matter while `n` is down).
    pub disturbed: Vec<(u64, u64, Option<usize>)>,
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

pub fn check(events: &[TaggedEvent], timeline: &FaultTimeline, session_ms: u64) -> Vec<String> {
    let mut out = Vec::new();
    // Per partition, its Partition events: (at, raft index, leader, isr).
    type Change = (u64, u64, Option<usize>, Vec<usize>);
    let mut changes: BTreeMap<(String, i32), Vec<Change>> = BTreeMap::new();
    for e in events {
        if let ClusterEvent::Partition { index, topic, partition, isr, leader, .. } = &e.event {
            let isr = isr.iter().map(|n| n.0 as usize).collect();
            changes.entry((topic.clone(), *partition)).or_default().push((e.at_ms, *index, leader.map(|l| l.0 as usize), isr));
        }
    }
    for &(n, t0, t1) in &timeline.down {
        let Some(t1) = t1 else { continue };
        // Windows are judged from the crash, or from when the last other fault
        // before the restart ended: whichever first leaves a quiet stretch.
        let mut starts: Vec<u64> = vec![t0];
        let disturbed: Vec<(u64, u64)> = timeline.disturbed.iter().filter(|d| d.2 != Some(n)).map(|d| (d.0, d.1)).collect();
        starts.extend(disturbed.iter().map(|d| d.1 + QUIET_BEFORE_MS + 1));
        starts.extend(timeline.down.iter().filter(|d| d.0 != n).filter_map(|d| d.2).map(|e| e + QUIET_BEFORE_MS + 1));
        starts.retain(|s| *s >= t0 && *s + session_ms + SLACK_MS < t1);
        starts.sort_unstable();
        let quiet = |from: u64| {
            let window = (from.saturating_sub(QUIET_BEFORE_MS), from + session_ms + SLACK_MS);
            !disturbed.iter().any(|d| overlaps(*d, window))
                && !timeline.down.iter().any(|&(m, s, e)| m != n && overlaps((s, e.unwrap_or(u64::MAX)), window))
        };
        let Some(from) = starts.into_iter().find(|s| quiet(*s)) else { continue };
        let judged_at = from + session_ms + SLACK_MS;
        for ((topic, partition), cs) in &changes {
            // The partition's state then: the highest index any node had applied by then.
            let Some((_, _, leader, isr)) = cs.iter().filter(|c| c.0 <= from).max_by_key(|c| c.1) else { continue };
            if *leader != Some(n) || !isr.iter().any(|r| *r != n) {
                continue;
            }
            let moved = cs.iter().any(|c| c.0 > t0 && c.0 <= judged_at && c.2 != Some(n));
            if !moved {
                out.push(format!(
                    "{topic}-{partition}: leader node {n} crashed at {t0} ms and stayed down until {t1} ms; with every other node up (ISR {isr:?}) and the network whole from {from} ms, the leadership had not moved by {judged_at} ms (session timeout {session_ms} ms + {SLACK_MS} ms slack)"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronik_core::cluster::metadata::PartitionEpoch;
    use chronik_core::types::{LeaderEpoch, NodeId};

    fn part(at_ms: u64, index: u64, leader: i32, isr: &[i32]) -> TaggedEvent {
        TaggedEvent {
            at_ms,
            node: 1,
            incarnation: 0,
            event: ClusterEvent::Partition {
                index,
                topic: "t".into(),
                partition: 0,
                replicas: vec![NodeId(0), NodeId(1), NodeId(2)],
                isr: isr.iter().map(|n| NodeId(*n)).collect(),
                leader: Some(NodeId(leader)),
                leader_epoch: LeaderEpoch(index as i32),
                partition_epoch: PartitionEpoch(index as i32),
            },
        }
    }

    /// Proves: a leader down past the bound with nothing else wrong and no new
    /// leader is reported; a move in time, a short crash, another node down or a
    /// cut in the window are not judged.
    #[test]
    fn judges_only_known_dead_leaders() {
        let quiet = FaultTimeline { down: vec![(0, 10_000, Some(30_000))], disturbed: vec![] };
        let later = FaultTimeline { down: vec![(0, 10_000, Some(40_000))], disturbed: vec![(9_000, 11_000, None)] };
        assert_eq!(check(&[part(1_000, 5, 0, &[0, 1, 2])], &later, 6_000).len(), 1, "judged from 16 s");
        let stuck = [part(1_000, 5, 0, &[0, 1, 2])];
        assert_eq!(check(&stuck, &quiet, 6_000).len(), 1);
        let moved = [part(1_000, 5, 0, &[0, 1, 2]), part(17_000, 9, 1, &[1, 2])];
        assert!(check(&moved, &quiet, 6_000).is_empty());
        let short = FaultTimeline { down: vec![(0, 10_000, Some(21_000))], disturbed: vec![] };
        assert!(check(&stuck, &short, 6_000).is_empty());
        let other = FaultTimeline { down: vec![(0, 10_000, Some(30_000)), (2, 12_000, Some(13_000))], disturbed: vec![] };
        assert!(check(&stuck, &other, 6_000).is_empty());
        let cut = FaultTimeline { down: vec![(0, 10_000, Some(30_000))], disturbed: vec![(8_000, 20_000, None)] };
        assert!(check(&stuck, &cut, 6_000).is_empty());
        let cut_dead = FaultTimeline { down: vec![(0, 10_000, Some(30_000))], disturbed: vec![(12_000, 14_000, Some(0))] };
        assert_eq!(check(&stuck, &cut_dead, 6_000).len(), 1, "a cut of the dead node's own links changes nothing");
        let alone = [part(1_000, 5, 0, &[0])];
        assert!(check(&alone, &quiet, 6_000).is_empty());
    }
}
