//! Follower truncation ([`PartitionLog::truncate_to`]): drop everything at and
//! after an offset, never below the committed offset (DESIGN §5.4).
//!
//! The in-memory state cannot say where a batch starts between two sparse
//! index entries, nor what the producers' state was there, so truncation reads:
//!
//! 1. `Snapshot`: the producer state at the base of the segment holding the
//!    offset (the sealed previous segment's snapshot, in memory or its file);
//!    without one, the state is rebuilt from the first segment.
//! 2. `Scanning`: segments are read in chunks (CRC-verified) up to the one
//!    holding the offset, feeding the producer state; that segment is rebuilt
//!    batch by batch (indexes, timestamps) until the batch that holds the
//!    offset. The log is cut at that batch's start, so an offset inside a batch
//!    drops the whole batch (the new end is its base offset, as Kafka's segment
//!    truncation cuts bytes).
//! 3. `Cutting`: later segments are closed and removed, the segment is
//!    truncated and synced, the in-memory state (segments, log end, durable
//!    offset, tail cache, producer state, epoch cache) is cut at once; once the
//!    file operations are done the epoch checkpoint is written (never before:
//!    a crash in between must not find a checkpoint without epochs of segments
//!    still on disk), and the truncation is over ([`PartitionLog::truncating`]
//!    turns false; no event, so that the broker's exhaustive event handling is
//!    untouched: the caller checks after each completion it feeds).
//!
//! Meanwhile the log refuses appends, reads and retention (`NotReady`).
//! Truncation is rare (a follower after a leader change); the scan of the
//! segment holding the offset reads at most `segment.bytes`.

use bytes::Bytes;

use crate::io::{DiskOp, DiskResult};
use crate::records::scan;
use crate::types::Offset;

use super::producer_state::ProducerState;
use super::read::{chunk_next, ChunkNext};
use super::segment::{file_name, IndexFiles, Segment};
use super::{IoScope, LogError, PartitionLog, Pending};

#[derive(Debug)]
pub(super) enum TruncPending {
    /// The producer snapshot at the base of the segment being cut.
    Snapshot,
    /// A chunk of segment `base` read at `pos`.
    Chunk { base: Offset, pos: u64 },
    /// Close, Remove, Truncate of the cut: failures of removals only logged.
    Cut,
    /// The sync of the cut segment after its truncation, up to `pos`.
    CutSync { base: Offset, pos: u64 },
}

#[derive(Debug)]
enum Phase {
    Snapshot,
    Scanning,
    /// File operations of the cut in flight, then the epoch checkpoint.
    Cutting {
        ops: usize,
    },
}

#[derive(Debug)]
pub(super) struct Truncation {
    target: Offset,
    /// Base of the segment holding `target`.
    cut_base: Offset,
    phase: Phase,
    /// Segment being scanned, and the producer state being rebuilt.
    scanning: Offset,
    producers: ProducerState,
    /// The segment being cut, rebuilt from its batches below `target`.
    rebuilt: Option<Segment>,
    /// The log end after the cut.
    end: Offset,
}

