//! The broker side of the group coordinator ([`crate::group`]): routing the group
//! APIs to it, the `__consumer_offsets` topic it stores into, its appends (which
//! wait, like `acks=all`, for the high watermark), and the replay of each offsets
//! partition when its log becomes ready.
//!
//! Standalone, this broker leads every partition, so it coordinates every group.
//! The offsets topic is created, as in Kafka, on the first FindCoordinator for a
//! group; until it is live, FindCoordinator answers COORDINATOR_NOT_AVAILABLE and
//! clients retry.

use bytes::Bytes;

use crate::group::membership::Client;
use crate::group::{GroupOutput, WriteId, OFFSETS_TOPIC};
use crate::log::{IoScope, LogState, ReadId};
use crate::protocol::error_code;
use crate::protocol::messages::find_coordinator::{Coordinator, FindCoordinatorRequest, FindCoordinatorResponse};
use crate::protocol::messages::{Request, Response};
use crate::records::{self, Compression, ValidationLimits};
use crate::types::Offset;

use super::topic_config::TopicConfig;
use super::{Broker, Pending, ReqCtx, ReqId};

/// FindCoordinator key types.
const KEY_TYPE_GROUP: i8 = 0;

/// How much of an offsets partition one replay read takes.
const LOAD_READ_BYTES: u32 = 1 << 20;

/// An append of the coordinator waiting for the high watermark.
pub struct GroupWrite {
    write: WriteId,
    owner: u64,
    need: Offset,
    /// A compaction: once durable, the log starts here.
    compact_from: Option<Offset>,
}

/// The replay of one offsets partition.
pub struct GroupLoad {
    partition: i32,
    owner: u64,
    next: Offset,
    end: Offset,
    read: Option<ReadId>,
    result: Option<Result<Bytes, String>>,
}

impl GroupLoad {
    pub(crate) fn on_read(&mut self, read: ReadId, result: Result<Bytes, String>) {
        if self.read == Some(read) {
            self.read = None;
            self.result = Some(result);
        }
    }
}

/// The `__consumer_offsets` topic's settings: no time retention (the
/// coordinator compacts it, see `group::compaction`), segments of
/// `offsets.topic.segment.bytes`.
pub(crate) fn offsets_topic_config(segment_bytes: i64) -> TopicConfig {
    let mut c = TopicConfig::default();
    c.overrides.insert("retention.ms".into(), "-1".into());
    c.overrides.insert("segment.bytes".into(), segment_bytes.to_string());
    c
}

/// FindCoordinator's answer in the request's version: v4+ carries one coordinator per
/// key, earlier versions the single key's coordinator in the top-level fields.
pub(crate) fn find_coordinator_response(version: i16, answer: Vec<Coordinator>) -> FindCoordinatorResponse {
    if version >= 4 {
        return FindCoordinatorResponse { coordinators: answer, ..Default::default() };
    }
    let c = answer.into_iter().next().unwrap_or_default();
    FindCoordinatorResponse {
        error_code: c.error_code,
        error_message: c.error_message,
        node_id: c.node_id,
        host: c.host,
        port: c.port,
        ..Default::default()
    }
}

pub fn is_internal(topic: &str) -> bool {
    topic == OFFSETS_TOPIC
}

impl Broker {
    /// Route a group API request to the coordinator. Its answer may come at once
    /// or much later (a parked JoinGroup); either way through [`Broker::drain_groups`].
    pub(crate) fn handle_group_request(&mut self, ctx: ReqCtx, client_id: Option<&str>, request: Request) {
        let id = self.new_req_id();
        let version = ctx.api_version;
        let now = self.now;
        // Who the client is matters only to JoinGroup (DescribeGroups reports it).
        let peer = matches!(request, Request::JoinGroup(_)).then(|| self.conn_peer_host(ctx.conn)).unwrap_or_default();
        let client_id = client_id.unwrap_or_default();
        self.pending.insert(id, Pending::Group(ctx));
        let g = &mut self.groups;
        match request {
            Request::JoinGroup(r) => g.join_group(id, version, r, Client { client_id, host: &peer }, now),
            Request::SyncGroup(r) => g.sync_group(id, version, r, now),
            Request::Heartbeat(r) => g.heartbeat(id, r, now),
            Request::LeaveGroup(r) => g.leave_group(id, version, r, now),
            Request::OffsetFetch(r) => g.offset_fetch(id, version, r),
            Request::ListGroups(r) => g.list_groups(id, r),
            Request::DescribeGroups(r) => g.describe_groups(id, r),
            Request::DeleteGroups(r) => g.delete_groups(id, r, now),
            Request::OffsetDelete(r) => g.offset_delete(id, r, now),
            Request::OffsetCommit(r) => {
                let topics = &self.topics;
                let exists = |t: &str, p: i32| {
                    topics.get(t).is_some_and(|t| t.state == super::topics::TopicState::Live && p >= 0 && (p as usize) < t.partitions.len())
                };
                self.groups.offset_commit(id, r, now, exists);
            }
            other => unreachable!("not a group request: api key {}", other.api_key()),
        }
        self.drain_groups();
    }

