//! Named scenarios, one TOML file each in `scenarios/`.
//!
//! A scenario with a `[cluster]` section ([`ClusterSpec`]) runs a cluster of
//! brokers in cluster mode (`runner::cluster`); its `[workload]` may be left
//! out and its checks are the cluster ones (`raft_safety`, `partition_leaders`,
//! `cluster_liveness`).

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
    /// Single-node runs: producers and consumers. Ignored by cluster runs.
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// Cluster mode: nodes, peer network and cluster fault weights.
    #[serde(default)]
    pub cluster: Option<ClusterSpec>,
    #[serde(default)]
    pub faults: FaultMix,
    pub checks: Checks,
    /// Topic configs for the workload's topic (e.g. a small `segment.bytes` to force rolls).
    #[serde(default)]
    pub topic_configs: std::collections::BTreeMap<String, String>,
    /// Whether the default run (`cargo test -p sim`, no `--scenario`) sweeps it.
    /// `false` only for a scenario that fails on a known core bug (say which in its
    /// description): the file stays, and `--scenario NAME` still runs it.
    #[serde(default = "yes")]
    pub default_run: bool,
    /// Single-node runs: an explicit fault schedule the run takes instead of
    /// drawing one from the seed and `faults` (the schedule fuzz target's).
    /// Never read from a scenario file.
    #[serde(skip)]
    pub schedule: Option<crate::faults::FaultSchedule>,
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
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

/// What the clients of a cluster run do.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterWorkload {
    /// No clients: Raft elections and broker registrations only.
    #[default]
    Elections,
    /// Clients create topics (RF 1 and 3, a few partitions) on random brokers
    /// and ask random brokers for Metadata.
    Topics,
    /// Clients create one replicated topic ([`DataSpec`]), produce unique values
    /// to its partition leaders (acks=all and acks=1), consume it, and read it
    /// back at the end (`cluster::data`).
    Data,
}

/// The `[cluster.data]` section of a data workload: the topic's shape and the clients.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(default = "one_i32")]
    pub partitions: i32,
    #[serde(default = "three_i16")]
    pub replication_factor: i16,
    #[serde(default = "two_i64")]
    pub min_insync_replicas: i64,
    /// Producers per acks level (values unique per run, never sent twice).
    #[serde(default = "two_usize")]
    pub producers_acks_all: usize,
    #[serde(default)]
    pub producers_acks_1: usize,
    #[serde(default = "one")]
    pub batch_records: usize,
    #[serde(default = "value_bytes")]
    pub value_bytes: usize,
    /// Consumers reading every partition from its leader during the run.
    #[serde(default = "one")]
    pub consumers: usize,
    /// Pause between produce requests of one producer, ms.
    #[serde(default = "produce_interval_ms")]
    pub produce_interval_ms: u64,
    /// Kafka's `replica.lag.time.max.ms` for the run (short, so the ISR shrinks
    /// and regrows within a seed).
    #[serde(default = "replica_lag_time_max_ms")]
    pub replica_lag_time_max_ms: i64,
    /// The acks=all producers are idempotent (`cluster::data::run_idempotent_producer`):
    /// they retry a batch with the same sequence across leader changes, and a
    /// retry must never be written twice.
    #[serde(default)]
    pub idempotent: bool,
}

impl Default for DataSpec {
    fn default() -> DataSpec {
        DataSpec {
            partitions: 1,
            replication_factor: 3,
            min_insync_replicas: 2,
            producers_acks_all: 2,
            producers_acks_1: 0,
            batch_records: 1,
            value_bytes: value_bytes(),
            consumers: 1,
            produce_interval_ms: produce_interval_ms(),
            replica_lag_time_max_ms: replica_lag_time_max_ms(),
            idempotent: false,
        }
    }
}

fn one_i32() -> i32 {
    1
}
fn three_i16() -> i16 {
    3
}
fn two_i64() -> i64 {
    2
}
fn two_usize() -> usize {
    2
}
fn value_bytes() -> usize {
    32
}
fn produce_interval_ms() -> u64 {
    20
}
fn replica_lag_time_max_ms() -> i64 {
    3_000
}

