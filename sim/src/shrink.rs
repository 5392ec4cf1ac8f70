//! Shrinking a failing run, a cluster's or a single broker's:
//! `sim --swarm --seed N --shrink` or `sim --scenario S --seed N --shrink`
//! (`runner::cli`).
//!
//! The seed's fault schedule becomes an explicit value ([`Plan`]: a cluster's
//! [`ClusterSchedule`], `ClusterSpec::schedule`, or a single broker's
//! [`FaultSchedule`], `Scenario::schedule`); the seed still drives everything
//! else (workload, network randomness, BUGGIFY). While the run still fails,
//! the shrinker tries, pass after pass until nothing more can go:
//!
//! 1. fewer nodes (clusters only: down to 3 and never below the replication
//!    factor), the schedule's node numbers fitted to the smaller cluster;
//! 2. dropping events, in halves, quarters, ... down to single events;
//! 3. dropping steps of a leader churn (clusters only);
//! 4. halving each event's durations (restart and resume delays, cut, clog,
//!    lossy and disk-error windows; a member pause only its time past the
//!    session timeout);
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
use crate::faults::{Fault, FaultSchedule, MEMBER_SESSION_TIMEOUT_MS};
use crate::runner::seeds::SeedFile;
use crate::runner::{run_seed, SeedReport};
use crate::scenario::Scenario;

/// Durations are never halved below this.
pub const MIN_MS: u64 = 50;
/// Clusters are never shrunk below this many nodes.
pub const MIN_NODES: usize = 3;

/// A fault schedule the shrinker reduces: a cluster's or a single broker's.
/// The passes every kind shares work on its timed events; a kind adds its own
/// through [`Plan::fewer_nodes`] and [`Plan::fewer_steps`].
pub trait Plan: Clone + PartialEq + std::fmt::Display {
    type Fault: Clone;
    /// The kind of scenario, for the error on another kind.
    const KIND: &'static str;
    /// The run `seed` of `s` does (its explicit schedule, or the one drawn from
    /// the seed), if `s` is of this kind.
    fn candidate(seed: u64, s: &Scenario) -> Option<Candidate<Self>>;
    /// Puts `c`'s size and explicit schedule into `s` (its length is set already).
    fn put(c: &Candidate<Self>, s: &mut Scenario);
    fn events(&self) -> &[(u64, Self::Fault)];
    fn events_mut(&mut self) -> &mut Vec<(u64, Self::Fault)>;
    /// `fault`'s durations, each.
    fn durations(fault: &Self::Fault) -> Vec<u64>;
    /// `fault` with every duration halved (none below [`MIN_MS`]); `None` if none could be.
    fn halved(fault: &Self::Fault) -> Option<Self::Fault>;
    /// Pass 1: fewer nodes (a single broker has none to lose).
    fn fewer_nodes(_st: &mut State<'_, Self>) {}
    /// Pass 3: fewer parts of compound events (leader-churn steps).
    fn fewer_steps(_st: &mut State<'_, Self>) {}
    /// What [`Candidate::describe`] says besides size, length, events and fault time.
    fn counts(&self) -> String {
        String::new()
    }
    /// Writes the schedule into the seed file's field for its kind.
    fn record(&self, f: &mut SeedFile);
}

impl Plan for ClusterSchedule {
    type Fault = ClusterFault;
    const KIND: &'static str = "cluster";

    fn candidate(seed: u64, s: &Scenario) -> Option<Candidate<Self>> {
        let c = s.cluster.as_ref()?;
        let schedule = c.schedule.clone().unwrap_or_else(|| ClusterSchedule::generate(seed, c, s.duration_s * 1000));
        Some(Candidate { nodes: c.nodes, duration_s: s.duration_s, schedule })
    }

    fn put(cand: &Candidate<Self>, s: &mut Scenario) {
        let c = s.cluster.as_mut().expect("a cluster scenario");
        c.nodes = cand.nodes;
        c.schedule = Some(cand.schedule.clone());
    }

    fn events(&self) -> &[(u64, ClusterFault)] {
        &self.events
    }

    fn events_mut(&mut self) -> &mut Vec<(u64, ClusterFault)> {
        &mut self.events
    }

    fn durations(fault: &ClusterFault) -> Vec<u64> {
        durations(fault)
    }

    fn halved(fault: &ClusterFault) -> Option<ClusterFault> {
        halved(fault)
    }

    /// Odd sizes from the smallest valid one up; the first that still fails stays.
    fn fewer_nodes(st: &mut State<'_, Self>) {
        let rf = st.scenario.cluster.as_ref().map_or(1, |c| c.data.replication_factor.max(1) as usize);
        let mut n = MIN_NODES.max(rf) | 1;
        while n < st.current.nodes {
            let cand = Candidate { nodes: n, schedule: fit_to(&st.current.schedule, n), ..st.current.clone() };
            if st.try_keep(cand, &format!("{n} nodes")) {
                break;
            }
            n += 2;
        }
    }

    /// Churn steps one by one (at least one stays).
    fn fewer_steps(st: &mut State<'_, Self>) {
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
    }

    fn counts(&self) -> String {
        format!(", {} churn step(s)", churn_steps(self))
    }

    fn record(&self, f: &mut SeedFile) {
        f.schedule = Some(self.to_entries());
    }
}

impl Plan for FaultSchedule {
    type Fault = Fault;
    const KIND: &'static str = "single-node";

    fn candidate(seed: u64, s: &Scenario) -> Option<Candidate<Self>> {
        s.cluster.is_none().then(|| Candidate { nodes: s.nodes, duration_s: s.duration_s, schedule: FaultSchedule::of_run(seed, s) })
    }

    fn put(c: &Candidate<Self>, s: &mut Scenario) {
        s.schedule = Some(c.schedule.clone());
    }

    fn events(&self) -> &[(u64, Fault)] {
        &self.events
    }

    fn events_mut(&mut self) -> &mut Vec<(u64, Fault)> {
        &mut self.events
    }

    fn durations(fault: &Fault) -> Vec<u64> {
        fault.clone().duration_mut().map(|d| *d).into_iter().collect()
    }

    fn halved(fault: &Fault) -> Option<Fault> {
        halved_node(fault)
    }

    fn record(&self, f: &mut SeedFile) {
        f.node_schedule = Some(self.to_entries());
    }
}

/// What the shrinker varies: cluster size, run length and the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<S = ClusterSchedule> {
    pub nodes: usize,
    pub duration_s: u64,
    pub schedule: S,
}

impl Candidate {
    /// The cluster run `seed` of `s` does: its explicit schedule, or the one drawn from the seed.
    pub fn of(seed: u64, s: &Scenario) -> Option<Candidate> {
        ClusterSchedule::candidate(seed, s)
    }

