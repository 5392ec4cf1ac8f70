//! The leader's side of one partition's replication (Kafka's `Partition` and
//! `ReplicaState`, with Chronik's durability rule): what the leader knows of each
//! follower from its fetches, the high watermark, and when the ISR should shrink or
//! grow. Pure bookkeeping; the broker feeds it fetches and its own log's offsets, and
//! carries out the ISR changes it proposes through the controller.
//!
//! # Rules (DESIGN §4, KIP-101/279/320)
//!
//! - A follower's fetch at `fetch_offset` tells the leader the follower's log end
//!   offset is `fetch_offset` (it has everything before it), and — Chronik's addition —
//!   its durable offset (what it has synced). A fetch with another leader epoch is not
//!   counted (the broker answers it with FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH).
//! - The high watermark is the minimum durable offset over the ISR, the leader's own
//!   included; it never goes backwards while this node leads (asserted), so a shrink of
//!   the ISR can only raise it.
//! - A follower is caught up at a fetch when its log end offset reaches the leader's log
//!   end offset as of that fetch; one not caught up for `replica_lag_time_max_ms` is
//!   lagging and is proposed for removal from the ISR (Kafka's `replica.lag.time.max.ms`).
//! - A follower outside the ISR is proposed for addition once its log end offset reaches
//!   both the high watermark and the start offset of the leader's current epoch.
//! - ISR changes are proposed, not made: one change is in flight at a time (a
//!   compare-and-set on the partition epoch through the controller); the leader applies
//!   the new ISR when the metadata says so ([`LeaderState::on_metadata`]).

use std::collections::BTreeMap;

use crate::cluster::metadata::PartitionEpoch;
use crate::types::{LeaderEpoch, Millis, NodeId, Offset};

/// What the leader knows of one follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset (its last fetch offset).
    pub log_end: Offset,
    /// What the follower has synced, as it last reported.
    pub durable: Offset,
    /// The last time the follower was caught up to the leader's log end.
    pub caught_up_at: Millis,
    pub last_fetch_at: Millis,
    /// Whether it fetched from this leader at all (only then can it join the ISR).
    pub fetched: bool,
}

/// A proposed ISR change, to be sent to the controller as `ChangeIsr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsrChange {
    pub isr: Vec<NodeId>,
    pub expected_partition_epoch: PartitionEpoch,
}

/// Why a follower fetch was not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchRefusal {
    /// The follower's epoch is older than the leader's: FENCED_LEADER_EPOCH.
    FencedEpoch,
    /// The follower's epoch is newer: UNKNOWN_LEADER_EPOCH (the leader lags the metadata).
    UnknownEpoch,
    /// Not a replica of this partition: NOT_LEADER_OR_FOLLOWER.
    NotAReplica,
    /// Fetching beyond the leader's log end: OFFSET_OUT_OF_RANGE.
    OutOfRange,
}

#[derive(Clone, Debug)]
pub struct LeaderState {
    me: NodeId,
    epoch: LeaderEpoch,
    /// The leader's log end offset when it became leader: the first offset of its epoch.
    epoch_start: Offset,
    replicas: Vec<NodeId>,
    isr: Vec<NodeId>,
    partition_epoch: PartitionEpoch,
    followers: BTreeMap<NodeId, FollowerProgress>,
    high_watermark: Offset,
    /// The ISR change proposed and not yet seen in the metadata.
    proposed: Option<IsrChange>,
    /// The latest time this state was told of.
    last_seen: Millis,
}

