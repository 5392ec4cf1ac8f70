//! The broker state machine: connections, request dispatch, the Kafka APIs, the
//! topic registry, group commit and timers. No IO happens here.
//!
//! # Contract with a driver
//!
//! - Call [`Broker::handle`] with the current wall-clock time for every
//!   [`Input`]; `now` must never go backwards (asserted).
//! - After handling one or more inputs, drain [`Broker::poll_output`] until it
//!   returns `None`, and carry out every [`Output`] in order. Syncs are decided
//!   while outputs are drained, so a burst of inputs handled before draining is
//!   covered by one sync per file (group commit).
//! - Wake the broker with `Input::Tick` at or after [`Broker::poll_timeout`].
//! - Do not serve clients before `Output::Ready`; after `Input::Shutdown`, keep
//!   driving until `Output::ShutdownComplete`.
//!
//! # Modules
//! - [`connection`]: framing, response ordering.
//! - [`dispatch`]: header decoding, routing to the API handlers, encoding answers.
//! - one module per group of APIs: [`produce`], [`fetch`], [`list_offsets`],
//!   [`metadata`] (ApiVersions, Metadata, DescribeCluster), [`admin`] (topics and
//!   partitions), [`configs`], [`records_admin`] (DeleteRecords,
//!   OffsetForLeaderEpoch).
//! - [`topics`], [`topic_config`]: the registry and its persistence.
//! - [`producer_ids`]: InitProducerId and the persisted producer id blocks.
//! - [`startup`]: recovery of the data directory.
//! - Cluster mode: [`cluster`] (the Raft node, heartbeats, the controller, forwarding,
//!   the local registry following the metadata), [`raft_log`] (the Raft log file),
//!   [`cluster_requests`] (Metadata, DescribeCluster, FindCoordinator and topic creation
//!   answered from the metadata).

pub mod admin;
pub mod cluster;
pub mod cluster_requests;
#[cfg(test)]
mod cluster_tests;
pub mod configs;
pub mod connection;
pub mod dispatch;
pub mod fetch;
#[cfg(test)]
mod group_tests;
pub mod groups;
#[cfg(test)]
mod idempotence_tests;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod producer_ids;
pub mod raft_log;
pub mod records_admin;
pub mod replication;
pub mod startup;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
pub mod topic_config;
pub mod topics;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use rand::RngCore;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::BrokerConfig;
use crate::group::GroupCoordinator;
use crate::io::{DiskResult, Input, Output};
use crate::log::{DiskQueue, IoScope, LogEvent, LogState, PartitionLog, ReadId};
use crate::types::{ConnId, IoId, LeaderEpoch, Millis, Offset, TopicId};

use connection::Connection;
use topics::{Topic, TopicState};

/// Owner tag of disk operations on topic descriptions and the data directory.
const META_OWNER: u64 = 0;

/// Standalone partitions have one leader forever, at epoch 0.
pub const LEADER_EPOCH: LeaderEpoch = LeaderEpoch(0);

/// Identifies a request being processed.
pub type ReqId = u64;

