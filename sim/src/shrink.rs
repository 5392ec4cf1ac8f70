//! Shrinking a failing cluster run: `sim --swarm --seed N --shrink` or
//! `sim --scenario S --seed N --shrink` (`runner::cli`).
//!
//! The seed's fault schedule becomes an explicit value ([`ClusterSchedule`],
//! `ClusterSpec::schedule`); the seed still drives everything else (workload,
//! network randomness, BUGGIFY). While the run still fails, the shrinker tries,
//! pass after pass until nothing more can go:
//!
//! 1. fewer nodes (down to 3 and never below the replication factor), the
//!    schedule's node numbers fitted to the smaller cluster;
//! 2. dropping events, in halves, quarters, ... down to single events;
//! 3. dropping steps of a leader churn;
//! 4. halving each event's durations (restart delays, cut and lossy windows);
//! 5. moving every event to half its time, and halving the run's length.
//!
//! Each reduction that still fails is kept; "fails" is any violation, or with
//! `same_checker` one from a checker that caught the original run. Runs and
//! wall time are bounded ([`Limits`]). The result is the smallest failing run
//! found, not a global minimum: another order of reductions may find a smaller one.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chronik_core::config::Knobs;

use crate::cluster::faults::{ClusterFault, ClusterSchedule};
use crate::runner::{run_seed, SeedReport};
use crate::scenario::Scenario;

/// Durations are never halved below this.
pub const MIN_MS: u64 = 50;
/// Clusters are never shrunk below this many nodes.
pub const MIN_NODES: usize = 3;

/// What the shrinker varies: cluster size, run length and the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub nodes: usize,
    pub duration_s: u64,
    pub schedule: ClusterSchedule,
}

impl Candidate {
    /// The run `seed` of `s` does: its explicit schedule, or the one drawn from the seed.
    pub fn of(seed: u64, s: &Scenario) -> Option<Candidate> {
        let c = s.cluster.as_ref()?;
        let schedule = c.schedule.clone().unwrap_or_else(|| ClusterSchedule::generate(seed, c, s.duration_s * 1000));
        Some(Candidate { nodes: c.nodes, duration_s: s.duration_s, schedule })
    }

    /// `s` with this candidate's size, length and explicit schedule.
    pub fn apply(&self, s: &Scenario) -> Scenario {
        let mut s = s.clone();
        s.duration_s = self.duration_s;
        let c = s.cluster.as_mut().expect("a cluster scenario");
        c.nodes = self.nodes;
        c.schedule = Some(self.schedule.clone());
        s
    }

    /// Leader-churn steps over every event.
    pub fn churn_steps(&self) -> usize {
        self.schedule.events.iter().map(|(_, f)| if let ClusterFault::LeaderChurn { steps, .. } = f { steps.len() } else { 0 }).sum()
    }

    /// Milliseconds of fault (downtime, cut and lossy windows) the events ask for.
    pub fn fault_ms(&self) -> u64 {
        self.schedule.events.iter().map(|(_, f)| durations(f).iter().sum::<u64>()).sum()
    }

    /// One line: size, length, events.
    pub fn describe(&self) -> String {
        format!(
            "{} nodes, {} s, {} event(s), {} churn step(s), {} ms of faults",
            self.nodes,
            self.duration_s,
            self.schedule.events.len(),
            self.churn_steps(),
            self.fault_ms()
        )
    }
}

/// Bounds on a shrink.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Runs, the first (the original schedule) included.
    pub max_runs: usize,
    pub max_wall: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_runs: 300, max_wall: Duration::from_secs(300) }
    }
}

/// What a shrink found.
#[derive(Debug)]
pub struct Shrunk {
    pub original: Candidate,
    pub minimal: Candidate,
    /// The minimal candidate's run.
    pub report: SeedReport,
    /// Checkers that caught the original run.
    pub original_checkers: BTreeSet<&'static str>,
    /// Runs made, the first included.
    pub runs: usize,
    /// Why it stopped before trying everything (a limit), if it did.
    pub cut_short: Option<String>,
}

