//! Cluster fault schedules: a list of timed [`ClusterFault`]s drawn from the
//! seed and the scenario's `[cluster]` weights, printed when a seed fails.
//!
//! Faults that name "the leader" are resolved when they happen, from the
//! latest `RaftState` events ([`crate::cluster::current_leader`]); the drawn
//! `fallback` node is hit when no leader is known.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use serde::{Deserialize, Serialize};

use crate::scenario::ClusterSpec;

/// Serialized (seed files' `schedule`) with its variant name as `kind`:
/// `{ kind = "Crash", node = 1, restart_after_ms = 800 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum ClusterFault {
    /// Power loss of a node (unsynced writes lost, the Raft log's tail too); it
    /// restarts after the given time.
    Crash { node: usize, restart_after_ms: u64 },
    /// Power loss of the current Raft leader (the controller).
    CrashLeader { fallback: usize, restart_after_ms: u64 },
    /// The current Raft leader can neither send nor receive peer messages.
    IsolateLeader { fallback: usize, duration_ms: u64 },
    /// Symmetric partition into `groups` (minority against majority, or no
    /// group with a majority).
    Partition { groups: Vec<Vec<usize>>, duration_ms: u64 },
    /// Messages from `from` to `to` are dropped; the other way works.
    OneWay { from: Vec<usize>, to: Vec<usize>, duration_ms: u64 },
    /// For a while the links lose, duplicate and hold back messages (per mille).
    Lossy { loss_per_mille: u32, duplicate_per_mille: u32, reorder_per_mille: u32, duration_ms: u64 },
    /// Power loss of the data partition's current leader.
    CrashPartitionLeader { fallback: usize, restart_after_ms: u64 },
    /// Power loss of one follower of the data partition (the `pick`-th, modulo
    /// their number): it loses its unsynced suffix.
    CrashPartitionFollower { pick: usize, restart_after_ms: u64 },
    /// The data partition's leader can neither send nor receive peer messages
    /// (clients still reach it). `zombie`: the producers and consumers are
    /// pointed at it for the duration (they take its stale Metadata), so it
    /// keeps taking writes at its old epoch after the controller replaced it.
    IsolatePartitionLeader { fallback: usize, duration_ms: u64, zombie: bool },
    /// The data partition's leader cannot send to (`outbound`) or cannot hear
    /// from every other node.
    OneWayPartitionLeader { fallback: usize, outbound: bool, duration_ms: u64 },
    /// A quick run of leader changes: each step waits `gap_ms`, then crashes
    /// (or, if not `crash`, isolates) the partition's current leader for `down_ms`.
    LeaderChurn { fallback: usize, steps: Vec<ChurnStep> },
    /// Kill one follower of the data partition (the `pick`-th), delete the data
    /// topic's partition directories from its disk (its Raft state stays: a
    /// voter that forgets its vote breaks Raft by design) and restart it.
    WipeReplica { pick: usize, restart_after_ms: u64 },
    /// Crash both followers of the data partition (down for
    /// `followers_down_ms`) so the ISR shrinks to the leader, then after
    /// `leader_after_ms` crash the leader (down for `leader_down_ms`).
    IsrShrinkCrash { fallback: usize, followers_down_ms: u64, leader_after_ms: u64, leader_down_ms: u64 },
    /// Power loss of every node at once; all restart after the given time.
    CrashAll { restart_after_ms: u64 },
    /// A follower left at an old leader epoch while its leader leads again at a
    /// new one. Of the data partition's leader L and followers F, G (replica
    /// order): G loses power (fenced, out of the ISR); F is cut off from every node
    /// but L (fenced, but kept in the ISR at min.insync.replicas, its metadata
    /// stuck at the old epoch while it goes on fetching from L); L loses power for
    /// `leader_down_ms` (its unsynced tail, which F may hold, is gone) and, the
    /// only live ISR member, leads again at a new epoch for `lead_ms`; then F's
    /// messages get through again (unfenced, still deaf) and L loses power for
    /// `second_down_ms` (past the session timeout): F is elected, and hears of it
    /// only when its cut heals. F's old-epoch fetches must never have counted
    /// towards the high watermark of L's new epoch.
    StaleFollowerReelect { fallback: usize, leader_down_ms: u64, lead_ms: u64, second_down_ms: u64 },
}

