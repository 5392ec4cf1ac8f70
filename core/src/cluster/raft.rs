//! The metadata quorum's Raft node: raft-rs's `RawNode` driven sans-IO.
//!
//! [`RaftNode`] owns a `RawNode` over an in-memory [`RaftStorage`] (the mirror of what
//! the node has written to disk) and the [`MetadataState`] it applies committed entries
//! to. It never performs IO: it asks for it through [`RaftOutput`]s.
//!
//! # The driver's contract
//!
//! After every input — [`RaftNode::tick`], [`RaftNode::step`], [`RaftNode::propose`],
//! [`RaftNode::add_voter`], [`RaftNode::on_persisted`] — the driver calls
//! [`RaftNode::ready`] and carries out the returned outputs in order:
//!
//! - [`RaftOutput::Send`]: send the message to the peer now (fire and forget; loss,
//!   duplication and reordering are tolerated).
//! - [`RaftOutput::Persist`]: append the [`RaftWrite`] to the node's Raft log file and sync
//!   it; once the sync completes, call [`RaftNode::on_persisted`] with its id. Writes
//!   complete in the order they were issued (one log, synced in order). Messages that
//!   must wait for persistence (votes and append acknowledgements: raft-rs's
//!   `persisted_messages`) come out as `Send` only after that call.
//! - [`RaftOutput::Applied`], [`RaftOutput::ConfChanged`],
//!   [`RaftOutput::SnapshotInstalled`], [`RaftOutput::RoleChanged`]: notifications; the
//!   metadata state ([`RaftNode::metadata`]) already reflects them.
//!
//! Ticks come from the core's clock: one [`RaftNode::tick`] per tick interval the driver
//! chose. On restart, the driver hands every durably written [`RaftWrite`] in order to
//! [`RaftNode::recover`].
//!
//! # Determinism
//!
//! raft-rs draws each election timeout from rand 0.8's `thread_rng`. The node overrides
//! it from its own ChaCha generator (seeded from the config seed and the node id) after
//! every input that may have reset it: whenever the term or role changed, or the election
//! clock restarted. The drawn timeout stays in `[election_tick, 2 * election_tick)`, so
//! nodes do not split votes forever. The `thread_rng` value is never observed by a tick.
//!
//! # Panics
//!
//! raft-rs panics when its invariants break (for example a log that lost entries it had
//! acknowledged as persisted). So does this node on a broken invariant of its own. The
//! simulator must run each node so that a panic fails the seed (catch it and report),
//! never hangs the run; production lets it abort the process.

use std::collections::VecDeque;

use ::raft::eraftpb::{ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Message, Snapshot};
use ::raft::{GetEntriesContext, RaftState, RawNode, StateRole, Storage, StorageError};
use protobuf::Message as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::metadata::{Change, Command, MetadataState, Rejection};
use crate::types::NodeId;

/// The index and term of the snapshot every bootstrapped voter starts from. A node
/// added later starts empty and receives the leader's snapshot instead of replaying
/// conf changes against an empty configuration.
pub const BOOTSTRAP_INDEX: u64 = 1;
pub const BOOTSTRAP_TERM: u64 = 1;

/// Most raft-rs readies processed by one [`RaftNode::ready`] call.
const READIES_PER_CALL_MAX: usize = 64;

/// Raft ids must be non-zero; Kafka node ids start at 0.
pub fn raft_id(node: NodeId) -> u64 {
    assert!(node.0 >= 0, "negative node id {node:?}");
    node.0 as u64 + 1
}

pub fn node_id(raft_id: u64) -> NodeId {
    assert!(raft_id >= 1 && raft_id <= i32::MAX as u64 + 1, "raft id {raft_id}");
    NodeId((raft_id - 1) as i32)
}

/// Configuration of one node.
#[derive(Clone, Debug)]
pub struct RaftConfig {
    pub id: NodeId,
    /// Seeds the election-timeout generator (together with the id).
    pub seed: u64,
    /// Election timeout in ticks; randomized in `[election_ticks, 2 * election_ticks)`.
    pub election_ticks: usize,
    pub heartbeat_ticks: usize,
    /// Take a snapshot and compact the log once this many entries were applied since
    /// the last snapshot.
    pub snapshot_interval_entries: u64,
    pub message_bytes_max: u64,
    pub inflight_messages_max: usize,
    /// Planted bug (simulator only): send votes and acknowledgements before persisting.
    #[cfg(feature = "sim-knobs")]
    pub ack_before_persist: bool,
}

