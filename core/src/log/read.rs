//! Reads and timestamp lookups: bounded chunks located through the sparse
//! indexes, batches verified by `scan` before anything is served.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::io::{DiskOp, DiskResult};
use crate::records::{
    decode_batch, find_timestamp, max_timestamp_record, scan, BatchHeader, TimestampType, BATCH_HEADER_LEN, LOG_OVERHEAD,
};
use crate::types::{FileId, Offset};

use super::index::BatchLoc;
use super::{
    IoScope, LogError, LogEvent, LogState, PartitionLog, Pending, ReadId, BATCH_BYTES_MAX, LOOKUP_CHUNK_BYTES, READ_BYTES_MAX,
    READ_SLACK_BYTES,
};

/// Follow-up reads one read or lookup may issue within a segment before giving up.
const HOPS_MAX: u32 = 4096;

/// The newest appended batches, contiguous and ending at the log end.
#[derive(Debug)]
pub(super) struct TailCache {
    batches: VecDeque<(Offset, Offset, Bytes)>,
    bytes: usize,
    bytes_max: usize,
}

impl TailCache {
    pub fn new(bytes_max: usize) -> TailCache {
        TailCache { batches: VecDeque::new(), bytes: 0, bytes_max }
    }

    pub fn push(&mut self, bytes: Bytes, header: &BatchHeader) {
        if let Some((_, next, _)) = self.batches.back() {
            assert_eq!(*next, Offset(header.base_offset), "tail cache batches are contiguous");
        }
        self.bytes += bytes.len();
        self.batches.push_back((Offset(header.base_offset), header.next_offset(), bytes));
        while self.bytes > self.bytes_max {
            let (_, _, b) = self.batches.pop_front().expect("over the limit means non-empty");
            self.bytes -= b.len();
        }
    }

    /// Forget batches at or after `end` (the log was truncated there).
    pub fn truncate_from(&mut self, end: Offset) {
        while let Some((_, next, b)) = self.batches.back() {
            if *next <= end {
                break;
            }
            self.bytes -= b.len();
            self.batches.pop_back();
        }
    }

    /// Same answer as a disk read, if every batch needed is cached (`offset < limit`).
    pub fn read(&self, offset: Offset, max_bytes: u32, limit: Offset) -> Option<Bytes> {
        let (first_base, _, _) = self.batches.front()?;
        if offset < *first_base {
            return None;
        }
        let i = self.batches.partition_point(|(_, next, _)| *next <= offset);
        let (_, next0, b0) = self.batches.get(i)?;
        if *next0 > limit {
            return Some(Bytes::new());
        }
        let mut parts = vec![b0.clone()];
        let mut total = b0.len() as u64;
        for (_, next, b) in self.batches.range(i + 1..) {
            if *next > limit || total + b.len() as u64 > u64::from(max_bytes) {
                break;
            }
            total += b.len() as u64;
            parts.push(b.clone());
        }
        if parts.len() == 1 {
            return parts.pop();
        }
        Some(Bytes::from(parts.concat()))
    }
}

/// What to do after a chunk whose first `valid` bytes were whole, valid batches.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ChunkNext {
    /// Read on from `pos` (a batch was cut by the chunk end: `len` covers it).
    Continue { pos: u64, len: u32 },
    /// The segment's end was reached.
    End,
    /// A torn or corrupt batch at `pos + valid`.
    Corrupt(String),
}

