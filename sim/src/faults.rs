//! Fault schedules: a value (a list of timed events) generated from the seed and
//! a scenario's fault mix, printed with the seed when a run fails. A shrunk
//! single-node seed file carries one explicitly (`node_schedule`,
//! `crate::runner::seeds`), as [`TimedFault`]s.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::scenario::{FaultMix, Scenario};

/// Serialized (seed files' `node_schedule`) with its variant name as `kind`:
/// `{ kind = "Crash", node = 0, restart_after_ms = 800 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum Fault {
    /// Power loss of a node; it restarts after the given time.
    Crash {
        node: usize,
        restart_after_ms: u64,
    },
    /// The node's tasks stop running for a while.
    Pause {
        node: usize,
        resume_after_ms: u64,
    },
    /// The node's network drops everything for a while.
    Clog {
        node: usize,
        duration_ms: u64,
    },
    /// One-way partition: for a while the node receives nothing (`inbound`) or
    /// what it sends is held (outbound).
    ClogOneWay {
        node: usize,
        inbound: bool,
        duration_ms: u64,
    },
    /// For a while, a share (per mille) of the node's disk writes fail.
    DiskWriteErrors {
        node: usize,
        per_mille: u32,
        duration_ms: u64,
    },
    DiskSyncErrors {
        node: usize,
        per_mille: u32,
        duration_ms: u64,
    },
    DiskReadErrors {
        node: usize,
        per_mille: u32,
        duration_ms: u64,
    },
    /// The disk is full for a while.
    DiskFull {
        node: usize,
        duration_ms: u64,
    },
    /// A synced sector of a data file is damaged.
    LatentCorruption {
        node: usize,
    },
    /// A group member (client side, by workload slot) loses its connection and
    /// state; it returns as a new member after the given time.
    MemberCrash {
        member: usize,
        restart_after_ms: u64,
    },
    /// A group member stops (no heartbeats) for longer than its session
    /// timeout, then resumes with its old member id and generation.
    MemberPause {
        member: usize,
        resume_after_ms: u64,
    },
}

/// The session timeout group members use; member pauses last longer.
pub const MEMBER_SESSION_TIMEOUT_MS: u64 = 3_000;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultSchedule {
    /// (simulated ms from the start, fault), sorted by time.
    pub events: Vec<(u64, Fault)>,
}

/// One event of a schedule as a seed file writes it, for single-node faults
/// ([`Fault`]) and cluster ones (`crate::cluster::faults::ScheduledFault`):
/// `{ at_ms = 3730, fault = { kind = "Crash", node = 0, restart_after_ms = 800 } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedFault<F> {
    pub at_ms: u64,
    pub fault: F,
}

/// `events` as seed files write them.
pub fn to_entries<F: Clone>(events: &[(u64, F)]) -> Vec<TimedFault<F>> {
    events.iter().map(|(at_ms, fault)| TimedFault { at_ms: *at_ms, fault: fault.clone() }).collect()
}

/// Events from seed-file entries, sorted by time (stable: equal times keep their order).
pub fn from_entries<F: Clone>(entries: &[TimedFault<F>]) -> Vec<(u64, F)> {
    let mut events: Vec<(u64, F)> = entries.iter().map(|e| (e.at_ms, e.fault.clone())).collect();
    events.sort_by_key(|(at, _)| *at);
    events
}

/// The kinds in a fixed order (the order of draws; changing it changes every schedule).
const KINDS: usize = 9;

impl FaultSchedule {
    /// The schedule a single-node run of `s` with `seed` takes: its explicit
    /// one, or node faults and then member faults drawn from the seed.
    pub fn of_run(seed: u64, s: &Scenario) -> FaultSchedule {
        s.schedule.clone().unwrap_or_else(|| {
            let duration_ms = s.duration_s * 1000;
            let mut sched = FaultSchedule::generate(seed, &s.faults, s.nodes, duration_ms);
            sched.add_member_faults(seed, &s.faults, s.workload.group_members, duration_ms);
            sched
        })
    }

    /// The events as seed files write them.
    pub fn to_entries(&self) -> Vec<TimedFault<Fault>> {
        to_entries(&self.events)
    }

    /// A schedule from seed-file entries, sorted by time.
    pub fn from_entries(entries: &[TimedFault<Fault>]) -> FaultSchedule {
        FaultSchedule { events: from_entries(entries) }
    }

    /// Whether every broker node the events name is below `nodes` and every
    /// group member below `members`.
    pub fn fits(&self, nodes: usize, members: usize) -> Result<(), String> {
        for (at, f) in &self.events {
            match f {
                Fault::MemberCrash { member, .. } | Fault::MemberPause { member, .. } if *member >= members => {
                    return Err(format!("t={at}ms {f:?}: no such group member ({members} member(s))"))
                }
                Fault::MemberCrash { .. } | Fault::MemberPause { .. } => {}
                _ if f.node() >= nodes => return Err(format!("t={at}ms {f:?}: no such node ({nodes} node(s))")),
                _ => {}
            }
        }
        Ok(())
    }