impl PartitionLog {
    /// Drop every record at and after `offset` (a follower truncating to where
    /// its log diverges from the leader's). The log end offset becomes `offset`,
    /// or the base of the batch holding it if it falls inside one, once the
    /// files are read; [`truncating`](Self::truncating) is true until the cut
    /// is on disk, and meanwhile appends and reads get `NotReady`.
    ///
    /// Refused: below the committed offset (never truncate committed records;
    /// a caller's bug, asserted in debug builds) with `OffsetOutOfRange`, as below
    /// the log start offset. At or past the log end: nothing to do.
    pub fn truncate_to(&mut self, offset: Offset, io: &mut IoScope) -> Result<(), LogError> {
        self.check_serving()?;
        debug_assert!(offset >= self.committed, "truncation to {offset} below the committed offset {}", self.committed);
        if offset < self.committed {
            tracing::error!(dir = %self.dir, %offset, committed = %self.committed, "truncation below the committed offset refused");
            return Err(LogError::OffsetOutOfRange);
        }
        if offset < self.log_start {
            return Err(LogError::OffsetOutOfRange);
        }
        if offset >= self.log_end {
            return Ok(());
        }
        let cut_base = *self.segments.range(..=offset).next_back().expect("offset at or above the first segment").0;
        tracing::info!(dir = %self.dir, %offset, end = %self.log_end, segment = %cut_base, "truncating the log");
        let first = *self.segments.keys().next().expect("segments");
        let mut t = Truncation {
            target: offset,
            cut_base,
            phase: Phase::Snapshot,
            scanning: cut_base,
            producers: ProducerState::default(),
            rebuilt: None,
            end: offset,
        };
        // The previous segment's snapshot, still in memory until its indexes go.
        let in_memory = self.segments.range(..cut_base).next_back().and_then(|(_, s)| s.snapshot.clone());
        match in_memory {
            Some((at, bytes)) if at == cut_base => {
                t.producers = decode_snapshot(&bytes, cut_base).expect("a snapshot this log encoded decodes");
                self.truncation = Some(t);
                self.start_scan(cut_base, io);
            }
            _ if cut_base == first && cut_base == Offset(0) => {
                self.truncation = Some(t);
                self.start_scan(cut_base, io);
            }
            _ => {
                t.scanning = first;
                self.truncation = Some(t);
                let id = io.submit(DiskOp::ReadFile { path: self.path(&file_name(cut_base, "snapshot")) });
                self.pending.insert(id, Pending::Truncation(TruncPending::Snapshot));
            }
        }
        Ok(())
    }

    pub(super) fn on_truncation_done(&mut self, what: TruncPending, result: DiskResult, io: &mut IoScope) {
        if self.truncation.is_none() {
            return;
        }
        let abandoned = self.closing.is_some() || !matches!(self.state, super::LogState::Ready);
        match what {
            TruncPending::Snapshot | TruncPending::Chunk { .. } if abandoned => self.truncation = None,
            TruncPending::Snapshot => {
                let t = self.truncation.as_mut().expect("truncating");
                let base = t.cut_base;
                let loaded = match result {
                    DiskResult::Read(bytes) => decode_snapshot(&bytes, base),
                    other => Err(format!("{other:?}")),
                };
                match loaded {
                    Ok(state) => {
                        t.producers = state;
                        t.scanning = base;
                    }
                    Err(why) => {
                        tracing::info!(dir = %self.dir, %base, %why, "no producer snapshot; rebuilding producer state from the first segment")
                    }
                }
                let from = self.truncation.as_ref().expect("truncating").scanning;
                self.start_scan(from, io);
            }
            TruncPending::Chunk { base, pos } => match result {
                DiskResult::Read(bytes) => self.on_truncation_chunk(base, pos, bytes, io),
                DiskResult::Failed(msg) => self.fail(format!("reading segment {base} to truncate: {msg}")),
                other => self.fail(format!("reading segment {base} to truncate: unexpected {other:?}")),
            },
            TruncPending::Cut | TruncPending::CutSync { .. } => {
                match (&what, &result) {
                    (TruncPending::CutSync { base, pos }, DiskResult::Done) => {
                        if let Some(seg) = self.segments.get_mut(base) {
                            seg.sync_done_end = seg.sync_done_end.max(*pos);
                        }
                    }
                    (TruncPending::CutSync { base, .. }, DiskResult::Failed(msg)) => {
                        let msg = format!("sync of segment {base} after truncation: {msg}");
                        self.fail(msg);
                    }
                    (_, DiskResult::Failed(msg)) => tracing::warn!(dir = %self.dir, %msg, "removing truncated files failed"),
                    _ => {}
                }
                let t = self.truncation.as_mut().expect("truncating");
                let Phase::Cutting { ops } = &mut t.phase else { panic!("cut operations complete while cutting") };
                assert!(*ops > 0, "more cut operations completed than issued");
                *ops -= 1;
                if *ops == 0 {
                    self.write_epoch_checkpoint(io);
                    self.maybe_finish_truncation();
                }
            }
        }
    }