impl RaftConfig {
    pub fn new(id: NodeId, seed: u64) -> RaftConfig {
        RaftConfig {
            id,
            seed,
            election_ticks: 10,
            heartbeat_ticks: 2,
            snapshot_interval_entries: 1_000,
            message_bytes_max: 1 << 20,
            inflight_messages_max: 256,
            #[cfg(feature = "sim-knobs")]
            ack_before_persist: false,
        }
    }

    fn raft_config(&self, applied: u64) -> ::raft::Config {
        ::raft::Config {
            id: raft_id(self.id),
            election_tick: self.election_ticks,
            heartbeat_tick: self.heartbeat_ticks,
            applied,
            max_size_per_msg: self.message_bytes_max,
            max_inflight_msgs: self.inflight_messages_max,
            check_quorum: true,
            pre_vote: true,
            ..Default::default()
        }
    }
}

/// A node's role, as raft-rs reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

impl From<StateRole> for Role {
    fn from(r: StateRole) -> Role {
        match r {
            StateRole::Follower => Role::Follower,
            StateRole::PreCandidate => Role::PreCandidate,
            StateRole::Candidate => Role::Candidate,
            StateRole::Leader => Role::Leader,
        }
    }
}

/// Identifies one [`RaftOutput::Persist`]; its completion carries the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PersistId(pub u64);

/// One record of the node's Raft log file. Replaying the durable records in order
/// ([`RaftStorage::recover`]) rebuilds what the node had persisted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftWrite {
    /// A protobuf `Snapshot` (its data is a [`MetadataState`] snapshot). Entries at or
    /// below its index are dropped; with `discard_log`, every entry is.
    pub snapshot: Option<Vec<u8>>,
    pub discard_log: bool,
    /// Protobuf `Entry`s in index order; the first replaces the entry at its index and
    /// everything after it.
    pub entries: Vec<Vec<u8>>,
    /// A protobuf `HardState` (term, vote, commit).
    pub hard_state: Option<Vec<u8>>,
}

impl RaftWrite {
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none() && self.entries.is_empty() && self.hard_state.is_none()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard into a Vec cannot fail")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<RaftWrite, RecoverError> {
        match postcard::take_from_bytes(bytes) {
            Ok((w, [])) => Ok(w),
            _ => Err(RecoverError("malformed raft write record".into())),
        }
    }
}

/// A persisted state that cannot be recovered from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverError(pub String);

/// What the driver must do, in order. See the module docs.
#[derive(Clone, Debug)]
pub enum RaftOutput {
    Send {
        to: NodeId,
        message: Message,
    },
    Persist {
        id: PersistId,
        write: RaftWrite,
    },
    /// A committed command was applied (or rejected, state unchanged). `context` is what
    /// the proposer passed to [`RaftNode::propose`]; `data` the entry's command bytes.
    Applied {
        index: u64,
        term: u64,
        context: Vec<u8>,
        data: Vec<u8>,
        result: Result<Command, Rejection>,
        /// What the command changed, as of right after it (empty if rejected).
        changes: Vec<Change>,
    },
    ConfChanged {
        index: u64,
        voters: Vec<NodeId>,
    },
    SnapshotInstalled {
        index: u64,
        term: u64,
    },
    RoleChanged {
        term: u64,
        role: Role,
        leader: Option<NodeId>,
    },
}

/// Why a proposal was not accepted. Nothing was appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    NotLeader { leader: Option<NodeId> },
    Dropped(String),
}

/// Encodes a Raft message for the network.
pub fn encode_message(m: &Message) -> Vec<u8> {
    m.write_to_bytes().expect("protobuf encoding into a Vec cannot fail")
}

/// Decodes a Raft message from the network; `None` for bad bytes.
pub fn decode_message(bytes: &[u8]) -> Option<Message> {
    Message::parse_from_bytes(bytes).ok()
}

