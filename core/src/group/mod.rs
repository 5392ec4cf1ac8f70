//! The group coordinator (Kafka's classic protocol): membership, rebalances,
//! committed offsets. Sans-IO and independent of the broker: requests come in as
//! decoded messages with the id of the request, and everything the coordinator
//! wants done comes out as [`GroupOutput`]s — answers to (possibly parked)
//! requests and records to append to an offsets partition. The broker appends
//! those records to `__consumer_offsets` under the same durability rules as user
//! data and reports back with [`GroupCoordinator::on_write_done`] once they are
//! durable (or failed).
//!
//! # Where groups live
//!
//! A group belongs to one partition of `__consumer_offsets`
//! ([`store::partition_for`], as Kafka computes it). The coordinator serves only
//! the partitions it was given ([`GroupCoordinator::begin_load`] then
//! [`GroupCoordinator::finish_load`]; in standalone mode, all of them); requests
//! for a group of another partition get NOT_COORDINATOR, and while its partition
//! is being replayed, COORDINATOR_LOAD_IN_PROGRESS. In cluster mode the leader
//! of a partition is its coordinator, so groups move with leadership by loading
//! (and [`GroupCoordinator::unload`]ing) partitions — nothing else changes.
//!
//! # What is durable
//!
//! - Committed offsets: the commit is answered after its records are durable,
//!   and only then becomes visible to OffsetFetch.
//! - Group metadata (generation, protocol, leader, members with their
//!   assignments): written when a generation's assignment is set (SyncGroup from
//!   the leader, answered after the write) and when a group becomes empty. After a
//!   restart, members of a loaded generation can carry on heartbeating; those that
//!   do not are expired by their session timeout as usual.
//!
//! # Timers
//!
//! [`GroupCoordinator::on_tick`] checks session timeouts, rebalance timeouts and
//! the initial rebalance delay; the broker calls it on its regular tick (every
//! `flush_interval_ms`), which bounds their precision.
//!
//! # Compaction
//!
//! `__consumer_offsets` only grows by appends; [`compaction`] keeps it bounded
//! by re-appending the live state of a partition and then moving its log start
//! past everything older (see there for why that is safe).
//!
//! Modules: [`membership`] (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, the
//! rebalance state machine), [`offsets`] (OffsetCommit, OffsetFetch,
//! OffsetDelete, expiry), [`admin`] (ListGroups, DescribeGroups, DeleteGroups),
//! [`store`] (record layout), [`state`] (groups and members).

pub mod admin;
pub mod compaction;
pub mod membership;
pub mod offsets;
pub mod state;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::protocol::error_code;
use crate::protocol::messages::Response;
use crate::records::Record;
use crate::types::Millis;

use state::{Group, GroupState};
use store::{CommittedOffset, Entry};

/// The internal topic holding offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Identifies a request the coordinator answers (the broker's request id).
pub type ReqId = u64;

/// Identifies an append the coordinator waits for.
pub type WriteId = u64;

