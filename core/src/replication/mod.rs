//! Partition replication (issue 5), the decisions only: the leader's bookkeeping of
//! its followers, the high watermark and ISR changes ([`leader`]); a follower's
//! divergence check, truncation point and fetch position ([`follower`]). Both are pure
//! state machines with their own tests; the broker drives them
//! (`broker::replication`) with follower fetches over peer messages, the partition
//! log (its leader-epoch cache, truncation and replicated appends) and the
//! controller (`ChangeIsr`).

pub mod follower;
pub mod leader;
