//! Cluster mode: the broker's seat in the metadata quorum.
//!
//! Every broker of a cluster is a voter of one Raft group ([`RaftNode`]) whose log holds
//! the metadata commands. This module drives that node for the broker:
//!
//! - **Raft I/O.** Ticks come from the broker's clock (`tick_interval_ms`); raft messages
//!   travel as [`PeerMessage::Raft`] through `Output::PeerSend`; writes go to the Raft log
//!   file ([`super::raft_log`]) and are reported persisted only after their sync, so votes
//!   and append acknowledgements leave only then (raft-rs's `persisted_messages`).
//! - **Heartbeats.** Every broker heartbeats the Raft leader (the controller) every
//!   `broker_heartbeat_interval_ms` with its id, address and incarnation (its start time).
//! - **The controller** (whichever node leads Raft): registers brokers it hears from
//!   (a restart re-registers with a new incarnation, which fences until the next
//!   heartbeat unfences it); fences a broker not heard from for
//!   `broker_session_timeout_ms` and moves its partition leaderships to live ISR members
//!   ([`controller::on_broker_fenced`]); elects leaders for leaderless partitions; and
//!   carries out forwarded requests (topic creation with replica placement, deletion).
//!   Its decisions are commands proposed through Raft and validated again on apply,
//!   so a decision made on a state that moved on is rejected, not applied.
//! - **Forwarding.** CreateTopics and DeleteTopics on any broker become
//!   [`PeerMessage::Forward`]s to the controller, resent until their command is applied
//!   (the command carries the proposal context, so the origin recognises it) or
//!   `forward_timeout_ms` passes (REQUEST_TIMED_OUT).
//! - **The local registry follows the metadata.** After each apply, every topic of the
//!   metadata exists locally (logs and description, as standalone creates them) and a
//!   local topic the metadata deleted is deleted. Partition data is replicated by
//!   [`super::replication`], which takes each partition's role from the metadata.
//!
//! Nothing here sits on the produce path: produce and fetch only ask
//! [`Broker::leader_check`], a map lookup.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::cluster::controller::{self, PlacementError};
use crate::cluster::events::{fnv1a64, ClusterEvent};
use crate::cluster::metadata::{Address, Change, Command, MetadataState, Partition, Rejection};
use crate::cluster::peer::{ControllerRequest, PeerMessage, ProposalContext};
use crate::cluster::raft::{decode_message, encode_message, ProposeError, RaftConfig, RaftNode, RaftOutput, Role};
use crate::config::ClusterConfig;
use crate::io::{DiskResult, Output};
use crate::log::IoScope;
use crate::protocol::error_code;
use crate::types::{IoId, LeaderEpoch, Millis, NodeId, TopicId};

use super::raft_log::{RaftLog, RaftLogEvent};
use super::topic_config::TopicConfig;
use super::topics::TopicState;
use super::Broker;

/// Owner tag of the Raft log file's disk operations.
pub(crate) const RAFT_OWNER: u64 = u64::MAX;
/// The controller re-proposes an unapplied decision after this long.
const PROPOSAL_RETRY_MS: i64 = 1_000;
/// A forwarded request is resent this often until its outcome is applied.
const FORWARD_RESEND_MS: i64 = 1_000;
/// Most Raft ticks caught up in one go after the node was not woken for a while.
const TICKS_CATCH_UP_MAX: u32 = 10;
/// Most requests one broker has forwarded and not seen applied.
const FORWARDS_MAX: usize = 10_000;

/// What the controller heard from a broker.
#[derive(Debug, Clone)]
struct Heard {
    at: Millis,
    incarnation: u64,
    address: Address,
}

#[derive(Debug, Clone)]
struct Forward {
    request: ControllerRequest,
    topic_id: TopicId,
    deadline: Millis,
    next_send: Millis,
}

/// How a forwarded topic change ended, as far as this broker knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangeStatus {
    /// Not applied yet (or applied and not yet materialized locally).
    Waiting,
    Failed(i16, String),
    /// Neither waiting nor failed: the change was applied and later undone.
    Gone,
}