    /// "/127.0.0.1" from "127.0.0.1:port", as Kafka reports client hosts.
    fn conn_peer_host(&self, conn: crate::types::ConnId) -> String {
        let peer = self.conns.get(&conn).map(|c| c.peer.clone()).unwrap_or_default();
        let host = peer.rsplit_once(':').map_or(peer.as_str(), |(h, _)| h);
        format!("/{}", host.trim_start_matches('[').trim_end_matches(']'))
    }

    pub(crate) fn handle_find_coordinator(&mut self, ctx: ReqCtx, req: FindCoordinatorRequest) {
        if self.cluster.is_some() {
            return self.handle_find_coordinator_cluster(ctx, req);
        }
        let keys: Vec<String> = if ctx.api_version >= 4 { req.coordinator_keys.clone() } else { vec![req.key.clone()] };
        let node = self.config.node_id.0;
        let (host, port) = (self.config.advertised_host.clone(), self.config.advertised_port);
        let answer: Vec<Coordinator> = keys
            .into_iter()
            .map(|key| {
                let (code, message) = if req.key_type != KEY_TYPE_GROUP {
                    (error_code::INVALID_REQUEST, Some("transactions are not supported by this broker".to_string()))
                } else if key.is_empty() {
                    (error_code::INVALID_REQUEST, Some("empty group id".to_string()))
                } else if self.offsets_topic_ready() {
                    (error_code::NONE, None)
                } else {
                    self.ensure_offsets_topic();
                    (error_code::COORDINATOR_NOT_AVAILABLE, Some("the offsets topic is being created".to_string()))
                };
                let ok = code == error_code::NONE;
                Coordinator {
                    key,
                    node_id: if ok { node } else { -1 },
                    host: if ok { host.clone() } else { String::new() },
                    port: if ok { port } else { -1 },
                    error_code: code,
                    error_message: message,
                }
            })
            .collect();
        self.respond(&ctx, Response::FindCoordinator(find_coordinator_response(ctx.api_version, answer)));
    }

    fn offsets_topic_ready(&self) -> bool {
        self.live_topic(OFFSETS_TOPIC).is_some()
    }

    fn ensure_offsets_topic(&mut self) {
        // An offsets topic whose description could not be read at start exists:
        // creating it anew would start empty logs over the committed offsets.
        if self.topics.contains_key(OFFSETS_TOPIC) || self.description_unreadable(OFFSETS_TOPIC) {
            return;
        }
        let n = self.config.groups.offsets_partitions.max(1) as usize;
        if self.partitions.len() + n > self.config.partitions_max {
            tracing::error!(partitions = n, "cannot create the offsets topic: partitions_max reached");
            return;
        }
        tracing::info!(partitions = n, "creating the offsets topic {OFFSETS_TOPIC}");
        self.create_topic(OFFSETS_TOPIC, n, offsets_topic_config(self.config.groups.offsets_segment_bytes));
    }