/// Shrink the failing run `seed` of the cluster scenario `s` (with `knobs`).
/// `progress` hears of every reduction kept.
pub fn shrink(
    seed: u64,
    s: &Scenario,
    knobs: &Knobs,
    same_checker: bool,
    limits: &Limits,
    progress: &mut dyn FnMut(&str),
) -> Result<Shrunk, String> {
    let original = Candidate::of(seed, s).ok_or_else(|| format!("{} is not a cluster scenario: only cluster runs shrink", s.name))?;
    let started = Instant::now();
    let first = run_seed(seed, &original.apply(s), knobs);
    if first.violations.is_empty() {
        return Err(format!("seed {seed} of {} passes: nothing to shrink", s.name));
    }
    let original_checkers: BTreeSet<&'static str> = first.violations.iter().map(|v| v.checker).collect();
    let mut st = State {
        seed,
        scenario: s,
        knobs,
        same_checker,
        checkers: original_checkers.clone(),
        limits,
        started,
        runs: 1,
        cut_short: None,
        current: original.clone(),
        report: first,
        progress,
    };
    let rf = s.cluster.as_ref().map_or(1, |c| c.data.replication_factor.max(1) as usize);
    loop {
        let before = st.current.clone();
        // 1. Fewer nodes: odd sizes from the smallest valid one up.
        let mut n = MIN_NODES.max(rf) | 1;
        while n < st.current.nodes {
            let cand = Candidate { nodes: n, schedule: fit_to(&st.current.schedule, n), ..st.current.clone() };
            if st.try_keep(cand, &format!("{n} nodes")) {
                break;
            }
            n += 2;
        }
        // 2. Drop events: all, halves, quarters, ... single ones.
        let mut chunk = st.current.schedule.events.len();
        while chunk >= 1 {
            let mut i = 0;
            while i < st.current.schedule.events.len() {
                let mut cand = st.current.clone();
                let end = (i + chunk).min(cand.schedule.events.len());
                let dropped: Vec<String> = cand.schedule.events.drain(i..end).map(|(at, _)| format!("t={at}ms")).collect();
                if !st.try_keep(cand, &format!("dropped {}", dropped.join(" "))) {
                    i += chunk;
                }
            }
            chunk /= 2;
        }
        // 3. Drop churn steps (at least one stays).
        for e in 0..st.current.schedule.events.len() {
            let mut k = 0;
            while let Some((at, ClusterFault::LeaderChurn { steps, .. })) = st.current.schedule.events.get(e) {
                if steps.len() <= 1 || k >= steps.len() {
                    break;
                }
                let at = *at;
                let mut cand = st.current.clone();
                if let ClusterFault::LeaderChurn { steps, .. } = &mut cand.schedule.events[e].1 {
                    steps.remove(k);
                }
                if !st.try_keep(cand, &format!("dropped churn step {k} of t={at}ms")) {
                    k += 1;
                }
            }
        }
        // 4. Halve each event's durations while that still fails.
        for e in 0..st.current.schedule.events.len() {
            while let Some(h) = halved(&st.current.schedule.events[e].1) {
                let at = st.current.schedule.events[e].0;
                let mut cand = st.current.clone();
                cand.schedule.events[e].1 = h;
                if !st.try_keep(cand, &format!("halved the durations of t={at}ms")) {
                    break;
                }
            }
        }
        // 5. Everything earlier, then a shorter run.
        if st.current.schedule.events.iter().any(|(at, _)| *at > 0) {
            let mut cand = st.current.clone();
            for (at, _) in &mut cand.schedule.events {
                *at /= 2;
            }
            st.try_keep(cand, "moved every event to half its time");
        }
        let last_s = st.current.schedule.events.iter().map(|(at, _)| at / 1000 + 1).max().unwrap_or(1);
        let shorter = (st.current.duration_s / 2).max(last_s).max(1);
        if shorter < st.current.duration_s {
            let cand = Candidate { duration_s: shorter, ..st.current.clone() };
            st.try_keep(cand, &format!("run of {shorter} s"));
        }
        if st.current == before || st.cut_short.is_some() {
            break;
        }
    }
    Ok(Shrunk { original, minimal: st.current, report: st.report, original_checkers, runs: st.runs, cut_short: st.cut_short })
}

struct State<'a> {
    seed: u64,
    scenario: &'a Scenario,
    knobs: &'a Knobs,
    same_checker: bool,
    checkers: BTreeSet<&'static str>,
    limits: &'a Limits,
    started: Instant,
    runs: usize,
    cut_short: Option<String>,
    current: Candidate,
    report: SeedReport,
    progress: &'a mut dyn FnMut(&str),
}

