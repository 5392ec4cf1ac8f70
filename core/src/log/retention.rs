//! Retention (`retention.ms`, `retention.bytes`), DeleteRecords, and the log
//! start offset checkpoint.

use crate::io::{DiskOp, DiskResult};
use crate::types::{Millis, Offset};

use super::recovery::encode_checkpoint;
use super::segment::file_name;
use super::{IoScope, LogError, LogEvent, LogState, PartitionLog, Pending, START_OFFSET_FILE};

impl PartitionLog {
    /// Apply `retention.ms` and `retention.bytes`: delete whole sealed segments
    /// (never the active one) that are too old or over the size limit, and roll an
    /// active segment older than `segment.ms` that has data. Called periodically.
    pub fn enforce_retention(&mut self, now: Millis, io: &mut IoScope) {
        self.observe_now(now);
        if self.check_serving().is_err() {
            return;
        }
        let active = self.active();
        if !active.is_empty() && active.rolling_base_ms.is_some_and(|t| now.0.saturating_sub(t) >= self.config.segment_ms) {
            self.roll(io);
        }
        let deletable = self.deletable_segments(now);
        if deletable.is_empty() {
            return;
        }
        let new_start = self.segments[deletable.last().expect("non-empty")].next_offset;
        self.remove_segments(&deletable, io);
        if new_start > self.log_start {
            self.log_start = new_start;
            self.write_checkpoint(io);
            self.epochs_start_moved(io);
        }
        self.check_invariants();
    }

    /// The oldest sealed, durable segments that are expired, over the size
    /// limit, or wholly below the start offset; stops at the first that is not.
    fn deletable_segments(&self, now: Millis) -> Vec<Offset> {
        let cutoff = now.0.saturating_sub(self.config.retention_ms);
        let mut total = self.size_bytes();
        let mut out = Vec::new();
        for seg in self.segments.values() {
            if !seg.sealed || seg.next_offset > self.durable {
                break;
            }
            let expired = self.config.retention_ms >= 0 && seg.max_timestamp < cutoff;
            let oversize = self.config.retention_bytes >= 0 && total - seg.size >= self.config.retention_bytes as u64;
            let below_start = seg.next_offset <= self.log_start;
            if !(expired || oversize || below_start) {
                break;
            }
            total -= seg.size;
            out.push(seg.base);
        }
        out
    }

    /// DeleteRecords: move the log start offset up to `offset` (≤ `limit`, the
    /// high watermark), delete whole segments below it, persist it.
    /// `StartOffsetChanged` follows once the checkpoint is durable.
    pub fn delete_records_before(&mut self, offset: Offset, io: &mut IoScope) -> Result<(), LogError> {
        self.check_serving()?;
        if offset.0 < 0 || offset > self.log_end {
            return Err(LogError::OffsetOutOfRange);
        }
        if offset > self.log_start {
            self.log_start = offset;
            self.epochs_start_moved(io);
        }
        let below: Vec<Offset> = self
            .segments
            .values()
            .take_while(|s| s.sealed && s.next_offset <= self.log_start && s.next_offset <= self.durable)
            .map(|s| s.base)
            .collect();
        self.remove_segments(&below, io);
        // Written even when unchanged, so `StartOffsetChanged` always follows.
        self.write_checkpoint(io);
        self.check_invariants();
        Ok(())
    }

    /// Forget segments and remove their files (reads in flight on them finish
    /// first: `Close` is ordered after them on the same file).
    pub(super) fn remove_segments(&mut self, bases: &[Offset], io: &mut IoScope) {
        for base in bases {
            let seg = self.segments.remove(base).expect("segment to remove exists");
            assert!(!self.segments.is_empty(), "never remove the active segment");
            assert!(seg.sealed || self.state == LogState::Loading, "only sealed segments are removed");
            tracing::info!(dir = %self.dir, base = %seg.base, size = seg.size, "deleting segment");
            let id = io.submit(DiskOp::Close { file: seg.file });
            self.pending.insert(id, Pending::Housekeeping);
            // The snapshot named by this base describes the state at its start:
            // useless once the segment is gone (the next one's stays).
            for ext in ["log", "index", "timeindex", "snapshot"] {
                let id = io.submit(DiskOp::Remove { path: self.path(&file_name(seg.base, ext)) });
                self.pending.insert(id, Pending::Housekeeping);
            }
        }
    }

    /// Persist the start offset; one checkpoint write at a time (path operations
    /// are unordered), the latest value written last.
    pub(super) fn write_checkpoint(&mut self, io: &mut IoScope) {
        if self.checkpoint_in_flight {
            self.checkpoint_dirty = true;
            return;
        }
        self.checkpoint_in_flight = true;
        let start = self.log_start;
        let id = io.submit(DiskOp::ReplaceFile { path: self.path(START_OFFSET_FILE), data: encode_checkpoint(start) });
        self.pending.insert(id, Pending::Checkpoint { start });
    }

    pub(super) fn on_checkpoint_done(&mut self, start: Offset, result: DiskResult, io: &mut IoScope) {
        self.checkpoint_in_flight = false;
        if let DiskResult::Failed(msg) = result {
            self.fail(format!("writing the start offset checkpoint: {msg}"));
            return;
        }
        self.events.push(LogEvent::StartOffsetChanged(start));
        if self.checkpoint_dirty && self.state == LogState::Ready {
            self.checkpoint_dirty = false;
            self.write_checkpoint(io);
        }
    }
}
