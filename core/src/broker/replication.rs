//! Partition replication in a cluster: the broker's glue between the metadata (who
//! leads which partition at which epoch, the ISR), the partition logs and the
//! peer network, around the pure state machines of [`crate::replication`].
//!
//! # Roles
//! After every metadata change (and when a log becomes ready) each local partition
//! takes the role the metadata gives this node ([`Broker::sync_replica_roles`]):
//! - **Leader** ([`LeaderState`]): answers followers' [`PeerMessage::ReplicaFetch`]
//!   from its log (records whose write completed, up to `replica_fetch_bytes_max`;
//!   a fetch that finds nothing new is held up to `replica_fetch_wait_max_ms`), learns
//!   each follower's log end and durable offset from its fetches, and keeps the high
//!   watermark at the least durable offset over the ISR (its own included). A moved
//!   high watermark wakes `acks=all` produces and consumers, becomes the log's
//!   committed offset (never truncated) and is reported as
//!   [`ClusterEvent::HighWatermark`]. ISR changes go to the controller as
//!   [`ControllerRequest::ChangeIsr`] with the partition epoch as compare-and-set.
//! - **Follower** ([`FollowerState`]): after every leader change first asks the leader
//!   where its latest epoch ends ([`PeerMessage::EpochQuery`]) and truncates to the
//!   divergence point (never below its committed offset), then fetches from its log
//!   end. It appends the leader's batches byte for byte
//!   ([`crate::log::PartitionLog::append_replicated`]), syncs at once, and sends its
//!   next fetch only when everything it holds is durable, so each fetch reports a
//!   durable offset equal to its log end. One request is in flight per partition;
//!   an answer is matched by `seq`, and a lost one is re-sent after
//!   [`REPLICA_REQUEST_TIMEOUT_MS`] beyond the leader's hold time.
//! - **Idle**: a replica without a leader, or a partition this node does not hold a
//!   replica of; its high watermark is what it last knew to be committed.
//!
//! # A restarted leader never resumes its old epoch
//! A leader that crashed may have lost records it wrote in its epoch but had not
//! synced, while followers hold them. Leading on at that epoch it would write other
//! records at the same offsets and epoch, and the followers' fetches (same epoch,
//! same log end) would count the different records as the same: replicas disagree
//! below the high watermark. So until the metadata holds this process's own
//! registration (its incarnation, unfenced), every epoch at which the metadata names
//! it leader is barred (`lead_barred`); afterwards, a partition the metadata still
//! gives it at a barred epoch is left idle and the controller is asked to elect it
//! again ([`ControllerRequest::Reelect`]): a new epoch, whose followers truncate to
//! where its log ends, before it takes records.
//!
//! # A replica that lost its log leaves the ISR before it may lead
//! A replica whose partition directory is lost or replaced (a disk swapped, a
//! directory wiped while the broker was down) comes back with an empty log while the
//! metadata may still count it in the ISR — as a holder of every committed record.
//! Elected, it would lead with nothing and its followers would truncate to match:
//! acknowledged records gone although other replicas still held them. So a log that
//! opens without any segment (a log that ever existed keeps its active segment) or
//! with the [`crate::log::INCOMPLETE_MARKER`] file marks its partition *incomplete*:
//! the marker is written durably (a crash before the catch-up keeps the mark), the
//! replica never leads, and it asks the controller to take it out of the ISR
//! ([`ControllerRequest::LeaveIsr`]; leadership moves to another live ISR member
//! first). As a follower meanwhile it fetches as usual, and since its durable offset
//! counts while it is an ISR member the high watermark cannot pass what it holds.
//! Once the metadata shows it outside the ISR the mark is cleared: from there the
//! ordinary rule brings it back, when it has caught up. If it is the ISR's only
//! member no other replica is known to hold more, and it carries on, as Kafka would,
//! with an error in the log.
//!
//! Standalone brokers never leave the `Standalone` role: the high watermark is the
//! durable offset, as before.
//!
//! # Why acknowledged writes survive
//! `acks=all` is answered when the high watermark covers the records, so they are
//! synced on every ISR member the leader counts. The leader counts the ISR as the
//! metadata has it plus any member it proposed to add (the "maximal ISR", see
//! [`LeaderState::update_high_watermark`]); the controller elects new leaders only
//! from the metadata's ISR, so every possible new leader holds the records durably
//! and never truncates below what it knew was committed.

use bytes::Bytes;

