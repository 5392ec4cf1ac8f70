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
}

/// Load every `*.toml` in `dir`, sorted by name.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<Scenario>, String> {
    let _ = dir;
    todo!()
}
