//! Cluster mode's metadata layer (issue 4): the metadata state machine, the
//! controller's decisions, and the Raft node that agrees on the metadata log.
//!
//! - [`metadata`]: commands (postcard), validation on apply, queries, snapshots.
//! - [`controller`]: pure decisions of the Raft leader — replica placement, leader
//!   election from the ISR when a broker is fenced.
//! - [`raft`]: raft-rs's `RawNode` driven sans-IO, with a deterministic election timeout,
//!   persistence as explicit writes, snapshots and log compaction, recovery.
//!
//! Not wired into the broker or the simulator yet.

pub mod controller;
pub mod events;
pub mod metadata;
pub mod peer;
pub mod raft;

#[cfg(test)]
mod tests;