    /// Read segment `base` from its start.
    fn start_scan(&mut self, base: Offset, io: &mut IoScope) {
        let t = self.truncation.as_mut().expect("truncating");
        t.phase = Phase::Scanning;
        t.scanning = base;
        let seg = &self.segments[&base];
        if base == t.cut_base {
            t.rebuilt = Some(Segment::new_empty(base, seg.file));
        }
        let (file, len) = (seg.file, self.recovery_chunk_bytes);
        let id = io.submit(DiskOp::Read { file, pos: 0, len });
        self.pending.insert(id, Pending::Truncation(TruncPending::Chunk { base, pos: 0 }));
    }

    fn on_truncation_chunk(&mut self, base: Offset, pos: u64, bytes: Bytes, io: &mut IoScope) {
        let interval = self.config.index_interval_bytes;
        let chunk_len = self.recovery_chunk_bytes;
        let (file, seg_end, seg_next) = {
            let s = &self.segments[&base];
            (s.file, s.size, s.next_offset)
        };
        let t = self.truncation.as_mut().expect("truncating");
        assert_eq!(t.scanning, base, "chunks of one segment at a time");
        let s = scan(&bytes, true);
        let mut valid = 0;
        let mut cut_at = None;
        for (bpos, h) in &s.batches {
            let at = pos + *bpos as u64;
            if let Some(seg) = t.rebuilt.as_mut() {
                if h.last_offset() >= t.target {
                    cut_at = Some((at, Offset(h.base_offset)));
                    break;
                }
                seg.note_batch(at, h, interval);
            }
            t.producers.apply(h);
            valid = *bpos + h.total_len();
        }
        if let Some((at, end)) = cut_at {
            self.apply_cut(at, end, io);
            return;
        }
        match chunk_next(pos, &bytes, valid, seg_end, chunk_len) {
            ChunkNext::Continue { pos, len } => {
                let id = io.submit(DiskOp::Read { file, pos, len });
                self.pending.insert(id, Pending::Truncation(TruncPending::Chunk { base, pos }));
            }
            ChunkNext::End if base != t.cut_base => {
                let next = seg_next;
                self.start_scan(next, io);
            }
            ChunkNext::End => {
                let target = t.target;
                self.fail(format!("segment {base} ends before offset {target} while truncating"));
            }
            ChunkNext::Corrupt(why) => self.fail(format!("segment {base} unreadable while truncating: {why}")),
        }
    }