/// Decide how to go on after a chunk read at `pos` of a segment `seg_end` bytes long.
pub(super) fn chunk_next(pos: u64, bytes: &[u8], valid: usize, seg_end: u64, chunk_len: u32) -> ChunkNext {
    assert!(valid <= bytes.len(), "valid prefix within the chunk");
    let next_pos = pos + valid as u64;
    if next_pos >= seg_end {
        return ChunkNext::End;
    }
    if bytes.is_empty() {
        return ChunkNext::Corrupt(format!("file ends at {pos}, expected {seg_end} bytes"));
    }
    if valid == bytes.len() {
        return ChunkNext::Continue { pos: next_pos, len: chunk_len };
    }
    let rest = &bytes[valid..];
    let chunk_cut = pos + (bytes.len() as u64) < seg_end;
    let need = if rest.len() < LOG_OVERHEAD {
        // Cut inside the length field: read on if the file goes on.
        return if chunk_cut {
            ChunkNext::Continue { pos: next_pos, len: chunk_len }
        } else {
            ChunkNext::Corrupt(format!("torn batch header at {next_pos}"))
        };
    } else {
        let batch_length = i32::from_be_bytes(rest[8..12].try_into().expect("4 bytes"));
        if batch_length < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32 {
            return ChunkNext::Corrupt(format!("batch length {batch_length} at {next_pos}"));
        }
        let total = LOG_OVERHEAD as u64 + batch_length as u64;
        if total > BATCH_BYTES_MAX {
            return ChunkNext::Corrupt(format!("batch length {total} at {next_pos} over the limit"));
        }
        if (rest.len() as u64) >= total {
            return ChunkNext::Corrupt(format!("invalid batch at {next_pos}"));
        }
        total
    };
    if chunk_cut && next_pos + need <= seg_end {
        let len = u32::try_from(need.max(u64::from(chunk_len))).expect("bounded by BATCH_BYTES_MAX");
        ChunkNext::Continue { pos: next_pos, len }
    } else {
        ChunkNext::Corrupt(format!("torn batch at {next_pos}"))
    }
}

#[derive(Debug)]
pub(super) struct ReadOp {
    read: ReadId,
    base: Offset,
    file: FileId,
    offset: Offset,
    max_bytes: u32,
    limit: Offset,
    pos: u64,
    len: u32,
    seg_end: u64,
    hops: u32,
}

#[derive(Debug)]
pub(super) enum LookupKind {
    /// First record with timestamp >= target at or after `start`.
    First { target: i64, start: Offset },
    /// Scanning segment `base` for the largest timestamp below the limit; then the
    /// queued segments.
    ScanMax { queue: Vec<Offset>, best: Option<(i64, BatchLoc)> },
    /// Reading the batch that holds the largest timestamp.
    FetchMax,
}

#[derive(Debug)]
pub(super) struct LookupOp {
    read: ReadId,
    limit: Offset,
    base: Offset,
    file: FileId,
    pos: u64,
    len: u32,
    seg_end: u64,
    hops: u32,
    kind: LookupKind,
}

fn consider(best: &mut Option<(i64, BatchLoc)>, ts: i64, loc: BatchLoc) {
    let better = match best {
        None => true,
        Some((bts, bloc)) => ts > *bts || (ts == *bts && loc.base < bloc.base),
    };
    if better {
        *best = Some((ts, loc));
    }
}

fn loc_of(pos: u64, h: &BatchHeader) -> BatchLoc {
    BatchLoc { base: Offset(h.base_offset), next: h.next_offset(), pos, len: h.total_len() as u32 }
}

impl PartitionLog {
    /// Read whole batches starting with the one containing `offset`, up to
    /// `max_bytes` (but always the first batch whole, as Kafka does so a consumer
    /// can make progress), only batches that end at or below `limit`. An empty
    /// result for `offset == limit`. `offset` outside [start, end] is
    /// `OffsetOutOfRange`. The result comes as `ReadDone` (possibly from a cache
    /// without touching the disk, but still as an event).
    pub fn read(&mut self, offset: Offset, max_bytes: u32, limit: Offset, io: &mut IoScope) -> Result<ReadId, LogError> {
        self.check_serving()?;
        if offset < self.log_start || offset > self.log_end {
            return Err(LogError::OffsetOutOfRange);
        }
        let limit = limit.min(self.log_end);
        let read = self.next_read_id();
        let cached = if offset < limit { self.tail_cache.read(offset, max_bytes, limit) } else { Some(Bytes::new()) };
        if let Some(bytes) = cached {
            self.deliver_soon(LogEvent::ReadDone { read, result: Ok(bytes) }, io);
            return Ok(read);
        }
        let Some(seg) = self.segment_holding(offset) else {
            self.deliver_soon(LogEvent::ReadDone { read, result: Ok(Bytes::new()) }, io);
            return Ok(read);
        };
        let pos = u64::from(seg.index.lookup(seg.rel(offset)).pos);
        let want = u64::from(max_bytes) + u64::from(self.config.index_interval_bytes) + u64::from(READ_SLACK_BYTES);
        let len = want.min(u64::from(READ_BYTES_MAX)).min(seg.size - pos).max(1) as u32;
        let op = ReadOp { read, base: seg.base, file: seg.file, offset, max_bytes, limit, pos, len, seg_end: seg.size, hops: 0 };
        self.submit_read(op, io);
        Ok(read)
    }