/// The `[cluster]` section: cluster size, the peer network's links, and the
/// weights of cluster faults (`events` of them drawn per seed; see
/// `cluster::faults`).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Brokers, every one a Raft voter (3 or 5).
    pub nodes: usize,
    #[serde(default)]
    pub workload: ClusterWorkload,
    /// Clients of the topics workload.
    #[serde(default = "one")]
    pub clients: usize,
    /// Data runs: clients of the topics workload beside the data clients, so
    /// Raft keeps appending metadata records (new topics, their leaders) while
    /// the faults hit; the data clients alone append little once the topic
    /// exists. The swarm draws it (0 in scenario files unless set).
    #[serde(default)]
    pub topic_clients: usize,
    /// Peer links: base latency and jitter (ms), and the steady loss,
    /// duplication and reordering probabilities.
    #[serde(default = "two")]
    pub latency_ms: u64,
    #[serde(default = "three")]
    pub jitter_ms: u64,
    #[serde(default)]
    pub loss: f64,
    #[serde(default)]
    pub duplicate: f64,
    #[serde(default)]
    pub reorder: f64,
    #[serde(default)]
    pub events: usize,
    /// Crash of a random node, of the current Raft leader (the controller).
    #[serde(default)]
    pub crash: u32,
    #[serde(default)]
    pub crash_leader: u32,
    /// Cut the current Raft leader off from every peer.
    #[serde(default)]
    pub isolate_leader: u32,
    /// Symmetric partitions: a minority against a majority, or no side with a majority.
    #[serde(default)]
    pub partition_minority: u32,
    #[serde(default)]
    pub partition_no_quorum: u32,
    /// One-way cuts (a node's outbound or inbound links, or one link).
    #[serde(default)]
    pub one_way: u32,
    /// Windows of heavy loss, duplication and reordering.
    #[serde(default)]
    pub lossy: u32,
    /// Data workload: the topic and its clients.
    #[serde(default)]
    pub data: DataSpec,
    /// Faults aimed at the data topic's partition 0 (`cluster::faults`): power
    /// loss of its leader or of one follower, its leader cut off from every
    /// peer (both ways; `zombie_leader` also points the producers at it), one
    /// way, a quick run of leader changes, a follower's partition data wiped,
    /// the ISR shrunk to the leader and then the leader crashed, every node
    /// crashed at once.
    #[serde(default)]
    pub crash_partition_leader: u32,
    #[serde(default)]
    pub crash_partition_follower: u32,
    #[serde(default)]
    pub isolate_partition_leader: u32,
    #[serde(default)]
    pub zombie_leader: u32,
    #[serde(default)]
    pub one_way_partition_leader: u32,
    #[serde(default)]
    pub leader_churn: u32,
    #[serde(default)]
    pub wipe_replica: u32,
    #[serde(default)]
    pub isr_shrink_crash: u32,
    #[serde(default)]
    pub crash_all: u32,
    /// An explicit fault schedule the run takes instead of drawing `events`
    /// faults from the seed (a shrunk seed file's `schedule`; `crate::shrink`).
    /// Never read from a scenario file.
    #[serde(skip)]
    pub schedule: Option<crate::cluster::faults::ClusterSchedule>,
    /// Power loss of the data partition's leader for 15-25 s: past the broker
    /// session timeout, so the controller must fence it and move the leadership
    /// while it is down (`check::leader_failover` judges that).
    #[serde(default)]
    pub crash_partition_leader_long: u32,
    /// A follower cut off from hearing anything (so its metadata keeps the old
    /// leader epoch) while the data partition's leader crashes briefly (re-elected
    /// at a new epoch) and then for longer (the stale follower is elected).
    #[serde(default)]
    pub stale_follower_reelect: u32,
}

fn two() -> u64 {
    2
}

fn three() -> u64 {
    3
}

impl ClusterSpec {
    pub fn total_weight(&self) -> u64 {
        self.weights().iter().map(|w| u64::from(*w)).sum()
    }

    /// Every fault weight, in the order `cluster::faults` draws them.
    pub fn weights(&self) -> [u32; 18] {
        [
            self.crash,
            self.crash_leader,
            self.isolate_leader,
            self.partition_minority,
            self.partition_no_quorum,
            self.one_way,
            self.lossy,
            self.crash_partition_leader,
            self.crash_partition_follower,
            self.isolate_partition_leader,
            self.zombie_leader,
            self.one_way_partition_leader,
            self.leader_churn,
            self.wipe_replica,
            self.isr_shrink_crash,
            self.crash_all,
            self.crash_partition_leader_long,
            self.stale_follower_reelect,
        ]
    }

