//! `seeds/`: one TOML file per seed that ever failed, replayed by default.
//!
//! ```toml
//! seed = 1234
//! scenario = "acks-all-burst-crash"
//! commit = "abc1234"
//! bug = "one line on what was wrong"
//! ```
//!
//! `scenario = "swarm"` names a swarm seed (`sim --swarm --seed N`): the run's
//! scenario and BUGGIFY seed are drawn from the seed, by the swarm's draw
//! generation `swarm_draws` (1 when absent; `crate::swarm::DRAWS`).
//!
//! A shrunk cluster seed (`sim ... --shrink`, `crate::shrink`) also records the
//! reduced run: `schedule` (the explicit fault schedule, replayed instead of the
//! one the seed draws), and, when the shrinker reduced them, `nodes` and
//! `duration_s`. The seed still drives everything else (workload, network).
//!
//! ```toml
//! seed = 97
//! scenario = "swarm"
//! commit = "abc1234"
//! bug = "one line on what was wrong"
//! nodes = 3
//! duration_s = 6
//! schedule = [
//!     { at_ms = 3730, fault = { kind = "Crash", node = 1, restart_after_ms = 800 } },
//! ]
//! ```
//!
//! A shrunk single-node seed records its reduced run the same way, in
//! `node_schedule` (single-node faults, `crate::faults::Fault`: the broker is
//! node 0, group members count from 0) and, if reduced, `duration_s`.
//! `schedule` and `nodes` stay cluster-only; `node_schedule` on a cluster run
//! is an error.
//!
//! ```toml
//! seed = 5
//! scenario = "acks-all-burst-crash"
//! commit = "abc1234"
//! bug = "one line on what was wrong"
//! duration_s = 4
//! node_schedule = [
//!     { at_ms = 1520, fault = { kind = "Crash", node = 0, restart_after_ms = 400 } },
//!     { at_ms = 2210, fault = { kind = "DiskSyncErrors", node = 0, per_mille = 600, duration_ms = 300 } },
//! ]
//! ```

use serde::{Deserialize, Serialize};

use crate::cluster::faults::{ClusterSchedule, ScheduledFault};
use crate::faults::{Fault, FaultSchedule, TimedFault};
use crate::scenario::Scenario;

/// The scenario name a seed file gives for a swarm seed.
pub const SWARM_SCENARIO: &str = "swarm";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(skip)]
    pub file: String,
    pub seed: u64,
    pub scenario: String,
    pub commit: String,
    pub bug: String,
    /// Cluster size instead of the scenario's (or the swarm draw's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<usize>,
    /// Safety-phase length instead of the scenario's (or the swarm draw's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
    /// Swarm seeds: the draw generation the seed failed under
    /// (`crate::swarm::DRAWS`); absent means 1, the files from before generations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm_draws: Option<u32>,
    /// The fault schedule instead of the one drawn from the seed (cluster scenarios only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Vec<ScheduledFault>>,
    /// The single-node fault schedule instead of the one drawn from the seed
    /// (single-node runs only; `Scenario::schedule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_schedule: Option<Vec<TimedFault<Fault>>>,
}