    /// Carry out what the coordinator asked for, until it asks for nothing more.
    pub(crate) fn drain_groups(&mut self) {
        for _ in 0..64 {
            let outputs = self.groups.take_outputs();
            if outputs.is_empty() {
                return;
            }
            for o in outputs {
                match o {
                    GroupOutput::Reply(req, resp) => match self.pending.remove(&req) {
                        Some(Pending::Group(ctx)) => {
                            #[cfg(feature = "sim-knobs")]
                            let resp = planted_group_bug(&self.config.knobs, resp);
                            self.respond(&ctx, resp)
                        }
                        Some(other) => {
                            self.pending.insert(req, other);
                            tracing::error!(req, "group reply for a request that is not a group request");
                        }
                        None => {}
                    },
                    GroupOutput::Append { partition, write, records, compact } => self.group_append(partition, write, records, compact),
                }
            }
        }
        tracing::error!("group coordinator kept producing outputs; continuing on the next input");
    }

    /// Append coordinator records to an offsets partition; durable, the
    /// coordinator hears of it through [`poll_write`].
    fn group_append(&mut self, partition: i32, write: WriteId, recs: Vec<records::Record>, compact: bool) {
        let now = self.now;
        if recs.is_empty() {
            // Nothing is live: the whole log can go, once all of it is durable.
            let ok = self.compact_empty(partition);
            self.groups.on_write_done(write, ok, now);
            return;
        }
        let appended = (|| {
            let owner = self.partition_owner(OFFSETS_TOPIC, partition).ok_or("offsets partition missing")?;
            // The partition's leader epoch (0 standalone; the metadata's in a cluster).
            let epoch = self.leader_check(OFFSETS_TOPIC, partition, -1).map_err(|_| "no longer the offsets partition's leader")?;
            let batch = records::build_batch(&recs, Compression::None, -1, -1, -1);
            let limits = ValidationLimits {
                max_batch_bytes: usize::MAX,
                max_decompressed_bytes: usize::MAX,
                now_ms: now.0,
                timestamp_before_max_ms: i64::MAX,
                timestamp_after_max_ms: i64::MAX,
                timestamp_type: records::TimestampType::CreateTime,
            };
            let batches = records::validate_produce(&batch, &limits).map_err(|_| "coordinator built an invalid batch")?;
            let p = self.partitions.get_mut(&owner).ok_or("offsets partition missing")?;
            let mut io = IoScope { queue: &mut self.disk, owner };
            let a = p.log.append(&batches, epoch, now, &mut io).map_err(|_| "offsets partition not writable")?;
            Ok::<_, &str>((owner, a.base_offset, a.last_offset.next()))
        })();
        match appended {
            Ok((owner, base, need)) => {
                let id = self.new_req_id();
                let compact_from = compact.then_some(base);
                self.pending.insert(id, Pending::GroupWrite(GroupWrite { write, owner, need, compact_from }));
                self.poll_pending(id);
            }
            Err(why) => {
                tracing::warn!(partition, why, "offsets append failed");
                self.groups.on_write_done(write, false, now);
            }
        }
    }

    fn compact_empty(&mut self, partition: i32) -> bool {
        let Some(owner) = self.partition_owner(OFFSETS_TOPIC, partition) else { return false };
        let Some(p) = self.partitions.get_mut(&owner) else { return false };
        let end = p.log.log_end_offset();
        if p.high_watermark() < end {
            return false;
        }
        let mut io = IoScope { queue: &mut self.disk, owner };
        p.log.delete_records_before(end, &mut io).is_ok()
    }

    /// An offsets partition's log is ready: replay it into the coordinator.
    pub(crate) fn begin_group_load(&mut self, owner: u64) {
        let Some(p) = self.partitions.get(&owner) else { return };
        if p.topic != OFFSETS_TOPIC || !p.is_ready() {
            return;
        }
        let partition = p.index;
        // In a cluster, only the partition's leader coordinates its groups.
        if self.leader_check(OFFSETS_TOPIC, partition, -1).is_err() || self.groups.serves(partition) {
            return;
        }
        let p = &self.partitions[&owner];
        let (next, end) = (p.log.log_start_offset(), p.log.log_end_offset());
        self.groups.begin_load(partition);
        let id = self.new_req_id();
        self.pending.insert(id, Pending::GroupLoad(GroupLoad { partition, owner, next, end, read: None, result: None }));
        self.poll_pending(id);
    }

