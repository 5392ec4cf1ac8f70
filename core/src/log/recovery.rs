//! Recovery of a log directory on `open` (see the module docs of `log`).
//!
//! Phases: `Listing` (ListDir + checkpoint ReadFile) → `Loading` (Open every
//! segment, ReadFile index files of sealed ones) → `Scanning` (segment by
//! segment, in offset order: accept a valid index or scan the data in chunks,
//! feeding every scanned batch to the producer state) →
//! `Finishing` (truncations, syncs and removals in flight; `Ready` once none is
//! left).

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::io::{DirEntry, DiskOp, DiskResult};
use crate::records::scan;
use crate::types::{FileId, Offset};

use super::epoch_cache::{LeaderEpochCache, EPOCH_CHECKPOINT_FILE};
use super::index::{decode_index, decode_time_index};
use super::producer_state::ProducerState;
use super::segment::{file_name, parse_file_name, IndexFiles, Segment};
use super::{chunk_next, ChunkNext, IoScope, PartitionLog, Pending, START_OFFSET_FILE};

const CHECKPOINT_MAGIC: &[u8; 4] = b"CKLS";
const CHECKPOINT_VERSION: u16 = 1;

pub(super) fn encode_checkpoint(start: Offset) -> Bytes {
    let mut b = BytesMut::with_capacity(18);
    b.put_slice(CHECKPOINT_MAGIC);
    b.put_u16(CHECKPOINT_VERSION);
    b.put_i64(start.0);
    let crc = crc32c::crc32c(&b);
    b.put_u32(crc);
    b.freeze()
}

pub(super) fn decode_checkpoint(bytes: &[u8]) -> Option<Offset> {
    if bytes.len() != 18 || &bytes[..4] != CHECKPOINT_MAGIC {
        return None;
    }
    let crc = u32::from_be_bytes(bytes[14..18].try_into().ok()?);
    if crc32c::crc32c(&bytes[..14]) != crc || u16::from_be_bytes(bytes[4..6].try_into().ok()?) != CHECKPOINT_VERSION {
        return None;
    }
    let start = i64::from_be_bytes(bytes[6..14].try_into().ok()?);
    (start >= 0).then_some(Offset(start))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Listing,
    Loading,
    Scanning,
    Finishing,
}

#[derive(Debug)]
pub(super) enum RecPending {
    List,
    Checkpoint,
    /// The leader-epoch checkpoint.
    EpochCheckpoint,
    Open {
        i: usize,
    },
    Index {
        i: usize,
    },
    TimeIndex {
        i: usize,
    },
    /// The newest producer snapshot.
    Snapshot,
    Chunk {
        i: usize,
        pos: u64,
    },
    /// Truncate, Sync, Open of a fresh segment: failure fails the log.
    Finish,
    /// Removal of stray or dropped files: failure only logged.
    Cleanup,
}

#[derive(Debug)]
struct RecSeg {
    base: Offset,
    file: FileId,
    len: Option<u64>,
    has_index_files: bool,
    index: Option<Bytes>,
    time_index: Option<Bytes>,
    /// The segment as its valid index files describe it (sealed segments only).
    prepared: Option<Segment>,
}

#[derive(Debug)]
struct ScanState {
    seg: Segment,
    len: u64,
}

#[derive(Debug)]
pub(super) struct Recovery {
    phase: Phase,
    listing: Option<Vec<DirEntry>>,
    checkpoint: Option<Option<Offset>>,
    /// The leader-epoch checkpoint once read: `Some(None)` if missing or
    /// unreadable, and then every segment is scanned to rebuild it.
    epoch_checkpoint: Option<Option<LeaderEpochCache>>,
    /// Whether a segment was scanned yet: every later one is scanned too, so
    /// the cache is the checkpoint's below the first scanned segment and the
    /// batches' from there on.
    scanned_any: bool,
    segs: Vec<RecSeg>,
    loads_outstanding: usize,
    cursor: usize,
    scan: Option<ScanState>,
    recovered: Vec<Segment>,
    /// The newest producer snapshot file's offset, and its bytes once read.
    snapshot: Option<(Offset, Option<Bytes>)>,
    /// Segments at or after this base are scanned (their batches feed the
    /// producer state); those below load from their indexes.
    scan_from: Offset,
}