impl LeaderState {
    /// This node became leader at `epoch` with its log ending at `log_end` and the high
    /// watermark it had (as a follower, or from its log). Followers start caught up as of
    /// now, so none is dropped from the ISR before it had a chance to fetch.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        me: NodeId,
        epoch: LeaderEpoch,
        log_end: Offset,
        high_watermark: Offset,
        replicas: Vec<NodeId>,
        isr: Vec<NodeId>,
        partition_epoch: PartitionEpoch,
        now: Millis,
    ) -> LeaderState {
        assert!(isr.contains(&me), "a leader outside its ISR: {me:?} not in {isr:?}");
        assert!(isr.iter().all(|r| replicas.contains(r)), "ISR {isr:?} outside the replicas {replicas:?}");
        assert!(high_watermark <= log_end, "high watermark {high_watermark} beyond the log end {log_end}");
        let followers = replicas
            .iter()
            .filter(|r| **r != me)
            .map(|r| {
                (*r, FollowerProgress { log_end: Offset(0), durable: Offset(0), caught_up_at: now, last_fetch_at: now, fetched: false })
            })
            .collect();
        LeaderState {
            me,
            epoch,
            epoch_start: log_end,
            replicas,
            isr,
            partition_epoch,
            followers,
            high_watermark,
            proposed: None,
            last_seen: now,
        }
    }

    pub fn epoch(&self) -> LeaderEpoch {
        self.epoch
    }

    pub fn isr(&self) -> &[NodeId] {
        &self.isr
    }

    pub fn replicas(&self) -> &[NodeId] {
        &self.replicas
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    pub fn partition_epoch(&self) -> PartitionEpoch {
        self.partition_epoch
    }

    pub fn follower(&self, id: NodeId) -> Option<&FollowerProgress> {
        self.followers.get(&id)
    }

    /// A follower fetched at `fetch_offset` with its durable offset and leader epoch.
    /// `leader_log_end` is the leader's log end now. Returns the refusal, if any.
    pub fn on_follower_fetch(
        &mut self,
        follower: NodeId,
        epoch: LeaderEpoch,
        fetch_offset: Offset,
        durable: Offset,
        leader_log_end: Offset,
        now: Millis,
    ) -> Result<(), FetchRefusal> {
        if epoch < self.epoch {
            return Err(FetchRefusal::FencedEpoch);
        }
        if epoch > self.epoch {
            return Err(FetchRefusal::UnknownEpoch);
        }
        self.last_seen = self.last_seen.max(now);
        let Some(p) = self.followers.get_mut(&follower) else { return Err(FetchRefusal::NotAReplica) };
        if fetch_offset > leader_log_end {
            return Err(FetchRefusal::OutOfRange);
        }
        p.log_end = fetch_offset;
        // A follower cannot have synced more than it holds.
        p.durable = durable.min(fetch_offset);
        p.last_fetch_at = now;
        p.fetched = true;
        if fetch_offset >= leader_log_end {
            p.caught_up_at = now;
        }
        Ok(())
    }

    /// Recomputes the high watermark from the ISR's durable offsets and the leader's own
    /// durable offset; returns whether it moved. It never moves back.
    ///
    /// The ISR counted is the "maximal ISR" (Kafka's, KIP-497): the metadata's ISR plus
    /// any member an expansion in flight adds. Once the controller applies the
    /// expansion the new member may be elected leader, possibly before this leader
    /// hears of it, so it must already hold everything acknowledged.
    pub fn update_high_watermark(&mut self, leader_durable: Offset) -> bool {
        let mut hw = leader_durable;
        let joining = self.proposed.iter().flat_map(|p| p.isr.iter()).filter(|r| !self.isr.contains(r));
        for r in self.isr.iter().chain(joining).filter(|r| **r != self.me) {
            let durable = self.followers.get(r).map_or(Offset(0), |p| p.durable);
            hw = hw.min(durable);
        }
        if hw > self.high_watermark {
            self.high_watermark = hw;
            true
        } else {
            false
        }
    }

    /// The ISR change to propose now, if any and none is in flight: first drop lagging
    /// followers, else add caught-up ones.
    pub fn isr_change(&mut self, now: Millis, replica_lag_time_max_ms: i64) -> Option<IsrChange> {
        self.isr_change_among(now, replica_lag_time_max_ms, |_| true)
    }

    /// [`LeaderState::isr_change`], adding only followers `eligible` says may join (their
    /// broker is registered and unfenced: KIP-841) and that fetched within the lag time.
    /// A follower that stopped fetching must not join: while the change is in flight it
    /// counts for the high watermark, which it would hold still.
    pub fn isr_change_among(&mut self, now: Millis, replica_lag_time_max_ms: i64, eligible: impl Fn(NodeId) -> bool) -> Option<IsrChange> {
        self.last_seen = self.last_seen.max(now);
        if self.proposed.is_some() {
            return None;
        }
        let lagging: Vec<NodeId> = self
            .isr
            .iter()
            .copied()
            .filter(|r| *r != self.me)
            .filter(|r| self.followers.get(r).is_none_or(|p| now.0 - p.caught_up_at.0 > replica_lag_time_max_ms))
            .collect();
        let isr: Vec<NodeId> = if !lagging.is_empty() {
            self.isr.iter().copied().filter(|r| !lagging.contains(r)).collect()
        } else {
            let joining: Vec<NodeId> = self
                .followers
                .iter()
                .filter(|(r, p)| {
                    !self.isr.contains(r)
                        && eligible(**r)
                        && p.fetched
                        && now.0 - p.last_fetch_at.0 <= replica_lag_time_max_ms
                        && p.log_end >= self.high_watermark
                        && p.log_end >= self.epoch_start
                })
                .map(|(r, _)| *r)
                .collect();
            if joining.is_empty() {
                return None;
            }
            // Replica order, as the metadata keeps it.
            self.replicas.iter().copied().filter(|r| self.isr.contains(r) || joining.contains(r)).collect()
        };
        let change = IsrChange { isr, expected_partition_epoch: self.partition_epoch };
        self.proposed = Some(change.clone());
        Some(change)
    }

    /// The metadata moved on (an applied `ChangeIsr`, or a rejected one): take its ISR and
    /// partition epoch. Any proposal is settled either way; a rejected one is recomputed.
    pub fn on_metadata(&mut self, isr: Vec<NodeId>, partition_epoch: PartitionEpoch) {
        assert!(isr.contains(&self.me), "the metadata's ISR {isr:?} lost its leader {:?}", self.me);
        assert!(partition_epoch >= self.partition_epoch, "partition epoch went back");
        // A member that just joined counts as caught up now: joining asks only that it
        // reached the high watermark, and judging it by a catch-up from before it
        // left would drop it again at once (ISR flapping).
        let now = self.last_seen;
        for r in isr.iter().filter(|r| !self.isr.contains(r)) {
            if let Some(p) = self.followers.get_mut(r) {
                p.caught_up_at = p.caught_up_at.max(now);
            }
        }
        self.isr = isr;
        self.partition_epoch = partition_epoch;
        self.proposed = None;
    }

    /// The ISR change in flight, if any.
    pub fn proposal(&self) -> Option<&IsrChange> {
        self.proposed.as_ref()
    }

    /// A proposal that was not applied (rejected, or lost with a controller change) may
    /// be proposed again.
    pub fn forget_proposal(&mut self) {
        self.proposed = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAG_MS: i64 = 30_000;

    fn leader(now: i64) -> LeaderState {
        LeaderState::new(
            NodeId(0),
            LeaderEpoch(3),
            Offset(100),
            Offset(90),
            vec![NodeId(0), NodeId(1), NodeId(2)],
            vec![NodeId(0), NodeId(1), NodeId(2)],
            PartitionEpoch(7),
            Millis(now),
        )
    }

    /// A leader at epoch 3 whose only follower (1) is outside the ISR, its log and
    /// high watermark both at `end`.
    fn alone(end: i64) -> LeaderState {
        LeaderState::new(
            NodeId(0),
            LeaderEpoch(3),
            Offset(end),
            Offset(end),
            vec![NodeId(0), NodeId(1)],
            vec![NodeId(0)],
            PartitionEpoch(2),
            Millis(0),
        )
    }

    /// The high watermark is the least durable offset over the ISR, the leader's own
    /// included; it never goes back, and a follower's claim is capped at what it holds.
    #[test]
    fn high_watermark_is_the_isr_minimum_durable_offset() {
        let mut l = leader(0);
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(1)).unwrap();
        assert!(!l.update_high_watermark(Offset(100)), "follower 2 has reported nothing: nothing moves");
        l.on_follower_fetch(NodeId(2), LeaderEpoch(3), Offset(95), Offset(120), Offset(100), Millis(2)).unwrap();
        assert_eq!(l.follower(NodeId(2)).unwrap().durable, Offset(95), "durable capped at the fetch offset");
        assert!(l.update_high_watermark(Offset(98)));
        assert_eq!(l.high_watermark(), Offset(95));
        l.on_follower_fetch(NodeId(2), LeaderEpoch(3), Offset(100), Offset(93), Offset(100), Millis(3)).unwrap();
        assert!(!l.update_high_watermark(Offset(100)), "a lower report does not move the high watermark back");
        assert_eq!(l.high_watermark(), Offset(95));
    }

    /// Fetches from another epoch, a non-replica, or beyond the log end are refused and
    /// change nothing.
    #[test]
    fn stale_and_foreign_fetches_are_refused() {
        let mut l = leader(0);
        assert_eq!(
            l.on_follower_fetch(NodeId(1), LeaderEpoch(2), Offset(100), Offset(100), Offset(100), Millis(1)),
            Err(FetchRefusal::FencedEpoch)
        );
        assert_eq!(
            l.on_follower_fetch(NodeId(1), LeaderEpoch(4), Offset(100), Offset(100), Offset(100), Millis(1)),
            Err(FetchRefusal::UnknownEpoch)
        );
        assert_eq!(
            l.on_follower_fetch(NodeId(9), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(1)),
            Err(FetchRefusal::NotAReplica)
        );
        assert_eq!(
            l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(101), Offset(100), Offset(100), Millis(1)),
            Err(FetchRefusal::OutOfRange)
        );
        assert_eq!(l.follower(NodeId(1)).unwrap().log_end, Offset(0));
    }

    /// A follower not caught up for the lag time is proposed out of the ISR, one change
    /// at a time; the leader adopts the ISR when the metadata applies it, and the high
    /// watermark then follows the remaining members only.
    #[test]
    fn lagging_followers_leave_the_isr() {
        let mut l = leader(0);
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(LAG_MS)).unwrap();
        assert_eq!(l.isr_change(Millis(LAG_MS), LAG_MS), None, "nobody lags yet");
        let change = l.isr_change(Millis(LAG_MS + 1), LAG_MS).expect("follower 2 lags");
        assert_eq!(change, IsrChange { isr: vec![NodeId(0), NodeId(1)], expected_partition_epoch: PartitionEpoch(7) });
        assert_eq!(l.isr_change(Millis(LAG_MS + 2), LAG_MS), None, "one change in flight");
        l.on_metadata(vec![NodeId(0), NodeId(1)], PartitionEpoch(8));
        assert!(l.update_high_watermark(Offset(100)));
        assert_eq!(l.high_watermark(), Offset(100));
    }

    /// A follower outside the ISR rejoins once it reaches the high watermark and the
    /// start of the leader's epoch; not before.
    #[test]
    fn caught_up_followers_rejoin() {
        let mut l = alone(100);
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(99), Offset(99), Offset(100), Millis(1)).unwrap();
        assert_eq!(l.isr_change(Millis(1), LAG_MS), None, "below the high watermark and the epoch start");
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(2)).unwrap();
        let change = l.isr_change(Millis(2), LAG_MS).expect("caught up");
        assert_eq!(change.isr, vec![NodeId(0), NodeId(1)]);
        // The controller rejected it (the partition moved on): it may be proposed again.
        l.forget_proposal();
        assert!(l.isr_change(Millis(3), LAG_MS).is_some());
    }

    /// While an expansion is in flight the joining follower already counts for the
    /// high watermark: the controller may elect it as soon as the change applies.
    #[test]
    fn a_joining_follower_counts_for_the_high_watermark() {
        let mut l = alone(100);
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(1)).unwrap();
        assert!(l.isr_change(Millis(1), LAG_MS).is_some());
        // The leader appends up to 110 and syncs; the joining follower has 100 only.
        assert!(!l.update_high_watermark(Offset(110)), "held at the joining follower's durable offset");
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(110), Offset(110), Offset(110), Millis(2)).unwrap();
        assert!(l.update_high_watermark(Offset(110)));
        assert_eq!(l.high_watermark(), Offset(110));
    }

    /// A follower that never fetched from this leader, stopped fetching, or whose broker
    /// is not eligible (fenced) is not proposed, however far its last fetch reached.
    #[test]
    fn only_fetching_eligible_followers_rejoin() {
        let mut l = alone(0);
        assert_eq!(l.isr_change(Millis(1), LAG_MS), None, "never fetched");
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(0), Offset(0), Offset(0), Millis(2)).unwrap();
        assert_eq!(l.isr_change_among(Millis(3), LAG_MS, |_| false), None, "fenced");
        assert_eq!(l.isr_change(Millis(3 + LAG_MS), LAG_MS), None, "stopped fetching");
        assert!(l.isr_change(Millis(3), LAG_MS).is_some());
    }

    /// A follower that rejoins the ISR after an absence longer than the lag time is not
    /// dropped again at once for its old catch-up time.
    #[test]
    fn a_rejoined_follower_is_not_dropped_at_once() {
        let mut l = leader(0);
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(1)).unwrap();
        l.on_follower_fetch(NodeId(2), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(1)).unwrap();
        let t = 10 * LAG_MS;
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(100), Offset(100), Offset(100), Millis(t)).unwrap();
        let shrink = l.isr_change(Millis(t), LAG_MS).expect("follower 2 lags");
        l.on_metadata(shrink.isr, PartitionEpoch(8));
        // Follower 2 returns, reaches the high watermark but not the log end (110).
        l.on_follower_fetch(NodeId(2), LeaderEpoch(3), Offset(100), Offset(100), Offset(110), Millis(t + 1)).unwrap();
        let grow = l.isr_change(Millis(t + 1), LAG_MS).expect("follower 2 rejoins");
        l.on_metadata(grow.isr, PartitionEpoch(9));
        l.on_follower_fetch(NodeId(1), LeaderEpoch(3), Offset(110), Offset(110), Offset(110), Millis(t + 2)).unwrap();
        assert_eq!(l.isr_change(Millis(t + 2), LAG_MS), None, "no flapping");
    }

    /// A new leader gives every follower a full lag period before it can be dropped.
    #[test]
    fn a_new_leader_does_not_drop_followers_at_once() {
        let mut l = leader(1_000_000);
        assert_eq!(l.isr_change(Millis(1_000_000 + LAG_MS), LAG_MS), None);
        assert!(l.isr_change(Millis(1_000_001 + LAG_MS), LAG_MS).is_some());
    }
}