/// Where a request came from and how to answer it.
#[derive(Debug, Clone)]
pub struct ReqCtx {
    pub conn: ConnId,
    /// `None` for requests that get no response (`acks=0` produce).
    pub slot: Option<u64>,
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// A request waiting for something asynchronous.
pub enum Pending {
    Produce(produce::ProducePending),
    Fetch(fetch::FetchPending),
    ListOffsets(list_offsets::ListOffsetsPending),
    Admin(admin::AdminPending),
    Configs(configs::ConfigsPending),
    DeleteRecords(records_admin::DeleteRecordsPending),
    /// A group request the coordinator has not answered yet (a parked join, say).
    Group(ReqCtx),
    /// A coordinator append waiting to be durable.
    GroupWrite(groups::GroupWrite),
    /// The replay of an offsets partition.
    GroupLoad(groups::GroupLoad),
    InitProducerId(producer_ids::InitProducerIdPending),
    /// A Metadata request naming a topic that is being created.
    Metadata(metadata::MetadataPending),
    /// A follower's fetch this leader is answering.
    ReplicaFetch(replication::ReplicaFetchPending),
}

/// One partition of one topic, with whatever waits on it.
pub struct PartitionState {
    pub topic: String,
    pub index: i32,
    pub log: PartitionLog,
    /// Requests to re-check when the durable offset (high watermark) moves.
    pub hw_waiters: BTreeSet<ReqId>,
    /// Requests to re-check when a write completes (`acks=1`).
    pub write_waiters: BTreeSet<ReqId>,
    /// Reads and lookups in flight, by the request that asked.
    pub reads: BTreeMap<ReadId, ReqId>,
    /// The log start offset known to be persisted.
    pub persisted_start: Offset,
    /// This node's part in the partition's replication (cluster mode).
    pub replica: replication::Replica,
}

impl PartitionState {
    /// A partition of a cluster (`clustered`) starts idle until the metadata gives it a role.
    pub fn new(topic: &str, index: i32, log: PartitionLog, clustered: bool) -> PartitionState {
        PartitionState {
            topic: topic.to_string(),
            index,
            log,
            hw_waiters: Default::default(),
            write_waiters: Default::default(),
            reads: Default::default(),
            persisted_start: Offset(0),
            replica: if clustered { replication::Replica::Idle } else { replication::Replica::Standalone },
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.log.state(), LogState::Ready)
    }