impl PartitionLog {
    pub(super) fn start_recovery(&mut self, io: &mut IoScope) {
        self.recovery = Some(Recovery {
            phase: Phase::Listing,
            listing: None,
            checkpoint: None,
            epoch_checkpoint: None,
            scanned_any: false,
            segs: Vec::new(),
            loads_outstanding: 0,
            cursor: 0,
            scan: None,
            recovered: Vec::new(),
            snapshot: None,
            scan_from: Offset(0),
        });
        let id = io.submit(DiskOp::ListDir { path: self.dir.clone() });
        self.pending.insert(id, Pending::Recovery(RecPending::List));
        let id = io.submit(DiskOp::ReadFile { path: self.path(START_OFFSET_FILE) });
        self.pending.insert(id, Pending::Recovery(RecPending::Checkpoint));
        let id = io.submit(DiskOp::ReadFile { path: self.path(EPOCH_CHECKPOINT_FILE) });
        self.pending.insert(id, Pending::Recovery(RecPending::EpochCheckpoint));
    }

    pub(super) fn recovery_finished(&self) -> bool {
        self.recovery.as_ref().is_none_or(|r| r.phase == Phase::Finishing)
    }

    fn rec(&mut self) -> &mut Recovery {
        self.recovery.as_mut().expect("recovering")
    }

    pub(super) fn submit_rec(&mut self, op: DiskOp, what: RecPending, io: &mut IoScope) {
        let id = io.submit(op);
        self.pending.insert(id, Pending::Recovery(what));
    }

    pub(super) fn on_recovery_done(&mut self, what: RecPending, result: DiskResult, io: &mut IoScope) {
        if matches!(self.state, super::LogState::Failed(_)) || self.recovery.is_none() {
            return;
        }
        match what {
            RecPending::List => match result {
                DiskResult::Listing(entries) => {
                    self.rec().listing = Some(entries);
                    self.maybe_plan(io);
                }
                DiskResult::Failed(msg) => self.fail(format!("listing {}: {msg}", self.dir)),
                other => self.fail(format!("listing {}: unexpected {other:?}", self.dir)),
            },
            RecPending::Checkpoint => {
                let start = match result {
                    DiskResult::Read(bytes) => {
                        let start = decode_checkpoint(&bytes);
                        if start.is_none() {
                            tracing::warn!(dir = %self.dir, "log start offset checkpoint is corrupt; ignoring it");
                        }
                        start
                    }
                    _ => None,
                };
                self.rec().checkpoint = Some(start);
                self.maybe_plan(io);
            }
            RecPending::EpochCheckpoint => {
                let cache = match result {
                    DiskResult::Read(bytes) => match LeaderEpochCache::decode(&bytes) {
                        Ok(cache) => Some(cache),
                        Err(why) => {
                            tracing::warn!(dir = %self.dir, %why, "leader-epoch checkpoint unreadable; rebuilding it from every segment");
                            None
                        }
                    },
                    _ => {
                        tracing::info!(dir = %self.dir, "no leader-epoch checkpoint; rebuilding it from every segment");
                        None
                    }
                };
                self.epochs = cache.clone().unwrap_or_default();
                self.rec().epoch_checkpoint = Some(cache);
                self.maybe_plan(io);
            }
            RecPending::Open { i } => match result {
                DiskResult::Opened { len } => {
                    self.rec().segs[i].len = Some(len);
                    self.loaded(io);
                }
                DiskResult::Failed(msg) => self.fail(format!("opening segment: {msg}")),
                other => self.fail(format!("opening segment: unexpected {other:?}")),
            },
            RecPending::Index { i } | RecPending::TimeIndex { i } => {
                let bytes = match result {
                    DiskResult::Read(b) => Some(b),
                    _ => None,
                };
                let is_index = matches!(what, RecPending::Index { .. });
                let rs = &mut self.rec().segs[i];
                if is_index {
                    rs.index = bytes;
                } else {
                    rs.time_index = bytes;
                }
                self.loaded(io);
            }
            RecPending::Snapshot => {
                let rec = self.rec();
                if let (Some((_, bytes)), DiskResult::Read(b)) = (rec.snapshot.as_mut(), result) {
                    *bytes = Some(b);
                }
                self.loaded(io);
            }
            RecPending::Chunk { i, pos } => match result {
                DiskResult::Read(bytes) => self.on_chunk(i, pos, bytes, io),
                DiskResult::Failed(msg) => self.fail(format!("reading segment during recovery: {msg}")),
                other => self.fail(format!("reading segment: unexpected {other:?}")),
            },
            RecPending::Finish => {
                if let DiskResult::Failed(msg) = result {
                    self.fail(format!("finishing recovery: {msg}"));
                }
            }
            RecPending::Cleanup => {
                if let DiskResult::Failed(msg) = result {
                    tracing::warn!(dir = %self.dir, %msg, "removing a stale file failed");
                }
            }
        }
    }