// ---------------------------------------------------------------------------------------
// Storage

/// raft-rs's view of the node's persisted log: the latest snapshot, the entries after
/// it, the hard state and the current configuration. Updated before each write is
/// handed out for persistence (raft-rs reads its own unpersisted entries from here).
#[derive(Clone, Debug, Default)]
pub struct RaftStorage {
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: Snapshot,
    /// `entries[0].index == snapshot index + 1`, consecutive.
    entries: Vec<Entry>,
}

impl RaftStorage {
    fn snapshot_index(&self) -> u64 {
        self.snapshot.get_metadata().index
    }

    fn snapshot_term(&self) -> u64 {
        self.snapshot.get_metadata().term
    }

    fn last(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_index(), |e| e.index)
    }

    fn append(&mut self, ents: &[Entry]) {
        let Some(first) = ents.first() else { return };
        assert!(first.index > self.snapshot_index(), "append at {} below snapshot {}", first.index, self.snapshot_index());
        assert!(first.index <= self.last() + 1, "gap before entry {}", first.index);
        let keep = (first.index - self.snapshot_index() - 1) as usize;
        self.entries.truncate(keep);
        self.entries.extend_from_slice(ents);
    }

    /// Installs a snapshot; with `discard_log` drops every entry, else only those it covers.
    fn install_snapshot(&mut self, snap: Snapshot, discard_log: bool) {
        let meta = snap.get_metadata();
        let index = meta.index;
        if discard_log {
            self.entries.clear();
        } else {
            self.entries.retain(|e| e.index > index);
        }
        self.hard_state.commit = self.hard_state.commit.max(index);
        self.hard_state.term = self.hard_state.term.max(meta.term);
        self.conf_state = meta.get_conf_state().clone();
        self.snapshot = snap;
    }

    /// Rebuilds storage from the durable records, in write order.
    pub fn recover<'a>(writes: impl IntoIterator<Item = &'a RaftWrite>) -> Result<RaftStorage, RecoverError> {
        let mut s = RaftStorage::default();
        let bad = |what: &str| RecoverError(format!("malformed {what} in raft log"));
        for w in writes {
            if let Some(bytes) = &w.snapshot {
                let snap = Snapshot::parse_from_bytes(bytes).map_err(|_| bad("snapshot"))?;
                s.install_snapshot(snap, w.discard_log);
            }
            let mut ents = Vec::with_capacity(w.entries.len());
            for bytes in &w.entries {
                ents.push(Entry::parse_from_bytes(bytes).map_err(|_| bad("entry"))?);
            }
            if let Some(first) = ents.first() {
                let consecutive = ents.windows(2).all(|p| p[1].index == p[0].index + 1);
                if first.index <= s.snapshot_index() || first.index > s.last() + 1 || !consecutive {
                    return Err(RecoverError(format!(
                        "entries from {} do not follow the log (snapshot {}, last {})",
                        first.index,
                        s.snapshot_index(),
                        s.last()
                    )));
                }
                s.append(&ents);
            }
            if let Some(bytes) = &w.hard_state {
                s.hard_state = HardState::parse_from_bytes(bytes).map_err(|_| bad("hard state"))?;
            }
        }
        if s.hard_state.commit > s.last() {
            return Err(RecoverError(format!("commit {} beyond the last entry {}", s.hard_state.commit, s.last())));
        }
        Ok(s)
    }
}

impl Storage for RaftStorage {
    fn initial_state(&self) -> ::raft::Result<RaftState> {
        Ok(RaftState::new(self.hard_state.clone(), self.conf_state.clone()))
    }

    fn entries(&self, low: u64, high: u64, max_size: impl Into<Option<u64>>, _context: GetEntriesContext) -> ::raft::Result<Vec<Entry>> {
        if low <= self.snapshot_index() {
            return Err(::raft::Error::Store(StorageError::Compacted));
        }
        assert!(high <= self.last() + 1, "entries up to {high} beyond {}", self.last());
        let offset = self.snapshot_index() + 1;
        let mut ents = self.entries[(low - offset) as usize..(high - offset) as usize].to_vec();
        ::raft::util::limit_size(&mut ents, max_size.into());
        Ok(ents)
    }