impl SeedFile {
    /// The run this file names: the scenario (drawn for a swarm seed) with the
    /// file's overrides, and the BUGGIFY seed (swarm seeds only).
    pub fn run(&self, all: &[Scenario]) -> Result<(Scenario, Option<u64>), String> {
        let swarm = self.scenario == SWARM_SCENARIO;
        let name = if swarm { crate::swarm::SWARM_BASE } else { self.scenario.as_str() };
        let s = all.iter().find(|s| s.name == name).ok_or_else(|| format!("no scenario {:?}", self.scenario))?;
        if self.swarm_draws.is_some() && !swarm {
            return Err("swarm_draws is for swarm seeds".into());
        }
        let (mut s, buggify) = if swarm { crate::swarm::draw_as(self.seed, s, self.swarm_draws.unwrap_or(1)) } else { (s.clone(), None) };
        if let Some(d) = self.duration_s {
            if d == 0 {
                return Err("duration_s must be at least 1".into());
            }
            s.duration_s = d;
        }
        if self.nodes.is_some() || self.schedule.is_some() {
            let c = s.cluster.as_mut().ok_or_else(|| format!("nodes and schedule need a cluster scenario; {} is not one", s.name))?;
            if let Some(n) = self.nodes {
                if n == 0 || n < c.data.replication_factor.max(1) as usize {
                    return Err(format!("nodes = {n} is below the replication factor {}", c.data.replication_factor));
                }
                c.nodes = n;
            }
            if let Some(entries) = &self.schedule {
                let sched = ClusterSchedule::from_entries(entries);
                sched.fits(c.nodes)?;
                within("schedule", &sched.events, s.duration_s)?;
                c.schedule = Some(sched);
            }
        }
        if let Some(entries) = &self.node_schedule {
            if s.cluster.is_some() {
                return Err(format!("node_schedule is for single-node runs; {} is a cluster run (its faults go in schedule)", s.name));
            }
            let sched = FaultSchedule::from_entries(entries);
            sched.fits(s.nodes, s.workload.group_members)?;
            within("node_schedule", &sched.events, s.duration_s)?;
            s.schedule = Some(sched);
        }
        Ok((s, buggify))
    }

    /// The file's text: the fields, then `schedule` or `node_schedule` one event per line.
    pub fn to_toml(&self) -> String {
        let head = SeedFile { schedule: None, node_schedule: None, ..self.clone() };
        let mut out = toml::to_string(&head).expect("a seed file serializes");
        push_events(&mut out, "schedule", self.schedule.as_deref());
        push_events(&mut out, "node_schedule", self.node_schedule.as_deref());
        out
    }
}

/// An error naming the first of `events` at or past the run's `duration_s`.
fn within<F>(key: &str, events: &[(u64, F)], duration_s: u64) -> Result<(), String> {
    match events.iter().find(|(at, _)| *at >= duration_s * 1000) {
        Some((at, _)) => Err(format!("{key} event at {at} ms is past the run's {duration_s} s")),
        None => Ok(()),
    }
}

/// Appends `key = [ ... ]` to `out`, one entry per line, if there are `entries`.
fn push_events<T: Serialize>(out: &mut String, key: &str, entries: Option<&[T]>) {
    if let Some(entries) = entries {
        out.push_str(&format!("{key} = [\n"));
        for e in entries {
            let v = toml::Value::try_from(e).expect("a schedule entry serializes");
            out.push_str(&format!("    {},\n", inline(&v)));
        }
        out.push_str("]\n");
    }
}

/// A TOML value on one line (tables inline), keys in serialization order.
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            // A fault's `kind` first, then the rest (the table sorts its keys).
            let kind = t.iter().filter(|(k, _)| *k == "kind");
            let fields: Vec<String> =
                kind.chain(t.iter().filter(|(k, _)| *k != "kind")).map(|(k, v)| format!("{k} = {}", inline(v))).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        toml::Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// Every `*.toml` in `dir`, sorted by file name.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<SeedFile>, String> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut paths: Vec<_> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mut f: SeedFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        f.file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(f);
    }
    Ok(out)
}

/// Writes `f` into `dir` as `NNNN-<slug>.toml`, NNNN one past the highest
/// number there; returns the path.
pub fn write_new(dir: &std::path::Path, f: &SeedFile, slug: &str, header: &str) -> Result<std::path::PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let next = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_string_lossy().split('-').next().and_then(|n| n.parse::<u32>().ok()))
        .max()
        .map_or(1, |m| m + 1);
    let path = dir.join(format!("{next:04}-{slug}.toml"));
    let text = format!("{header}{}", f.to_toml());
    // The file must read back as what was meant.
    let mut back: SeedFile = toml::from_str(&text).map_err(|e| format!("the seed file would not parse: {e}\n{text}"))?;
    back.file = f.file.clone();
    if back != *f {
        return Err(format!("the seed file would not read back the same:\n{text}"));
    }
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
