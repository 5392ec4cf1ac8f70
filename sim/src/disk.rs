//! The simulated disk. STUB: see the doc comments for the contract.
//!
//! madsim's own file system ignores sync and power loss, so this one is ours. Per
//! file it keeps what the process sees and what survives a crash.

use std::time::Duration;

use chronik_core::io::{DiskOp, DiskResult};

/// Fault rates and latencies; all draws come from the disk's seeded generator.
#[derive(Debug, Clone, Default)]
pub struct DiskFaultConfig {
    /// Probability that one Write fails (nothing written).
    pub write_error_rate: f64,
    /// Probability that one Read fails.
    pub read_error_rate: f64,
    /// Probability that one Sync fails (its unsynced writes stay unsynced and may be lost).
    pub sync_error_rate: f64,
    /// Writes fail with "no space left" once the disk holds this many bytes (0 = unlimited).
    pub capacity_bytes: u64,
}

pub struct SimDisk {
    _private: (),
}

impl SimDisk {
    /// An empty disk whose faults and latencies draw from `seed`.
    pub fn new(seed: u64) -> SimDisk {
        let _ = seed;
        todo!()
    }

    pub fn set_faults(&mut self, faults: DiskFaultConfig) {
        let _ = faults;
        todo!()
    }

    /// Carry out one operation (no time passes here), honouring the contract in
    /// `chronik_core::io`.
    pub fn execute(&mut self, op: &DiskOp) -> DiskResult {
        let _ = op;
        todo!()
    }

    /// How long this operation takes (seeded; syncs take longer).
    pub fn latency(&mut self, op: &DiskOp) -> Duration {
        let _ = op;
        todo!()
    }

    /// Power loss: each file keeps its synced contents plus a random prefix of the
    /// writes since, the last kept write possibly torn at a 512-byte sector
    /// boundary; open handles are gone.
    pub fn crash(&mut self) {
        todo!()
    }

    /// Latent corruption: damage one sector of synced data in a random `.log`
    /// file. Returns the file and position, or `None` if there is none.
    pub fn corrupt_random_sector(&mut self) -> Option<(String, u64)> {
        todo!()
    }

    /// Current contents of a file as the process sees it (tests, checkers).
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        let _ = path;
        todo!()
    }
}
