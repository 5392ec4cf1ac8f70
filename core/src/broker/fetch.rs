//! Fetch: read whole batches below the high watermark, long-poll until
//! `min_bytes` are there or `max_wait_ms` passes.
//!
//! Fetch sessions (KIP-227) are not kept: every answer carries session id 0,
//! which tells clients to send full fetch requests, as Kafka allows.

use bytes::Bytes;

use crate::log::{IoScope, LogError, LogState, ReadId};
use crate::protocol::error_code;
use crate::protocol::messages::fetch::{FetchRequest, FetchResponse, FetchableTopicResponse, PartitionData};
use crate::protocol::messages::Response;
use crate::types::{Millis, Offset};

use super::{Broker, Pending, ReqCtx, ReqId};

/// Longest long poll honoured, whatever the client asks.
const MAX_WAIT_MS_MAX: i64 = 5 * 60 * 1000;

struct FetchPart {
    topic_idx: usize,
    partition: i32,
    owner: Option<u64>,
    fetch_offset: i64,
    max_bytes: u32,
    error: i16,
    hw: Offset,
    log_start: Offset,
    read: Option<ReadId>,
    data: Option<Bytes>,
}

pub struct FetchPending {
    ctx: ReqCtx,
    req: FetchRequest,
    deadline: Millis,
    parts: Vec<FetchPart>,
    outstanding: usize,
    /// Waiting for the high watermark to move (long poll).
    waiting: bool,
}

impl FetchPending {
    pub fn deadline(&self) -> Option<Millis> {
        self.waiting.then_some(self.deadline)
    }

    pub(crate) fn on_read(&mut self, owner: u64, read: ReadId, result: Result<Bytes, LogError>) {
        let Some(part) = self.parts.iter_mut().find(|p| p.owner == Some(owner) && p.read == Some(read)) else { return };
        part.read = None;
        self.outstanding -= 1;
        match result {
            Ok(data) => part.data = Some(data),
            Err(e) => part.error = read_error(&e),
        }
    }
}

fn read_error(e: &LogError) -> i16 {
    match e {
        LogError::OffsetOutOfRange => error_code::OFFSET_OUT_OF_RANGE,
        LogError::Storage(_) => error_code::KAFKA_STORAGE_ERROR,
        LogError::NotReady => error_code::NOT_LEADER_OR_FOLLOWER,
        // Only appends check producers; a read never gets these.
        LogError::InvalidProducerEpoch(_) | LogError::OutOfOrderSequence(_) => error_code::UNKNOWN_SERVER_ERROR,
    }
}

impl Broker {
    pub(crate) fn handle_fetch(&mut self, ctx: ReqCtx, req: FetchRequest) {
        if req.session_id != 0 {
            let resp = FetchResponse { error_code: error_code::FETCH_SESSION_ID_NOT_FOUND, ..Default::default() };
            self.respond(&ctx, Response::Fetch(resp));
            return;
        }
        let by_id = ctx.api_version >= 13;
        let mut parts = Vec::new();
        for (ti, t) in req.topics.iter().enumerate() {
            let name = if by_id { self.topic_by_id(t.topic_id).map(|t| t.name.clone()) } else { Some(t.topic.clone()) };
            for p in &t.partitions {
                let owner = name.as_deref().and_then(|n| self.partition_owner(n, p.partition));
                let error = match (&name, owner) {
                    (None, _) => error_code::UNKNOWN_TOPIC_ID,
                    (Some(_), None) => error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    (Some(n), Some(_)) => self.leader_check(n, p.partition, p.current_leader_epoch).err().unwrap_or(error_code::NONE),
                };
                parts.push(FetchPart {
                    topic_idx: ti,
                    partition: p.partition,
                    owner,
                    fetch_offset: p.fetch_offset,
                    max_bytes: p.partition_max_bytes.max(0) as u32,
                    error,
                    hw: Offset(-1),
                    log_start: Offset(-1),
                    read: None,
                    data: None,
                });
            }
        }
        let wait = (req.max_wait_ms as i64).clamp(0, MAX_WAIT_MS_MAX);
        let id = self.new_req_id();
        let mut f = FetchPending { ctx, req, deadline: self.now.plus_ms(wait), parts, outstanding: 0, waiting: false };
        self.start_reads(id, &mut f);
        self.pending.insert(id, Pending::Fetch(f));
        self.poll_pending(id);
    }