use crate::buggify::Point;
use crate::cluster::events::ClusterEvent;
use crate::cluster::peer::{ControllerRequest, Fetched, PeerMessage, RawBytes};
use crate::io::{DiskOp, Output};
use crate::log::{IoScope, LogError, LogState, ReadId, ReplicaAppendError};
use crate::protocol::error_code;
use crate::replication::follower::{Divergence, FollowerRequest, FollowerState, LogView};
use crate::replication::leader::{FetchRefusal, IsrChange, LeaderState};
use crate::types::{LeaderEpoch, Millis, NodeId, Offset, TopicId};

use super::topics::TopicState;
use super::{Broker, MetaOp, Pending, ReqId};

/// A follower re-sends a request not answered within the leader's hold time plus this.
pub const REPLICA_REQUEST_TIMEOUT_MS: i64 = 2_000;
/// A follower waits this long after a refused request (the metadata is moving).
const REPLICA_RETRY_MS: i64 = 200;
/// A leader forgets an ISR change the metadata has not shown within this long.
const ISR_PROPOSAL_RETRY_MS: i64 = 2_000;

/// What this node does for one partition's replication.
#[derive(Debug)]
pub enum Replica {
    /// Not in a cluster: the high watermark is the durable offset.
    Standalone,
    /// In a cluster, neither leading nor following.
    Idle,
    Leader(LeaderLink),
    Follower(FollowerLink),
}

#[derive(Debug)]
pub struct LeaderLink {
    pub state: LeaderState,
    /// When the ISR change in flight was sent to the controller.
    isr_proposed_at: Option<Millis>,
    /// The log end the last [`ClusterEvent::HighWatermark`] carried.
    reported_end: Offset,
}

#[derive(Debug)]
pub struct FollowerLink {
    pub state: FollowerState,
    /// The leader's high watermark as last answered.
    pub leader_hw: Offset,
    /// The request in flight: its `seq` and when it was sent.
    in_flight: Option<(u64, Millis)>,
    /// No request before this (after a refusal).
    retry_at: Millis,
}

/// A follower's fetch the leader is answering (a read in flight, or held for new records).
#[derive(Debug)]
pub struct ReplicaFetchPending {
    from: NodeId,
    topic_id: TopicId,
    partition: i32,
    seq: u64,
    owner: u64,
    leader_epoch: LeaderEpoch,
    fetch_offset: Offset,
    deadline: Millis,
    read: Option<ReadId>,
    data: Option<Result<Bytes, LogError>>,
}

impl ReplicaFetchPending {
    pub fn deadline(&self) -> Millis {
        self.deadline
    }

    pub(crate) fn on_read(&mut self, read: ReadId, result: Result<Bytes, LogError>) {
        if self.read == Some(read) {
            self.read = None;
            self.data = Some(result);
        }
    }
}

fn isr_request(topic: &str, partition: i32, change: IsrChange) -> ControllerRequest {
    ControllerRequest::ChangeIsr {
        topic: topic.to_string(),
        partition,
        isr: change.isr,
        expected_partition_epoch: change.expected_partition_epoch,
    }
}

fn refusal_code(r: FetchRefusal) -> i16 {
    match r {
        FetchRefusal::FencedEpoch => error_code::FENCED_LEADER_EPOCH,
        FetchRefusal::UnknownEpoch => error_code::UNKNOWN_LEADER_EPOCH,
        FetchRefusal::NotAReplica => error_code::NOT_LEADER_OR_FOLLOWER,
        FetchRefusal::OutOfRange => error_code::OFFSET_OUT_OF_RANGE,
    }
}

impl Broker {
    // ---- roles ----

    /// Gives every local partition the role the metadata assigns this node.
    pub(crate) fn sync_replica_roles(&mut self) {
        self.sync_replica_roles_of(None);
    }