    /// Once the listing and the checkpoint are in: open segments, read indexes.
    fn maybe_plan(&mut self, io: &mut IoScope) {
        let rec = self.rec();
        if rec.listing.is_none() || rec.checkpoint.is_none() || rec.epoch_checkpoint.is_none() {
            return;
        }
        let entries = rec.listing.take().expect("listing present");
        let mut logs = BTreeSet::new();
        let mut index_files = BTreeSet::new();
        let mut snapshots = BTreeSet::new();
        let mut stray = Vec::new();
        for e in &entries {
            if e.is_dir {
                continue;
            }
            match parse_file_name(&e.name) {
                Some((base, "log")) => {
                    logs.insert(base);
                }
                Some((base, "index")) | Some((base, "timeindex")) => {
                    index_files.insert((base, e.name.clone()));
                }
                Some((offset, "snapshot")) => {
                    snapshots.insert((offset, e.name.clone()));
                }
                _ if e.name.ends_with(".tmp") => stray.push(e.name.clone()),
                _ => {}
            }
        }
        // A snapshot names the base of the segment that follows the state it
        // holds; without that segment it describes data that is gone.
        for (base, name) in index_files.iter().chain(&snapshots) {
            if !logs.contains(base) {
                stray.push(name.clone());
            }
        }
        let newest_snapshot = snapshots.iter().rev().find(|(base, _)| logs.contains(base)).cloned();
        for name in stray {
            let path = self.path(&name);
            self.submit_rec(DiskOp::Remove { path }, RecPending::Cleanup, io);
        }
        self.opened_incomplete = logs.is_empty() || entries.iter().any(|e| !e.is_dir && e.name == super::INCOMPLETE_MARKER);
        if logs.is_empty() {
            // Nothing on disk: start empty at the checkpointed start offset.
            let base = self.rec().checkpoint.flatten().unwrap_or(Offset(0));
            let file = io.new_file_id();
            let path = self.path(&file_name(base, "log"));
            self.submit_rec(DiskOp::Open { file, path, create: true }, RecPending::Finish, io);
            self.segments.insert(base, Segment::new_empty(base, file));
            self.log_start = base;
            self.log_end = base;
            self.rec().phase = Phase::Finishing;
            let loaded = self.rec().epoch_checkpoint.take().flatten();
            self.settle_recovered_epochs(loaded.as_ref(), io);
            return;
        }
        let bases: Vec<Offset> = logs.into_iter().collect();
        let last = bases.len() - 1;
        for (i, base) in bases.iter().copied().enumerate() {
            let file = io.new_file_id();
            let has_index = index_files.contains(&(base, file_name(base, "index")));
            let has_time_index = index_files.contains(&(base, file_name(base, "timeindex")));
            let path = self.path(&file_name(base, "log"));
            self.submit_rec(DiskOp::Open { file, path, create: false }, RecPending::Open { i }, io);
            let mut outstanding = 1;
            if i != last && has_index && has_time_index {
                let path = self.path(&file_name(base, "index"));
                self.submit_rec(DiskOp::ReadFile { path }, RecPending::Index { i }, io);
                let path = self.path(&file_name(base, "timeindex"));
                self.submit_rec(DiskOp::ReadFile { path }, RecPending::TimeIndex { i }, io);
                outstanding += 2;
            }
            let rec = self.rec();
            rec.loads_outstanding += outstanding;
            let has_index_files = has_index || has_time_index;
            rec.segs.push(RecSeg { base, file, len: None, has_index_files, index: None, time_index: None, prepared: None });
        }
        if let Some((offset, name)) = newest_snapshot {
            let path = self.path(&name);
            self.submit_rec(DiskOp::ReadFile { path }, RecPending::Snapshot, io);
            let rec = self.rec();
            rec.snapshot = Some((offset, None));
            rec.loads_outstanding += 1;
        }
        self.rec().phase = Phase::Loading;
    }