    /// The high watermark: standalone, the durable offset; in a cluster, the offset
    /// below which every in-sync replica has the records durably (see [`replication`]).
    pub fn high_watermark(&self) -> Offset {
        match &self.replica {
            replication::Replica::Standalone => self.log.durable_offset(),
            replication::Replica::Leader(l) => l.state.high_watermark(),
            replication::Replica::Follower(f) => f.leader_hw.min(self.log.log_end_offset()),
            replication::Replica::Idle => self.log.committed_offset(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    Serving,
    ShuttingDown,
    Stopped,
}

/// What a completed meta operation was for.
#[derive(Debug, Clone)]
pub enum MetaOp {
    /// A listing or read during startup.
    Startup(startup::StartupStep),
    /// A topic description written (create, partitions added, config changed).
    DescriptionWritten { topic: String, change: admin::DescriptionChange },
    /// A topic description removed (delete).
    DescriptionRemoved { topic: String },
    /// An orphan directory removed.
    OrphanRemoved,
    /// The end of a producer id block persisted.
    ProducerIdBlock { start: i64, end: i64 },
    /// A replica's incomplete-log marker written or removed (see `replication`).
    IncompleteMarker { path: String, written: bool },
}

/// The broker. See the module docs for the driver contract.
pub struct Broker {
    pub(crate) config: BrokerConfig,
    pub(crate) now: Millis,
    rng: ChaCha8Rng,
    out: VecDeque<Output>,
    pub(crate) disk: DiskQueue,
    conns: BTreeMap<ConnId, Connection>,
    pub(crate) topics: BTreeMap<String, Topic>,
    pub(crate) partitions: BTreeMap<u64, PartitionState>,
    /// The group coordinator (every group, standalone).
    pub(crate) groups: GroupCoordinator,
    next_owner: u64,
    pub(crate) pending: BTreeMap<ReqId, Pending>,
    next_req: ReqId,
    pub(crate) meta_ops: BTreeMap<IoId, MetaOp>,
    pub(crate) producer_ids: producer_ids::ProducerIds,
    /// Requests to re-check after the current input (admin requests wait on topic changes).
    pub(crate) recheck: BTreeSet<ReqId>,
    phase: Phase,
    pub(crate) startup: startup::Startup,
    next_flush: Millis,
    next_retention: Millis,
    /// Set when something changed that may call for a sync.
    sync_check: bool,
    /// Shutdown asked every log to close.
    logs_closing: bool,
    /// Some connection stopped reading because `pending_disk_ops_max` was reached.
    paused_for_disk: bool,
    /// Cluster mode's Raft node and controller; `None` standalone.
    pub(crate) cluster: Option<cluster::ClusterNode>,
    /// Simulator-only fault points (never fire in production).
    pub(crate) buggify: crate::buggify::Buggify,
}

impl Broker {
    /// A broker over the data directory the driver serves. It starts by
    /// recovering what is on disk and reports `Output::Ready` when it serves.
    pub fn new(config: BrokerConfig, now: Millis) -> Broker {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        // Member ids must not repeat across restarts: mix in the start time.
        let groups = GroupCoordinator::new(config.groups.clone(), config.seed ^ (now.0 as u64).rotate_left(17));
        #[cfg(feature = "sim-knobs")]
        // Each broker its own stream: the same points on, firing at other times.
        let buggify = crate::buggify::Buggify::new(config.knobs.buggify_seed.map(|s| s ^ ((config.node_id.0 as u64) << 32)));
        #[cfg(not(feature = "sim-knobs"))]
        let buggify = crate::buggify::Buggify::default();
        let mut b = Broker {
            groups,
            next_flush: now.plus_ms(config.flush_interval_ms),
            next_retention: now.plus_ms(config.retention_check_interval_ms),
            config,
            now,
            rng,
            out: VecDeque::new(),
            disk: DiskQueue::default(),
            conns: BTreeMap::new(),
            topics: BTreeMap::new(),
            partitions: BTreeMap::new(),
            next_owner: 1,
            pending: BTreeMap::new(),
            next_req: 1,
            meta_ops: BTreeMap::new(),
            producer_ids: producer_ids::ProducerIds::default(),
            recheck: BTreeSet::new(),
            phase: Phase::Starting,
            startup: startup::Startup::default(),
            sync_check: false,
            logs_closing: false,
            paused_for_disk: false,
            cluster: None,
            buggify,
        };
        b.begin_startup();
        b.cluster_start();
        b
    }

    /// Feed one input. See the module docs.
    pub fn handle(&mut self, now: Millis, input: Input) {
        assert!(now >= self.now, "time went backwards: {:?} < {:?}", now, self.now);
        self.now = now;
        match input {
            Input::Accepted { conn, peer } => self.on_accepted(conn, peer),
            Input::Received { conn, data } => self.on_received(conn, data),
            Input::Closed { conn } => self.on_closed(conn),
            Input::DiskDone { id, result } => self.on_disk_done(id, result),
            Input::Tick => self.on_tick(),
            Input::Shutdown => self.begin_shutdown(),
            Input::PeerReceived { from, data } => self.on_peer_message(from, &data),
        }
        self.run_rechecks();
        self.sync_check = true;
    }

    /// The next effect to carry out, or `None` when all are drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        if self.sync_check {
            self.sync_check = false;
            self.schedule_syncs();
            self.maybe_finish_shutdown();
        }
        if let Some(req) = self.disk.pending.pop_front() {
            return Some(Output::Disk(req));
        }
        self.out.pop_front()
    }

    /// When the broker next needs a `Tick`.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mut t = match self.phase {
            Phase::Serving => Some(self.next_flush.min(self.next_retention)),
            Phase::ShuttingDown => Some(self.next_flush),
            _ => None,
        };
        if let Some(c) = self.cluster_timeout() {
            t = Some(t.map_or(c, |t| t.min(c)));
        }
        for p in self.pending.values() {
            let deadline = match p {
                Pending::Fetch(f) => f.deadline(),
                Pending::Metadata(m) => Some(m.deadline),
                Pending::ReplicaFetch(f) => Some(f.deadline()),
                Pending::Produce(p) if self.cluster.is_some() => Some(p.deadline()),
                _ => None,
            };
            if let Some(d) = deadline {
                t = Some(t.map_or(d, |t| t.min(d)));
            }
        }
        t
    }

    pub(crate) fn emit(&mut self, o: Output) {
        self.out.push_back(o);
    }

    pub(crate) fn new_topic_id(&mut self) -> TopicId {
        let mut id = [0u8; 16];
        loop {
            self.rng.fill_bytes(&mut id);
            // Kafka reserves the all-zero id and the id with only the last bit set.
            let reserved = id == [0; 16]
                || id == {
                    let mut r = [0; 16];
                    r[15] = 1;
                    r
                };
            if !reserved && !self.topics.values().any(|t| t.id.0 == id) {
                return TopicId(id);
            }
        }
    }