    /// Shutdown: parked group requests are answered (NOT_COORDINATOR) so that
    /// nothing waits on a rebalance that will not finish here.
    pub(crate) fn unload_groups(&mut self) {
        let partitions: Vec<i32> = (0..self.config.groups.offsets_partitions).filter(|p| self.groups.serves(*p)).collect();
        for p in partitions {
            self.groups.unload(p);
        }
        self.drain_groups();
    }
}

/// A coordinator append waits for the high watermark, like `acks=all`.
pub(crate) fn poll_write(b: &mut Broker, id: ReqId, w: GroupWrite) -> Option<GroupWrite> {
    let now = b.now;
    let stopping = b.phase_is_stopping();
    let done = match b.partitions.get_mut(&w.owner) {
        None => Some(false),
        Some(p) => match p.log.state() {
            LogState::Failed(_) => Some(false),
            _ if p.high_watermark() >= w.need => {
                if let Some(from) = w.compact_from {
                    let mut io = IoScope { queue: &mut b.disk, owner: w.owner };
                    if let Err(e) = p.log.delete_records_before(from, &mut io) {
                        tracing::warn!(error = ?e, "compacting an offsets partition: moving its start failed");
                    }
                }
                Some(true)
            }
            _ if stopping && !p.log.needs_sync() && !p.log.sync_in_flight() => Some(false),
            _ => {
                p.hw_waiters.insert(id);
                None
            }
        },
    };
    match done {
        Some(ok) => {
            b.groups.on_write_done(w.write, ok, now);
            b.drain_groups();
            None
        }
        None => Some(w),
    }
}

/// Replay an offsets partition read by read.
pub(crate) fn poll_load(b: &mut Broker, id: ReqId, mut l: GroupLoad) -> Option<GroupLoad> {
    if l.read.is_some() {
        return Some(l);
    }
    if let Some(result) = l.result.take() {
        let bytes = match result {
            Ok(bytes) => bytes,
            Err(why) => {
                tracing::error!(partition = l.partition, %why, "replaying the offsets partition failed; its groups are not served");
                return None;
            }
        };
        let before = l.next;
        let mut rest = &bytes[..];
        while let Ok(h) = records::BatchHeader::parse(rest) {
            let len = h.total_len();
            if len > rest.len() {
                break;
            }
            match records::decode_batch(&rest[..len], usize::MAX) {
                Ok((_, recs)) => {
                    for r in recs {
                        if let Some(key) = &r.key {
                            b.groups.load_record(l.partition, key, r.value.as_ref());
                        }
                    }
                }
                Err(e) => tracing::warn!(partition = l.partition, error = %e, "skipping an undecodable batch in the offsets log"),
            }
            l.next = l.next.max(h.next_offset());
            rest = &rest[len..];
        }
        if l.next == before {
            // Nothing more could be read below the end: stop rather than loop.
            tracing::warn!(partition = l.partition, at = l.next.0, end = l.end.0, "offsets replay made no progress; finishing early");
            l.next = l.end;
        }
    }
    if l.next >= l.end {
        b.groups.finish_load(l.partition, b.now);
        b.drain_groups();
        return None;
    }
    let p = b.partitions.get_mut(&l.owner)?;
    let mut io = IoScope { queue: &mut b.disk, owner: l.owner };
    match p.log.read(l.next, LOAD_READ_BYTES, l.end, &mut io) {
        Ok(read) => {
            p.reads.insert(read, id);
            l.read = Some(read);
            Some(l)
        }
        Err(e) => {
            tracing::error!(partition = l.partition, error = ?e, "cannot read the offsets partition; its groups are not served");
            None
        }
    }
}

/// The simulator's planted group bugs (feature `sim-knobs`).
#[cfg(feature = "sim-knobs")]
fn planted_group_bug(knobs: &crate::config::Knobs, mut resp: crate::protocol::messages::Response) -> crate::protocol::messages::Response {
    if let crate::protocol::messages::Response::OffsetFetch(r) = &mut resp {
        if knobs.stale_offset_fetch {
            let older = |o: &mut i64| *o = if *o > 0 { *o - 1 } else { *o };
            r.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()).for_each(|p| older(&mut p.committed_offset));
            r.groups
                .iter_mut()
                .flat_map(|g| g.topics.iter_mut())
                .flat_map(|t| t.partitions.iter_mut())
                .for_each(|p| older(&mut p.committed_offset));
        }
    }
    resp
}