impl ClusterFault {
    /// The node a fault aimed at a leader falls back to when no leader is known;
    /// `None` for faults that name no fallback. One list, so that checking a
    /// schedule against a cluster size and refitting it to one cannot drift apart.
    pub fn fallback_mut(&mut self) -> Option<&mut usize> {
        match self {
            ClusterFault::CrashLeader { fallback, .. }
            | ClusterFault::IsolateLeader { fallback, .. }
            | ClusterFault::CrashPartitionLeader { fallback, .. }
            | ClusterFault::IsolatePartitionLeader { fallback, .. }
            | ClusterFault::OneWayPartitionLeader { fallback, .. }
            | ClusterFault::LeaderChurn { fallback, .. }
            | ClusterFault::IsrShrinkCrash { fallback, .. }
            | ClusterFault::StaleFollowerReelect { fallback, .. } => Some(fallback),
            _ => None,
        }
    }
}

/// One step of [`ClusterFault::LeaderChurn`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChurnStep {
    pub gap_ms: u64,
    pub crash: bool,
    pub down_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSchedule {
    /// (simulated ms from the start, fault), sorted by time.
    pub events: Vec<(u64, ClusterFault)>,
}

/// One event of a schedule as a seed file writes it:
/// `{ at_ms = 3730, fault = { kind = "Crash", node = 1, restart_after_ms = 800 } }`.
pub type ScheduledFault = crate::faults::TimedFault<ClusterFault>;

impl ClusterSchedule {
    /// The events as seed files write them.
    pub fn to_entries(&self) -> Vec<ScheduledFault> {
        crate::faults::to_entries(&self.events)
    }

    /// A schedule from seed-file entries, sorted by time (stable: equal times keep their order).
    pub fn from_entries(entries: &[ScheduledFault]) -> ClusterSchedule {
        ClusterSchedule { events: crate::faults::from_entries(entries) }
    }