    fn term(&self, idx: u64) -> ::raft::Result<u64> {
        if idx == self.snapshot_index() {
            return Ok(self.snapshot_term());
        }
        if idx < self.snapshot_index() {
            return Err(::raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last() {
            return Err(::raft::Error::Store(StorageError::Unavailable));
        }
        Ok(self.entries[(idx - self.snapshot_index() - 1) as usize].term)
    }

    fn first_index(&self) -> ::raft::Result<u64> {
        Ok(self.snapshot_index() + 1)
    }

    fn last_index(&self) -> ::raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> ::raft::Result<Snapshot> {
        if self.snapshot_index() < request_index || self.snapshot_index() == 0 {
            return Err(::raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable));
        }
        Ok(self.snapshot.clone())
    }
}

// ---------------------------------------------------------------------------------------
// The node

struct PendingPersist {
    /// `None` for a ready that wrote nothing but queued behind one that did.
    id: Option<PersistId>,
    ready_number: Option<u64>,
    messages: Vec<Message>,
}

/// One member of the metadata quorum. See the module docs for the driver's contract.
pub struct RaftNode {
    config: RaftConfig,
    raw: RawNode<RaftStorage>,
    metadata: MetadataState,
    applied: u64,
    rng: ChaCha8Rng,
    /// (term, role) when the election timeout was last drawn.
    timeout_drawn_for: (u64, StateRole),
    last_reported: (u64, StateRole, u64),
    next_persist: u64,
    /// A snapshot is due at the end of this `ready` (a conf change was applied).
    snapshot_due: bool,
    pending: VecDeque<PendingPersist>,
    outputs: Vec<RaftOutput>,
}

impl RaftNode {
    /// A voter of the initial cluster: starts from the bootstrap snapshot (index 1,
    /// term 1, the given voters, empty metadata). Every initial voter must be given the
    /// same `voters`. The bootstrap snapshot is the first [`RaftOutput::Persist`].
    pub fn bootstrap(config: RaftConfig, voters: &[NodeId]) -> RaftNode {
        assert!(voters.contains(&config.id), "{:?} bootstraps without being a voter", config.id);
        let mut snap = Snapshot { data: MetadataState::new().to_snapshot().into(), ..Default::default() };
        let meta = snap.mut_metadata();
        meta.index = BOOTSTRAP_INDEX;
        meta.term = BOOTSTRAP_TERM;
        meta.mut_conf_state().voters = voters.iter().map(|v| raft_id(*v)).collect();
        let mut storage = RaftStorage::default();
        storage.install_snapshot(snap.clone(), true);
        let write = RaftWrite {
            snapshot: Some(snap.write_to_bytes().expect("encode")),
            discard_log: true,
            entries: Vec::new(),
            hard_state: Some(storage.hard_state.write_to_bytes().expect("encode")),
        };
        let mut node = RaftNode::with_storage(config, storage, MetadataState::new());
        node.emit_persist(write, None, Vec::new());
        node
    }

    /// A node added to a running cluster (the leader proposes [`RaftNode::add_voter`]):
    /// starts empty and waits for the leader's snapshot.
    pub fn join(config: RaftConfig) -> RaftNode {
        RaftNode::with_storage(config, RaftStorage::default(), MetadataState::new())
    }

    /// Restarts from the durable records, in write order (all of them since the node was
    /// created or its log file was last rewritten).
    pub fn recover(config: RaftConfig, writes: &[RaftWrite]) -> Result<RaftNode, RecoverError> {
        let storage = RaftStorage::recover(writes)?;
        let metadata = if storage.snapshot_index() == 0 {
            MetadataState::new()
        } else {
            MetadataState::from_snapshot(&storage.snapshot.data).map_err(|e| RecoverError(format!("snapshot: {e}")))?
        };
        Ok(RaftNode::with_storage(config, storage, metadata))
    }

