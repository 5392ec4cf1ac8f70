//! Named scenarios, one TOML file each in `scenarios/`. STUB: parsing to be written.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Simulated seconds of the safety phase (faults on).
    pub duration_s: u64,
    /// Broker nodes (1 until cluster mode).
    #[serde(default = "one")]
    pub nodes: usize,
    pub workload: WorkloadSpec,
    #[serde(default)]
    pub faults: FaultMix,
    pub checks: Checks,
    /// Topic configs for the workload's topic (e.g. a small `segment.bytes` to force rolls).
    #[serde(default)]
    pub topic_configs: std::collections::BTreeMap<String, String>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub partitions: i32,
    /// Producers per acks level, each writing unique values.
    #[serde(default)]
    pub producers_acks_all: usize,
    #[serde(default)]
    pub producers_acks_1: usize,
    #[serde(default)]
    pub producers_acks_0: usize,
    /// Records per produce request.
    #[serde(default = "one")]
    pub batch_records: usize,
    /// Bytes per value (values are unique; padded to this size).
    #[serde(default)]
    pub value_bytes: usize,
    /// Consumers reading every partition during the run.
    #[serde(default)]
    pub consumers: usize,
    /// Pause between produce requests of one producer, ms.
    #[serde(default)]
    pub produce_interval_ms: u64,
    /// Members of one consumer group ([`crate::group_client`]) reading the
    /// topic from their committed offsets (0: no group).
    #[serde(default)]
    pub group_members: usize,
    /// The acks=all producers are idempotent (InitProducerId, sequence
    /// numbers) and retry the same batch after a lost answer.
    #[serde(default)]
    pub idempotent: bool,
    /// Planted bug (never set in a scenario file; the default run sets it): idempotent
    /// producers retry their batches without producer id or sequence, so a retry
    /// of a batch that was written is written again, which `unique` must catch.
    #[serde(default)]
    pub plant_unsequenced_retries: bool,
}

/// Relative weights of fault kinds (0 = never), and how many faults per run.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultMix {
    #[serde(default)]
    pub events: usize,
    #[serde(default)]
    pub crash: u32,
    #[serde(default)]
    pub pause: u32,
    #[serde(default)]
    pub clog: u32,
    /// One-way partitions (inbound or outbound only).
    #[serde(default)]
    pub clog_one_way: u32,
    #[serde(default)]
    pub disk_write_errors: u32,
    #[serde(default)]
    pub disk_sync_errors: u32,
    #[serde(default)]
    pub disk_read_errors: u32,
    #[serde(default)]
    pub disk_full: u32,
    #[serde(default)]
    pub latent_corruption: u32,
    /// Network latency (ms) range for client links.
    #[serde(default)]
    pub net_latency_ms: (u64, u64),
    /// Packet loss rate on the network.
    #[serde(default)]
    pub net_loss: f64,
    /// Faults of group members (client side) per run, drawn over the members
    /// by these weights: a crash (the member loses its state and returns as a
    /// new member) or a pause past its session timeout (it returns with its old
    /// member id and must rejoin).
    #[serde(default)]
    pub member_events: usize,
    #[serde(default)]
    pub member_crash: u32,
    #[serde(default)]
    pub member_pause: u32,
}

/// Which checks apply (a scenario that corrupts synced data on a single node
/// cannot promise that every acknowledgement survives).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    #[serde(default)]
    pub acked_readable: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub consumer_order: bool,
    #[serde(default)]
    pub hw_monotonic: bool,
    #[serde(default)]
    pub valid_batches: bool,
    #[serde(default)]
    pub liveness: bool,
    /// Committed offsets never go backwards (group workload).
    #[serde(default)]
    pub offsets_monotonic: bool,
    /// Assignments within a generation are disjoint (group workload).
    #[serde(default)]
    pub group_assignment: bool,
    /// After the faults stop the group becomes stable with every partition assigned.
    #[serde(default)]
    pub group_liveness: bool,
}

/// Parse one scenario from TOML text; `origin` (a file name) prefixes every error.
pub fn parse(text: &str, origin: &str) -> Result<Scenario, String> {
    let s: Scenario = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    validate(&s).map_err(|e| format!("{origin}: {e}"))?;
    Ok(s)
}

/// Load every `*.toml` in `dir`, sorted by name.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<Scenario>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out: Vec<Scenario> = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let s = parse(&text, &path.display().to_string())?;
        if let Some(other) = out.iter().find(|o| o.name == s.name) {
            return Err(format!("{}: scenario name {:?} used twice", path.display(), other.name));
        }
        out.push(s);
    }
    Ok(out)
}