/// Coordinator settings (Kafka's names in the docs of each field).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `offsets.topic.num.partitions`
    pub offsets_partitions: i32,
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an
    /// empty group waits for more members to join.
    pub initial_rebalance_delay_ms: i32,
    /// `group.max.size`
    pub max_size: usize,
    /// `offset.metadata.max.bytes`
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes`, in ms: offsets of an empty group older than
    /// this are removed.
    pub offsets_retention_ms: i64,
    /// `offsets.topic.segment.bytes`
    pub offsets_segment_bytes: i64,
    /// Compact a partition once this many records were appended since its last
    /// compaction, and at least twice its live records.
    pub compaction_min_records: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            offsets_partitions: 50,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            max_size: i32::MAX as usize,
            offset_metadata_max_bytes: 4096,
            offsets_retention_ms: 7 * 24 * 3600 * 1000,
            offsets_segment_bytes: 100 << 20,
            compaction_min_records: 10_000,
        }
    }
}

/// Something the coordinator wants done.
#[derive(Debug)]
pub enum GroupOutput {
    /// Answer request `req`.
    Reply(ReqId, Response),
    /// Append `records` to offsets partition `partition`; report the outcome
    /// with [`GroupCoordinator::on_write_done`] once durable or failed. With
    /// `compact`, the records are the partition's whole live state: once they are
    /// durable, move the log start to their first offset (no records: to the log
    /// end, if everything is durable).
    Append { partition: i32, write: WriteId, records: Vec<Record>, compact: bool },
}

/// The replay state of an offsets partition this coordinator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    Loading,
    Ready,
}

/// What an append was for, to finish when it is durable.
#[derive(Debug)]
pub(crate) enum Write {
    /// OffsetCommit: make these offsets visible and answer.
    Commit { req: ReqId, group: String, offsets: Vec<(String, i32, CommittedOffset)>, resp: Response },
    /// A generation's assignment (SyncGroup from the leader).
    Assignment { group: String, generation: i32 },
    /// Group metadata or tombstones with no one waiting (or `req` waiting for a plain answer).
    Plain { req: Option<(ReqId, Response)> },
    /// One of several appends a request waits for (DeleteGroups over partitions).
    Joined(u64),
}

/// A request answered once all of its appends are done.
#[derive(Debug)]
struct JoinedWrites {
    req: ReqId,
    resp: Response,
    remaining: usize,
    ok: bool,
}

pub struct GroupCoordinator {
    pub(crate) config: GroupConfig,
    pub(crate) groups: BTreeMap<String, Group>,
    loads: BTreeMap<i32, Load>,
    /// Appends in flight, with their partition.
    writes: BTreeMap<WriteId, (i32, Write)>,
    next_write: WriteId,
    /// Records appended per partition since its last compaction.
    appended: BTreeMap<i32, u64>,
    joins: BTreeMap<u64, JoinedWrites>,
    /// Source of member ids (seeded, so the simulator replays them).
    id_state: u64,
    out: Vec<GroupOutput>,
    /// No timer is due before this.
    next_due: Option<Millis>,
}

/// Kafka's validity rule for a group id in most APIs: not empty.
pub(crate) fn valid_group_id(id: &str) -> bool {
    !id.is_empty()
}

impl GroupCoordinator {
    /// `seed` makes member ids unique across restarts: mix the broker's seed with
    /// the start time.
    pub fn new(config: GroupConfig, seed: u64) -> GroupCoordinator {
        GroupCoordinator {
            config,
            groups: BTreeMap::new(),
            loads: BTreeMap::new(),
            writes: BTreeMap::new(),
            next_write: 1,
            appended: BTreeMap::new(),
            joins: BTreeMap::new(),
            id_state: seed ^ 0x9e37_79b9_7f4a_7c15,
            out: Vec::new(),
            next_due: None,
        }
    }

    pub fn partition_for(&self, group: &str) -> i32 {
        store::partition_for(group, self.config.offsets_partitions)
    }

    /// Drain what the coordinator wants done.
    pub fn take_outputs(&mut self) -> Vec<GroupOutput> {
        std::mem::take(&mut self.out)
    }

    /// The coordinator error for `group`, if it cannot be served here right now.
    pub fn coordinator_error(&self, group: &str) -> Option<i16> {
        match self.loads.get(&self.partition_for(group)) {
            Some(Load::Ready) => None,
            Some(Load::Loading) => Some(error_code::COORDINATOR_LOAD_IN_PROGRESS),
            None => Some(error_code::NOT_COORDINATOR),
        }
    }

    /// Whether this coordinator serves `partition` (loaded or loading).
    pub fn serves(&self, partition: i32) -> bool {
        self.loads.contains_key(&partition)
    }

    // ---- loading ----

    /// Start serving `partition`: its records are about to be replayed.
    pub fn begin_load(&mut self, partition: i32) {
        self.loads.insert(partition, Load::Loading);
        self.appended.insert(partition, 0);
        self.groups.retain(|_, g| g.partition != partition);
    }

    /// Replay one record of `partition`'s log, in log order.
    pub fn load_record(&mut self, partition: i32, key: &Bytes, value: Option<&Bytes>) {
        *self.appended.entry(partition).or_default() += 1;
        let entry = match store::decode(key, value) {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(partition, error = %e, "skipping an undecodable record in the offsets log");
                return;
            }
        };
        match entry {
            Entry::Offset { group, topic, partition: p, value } => match value {
                Some(v) => {
                    self.group_mut_or_new(&group, partition).offsets.insert((topic, p), v);
                }
                None => {
                    if let Some(g) = self.groups.get_mut(&group) {
                        g.offsets.remove(&(topic, p));
                    }
                }
            },
            Entry::Group { group, value } => match value {
                Some(v) => self.group_mut_or_new(&group, partition).restore(v),
                None => {
                    self.groups.remove(&group);
                }
            },
        }
    }

    /// The replay of `partition` is complete: serve it. Restored members get a
    /// fresh session from `now`.
    pub fn finish_load(&mut self, partition: i32, now: Millis) {
        self.loads.insert(partition, Load::Ready);
        let mut n = 0;
        for g in self.groups.values_mut().filter(|g| g.partition == partition) {
            g.after_load(now);
            n += 1;
        }
        self.next_due = Some(now);
        tracing::info!(partition, groups = n, "offsets partition loaded");
    }

    /// Stop serving `partition` (leadership moved): its groups are dropped from
    /// memory, parked requests answered with NOT_COORDINATOR.
    pub fn unload(&mut self, partition: i32) {
        self.loads.remove(&partition);
        let names: Vec<String> = self.groups.values().filter(|g| g.partition == partition).map(|g| g.id.clone()).collect();
        for name in names {
            if let Some(mut g) = self.groups.remove(&name) {
                membership::fail_parked(&mut g, error_code::NOT_COORDINATOR, &mut self.out);
            }
        }
    }

    fn group_mut_or_new(&mut self, group: &str, partition: i32) -> &mut Group {
        self.groups.entry(group.to_string()).or_insert_with(|| Group::new(group.to_string(), partition))
    }

    // ---- writes ----

    pub(crate) fn append(&mut self, partition: i32, records: Vec<Record>, write: Write) {
        self.append_as(partition, records, write, false);
    }

    pub(crate) fn append_as(&mut self, partition: i32, records: Vec<Record>, write: Write, compact: bool) {
        let id = self.next_write;
        self.next_write += 1;
        self.writes.insert(id, (partition, write));
        if !compact {
            *self.appended.entry(partition).or_default() += records.len() as u64;
        }
        self.out.push(GroupOutput::Append { partition, write: id, records, compact });
    }

    pub(crate) fn writes_in_flight(&self, partition: i32) -> bool {
        self.writes.values().any(|(p, _)| *p == partition)
    }

    /// An append finished: durable (`ok`) or failed.
    pub fn on_write_done(&mut self, write: WriteId, ok: bool, now: Millis) {
        let Some((_, w)) = self.writes.remove(&write) else { return };
        match w {
            Write::Commit { req, group, offsets, resp } => offsets::commit_done(self, req, &group, offsets, resp, ok),
            Write::Assignment { group, generation } => membership::assignment_written(self, &group, generation, ok, now),
            Write::Plain { req } => {
                if let Some((req, resp)) = req {
                    let resp = if ok { resp } else { admin::with_error(resp, error_code::COORDINATOR_NOT_AVAILABLE) };
                    self.out.push(GroupOutput::Reply(req, resp));
                }
            }
            Write::Joined(id) => {
                let Some(j) = self.joins.get_mut(&id) else { return };
                j.remaining -= 1;
                j.ok &= ok;
                if j.remaining == 0 {
                    let j = self.joins.remove(&id).expect("present");
                    let resp = if j.ok { j.resp } else { admin::with_error(j.resp, error_code::COORDINATOR_NOT_AVAILABLE) };
                    self.out.push(GroupOutput::Reply(j.req, resp));
                }
            }
        }
    }

    pub(crate) fn new_join(&mut self, req: ReqId, resp: Response, writes: usize) -> u64 {
        let id = self.next_write;
        self.next_write += 1;
        self.joins.insert(id, JoinedWrites { req, resp, remaining: writes, ok: true });
        id
    }

    /// A fresh member id, `{client_id}-{uuid}` as Kafka forms them.
    pub(crate) fn new_member_id(&mut self, client_id: &str) -> String {
        let a = splitmix(&mut self.id_state);
        let b = splitmix(&mut self.id_state);
        format!("{client_id}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffff_ffff_ffff)
    }

    // ---- timers ----

    /// Check every timer due at `now`.
    pub fn on_tick(&mut self, now: Millis) {
        if self.next_due.is_some_and(|d| d > now) {
            return;
        }
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in names {
            membership::expire(self, &name, now);
        }
        self.next_due = self.groups.values().filter_map(|g| g.next_deadline()).min();
    }

    /// Something changed a deadline: check on the next tick.
    pub(crate) fn timers_changed(&mut self, at: Millis) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }

    /// Offsets of `topic` are gone with it (topic deleted): tombstone them.
    pub fn on_topic_deleted(&mut self, topic: &str) {
        offsets::forget_topic(self, topic);
    }

    /// Expire old offsets of empty groups (`offsets.retention.minutes`).
    pub fn expire_offsets(&mut self, now: Millis) {
        offsets::expire(self, now);
    }

    /// Groups in memory (for tests and metrics).
    pub fn group_state(&self, group: &str) -> Option<GroupState> {
        self.groups.get(group).map(|g| g.state)
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