    /// The segment holding `offset` (the next one if `offset` is at a segment's end).
    fn segment_holding(&self, offset: Offset) -> Option<&super::segment::Segment> {
        let seg = self.segments.range(..=offset).next_back().map(|(_, s)| s)?;
        if offset < seg.next_offset {
            return Some(seg);
        }
        self.segments.range(offset..).map(|(_, s)| s).find(|s| s.next_offset > offset)
    }

    /// The file of segment `base` if it still exists with the same handle.
    fn live_file(&self, base: Offset, file: FileId) -> bool {
        self.segments.get(&base).is_some_and(|s| s.file == file)
    }

    fn submit_read(&mut self, op: ReadOp, io: &mut IoScope) {
        let id = io.submit(DiskOp::Read { file: op.file, pos: op.pos, len: op.len });
        self.pending.insert(id, Pending::Read(op));
    }

    fn submit_lookup(&mut self, op: LookupOp, io: &mut IoScope) {
        let id = io.submit(DiskOp::Read { file: op.file, pos: op.pos, len: op.len });
        self.pending.insert(id, Pending::Lookup(op));
    }

    pub(super) fn on_read_done(&mut self, mut op: ReadOp, result: DiskResult, io: &mut IoScope) {
        let read = op.read;
        let result = match (result, &self.state) {
            (_, LogState::Deleting | LogState::Deleted) => Err(LogError::NotReady),
            (DiskResult::Read(bytes), _) => {
                let s = scan(&bytes, true);
                if let Some(i) = s.batches.iter().position(|(_, h)| h.next_offset() > op.offset) {
                    Ok(assemble(&bytes, &s.batches[i..], op.max_bytes, op.limit))
                } else {
                    match chunk_next(op.pos, &bytes, s.valid_len, op.seg_end, op.len) {
                        ChunkNext::Continue { pos, len } => {
                            if op.hops < HOPS_MAX && self.live_file(op.base, op.file) {
                                op.pos = pos;
                                op.len = len;
                                op.hops += 1;
                                self.submit_read(op, io);
                                return;
                            }
                            Err(LogError::OffsetOutOfRange)
                        }
                        ChunkNext::End => Ok(Bytes::new()),
                        ChunkNext::Corrupt(why) => {
                            tracing::error!(dir = %self.dir, segment = %op.base, %why, "corrupt data while reading");
                            Err(LogError::Storage(format!("corrupt batch in segment {}: {why}", op.base)))
                        }
                    }
                }
            }
            (DiskResult::Failed(msg), _) => Err(LogError::Storage(msg)),
            (other, _) => Err(LogError::Storage(format!("unexpected read result {other:?}"))),
        };
        self.events.push(LogEvent::ReadDone { read, result });
    }

    /// Find the first record with timestamp >= `target` below `limit`; result as
    /// `TimestampFound`.
    pub fn find_offset_by_timestamp(&mut self, target: i64, limit: Offset, io: &mut IoScope) -> Result<ReadId, LogError> {
        self.check_serving()?;
        let limit = limit.min(self.log_end);
        let read = self.next_read_id();
        match self.ts_candidate(target, limit, None) {
            Some(base) => self.start_ts_in_segment(read, base, target, limit, io),
            None => self.deliver_soon(LogEvent::TimestampFound { read, result: Ok(None) }, io),
        }
        Ok(read)
    }

    /// The first segment after `after` that may hold a timestamp >= `target` below `limit`.
    fn ts_candidate(&self, target: i64, limit: Offset, after: Option<Offset>) -> Option<Offset> {
        let from = after.map_or(Offset(i64::MIN), |a| Offset(a.0 + 1));
        self.segments
            .range(from..)
            .map(|(_, s)| s)
            .find(|s| s.next_offset > self.log_start && s.base < limit && s.max_timestamp >= target && !s.is_empty())
            .map(|s| s.base)
    }

