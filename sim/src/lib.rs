//! The simulator: `chronik-core` under crashes, lost writes, disk and network
//! faults, on madsim's deterministic runtime, replayable from a seed.
//!
//! Each simulated broker node runs the same `chronik_core::Broker` as production,
//! through [`node`], a driver that honours the same contract as `runtime-tokio`
//! (madsim TCP instead of sockets, [`disk::SimDisk`] instead of files, madsim time).
//! Clients ([`client`], [`workload`]) speak the Kafka wire protocol to the nodes
//! and record what was acknowledged in a [`ledger::Ledger`]; a
//! [`faults::FaultSchedule`] generated from the seed crashes, pauses and cuts
//! nodes and breaks their disks; the [`check`]ers judge the history. A
//! [`scenario::Scenario`] (a file in `scenarios/`) names the workload, the fault
//! mix and the checks. [`runner`] ties one seed together; [`trace`] records what
//! happened and hashes it, so a run can be compared byte for byte.
//!
//! Cluster scenarios (a `[cluster]` section) run several brokers in cluster
//! mode over the simulator's own peer network ([`cluster::net`]), under
//! partitions, leader isolation, crashes of any node and lossy links
//! ([`cluster::faults`]), with clients creating topics
//! ([`cluster::workload`]); every node's `Output::Event`s go to a
//! [`cluster::ClusterLog`] judged by `check::raft_safety`,
//! `check::partition_leaders` and `check::cluster_liveness`
//! (`runner::cluster`; `scenarios/README.md` says how to run them).
//!
//! Everything here only builds under `--cfg madsim` (set for the workspace in
//! `.cargo/config.toml`).

#![cfg(madsim)]

pub mod check;
pub mod client;
pub mod cluster;
pub mod disk;
pub mod faults;
pub mod fuzz_input;
pub mod group_client;
pub mod group_ledger;
pub mod idempotent;
pub mod ledger;
pub mod node;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod swarm;
pub mod trace;
pub mod workload;