    /// [`Broker::sync_replica_roles`] for one partition (`Some(owner)`: its log just
    /// became ready) or all (`None`: the metadata moved). Partitions whose role
    /// changed have their waiters re-checked and, as followers, start fetching.
    pub(crate) fn sync_replica_roles_of(&mut self, only: Option<u64>) {
        let Some(c) = self.cluster.as_mut() else { return };
        let me = self.config.node_id;
        let registered = c.registered(me);
        let Some(state) = c.raft.as_ref().map(|r| r.metadata()) else { return };
        let barred = &mut c.lead_barred;
        let incomplete = &mut c.incomplete;
        let now = self.now;
        let mut changed = Vec::new();
        let mut complete_again = Vec::new();
        for (owner, p) in self.partitions.iter_mut().filter(|(o, _)| only.is_none_or(|x| x == **o)) {
            let meta = self
                .topics
                .get(&p.topic)
                .filter(|t| t.state == TopicState::Live)
                .and_then(|t| state.topic(&p.topic).filter(|mt| mt.id == t.id))
                .and_then(|mt| mt.partitions.get(p.index as usize));
            let Some(mp) = meta else {
                p.replica = Replica::Idle;
                continue;
            };
            if !p.is_ready() {
                continue; // roles are taken when the log is ready
            }
            let key = (p.topic.clone(), p.index);
            if mp.leader == Some(me) && !registered {
                let e = barred.entry(key.clone()).or_insert(mp.leader_epoch);
                *e = (*e).max(mp.leader_epoch);
            }
            let mut lacks_records = incomplete.contains(owner);
            if lacks_records && (!mp.isr.contains(&me) || mp.isr.len() == 1) {
                if mp.isr.contains(&me) {
                    tracing::error!(topic = %p.topic, partition = p.index, "the only in-sync replica lost its log: carrying on with what it holds; acknowledged records may be lost");
                } else {
                    tracing::info!(topic = %p.topic, partition = p.index, "out of the ISR: the replica catches up and rejoins as usual");
                }
                incomplete.remove(owner);
                complete_again.push(p.log.incomplete_marker_path());
                lacks_records = false;
            }
            let may_lead = registered && !lacks_records && barred.get(&key).is_none_or(|b| mp.leader_epoch > *b);
            if mp.leader == Some(me) && !may_lead {
                if !matches!(p.replica, Replica::Idle) {
                    if lacks_records {
                        tracing::warn!(topic = %p.topic, partition = p.index, epoch = mp.leader_epoch.0, "not leading with a log that lost records; asking to leave the ISR");
                    } else {
                        tracing::info!(topic = %p.topic, partition = p.index, epoch = mp.leader_epoch.0, "not leading at an epoch from before this start; asking for a new one");
                    }
                    p.replica = Replica::Idle;
                    changed.push(*owner);
                }
            } else if mp.leader == Some(me) {
                match &mut p.replica {
                    Replica::Leader(l) if l.state.epoch() == mp.leader_epoch => {
                        if l.state.partition_epoch() != mp.partition_epoch {
                            l.state.on_metadata(mp.isr.clone(), mp.partition_epoch);
                            l.isr_proposed_at = None;
                        }
                    }
                    _ => {
                        let committed = p.log.committed_offset();
                        tracing::info!(topic = %p.topic, partition = p.index, epoch = mp.leader_epoch.0, log_end = %p.log.log_end_offset(), %committed, "leading partition");
                        let state = LeaderState::new(
                            me,
                            mp.leader_epoch,
                            p.log.log_end_offset(),
                            committed,
                            mp.replicas.clone(),
                            mp.isr.clone(),
                            mp.partition_epoch,
                            now,
                        );
                        p.replica = Replica::Leader(LeaderLink { state, isr_proposed_at: None, reported_end: Offset(-1) });
                        changed.push(*owner);
                    }
                }
            } else if let (Some(leader), true) = (mp.leader, mp.replicas.contains(&me)) {
                let same =
                    matches!(&p.replica, Replica::Follower(f) if f.state.leader() == leader && f.state.leader_epoch() == mp.leader_epoch);
                if !same {
                    tracing::info!(topic = %p.topic, partition = p.index, leader = leader.0, epoch = mp.leader_epoch.0, "following partition");
                    p.replica = Replica::Follower(FollowerLink {
                        state: FollowerState::new(leader, mp.leader_epoch),
                        leader_hw: p.log.committed_offset(),
                        in_flight: None,
                        retry_at: now,
                    });
                    changed.push(*owner);
                }
            } else if !matches!(p.replica, Replica::Idle) {
                p.replica = Replica::Idle;
                changed.push(*owner);
            }
        }
        for path in complete_again {
            let id = self.meta_io().submit(DiskOp::Remove { path: path.clone() });
            self.meta_ops.insert(id, MetaOp::IncompleteMarker { path, written: false });
        }
        for owner in changed {
            self.update_leader_hw(owner, true);
            if let Some(p) = self.partitions.get_mut(&owner) {
                let waiters = std::mem::take(&mut p.hw_waiters);
                self.recheck.extend(waiters);
            }
            self.drive_follower(owner);
        }
    }