    fn start_ts_in_segment(&mut self, read: ReadId, base: Offset, target: i64, limit: Offset, io: &mut IoScope) {
        let seg = self.segments.get(&base).expect("candidate segment exists");
        let mut start = self.log_start.max(seg.base);
        if let Some(e) = seg.time_index.last_before(target) {
            start = start.max(Offset(seg.base.0 + i64::from(e.rel) + 1));
        }
        let pos = u64::from(seg.index.lookup(seg.rel(start)).pos);
        let len = u64::from(LOOKUP_CHUNK_BYTES).min(seg.size - pos).max(1) as u32;
        let op =
            LookupOp { read, limit, base, file: seg.file, pos, len, seg_end: seg.size, hops: 0, kind: LookupKind::First { target, start } };
        self.submit_lookup(op, io);
    }

    /// The record with the largest timestamp below `limit` (ListOffsets -3); result as
    /// `TimestampFound` (`None` when the log is empty).
    pub fn find_max_timestamp(&mut self, limit: Offset, io: &mut IoScope) -> Result<ReadId, LogError> {
        self.check_serving()?;
        let limit = limit.min(self.log_end);
        let read = self.next_read_id();
        let mut best = None;
        let mut queue = Vec::new();
        for seg in self.segments.values() {
            if seg.next_offset <= self.log_start || seg.base >= limit || seg.is_empty() {
                continue;
            }
            match seg.max_batch {
                Some(mb) if mb.next <= limit && mb.base >= self.log_start => consider(&mut best, seg.max_timestamp, mb),
                _ => queue.push(seg.base),
            }
        }
        queue.reverse();
        self.next_max_step(read, limit, queue, best, io);
        Ok(read)
    }

    /// Scan the next queued segment, or fetch the best batch, or answer `None`.
    fn next_max_step(&mut self, read: ReadId, limit: Offset, mut queue: Vec<Offset>, best: Option<(i64, BatchLoc)>, io: &mut IoScope) {
        while let Some(base) = queue.pop() {
            let Some(seg) = self.segments.get(&base) else { continue };
            let start = self.log_start.max(seg.base);
            let pos = u64::from(seg.index.lookup(seg.rel(start)).pos);
            let len = u64::from(LOOKUP_CHUNK_BYTES).min(seg.size - pos).max(1) as u32;
            let kind = LookupKind::ScanMax { queue, best };
            let op = LookupOp { read, limit, base, file: seg.file, pos, len, seg_end: seg.size, hops: 0, kind };
            self.submit_lookup(op, io);
            return;
        }
        let Some((_, loc)) = best else {
            self.deliver_soon(LogEvent::TimestampFound { read, result: Ok(None) }, io);
            return;
        };
        let Some(seg) = self.segments.range(..=loc.base).next_back().map(|(_, s)| s) else {
            self.deliver_soon(LogEvent::TimestampFound { read, result: Err(LogError::OffsetOutOfRange) }, io);
            return;
        };
        let op = LookupOp {
            read,
            limit,
            base: seg.base,
            file: seg.file,
            pos: loc.pos,
            len: loc.len,
            seg_end: seg.size,
            hops: 0,
            kind: LookupKind::FetchMax,
        };
        self.submit_lookup(op, io);
    }

    pub(super) fn on_lookup_done(&mut self, op: LookupOp, result: DiskResult, io: &mut IoScope) {
        let read = op.read;
        let bytes = match (result, &self.state) {
            (_, LogState::Deleting | LogState::Deleted) => Err(LogError::NotReady),
            (DiskResult::Read(bytes), _) => Ok(bytes),
            (DiskResult::Failed(msg), _) => Err(LogError::Storage(msg)),
            (other, _) => Err(LogError::Storage(format!("unexpected read result {other:?}"))),
        };
        let result = match bytes {
            Ok(bytes) => match self.lookup_step(op, bytes, io) {
                Some(result) => result,
                None => return,
            },
            Err(e) => Err(e),
        };
        self.events.push(LogEvent::TimestampFound { read, result });
    }