    /// Leader-churn steps over every event.
    pub fn churn_steps(&self) -> usize {
        churn_steps(&self.schedule)
    }
}

impl<S: Plan> Candidate<S> {
    /// `s` with this candidate's size, length and explicit schedule.
    pub fn apply(&self, s: &Scenario) -> Scenario {
        let mut s = s.clone();
        s.duration_s = self.duration_s;
        S::put(self, &mut s);
        s
    }

    /// Milliseconds of fault (downtime, cut, clog, lossy and error windows) the events ask for.
    pub fn fault_ms(&self) -> u64 {
        self.schedule.events().iter().map(|(_, f)| S::durations(f).iter().sum::<u64>()).sum()
    }

    /// One line: size, length, events.
    pub fn describe(&self) -> String {
        format!(
            "{} node{}, {} s, {} event(s){}, {} ms of faults",
            self.nodes,
            if self.nodes == 1 { "" } else { "s" },
            self.duration_s,
            self.schedule.events().len(),
            self.schedule.counts(),
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
pub struct Shrunk<S = ClusterSchedule> {
    pub original: Candidate<S>,
    pub minimal: Candidate<S>,
    /// The minimal candidate's run.
    pub report: SeedReport,
    /// Checkers that caught the original run.
    pub original_checkers: BTreeSet<&'static str>,
    /// Runs made, the first included.
    pub runs: usize,
    /// Why it stopped before trying everything (a limit), if it did.
    pub cut_short: Option<String>,
}

/// Shrink the failing run `seed` of `s` (with `knobs`), a cluster scenario
/// (`S` = [`ClusterSchedule`]) or a single-node one ([`FaultSchedule`]).
/// `progress` hears of every reduction kept.
pub fn shrink<S: Plan>(
    seed: u64,
    s: &Scenario,
    knobs: &Knobs,
    same_checker: bool,
    limits: &Limits,
    progress: &mut dyn FnMut(&str),
) -> Result<Shrunk<S>, String> {
    let original = S::candidate(seed, s).ok_or_else(|| format!("{} is not a {} scenario", s.name, S::KIND))?;
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
    loop {
        let before = st.current.clone();
        // 1. Fewer nodes.
        S::fewer_nodes(&mut st);
        // 2. Drop events: all, halves, quarters, ... single ones.
        let mut chunk = st.current.schedule.events().len();
        while chunk >= 1 {
            let mut i = 0;
            while i < st.current.schedule.events().len() {
                let mut cand = st.current.clone();
                let events = cand.schedule.events_mut();
                let end = (i + chunk).min(events.len());
                let dropped: Vec<String> = events.drain(i..end).map(|(at, _)| format!("t={at}ms")).collect();
                if !st.try_keep(cand, &format!("dropped {}", dropped.join(" "))) {
                    i += chunk;
                }
            }
            chunk /= 2;
        }
        // 3. Fewer parts of compound events.
        S::fewer_steps(&mut st);
        // 4. Halve each event's durations while that still fails.
        for e in 0..st.current.schedule.events().len() {
            while let Some(h) = S::halved(&st.current.schedule.events()[e].1) {
                let at = st.current.schedule.events()[e].0;
                let mut cand = st.current.clone();
                cand.schedule.events_mut()[e].1 = h;
                if !st.try_keep(cand, &format!("halved the durations of t={at}ms")) {
                    break;
                }
            }
        }
        // 5. Everything earlier, then a shorter run.
        if st.current.schedule.events().iter().any(|(at, _)| *at > 0) {
            let mut cand = st.current.clone();
            for (at, _) in cand.schedule.events_mut() {
                *at /= 2;
            }
            st.try_keep(cand, "moved every event to half its time");
        }
        let last_s = st.current.schedule.events().iter().map(|(at, _)| at / 1000 + 1).max().unwrap_or(1);
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

/// A shrink under way: the smallest failing run so far, and what bounds it.
pub struct State<'a, S> {
    seed: u64,
    scenario: &'a Scenario,
    knobs: &'a Knobs,
    same_checker: bool,
    checkers: BTreeSet<&'static str>,
    limits: &'a Limits,
    started: Instant,
    runs: usize,
    cut_short: Option<String>,
    current: Candidate<S>,
    report: SeedReport,
    progress: &'a mut dyn FnMut(&str),
}

impl<S: Plan> State<'_, S> {
    /// Run `cand`; keep it if it still fails. False also once a limit is reached.
    fn try_keep(&mut self, cand: Candidate<S>, what: &str) -> bool {
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

fn churn_steps(schedule: &ClusterSchedule) -> usize {
    schedule.events.iter().map(|(_, f)| if let ClusterFault::LeaderChurn { steps, .. } = f { steps.len() } else { 0 }).sum()
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

/// Single-node `fault` with its duration halved (not below [`MIN_MS`]); `None`
/// if it could not be. A member pause halves only its time past the session
/// timeout, so it still outlasts it.
pub fn halved_node(fault: &Fault) -> Option<Fault> {
    let mut f = fault.clone();
    match &mut f {
        Fault::MemberPause { resume_after_ms: d, .. } if *d > MEMBER_SESSION_TIMEOUT_MS => {
            *d = MEMBER_SESSION_TIMEOUT_MS + half(*d - MEMBER_SESSION_TIMEOUT_MS)
        }
        Fault::MemberPause { .. } => {}
        other => {
            if let Some(d) = other.duration_mut() {
                *d = half(*d);
            }
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
            node_schedule: None,
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
        let out: Shrunk = shrink(0, s, &knobs, true, &limits, &mut |_| {}).unwrap();
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
            node_schedule: None,
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

    /// A seed file for `scenario` with a single-node schedule and nothing else.
    fn node_seed_file(scenario: &str, node_schedule: Option<Vec<crate::faults::TimedFault<Fault>>>) -> SeedFile {
        SeedFile {
            file: String::new(),
            seed: 5,
            scenario: scenario.into(),
            commit: "abc1234".into(),
            bug: "a \"quoted\" line".into(),
            nodes: None,
            duration_s: None,
            swarm_draws: None,
            schedule: None,
            node_schedule,
        }
    }

    // Proves: a single-node schedule given explicitly, equal to the drawn one, gives the same run (trace hash).
    #[test]
    fn explicit_node_schedule_equal_to_the_drawn_one_changes_nothing() {
        let s = scenario(crate::runner::cli::PLANTED_BUG_SCENARIO);
        let plain = run_seed(3, &s, &Knobs::default());
        let cand = <FaultSchedule as Plan>::candidate(3, &s).unwrap();
        assert_eq!(cand.schedule, plain.schedule);
        assert!(cand.schedule.events.len() > 1);
        let explicit = run_seed(3, &cand.apply(&s), &Knobs::default());
        assert_eq!(plain.trace_hash, explicit.trace_hash);
        assert_eq!(plain.trace_lines, explicit.trace_lines);
        assert!(<FaultSchedule as Plan>::candidate(3, &scenario("cluster-partitions")).is_none());
        assert!(<ClusterSchedule as Plan>::candidate(3, &s).is_none());
    }

    // Proves: every single-node fault kind survives the seed file's TOML (written and read back equal, one event
    // per line) and replays into the run's schedule; a cluster run refuses node_schedule, a single-node one
    // schedule and nodes; unknown fields and kinds, missing nodes and members, and late events are refused.
    #[test]
    fn node_schedules_round_trip_through_seed_files() {
        let t = MEMBER_SESSION_TIMEOUT_MS;
        let sched = FaultSchedule {
            events: vec![
                (10, Fault::Crash { node: 0, restart_after_ms: 800 }),
                (20, Fault::Pause { node: 0, resume_after_ms: 300 }),
                (30, Fault::Clog { node: 0, duration_ms: 400 }),
                (40, Fault::ClogOneWay { node: 0, inbound: true, duration_ms: 500 }),
                (50, Fault::DiskWriteErrors { node: 0, per_mille: 100, duration_ms: 600 }),
                (60, Fault::DiskSyncErrors { node: 0, per_mille: 200, duration_ms: 700 }),
                (70, Fault::DiskReadErrors { node: 0, per_mille: 300, duration_ms: 800 }),
                (80, Fault::DiskFull { node: 0, duration_ms: 900 }),
                (90, Fault::LatentCorruption { node: 0 }),
                (100, Fault::MemberCrash { member: 1, restart_after_ms: 1000 }),
                (110, Fault::MemberPause { member: 0, resume_after_ms: t + 500 }),
            ],
        };
        let f = node_seed_file("group-member-crash-pause", Some(sched.to_entries()));
        let text = f.to_toml();
        let back: SeedFile = toml::from_str(&text).unwrap();
        assert_eq!(back, f);
        assert_eq!(FaultSchedule::from_entries(back.node_schedule.as_ref().unwrap()), sched);
        assert!(text.contains("node_schedule = [\n    { at_ms = 10, fault = { kind = \"Crash\", "), "one event per line:\n{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("    { at_ms = ")).count(), sched.events.len());

        let all = scenarios();
        let (s, _) = back.run(&all).unwrap();
        assert!(s.cluster.is_none() && s.workload.group_members >= 2);
        assert_eq!(s.schedule.as_ref(), Some(&sched));

        let on_cluster = node_seed_file("cluster-partitions", Some(sched.to_entries()));
        assert!(on_cluster.run(&all).unwrap_err().contains("node_schedule is for single-node runs"));
        let cluster_sched = ClusterSchedule { events: vec![(1, ClusterFault::Crash { node: 0, restart_after_ms: 100 })] };
        let on_single = SeedFile { schedule: Some(cluster_sched.to_entries()), node_schedule: None, ..f.clone() };
        assert!(on_single.run(&all).is_err(), "schedule is cluster-only");
        assert!(SeedFile { nodes: Some(3), ..f.clone() }.run(&all).is_err(), "nodes is cluster-only");

        let refused =
            |events: Vec<(u64, Fault)>| node_seed_file("group-member-crash-pause", Some(FaultSchedule { events }.to_entries())).run(&all);
        assert!(refused(vec![(1, Fault::Crash { node: 1, restart_after_ms: 100 })]).unwrap_err().contains("no such node"));
        assert!(refused(vec![(1, Fault::MemberCrash { member: 9, restart_after_ms: 100 })]).unwrap_err().contains("no such group member"));
        assert!(refused(vec![(s.duration_s * 1000, Fault::LatentCorruption { node: 0 })]).unwrap_err().contains("past the run's"));

        let head = "seed = 1\nscenario = \"x\"\ncommit = \"c\"\nbug = \"b\"\n";
        let entry = |e: &str| toml::from_str::<SeedFile>(&format!("{head}node_schedule = [{e}]\n"));
        assert!(entry("{ at_ms = 1, fault = { kind = \"Crash\", node = 0, restart_after_ms = 5 } }").is_ok());
        assert!(entry("{ at_ms = 1, fault = { kind = \"Crash\", node = 0, restart_after_ms = 5, extra = 1 } }").is_err());
        assert!(entry("{ at_ms = 1, fault = { kind = \"Meteor\", node = 0 } }").is_err());
        assert!(entry("{ at_ms = 1, fault = { kind = \"Crash\", node = 0 } }").is_err(), "a missing field");
        assert!(entry("{ at_ms = 1, late = 2, fault = { kind = \"Crash\", node = 0, restart_after_ms = 5 } }").is_err());
        assert!(entry("{ at_ms = 1, fault = { kind = \"CrashLeader\", fallback = 0, restart_after_ms = 5 } }").is_err(), "a cluster kind");
    }

    // Proves: halving a single-node fault keeps the floor, leaves latent corruption alone and keeps a member
    // pause past the session timeout.
    #[test]
    fn node_reductions_keep_faults_valid() {
        let t = MEMBER_SESSION_TIMEOUT_MS;
        assert_eq!(halved_node(&Fault::Pause { node: 0, resume_after_ms: 300 }), Some(Fault::Pause { node: 0, resume_after_ms: 150 }));
        assert_eq!(halved_node(&Fault::Crash { node: 0, restart_after_ms: 70 }), Some(Fault::Crash { node: 0, restart_after_ms: 50 }));
        assert_eq!(halved_node(&Fault::Crash { node: 0, restart_after_ms: 40 }), None);
        assert_eq!(halved_node(&Fault::LatentCorruption { node: 0 }), None);
        let d = halved_node(&Fault::DiskSyncErrors { node: 0, per_mille: 500, duration_ms: 1000 });
        assert_eq!(d, Some(Fault::DiskSyncErrors { node: 0, per_mille: 500, duration_ms: 500 }), "the rate stays");
        assert_eq!(
            halved_node(&Fault::MemberPause { member: 0, resume_after_ms: t + 1000 }),
            Some(Fault::MemberPause { member: 0, resume_after_ms: t + 500 })
        );
        assert_eq!(halved_node(&Fault::MemberPause { member: 0, resume_after_ms: t + MIN_MS }), None);
        assert_eq!(halved_node(&Fault::MemberPause { member: 0, resume_after_ms: 100 }), None);
    }

    // Proves: a failing single-node run (planted bug ack-before-sync, acks-all-burst-crash seed 0) shrinks to
    // fewer events that still fail the same checker, and the seed file written for it (node_schedule,
    // duration_s) replays the very same failing run.
    #[test]
    fn shrinks_a_failing_single_node_run_and_the_seed_file_replays_it() {
        let all = scenarios();
        let s = all.iter().find(|s| s.name == crate::runner::cli::PLANTED_BUG_SCENARIO).unwrap();
        let knobs = Knobs { ack_before_sync: true, ..Default::default() };
        let limits = Limits { max_runs: 12, max_wall: Duration::from_secs(60) };
        let out = shrink::<FaultSchedule>(0, s, &knobs, true, &limits, &mut |_| {}).unwrap();
        assert!(out.report.violations.iter().any(|v| out.original_checkers.contains(v.checker)));
        let (o, m) = (&out.original, &out.minimal);
        assert!(m.schedule.events.len() < o.schedule.events.len(), "{} -> {}", o.describe(), m.describe());
        assert!(m.fault_ms() < o.fault_ms());
        assert!(out.runs <= limits.max_runs);
        assert!(shrink::<ClusterSchedule>(0, s, &knobs, true, &limits, &mut |_| {}).unwrap_err().contains("not a cluster scenario"));

        let dir = std::env::temp_dir().join(format!("chronik-shrink-node-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut f = SeedFile {
            seed: 0,
            bug: "planted ack-before-sync".into(),
            duration_s: (m.duration_s != o.duration_s).then_some(m.duration_s),
            ..node_seed_file(&s.name, None)
        };
        m.schedule.record(&mut f);
        assert_eq!(f.node_schedule, Some(m.schedule.to_entries()));
        assert!(f.schedule.is_none());
        let path = seeds::write_new(&dir, &f, "burst-crash-shrunk", "# test\n").unwrap();
        let files = seeds::load_dir(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(path.ends_with("0001-burst-crash-shrunk.toml"));
        assert_eq!(files.len(), 1);
        let (replayed, buggify) = files[0].run(&all).unwrap();
        assert_eq!((buggify, replayed.duration_s), (None, m.duration_s));
        let r = run_seed(0, &replayed, &knobs);
        assert_eq!(r.trace_hash, out.report.trace_hash, "the file replays the shrunk run");
        assert!(r.violations.iter().any(|v| out.original_checkers.contains(v.checker)));
        assert!(run_seed(0, &replayed, &Knobs::default()).violations.is_empty(), "without the planted bug it passes");
    }
}