    fn with_storage(config: RaftConfig, storage: RaftStorage, metadata: MetadataState) -> RaftNode {
        assert!(config.election_ticks > config.heartbeat_ticks && config.heartbeat_ticks > 0);
        let applied = storage.snapshot_index();
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&config.raft_config(applied), storage, &logger).expect("raft config is valid and storage consistent");
        let seed = config.seed ^ (raft_id(config.id).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut node = RaftNode {
            raw,
            metadata,
            applied,
            rng: ChaCha8Rng::seed_from_u64(seed),
            timeout_drawn_for: (0, StateRole::Follower),
            last_reported: (0, StateRole::Follower, 0),
            next_persist: 0,
            snapshot_due: false,
            pending: VecDeque::new(),
            outputs: Vec::new(),
            config,
        };
        node.draw_election_timeout();
        node
    }

    // ---- inputs ----

    /// One tick of the core's clock.
    pub fn tick(&mut self) {
        self.raw.tick();
        self.after_input();
    }

    /// A message from a peer. Messages from unknown peers or of local types are dropped
    /// (returned as an error for tracing).
    pub fn step(&mut self, message: Message) -> Result<(), String> {
        // raft-rs installs a snapshot without looking inside; an unreadable one would
        // only fail later, in `ready`. Refuse it here (the leader sends another).
        if message.get_msg_type() == ::raft::eraftpb::MessageType::MsgSnapshot {
            if let Err(e) = MetadataState::from_snapshot(&message.get_snapshot().data) {
                return Err(format!("unreadable snapshot from {}: {e}", message.from));
            }
        }
        let r = self.raw.step(message).map_err(|e| e.to_string());
        self.after_input();
        r
    }

    /// Proposes a command; only the leader accepts. Its outcome arrives as
    /// [`RaftOutput::Applied`] carrying `context`, on every node, once committed.
    pub fn propose(&mut self, context: Vec<u8>, command: &Command) -> Result<(), ProposeError> {
        self.leader_only()?;
        let r = self.raw.propose(context, command.to_bytes());
        self.after_input();
        r.map_err(|e| ProposeError::Dropped(e.to_string()))
    }

    /// Proposes adding `node` as a voter (it should start with [`RaftNode::join`]).
    pub fn add_voter(&mut self, node: NodeId) -> Result<(), ProposeError> {
        self.leader_only()?;
        let mut cc = ConfChange::default();
        cc.set_change_type(ConfChangeType::AddNode);
        cc.node_id = raft_id(node);
        let r = self.raw.propose_conf_change(Vec::new(), cc);
        self.after_input();
        r.map_err(|e| ProposeError::Dropped(e.to_string()))
    }

    /// The write with this id is durable. Ids complete in issue order.
    pub fn on_persisted(&mut self, id: PersistId) {
        let front = self.pending.pop_front().expect("on_persisted with nothing pending");
        assert_eq!(front.id, Some(id), "persist completions out of order");
        let mut number = front.ready_number;
        let mut messages = front.messages;
        // Readies that wrote nothing complete with the write they queued behind.
        while self.pending.front().is_some_and(|p| p.id.is_none()) {
            let p = self.pending.pop_front().expect("front exists");
            number = p.ready_number.or(number);
            messages.extend(p.messages);
        }
        if let Some(n) = number {
            self.raw.on_persist_ready(n);
        }
        self.push_sends(messages);
        self.after_input();
    }

    // ---- outputs ----

    /// Processes everything raft-rs has ready and returns the outputs, in order.
    pub fn ready(&mut self) -> Vec<RaftOutput> {
        for _ in 0..READIES_PER_CALL_MAX {
            if !self.raw.has_ready() {
                break;
            }
            self.process_ready();
            self.after_input();
        }
        self.maybe_snapshot();
        std::mem::take(&mut self.outputs)
    }