    /// Asks the controller for a new epoch of every partition the metadata names this
    /// broker leader of at a barred epoch (every cluster tick; the controller drops
    /// repeats).
    pub(crate) fn request_reelections(&mut self) {
        let me = self.config.node_id;
        let Some(c) = self.cluster.as_ref() else { return };
        if !c.registered(me) {
            return;
        }
        let Some(state) = c.metadata() else { return };
        let requests: Vec<ControllerRequest> = c
            .lead_barred
            .iter()
            .filter_map(|((topic, partition), barred)| {
                let p = state.partition(topic, *partition)?;
                (p.leader == Some(me) && p.leader_epoch <= *barred).then(|| ControllerRequest::Reelect {
                    topic: topic.clone(),
                    partition: *partition,
                    leader_epoch: p.leader_epoch,
                })
            })
            .collect();
        for r in requests {
            self.send_to_controller(r);
        }
    }

    /// Marks `owner` incomplete if its log just opened without the records it held
    /// (cluster mode; see the module docs), and writes the marker that keeps the mark
    /// across a crash.
    pub(crate) fn note_incomplete_replica(&mut self, owner: u64) {
        let Some(c) = self.cluster.as_mut() else { return };
        let Some(p) = self.partitions.get(&owner).filter(|p| p.log.opened_incomplete()) else { return };
        if !c.incomplete.insert(owner) {
            return;
        }
        tracing::warn!(topic = %p.topic, partition = p.index, "the partition log came back without the records it held (directory lost or replaced): not leading, leaving the ISR until caught up");
        let path = p.log.incomplete_marker_path();
        let id = self.meta_io().submit(DiskOp::ReplaceFile { path: path.clone(), data: Bytes::new() });
        self.meta_ops.insert(id, MetaOp::IncompleteMarker { path, written: true });
    }

    /// Asks the controller to take every incomplete local replica out of its
    /// partition's ISR (every cluster tick while the metadata still has it there).
    pub(crate) fn request_isr_exits(&mut self) {
        let me = self.config.node_id;
        let Some(c) = self.cluster.as_mut() else { return };
        let partitions = &self.partitions;
        c.incomplete.retain(|owner| partitions.contains_key(owner));
        let Some(state) = c.metadata() else { return };
        let requests: Vec<ControllerRequest> = c
            .incomplete
            .iter()
            .filter_map(|owner| partitions.get(owner))
            .filter(|p| state.partition(&p.topic, p.index).is_some_and(|mp| mp.isr.contains(&me) && mp.isr.len() > 1))
            .map(|p| ControllerRequest::LeaveIsr { topic: p.topic.clone(), partition: p.index })
            .collect();
        for r in requests {
            self.send_to_controller(r);
        }
    }

    /// Whether this node leads `owner` at `epoch` with its replication set up: the only
    /// state in which a cluster partition takes records or answers `acks=all`.
    pub(crate) fn leads_at(&self, owner: u64, epoch: LeaderEpoch) -> bool {
        match self.partitions.get(&owner).map(|p| &p.replica) {
            Some(Replica::Standalone) => true,
            Some(Replica::Leader(l)) => l.state.epoch() == epoch,
            _ => false,
        }
    }

    /// The ISR members the leader of `owner` counts towards `min.insync.replicas`:
    /// those not fenced (a fenced member may stay in the ISR to remain eligible, see
    /// [`crate::cluster::controller::on_broker_fenced`], but cannot confirm records
    /// now). 1 standalone.
    pub(crate) fn isr_size(&self, owner: u64) -> usize {
        let me = self.config.node_id;
        let state = self.cluster.as_ref().and_then(|c| c.metadata());
        match self.partitions.get(&owner).map(|p| &p.replica) {
            Some(Replica::Leader(l)) => l.state.isr().iter().filter(|b| **b == me || state.is_none_or(|s| s.is_live(**b))).count(),
            _ => 1,
        }
    }

    // ---- the leader ----

    /// Recomputes a leader's high watermark from its durable offset and its followers';
    /// `report` also reports it unmoved (a new leader). A report goes out too when only
    /// the log end moved, so the latest one always tells whether the high watermark
    /// has caught up with the log (the simulator waits for that before it judges).
    pub(crate) fn update_leader_hw(&mut self, owner: u64, report: bool) {
        let Some(p) = self.partitions.get_mut(&owner) else { return };
        let Replica::Leader(l) = &mut p.replica else { return };
        let moved = l.state.update_high_watermark(p.log.durable_offset());
        let end = p.log.log_end_offset();
        if !moved && !report && end == l.reported_end {
            return;
        }
        l.reported_end = end;
        let hw = l.state.high_watermark();
        p.log.advance_committed(hw);
        if moved {
            let waiters = std::mem::take(&mut p.hw_waiters);
            self.recheck.extend(waiters);
        }
        let event = ClusterEvent::HighWatermark {
            topic: p.topic.clone(),
            partition: p.index,
            leader_epoch: l.state.epoch(),
            high_watermark: hw,
            log_end: end,
        };
        self.emit(Output::Event(event));
    }