    /// One chunk of a lookup: `Some(answer)` or `None` when more IO was submitted.
    fn lookup_step(&mut self, mut op: LookupOp, bytes: Bytes, io: &mut IoScope) -> Option<Result<Option<(Offset, i64)>, LogError>> {
        let max_dec = self.config.max_decompressed_bytes;
        if let LookupKind::FetchMax = op.kind {
            return Some(match max_timestamp_record(&bytes, max_dec) {
                Ok((off, ts)) => Ok(Some((off, ts))),
                Err(e) => Err(LogError::Storage(format!("max timestamp batch unreadable: {e}"))),
            });
        }
        let s = scan(&bytes, true);
        let mut segment_done = false;
        match &mut op.kind {
            LookupKind::First { target, start } => {
                for (p, h) in &s.batches {
                    if h.next_offset() <= *start {
                        continue;
                    }
                    if Offset(h.base_offset) >= op.limit {
                        return Some(Ok(None));
                    }
                    if h.max_timestamp < *target {
                        continue;
                    }
                    let batch = &bytes[*p..*p + h.total_len()];
                    match first_in_batch(batch, h, *target, *start, max_dec) {
                        Ok(Some((off, _))) if off >= op.limit => return Some(Ok(None)),
                        Ok(Some(found)) => return Some(Ok(Some(found))),
                        Ok(None) => {}
                        Err(e) => return Some(Err(LogError::Storage(format!("timestamp lookup: {e}")))),
                    }
                }
            }
            LookupKind::ScanMax { best, .. } => {
                for (p, h) in &s.batches {
                    if h.next_offset() <= self.log_start {
                        continue;
                    }
                    if h.next_offset() > op.limit {
                        segment_done = true;
                        break;
                    }
                    consider(best, h.max_timestamp, loc_of(op.pos + *p as u64, h));
                }
            }
            LookupKind::FetchMax => unreachable!("handled above"),
        }
        let next = if segment_done { ChunkNext::End } else { chunk_next(op.pos, &bytes, s.valid_len, op.seg_end, op.len) };
        match next {
            ChunkNext::Continue { pos, len } => {
                if op.hops >= HOPS_MAX || !self.live_file(op.base, op.file) {
                    return Some(Err(LogError::OffsetOutOfRange));
                }
                op.pos = pos;
                op.len = len;
                op.hops += 1;
                self.submit_lookup(op, io);
                None
            }
            ChunkNext::Corrupt(why) => Some(Err(LogError::Storage(format!("corrupt batch in segment {}: {why}", op.base)))),
            ChunkNext::End => match op.kind {
                LookupKind::First { target, .. } => match self.ts_candidate(target, op.limit, Some(op.base)) {
                    Some(base) => {
                        self.start_ts_in_segment(op.read, base, target, op.limit, io);
                        None
                    }
                    None => Some(Ok(None)),
                },
                LookupKind::ScanMax { queue, best } => {
                    self.next_max_step(op.read, op.limit, queue, best, io);
                    None
                }
                LookupKind::FetchMax => unreachable!("handled above"),
            },
        }
    }
}

/// The first record of `batch` at or after `start` with timestamp >= `target`.
fn first_in_batch(batch: &[u8], h: &BatchHeader, target: i64, start: Offset, max_dec: usize) -> Result<Option<(Offset, i64)>, String> {
    match find_timestamp(batch, target, max_dec).map_err(|e| e.to_string())? {
        Some((off, ts)) if off >= start => Ok(Some((off, ts))),
        None => Ok(None),
        Some(_) => {
            // `start` (the log start offset) is inside this batch: look record by record.
            let (header, records) = decode_batch(batch, max_dec).map_err(|e| e.to_string())?;
            let append_time = header.timestamp_type() == TimestampType::LogAppendTime;
            Ok(records.iter().find_map(|r| {
                let off = Offset(h.base_offset + i64::from(r.offset_delta));
                let ts = if append_time { header.max_timestamp } else { r.timestamp };
                (off >= start && ts >= target).then_some((off, ts))
            }))
        }
    }
}

/// Whole batches from the first of `batches` (always kept), then while they fit
/// `max_bytes` and end at or below `limit`.
fn assemble(bytes: &Bytes, batches: &[(usize, BatchHeader)], max_bytes: u32, limit: Offset) -> Bytes {
    let (p0, h0) = &batches[0];
    if h0.next_offset() > limit {
        return Bytes::new();
    }
    let start = *p0;
    let mut end = p0 + h0.total_len();
    for (p, h) in &batches[1..] {
        let e = p + h.total_len();
        if h.next_offset() > limit || (e - start) as u64 > u64::from(max_bytes) {
            break;
        }
        assert_eq!(*p, end, "scanned batches are adjacent");
        end = e;
    }
    bytes.slice(start..end)
}