    /// The batch holding the target starts at byte `pos` (offset `end`) of the
    /// segment being cut: cut everything from there, in memory now, on disk
    /// through the operations counted in `Cutting`.
    fn apply_cut(&mut self, pos: u64, end: Offset, io: &mut IoScope) {
        let t = self.truncation.as_mut().expect("truncating");
        let cut_base = t.cut_base;
        let mut seg = t.rebuilt.take().expect("the segment being cut was rebuilt");
        let producers = std::mem::take(&mut t.producers);
        t.end = end;
        assert_eq!(seg.size, pos, "rebuilt up to the cut");
        assert_eq!(seg.next_offset, end, "rebuilt up to the cut");
        assert!(end >= self.committed, "truncation cut at {end}, below the committed offset {}", self.committed);
        assert!(end >= self.log_start, "truncation below the log start");
        let mut ops = 0;
        // Whole segments after the cut.
        let later: Vec<Offset> = self.segments.range(cut_base..).skip(1).map(|(b, _)| *b).collect();
        for base in later {
            let gone = self.segments.remove(&base).expect("listed");
            let id = io.submit(DiskOp::Close { file: gone.file });
            self.pending.insert(id, Pending::Truncation(TruncPending::Cut));
            ops += 1;
            for ext in ["log", "index", "timeindex", "snapshot"] {
                let id = io.submit(DiskOp::Remove { path: self.path(&file_name(base, ext)) });
                self.pending.insert(id, Pending::Truncation(TruncPending::Cut));
                ops += 1;
            }
        }
        // The segment holding the cut becomes the active one.
        let old = self.segments.remove(&cut_base).expect("the segment being cut");
        seg.rolling_base_ms = old.rolling_base_ms;
        seg.write_done_end = old.write_done_end.min(pos);
        seg.sync_issued_end = old.sync_issued_end.min(pos);
        seg.sync_done_end = old.sync_done_end.min(pos);
        seg.durable_next = old.durable_next.min(end);
        seg.unsynced = old.unsynced.iter().copied().filter(|&(e, _)| e <= pos).collect();
        let lost_tail = old.unsynced.iter().any(|&(e, _)| e > pos);
        if lost_tail && seg.unsynced.back().is_none_or(|&(e, _)| e < pos) && seg.durable_next < end {
            // An append straddling the cut was not durable: its kept part is not either.
            seg.unsynced.push_back((pos, end));
        }
        seg.sealed = false;
        seg.index_files = IndexFiles::Missing;
        let file = seg.file;
        if old.index_files != IndexFiles::Missing {
            for ext in ["index", "timeindex"] {
                let id = io.submit(DiskOp::Remove { path: self.path(&file_name(cut_base, ext)) });
                self.pending.insert(id, Pending::Truncation(TruncPending::Cut));
                ops += 1;
            }
        }
        if pos < old.size {
            let id = io.submit(DiskOp::Truncate { file, len: pos });
            self.pending.insert(id, Pending::Truncation(TruncPending::Cut));
            seg.sync_issued_end = pos;
            let id = io.submit(DiskOp::Sync { file });
            self.pending.insert(id, Pending::Truncation(TruncPending::CutSync { base: cut_base, pos }));
            ops += 2;
        }
        self.segments.insert(cut_base, seg);
        // Completions of writes and syncs issued before the cut count up to it.
        for p in self.pending.values_mut() {
            match p {
                Pending::Write { base, end: e } if *base == cut_base => *e = (*e).min(pos),
                Pending::Sync { base, pos: p } if *base == cut_base => *p = (*p).min(pos),
                _ => {}
            }
        }
        self.log_end = end;
        self.durable = self.durable.min(end);
        self.tail_cache.truncate_from(end);
        self.producers = producers;
        if self.epochs.truncate_from_end(end) {
            self.epochs_version += 1;
        }
        self.truncation.as_mut().expect("truncating").phase = Phase::Cutting { ops };
        self.check_invariants();
        tracing::info!(dir = %self.dir, %end, "log truncated in memory; cutting files");
        if ops == 0 {
            self.write_epoch_checkpoint(io);
            self.maybe_finish_truncation();
        }
    }

    /// Whether the epoch checkpoint must wait for the files of a cut.
    pub(super) fn cut_in_flight(&self) -> bool {
        self.truncation.as_ref().is_some_and(|t| matches!(t.phase, Phase::Cutting { ops } if ops > 0))
    }

    /// Whether a `truncate_to` is still in progress.
    pub fn truncating(&self) -> bool {
        self.truncation.is_some()
    }

    /// Over once the files are cut and the epoch checkpoint matches.
    pub(super) fn maybe_finish_truncation(&mut self) {
        let Some(t) = &self.truncation else { return };
        if matches!(t.phase, Phase::Cutting { ops: 0 }) && self.epochs_on_disk() {
            let end = t.end;
            self.truncation = None;
            tracing::info!(dir = %self.dir, %end, "log truncated");
        }
    }
}

fn decode_snapshot(bytes: &[u8], at: Offset) -> Result<ProducerState, String> {
    let (offset, state) = ProducerState::decode(bytes)?;
    if offset != at {
        return Err(format!("snapshot holds the state at {offset}, not {at}"));
    }
    Ok(state)
}
