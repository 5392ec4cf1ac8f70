//! A follower's side of one partition's replication (Kafka's `ReplicaFetcherThread`
//! per partition, KIP-101/279): after every leader change, find where its log diverges
//! from the new leader's and truncate there, then fetch from its log end.
//!
//! Pure decisions: the broker tells it what the local log looks like ([`LogView`]) and
//! what the leader answered; it says what to send and where to truncate.
//!
//! # Divergence (KIP-279)
//!
//! The follower asks the leader for the end offset of the follower's latest epoch
//! (OffsetForLeaderEpoch). The leader answers the largest epoch it has that is not
//! above the asked one, and where that epoch ends in its log.
//! - Same epoch: everything up to that end offset is common; truncate to it (or to the
//!   local log end, if shorter).
//! - A smaller epoch E: the follower's later epochs never reached the leader. If the
//!   follower has E too, truncate to the smaller of the two end offsets for it. If it
//!   does not (its largest epoch at or below E is an older one, E'), its records from
//!   where E' ends on are of epochs the leader never had: truncate there and ask again
//!   for E' (Kafka's intermediate truncation). Taking E's end offset instead would keep
//!   records of E' at offsets where the leader holds records of E.
//! - No epoch (the leader's log starts after it): truncate to the leader's answer, the
//!   start of what it holds (KIP-101 fallback; the follower then fetches from there).
//!
//! Truncation never goes below the follower's high watermark: committed records are on
//! every in-sync replica, so a divergence point below it is a broken invariant, reported
//! as [`Divergence::BelowHighWatermark`] for the broker to refuse (and log) rather than
//! destroy committed data.

use crate::types::{LeaderEpoch, NodeId, Offset};

/// What the follower's local log looks like now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogView {
    pub log_end: Offset,
    /// The latest leader epoch in the local epoch cache; `None` for an empty log.
    pub latest_epoch: Option<LeaderEpoch>,
    pub high_watermark: Offset,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowerRequest {
    /// OffsetForLeaderEpoch for the follower's latest epoch, fenced by the leader's epoch.
    EpochEnd { leader: NodeId, current_leader_epoch: LeaderEpoch, epoch: LeaderEpoch },
    /// Fetch from `offset` (the local log end) at the leader's epoch.
    Fetch { leader: NodeId, current_leader_epoch: LeaderEpoch, offset: Offset },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Must find the divergence point before fetching.
    CheckEpoch,
    /// Asked the leader for the end of `asked`.
    AwaitingEpochEnd {
        asked: LeaderEpoch,
    },
    Fetching,
}

/// Truncation that would destroy committed records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Divergence {
    BelowHighWatermark { truncate_to: Offset, high_watermark: Offset },
}

#[derive(Clone, Debug)]
pub struct FollowerState {
    leader: NodeId,
    leader_epoch: LeaderEpoch,
    phase: Phase,
}

impl FollowerState {
    /// Following `leader` at `leader_epoch` (from the metadata): the divergence check
    /// comes first.
    pub fn new(leader: NodeId, leader_epoch: LeaderEpoch) -> FollowerState {
        FollowerState { leader, leader_epoch, phase: Phase::CheckEpoch }
    }

    pub fn leader(&self) -> NodeId {
        self.leader
    }

    pub fn leader_epoch(&self) -> LeaderEpoch {
        self.leader_epoch
    }

    pub fn is_fetching(&self) -> bool {
        self.phase == Phase::Fetching
    }

    /// What to send next, or `None` while an answer is awaited.
    pub fn next_request(&mut self, log: LogView) -> Option<FollowerRequest> {
        let (leader, current_leader_epoch) = (self.leader, self.leader_epoch);
        match self.phase {
            Phase::CheckEpoch => match log.latest_epoch {
                // Nothing local can diverge.
                None => {
                    self.phase = Phase::Fetching;
                    Some(FollowerRequest::Fetch { leader, current_leader_epoch, offset: log.log_end })
                }
                Some(epoch) => {
                    self.phase = Phase::AwaitingEpochEnd { asked: epoch };
                    Some(FollowerRequest::EpochEnd { leader, current_leader_epoch, epoch })
                }
            },
            Phase::AwaitingEpochEnd { .. } => None,
            Phase::Fetching => Some(FollowerRequest::Fetch { leader, current_leader_epoch, offset: log.log_end }),
        }
    }

