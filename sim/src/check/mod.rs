//! The checkers (DESIGN §5), one file each. The single-node ones judge the
//! [`Ledger`] of one finished run; the cluster ones (`raft_safety`,
//! `partition_leaders`, `cluster_liveness`) judge the [`TaggedEvent`]s every
//! node reported. Each returns its violations; a scenario's [`Checks`] says
//! which apply.

use crate::cluster::TaggedEvent;
use crate::ledger::Ledger;
use crate::scenario::Checks;

pub mod acked_readable;
pub mod cluster_liveness;
pub mod consumer_order;
pub mod group_assignment;
pub mod group_liveness;
pub mod hw_monotonic;
pub mod leader_failover;
pub mod liveness;
pub mod offsets_monotonic;
pub mod partition_leaders;
pub mod raft_safety;
pub mod replica_agreement;
pub mod replica_hw;
pub mod replication_liveness;
pub mod truncation;
pub mod unique;
pub mod valid_batches;

#[cfg(test)]
mod testutil;

/// One broken property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The checker's name (its file name).
    pub checker: &'static str,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.checker, self.message)
    }
}

/// A checker: the ledger in, one message per violation out.
pub type Checker = fn(&Ledger) -> Vec<String>;

/// At most this many violations are reported per checker; the rest are counted.
pub const MAX_PER_CHECKER: usize = 20;

/// Run every enabled checker over the ledger.
pub fn run_checks(checks: &Checks, ledger: &Ledger) -> Vec<Violation> {
    let mut out = Vec::new();
    let all: [(bool, &'static str, Checker); 9] = [
        (checks.acked_readable, acked_readable::NAME, acked_readable::check),
        (checks.unique, unique::NAME, unique::check),
        (checks.consumer_order, consumer_order::NAME, consumer_order::check),
        (checks.hw_monotonic, hw_monotonic::NAME, hw_monotonic::check),
        (checks.valid_batches, valid_batches::NAME, valid_batches::check),
        (checks.liveness, liveness::NAME, liveness::check),
        (checks.offsets_monotonic, offsets_monotonic::NAME, offsets_monotonic::check),
        (checks.group_assignment, group_assignment::NAME, group_assignment::check),
        (checks.group_liveness, group_liveness::NAME, group_liveness::check),
    ];
    for (enabled, checker, check) in all {
        if !enabled {
            continue;
        }
        out.extend(capped(checker, check(ledger)));
    }
    out
}

/// A cluster checker: every node's events in, one message per violation out.
pub type ClusterChecker = fn(&[TaggedEvent]) -> Vec<String>;

/// Run the enabled cluster safety checkers (`raft_safety`, `partition_leaders`,
/// `replica_hw`, `truncation`)
/// over every node's events. `cluster_liveness` is judged by the runner at the
/// end of its window.
pub fn run_cluster_checks(checks: &Checks, events: &[TaggedEvent]) -> Vec<Violation> {
    let all: [(bool, &'static str, ClusterChecker); 4] = [
        (checks.raft_safety, raft_safety::NAME, raft_safety::check),
        (checks.partition_leaders, partition_leaders::NAME, partition_leaders::check),
        (checks.replica_hw, replica_hw::NAME, replica_hw::check),
        (checks.truncation, truncation::NAME, truncation::check),
    ];
    let mut out = Vec::new();
    for (enabled, checker, check) in all {
        if enabled {
            out.extend(capped(checker, check(events)));
        }
    }
    out
}

/// At most [`MAX_PER_CHECKER`] violations of one checker, then a count of the rest.
pub fn capped(checker: &'static str, messages: Vec<String>) -> Vec<Violation> {
    let total = messages.len();
    let mut out: Vec<Violation> = messages.into_iter().take(MAX_PER_CHECKER).map(|message| Violation { checker, message }).collect();
    if total > MAX_PER_CHECKER {
        out.push(Violation { checker, message: format!("... and {} more", total - MAX_PER_CHECKER) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    // Proves: disabled checkers are not run, enabled ones are, and output is capped per checker.
    #[test]
    fn runs_only_enabled_and_caps() {
        let mut l = clean_ledger();
        l.final_readback = Some(Err("down".into()));
        for i in 0..30 {
            l.record_invalid_batch(0, 0, i, "crc");
        }
        assert!(run_checks(&Checks::default(), &l).is_empty());
        let v = run_checks(&Checks { liveness: true, ..Default::default() }, &l);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].checker, "liveness");
        let v = run_checks(&Checks { valid_batches: true, ..Default::default() }, &l);
        assert_eq!(v.len(), MAX_PER_CHECKER + 1);
        assert!(v.last().unwrap().message.contains("10 more"));
    }

    // Proves: a clean history passes every checker.
    #[test]
    fn clean_history_passes_all() {
        let all: Checks = crate::swarm::single_node_checks(true);
        assert_eq!(run_checks(&all, &clean_ledger()), vec![]);
    }
}