    /// Whether every node the events name is below `nodes` and every cut has two sides.
    pub fn fits(&self, nodes: usize) -> Result<(), String> {
        for (at, f) in &self.events {
            let bad = |what: &str| Err(format!("t={at}ms {f:?}: {what} (cluster of {nodes} nodes)"));
            match f {
                ClusterFault::Crash { node, .. } if *node >= nodes => return bad("no such node"),
                _ if f.clone().fallback_mut().is_some_and(|fallback| *fallback >= nodes) => return bad("no such fallback node"),
                ClusterFault::Partition { groups, .. } if groups.iter().flatten().any(|n| *n >= nodes) => return bad("no such node"),
                ClusterFault::OneWay { from, to, .. } if from.iter().chain(to).any(|n| *n >= nodes) => return bad("no such node"),
                ClusterFault::OneWay { from, to, .. } if from.is_empty() || to.is_empty() => return bad("a one-way cut needs both sides"),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The kinds in a fixed order (the order of draws; changing it changes every
/// schedule): [`ClusterSpec::weights`]. Kinds added later come last, so the
/// schedules of scenarios that do not use them stay as they were.
const KINDS: usize = 18;

impl ClusterSchedule {
    /// Draw `spec.events` faults over `duration_ms` from `seed`, each kind by weight.
    /// Crashes restart after 0.2-4 s; cuts and lossy windows last 0.5-5 s.
    pub fn generate(seed: u64, spec: &ClusterSpec, duration_ms: u64) -> ClusterSchedule {
        let n = spec.nodes;
        let weights: [u64; KINDS] = spec.weights().map(u64::from);
        let total: u64 = weights.iter().sum();
        if total == 0 || n == 0 || duration_ms == 0 {
            return ClusterSchedule::default();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x636c_7573_7465_7221);
        let mut events = Vec::with_capacity(spec.events);
        for _ in 0..spec.events {
            let at = rng.gen_range(0..duration_ms);
            let node = rng.gen_range(0..n);
            let mut pick = rng.gen_range(0..total);
            let mut kind = 0;
            while pick >= weights[kind] {
                pick -= weights[kind];
                kind += 1;
            }
            let cut_ms = rng.gen_range(500..=5_000);
            let fault = match kind {
                0 => ClusterFault::Crash { node, restart_after_ms: rng.gen_range(200..=4_000) },
                1 => ClusterFault::CrashLeader { fallback: node, restart_after_ms: rng.gen_range(200..=4_000) },
                2 => ClusterFault::IsolateLeader { fallback: node, duration_ms: cut_ms },
                3 => ClusterFault::Partition { groups: minority_split(&mut rng, n), duration_ms: cut_ms },
                4 => ClusterFault::Partition { groups: no_quorum_split(&mut rng, n), duration_ms: cut_ms },
                5 => one_way(&mut rng, n, node, cut_ms),
                6 => ClusterFault::Lossy {
                    loss_per_mille: rng.gen_range(50..=400),
                    duplicate_per_mille: rng.gen_range(0..=200),
                    reorder_per_mille: rng.gen_range(0..=300),
                    duration_ms: cut_ms,
                },
                kind => partition_fault(&mut rng, kind, node),
            };
            events.push((at, fault));
        }
        events.sort_by_key(|(at, _)| *at);
        ClusterSchedule { events }
    }
}

/// How long [`ClusterSpec::crash_partition_leader_long`] keeps the leader down:
/// past the broker session timeout (6 s) plus the slack `check::leader_failover`
/// gives the controller.
pub const LONG_CRASH_MS: std::ops::RangeInclusive<u64> = 15_000..=25_000;

/// A fault aimed at the data partition (kinds 7.. of [`ClusterSpec::weights`]).
/// Cuts of the leader last 1-9 s (a zombie 3-10 s: mostly past the broker
/// session timeout, so the controller replaces it); crashes restart after
/// 0.2-4 s.
fn partition_fault(rng: &mut ChaCha8Rng, kind: usize, node: usize) -> ClusterFault {
    let restart_after_ms = rng.gen_range(200..=4_000);
    match kind {
        7 => ClusterFault::CrashPartitionLeader { fallback: node, restart_after_ms },
        8 => ClusterFault::CrashPartitionFollower { pick: rng.gen_range(0..2), restart_after_ms },
        9 => ClusterFault::IsolatePartitionLeader { fallback: node, duration_ms: rng.gen_range(1_000..=9_000), zombie: false },
        10 => ClusterFault::IsolatePartitionLeader { fallback: node, duration_ms: rng.gen_range(3_000..=10_000), zombie: true },
        11 => {
            ClusterFault::OneWayPartitionLeader { fallback: node, outbound: rng.gen_bool(0.5), duration_ms: rng.gen_range(1_000..=9_000) }
        }
        12 => {
            let steps = (0..rng.gen_range(2..=5))
                .map(|_| ChurnStep { gap_ms: rng.gen_range(100..=1_500), crash: rng.gen_bool(0.5), down_ms: rng.gen_range(300..=3_000) })
                .collect();
            ClusterFault::LeaderChurn { fallback: node, steps }
        }
        13 => ClusterFault::WipeReplica { pick: rng.gen_range(0..2), restart_after_ms },
        14 => {
            let leader_after_ms = rng.gen_range(4_000..=8_000);
            let leader_down_ms = rng.gen_range(300..=3_000);
            let followers_down_ms = rng.gen_range(leader_after_ms + 200..=leader_after_ms + leader_down_ms + 3_000);
            ClusterFault::IsrShrinkCrash { fallback: node, followers_down_ms, leader_after_ms, leader_down_ms }
        }
        15 => ClusterFault::CrashAll { restart_after_ms: rng.gen_range(300..=3_000) },
        16 => ClusterFault::CrashPartitionLeader { fallback: node, restart_after_ms: rng.gen_range(LONG_CRASH_MS) },
        _ => ClusterFault::StaleFollowerReelect {
            fallback: node,
            leader_down_ms: rng.gen_range(200..=1_500),
            lead_ms: rng.gen_range(2_000..=5_000),
            second_down_ms: rng.gen_range(10_000..=14_000),
        },
    }
}

/// A minority (1 to (n-1)/2 nodes) against the rest.
fn minority_split(rng: &mut ChaCha8Rng, n: usize) -> Vec<Vec<usize>> {
    let mut nodes: Vec<usize> = (0..n).collect();
    nodes.shuffle(rng);
    let k = rng.gen_range(1..=((n - 1) / 2).max(1));
    let (minority, rest) = nodes.split_at(k);
    let (mut a, mut b) = (minority.to_vec(), rest.to_vec());
    a.sort();
    b.sort();
    vec![a, b]
}

/// Groups of at most (n-1)/2 nodes each: no side has a quorum.
fn no_quorum_split(rng: &mut ChaCha8Rng, n: usize) -> Vec<Vec<usize>> {
    let mut nodes: Vec<usize> = (0..n).collect();
    nodes.shuffle(rng);
    let size = ((n - 1) / 2).max(1);
    nodes
        .chunks(size)
        .map(|c| {
            let mut g = c.to_vec();
            g.sort();
            g
        })
        .collect()
}

/// One node's outbound or inbound links, or a single link, cut one way.
fn one_way(rng: &mut ChaCha8Rng, n: usize, node: usize, duration_ms: u64) -> ClusterFault {
    let others: Vec<usize> = (0..n).filter(|o| *o != node).collect();
    match rng.gen_range(0..3) {
        0 => ClusterFault::OneWay { from: vec![node], to: others, duration_ms },
        1 => ClusterFault::OneWay { from: others, to: vec![node], duration_ms },
        _ => ClusterFault::OneWay { from: vec![node], to: vec![*others.choose(rng).expect("n > 1")], duration_ms },
    }
}

impl std::fmt::Display for ClusterSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (at, fault) in &self.events {
            writeln!(f, "  t={at}ms {fault:?}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(nodes: usize) -> ClusterSpec {
        ClusterSpec {
            nodes,
            events: 300,
            crash: 1,
            crash_leader: 1,
            isolate_leader: 1,
            partition_minority: 1,
            partition_no_quorum: 1,
            one_way: 1,
            lossy: 1,
            ..Default::default()
        }
    }

    // Proves: the schedule is a function of the seed.
    #[test]
    fn deterministic_per_seed() {
        assert_eq!(ClusterSchedule::generate(5, &spec(3), 20_000), ClusterSchedule::generate(5, &spec(3), 20_000));
        assert_ne!(ClusterSchedule::generate(5, &spec(3), 20_000), ClusterSchedule::generate(6, &spec(3), 20_000));
    }

    // Proves: minority splits leave a majority side, no-quorum splits leave none, every node is placed once, one-way cuts never cut a node from itself.
    #[test]
    fn splits_have_the_promised_shape() {
        for n in [3, 5] {
            for seed in 0..10 {
                let s = ClusterSchedule::generate(seed, &spec(n), 20_000);
                assert!(s.events.windows(2).all(|w| w[0].0 <= w[1].0));
                for (_, f) in &s.events {
                    match f {
                        ClusterFault::Partition { groups, .. } => {
                            let mut all: Vec<usize> = groups.concat();
                            all.sort();
                            assert_eq!(all, (0..n).collect::<Vec<_>>());
                            let majority = groups.iter().filter(|g| g.len() > n / 2).count();
                            assert!(majority <= 1);
                        }
                        ClusterFault::OneWay { from, to, .. } => assert!(from.iter().all(|f| !to.contains(f))),
                        ClusterFault::Crash { node, restart_after_ms } => assert!(*node < n && (200..=4_000).contains(restart_after_ms)),
                        _ => {}
                    }
                }
                let shapes = |want_majority: bool| {
                    s.events.iter().any(|(_, f)| matches!(f, ClusterFault::Partition { groups, .. } if groups.iter().any(|g| g.len() > n / 2) == want_majority))
                };
                assert!(shapes(true) && shapes(false), "both minority and no-quorum splits drawn");
            }
        }
    }

    // Proves: partition faults are drawn by their weights alone, with the promised shapes.
    #[test]
    fn partition_faults_drawn() {
        let s = ClusterSpec {
            nodes: 5,
            events: 400,
            leader_churn: 1,
            isr_shrink_crash: 1,
            crash_all: 1,
            zombie_leader: 1,
            ..Default::default()
        };
        let sched = ClusterSchedule::generate(3, &s, 20_000);
        let mut kinds = std::collections::BTreeSet::new();
        for (_, f) in &sched.events {
            match f {
                ClusterFault::LeaderChurn { steps, .. } => {
                    assert!((2..=5).contains(&steps.len()));
                    kinds.insert("churn");
                }
                ClusterFault::IsrShrinkCrash { followers_down_ms, leader_after_ms, .. } => {
                    assert!(followers_down_ms > leader_after_ms);
                    kinds.insert("isr");
                }
                ClusterFault::CrashAll { .. } => {
                    kinds.insert("all");
                }
                ClusterFault::IsolatePartitionLeader { zombie: true, .. } => {
                    kinds.insert("zombie");
                }
                other => panic!("not weighted: {other:?}"),
            }
        }
        assert_eq!(kinds.len(), 4);
    }

    // Proves: no weights, no faults.
    #[test]
    fn empty_without_weights() {
        let s = ClusterSpec { nodes: 3, events: 10, ..Default::default() };
        assert!(ClusterSchedule::generate(1, &s, 10_000).events.is_empty());
    }
}