/// Sanity limits, so a typo fails at load time rather than as a strange run.
fn validate(s: &Scenario) -> Result<(), String> {
    if s.name.is_empty() {
        return Err("empty name".into());
    }
    if s.duration_s == 0 {
        return Err("duration_s must be > 0".into());
    }
    if s.nodes == 0 {
        return Err("nodes must be > 0".into());
    }
    let w = &s.workload;
    if w.partitions <= 0 {
        return Err("workload.partitions must be > 0".into());
    }
    if w.batch_records == 0 {
        return Err("workload.batch_records must be > 0".into());
    }
    if w.producers_acks_all + w.producers_acks_1 + w.producers_acks_0 == 0 {
        return Err("workload has no producers".into());
    }
    let f = &s.faults;
    if f.net_latency_ms.0 > f.net_latency_ms.1 {
        return Err("faults.net_latency_ms: min > max".into());
    }
    if !(0.0..=1.0).contains(&f.net_loss) {
        return Err("faults.net_loss must be within 0..=1".into());
    }
    if f.events > 0 && f.total_weight() == 0 {
        return Err("faults.events > 0 but every weight is 0".into());
    }
    if f.member_events > 0 && (f.member_crash + f.member_pause == 0 || w.group_members == 0) {
        return Err("faults.member_events > 0 needs member weights and workload.group_members > 0".into());
    }
    let c = &s.checks;
    if (c.offsets_monotonic || c.group_assignment || c.group_liveness) && w.group_members == 0 {
        return Err("group checks need workload.group_members > 0".into());
    }
    Ok(())
}

impl FaultMix {
    /// Sum of the kind weights.
    pub fn total_weight(&self) -> u64 {
        [
            self.crash,
            self.pause,
            self.clog,
            self.disk_write_errors,
            self.disk_sync_errors,
            self.disk_read_errors,
            self.disk_full,
            self.latent_corruption,
            self.clog_one_way,
        ]
        .iter()
        .map(|w| *w as u64)
        .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenarios_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    // Proves: every file in scenarios/ parses and passes the sanity limits, and the required ones exist.
    #[test]
    fn every_scenario_file_parses() {
        let all = load_dir(&scenarios_dir()).unwrap();
        for name in [
            "acks-all-burst-crash",
            "segment-roll-crash",
            "failing-sync",
            "disk-full",
            "torn-tail-restart",
            "network-clog",
            "latent-corruption",
            "group-member-crash-pause",
            "idempotent-retry-crash",
        ] {
            assert!(all.iter().any(|s| s.name == name), "missing scenario {name}");
        }
        for s in &all {
            assert!((10..=30).contains(&s.duration_s), "{}: duration {}", s.name, s.duration_s);
        }
        let lc = all.iter().find(|s| s.name == "latent-corruption").unwrap();
        assert!(!lc.checks.acked_readable && lc.checks.valid_batches);
    }

    // Proves: each file's name matches the scenario name inside it.
    #[test]
    fn file_names_match() {
        for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                let s = parse(&std::fs::read_to_string(&path).unwrap(), "x").unwrap();
                assert_eq!(path.file_stem().unwrap().to_str().unwrap(), s.name);
            }
        }
    }

    // Proves: errors name the file, and unknown fields are refused.
    #[test]
    fn errors_name_the_file() {
        let e = parse("name = \"x\"\nbogus = 1\n", "scenarios/x.toml").unwrap_err();
        assert!(e.starts_with("scenarios/x.toml:"), "{e}");
        let text = r#"
name = "x"
description = "d"
duration_s = 10
workload = { partitions = 0, producers_acks_all = 1 }
checks = {}
"#;
        let e = parse(text, "f.toml").unwrap_err();
        assert!(e.contains("f.toml") && e.contains("partitions"), "{e}");
        let dir = std::env::temp_dir().join(format!("chronik-scn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bad.toml"), "name = ").unwrap();
        let e = load_dir(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("bad.toml"), "{e}");
    }

    // Proves: a minimal scenario takes the defaults (one node, no faults).
    #[test]
    fn defaults() {
        let text = r#"
name = "x"
description = "d"
duration_s = 10
[workload]
partitions = 2
producers_acks_all = 1
[checks]
unique = true
"#;
        let s = parse(text, "x.toml").unwrap();
        assert_eq!(s.nodes, 1);
        assert_eq!(s.workload.batch_records, 1);
        assert_eq!(s.faults, FaultMix::default());
        assert!(s.checks.unique && !s.checks.liveness);
    }
}