    /// The leader answered the epoch query with (`epoch`, `end_offset`) (Kafka's
    /// UNDEFINED is `None`). `own_end_for(e)` is the local epoch cache's answer for `e`:
    /// the largest local epoch at or below `e` and where it ends (`None` if there is
    /// none). Returns where to truncate (`None`: nothing to cut); after an intermediate
    /// truncation the check goes on ([`FollowerState::is_fetching`] stays false).
    pub fn on_epoch_end(
        &mut self,
        answer: Option<(LeaderEpoch, Offset)>,
        log: LogView,
        own_end_for: impl Fn(LeaderEpoch) -> Option<(LeaderEpoch, Offset)>,
    ) -> Result<Option<Offset>, Divergence> {
        let Phase::AwaitingEpochEnd { asked } = self.phase else { return Ok(None) };
        let mut done = true;
        let truncate_to = match answer {
            Some((epoch, end)) if epoch == asked => end.min(log.log_end),
            Some((epoch, end)) => match own_end_for(epoch) {
                Some((own, own_end)) if own == epoch => end.min(own_end).min(log.log_end),
                // Only older epochs here: cut where the newest of them ends, ask again.
                Some((_, own_end)) => {
                    done = false;
                    own_end.min(log.log_end)
                }
                None => end.min(log.log_end),
            },
            // The leader knows no epoch at or below ours: keep nothing it cannot vouch
            // for beyond what is committed.
            None => log.high_watermark,
        };
        if truncate_to < log.high_watermark {
            // Stay in the check: a later metadata change may resolve it; never cut.
            self.phase = Phase::CheckEpoch;
            return Err(Divergence::BelowHighWatermark { truncate_to, high_watermark: log.high_watermark });
        }
        self.phase = if done { Phase::Fetching } else { Phase::CheckEpoch };
        Ok((truncate_to < log.log_end).then_some(truncate_to))
    }

    /// The leader refused a request. FENCED_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER /
    /// UNKNOWN_LEADER_EPOCH: wait for the metadata to name the new leader and epoch
    /// ([`FollowerState::new`] again). OFFSET_OUT_OF_RANGE: check the divergence again.
    pub fn on_out_of_range(&mut self) {
        self.phase = Phase::CheckEpoch;
    }

    /// An epoch query was lost (timeout): ask again.
    pub fn on_epoch_query_lost(&mut self) {
        if matches!(self.phase, Phase::AwaitingEpochEnd { .. }) {
            self.phase = Phase::CheckEpoch;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(log_end: i64, latest: Option<i32>, hw: i64) -> LogView {
        LogView { log_end: Offset(log_end), latest_epoch: latest.map(LeaderEpoch), high_watermark: Offset(hw) }
    }

    /// An empty follower fetches at once; one with records asks for its latest epoch's end first.
    #[test]
    fn the_divergence_check_comes_before_fetching() {
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        assert_eq!(
            f.next_request(view(0, None, 0)),
            Some(FollowerRequest::Fetch { leader: NodeId(1), current_leader_epoch: LeaderEpoch(4), offset: Offset(0) })
        );
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        assert_eq!(
            f.next_request(view(50, Some(3), 40)),
            Some(FollowerRequest::EpochEnd { leader: NodeId(1), current_leader_epoch: LeaderEpoch(4), epoch: LeaderEpoch(3) })
        );
        assert_eq!(f.next_request(view(50, Some(3), 40)), None, "waiting for the answer");
    }

    /// The leader has our epoch and it ends before our log end: truncate there; a log
    /// that ends first keeps everything.
    #[test]
    fn same_epoch_truncates_to_the_leaders_end() {
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        f.next_request(view(50, Some(3), 40));
        assert_eq!(f.on_epoch_end(Some((LeaderEpoch(3), Offset(45))), view(50, Some(3), 40), |_| unreachable!()), Ok(Some(Offset(45))));
        assert!(f.is_fetching());
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        f.next_request(view(50, Some(3), 40));
        assert_eq!(f.on_epoch_end(Some((LeaderEpoch(3), Offset(60))), view(50, Some(3), 40), |_| unreachable!()), Ok(None));
    }

    /// Our latest epoch never reached the leader: cut to where the leader's and our
    /// older epoch both end (KIP-279).
    #[test]
    fn an_unknown_epoch_truncates_to_the_common_older_epoch() {
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(6));
        f.next_request(view(80, Some(5), 40));
        let own = |e: LeaderEpoch| Some((e, if e == LeaderEpoch(3) { Offset(70) } else { Offset(80) }));
        assert_eq!(f.on_epoch_end(Some((LeaderEpoch(3), Offset(60))), view(80, Some(5), 40), own), Ok(Some(Offset(60))));
        assert!(f.is_fetching());
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(6));
        f.next_request(view(80, Some(5), 40));
        let own = |e: LeaderEpoch| Some((e, Offset(55)));
        assert_eq!(f.on_epoch_end(Some((LeaderEpoch(3), Offset(60))), view(80, Some(5), 40), own), Ok(Some(Offset(55))));
    }

