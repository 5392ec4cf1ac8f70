//! Partition replication (issue 5), the decisions only: the leader's bookkeeping of
//! its followers, the high watermark and ISR changes ([`leader`]); a follower's
//! divergence check, truncation point and fetch position ([`follower`]). Both are pure
//! state machines with their own tests; the broker will drive them with follower
//! fetches over peer messages, the partition log (its leader-epoch cache and
//! truncation) and the controller (`ChangeIsr`).
//!
//! Not wired into the broker yet.

pub mod follower;
pub mod leader;
