//! Fault schedules: a value (a list of timed events) generated from the seed and
//! a scenario's fault mix, printed with the seed when a run fails. STUB.

use crate::scenario::FaultMix;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Power loss of a node; it restarts after the given time.
    Crash { node: usize, restart_after_ms: u64 },
    /// The node's tasks stop running for a while.
    Pause { node: usize, resume_after_ms: u64 },
    /// The node's network drops everything for a while.
    Clog { node: usize, duration_ms: u64 },
    /// For a while, a share (per mille) of the node's disk writes fail.
    DiskWriteErrors { node: usize, per_mille: u32, duration_ms: u64 },
    DiskSyncErrors { node: usize, per_mille: u32, duration_ms: u64 },
    DiskReadErrors { node: usize, per_mille: u32, duration_ms: u64 },
    /// The disk is full for a while.
    DiskFull { node: usize, duration_ms: u64 },
    /// A synced sector of a data file is damaged.
    LatentCorruption { node: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FaultSchedule {
    /// (simulated ms from the start, fault), sorted by time.
    pub events: Vec<(u64, Fault)>,
}

impl FaultSchedule {
    /// Draw `mix.events` faults over `duration_ms` from `seed`, each kind by weight.
    pub fn generate(seed: u64, mix: &FaultMix, nodes: usize, duration_ms: u64) -> FaultSchedule {
        let _ = (seed, mix, nodes, duration_ms);
        todo!()
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