impl State<'_> {
    /// Run `cand`; keep it if it still fails. False also once a limit is reached.
    fn try_keep(&mut self, cand: Candidate, what: &str) -> bool {
        if self.cut_short.is_some() {
            return false;
        }
        if self.runs >= self.limits.max_runs {
            self.cut_short = Some(format!("run limit ({}) reached", self.limits.max_runs));
            return false;
        }
        if self.started.elapsed() >= self.limits.max_wall {
            self.cut_short = Some(format!("wall-time limit ({} s) reached", self.limits.max_wall.as_secs()));
            return false;
        }
        self.runs += 1;
        let r = run_seed(self.seed, &cand.apply(self.scenario), self.knobs);
        let fails = !r.violations.is_empty() && (!self.same_checker || r.violations.iter().any(|v| self.checkers.contains(v.checker)));
        if fails {
            self.current = cand;
            self.report = r;
            (self.progress)(&format!("run {}: still fails with {what}: {}", self.runs, self.current.describe()));
        }
        fails
    }
}

/// `fault`'s durations, each.
fn durations(fault: &ClusterFault) -> Vec<u64> {
    match fault {
        ClusterFault::Crash { restart_after_ms, .. }
        | ClusterFault::CrashLeader { restart_after_ms, .. }
        | ClusterFault::CrashPartitionLeader { restart_after_ms, .. }
        | ClusterFault::CrashPartitionFollower { restart_after_ms, .. }
        | ClusterFault::WipeReplica { restart_after_ms, .. }
        | ClusterFault::CrashAll { restart_after_ms } => vec![*restart_after_ms],
        ClusterFault::IsolateLeader { duration_ms, .. }
        | ClusterFault::Partition { duration_ms, .. }
        | ClusterFault::OneWay { duration_ms, .. }
        | ClusterFault::Lossy { duration_ms, .. }
        | ClusterFault::IsolatePartitionLeader { duration_ms, .. }
        | ClusterFault::OneWayPartitionLeader { duration_ms, .. } => vec![*duration_ms],
        ClusterFault::LeaderChurn { steps, .. } => steps.iter().flat_map(|s| [s.gap_ms, s.down_ms]).collect(),
        ClusterFault::IsrShrinkCrash { followers_down_ms, leader_after_ms, leader_down_ms, .. } => {
            vec![*followers_down_ms, *leader_after_ms, *leader_down_ms]
        }
        ClusterFault::StaleFollowerReelect { leader_down_ms, lead_ms, second_down_ms, .. } => {
            vec![*leader_down_ms, *lead_ms, *second_down_ms]
        }
    }
}

fn half(ms: u64) -> u64 {
    if ms > MIN_MS {
        (ms / 2).max(MIN_MS)
    } else {
        ms
    }
}

/// `fault` with every duration halved (none below [`MIN_MS`]); `None` if none could be.
/// An ISR-shrink crash keeps its followers down past the leader's crash.
pub fn halved(fault: &ClusterFault) -> Option<ClusterFault> {
    let mut f = fault.clone();
    match &mut f {
        ClusterFault::Crash { restart_after_ms: d, .. }
        | ClusterFault::CrashLeader { restart_after_ms: d, .. }
        | ClusterFault::CrashPartitionLeader { restart_after_ms: d, .. }
        | ClusterFault::CrashPartitionFollower { restart_after_ms: d, .. }
        | ClusterFault::WipeReplica { restart_after_ms: d, .. }
        | ClusterFault::CrashAll { restart_after_ms: d }
        | ClusterFault::IsolateLeader { duration_ms: d, .. }
        | ClusterFault::Partition { duration_ms: d, .. }
        | ClusterFault::OneWay { duration_ms: d, .. }
        | ClusterFault::Lossy { duration_ms: d, .. }
        | ClusterFault::IsolatePartitionLeader { duration_ms: d, .. }
        | ClusterFault::OneWayPartitionLeader { duration_ms: d, .. } => *d = half(*d),
        ClusterFault::LeaderChurn { steps, .. } => {
            for s in steps {
                s.gap_ms = half(s.gap_ms);
                s.down_ms = half(s.down_ms);
            }
        }
        ClusterFault::IsrShrinkCrash { followers_down_ms, leader_after_ms, leader_down_ms, .. } => {
            *leader_after_ms = half(*leader_after_ms);
            *leader_down_ms = half(*leader_down_ms);
            *followers_down_ms = half(*followers_down_ms).max(*leader_after_ms + 1);
        }
        ClusterFault::StaleFollowerReelect { leader_down_ms, lead_ms, second_down_ms, .. } => {
            *leader_down_ms = half(*leader_down_ms);
            *lead_ms = half(*lead_ms);
            *second_down_ms = half(*second_down_ms);
        }
    }
    (f != *fault).then_some(f)
}