    fn loaded(&mut self, io: &mut IoScope) {
        let rec = self.rec();
        assert!(rec.loads_outstanding > 0, "more loads completed than issued");
        rec.loads_outstanding -= 1;
        if rec.loads_outstanding == 0 {
            rec.phase = Phase::Scanning;
            self.prepare_indexes();
            // Without an epoch checkpoint every segment is scanned, so the
            // producer state is rebuilt from all of them too.
            if self.rec().epoch_checkpoint.as_ref().is_some_and(Option::is_some) {
                self.plan_producer_state();
            }
            self.advance(io);
        }
    }

    /// Decode the index files of sealed segments into ready segments.
    fn prepare_indexes(&mut self) {
        let dir = self.dir.clone();
        let rec = self.rec();
        let last = rec.segs.len() - 1;
        for rs in rec.segs.iter_mut().take(last) {
            let (Some(ib), Some(tb), Some(len)) = (rs.index.take(), rs.time_index.take(), rs.len) else { continue };
            let base = rs.base;
            let loaded = decode_index(&ib, base).and_then(|(summary, index)| {
                if summary.size != len {
                    return Err(format!("index describes {} bytes, file has {len}", summary.size));
                }
                let time_index = decode_time_index(&tb, base, summary.size, summary.next_offset)?;
                Ok(Segment::from_index(rs.file, summary, index, time_index))
            });
            match loaded {
                Ok(seg) => rs.prepared = Some(seg),
                Err(msg) => tracing::warn!(%dir, %base, %msg, "segment index unusable; rescanning the segment"),
            }
        }
    }

    /// Start the producer state from the newest snapshot if the segments below
    /// it all load from their indexes, contiguously (nothing below it can then be
    /// truncated or dropped, so it matches the recovered log); else from nothing,
    /// scanning every segment.
    fn plan_producer_state(&mut self) {
        let dir = self.dir.clone();
        let rec = self.rec();
        let Some((offset, Some(bytes))) = rec.snapshot.take() else { return };
        let decoded = ProducerState::decode(&bytes).and_then(|(at, state)| {
            if at != offset {
                return Err(format!("snapshot file {offset} holds the state at {at}"));
            }
            let below = rec.segs.iter().take_while(|rs| rs.base < offset);
            for (rs, next) in below.zip(rec.segs.iter().skip(1)) {
                match &rs.prepared {
                    Some(seg) if seg.next_offset == next.base => {}
                    _ => return Err(format!("segment {} below it must be rescanned", rs.base)),
                }
            }
            Ok(state)
        });
        match decoded {
            Ok(state) => {
                tracing::debug!(%dir, %offset, producers = state.len(), "producer state loaded from its snapshot");
                rec.scan_from = offset;
                self.producers = state;
            }
            Err(why) => tracing::warn!(%dir, %offset, %why, "producer snapshot unusable; rebuilding producer state from every segment"),
        }
    }