    fn process_ready(&mut self) {
        let mut rd = self.raw.ready();
        let number = rd.number();
        let messages = rd.take_messages();
        // Snapshots go out fire-and-forget: report them sent at once, so a lost one is
        // retried through the probe path instead of pausing the follower forever.
        let snapshots_to: Vec<u64> =
            messages.iter().filter(|m| m.get_msg_type() == ::raft::eraftpb::MessageType::MsgSnapshot).map(|m| m.to).collect();
        self.push_sends(messages);

        let mut write = RaftWrite::default();
        if !rd.snapshot().is_empty() {
            let snap = rd.snapshot().clone();
            let (index, term) = (snap.get_metadata().index, snap.get_metadata().term);
            self.metadata =
                MetadataState::from_snapshot(&snap.data).unwrap_or_else(|e| panic!("leader sent an unreadable snapshot at {index}: {e}"));
            self.applied = index;
            write.snapshot = Some(snap.write_to_bytes().expect("encode"));
            write.discard_log = true;
            self.raw.mut_store().install_snapshot(snap, true);
            self.outputs.push(RaftOutput::SnapshotInstalled { index, term });
        }
        if !rd.entries().is_empty() {
            write.entries = rd.entries().iter().map(|e| e.write_to_bytes().expect("encode")).collect();
            self.raw.mut_store().append(rd.entries());
        }
        if let Some(hs) = rd.hs() {
            write.hard_state = Some(hs.write_to_bytes().expect("encode"));
            self.raw.mut_store().hard_state = hs.clone();
        }
        let committed = rd.take_committed_entries();
        let persisted_messages = rd.take_persisted_messages();
        #[cfg(feature = "sim-knobs")]
        let persisted_messages = if self.config.ack_before_persist {
            self.push_sends(persisted_messages);
            Vec::new()
        } else {
            persisted_messages
        };
        self.raw.advance_append_async(rd);
        for to in snapshots_to {
            self.raw.report_snapshot(to, ::raft::SnapshotStatus::Finish);
        }
        self.apply_committed(committed);

        if !write.is_empty() {
            self.emit_persist(write, Some(number), persisted_messages);
        } else if !self.pending.is_empty() {
            self.pending.push_back(PendingPersist { id: None, ready_number: Some(number), messages: persisted_messages });
        } else {
            self.raw.on_persist_ready(number);
            self.push_sends(persisted_messages);
        }
    }

    fn apply_committed(&mut self, entries: Vec<Entry>) {
        let Some(last) = entries.last().map(|e| e.index) else { return };
        for e in entries {
            assert_eq!(e.index, self.applied + 1, "committed entries out of order");
            self.applied = e.index;
            match e.get_entry_type() {
                EntryType::EntryNormal if e.data.is_empty() => {} // a new leader's no-op
                EntryType::EntryNormal => {
                    let result = self.metadata.apply_bytes(&e.data);
                    let changes = result.as_ref().map(|cmd| self.metadata.changes(cmd)).unwrap_or_default();
                    self.outputs.push(RaftOutput::Applied {
                        changes,
                        index: e.index,
                        term: e.term,
                        context: e.context.to_vec(),
                        data: e.data.to_vec(),
                        result,
                    });
                }
                EntryType::EntryConfChange => {
                    let cc =
                        ConfChange::parse_from_bytes(&e.data).unwrap_or_else(|_| panic!("committed conf change {} unreadable", e.index));
                    let cs = self.raw.apply_conf_change(&cc).expect("conf change applies");
                    let voters = cs.voters.iter().map(|v| node_id(*v)).collect();
                    self.raw.mut_store().conf_state = cs;
                    // A peer that joins needs a snapshot whose configuration includes it
                    // (raft-rs refuses one that does not): take it at this index.
                    self.snapshot_due = true;
                    self.outputs.push(RaftOutput::ConfChanged { index: e.index, voters });
                }
                EntryType::EntryConfChangeV2 => panic!("conf change v2 is never proposed"),
            }
        }
        self.raw.advance_apply_to(last);
    }

    /// Snapshots the metadata at the applied index and compacts the log before it, once
    /// `snapshot_interval_entries` were applied since the last snapshot, or after a conf
    /// change.
    fn maybe_snapshot(&mut self) {
        let store = self.raw.store();
        let due = std::mem::take(&mut self.snapshot_due);
        if !due && self.applied < store.snapshot_index() + self.config.snapshot_interval_entries {
            return;
        }
        self.compact();
    }