    /// Draw `mix.events` faults over `duration_ms` from `seed`, each kind by weight.
    ///
    /// Times are uniform in `[0, duration_ms)` and sorted; nodes uniform in
    /// `0..nodes`. Durations: crash restarts after 0.2-3 s, pause 0.1-2 s, clog
    /// 0.2-3 s, disk error windows 0.2-2 s at 100-1000 per mille, disk full 0.2-2 s.
    /// With every weight 0 (or no nodes) the schedule is empty.
    pub fn generate(seed: u64, mix: &FaultMix, nodes: usize, duration_ms: u64) -> FaultSchedule {
        let weights: [u64; KINDS] = [
            mix.crash,
            mix.pause,
            mix.clog,
            mix.disk_write_errors,
            mix.disk_sync_errors,
            mix.disk_read_errors,
            mix.disk_full,
            mix.latent_corruption,
            mix.clog_one_way,
        ]
        .map(|w| w as u64);
        let total: u64 = weights.iter().sum();
        if total == 0 || nodes == 0 || duration_ms == 0 {
            return FaultSchedule::default();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut events = Vec::with_capacity(mix.events);
        for _ in 0..mix.events {
            let at = rng.gen_range(0..duration_ms);
            let node = rng.gen_range(0..nodes);
            let mut pick = rng.gen_range(0..total);
            let mut kind = 0;
            while pick >= weights[kind] {
                pick -= weights[kind];
                kind += 1;
            }
            let fault = match kind {
                0 => Fault::Crash { node, restart_after_ms: rng.gen_range(200..=3_000) },
                1 => Fault::Pause { node, resume_after_ms: rng.gen_range(100..=2_000) },
                2 => Fault::Clog { node, duration_ms: rng.gen_range(200..=3_000) },
                3 => Fault::DiskWriteErrors { node, per_mille: rng.gen_range(100..=1_000), duration_ms: rng.gen_range(200..=2_000) },
                4 => Fault::DiskSyncErrors { node, per_mille: rng.gen_range(100..=1_000), duration_ms: rng.gen_range(200..=2_000) },
                5 => Fault::DiskReadErrors { node, per_mille: rng.gen_range(100..=1_000), duration_ms: rng.gen_range(200..=2_000) },
                6 => Fault::DiskFull { node, duration_ms: rng.gen_range(200..=2_000) },
                7 => Fault::LatentCorruption { node },
                _ => Fault::ClogOneWay { node, inbound: rng.gen_bool(0.5), duration_ms: rng.gen_range(200..=3_000) },
            };
            events.push((at, fault));
        }
        // Stable sort: equal times keep draw order, so the schedule is a function of the seed.
        events.sort_by_key(|(at, _)| *at);
        FaultSchedule { events }
    }

    /// Add `mix.member_events` group-member faults over `members` workload
    /// slots, drawn from their own stream of `seed` (so node faults do not
    /// change), within the first three quarters of `duration_ms` so that every
    /// member is back well before the faults stop. Crashes restart after
    /// 0.2-3 s; pauses last 0.5-3 s past [`MEMBER_SESSION_TIMEOUT_MS`].
    pub fn add_member_faults(&mut self, seed: u64, mix: &FaultMix, members: usize, duration_ms: u64) {
        let total = mix.member_crash as u64 + mix.member_pause as u64;
        let window = duration_ms * 3 / 4;
        if total == 0 || members == 0 || window == 0 {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d65_6d62_6572_7321);
        for _ in 0..mix.member_events {
            let at = rng.gen_range(0..window);
            let member = rng.gen_range(0..members);
            let fault = if rng.gen_range(0..total) < mix.member_crash as u64 {
                Fault::MemberCrash { member, restart_after_ms: rng.gen_range(200..=3_000) }
            } else {
                Fault::MemberPause { member, resume_after_ms: MEMBER_SESSION_TIMEOUT_MS + rng.gen_range(500..=3_000) }
            };
            self.events.push((at, fault));
        }
        self.events.sort_by_key(|(at, _)| *at);
    }
}

impl Fault {
    /// The fault's one duration (restart or resume delay, clog or error window);
    /// `None` for latent corruption, which has none.
    pub fn duration_mut(&mut self) -> Option<&mut u64> {
        match self {
            Fault::Crash { restart_after_ms: d, .. }
            | Fault::Pause { resume_after_ms: d, .. }
            | Fault::Clog { duration_ms: d, .. }
            | Fault::ClogOneWay { duration_ms: d, .. }
            | Fault::DiskWriteErrors { duration_ms: d, .. }
            | Fault::DiskSyncErrors { duration_ms: d, .. }
            | Fault::DiskReadErrors { duration_ms: d, .. }
            | Fault::DiskFull { duration_ms: d, .. }
            | Fault::MemberCrash { restart_after_ms: d, .. }
            | Fault::MemberPause { resume_after_ms: d, .. } => Some(d),
            Fault::LatentCorruption { .. } => None,
        }
    }