/// `schedule` for a cluster of `n` nodes: events naming a node at or past `n`
/// lose it (a crash of it, a cut left with one side: dropped); fallbacks wrap.
pub fn fit_to(schedule: &ClusterSchedule, n: usize) -> ClusterSchedule {
    let events = schedule
        .events
        .iter()
        .filter_map(|(at, f)| {
            let mut f = f.clone();
            if let Some(fallback) = f.fallback_mut() {
                *fallback %= n;
            }
            let keep = match &mut f {
                ClusterFault::Crash { node, .. } => *node < n,
                ClusterFault::Partition { groups, .. } => {
                    for g in groups.iter_mut() {
                        g.retain(|x| *x < n);
                    }
                    groups.retain(|g| !g.is_empty());
                    groups.len() >= 2
                }
                ClusterFault::OneWay { from, to, .. } => {
                    from.retain(|x| *x < n);
                    to.retain(|x| *x < n);
                    !from.is_empty() && !to.is_empty()
                }
                _ => true,
            };
            keep.then_some((*at, f))
        })
        .collect();
    ClusterSchedule { events }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::faults::ChurnStep;
    use crate::runner::cli::repo_root;
    use crate::runner::seeds::{self, SeedFile};
    use crate::scenario::{load_dir, ClusterSpec};

    fn scenarios() -> Vec<Scenario> {
        load_dir(&repo_root().join("scenarios")).unwrap()
    }

    fn scenario(name: &str) -> Scenario {
        scenarios().into_iter().find(|s| s.name == name).unwrap()
    }

    // Proves: a schedule given explicitly, equal to the drawn one, gives the same run (trace hash), so seeds keep their runs.
    #[test]
    fn explicit_schedule_equal_to_the_drawn_one_changes_nothing() {
        let s = scenario("cluster-partitions");
        let plain = run_seed(3, &s, &Knobs::default());
        let explicit = run_seed(3, &Candidate::of(3, &s).unwrap().apply(&s), &Knobs::default());
        assert!(plain.cluster.as_ref().unwrap().schedule.events.len() > 1);
        assert_eq!(plain.trace_hash, explicit.trace_hash);
        assert_eq!(plain.trace_lines, explicit.trace_lines);
    }

    // Proves: every fault kind survives the seed file's TOML (written and read back equal), and unknown fields are refused.
    #[test]
    fn schedules_round_trip_through_seed_files() {
        let spec = ClusterSpec {
            nodes: 5,
            events: 200,
            crash: 1,
            crash_leader: 1,
            isolate_leader: 1,
            partition_minority: 1,
            partition_no_quorum: 1,
            one_way: 1,
            lossy: 1,
            crash_partition_leader: 1,
            crash_partition_follower: 1,
            isolate_partition_leader: 1,
            zombie_leader: 1,
            one_way_partition_leader: 1,
            leader_churn: 1,
            wipe_replica: 1,
            isr_shrink_crash: 1,
            crash_all: 1,
            ..Default::default()
        };
        let sched = ClusterSchedule::generate(9, &spec, 20_000);
        let f = SeedFile {
            file: String::new(),
            seed: 9,
            scenario: "swarm".into(),
            commit: "abc1234".into(),
            bug: "a \"quoted\" line".into(),
            nodes: Some(3),
            duration_s: Some(7),
            swarm_draws: Some(2),
            schedule: Some(sched.to_entries()),
        };
        let text = f.to_toml();
        let back: SeedFile = toml::from_str(&text).unwrap();
        assert_eq!(back, f);
        assert_eq!(ClusterSchedule::from_entries(back.schedule.as_ref().unwrap()), sched);
        assert!(text.contains("{ at_ms = "), "one event per line:\n{text}");
        let old: SeedFile = toml::from_str("seed = 1\nscenario = \"x\"\ncommit = \"c\"\nbug = \"b\"\n").unwrap();
        assert!(old.schedule.is_none() && old.nodes.is_none() && old.swarm_draws.is_none());
        let scenarios = crate::scenario::load_dir(&crate::runner::cli::repo_root().join("scenarios")).unwrap();
        let named = SeedFile { scenario: "replication-crash-all".into(), swarm_draws: Some(2), schedule: None, nodes: None, ..f.clone() };
        assert!(named.run(&scenarios).unwrap_err().contains("swarm_draws"), "swarm_draws is for swarm seeds only");
        assert!(toml::from_str::<SeedFile>("seed = 1\nscenario = \"x\"\ncommit = \"c\"\nbug = \"b\"\nbogus = 1\n").is_err());
        let bad_fault = "seed = 1\nscenario = \"x\"\ncommit = \"c\"\nbug = \"b\"\nschedule = [{ at_ms = 1, fault = { kind = \"Crash\", node = 0, restart_after_ms = 5, extra = 1 } }]\n";
        assert!(toml::from_str::<SeedFile>(bad_fault).is_err());
    }

    // Proves: halving keeps the floor and the ISR-shrink shape; fitting to fewer nodes drops what names a missing node.
    #[test]
    fn reductions_keep_faults_valid() {
        assert_eq!(halved(&ClusterFault::Crash { node: 0, restart_after_ms: 40 }), None);
        assert_eq!(
            halved(&ClusterFault::LeaderChurn { fallback: 0, steps: vec![ChurnStep { gap_ms: 300, crash: true, down_ms: 60 }] }),
            Some(ClusterFault::LeaderChurn { fallback: 0, steps: vec![ChurnStep { gap_ms: 150, crash: true, down_ms: 50 }] })
        );
        let isr = ClusterFault::IsrShrinkCrash { fallback: 0, followers_down_ms: 60, leader_after_ms: 4000, leader_down_ms: 300 };
        let Some(ClusterFault::IsrShrinkCrash { followers_down_ms, leader_after_ms, .. }) = halved(&isr) else { panic!() };
        assert!(followers_down_ms > leader_after_ms);
        let s = ClusterSchedule {
            events: vec![
                (1, ClusterFault::Crash { node: 4, restart_after_ms: 500 }),
                (2, ClusterFault::Partition { groups: vec![vec![3, 4], vec![0, 1, 2]], duration_ms: 500 }),
                (3, ClusterFault::Partition { groups: vec![vec![0, 3], vec![1, 2, 4]], duration_ms: 500 }),
                (4, ClusterFault::OneWay { from: vec![4], to: vec![0, 1, 2, 3], duration_ms: 500 }),
                (5, ClusterFault::CrashLeader { fallback: 4, restart_after_ms: 500 }),
            ],
        };
        let fitted = fit_to(&s, 3);
        assert_eq!(
            fitted.events,
            vec![
                (3, ClusterFault::Partition { groups: vec![vec![0], vec![1, 2]], duration_ms: 500 }),
                (5, ClusterFault::CrashLeader { fallback: 1, restart_after_ms: 500 }),
            ]
        );
        assert!(fitted.fits(3).is_ok() && s.fits(3).is_err());
    }

    // Proves: a failing run (planted bug ack-before-sync, replication-leader-churn seed 0) shrinks to a smaller
    // schedule that still fails, and the seed file written for it replays the very same failing run.
    #[test]
    fn shrinks_a_failing_run_and_the_seed_file_replays_it() {
        let all = scenarios();
        let s = all.iter().find(|s| s.name == "replication-leader-churn").unwrap();
        let knobs = Knobs { ack_before_sync: true, ..Default::default() };
        let limits = Limits { max_runs: 10, max_wall: Duration::from_secs(60) };
        let out = shrink(0, s, &knobs, true, &limits, &mut |_| {}).unwrap();
        assert!(!out.report.violations.is_empty());
        assert!(out.report.violations.iter().any(|v| out.original_checkers.contains(v.checker)));
        let (o, m) = (&out.original, &out.minimal);
        assert!(
            m.schedule.events.len() < o.schedule.events.len() || m.churn_steps() < o.churn_steps() || m.fault_ms() < o.fault_ms(),
            "{} -> {}",
            o.describe(),
            m.describe()
        );
        assert!(out.runs <= limits.max_runs);

        let dir = std::env::temp_dir().join(format!("chronik-shrink-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let f = SeedFile {
            file: String::new(),
            seed: 0,
            scenario: s.name.clone(),
            commit: "test".into(),
            bug: "planted ack-before-sync".into(),
            nodes: None,
            duration_s: (m.duration_s != o.duration_s).then_some(m.duration_s),
            swarm_draws: None,
            schedule: Some(m.schedule.to_entries()),
        };
        let path = seeds::write_new(&dir, &f, "leader-churn-shrunk", "# test\n").unwrap();
        assert!(path.ends_with("0001-leader-churn-shrunk.toml"));
        let files = seeds::load_dir(&dir).unwrap();
        assert_eq!(files.len(), 1);
        let (replayed, buggify) = files[0].run(&all).unwrap();
        assert_eq!(buggify, None);
        let r = run_seed(0, &replayed, &knobs);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(r.trace_hash, out.report.trace_hash, "the file replays the shrunk run");
        assert_eq!(r.violations.len(), out.report.violations.len());
    }
}