pub(crate) struct ClusterNode {
    pub(crate) config: ClusterConfig,
    pub(crate) raft: Option<RaftNode>,
    log: RaftLog,
    incarnation: u64,
    next_tick: Millis,
    next_heartbeat: Millis,
    seed: u64,
    /// Controller state, reset on every leadership change.
    leader_since: Option<Millis>,
    heard: BTreeMap<NodeId, Heard>,
    proposed: BTreeMap<Vec<u8>, Millis>,
    /// Requests this broker forwarded, by token.
    forwards: BTreeMap<u64, Forward>,
    next_token: u64,
    failures: BTreeMap<TopicId, (i16, String)>,
    /// Topic ids this process has seen in the metadata (a local topic is deleted only if
    /// the metadata once held it: data is never dropped for a topic it never knew).
    known_topics: BTreeSet<TopicId>,
    reported: Option<(u64, Role, Option<NodeId>)>,
    reconcile_due: bool,
    /// Pairs follower requests with their answers.
    pub(crate) replica_seq: u64,
    /// Per partition, the highest leader epoch the metadata named this broker leader at
    /// before its current registration was in place: this process never leads at it
    /// (see `replication`).
    pub(crate) lead_barred: BTreeMap<(String, i32), LeaderEpoch>,
    /// Local partition logs (by owner) that lack records this replica once held (see
    /// `replication`): they do not lead, and leave the ISR until they catch up.
    pub(crate) incomplete: BTreeSet<u64>,
}

impl ClusterNode {
    /// Whether the metadata holds this process's own registration, unfenced.
    pub(crate) fn registered(&self, me: NodeId) -> bool {
        self.metadata().and_then(|m| m.broker(me)).is_some_and(|b| b.incarnation == self.incarnation && !b.fenced)
    }
}

impl ClusterNode {
    pub(crate) fn metadata(&self) -> Option<&MetadataState> {
        self.raft.as_ref().map(|r| r.metadata())
    }

    pub(crate) fn leader(&self) -> Option<NodeId> {
        self.raft.as_ref().and_then(|r| r.leader())
    }
}

fn placement_error(e: PlacementError) -> (i16, String) {
    match e {
        PlacementError::InvalidReplicationFactor { requested, live_brokers } => (
            error_code::INVALID_REPLICATION_FACTOR,
            format!(
                "Unable to replicate the partition {requested} time(s): The target replication factor of {requested} cannot be reached because only {live_brokers} broker(s) are registered."
            ),
        ),
        PlacementError::InvalidPartitions { requested } => {
            (error_code::INVALID_PARTITIONS, format!("Number of partitions was set to an invalid value: {requested}."))
        }
    }
}

fn rejection_error(r: &Rejection) -> (i16, String) {
    let code = match r {
        Rejection::TopicExists(_) | Rejection::TopicIdInUse => error_code::TOPIC_ALREADY_EXISTS,
        Rejection::UnknownTopic(_) => error_code::UNKNOWN_TOPIC_OR_PARTITION,
        Rejection::InvalidTopicName(_) => error_code::INVALID_TOPIC_EXCEPTION,
        Rejection::InvalidPartitions(_) => error_code::INVALID_PARTITIONS,
        Rejection::InvalidReplicationFactor(_) => error_code::INVALID_REPLICATION_FACTOR,
        Rejection::InvalidReplicas(_) | Rejection::UnknownBroker(_) => error_code::INVALID_REPLICA_ASSIGNMENT,
        Rejection::InvalidConfig(_) => error_code::INVALID_CONFIG,
        _ => error_code::INVALID_REQUEST,
    };
    (code, format!("The metadata change was rejected: {r}"))
}

impl Broker {
    // ---- start ----

    /// Starts recovering the Raft log (cluster mode only).
    pub(crate) fn cluster_start(&mut self) {
        let Some(config) = self.config.cluster.clone() else { return };
        let mut io = IoScope { queue: &mut self.disk, owner: RAFT_OWNER };
        let log = RaftLog::start(&mut io);
        let now = self.now;
        self.cluster = Some(ClusterNode {
            next_tick: now.plus_ms(config.tick_interval_ms),
            next_heartbeat: now,
            config,
            raft: None,
            log,
            // Later starts have later clocks: the controller takes a higher incarnation
            // as a restart.
            incarnation: now.0.max(0) as u64,
            seed: self.config.seed,
            leader_since: None,
            heard: BTreeMap::new(),
            proposed: BTreeMap::new(),
            forwards: BTreeMap::new(),
            next_token: 1,
            failures: BTreeMap::new(),
            known_topics: BTreeSet::new(),
            reported: None,
            reconcile_due: false,
            replica_seq: 0,
            lead_barred: BTreeMap::new(),
            incomplete: BTreeSet::new(),
        });
    }