    pub(crate) fn new_req_id(&mut self) -> ReqId {
        let id = self.next_req;
        self.next_req += 1;
        id
    }

    pub(crate) fn new_owner(&mut self) -> u64 {
        let o = self.next_owner;
        self.next_owner += 1;
        o
    }

    pub(crate) fn meta_io(&mut self) -> IoScope<'_> {
        IoScope { queue: &mut self.disk, owner: META_OWNER }
    }

    /// Partition state of a live topic, by name and index.
    pub(crate) fn partition_owner(&self, topic: &str, index: i32) -> Option<u64> {
        let t = self.topics.get(topic)?;
        if t.state != TopicState::Live || index < 0 {
            return None;
        }
        t.partitions.get(index as usize).copied()
    }

    pub(crate) fn live_topic(&self, name: &str) -> Option<&Topic> {
        self.topics.get(name).filter(|t| t.state == TopicState::Live)
    }

    pub(crate) fn topic_by_id(&self, id: TopicId) -> Option<&Topic> {
        self.topics.values().find(|t| t.id == id && t.state == TopicState::Live)
    }

    pub(crate) fn phase_is_stopping(&self) -> bool {
        matches!(self.phase, Phase::ShuttingDown | Phase::Stopped)
    }

    pub(crate) fn is_serving(&self) -> bool {
        self.phase == Phase::Serving
    }

    // ---- connections ----

    fn on_accepted(&mut self, conn: ConnId, peer: String) {
        if self.phase != Phase::Serving || self.conns.len() >= self.config.connections_max {
            tracing::warn!(conn = conn.0, %peer, open = self.conns.len(), "refusing connection: not serving or connections_max reached");
            self.emit(Output::Close { conn });
            return;
        }
        self.conns.insert(conn, Connection::new(conn, peer));
    }

    fn on_closed(&mut self, conn: ConnId) {
        // Pending requests of this connection finish into nothing.
        self.conns.remove(&conn);
    }

    fn on_received(&mut self, conn: ConnId, data: Bytes) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.closing {
            return;
        }
        c.push(data);
        self.process_frames(conn);
    }

    /// Take complete frames from a connection while its in-flight limit allows.
    pub(crate) fn process_frames(&mut self, conn: ConnId) {
        loop {
            let limit = self.config.inflight_requests_per_connection_max;
            let disk_busy = self.disk.in_flight >= self.config.pending_disk_ops_max;
            let Some(c) = self.conns.get_mut(&conn) else { return };
            if c.closing {
                return;
            }
            if c.in_flight() >= limit || disk_busy || self.phase != Phase::Serving {
                self.paused_for_disk |= disk_busy;
                if !c.paused {
                    c.paused = true;
                    self.out.push_back(Output::PauseReading { conn });
                }
                return;
            }
            match c.next_frame(self.config.request_bytes_max) {
                connection::Frame::Incomplete => {
                    if c.paused {
                        c.paused = false;
                        self.out.push_back(Output::ResumeReading { conn });
                    }
                    return;
                }
                connection::Frame::Invalid(len) => {
                    let peer = c.peer.clone();
                    tracing::warn!(conn = conn.0, %peer, len, max = self.config.request_bytes_max, "closing connection: request frame length out of bounds");
                    self.close_conn(conn);
                    return;
                }
                connection::Frame::Request(frame) => self.dispatch(conn, frame),
            }
        }
    }

    pub(crate) fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if !c.closing {
                c.closing = true;
                self.out.push_back(Output::Close { conn });
            }
        }
    }

    pub(crate) fn take_slot(&mut self, conn: ConnId) -> Option<u64> {
        self.conns.get_mut(&conn).map(|c| c.take_slot())
    }

    /// Deliver an encoded response into its slot and send what is in order.
    pub(crate) fn deliver(&mut self, ctx: &ReqCtx, response: Vec<Bytes>) {
        let Some(slot) = ctx.slot else { return };
        let Some(c) = self.conns.get_mut(&ctx.conn) else { return };
        if c.closing || !c.fill(slot, response) {
            return;
        }
        let conn = ctx.conn;
        let out = &mut self.out;
        c.drain_ready(|data| out.push_back(Output::Send { conn, data }));
        // A slot freed up: more requests may be taken.
        if self.conns.get(&conn).is_some_and(|c| c.paused || c.buffered() > 0) {
            self.process_frames(conn);
        }
    }

    // ---- disk completions and log events ----

    fn on_disk_done(&mut self, id: IoId, result: DiskResult) {
        let Some(owner) = self.disk.complete(id) else {
            tracing::error!(io = id.0, "completion for an unknown disk operation");
            return;
        };
        if owner == META_OWNER {
            self.on_meta_done(id, result);
        } else if owner == cluster::RAFT_OWNER {
            self.on_raft_disk_done(id, result);
        } else if let Some(p) = self.partitions.get_mut(&owner) {
            let mut io = IoScope { queue: &mut self.disk, owner };
            let events = p.log.on_disk_done(id, result, self.now, &mut io);
            let waiters = std::mem::take(&mut p.write_waiters);
            self.recheck.extend(waiters);
            for e in events {
                self.on_log_event(owner, e);
            }
            self.replication_after_disk(owner);
        }
        // Disk capacity freed: connections paused on it may continue. (Only then:
        // this runs on every completion, and scanning connections is not free.)
        if self.paused_for_disk && self.disk.in_flight < self.config.pending_disk_ops_max {
            self.paused_for_disk = false;
            let paused: Vec<ConnId> = self.conns.values().filter(|c| c.paused).map(|c| c.id).collect();
            for conn in paused {
                self.process_frames(conn);
            }
        }
    }

    fn on_log_event(&mut self, owner: u64, event: LogEvent) {
        match event {
            LogEvent::Ready => {
                self.on_partition_ready(owner);
                self.note_incomplete_replica(owner);
                self.sync_replica_roles_of(Some(owner));
                self.begin_group_load(owner);
            }
            LogEvent::Durable(_) => {
                if let Some(p) = self.partitions.get_mut(&owner) {
                    let waiters = std::mem::take(&mut p.hw_waiters);
                    self.recheck.extend(waiters);
                }
            }
            LogEvent::ReadDone { read, result } => {
                let Some(req) = self.partitions.get_mut(&owner).and_then(|p| p.reads.remove(&read)) else { return };
                match self.pending.get_mut(&req) {
                    Some(Pending::Fetch(f)) => f.on_read(owner, read, result),
                    Some(Pending::GroupLoad(l)) => l.on_read(read, result.map_err(|e| format!("{e:?}"))),
                    Some(Pending::ReplicaFetch(f)) => f.on_read(read, result),
                    _ => return,
                }
                self.recheck.insert(req);
            }
            LogEvent::TimestampFound { read, result } => {
                let Some(req) = self.partitions.get_mut(&owner).and_then(|p| p.reads.remove(&read)) else { return };
                if let Some(Pending::ListOffsets(l)) = self.pending.get_mut(&req) {
                    l.on_found(owner, read, result);
                    self.recheck.insert(req);
                }
            }
            LogEvent::StartOffsetChanged(offset) => {
                if let Some(p) = self.partitions.get_mut(&owner) {
                    p.persisted_start = p.persisted_start.max(offset);
                }
                self.recheck_all_admin();
            }
            LogEvent::Failed(why) => {
                if let Some(p) = self.partitions.get_mut(&owner) {
                    tracing::error!(topic = %p.topic, partition = p.index, %why, "partition log failed; it is offline");
                    let waiters = std::mem::take(&mut p.hw_waiters);
                    self.recheck.extend(waiters);
                    let waiters = std::mem::take(&mut p.write_waiters);
                    self.recheck.extend(waiters);
                    // Reads it will never finish are failed by their requests.
                    let readers: Vec<ReqId> = p.reads.values().copied().collect();
                    self.recheck.extend(readers);
                }
                self.recheck_all_admin();
                self.on_partition_ready(owner);
            }
            LogEvent::Deleted => {
                self.on_partition_deleted(owner);
            }
            LogEvent::Closed => {
                if let Some(p) = self.partitions.get_mut(&owner) {
                    tracing::debug!(topic = %p.topic, partition = p.index, "partition log closed");
                }
            }
        }
    }

    pub(crate) fn recheck_all_admin(&mut self) {
        let ids: Vec<ReqId> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Admin(_) | Pending::Configs(_) | Pending::DeleteRecords(_) | Pending::Metadata(_)))
            .map(|(id, _)| *id)
            .collect();
        self.recheck.extend(ids);
    }

    /// Re-examine every request something happened to.
    fn run_rechecks(&mut self) {
        // Each pass may queue more; bound the passes.
        for _ in 0..16 {
            if self.recheck.is_empty() {
                return;
            }
            let ids = std::mem::take(&mut self.recheck);
            for id in ids {
                self.poll_pending(id);
            }
        }
    }

    pub(crate) fn poll_pending(&mut self, id: ReqId) {
        let Some(p) = self.pending.remove(&id) else { return };
        let still = match p {
            Pending::Produce(x) => produce::poll(self, id, x).map(Pending::Produce),
            Pending::Fetch(x) => fetch::poll(self, id, x).map(Pending::Fetch),
            Pending::ListOffsets(x) => list_offsets::poll(self, id, x).map(Pending::ListOffsets),
            Pending::Admin(x) => admin::poll(self, id, x).map(Pending::Admin),
            Pending::Configs(x) => configs::poll(self, id, x).map(Pending::Configs),
            Pending::DeleteRecords(x) => records_admin::poll(self, id, x).map(Pending::DeleteRecords),
            Pending::Group(ctx) => Some(Pending::Group(ctx)),
            Pending::GroupWrite(x) => groups::poll_write(self, id, x).map(Pending::GroupWrite),
            Pending::GroupLoad(x) => groups::poll_load(self, id, x).map(Pending::GroupLoad),
            Pending::InitProducerId(x) => producer_ids::poll(self, id, x).map(Pending::InitProducerId),
            Pending::Metadata(x) => metadata::poll(self, id, x).map(Pending::Metadata),
            Pending::ReplicaFetch(x) => self.poll_replica_fetch(id, x).map(Pending::ReplicaFetch),
        };
        if let Some(p) = still {
            self.pending.insert(id, p);
        }
    }

    // ---- timers, group commit ----

    fn on_tick(&mut self) {
        let now = self.now;
        self.cluster_tick();
        if now >= self.next_flush {
            self.next_flush = now.plus_ms(self.config.flush_interval_ms);
            let owners: Vec<u64> = self.partitions.iter().filter(|(_, p)| p.is_ready() && p.log.needs_sync()).map(|(o, _)| *o).collect();
            for owner in owners {
                self.sync_partition(owner);
            }
        }
        if self.phase == Phase::Serving && now >= self.next_retention {
            self.next_retention = now.plus_ms(self.config.retention_check_interval_ms);
            let owners: Vec<u64> = self.partitions.iter().filter(|(_, p)| p.is_ready()).map(|(o, _)| *o).collect();
            let expiration_ms = self.config.producer_id_expiration_ms;
            for owner in owners {
                if let Some(p) = self.partitions.get_mut(&owner) {
                    let mut io = IoScope { queue: &mut self.disk, owner };
                    p.log.enforce_retention(now, &mut io);
                    p.log.expire_producers(now, expiration_ms);
                }
            }
            self.groups.expire_offsets(now);
            self.groups.maybe_compact(now);
        }
        if self.phase == Phase::Serving {
            self.groups.on_tick(now);
            self.drain_groups();
        }
        // Expired long polls answer now.
        let expired: Vec<ReqId> = self
            .pending
            .iter()
            .filter(|(_, p)| match p {
                Pending::Fetch(f) => f.deadline().is_some_and(|d| d <= now),
                Pending::Metadata(m) => m.deadline <= now,
                Pending::ReplicaFetch(f) => f.deadline() <= now,
                Pending::Produce(p) => self.cluster.is_some() && p.deadline() <= now,
                _ => false,
            })
            .map(|(id, _)| *id)
            .collect();
        self.recheck.extend(expired);
    }

    fn sync_partition(&mut self, owner: u64) {
        if let Some(p) = self.partitions.get_mut(&owner) {
            if p.is_ready() && p.log.needs_sync() && !p.log.sync_in_flight() {
                let mut io = IoScope { queue: &mut self.disk, owner };
                p.log.sync(&mut io);
            }
        }
    }

    /// Group commit: a partition whose unsynced data someone waits for (an
    /// `acks=all` produce or a long-polling fetch) is synced now, once, covering
    /// every append since its last sync. While a sync is in flight, appends
    /// accumulate for the next one.
    fn schedule_syncs(&mut self) {
        let owners: Vec<u64> = self
            .partitions
            .iter()
            .filter(|(_, p)| {
                // A follower syncs at once: its next fetch reports what it holds durably.
                let follower = matches!(p.replica, replication::Replica::Follower(_));
                (!p.hw_waiters.is_empty() || follower || self.phase == Phase::ShuttingDown) && p.log.needs_sync() && !p.log.sync_in_flight()
            })
            .map(|(o, _)| *o)
            .collect();
        for owner in owners {
            if self.phase != Phase::ShuttingDown && self.buggify.fires(crate::buggify::Point::SyncDeferred) {
                continue; // the flush tick syncs it
            }
            self.sync_partition(owner);
        }
    }

    // ---- shutdown ----

    fn begin_shutdown(&mut self) {
        if matches!(self.phase, Phase::ShuttingDown | Phase::Stopped) {
            return;
        }
        tracing::info!(pending = self.pending.len(), "shutting down: finishing in-flight requests and syncing");
        self.phase = Phase::ShuttingDown;
        self.unload_groups();
        // Long polls answer with what they have.
        let fetches: Vec<ReqId> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Fetch(_) | Pending::Metadata(_) | Pending::ReplicaFetch(_)))
            .map(|(id, _)| *id)
            .collect();
        self.recheck.extend(fetches);
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            if let Some(c) = self.conns.get_mut(&conn) {
                if !c.paused {
                    c.paused = true;
                    self.out.push_back(Output::PauseReading { conn });
                }
            }
        }
    }

    fn maybe_finish_shutdown(&mut self) {
        if self.phase != Phase::ShuttingDown || !self.pending.is_empty() {
            return;
        }
        let busy = self.partitions.values().any(|p| p.is_ready() && (p.log.needs_sync() || p.log.sync_in_flight()));
        if busy || self.disk.in_flight > 0 {
            return;
        }
        // Everything is synced: close the logs, then report completion once their
        // close operations have drained.
        if !self.logs_closing {
            self.logs_closing = true;
            let owners: Vec<u64> = self.partitions.keys().copied().collect();
            for owner in owners {
                if let Some(p) = self.partitions.get_mut(&owner) {
                    if p.is_ready() {
                        let mut io = IoScope { queue: &mut self.disk, owner };
                        p.log.close(&mut io);
                    }
                }
            }
        }
        if self.disk.in_flight == 0 && self.disk.pending.is_empty() {
            self.phase = Phase::Stopped;
            tracing::info!("shutdown complete: all partitions synced and closed");
            self.out.push_back(Output::ShutdownComplete);
        }
    }

    pub(crate) fn mark_ready(&mut self) {
        if self.phase == Phase::Starting {
            self.phase = Phase::Serving;
            tracing::info!(topics = self.topics.len(), partitions = self.partitions.len(), "recovery finished; serving");
            self.out.push_back(Output::Ready);
            self.cluster_registry_changed();
            self.pump_raft();
        }
    }

    /// Whether recovery of the local data directory finished.
    pub(crate) fn startup_done(&self) -> bool {
        self.phase != Phase::Starting
    }
}