    /// Sum of the weights of the old (metadata-only) fault kinds.
    fn metadata_weight(&self) -> u64 {
        [self.crash, self.crash_leader, self.isolate_leader, self.partition_minority, self.partition_no_quorum, self.one_way, self.lossy]
            .iter()
            .map(|w| u64::from(*w))
            .sum()
    }
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
    /// Cluster runs: one Raft leader per term, terms never go back, committed
    /// entries never change, every node applies a prefix of one history.
    #[serde(default)]
    pub raft_safety: bool,
    /// Cluster runs: one leader per partition and leader epoch, epochs only
    /// grow, leader in ISR, ISR within replicas and never empty.
    #[serde(default)]
    pub partition_leaders: bool,
    /// Cluster runs: after healing, one Raft leader known to all and a leader
    /// for every partition with a live ISR member, within the liveness window.
    #[serde(default)]
    pub cluster_liveness: bool,
    /// Cluster data runs: per node, partition and leader epoch the reported high
    /// watermark never decreases and never exceeds the log end.
    #[serde(default)]
    pub replica_hw: bool,
    /// Cluster data runs: at the end every offset below the leader's high
    /// watermark holds the same batch bytes on every replica that holds it.
    #[serde(default)]
    pub replica_agreement: bool,
    /// Cluster data runs: no follower truncated below the committed offset it knew.
    #[serde(default)]
    pub truncation: bool,
    /// Cluster data runs: after healing every data partition has a leader and a
    /// full ISR within the window, and the final read-back succeeds.
    #[serde(default)]
    pub replication_liveness: bool,
    /// Cluster data runs: a data partition whose leader has been down (crashed)
    /// past the broker session timeout plus slack, while every other node is up
    /// and the network whole, has a new leader by then.
    #[serde(default)]
    pub leader_failover: bool,
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
pub(crate) fn validate(s: &Scenario) -> Result<(), String> {
    if s.name.is_empty() {
        return Err("empty name".into());
    }
    if s.duration_s == 0 {
        return Err("duration_s must be > 0".into());
    }
    if s.nodes == 0 {
        return Err("nodes must be > 0".into());
    }
    let c = &s.checks;
    let cluster_checks = c.raft_safety
        || c.partition_leaders
        || c.cluster_liveness
        || c.replica_hw
        || c.replica_agreement
        || c.truncation
        || c.replication_liveness;
    if let Some(cl) = &s.cluster {
        return validate_cluster(s, cl);
    }
    if cluster_checks {
        return Err("cluster checks need a [cluster] section".into());
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

fn validate_cluster(s: &Scenario, c: &ClusterSpec) -> Result<(), String> {
    if !(3..=7).contains(&c.nodes) {
        return Err("cluster.nodes must be within 3..=7".into());
    }
    if s.nodes != 1 {
        return Err("a cluster scenario sets cluster.nodes, not nodes".into());
    }
    for (name, p) in [("loss", c.loss), ("duplicate", c.duplicate), ("reorder", c.reorder)] {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("cluster.{name} must be within 0..=1"));
        }
    }
    if c.events > 0 && c.total_weight() == 0 {
        return Err("cluster.events > 0 but every weight is 0".into());
    }
    if s.faults != FaultMix::default() {
        return Err("a cluster scenario draws its faults from [cluster], not [faults]".into());
    }
    let k = &s.checks;
    let data = c.workload == ClusterWorkload::Data;
    if k.hw_monotonic || k.liveness {
        return Err("a cluster scenario judges high watermarks with replica_hw and liveness with replication_liveness".into());
    }
    if !data && (k.acked_readable || k.unique || k.consumer_order || k.valid_batches) {
        return Err("acked_readable, unique, consumer_order and valid_batches need cluster.workload = \"data\"".into());
    }
    if !data && (k.replica_hw || k.replica_agreement || k.truncation || k.replication_liveness) {
        return Err("replication checks need cluster.workload = \"data\"".into());
    }
    if !data && c.topic_clients > 0 {
        return Err("cluster.topic_clients is for data runs (a topics run sets cluster.clients)".into());
    }
    if !data && c.total_weight() != c.metadata_weight() {
        return Err("partition faults need cluster.workload = \"data\"".into());
    }
    if data {
        let d = &c.data;
        if d.partitions <= 0 || d.replication_factor <= 0 || d.replication_factor as usize > c.nodes {
            return Err("cluster.data: partitions > 0 and 0 < replication_factor <= nodes".into());
        }
        if d.min_insync_replicas < 1 || d.producers_acks_all + d.producers_acks_1 == 0 || d.batch_records == 0 {
            return Err("cluster.data: min_insync_replicas >= 1, some producers, batch_records > 0".into());
        }
    }
    if k.offsets_monotonic || k.group_assignment || k.group_liveness {
        return Err("a cluster scenario has no group workload".into());
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