    /// Whether the broker may report ready: standalone, or the Raft log recovered.
    pub(crate) fn cluster_recovered(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.raft.is_some())
    }

    pub(crate) fn on_raft_disk_done(&mut self, id: IoId, result: DiskResult) {
        let Some(c) = self.cluster.as_mut() else { return };
        let mut io = IoScope { queue: &mut self.disk, owner: RAFT_OWNER };
        let events = c.log.on_disk_done(id, result, &mut io);
        for e in events {
            match e {
                RaftLogEvent::Recovered(writes) => self.on_raft_log_recovered(writes),
                RaftLogEvent::Persisted(pid) => {
                    if let Some(r) = self.cluster.as_mut().and_then(|c| c.raft.as_mut()) {
                        r.on_persisted(pid);
                    }
                }
            }
        }
        self.pump_raft();
        self.check_startup_done();
    }

    fn on_raft_log_recovered(&mut self, writes: Vec<crate::cluster::raft::RaftWrite>) {
        let node = self.config.node_id;
        let c = self.cluster.as_mut().expect("cluster");
        let mut rc = RaftConfig::new(node, c.seed);
        rc.election_ticks = c.config.election_ticks;
        rc.heartbeat_ticks = c.config.heartbeat_ticks;
        rc.snapshot_interval_entries = c.config.snapshot_interval_entries;
        #[cfg(feature = "sim-knobs")]
        {
            rc.ack_before_persist = self.config.knobs.raft_ack_before_persist;
        }
        let raft = if writes.is_empty() {
            tracing::info!(node = node.0, voters = ?c.config.voters, "new metadata quorum member: bootstrapping");
            RaftNode::bootstrap(rc, &c.config.voters)
        } else {
            tracing::info!(node = node.0, records = writes.len(), "recovering the metadata quorum state");
            RaftNode::recover(rc, &writes).unwrap_or_else(|e| panic!("the raft log cannot be recovered: {}", e.0))
        };
        let snapshot_index = raft.snapshot_index();
        c.raft = Some(raft);
        c.reconcile_due = true;
        // The recovered snapshot's topics count as known (a later delete replayed from
        // the log removes their local copy), and its state is reported like an install.
        self.report_all_partitions(snapshot_index);
    }

    // ---- time ----

    pub(crate) fn cluster_timeout(&self) -> Option<Millis> {
        let c = self.cluster.as_ref()?;
        Some(c.next_tick.min(c.next_heartbeat))
    }

    pub(crate) fn cluster_tick(&mut self) {
        let now = self.now;
        let Some(c) = self.cluster.as_mut() else { return };
        {
            let mut io = IoScope { queue: &mut self.disk, owner: RAFT_OWNER };
            c.log.retry_failed(&mut io);
        }
        let Some(raft) = c.raft.as_mut() else { return };
        let mut ticks = 0;
        if self.buggify.fires(crate::buggify::Point::RaftTickEarly) {
            raft.tick();
        }
        while now >= c.next_tick {
            if ticks < TICKS_CATCH_UP_MAX {
                raft.tick();
                ticks += 1;
            }
            c.next_tick = c.next_tick.plus_ms(c.config.tick_interval_ms);
        }
        self.pump_raft();
        if now >= self.cluster.as_ref().expect("cluster").next_heartbeat {
            self.send_heartbeat();
        }
        if ticks > 0 {
            self.controller_duties();
            self.resend_forwards();
            self.propose_isr_changes();
            self.request_reelections();
            self.request_isr_exits();
            self.drive_all_followers();
        }
        self.pump_raft();
    }

    // ---- raft plumbing ----

    /// Carries out everything the Raft node has ready, until it has nothing more.
    pub(crate) fn pump_raft(&mut self) {
        for _ in 0..64 {
            let Some(c) = self.cluster.as_mut() else { return };
            let Some(raft) = c.raft.as_mut() else { return };
            let outputs = raft.ready();
            let state = (raft.term(), raft.role(), raft.leader());
            let commit = raft.commit_index();
            if c.reported != Some(state) {
                c.reported = Some(state);
                if state.1 == Role::Leader {
                    c.leader_since = Some(self.now);
                    c.heard.clear();
                    c.proposed.clear();
                } else {
                    c.leader_since = None;
                }
                tracing::info!(term = state.0, role = ?state.1, leader = ?state.2.map(|l| l.0), "metadata quorum state");
                self.out.push_back(Output::Event(ClusterEvent::RaftState { term: state.0, role: state.1, leader: state.2, commit }));
            }
            if outputs.is_empty() {
                break;
            }
            for o in outputs {
                self.on_raft_output(o);
            }
        }
        let Some(c) = self.cluster.as_mut() else { return };
        if c.reconcile_due {
            c.reconcile_due = false;
            self.reconcile_topics();
            self.sync_replica_roles();
            self.sync_group_leadership();
        }
        let c = self.cluster.as_mut().expect("cluster");
        if let (true, Some(raft)) = (c.log.wants_rewrite(), c.raft.as_ref()) {
            let full = raft.full_write();
            let mut io = IoScope { queue: &mut self.disk, owner: RAFT_OWNER };
            c.log.begin_rewrite(&full, &mut io);
        }
    }

    fn on_raft_output(&mut self, o: RaftOutput) {
        match o {
            RaftOutput::Send { to, message } => self.send_peer(to, &PeerMessage::Raft(encode_message(&message))),
            RaftOutput::Persist { id, write } => {
                let c = self.cluster.as_mut().expect("cluster");
                let mut io = IoScope { queue: &mut self.disk, owner: RAFT_OWNER };
                c.log.persist(id, &write, &mut io);
            }
            RaftOutput::Applied { index, term, context, data, result, changes } => {
                self.out.push_back(Output::Event(ClusterEvent::Applied { index, term, digest: fnv1a64(&data), accepted: result.is_ok() }));
                self.on_applied(index, &context, &data, result, changes);
            }
            RaftOutput::ConfChanged { index, voters } => {
                tracing::info!(index, ?voters, "metadata quorum voters changed");
            }
            RaftOutput::SnapshotInstalled { index, term } => {
                tracing::info!(index, term, "metadata snapshot installed");
                self.out.push_back(Output::Event(ClusterEvent::SnapshotInstalled { index, term }));
                self.report_all_partitions(index);
                let c = self.cluster.as_mut().expect("cluster");
                c.reconcile_due = true;
            }
            RaftOutput::RoleChanged { .. } => {} // reported from the node's state in pump_raft
        }
    }

    fn on_applied(&mut self, index: u64, context: &[u8], data: &[u8], result: Result<Command, Rejection>, changes: Vec<Change>) {
        let me = self.config.node_id;
        let c = self.cluster.as_mut().expect("cluster");
        c.proposed.remove(data);
        if let Some(ctx) = ProposalContext::from_bytes(context).filter(|ctx| ctx.origin == me) {
            if let Some(f) = c.forwards.remove(&ctx.token) {
                if let ControllerRequest::AllocateProducerIds { .. } = f.request {
                    match &result {
                        Ok(Command::AllocateProducerIds { start, size, .. }) => self.on_producer_id_block(*start, start + size, None),
                        // Another grant came first: ask again with the new start.
                        Err(r) => self.on_producer_id_block_refused(&r.to_string()),
                        Ok(other) => panic!("allocation context on {other:?}"),
                    }
                    return self.on_changes(index, changes);
                }
                if let Err(r) = &result {
                    // A resent creation that finds its own topic already there succeeded.
                    let own = matches!((&f.request, r), (ControllerRequest::CreateTopic { .. }, Rejection::TopicIdInUse));
                    if !own {
                        tracing::info!(token = ctx.token, rejection = %r, "forwarded metadata change rejected");
                        c.failures.insert(f.topic_id, rejection_error(r));
                    }
                }
                self.recheck_all_admin();
            }
        }
        self.on_changes(index, changes);
    }

    /// Reports what an applied command changed and lets the broker follow it.
    fn on_changes(&mut self, index: u64, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let c = self.cluster.as_mut().expect("cluster");
        c.reconcile_due = true;
        for change in changes {
            let event = match change {
                Change::Broker { id, broker } => {
                    tracing::info!(broker = id.0, fenced = broker.as_ref().map(|b| b.fenced), "broker registration changed");
                    ClusterEvent::Broker {
                        index,
                        id,
                        incarnation: broker.as_ref().map(|b| b.incarnation),
                        fenced: broker.is_none_or(|b| b.fenced),
                    }
                }
                Change::TopicCreated { id, .. } => {
                    self.cluster.as_mut().expect("cluster").known_topics.insert(id);
                    continue;
                }
                Change::TopicDeleted { .. } => continue,
                Change::Partition { topic, partition, state } => {
                    // Requests waiting on the partition re-check (a leader that lost it).
                    let waiters: Vec<super::ReqId> =
                        self.partitions.values().filter(|p| p.topic == topic).flat_map(|p| p.hw_waiters.iter().copied()).collect();
                    self.recheck.extend(waiters);
                    partition_event(index, topic, partition, &state)
                }
            };
            self.out.push_back(Output::Event(event));
        }
    }

    fn report_all_partitions(&mut self, index: u64) {
        let Some(state) = self.cluster.as_ref().and_then(|c| c.metadata()) else { return };
        let mut events = Vec::new();
        for b in state.brokers() {
            events.push(ClusterEvent::Broker { index, id: b.id, incarnation: Some(b.incarnation), fenced: b.fenced });
        }
        for t in state.topics() {
            for (p, state) in t.partitions.iter().enumerate() {
                events.push(partition_event(index, t.name.clone(), p as i32, state));
            }
        }
        let known: Vec<TopicId> = state.topics().map(|t| t.id).collect();
        let c = self.cluster.as_mut().expect("cluster");
        c.known_topics.extend(known);
        for e in events {
            self.out.push_back(Output::Event(e));
        }
    }

    pub(crate) fn send_peer(&mut self, to: NodeId, m: &PeerMessage) {
        if to == self.config.node_id {
            return;
        }
        self.out.push_back(Output::PeerSend { to, data: Bytes::from(m.to_bytes()) });
    }

    /// A message from another node.
    pub(crate) fn on_peer_message(&mut self, from: NodeId, data: &[u8]) {
        let Some(c) = self.cluster.as_mut() else {
            tracing::warn!(from = from.0, "peer message to a standalone broker dropped");
            return;
        };
        if data.len() > c.config.peer_message_bytes_max {
            tracing::warn!(from = from.0, bytes = data.len(), "oversized peer message dropped");
            return;
        }
        let Some(m) = PeerMessage::from_bytes(data) else {
            tracing::warn!(from = from.0, bytes = data.len(), "malformed peer message dropped");
            return;
        };
        match m {
            PeerMessage::Raft(bytes) => {
                let Some(raft) = c.raft.as_mut() else { return }; // still recovering: raft resends
                let Some(msg) = decode_message(&bytes) else {
                    tracing::warn!(from = from.0, "malformed raft message dropped");
                    return;
                };
                if let Err(e) = raft.step(msg) {
                    tracing::debug!(from = from.0, error = %e, "raft message refused");
                }
                self.pump_raft();
            }
            PeerMessage::Heartbeat { id, incarnation, address } => self.on_heartbeat(id, incarnation, address),
            PeerMessage::Forward { origin, token, request } => self.on_forward(origin, token, request),
            PeerMessage::ForwardRefused { token, error_code, message } => self.on_forward_refused(token, error_code, message),
            PeerMessage::ReplicaFetch { topic_id, partition, leader_epoch, fetch_offset, durable, seq } => {
                self.on_replica_fetch(from, topic_id, partition, leader_epoch, fetch_offset, durable, seq)
            }
            PeerMessage::ReplicaFetched { topic_id, partition, seq, result } => self.on_replica_fetched(topic_id, partition, seq, result),
            PeerMessage::EpochQuery { topic_id, partition, current_leader_epoch, epoch, seq } => {
                self.on_epoch_query(from, topic_id, partition, current_leader_epoch, epoch, seq)
            }
            PeerMessage::EpochAnswer { topic_id, partition, seq, result } => self.on_epoch_answer(topic_id, partition, seq, result),
        }
    }

    // ---- heartbeats and the controller ----

    fn send_heartbeat(&mut self) {
        let me = self.config.node_id;
        let address =
            Address { host: self.config.advertised_host.clone(), port: self.config.advertised_port.clamp(0, u16::MAX as i32) as u16 };
        let c = self.cluster.as_mut().expect("cluster");
        c.next_heartbeat = self.now.plus_ms(c.config.broker_heartbeat_interval_ms);
        let incarnation = c.incarnation;
        match c.leader() {
            Some(l) if l == me => self.on_heartbeat(me, incarnation, address),
            Some(l) => self.send_peer(l, &PeerMessage::Heartbeat { id: me, incarnation, address }),
            None => {}
        }
    }

    fn on_heartbeat(&mut self, id: NodeId, incarnation: u64, address: Address) {
        let now = self.now;
        let c = self.cluster.as_mut().expect("cluster");
        if c.leader_since.is_none() {
            return; // not the controller: the broker will find the leader
        }
        match c.heard.get(&id) {
            Some(h) if h.incarnation > incarnation => {} // a late heartbeat of an earlier run
            _ => {
                c.heard.insert(id, Heard { at: now, incarnation, address });
            }
        }
    }

    /// Proposes `cmd` unless the same command was proposed recently and not applied.
    fn controller_propose(&mut self, context: Vec<u8>, cmd: &Command) -> Result<(), ProposeError> {
        let now = self.now;
        let c = self.cluster.as_mut().expect("cluster");
        let bytes = cmd.to_bytes();
        if c.proposed.get(&bytes).is_some_and(|at| now.0 - at.0 < PROPOSAL_RETRY_MS) {
            return Ok(());
        }
        let raft = c.raft.as_mut().expect("controller has raft");
        raft.propose(context, cmd)?;
        tracing::debug!(?cmd, "controller proposed");
        c.proposed.insert(bytes, now);
        Ok(())
    }

    /// The controller's periodic decisions (leader only).
    fn controller_duties(&mut self) {
        let now = self.now;
        let Some(c) = self.cluster.as_mut() else { return };
        let Some(since) = c.leader_since else { return };
        let Some(state) = c.metadata() else { return };
        let session = c.config.broker_session_timeout_ms;
        let mut cmds = Vec::new();
        for (id, h) in &c.heard {
            let fresh = now.0 - h.at.0 <= session;
            match state.broker(*id) {
                None => cmds.push(Command::RegisterBroker { id: *id, address: h.address.clone(), incarnation: h.incarnation }),
                Some(b) if b.incarnation < h.incarnation => {
                    tracing::info!(broker = id.0, "broker restarted: registering its new incarnation");
                    cmds.push(Command::RegisterBroker { id: *id, address: h.address.clone(), incarnation: h.incarnation });
                }
                Some(b) if b.incarnation == h.incarnation && b.fenced && fresh => cmds.push(Command::UnfenceBroker { id: *id }),
                _ => {}
            }
        }
        for b in state.brokers().filter(|b| !b.fenced) {
            let last = c.heard.get(&b.id).filter(|h| h.incarnation == b.incarnation).map_or(since, |h| h.at);
            let restarted = c.heard.get(&b.id).is_some_and(|h| h.incarnation > b.incarnation);
            #[allow(unused_mut)]
            let mut silent = now.0 - last.0 > session;
            #[cfg(feature = "sim-knobs")]
            if self.config.knobs.never_fence_brokers {
                silent = false;
            }
            if silent || restarted {
                tracing::warn!(broker = b.id.0, silent_ms = now.0 - last.0, restarted, "fencing broker");
                cmds.push(Command::FenceBroker { id: b.id });
                let why = if silent { controller::Fenced::Silent } else { controller::Fenced::Restarted };
                cmds.extend(controller::on_broker_fenced(state, b.id, why));
            }
        }
        if cmds.is_empty() {
            cmds = controller::elect_offline_leaders(state);
        }
        for cmd in cmds {
            if let Err(e) = self.controller_propose(Vec::new(), &cmd) {
                tracing::debug!(error = ?e, "controller proposal not accepted");
                break;
            }
        }
    }

    fn on_forward(&mut self, origin: NodeId, token: u64, request: ControllerRequest) {
        let Some(c) = self.cluster.as_mut() else { return };
        if c.leader_since.is_none() {
            return; // the origin resends to whoever leads
        }
        let Some(state) = c.metadata() else { return };
        let context = ProposalContext { origin, token }.to_bytes();
        let cmd = match request {
            ControllerRequest::CreateTopic { name, topic_id, partitions, replication_factor, assignment, configs } => {
                if state.topic(&name).is_some_and(|t| t.id == topic_id) {
                    return; // applied already; the origin sees it in its log
                }
                let placed = match assignment {
                    Some(a) => Ok(a),
                    None => controller::place_replicas(state, partitions, replication_factor),
                };
                match placed {
                    Ok(replicas) => Command::CreateTopic { name, topic_id, partitions: replicas, replication_factor, configs },
                    Err(e) => {
                        let (error_code, message) = placement_error(e);
                        self.refuse_forward(origin, token, error_code, message);
                        return;
                    }
                }
            }
            ControllerRequest::AllocateProducerIds { size } => {
                Command::AllocateProducerIds { broker: origin, start: state.next_producer_id(), size }
            }
            ControllerRequest::DeleteTopic { name, topic_id } => {
                if state.topic(&name).is_none_or(|t| t.id != topic_id) {
                    return; // gone already
                }
                Command::DeleteTopic { name }
            }
            ControllerRequest::Reelect { topic, partition, leader_epoch } => {
                let current =
                    state.partition(&topic, partition).is_some_and(|p| p.leader == Some(origin) && p.leader_epoch == leader_epoch);
                if !current {
                    return; // the partition moved on already
                }
                Command::SetLeader { topic, partition, leader: Some(origin) }
            }
            ControllerRequest::LeaveIsr { topic, partition } => {
                for cmd in controller::leave_isr(state, &topic, partition, origin) {
                    if let Err(e) = self.controller_propose(context.clone(), &cmd) {
                        tracing::debug!(error = ?e, "forwarded proposal not accepted");
                        break;
                    }
                }
                return;
            }
            // Validated on apply: the partition epoch is the compare-and-set.
            ControllerRequest::ChangeIsr { topic, partition, isr, expected_partition_epoch } => {
                Command::ChangeIsr { topic, partition, isr, expected_partition_epoch }
            }
        };
        if let Err(e) = self.controller_propose(context, &cmd) {
            tracing::debug!(error = ?e, "forwarded proposal not accepted");
        }
    }

    /// Sends `request` to the controller once, without waiting for its outcome (the
    /// caller sees the outcome in the metadata and asks again if it must).
    pub(crate) fn send_to_controller(&mut self, request: ControllerRequest) {
        let me = self.config.node_id;
        match self.cluster.as_ref().and_then(|c| c.leader()) {
            Some(l) if l == me => self.on_forward(me, 0, request),
            Some(l) => self.send_peer(l, &PeerMessage::Forward { origin: me, token: 0, request }),
            None => {}
        }
    }

    fn refuse_forward(&mut self, origin: NodeId, token: u64, error_code: i16, message: String) {
        if origin == self.config.node_id {
            self.on_forward_refused(token, error_code, message);
        } else {
            self.send_peer(origin, &PeerMessage::ForwardRefused { token, error_code, message });
        }
    }

    /// The controller refused a request this broker forwarded: its waiter fails.
    fn on_forward_refused(&mut self, token: u64, error_code: i16, message: String) {
        let c = self.cluster.as_mut().expect("cluster");
        if let Some(f) = c.forwards.remove(&token) {
            c.failures.insert(f.topic_id, (error_code, message));
            self.recheck_all_admin();
        }
    }

    // ---- forwarding (any broker) ----

    /// Sends a metadata change to the controller; its outcome shows in
    /// [`Broker::cluster_change_status`] for `topic_id`. `false` if too many are pending.
    pub(crate) fn forward(&mut self, request: ControllerRequest) -> bool {
        let now = self.now;
        let Some(c) = self.cluster.as_mut() else { return false };
        if c.forwards.len() >= FORWARDS_MAX {
            return false;
        }
        let topic_id = match &request {
            ControllerRequest::CreateTopic { topic_id, .. } | ControllerRequest::DeleteTopic { topic_id, .. } => *topic_id,
            ControllerRequest::AllocateProducerIds { .. }
            | ControllerRequest::ChangeIsr { .. }
            | ControllerRequest::Reelect { .. }
            | ControllerRequest::LeaveIsr { .. } => TopicId::ZERO,
        };
        let token = c.next_token;
        c.next_token += 1;
        c.failures.remove(&topic_id);
        c.forwards.insert(token, Forward { request, topic_id, deadline: now.plus_ms(c.config.forward_timeout_ms), next_send: now });
        self.resend_forwards();
        self.pump_raft();
        true
    }

    fn resend_forwards(&mut self) {
        let now = self.now;
        let me = self.config.node_id;
        let Some(c) = self.cluster.as_mut() else { return };
        let leader = c.leader();
        let mut expired = Vec::new();
        let mut due = Vec::new();
        for (token, f) in c.forwards.iter_mut() {
            if now >= f.deadline {
                expired.push(*token);
            } else if now >= f.next_send && leader.is_some() {
                f.next_send = now.plus_ms(FORWARD_RESEND_MS);
                due.push((*token, f.request.clone()));
            }
        }
        let mut allocation_expired = false;
        for token in expired {
            let f = c.forwards.remove(&token).expect("listed");
            if let ControllerRequest::AllocateProducerIds { .. } = f.request {
                allocation_expired = true;
                continue;
            }
            c.failures.insert(f.topic_id, (error_code::REQUEST_TIMED_OUT, "The controller did not apply the change in time.".into()));
        }
        if allocation_expired {
            self.on_producer_id_block(0, 0, Some("the controller did not grant producer ids in time".into()));
        }
        let Some(leader) = leader else { return };
        for (token, request) in due {
            if leader == me {
                self.on_forward(me, token, request);
            } else {
                self.send_peer(leader, &PeerMessage::Forward { origin: me, token, request });
            }
        }
        self.recheck_all_admin();
    }

    /// Whether a creation of topic `name` is already on its way to the controller.
    pub(crate) fn forward_pending_for(&self, name: &str) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.forwards.values().any(|f| matches!(&f.request, ControllerRequest::CreateTopic { name: n, .. } if n == name)))
    }

    /// Where a forwarded change of topic `id` stands.
    pub(crate) fn cluster_change_status(&mut self, id: TopicId) -> ChangeStatus {
        let Some(c) = self.cluster.as_mut() else { return ChangeStatus::Gone };
        if let Some((code, msg)) = c.failures.remove(&id) {
            return ChangeStatus::Failed(code, msg);
        }
        if c.forwards.values().any(|f| f.topic_id == id) || c.metadata().is_some_and(|m| m.topics().any(|t| t.id == id)) {
            return ChangeStatus::Waiting;
        }
        ChangeStatus::Gone
    }

    // ---- the local registry follows the metadata ----

    fn reconcile_topics(&mut self) {
        let Some(c) = self.cluster.as_ref() else { return };
        let Some(state) = c.metadata() else { return };
        if !self.startup_done() {
            return; // the local registry is still loading; reconciled when it is
        }
        let mut create = Vec::new();
        let mut delete = Vec::new();
        for t in state.topics() {
            match self.topics.get(&t.name) {
                None => create.push((t.name.clone(), t.id, t.partitions.len(), t.configs.clone())),
                Some(local) if local.id != t.id && local.state == TopicState::Live => delete.push(t.name.clone()),
                _ => {}
            }
        }
        for local in self.topics.values().filter(|l| l.state == TopicState::Live) {
            let in_meta = state.topic(&local.name).is_some_and(|t| t.id == local.id);
            if !in_meta && c.known_topics.contains(&local.id) {
                delete.push(local.name.clone());
            }
        }
        for name in delete {
            tracing::info!(topic = name, "deleting the local copy of a topic the metadata no longer holds");
            self.delete_topic(&name);
        }
        for (name, id, partitions, configs) in create {
            let config = match TopicConfig::from_pairs(configs.iter().map(|(k, v)| (k.as_str(), Some(v.as_str())))) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(topic = name, error = %e, "topic configs of the metadata are invalid here; using defaults");
                    TopicConfig::default()
                }
            };
            self.create_topic_with_id(&name, id, partitions, config);
        }
    }

    /// Re-runs reconciliation after the local registry changed state (a create or
    /// delete finished), since a topic may have to be recreated under a new id.
    pub(crate) fn cluster_registry_changed(&mut self) {
        if let Some(c) = self.cluster.as_mut() {
            c.reconcile_due = true;
        }
    }

    // ---- queries for the request handlers ----

    /// Whether this broker may serve `topic`/`index` as its leader, and at which leader
    /// epoch; `current_epoch` is the client's (-1: not given). Standalone: always, at
    /// epoch 0. Errors are Kafka error codes.
    pub(crate) fn leader_check(&self, topic: &str, index: i32, current_epoch: i32) -> Result<LeaderEpoch, i16> {
        let epoch = match &self.cluster {
            None => super::LEADER_EPOCH,
            Some(c) => {
                let Some(state) = c.metadata() else { return Err(error_code::NOT_LEADER_OR_FOLLOWER) };
                let Some(p) = state.partition(topic, index) else { return Err(error_code::UNKNOWN_TOPIC_OR_PARTITION) };
                if p.leader != Some(self.config.node_id) {
                    return Err(error_code::NOT_LEADER_OR_FOLLOWER);
                }
                p.leader_epoch
            }
        };
        if current_epoch > epoch.0 {
            return Err(error_code::UNKNOWN_LEADER_EPOCH);
        }
        if current_epoch >= 0 && current_epoch < epoch.0 {
            return Err(error_code::FENCED_LEADER_EPOCH);
        }
        Ok(epoch)
    }

    /// Live (registered, unfenced) brokers with their addresses, in id order.
    pub(crate) fn cluster_brokers(&self) -> Vec<(NodeId, Address)> {
        let Some(state) = self.cluster.as_ref().and_then(|c| c.metadata()) else { return Vec::new() };
        state.brokers().filter(|b| !b.fenced).map(|b| (b.id, b.address.clone())).collect()
    }
}

fn partition_event(index: u64, topic: String, partition: i32, p: &Partition) -> ClusterEvent {
    ClusterEvent::Partition {
        index,
        topic,
        partition,
        replicas: p.replicas.clone(),
        isr: p.isr.clone(),
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
    }
}
