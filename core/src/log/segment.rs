//! One segment: its file, its in-memory indexes and its durability bookkeeping.

use std::collections::VecDeque;

use crate::records::BatchHeader;
use crate::types::{FileId, Offset};

use super::index::{BatchLoc, OffsetIndex, SegmentSummary, TimeIndex};

/// `{base:020}.log` and friends.
pub(crate) fn file_name(base: Offset, ext: &str) -> String {
    format!("{:020}.{ext}", base.0)
}

/// Parses `{20 digits}.{ext}`.
pub(crate) fn parse_file_name(name: &str) -> Option<(Offset, &str)> {
    let (stem, ext) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let base: i64 = stem.parse().ok()?;
    Some((Offset(base), ext))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexFiles {
    /// Not on disk (active segment, or sealed and waiting for its data to be synced).
    Missing,
    /// ReplaceFile submitted.
    Writing,
    /// On disk and valid for this segment's exact size.
    Written,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub base: Offset,
    pub file: FileId,
    /// Bytes submitted for writing: the file's length once they land.
    pub size: u64,
    /// One past the last offset in this segment (`base` when empty).
    pub next_offset: Offset,
    pub index: OffsetIndex,
    pub time_index: TimeIndex,
    pub bytes_since_index: u64,
    pub bytes_since_time_index: u64,
    /// Largest batch max timestamp (-1 when empty) and the first batch holding it.
    pub max_timestamp: i64,
    pub max_batch: Option<BatchLoc>,
    /// Time `segment.ms` counts from: first append's `now`, or (recovered) the
    /// first batch's max timestamp.
    pub rolling_base_ms: Option<i64>,
    pub sealed: bool,
    pub index_files: IndexFiles,
    /// Producer snapshot (its offset: this segment's end, and bytes) captured when
    /// sealed, written with the indexes once the data is durable.
    pub snapshot: Option<(Offset, bytes::Bytes)>,
    // Durability.
    /// End of the writes whose completion arrived (writes to one file complete in order).
    pub write_done_end: u64,
    /// End position covered by the last Sync submitted / completed.
    pub sync_issued_end: u64,
    pub sync_done_end: u64,
    /// Appends not yet durable: (end position, next offset after it).
    pub unsynced: VecDeque<(u64, Offset)>,
    /// Offset below which this segment is durable.
    pub durable_next: Offset,
}

impl Segment {
    pub fn new_empty(base: Offset, file: FileId) -> Segment {
        Segment {
            base,
            file,
            size: 0,
            next_offset: base,
            index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            bytes_since_index: 0,
            bytes_since_time_index: 0,
            max_timestamp: -1,
            max_batch: None,
            rolling_base_ms: None,
            sealed: false,
            index_files: IndexFiles::Missing,
            snapshot: None,
            write_done_end: 0,
            sync_issued_end: 0,
            sync_done_end: 0,
            unsynced: VecDeque::new(),
            durable_next: base,
        }
    }

    /// A sealed segment loaded from valid index files: durable as it is.
    pub fn from_index(file: FileId, summary: SegmentSummary, index: OffsetIndex, time_index: TimeIndex) -> Segment {
        let mut s = Segment::new_empty(summary.base, file);
        s.size = summary.size;
        s.next_offset = summary.next_offset;
        s.index = index;
        s.time_index = time_index;
        s.max_timestamp = summary.max_timestamp;
        s.max_batch = summary.max_batch;
        s.sealed = true;
        s.index_files = IndexFiles::Written;
        s.mark_all_durable();
        s
    }

    /// Recovery: everything present is on disk (after the recovery sync).
    pub fn mark_all_durable(&mut self) {
        self.write_done_end = self.size;
        self.sync_issued_end = self.size;
        self.sync_done_end = self.size;
        self.unsynced.clear();
        self.durable_next = self.next_offset;
    }

    pub fn summary(&self) -> SegmentSummary {
        SegmentSummary {
            base: self.base,
            size: self.size,
            next_offset: self.next_offset,
            max_timestamp: self.max_timestamp,
            max_batch: self.max_batch,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.next_offset == self.base
    }

    /// Relative offset of `offset` in this segment, if it fits the index format.
    pub fn rel(&self, offset: Offset) -> u32 {
        let rel = offset.0 - self.base.0;
        assert!(rel >= 0, "offset {offset} below segment base {}", self.base);
        u32::try_from(rel).unwrap_or(u32::MAX)
    }

    /// Whether a batch ending at `last` of `len` bytes still fits this segment's
    /// index format (u32 relative offsets and positions).
    pub fn fits(&self, last: Offset, len: u64) -> bool {
        last.0 - self.base.0 < i64::from(u32::MAX) && self.size + len <= u64::from(u32::MAX)
    }

    /// Record a batch placed at `pos` (the current end): indexes, offsets, timestamps.
    pub fn note_batch(&mut self, pos: u64, header: &BatchHeader, index_interval_bytes: u32) {
        assert_eq!(pos, self.size, "batches are appended at the end");
        assert_eq!(Offset(header.base_offset), self.next_offset, "offsets are contiguous in a segment");
        let len = header.total_len() as u64;
        let interval = u64::from(index_interval_bytes.max(1));
        let rel_base = self.rel(Offset(header.base_offset));
        if self.bytes_since_index >= interval && pos > 0 {
            self.index.push(rel_base, u32::try_from(pos).expect("segment position fits u32"));
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += len;
        let next = header.next_offset();
        if header.max_timestamp > self.max_timestamp || self.max_batch.is_none() {
            self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
            self.max_batch =
                Some(BatchLoc { base: Offset(header.base_offset), next, pos, len: u32::try_from(len).expect("batch length fits u32") });
        }
        self.bytes_since_time_index += len;
        if self.bytes_since_time_index >= interval {
            self.time_index.push(self.max_timestamp, self.rel(header.last_offset()));
            self.bytes_since_time_index = 0;
        }
        self.size = pos + len;
        self.next_offset = next;
    }

    /// Apply completed writes/syncs: pop appends that are now durable.
    pub fn advance_durable(&mut self) {
        let durable_pos = self.write_done_end.min(self.sync_done_end);
        while let Some(&(end, next)) = self.unsynced.front() {
            if end > durable_pos {
                break;
            }
            assert!(next >= self.durable_next, "segment durable offset goes backwards");
            self.durable_next = next;
            self.unsynced.pop_front();
        }
    }

    pub fn fully_durable(&self) -> bool {
        self.unsynced.is_empty() && self.write_done_end >= self.size && self.sync_done_end >= self.size
    }

    pub fn needs_sync(&self) -> bool {
        self.size > self.sync_issued_end
    }
}