    /// (Re)issue a read for every partition that has data below its high watermark.
    fn start_reads(&mut self, id: ReqId, f: &mut FetchPending) {
        f.waiting = false;
        for part in &mut f.parts {
            let Some(owner) = part.owner else { continue };
            if part.error != error_code::NONE && part.error != error_code::OFFSET_OUT_OF_RANGE {
                continue;
            }
            part.error = error_code::NONE;
            part.data = None;
            let Some(p) = self.partitions.get_mut(&owner) else {
                part.error = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            };
            if !matches!(p.log.state(), LogState::Ready) {
                part.error = match p.log.state() {
                    LogState::Failed(_) => error_code::KAFKA_STORAGE_ERROR,
                    _ => error_code::NOT_LEADER_OR_FOLLOWER,
                };
                continue;
            }
            part.hw = p.high_watermark();
            part.log_start = p.log.log_start_offset();
            let offset = Offset(part.fetch_offset);
            if offset < part.log_start || offset > p.log.log_end_offset() {
                part.error = error_code::OFFSET_OUT_OF_RANGE;
                continue;
            }
            if offset >= part.hw {
                part.data = Some(Bytes::new());
                continue;
            }
            let mut io = IoScope { queue: &mut self.disk, owner };
            match p.log.read(offset, part.max_bytes, part.hw, &mut io) {
                Ok(read) => {
                    p.reads.insert(read, id);
                    part.read = Some(read);
                    f.outstanding += 1;
                }
                Err(e) => part.error = read_error(&e),
            }
        }
    }

    fn fetch_response(&self, f: &mut FetchPending) -> FetchResponse {
        let by_id = f.ctx.api_version >= 13;
        let read_committed = f.req.isolation_level == 1;
        let mut resp = FetchResponse { session_id: 0, ..Default::default() };
        for t in &f.req.topics {
            resp.responses.push(FetchableTopicResponse {
                topic: if by_id { String::new() } else { t.topic.clone() },
                topic_id: t.topic_id,
                partitions: Vec::new(),
            });
        }
        let budget = f.req.max_bytes.max(0) as usize;
        let mut total = 0usize;
        for part in &mut f.parts {
            let mut data = part.data.take().unwrap_or_default();
            // The first data in the response goes whole so the consumer can
            // progress (KIP-74); after that, stay within max_bytes.
            if total > 0 && total + data.len() > budget {
                data = Bytes::new();
            }
            total += data.len();
            let ok = part.error == error_code::NONE;
            resp.responses[part.topic_idx].partitions.push(PartitionData {
                partition_index: part.partition,
                error_code: part.error,
                high_watermark: if ok { part.hw.0 } else { -1 },
                last_stable_offset: if ok { part.hw.0 } else { -1 },
                log_start_offset: if ok { part.log_start.0 } else { -1 },
                aborted_transactions: read_committed.then(Vec::new),
                preferred_read_replica: -1,
                records: Some(data),
                ..Default::default()
            });
        }
        resp
    }
}

fn available_bytes(f: &FetchPending) -> usize {
    f.parts.iter().map(|p| p.data.as_ref().map_or(0, Bytes::len)).sum()
}

/// Advance a fetch: wait for reads, then answer or long-poll.
pub(crate) fn poll(b: &mut Broker, id: ReqId, mut f: FetchPending) -> Option<FetchPending> {
    abandon_lost_reads(b, &mut f);
    if f.outstanding > 0 {
        return Some(f);
    }
    let now = b.now;
    if f.waiting {
        // Woken: by a moved high watermark (read again), or by the deadline.
        let moved = f.parts.iter().any(|p| p.owner.and_then(|o| b.partitions.get(&o)).is_some_and(|s| s.high_watermark() != p.hw));
        if moved && now < f.deadline && !b.phase_is_stopping() {
            b.start_reads(id, &mut f);
            if f.outstanding > 0 {
                return Some(f);
            }
        } else if now < f.deadline && !b.phase_is_stopping() {
            register(b, id, &f);
            return Some(f);
        }
    }
    let has_error = f.parts.iter().any(|p| p.error != error_code::NONE);
    let enough = available_bytes(&f) >= f.req.min_bytes.max(0) as usize;
    if enough || has_error || now >= f.deadline || b.phase_is_stopping() || f.parts.is_empty() {
        let resp = b.fetch_response(&mut f);
        b.respond(&f.ctx, Response::Fetch(resp));
        return None;
    }
    f.waiting = true;
    register(b, id, &f);
    Some(f)
}

/// A read whose partition was deleted, or whose log failed, will never complete:
/// answer that partition with an error instead of waiting forever.
fn abandon_lost_reads(b: &mut Broker, f: &mut FetchPending) {
    for part in &mut f.parts {
        let Some(read) = part.read else { continue };
        let error = match part.owner.and_then(|o| b.partitions.get_mut(&o)) {
            None => error_code::UNKNOWN_TOPIC_OR_PARTITION,
            Some(p) if matches!(p.log.state(), LogState::Failed(_)) => {
                p.reads.remove(&read);
                error_code::KAFKA_STORAGE_ERROR
            }
            Some(_) => continue,
        };
        part.read = None;
        part.error = error;
        f.outstanding -= 1;
    }
}

fn register(b: &mut Broker, id: ReqId, f: &FetchPending) {
    for part in &f.parts {
        if let Some(p) = part.owner.and_then(|o| b.partitions.get_mut(&o)) {
            p.hw_waiters.insert(id);
        }
    }
}