    /// Take the next segment: accept its index or start scanning it.
    fn advance(&mut self, io: &mut IoScope) {
        loop {
            let rec = self.rec();
            let i = rec.cursor;
            if i == rec.segs.len() {
                self.finish_recovery(io);
                return;
            }
            let is_last = i + 1 == rec.segs.len();
            let rs = &rec.segs[i];
            let (base, file, len) = (rs.base, rs.file, rs.len.expect("segment opened"));
            let expected = rec.recovered.last().map(|p| p.next_offset);
            if let Some(expected) = expected {
                if expected != base {
                    tracing::warn!(%expected, %base, "offset gap or overlap between segments; dropping later segments");
                    self.drop_from(i, io);
                    continue;
                }
            }
            if !is_last && base < rec.scan_from && !rec.scanned_any {
                if let Some(seg) = rec.segs[i].prepared.take() {
                    rec.recovered.push(seg);
                    rec.cursor += 1;
                    continue;
                }
            }
            if !rec.scanned_any {
                rec.scanned_any = true;
                // From here on the batches say which epochs began where.
                self.epochs.truncate_from_end(base);
            }
            self.rec().scan = Some(ScanState { seg: Segment::new_empty(base, file), len });
            if len == 0 {
                self.finish_segment(i, io);
                continue;
            }
            let len = self.recovery_chunk_bytes;
            self.submit_rec(DiskOp::Read { file, pos: 0, len }, RecPending::Chunk { i, pos: 0 }, io);
            return;
        }
    }

    fn on_chunk(&mut self, i: usize, pos: u64, bytes: Bytes, io: &mut IoScope) {
        let interval = self.config.index_interval_bytes;
        let chunk_len = self.recovery_chunk_bytes;
        // The field itself (not `rec()`): batches also feed `self.producers`.
        let rec = self.recovery.as_mut().expect("recovering");
        let file = rec.segs[i].file;
        let st = rec.scan.as_mut().expect("scanning");
        assert_eq!(pos, st.seg.size, "chunks are read in order");
        let s = scan(&bytes, true);
        let mut bad = false;
        for (bpos, h) in &s.batches {
            let len = h.total_len() as u64;
            let ok = Offset(h.base_offset) == st.seg.next_offset && h.last_offset_delta >= 0 && st.seg.fits(h.last_offset(), len);
            if !ok {
                tracing::warn!(pos = pos + *bpos as u64, "batch with unexpected offsets during recovery");
                bad = true;
                break;
            }
            if st.seg.rolling_base_ms.is_none() {
                st.seg.rolling_base_ms = Some(h.max_timestamp);
            }
            st.seg.note_batch(pos + *bpos as u64, h, interval);
            self.producers.apply(h);
            let epoch = crate::types::LeaderEpoch(h.partition_leader_epoch);
            if epoch.0 >= 0 && self.epochs.latest_epoch().is_none_or(|latest| epoch > latest) {
                self.epochs.assign(epoch, Offset(h.base_offset));
            }
        }
        let valid = (st.seg.size - pos) as usize;
        let next = if bad { ChunkNext::Corrupt("unexpected offsets".into()) } else { chunk_next(pos, &bytes, valid, st.len, chunk_len) };
        match next {
            ChunkNext::Continue { pos, len } => {
                self.submit_rec(DiskOp::Read { file, pos, len }, RecPending::Chunk { i, pos }, io);
                return;
            }
            ChunkNext::End => {}
            ChunkNext::Corrupt(why) => tracing::warn!(dir = %self.dir, %why, "torn or corrupt segment tail"),
        }
        self.finish_segment(i, io);
        self.advance(io);
    }