    /// The broker node the fault hits (`usize::MAX` for a group-member fault).
    pub fn node(&self) -> usize {
        match self {
            Fault::MemberCrash { .. } | Fault::MemberPause { .. } => usize::MAX,
            Fault::Crash { node, .. }
            | Fault::Pause { node, .. }
            | Fault::Clog { node, .. }
            | Fault::ClogOneWay { node, .. }
            | Fault::DiskWriteErrors { node, .. }
            | Fault::DiskSyncErrors { node, .. }
            | Fault::DiskReadErrors { node, .. }
            | Fault::DiskFull { node, .. }
            | Fault::LatentCorruption { node } => *node,
        }
    }
}

impl std::fmt::Display for FaultSchedule {
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

    fn mix() -> FaultMix {
        FaultMix { events: 200, crash: 3, pause: 1, clog: 1, disk_write_errors: 1, disk_sync_errors: 1, disk_full: 1, ..Default::default() }
    }

    // Proves: the schedule is a function of the seed (same seed same schedule, other seed other schedule).
    #[test]
    fn deterministic_per_seed() {
        let a = FaultSchedule::generate(7, &mix(), 3, 20_000);
        let b = FaultSchedule::generate(7, &mix(), 3, 20_000);
        let c = FaultSchedule::generate(8, &mix(), 3, 20_000);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), b.to_string());
    }

    // Proves: a weight of 0 never produces that kind; events are sorted, within the duration, on existing nodes, with sane durations.
    #[test]
    fn respects_weights_and_bounds() {
        for seed in 0..20 {
            let s = FaultSchedule::generate(seed, &mix(), 3, 20_000);
            assert_eq!(s.events.len(), 200);
            assert!(s.events.windows(2).all(|w| w[0].0 <= w[1].0));
            for (at, f) in &s.events {
                assert!(*at < 20_000);
                assert!(f.node() < 3);
                match f {
                    Fault::DiskReadErrors { .. } | Fault::LatentCorruption { .. } | Fault::ClogOneWay { .. } => {
                        panic!("weight 0 drawn: {f:?}")
                    }
                    Fault::Crash { restart_after_ms: d, .. } | Fault::Clog { duration_ms: d, .. } => assert!((200..=3_000).contains(d)),
                    Fault::Pause { resume_after_ms: d, .. } => assert!((100..=2_000).contains(d)),
                    Fault::DiskWriteErrors { per_mille, duration_ms, .. } | Fault::DiskSyncErrors { per_mille, duration_ms, .. } => {
                        assert!((100..=1_000).contains(per_mille) && (200..=2_000).contains(duration_ms))
                    }
                    Fault::DiskFull { duration_ms, .. } => assert!((200..=2_000).contains(duration_ms)),
                    Fault::MemberCrash { .. } | Fault::MemberPause { .. } => panic!("member fault without member events: {f:?}"),
                }
            }
            // Crash has weight 3 of 8: it shows up.
            assert!(s.events.iter().any(|(_, f)| matches!(f, Fault::Crash { .. })));
        }
    }

    // Proves: member faults come in the first three quarters, on existing slots, pauses outlast the session timeout, and node faults stay as they were.
    #[test]
    fn member_faults() {
        let m = FaultMix { member_events: 40, member_crash: 1, member_pause: 1, ..mix() };
        let plain = FaultSchedule::generate(3, &m, 1, 20_000);
        let mut s = plain.clone();
        s.add_member_faults(3, &m, 3, 20_000);
        assert_eq!(s.events.len(), plain.events.len() + 40);
        let nodes: Vec<_> = s.events.iter().filter(|(_, f)| f.node() != usize::MAX).cloned().collect();
        assert_eq!(nodes, plain.events);
        assert!(s.events.windows(2).all(|w| w[0].0 <= w[1].0));
        for (at, f) in &s.events {
            match f {
                Fault::MemberCrash { member, restart_after_ms } => {
                    assert!(*at < 15_000 && *member < 3 && (200..=3_000).contains(restart_after_ms))
                }
                Fault::MemberPause { member, resume_after_ms } => {
                    assert!(*at < 15_000 && *member < 3 && *resume_after_ms > MEMBER_SESSION_TIMEOUT_MS)
                }
                _ => {}
            }
        }
        assert!(s.events.iter().any(|(_, f)| matches!(f, Fault::MemberPause { .. })));
    }

    // Proves: only-crash mix gives only crashes; no weights or no events give an empty schedule.
    #[test]
    fn degenerate_mixes() {
        let only = FaultMix { events: 50, crash: 1, ..Default::default() };
        let s = FaultSchedule::generate(1, &only, 1, 10_000);
        assert!(s.events.iter().all(|(_, f)| matches!(f, Fault::Crash { node: 0, .. })));
        assert!(FaultSchedule::generate(1, &FaultMix { events: 5, ..Default::default() }, 1, 10_000).events.is_empty());
        assert!(FaultSchedule::generate(1, &FaultMix { crash: 1, ..Default::default() }, 1, 10_000).events.is_empty());
    }
}