    /// A follower's fetch arrived.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_replica_fetch(
        &mut self,
        from: NodeId,
        topic_id: TopicId,
        partition: i32,
        leader_epoch: LeaderEpoch,
        fetch_offset: Offset,
        durable: Offset,
        seq: u64,
    ) {
        let now = self.now;
        let refuse = |b: &mut Broker, code: i16| {
            b.send_peer(from, &PeerMessage::ReplicaFetched { topic_id, partition, seq, result: Err(code) });
        };
        let Some(owner) = self.owner_by_id(topic_id, partition) else { return refuse(self, error_code::UNKNOWN_TOPIC_OR_PARTITION) };
        let p = self.partitions.get_mut(&owner).expect("owner exists");
        let Replica::Leader(l) = &mut p.replica else { return refuse(self, error_code::NOT_LEADER_OR_FOLLOWER) };
        if !matches!(p.log.state(), LogState::Ready) || p.log.truncating() {
            return refuse(self, error_code::NOT_LEADER_OR_FOLLOWER);
        }
        if fetch_offset < p.log.log_start_offset() {
            return refuse(self, error_code::OFFSET_OUT_OF_RANGE);
        }
        #[allow(unused_mut)]
        let mut counted_epoch = leader_epoch;
        #[cfg(feature = "sim-knobs")]
        if self.config.knobs.accept_stale_fetch_epoch {
            counted_epoch = counted_epoch.max(l.state.epoch());
        }
        if let Err(r) = l.state.on_follower_fetch(from, counted_epoch, fetch_offset, durable, p.log.log_end_offset(), now) {
            return refuse(self, refusal_code(r));
        }
        self.update_leader_hw(owner, false);
        let wait = self.cluster.as_ref().map_or(0, |c| c.config.replica_fetch_wait_max_ms);
        let id = self.new_req_id();
        let f = ReplicaFetchPending {
            from,
            topic_id,
            partition,
            seq,
            owner,
            leader_epoch,
            fetch_offset,
            deadline: now.plus_ms(wait),
            read: None,
            data: None,
        };
        self.pending.insert(id, Pending::ReplicaFetch(f));
        self.poll_pending(id);
    }

    /// The partition `index` of the live topic with id `topic_id`.
    fn owner_by_id(&self, topic_id: TopicId, index: i32) -> Option<u64> {
        let t = self.topic_by_id(topic_id)?;
        (index >= 0).then_some(())?;
        t.partitions.get(index as usize).copied()
    }

    /// The leader leads `f`'s partition at its epoch: no longer → refused.
    fn answer_replica_fetch(&mut self, f: &ReplicaFetchPending, result: Result<Fetched, i16>) {
        let m = PeerMessage::ReplicaFetched { topic_id: f.topic_id, partition: f.partition, seq: f.seq, result };
        self.send_peer(f.from, &m);
    }

    pub(crate) fn poll_replica_fetch(&mut self, id: ReqId, mut f: ReplicaFetchPending) -> Option<ReplicaFetchPending> {
        let now = self.now;
        let stopping = self.phase_is_stopping();
        let bytes_max = self.cluster.as_ref().map_or(1 << 20, |c| c.config.replica_fetch_bytes_max);
        let Some(p) = self.partitions.get_mut(&f.owner) else {
            self.answer_replica_fetch(&f, Err(error_code::UNKNOWN_TOPIC_OR_PARTITION));
            return None;
        };
        let hw = match &p.replica {
            Replica::Leader(l) if l.state.epoch() == f.leader_epoch => l.state.high_watermark(),
            _ => {
                if let Some(read) = f.read {
                    p.reads.remove(&read);
                }
                self.answer_replica_fetch(&f, Err(error_code::NOT_LEADER_OR_FOLLOWER));
                return None;
            }
        };
        if f.read.is_some() {
            return Some(f); // ReadDone re-polls
        }
        let log_start = p.log.log_start_offset();
        match f.data.take() {
            Some(Ok(records)) => {
                self.answer_replica_fetch(&f, Ok(Fetched { records: RawBytes(records), high_watermark: hw, log_start }));
                return None;
            }
            Some(Err(e)) => {
                tracing::debug!(error = ?e, "read for a follower failed");
                let code = if matches!(e, LogError::OffsetOutOfRange) {
                    error_code::OFFSET_OUT_OF_RANGE
                } else {
                    error_code::NOT_LEADER_OR_FOLLOWER
                };
                self.answer_replica_fetch(&f, Err(code));
                return None;
            }
            None => {}
        }
        let written = p.log.written_offset();
        if f.fetch_offset < written && self.buggify.fires(Point::ReplicaFetchEmpty) {
            self.answer_replica_fetch(&f, Ok(Fetched { records: RawBytes::default(), high_watermark: hw, log_start }));
            return None;
        }
        if f.fetch_offset < written && !p.log.truncating() {
            let mut io = IoScope { queue: &mut self.disk, owner: f.owner };
            match p.log.read(f.fetch_offset, bytes_max, written, &mut io) {
                Ok(read) => {
                    p.reads.insert(read, id);
                    f.read = Some(read);
                    return Some(f);
                }
                Err(e) => {
                    f.data = Some(Err(e));
                    return self.poll_replica_fetch(id, f);
                }
            }
        }
        if now >= f.deadline || stopping {
            self.answer_replica_fetch(&f, Ok(Fetched { records: RawBytes::default(), high_watermark: hw, log_start }));
            return None;
        }
        p.write_waiters.insert(id);
        Some(f)
    }

    /// Where `epoch` ends in this leader's log, for a follower's divergence check.
    pub(crate) fn on_epoch_query(
        &mut self,
        from: NodeId,
        topic_id: TopicId,
        partition: i32,
        current_leader_epoch: LeaderEpoch,
        epoch: LeaderEpoch,
        seq: u64,
    ) {
        let result = (|| {
            let owner = self.owner_by_id(topic_id, partition).ok_or(error_code::UNKNOWN_TOPIC_OR_PARTITION)?;
            let p = self.partitions.get(&owner).expect("owner exists");
            let Replica::Leader(l) = &p.replica else { return Err(error_code::NOT_LEADER_OR_FOLLOWER) };
            if !matches!(p.log.state(), LogState::Ready) || p.log.truncating() {
                return Err(error_code::NOT_LEADER_OR_FOLLOWER);
            }
            if current_leader_epoch < l.state.epoch() {
                return Err(error_code::FENCED_LEADER_EPOCH);
            }
            if current_leader_epoch > l.state.epoch() {
                return Err(error_code::UNKNOWN_LEADER_EPOCH);
            }
            let (e, end) = p.log.end_offset_for_leader(epoch, l.state.epoch());
            Ok((e.0 >= 0 && end.0 >= 0).then_some((e, end)))
        })();
        self.send_peer(from, &PeerMessage::EpochAnswer { topic_id, partition, seq, result });
    }

    /// ISR changes the leaders want, sent to the controller (on every cluster tick).
    pub(crate) fn propose_isr_changes(&mut self) {
        let now = self.now;
        let Some(c) = self.cluster.as_ref() else { return };
        let configured_lag = c.config.replica_lag_time_max_ms;
        let mut requests = Vec::new();
        for p in self.partitions.values_mut() {
            let Replica::Leader(l) = &mut p.replica else { continue };
            let lag = if self.buggify.fires(Point::IsrLagShort) { configured_lag / 10 } else { configured_lag };
            let eligible = |r: NodeId| c.metadata().and_then(|m| m.broker(r)).is_some_and(|b| !b.fenced);
            if l.isr_proposed_at.is_some_and(|at| now.0 - at.0 >= ISR_PROPOSAL_RETRY_MS) {
                // Not seen applied yet. An expansion may have been applied by the
                // controller and not reached this node: its joiners may already be
                // electable, so it stays counted (and is sent again) while they are
                // unfenced. A joiner fenced here cannot have been let in (the fence
                // would have taken it out again, moving the partition epoch): drop it.
                let resend = l.state.proposal().filter(|c| c.isr.iter().all(|r| l.state.isr().contains(r) || eligible(*r))).cloned();
                l.isr_proposed_at = None;
                match resend {
                    Some(change) => {
                        l.isr_proposed_at = Some(now);
                        requests.push(isr_request(&p.topic, p.index, change));
                        continue;
                    }
                    None => l.state.forget_proposal(),
                }
            }
            #[cfg(feature = "sim-knobs")]
            if self.config.knobs.lagging_follower_in_sync && l.state.isr().len() < l.state.replicas().len() && l.isr_proposed_at.is_none() {
                l.isr_proposed_at = Some(now);
                let all = IsrChange { isr: l.state.replicas().to_vec(), expected_partition_epoch: l.state.partition_epoch() };
                requests.push(isr_request(&p.topic, p.index, all));
                continue;
            }
            if let Some(change) = l.state.isr_change_among(now, lag, eligible) {
                tracing::info!(topic = %p.topic, partition = p.index, from = ?l.state.isr(), to = ?change.isr, "proposing an ISR change");
                l.isr_proposed_at = Some(now);
                requests.push(isr_request(&p.topic, p.index, change));
            }
        }
        for r in requests {
            self.send_to_controller(r);
        }
    }

    // ---- the follower ----

    /// Sends the follower's next request for `owner` if it may.
    pub(crate) fn drive_follower(&mut self, owner: u64) {
        let now = self.now;
        let Some(topic_id) = self.partitions.get(&owner).and_then(|p| self.live_topic(&p.topic)).map(|t| t.id) else { return };
        let Some(c) = self.cluster.as_mut() else { return };
        let timeout = c.config.replica_fetch_wait_max_ms + REPLICA_REQUEST_TIMEOUT_MS;
        let Some(p) = self.partitions.get_mut(&owner) else { return };
        let Replica::Follower(f) = &mut p.replica else { return };
        if let Some((_, sent)) = f.in_flight {
            if now.0 - sent.0 < timeout {
                return;
            }
            tracing::debug!(topic = %p.topic, partition = p.index, "replica request unanswered; sending again");
            f.in_flight = None;
            f.state.on_epoch_query_lost();
        }
        if now < f.retry_at || !matches!(p.log.state(), LogState::Ready) || p.log.truncating() {
            return;
        }
        // Each fetch reports a durable offset equal to the log end: wait for the sync.
        if p.log.durable_offset() < p.log.log_end_offset() {
            return;
        }
        let view =
            LogView { log_end: p.log.log_end_offset(), latest_epoch: p.log.latest_epoch(), high_watermark: p.log.committed_offset() };
        let Some(request) = f.state.next_request(view) else { return };
        c.replica_seq += 1;
        let seq = c.replica_seq;
        f.in_flight = Some((seq, now));
        let partition = p.index;
        if self.buggify.fires(Point::ReplicaRequestLost) {
            return; // resent after the timeout
        }
        let (to, m) = match request {
            FollowerRequest::Fetch { leader, current_leader_epoch, offset } => (
                leader,
                PeerMessage::ReplicaFetch {
                    topic_id,
                    partition,
                    leader_epoch: current_leader_epoch,
                    fetch_offset: offset,
                    durable: p.log.durable_offset(),
                    seq,
                },
            ),
            FollowerRequest::EpochEnd { leader, current_leader_epoch, epoch } => {
                (leader, PeerMessage::EpochQuery { topic_id, partition, current_leader_epoch, epoch, seq })
            }
        };
        self.send_peer(to, &m);
    }

    /// Re-sends lost follower requests and retries refused ones (every cluster tick).
    pub(crate) fn drive_all_followers(&mut self) {
        let owners: Vec<u64> = self.partitions.iter().filter(|(_, p)| matches!(p.replica, Replica::Follower(_))).map(|(o, _)| *o).collect();
        for owner in owners {
            self.drive_follower(owner);
        }
    }

    /// The follower link of `topic_id`/`partition` awaiting answer `seq`, if any.
    fn follower_awaiting(&mut self, topic_id: TopicId, partition: i32, seq: u64) -> Option<u64> {
        let owner = self.owner_by_id(topic_id, partition)?;
        let p = self.partitions.get_mut(&owner)?;
        let Replica::Follower(f) = &mut p.replica else { return None };
        if f.in_flight.map(|(s, _)| s) != Some(seq) {
            return None; // a late or duplicated answer
        }
        f.in_flight = None;
        Some(owner)
    }

    pub(crate) fn on_replica_fetched(&mut self, topic_id: TopicId, partition: i32, seq: u64, result: Result<Fetched, i16>) {
        let now = self.now;
        let Some(owner) = self.follower_awaiting(topic_id, partition, seq) else { return };
        let p = self.partitions.get_mut(&owner).expect("awaiting partition");
        let Replica::Follower(f) = &mut p.replica else { unreachable!("follower_awaiting checked") };
        match result {
            Ok(fetched) => {
                if !fetched.records.0.is_empty() {
                    let mut io = IoScope { queue: &mut self.disk, owner };
                    let refused = match p.log.append_replicated(&fetched.records.0, now, &mut io) {
                        Ok(_) => false,
                        Err(ReplicaAppendError::Log(e)) => {
                            tracing::debug!(topic = %p.topic, partition = p.index, error = ?e, "replicated append refused by the log");
                            f.retry_at = now.plus_ms(REPLICA_RETRY_MS);
                            true
                        }
                        Err(e) => {
                            tracing::warn!(topic = %p.topic, partition = p.index, error = ?e, "records from the leader do not continue this log; checking divergence again");
                            f.state.on_out_of_range();
                            true
                        }
                    };
                    if refused {
                        // The answer's high watermark speaks of a log this one does not match.
                        self.drive_follower(owner);
                        return;
                    }
                }
                f.leader_hw = fetched.high_watermark;
                let committed = fetched.high_watermark.min(p.log.log_end_offset());
                p.log.advance_committed(committed);
                // The leader's log start moved (DeleteRecords, retention): follow it
                // over committed records only, as Kafka's followers do.
                let start = fetched.log_start.min(committed);
                if start > p.log.log_start_offset() && !p.log.truncating() {
                    let mut io = IoScope { queue: &mut self.disk, owner };
                    if let Err(e) = p.log.delete_records_before(start, &mut io) {
                        tracing::debug!(topic = %p.topic, partition = p.index, error = ?e, "could not follow the leader's log start");
                    }
                }
            }
            Err(code) if code == error_code::OFFSET_OUT_OF_RANGE => f.state.on_out_of_range(),
            Err(code) => {
                tracing::debug!(topic = %p.topic, partition = p.index, code, "replica fetch refused");
                f.retry_at = now.plus_ms(REPLICA_RETRY_MS);
            }
        }
        self.drive_follower(owner);
    }

    pub(crate) fn on_epoch_answer(
        &mut self,
        topic_id: TopicId,
        partition: i32,
        seq: u64,
        result: Result<Option<(LeaderEpoch, Offset)>, i16>,
    ) {
        let now = self.now;
        let Some(owner) = self.follower_awaiting(topic_id, partition, seq) else { return };
        let p = self.partitions.get_mut(&owner).expect("awaiting partition");
        let Replica::Follower(f) = &mut p.replica else { unreachable!("follower_awaiting checked") };
        let answer = match result {
            Ok(a) => a,
            Err(code) => {
                tracing::debug!(topic = %p.topic, partition = p.index, code, "epoch query refused");
                f.state.on_epoch_query_lost();
                f.retry_at = now.plus_ms(REPLICA_RETRY_MS);
                return;
            }
        };
        if !matches!(p.log.state(), LogState::Ready) || p.log.truncating() {
            f.state.on_epoch_query_lost();
            f.retry_at = now.plus_ms(REPLICA_RETRY_MS);
            return;
        }
        let view =
            LogView { log_end: p.log.log_end_offset(), latest_epoch: p.log.latest_epoch(), high_watermark: p.log.committed_offset() };
        let log = &p.log;
        #[allow(unused_mut)]
        let mut verdict = f.state.on_epoch_end(answer, view, |e| Some(log.end_offset_for(e)).filter(|(own, end)| own.0 >= 0 && end.0 >= 0));
        #[cfg(feature = "sim-knobs")]
        if self.config.knobs.truncate_to_local_hw && verdict.is_ok() {
            verdict = Ok((view.high_watermark < view.log_end).then_some(view.high_watermark));
        }
        match verdict {
            Ok(None) => {}
            Ok(Some(to)) => {
                tracing::info!(topic = %p.topic, partition = p.index, %to, log_end = %view.log_end, "truncating to the leader's log");
                let mut io = IoScope { queue: &mut self.disk, owner };
                if let Err(e) = p.log.truncate_to(to, &mut io) {
                    tracing::error!(topic = %p.topic, partition = p.index, error = ?e, "truncation refused");
                    f.state.on_epoch_query_lost();
                    f.retry_at = now.plus_ms(REPLICA_RETRY_MS);
                    return;
                }
                let event = ClusterEvent::Truncated {
                    topic: p.topic.clone(),
                    partition: p.index,
                    leader_epoch: f.state.leader_epoch(),
                    to,
                    high_watermark: view.high_watermark,
                };
                self.emit(Output::Event(event));
            }
            Err(Divergence::BelowHighWatermark { truncate_to, high_watermark }) => {
                tracing::error!(topic = %p.topic, partition = p.index, %truncate_to, %high_watermark, "the leader's log diverges below this replica's committed offset; not truncating");
                f.retry_at = now.plus_ms(REPLICA_REQUEST_TIMEOUT_MS);
            }
        }
        self.drive_follower(owner);
    }

    /// A disk operation of `owner` completed: a leader's durable offset may have moved
    /// the high watermark, a follower may have synced or finished a truncation.
    pub(crate) fn replication_after_disk(&mut self, owner: u64) {
        match self.partitions.get(&owner).map(|p| &p.replica) {
            Some(Replica::Leader(_)) => self.update_leader_hw(owner, false),
            Some(Replica::Follower(_)) => self.drive_follower(owner),
            _ => {}
        }
    }
}