    /// Snapshots now (at the applied index) and compacts the log. No-op if nothing was
    /// applied since the last snapshot.
    pub fn compact(&mut self) {
        let index = self.applied;
        let store = self.raw.store();
        if index <= store.snapshot_index() {
            return;
        }
        let term = store.term(index).expect("applied entry is in the log");
        let mut snap = Snapshot { data: self.metadata.to_snapshot().into(), ..Default::default() };
        let meta = snap.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.set_conf_state(store.conf_state.clone());
        let write =
            RaftWrite { snapshot: Some(snap.write_to_bytes().expect("encode")), discard_log: false, entries: Vec::new(), hard_state: None };
        self.raw.mut_store().install_snapshot(snap, false);
        self.emit_persist(write, None, Vec::new());
    }

    /// The whole storage as one write: what a rewritten log file holds. Only meaningful
    /// when every earlier write is durable (nothing in flight), as the log file ensures.
    pub fn full_write(&self) -> RaftWrite {
        let store = self.raw.store();
        RaftWrite {
            snapshot: Some(store.snapshot.write_to_bytes().expect("encode")),
            discard_log: true,
            entries: store.entries.iter().map(|e| e.write_to_bytes().expect("encode")).collect(),
            hard_state: Some(store.hard_state.write_to_bytes().expect("encode")),
        }
    }

    // ---- queries ----

    pub fn id(&self) -> NodeId {
        self.config.id
    }

    pub fn metadata(&self) -> &MetadataState {
        &self.metadata
    }

    pub fn term(&self) -> u64 {
        self.raw.raft.term
    }

    pub fn role(&self) -> Role {
        self.raw.raft.state.into()
    }

    pub fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    pub fn leader(&self) -> Option<NodeId> {
        match self.raw.raft.leader_id {
            0 => None,
            id => Some(node_id(id)),
        }
    }

    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    pub fn commit_index(&self) -> u64 {
        self.raw.raft.raft_log.committed
    }

    pub fn last_index(&self) -> u64 {
        self.raw.store().last()
    }

    pub fn snapshot_index(&self) -> u64 {
        self.raw.store().snapshot_index()
    }

    /// The term of the entry at `index`, if it is in the log (not compacted).
    pub fn entry_term(&self, index: u64) -> Option<u64> {
        self.raw.raft.raft_log.term(index).ok()
    }

    /// The current election timeout in ticks (for tests and traces).
    pub fn election_timeout_ticks(&self) -> usize {
        self.raw.raft.randomized_election_timeout()
    }

    // ---- internals ----

    fn leader_only(&self) -> Result<(), ProposeError> {
        if self.is_leader() {
            Ok(())
        } else {
            Err(ProposeError::NotLeader { leader: self.leader() })
        }
    }

    fn emit_persist(&mut self, write: RaftWrite, ready_number: Option<u64>, messages: Vec<Message>) {
        let id = PersistId(self.next_persist);
        self.next_persist += 1;
        self.pending.push_back(PendingPersist { id: Some(id), ready_number, messages });
        self.outputs.push(RaftOutput::Persist { id, write });
    }

    fn push_sends(&mut self, messages: Vec<Message>) {
        for message in messages {
            self.outputs.push(RaftOutput::Send { to: node_id(message.to), message });
        }
    }

    /// Overrides raft-rs's `thread_rng` election timeout whenever it may have been
    /// redrawn (term or role changed, or the election clock restarted), and reports
    /// role changes.
    fn after_input(&mut self) {
        let r = &self.raw.raft;
        let now = (r.term, r.state);
        if now != self.timeout_drawn_for || r.election_elapsed == 0 {
            self.draw_election_timeout();
        }
        let r = &self.raw.raft;
        let report = (r.term, r.state, r.leader_id);
        if report != self.last_reported {
            self.last_reported = report;
            self.outputs.push(RaftOutput::RoleChanged {
                term: report.0,
                role: report.1.into(),
                leader: (report.2 != 0).then(|| node_id(report.2)),
            });
        }
    }

    fn draw_election_timeout(&mut self) {
        let min = self.config.election_ticks;
        let t = self.rng.gen_range(min..2 * min);
        self.raw.raft.set_randomized_election_timeout(t);
        self.timeout_drawn_for = (self.raw.raft.term, self.raw.raft.state);
    }
}