    /// The scan of segment `i` is over: truncate what was not validated, sync.
    fn finish_segment(&mut self, i: usize, io: &mut IoScope) {
        let rec = self.rec();
        let ScanState { mut seg, len } = rec.scan.take().expect("scanning");
        let is_last = i + 1 == rec.segs.len();
        let file = seg.file;
        let truncated = seg.size < len;
        seg.sealed = !is_last && !truncated;
        seg.index_files = IndexFiles::Missing;
        seg.mark_all_durable();
        rec.recovered.push(seg);
        rec.cursor += 1;
        let valid = rec.recovered.last().expect("just pushed").size;
        let sealed = rec.recovered.last().expect("just pushed").sealed;
        if sealed {
            // Its snapshot is written again with its rebuilt indexes.
            let end = rec.recovered.last().expect("just pushed").next_offset;
            let snapshot = self.producers.encode(end);
            self.rec().recovered.last_mut().expect("just pushed").snapshot = Some((end, snapshot));
        }
        if truncated {
            tracing::warn!(dir = %self.dir, from = len, to = valid, "truncating segment at the first invalid batch");
            self.submit_rec(DiskOp::Truncate { file, len: valid }, RecPending::Finish, io);
        }
        self.submit_rec(DiskOp::Sync { file }, RecPending::Finish, io);
        if truncated {
            self.drop_from(i + 1, io);
        }
    }

    /// Delete segments `i..`: nothing after a corrupt point or a gap is trusted.
    fn drop_from(&mut self, i: usize, io: &mut IoScope) {
        let rec = self.rec();
        let dropped: Vec<(Offset, FileId)> = rec.segs.drain(i..).map(|s| (s.base, s.file)).collect();
        for (base, file) in dropped {
            tracing::warn!(dir = %self.dir, %base, "deleting segment after the recovery point");
            self.submit_rec(DiskOp::Close { file }, RecPending::Cleanup, io);
            for ext in ["log", "index", "timeindex", "snapshot"] {
                let path = self.path(&file_name(base, ext));
                self.submit_rec(DiskOp::Remove { path }, RecPending::Cleanup, io);
            }
        }
    }

    fn finish_recovery(&mut self, io: &mut IoScope) {
        let rec = self.rec();
        rec.phase = Phase::Finishing;
        let recovered = std::mem::take(&mut rec.recovered);
        let last_had_index = rec.segs.last().is_some_and(|s| s.has_index_files);
        let checkpoint = rec.checkpoint.flatten();
        assert!(!recovered.is_empty(), "the first segment always survives recovery");
        for seg in recovered {
            self.segments.insert(seg.base, seg);
        }
        let first_base = *self.segments.keys().next().expect("segments");
        let last = self.active_mut();
        last.sealed = false;
        last.index_files = IndexFiles::Missing;
        let last_base = last.base;
        self.log_end = last.next_offset;
        if last_had_index {
            for ext in ["index", "timeindex"] {
                let path = self.path(&file_name(last_base, ext));
                self.submit_rec(DiskOp::Remove { path }, RecPending::Finish, io);
            }
        }
        let mut start = checkpoint.unwrap_or(first_base).max(first_base);
        if start > self.log_end {
            tracing::warn!(dir = %self.dir, %start, end = %self.log_end, "checkpointed start offset past the recovered end");
            start = self.log_end;
        }
        self.log_start = start;
        let below: Vec<Offset> = self.segments.values().filter(|s| s.base != last_base && s.next_offset <= start).map(|s| s.base).collect();
        self.remove_segments(&below, io);
        let loaded = self.rec().epoch_checkpoint.take().flatten();
        self.settle_recovered_epochs(loaded.as_ref(), io);
        tracing::info!(dir = %self.dir, start = %self.log_start, end = %self.log_end, segments = self.segments.len(), "log recovered");
    }
}
