//! `chronik-core`: the deterministic, sans-IO heart of Chronik.
//!
//! The core never performs IO, never reads a clock and never draws randomness of its
//! own. A driver (the tokio runtime in production, the madsim harness in the
//! simulator) feeds it [`io::Input`]s with the current time and drains its
//! [`io::Output`]s: bytes for connections, disk operations to start, and so on. See
//! [`broker::Broker`] for the exact contract.
//!
//! Modules:
//! - [`types`]: newtypes for offsets, epochs, ids and time.
//! - [`io`]: the inputs, outputs and disk operations exchanged with a driver.
//! - [`protocol`]: the Kafka wire codec, bounded by the bytes present.
//! - [`records`]: record batch validation, compression and timestamps.
//! - [`log`]: the partition log (segments, indexes, recovery, retention).
//! - [`group`]: the group coordinator (consumer groups, committed offsets).
//! - [`broker`]: connections, request dispatch and the Kafka APIs.
//! - [`config`]: broker and topic configuration.
//! - [`cluster`]: the Raft metadata quorum and its controller (cluster mode).
//! - [`replication`]: partition replication's leader and follower state machines.
//! - [`buggify`]: simulator-only fault points (compiled out of production).

pub mod broker;
pub mod buggify;
pub mod cluster;
pub mod config;
pub mod group;
pub mod io;
pub mod log;
pub mod protocol;
pub mod records;
pub mod replication;
#[cfg(test)]
pub(crate) mod testdisk;
pub mod types;

pub use broker::Broker;
