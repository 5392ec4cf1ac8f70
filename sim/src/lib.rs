//! The simulation harness for `chronik-core`.
//!
//! Placeholder: the madsim harness (simulated disk, network faults, workloads and
//! invariant checkers) arrives with the simulator issue. It will drive the same
//! `chronik_core::Broker` through the same input/output contract that
//! `runtime-tokio` uses.