    /// The leader answers an epoch the follower never had (leader epochs 0, 1 against
    /// the follower's 0, 2): the follower's epoch-0 records past where its epoch 0
    /// ends may sit at offsets where the leader holds epoch-1 records. It cuts to its
    /// own end of epoch 0, asks again for epoch 0, and only then fetches.
    #[test]
    fn an_epoch_the_follower_never_had_truncates_in_steps() {
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(3));
        assert!(matches!(f.next_request(view(500, Some(2), 300)), Some(FollowerRequest::EpochEnd { epoch: LeaderEpoch(2), .. })));
        let own = |_: LeaderEpoch| Some((LeaderEpoch(0), Offset(490)));
        assert_eq!(f.on_epoch_end(Some((LeaderEpoch(1), Offset(410))), view(500, Some(2), 300), own), Ok(Some(Offset(490))));
        assert!(!f.is_fetching(), "the check goes on");
        assert!(matches!(f.next_request(view(490, Some(0), 300)), Some(FollowerRequest::EpochEnd { epoch: LeaderEpoch(0), .. })));
        assert_eq!(f.on_epoch_end(Some((LeaderEpoch(0), Offset(373))), view(490, Some(0), 300), |_| unreachable!()), Ok(Some(Offset(373))));
        assert!(f.is_fetching());
    }

    /// A divergence point below the high watermark is refused, never carried out, and
    /// the check starts over.
    #[test]
    fn never_below_the_high_watermark() {
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        f.next_request(view(50, Some(3), 40));
        assert_eq!(
            f.on_epoch_end(Some((LeaderEpoch(3), Offset(30))), view(50, Some(3), 40), |_| unreachable!()),
            Err(Divergence::BelowHighWatermark { truncate_to: Offset(30), high_watermark: Offset(40) })
        );
        assert!(!f.is_fetching());
        assert!(matches!(f.next_request(view(50, Some(3), 40)), Some(FollowerRequest::EpochEnd { .. })));
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        f.next_request(view(50, Some(3), 40));
        assert_eq!(
            f.on_epoch_end(None, view(50, Some(3), 40), |_| unreachable!()),
            Ok(Some(Offset(40))),
            "undefined: keep what is committed"
        );
    }

    /// Out of range and lost queries send the follower back to the divergence check.
    #[test]
    fn errors_restart_the_check() {
        let mut f = FollowerState::new(NodeId(1), LeaderEpoch(4));
        f.next_request(view(0, None, 0));
        assert!(f.is_fetching());
        f.on_out_of_range();
        assert!(matches!(f.next_request(view(10, Some(4), 0)), Some(FollowerRequest::EpochEnd { .. })));
        f.on_epoch_query_lost();
        assert!(matches!(f.next_request(view(10, Some(4), 0)), Some(FollowerRequest::EpochEnd { .. })));
    }
}
