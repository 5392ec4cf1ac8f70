//! The partition log: segment files of record batches with a sparse offset index
//! and a time index, rolled by size and age, trimmed by retention and by
//! DeleteRecords, recovered on start. Sans-IO: every file operation is a
//! [`DiskOp`](crate::io::DiskOp) submitted through an [`IoScope`], and its
//! completion comes back through [`PartitionLog::on_disk_done`].
//!
//! # On disk
//!
//! Per partition directory (e.g. `orders-0/`), as Kafka names them:
//! - `{base:020}.log`: the batches exactly as stored (stamped with offsets and
//!   leader epoch), named by the segment's base offset.
//! - `{base:020}.index` / `.timeindex`: only for sealed segments, written with
//!   `ReplaceFile` once the segment's data is synced, each with the segment size it
//!   describes and a CRC-32C trailer (format in [`index`]). A missing, torn, corrupt
//!   or stale index is ignored and the segment rescanned.
//! - `log-start-offset`: magic `CKLS` | version u16 | offset i64 | crc32c u32,
//!   replaced atomically whenever retention or DeleteRecords moves the start.
//! - `{offset:020}.snapshot`: the idempotent producers' state as of `offset` (the
//!   base of the segment after a sealed one), captured when the segment is sealed
//!   and written with its indexes (format in [`producer_state`]). Removed with the
//!   segment at `offset` (retention), as Kafka does.
//! - `leader-epoch-checkpoint`: which leader epoch began at which offset, in
//!   Kafka's text format (see [`epoch_cache`]), replaced whenever an epoch is
//!   added or the cache is cut. Sealed segments get their index files only once
//!   it is on disk, so recovery may trust it below the first scanned segment and
//!   amends it from the scanned batches; missing or unreadable, every segment is
//!   scanned to rebuild it.
//!
//! # Truncation
//!
//! [`PartitionLog::truncate_to`] (a follower after a leader change) cuts the
//! log at a batch boundary, never below the committed offset; see the `truncate` module.
//!
//! # Memory
//!
//! Every segment keeps a sparse offset index (one entry per
//! `index.interval.bytes`) and a sparse time index in memory, plus its size, next
//! offset, max timestamp and the batch holding it, so reads and lookups go to a
//! position without scanning the segment.
//!
//! # Durability
//!
//! Per segment file the log tracks the end of what was submitted, of the writes
//! completed, of the syncs issued and completed. An append is durable once a
//! sync issued after its write has completed (and the write itself completed OK).
//! [`PartitionLog::durable_offset`] is the offset below which every batch of every
//! segment is durable; the broker uses it as the high watermark. [`sync`] syncs
//! every file with unsynced writes (so a roll's old tail is covered); a roll also
//! syncs the old segment straight away. A failed write or sync puts the log in
//! `Failed`: the durable offset freezes and appends get `Storage` errors.
//!
//! # Recovery ([`PartitionLog::open`])
//!
//! List the directory and read the start-offset checkpoint; open every segment;
//! load valid index files of sealed segments (no data scan); read the last
//! segment and any segment without valid indexes in bounded chunks
//! ([`RECOVERY_CHUNK_BYTES`]) and `scan` them with CRC verification, also
//! requiring contiguous offsets. At the first torn or corrupt batch the file is
//! truncated, and every later segment is deleted (as is everything after an
//! offset gap between segments: data past a hole was never durable). Scanned
//! files are synced before `Ready`, so afterwards durable offset == log end
//! offset. Segments entirely below the checkpointed start offset are deleted;
//! leftover `*.tmp` and orphan index and snapshot files are removed.
//!
//! The producer state is rebuilt exactly: from the newest producer snapshot,
//! provided every segment below it loads from valid indexes with contiguous
//! offsets (so no truncation or gap can fall below it), plus every batch of
//! every segment at or after it, which are all scanned; otherwise from a scan of
//! every segment. A torn tail stops the scan, so the state matches the
//! truncated log.
//!
//! # Reads
//!
//! Find the segment, take the sparse index position at or below the offset, read
//! a bounded chunk (`max_bytes` + index interval + slack, at most
//! [`READ_BYTES_MAX`]), verify CRCs, drop batches entirely below the offset, keep
//! whole batches up to `max_bytes` (the first one always) ending at or below the
//! limit. A chunk that cuts the wanted batch is read again with the batch's full
//! length. One disk read serves from one segment. Results that need no disk (empty
//! reads, lookups with no candidate) are still delivered as events from a later
//! `on_disk_done`: the log submits a zero-length `Read` as a doorbell. Reads of
//! the newest batches (a tail cache of [`TAIL_CACHE_BYTES_MAX`] bytes of
//! recently appended batches, `Bytes` clones) are answered from memory that way.
//!
//! # Timestamps
//!
//! `find_offset_by_timestamp` skips segments whose max timestamp is below the
//! target, starts after the last time-index entry older than the target, scans
//! batches and looks inside the first batch whose max timestamp reaches the target
//! (`records::find_timestamp`). `find_max_timestamp` uses the per-segment max
//! batch, scanning only a segment cut by the limit or the start offset.
//!
//! # Retention
//!
//! Whole sealed segments, oldest first, while too old (`max timestamp < now -
//! retention.ms`), over `retention.bytes`, or wholly below the start offset; never
//! the active segment and never a segment not wholly durable. The start offset then
//! moves to the next segment's base and is checkpointed; `StartOffsetChanged`
//! follows when the checkpoint is on disk. DeleteRecords moves it to any offset
//! (possibly mid-segment). Checkpoint writes are serialized (path operations are
//! unordered).
//!
//! `segment.ms` counts from the first append's `now` (for a recovered active
//! segment: its first batch's max timestamp, as Kafka does).
//!
//! Limits: recovery chunks [`RECOVERY_CHUNK_BYTES`], reads [`READ_BYTES_MAX`],
//! a single batch [`BATCH_BYTES_MAX`] (larger length fields are corruption).
//!
//! [`sync`]: PartitionLog::sync

pub mod epoch_cache;
#[cfg(test)]
mod epoch_tests;
mod epochs;
mod index;
pub mod producer_state;
#[cfg(test)]
mod producer_tests;
mod read;
mod recovery;
mod replicated;
pub use replicated::ReplicaAppendError;
mod retention;
mod segment;
#[cfg(test)]
mod tests;
mod truncate;

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::io::{DiskOp, DiskRequest, DiskResult};
use crate::records::{stamp, BatchHeader};
use crate::records::{TimestampType, ValidBatch};
use crate::types::{FileId, IoId, LeaderEpoch, Millis, Offset};
use read::{chunk_next, ChunkNext};

/// Allocates io and file ids and queues disk requests for the driver, remembering
/// which owner (a partition, the topic store…) each request belongs to so that the
/// broker can route completions.
#[derive(Debug, Default)]
pub struct DiskQueue {
    next_io: u64,
    next_file: u64,
    /// Requests not yet handed to the driver.
    pub pending: VecDeque<DiskRequest>,
    /// Owner tag of every request in flight.
    pub owners: BTreeMap<IoId, u64>,
    /// Limit on requests in flight (`pending_disk_ops_max`); for accounting only,
    /// the broker decides what to defer.
    pub in_flight: usize,
}

impl DiskQueue {
    pub fn submit(&mut self, owner: u64, op: DiskOp) -> IoId {
        self.next_io += 1;
        let id = IoId(self.next_io);
        self.owners.insert(id, owner);
        self.pending.push_back(DiskRequest { id, op });
        self.in_flight += 1;
        id
    }

    pub fn new_file_id(&mut self) -> FileId {
        self.next_file += 1;
        FileId(self.next_file)
    }

    /// Route a completion: who owns it. Removes the entry.
    pub fn complete(&mut self, id: IoId) -> Option<u64> {
        let owner = self.owners.remove(&id)?;
        self.in_flight -= 1;
        Some(owner)
    }
}

/// A view of the queue for one owner.
pub struct IoScope<'a> {
    pub queue: &'a mut DiskQueue,
    pub owner: u64,
}

impl IoScope<'_> {
    pub fn submit(&mut self, op: DiskOp) -> IoId {
        self.queue.submit(self.owner, op)
    }
    pub fn new_file_id(&mut self) -> FileId {
        self.queue.new_file_id()
    }
}

/// Topic-level settings the log obeys (Kafka's names in comments).
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`
    pub segment_bytes: u64,
    /// `segment.ms`
    pub segment_ms: i64,
    /// `retention.ms` (-1: keep forever)
    pub retention_ms: i64,
    /// `retention.bytes` (-1: no limit)
    pub retention_bytes: i64,
    /// `index.interval.bytes`: bytes between sparse index entries.
    pub index_interval_bytes: u32,
    /// `message.timestamp.type`
    pub timestamp_type: TimestampType,
    /// Upper bound on decompressed bytes when a timestamp lookup must look inside a batch.
    pub max_decompressed_bytes: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            timestamp_type: TimestampType::CreateTime,
            max_decompressed_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogState {
    /// Recovering or creating; not yet serving.
    Loading,
    Ready,
    /// A disk operation failed (write, sync, read during recovery). Appends are
    /// refused with KAFKA_STORAGE_ERROR; nothing unsynced is reported durable.
    Failed(String),
    /// Removing its files (topic deletion); then `Deleted`.
    Deleting,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogError {
    /// Not `Ready` yet (or being deleted): LEADER_NOT_AVAILABLE / retriable.
    NotReady,
    /// Storage failed: KAFKA_STORAGE_ERROR.
    Storage(String),
    /// Offset outside [log start, log end]: OFFSET_OUT_OF_RANGE.
    OffsetOutOfRange,
    /// An idempotent batch from an older producer epoch: INVALID_PRODUCER_EPOCH.
    InvalidProducerEpoch(String),
    /// An idempotent batch out of sequence: OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrderSequence(String),
}

/// What an append assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: Offset,
    pub last_offset: Offset,
    /// The LogAppendTime stamped, or -1 with CreateTime.
    pub log_append_time: i64,
    /// The batches were a producer's retry of batches already in the log: nothing
    /// was appended and the offsets are the original ones.
    pub duplicate: bool,
}

/// Identifies an asynchronous read or lookup; its result comes as a [`LogEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadId(pub u64);

/// Something the broker must react to, returned from `on_disk_done`.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    /// Recovery or creation finished; the log serves now.
    Ready,
    /// The durable offset advanced to this value.
    Durable(Offset),
    /// A read finished: whole batches starting at or before the requested offset
    /// (the first batch may start earlier: clients skip what they did not ask for,
    /// as with Kafka), ending below the read's limit.
    ReadDone { read: ReadId, result: Result<Bytes, LogError> },
    /// A timestamp lookup finished: the first offset whose record timestamp is >=
    /// the target and that record's timestamp, or `None` if there is none below
    /// the limit.
    TimestampFound { read: ReadId, result: Result<Option<(Offset, i64)>, LogError> },
    /// The log start offset moved (retention or DeleteRecords), and is persisted.
    StartOffsetChanged(Offset),
    /// The log failed; the message says why.
    Failed(String),
    /// Every file of the log is gone (after `delete`).
    Deleted,
    /// Every file is synced and closed (after `close`).
    Closed,
}

/// Bytes read per recovery chunk.
pub const RECOVERY_CHUNK_BYTES: u32 = 8 << 20;
/// Largest single read a fetch issues (a batch larger than this is still read whole).
pub const READ_BYTES_MAX: u32 = 16 << 20;
/// Extra bytes read beyond `max_bytes` + index interval, to reach the wanted batch.
pub const READ_SLACK_BYTES: u32 = 16 << 10;
/// Bytes of recently appended batches kept in memory for tailing readers.
pub const TAIL_CACHE_BYTES_MAX: usize = 1 << 20;
/// Chunk size for timestamp lookup scans.
pub const LOOKUP_CHUNK_BYTES: u32 = 1 << 20;
/// Largest batch the log will read whole; a longer length field is corruption.
pub const BATCH_BYTES_MAX: u64 = 256 << 20;
/// Name of the start offset checkpoint file.
pub const START_OFFSET_FILE: &str = "log-start-offset";

/// What the log is waiting for, per io id.
#[derive(Debug)]
enum Pending {
    /// Creating a new log: directory and first segment.
    Create,
    /// A new segment file being opened (roll).
    OpenSegment,
    Write {
        base: Offset,
        end: u64,
    },
    Sync {
        base: Offset,
        pos: u64,
    },
    /// `.index` or `.timeindex` of a sealed segment.
    IndexWrite {
        base: Offset,
        size: u64,
    },
    /// The producer snapshot written with a sealed segment's indexes.
    SnapshotWrite {
        offset: Offset,
    },
    Checkpoint {
        start: Offset,
    },
    /// The leader-epoch checkpoint holding the cache at this version.
    EpochCheckpoint {
        version: u64,
    },
    Truncation(truncate::TruncPending),
    /// Zero-length read so queued events get delivered.
    Doorbell,
    Read(read::ReadOp),
    Lookup(read::LookupOp),
    Recovery(recovery::RecPending),
    /// Close/Remove of deleted segments, stray files: failures only logged.
    Housekeeping,
    /// Close/Remove during `close` or `delete`.
    Teardown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseStep {
    Syncing,
    Indexing,
    Closing,
    /// Close ops submitted; `Closed` when they complete.
    Done,
    Closed,
}

/// One partition's log. See the module docs.
///
/// Contract with the broker: every request the log submits through the
/// [`IoScope`] must come back through [`on_disk_done`](Self::on_disk_done)
/// (in any order across files; in issue order per file), with the same `now`
/// monotonic across all calls. Events are returned only from `on_disk_done`.
pub struct PartitionLog {
    dir: String,
    config: LogConfig,
    state: LogState,
    segments: BTreeMap<Offset, segment::Segment>,
    log_start: Offset,
    log_end: Offset,
    durable: Offset,
    pending: BTreeMap<IoId, Pending>,
    events: Vec<LogEvent>,
    next_read: u64,
    last_now: Millis,
    recovery: Option<recovery::Recovery>,
    checkpoint_in_flight: bool,
    checkpoint_dirty: bool,
    closing: Option<CloseStep>,
    /// Recovery read size ([`RECOVERY_CHUNK_BYTES`]; smaller in tests).
    recovery_chunk_bytes: u32,
    /// Recently appended batches, served to tailing readers without the disk.
    tail_cache: read::TailCache,
    /// Idempotent producers' sequence state (see [`producer_state`]).
    producers: producer_state::ProducerState,
    /// Which leader epoch began where (see [`epoch_cache`]).
    epochs: epoch_cache::LeaderEpochCache,
    /// Bumped on every change of `epochs`; the version last written to the
    /// checkpoint; whether a checkpoint write is in flight.
    epochs_version: u64,
    epochs_written: u64,
    epochs_write_in_flight: bool,
    /// The offset below which records are committed (the high watermark the
    /// broker reports); truncation never goes below it.
    committed: Offset,
    /// A `truncate_to` in progress (appends and reads wait for its end).
    truncation: Option<truncate::Truncation>,
    /// Recovery found no segment at all, or the [`INCOMPLETE_MARKER`] file.
    opened_incomplete: bool,
}

/// A file a replica leaves in its log directory while the log lacks records that the
/// replica once held (see `broker::replication`). Recovery ignores it apart from
/// reporting it through [`PartitionLog::opened_incomplete`].
pub const INCOMPLETE_MARKER: &str = "replica-incomplete";

impl PartitionLog {
    fn blank(dir: &str, config: LogConfig, now: Millis) -> PartitionLog {
        assert!(!dir.is_empty() && !dir.ends_with('/'), "log dir must be a relative path without trailing slash: {dir:?}");
        PartitionLog {
            dir: dir.to_string(),
            config,
            state: LogState::Loading,
            segments: BTreeMap::new(),
            log_start: Offset(0),
            log_end: Offset(0),
            durable: Offset(0),
            pending: BTreeMap::new(),
            events: Vec::new(),
            next_read: 0,
            last_now: now,
            recovery: None,
            checkpoint_in_flight: false,
            checkpoint_dirty: false,
            closing: None,
            recovery_chunk_bytes: RECOVERY_CHUNK_BYTES,
            tail_cache: read::TailCache::new(TAIL_CACHE_BYTES_MAX),
            producers: producer_state::ProducerState::default(),
            epochs: epoch_cache::LeaderEpochCache::default(),
            epochs_version: 0,
            epochs_written: 0,
            epochs_write_in_flight: false,
            committed: Offset(0),
            truncation: None,
            opened_incomplete: false,
        }
    }

    /// A new, empty log in `dir` (relative to the data dir): creates the directory
    /// and the first segment. `Ready` arrives as an event.
    pub fn create(dir: &str, config: LogConfig, now: Millis, io: &mut IoScope) -> PartitionLog {
        let mut log = PartitionLog::blank(dir, config, now);
        let id = io.submit(DiskOp::CreateDir { path: log.dir.clone() });
        log.pending.insert(id, Pending::Create);
        let file = io.new_file_id();
        let id = io.submit(DiskOp::Open { file, path: log.path(&segment::file_name(Offset(0), "log")), create: true });
        log.pending.insert(id, Pending::Create);
        log.segments.insert(Offset(0), segment::Segment::new_empty(Offset(0), file));
        log
    }

    /// Recover an existing log directory: list it, load sealed segments' indexes,
    /// re-validate the active segment (and any segment without a valid index),
    /// truncate a torn or corrupt tail. `Ready` arrives as an event.
    pub fn open(dir: &str, config: LogConfig, now: Millis, io: &mut IoScope) -> PartitionLog {
        let mut log = PartitionLog::blank(dir, config, now);
        log.start_recovery(io);
        log
    }

    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// Whether [`open`](Self::open) found the directory without a single segment (it
    /// was lost or replaced: a log that ever existed keeps its active segment) or with
    /// the [`INCOMPLETE_MARKER`]. Always false for a log made by
    /// [`create`](Self::create). Meaningful once the log is ready.
    pub fn opened_incomplete(&self) -> bool {
        self.opened_incomplete
    }

    /// The path of this log's [`INCOMPLETE_MARKER`] file.
    pub fn incomplete_marker_path(&self) -> String {
        self.path(INCOMPLETE_MARKER)
    }

    /// Feed a completion of a request this log submitted.
    pub fn on_disk_done(&mut self, id: IoId, result: DiskResult, now: Millis, io: &mut IoScope) -> Vec<LogEvent> {
        self.observe_now(now);
        let pending = self.pending.remove(&id).unwrap_or_else(|| panic!("completion {id:?} for a request this log did not submit"));
        self.dispatch(pending, result, io);
        self.after_io(io);
        std::mem::take(&mut self.events)
    }

    fn dispatch(&mut self, pending: Pending, result: DiskResult, io: &mut IoScope) {
        let tearing_down = matches!(self.state, LogState::Deleting | LogState::Deleted);
        match pending {
            Pending::Read(op) => self.on_read_done(op, result, io),
            Pending::Lookup(op) => self.on_lookup_done(op, result, io),
            Pending::Recovery(rp) => {
                if !tearing_down {
                    self.on_recovery_done(rp, result, io)
                }
            }
            Pending::Create
            | Pending::OpenSegment
            | Pending::Write { .. }
            | Pending::Sync { .. }
            | Pending::Checkpoint { .. }
            | Pending::EpochCheckpoint { .. }
            | Pending::Truncation(_)
                if tearing_down => {}
            Pending::Create | Pending::OpenSegment => match result {
                DiskResult::Failed(msg) => self.fail(format!("creating a segment: {msg}")),
                // A new segment file must be empty: stale bytes past our writes would
                // be taken for a torn tail (or worse) by the next recovery.
                DiskResult::Opened { len } if len > 0 => self.fail(format!("new segment file already holds {len} bytes")),
                _ => {}
            },
            Pending::Write { base, end } => match result {
                DiskResult::Failed(msg) => self.fail(format!("write to segment {base}: {msg}")),
                _ => {
                    if let Some(seg) = self.segments.get_mut(&base) {
                        assert!(end <= seg.size, "completed write past the submitted end");
                        seg.write_done_end = seg.write_done_end.max(end);
                    }
                }
            },
            Pending::Sync { base, pos } => match result {
                DiskResult::Failed(msg) => self.fail(format!("sync of segment {base}: {msg}")),
                _ => {
                    if let Some(seg) = self.segments.get_mut(&base) {
                        assert!(pos <= seg.sync_issued_end, "completed sync past the issued end");
                        seg.sync_done_end = seg.sync_done_end.max(pos);
                    }
                }
            },
            Pending::IndexWrite { base, size } => {
                if let DiskResult::Failed(msg) = result {
                    tracing::warn!(dir = %self.dir, %base, %msg, "writing segment index failed; it will be rebuilt on recovery");
                } else if let Some(seg) = self.segments.get_mut(&base) {
                    if seg.size == size && seg.index_files == segment::IndexFiles::Writing {
                        let other_in_flight = self.pending.values().any(|p| matches!(p, Pending::IndexWrite { base: b, .. } if *b == base));
                        if !other_in_flight {
                            seg.index_files = segment::IndexFiles::Written;
                        }
                    }
                }
            }
            Pending::SnapshotWrite { offset } => {
                if let DiskResult::Failed(msg) = result {
                    tracing::warn!(dir = %self.dir, %offset, %msg, "writing the producer snapshot failed; recovery will scan instead");
                }
            }
            Pending::Checkpoint { start } => self.on_checkpoint_done(start, result, io),
            Pending::EpochCheckpoint { version } => self.on_epoch_checkpoint_done(version, result, io),
            Pending::Truncation(tp) => self.on_truncation_done(tp, result, io),
            Pending::Doorbell => {}
            Pending::Housekeeping => {
                if let DiskResult::Failed(msg) = result {
                    tracing::warn!(dir = %self.dir, %msg, "log housekeeping operation failed");
                }
            }
            Pending::Teardown => {
                if let DiskResult::Failed(msg) = result {
                    tracing::warn!(dir = %self.dir, %msg, "closing or removing log files failed");
                }
            }
        }
    }

    /// Work that follows any completion: durability, index writes, close/delete
    /// progress, readiness.
    fn after_io(&mut self, io: &mut IoScope) {
        if self.state == LogState::Ready {
            self.recompute_durable();
            self.write_sealed_indexes(io);
        }
        self.drive_close(io);
        if self.state == LogState::Deleting && self.pending.is_empty() {
            self.state = LogState::Deleted;
            self.events.push(LogEvent::Deleted);
        }
        if self.state == LogState::Loading && self.recovery_finished() && self.pending.is_empty() {
            self.become_ready();
        }
    }

    fn become_ready(&mut self) {
        assert!(!self.segments.is_empty(), "a ready log has an active segment");
        let last = self.active();
        assert_eq!(last.next_offset, self.log_end, "log end is the active segment's end");
        assert!(self.log_start <= self.log_end, "start offset {} past end {}", self.log_start, self.log_end);
        for seg in self.segments.values_mut() {
            seg.mark_all_durable();
        }
        self.durable = self.log_end;
        self.recovery = None;
        self.state = LogState::Ready;
        self.events.push(LogEvent::Ready);
        self.check_invariants();
    }

    fn fail(&mut self, msg: String) {
        if matches!(self.state, LogState::Failed(_) | LogState::Deleting | LogState::Deleted) {
            return;
        }
        tracing::error!(dir = %self.dir, %msg, "partition log failed");
        self.state = LogState::Failed(msg.clone());
        self.events.push(LogEvent::Failed(msg));
    }

    fn observe_now(&mut self, now: Millis) {
        assert!(now >= self.last_now, "time went backwards: {now:?} after {:?}", self.last_now);
        self.last_now = now;
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{}", self.dir, name)
    }

    fn active(&self) -> &segment::Segment {
        self.segments.values().next_back().expect("log has an active segment")
    }

    fn active_mut(&mut self) -> &mut segment::Segment {
        self.segments.values_mut().next_back().expect("log has an active segment")
    }

    fn next_read_id(&mut self) -> ReadId {
        self.next_read += 1;
        ReadId(self.next_read)
    }

    /// Queue an event and make sure an `on_disk_done` call will come to deliver it.
    fn deliver_soon(&mut self, event: LogEvent, io: &mut IoScope) {
        self.events.push(event);
        let file = self.active().file;
        let id = io.submit(DiskOp::Read { file, pos: 0, len: 0 });
        self.pending.insert(id, Pending::Doorbell);
    }

    fn check_serving(&self) -> Result<(), LogError> {
        match &self.state {
            LogState::Ready if self.closing.is_none() && self.truncation.is_none() => Ok(()),
            LogState::Failed(msg) => Err(LogError::Storage(msg.clone())),
            _ => Err(LogError::NotReady),
        }
    }

    fn check_invariants(&self) {
        assert!(self.log_start <= self.log_end, "log start {} > log end {}", self.log_start, self.log_end);
        assert!(self.durable <= self.log_end, "durable {} > log end {}", self.durable, self.log_end);
        let mut prev: Option<&segment::Segment> = None;
        for seg in self.segments.values() {
            if let Some(p) = prev {
                assert_eq!(p.next_offset, seg.base, "segments are contiguous");
                assert!(p.sealed, "only the last segment is active");
            }
            prev = Some(seg);
        }
    }

    fn recompute_durable(&mut self) {
        let mut durable = self.log_end;
        for seg in self.segments.values_mut() {
            seg.advance_durable();
            if !seg.unsynced.is_empty() {
                durable = seg.durable_next;
                break;
            }
        }
        assert!(durable >= self.durable, "durable offset went backwards: {durable} < {}", self.durable);
        assert!(durable <= self.log_end, "durable offset {durable} past log end {}", self.log_end);
        if durable > self.durable {
            self.durable = durable;
            self.events.push(LogEvent::Durable(durable));
        }
    }

    /// Write `.index`/`.timeindex` of sealed segments whose data is all synced.
    fn write_sealed_indexes(&mut self, io: &mut IoScope) {
        // A segment with index files is not rescanned on recovery, so its
        // epochs must be in the checkpoint on disk first.
        if !self.epochs_on_disk() {
            return;
        }
        let ready: Vec<Offset> = self
            .segments
            .values()
            .filter(|s| s.sealed && s.index_files == segment::IndexFiles::Missing && s.fully_durable())
            .map(|s| s.base)
            .collect();
        for base in ready {
            self.submit_index_write(base, io);
        }
    }

    fn submit_index_write(&mut self, base: Offset, io: &mut IoScope) {
        let seg = self.segments.get_mut(&base).expect("segment exists");
        assert!(seg.fully_durable(), "indexes are written only for synced data");
        seg.index_files = segment::IndexFiles::Writing;
        let size = seg.size;
        let index = index::encode_index(&seg.summary(), &seg.index);
        let time_index = index::encode_time_index(seg.base, seg.size, &seg.time_index);
        let id = io.submit(DiskOp::ReplaceFile { path: self.path(&segment::file_name(base, "index")), data: index });
        self.pending.insert(id, Pending::IndexWrite { base, size });
        let id = io.submit(DiskOp::ReplaceFile { path: self.path(&segment::file_name(base, "timeindex")), data: time_index });
        self.pending.insert(id, Pending::IndexWrite { base, size });
        // Written only now that the data it summarises is durable: a snapshot
        // never describes batches a crash could lose.
        if let Some((offset, data)) = self.segments.get_mut(&base).expect("segment exists").snapshot.take() {
            let id = io.submit(DiskOp::ReplaceFile { path: self.path(&segment::file_name(offset, "snapshot")), data });
            self.pending.insert(id, Pending::SnapshotWrite { offset });
        }
    }

    /// Append validated batches: assign offsets from the log end offset, stamp
    /// them (leader epoch; LogAppendTime if configured), roll the segment first if
    /// this append would pass `segment.bytes` or the segment is older than
    /// `segment.ms`, and submit the writes. Not durable until a later `sync`
    /// completes.
    pub fn append(
        &mut self,
        batches: &[ValidBatch],
        leader_epoch: LeaderEpoch,
        now: Millis,
        io: &mut IoScope,
    ) -> Result<AppendResult, LogError> {
        self.observe_now(now);
        self.check_serving()?;
        let log_append_time = match self.config.timestamp_type {
            TimestampType::LogAppendTime => Some(now.0),
            TimestampType::CreateTime => None,
        };
        // Idempotence first: a fenced or out-of-order batch is refused and a retry
        // answered with its original offsets, before anything is written.
        match self.producers.check(batches.iter().map(|b| &b.header)) {
            Ok(producer_state::Verdict::Append) => {}
            Ok(producer_state::Verdict::Duplicate(m)) => {
                let log_append_time = if log_append_time.is_some() { m.max_timestamp } else { -1 };
                return Ok(AppendResult { base_offset: m.first_offset, last_offset: m.last_offset, log_append_time, duplicate: true });
            }
            Err(producer_state::SeqError::InvalidEpoch(why)) => return Err(LogError::InvalidProducerEpoch(why)),
            Err(producer_state::SeqError::OutOfOrder(why)) => return Err(LogError::OutOfOrderSequence(why)),
        }
        let base_offset = self.log_end;
        let mut next = base_offset;
        let mut stamped = Vec::with_capacity(batches.len());
        let mut total: u64 = 0;
        for batch in batches {
            let bytes = stamp(batch, next, leader_epoch, log_append_time);
            let header = BatchHeader::parse(&bytes).expect("a stamped batch parses");
            assert_eq!(Offset(header.base_offset), next, "stamp set the base offset");
            assert_eq!(header.total_len(), bytes.len(), "stamped batch length matches its header");
            assert!(header.last_offset_delta >= 0, "validated batches have a non-negative offset delta");
            next = header.next_offset();
            total += bytes.len() as u64;
            stamped.push((bytes, header));
        }
        if stamped.is_empty() {
            return Ok(AppendResult {
                base_offset,
                last_offset: Offset(base_offset.0 - 1),
                log_append_time: log_append_time.unwrap_or(-1),
                duplicate: false,
            });
        }
        self.write_stamped(stamped, total, leader_epoch, now, io)?;
        assert_eq!(self.log_end, next, "the log ends after the appended batches");
        Ok(AppendResult { base_offset, last_offset: Offset(next.0 - 1), log_append_time: log_append_time.unwrap_or(-1), duplicate: false })
    }

    /// Writes batches already stamped at the log end, all of `leader_epoch` (a new
    /// epoch is recorded first; a lower one is refused): rolls the segment if due,
    /// updates the producer state, indexes and tail cache, and submits one write.
    /// Shared by the leader's [`append`](Self::append) and a follower's
    /// [`append_replicated`](Self::append_replicated).
    pub(super) fn write_stamped(
        &mut self,
        mut stamped: Vec<(Bytes, BatchHeader)>,
        total: u64,
        leader_epoch: LeaderEpoch,
        now: Millis,
        io: &mut IoScope,
    ) -> Result<(), LogError> {
        let (Some((_, first)), Some((_, last))) = (stamped.first(), stamped.last()) else { return Ok(()) };
        let base_offset = Offset(first.base_offset);
        let next = last.next_offset();
        assert_eq!(base_offset, self.log_end, "stamped batches start at the log end");
        // One comparison per append: a new epoch is rare.
        if self.epochs.latest_epoch() != Some(leader_epoch) {
            self.begin_epoch(leader_epoch, base_offset, io)?;
        }
        if self.should_roll(Offset(next.0 - 1), total, now) {
            self.roll(io);
        }
        // After the roll: its snapshot is the state before these batches.
        for (_, header) in &stamped {
            self.producers.apply(header);
        }
        let interval = self.config.index_interval_bytes;
        let seg = self.active_mut();
        let start = seg.size;
        seg.rolling_base_ms.get_or_insert(now.0);
        for (bytes, header) in &stamped {
            let pos = seg.size;
            seg.note_batch(pos, header, interval);
            let _ = bytes;
        }
        let end = seg.size;
        assert_eq!(end - start, total, "segment grew by the appended bytes");
        seg.unsynced.push_back((end, next));
        let file = seg.file;
        let base = seg.base;
        for (bytes, header) in &stamped {
            self.tail_cache.push(bytes.clone(), header);
        }
        let data = if stamped.len() == 1 {
            stamped.pop().expect("one batch").0
        } else {
            let mut buf = bytes::BytesMut::with_capacity(total as usize);
            for (b, _) in &stamped {
                buf.extend_from_slice(b);
            }
            buf.freeze()
        };
        let id = io.submit(DiskOp::Write { file, pos: start, data });
        self.pending.insert(id, Pending::Write { base, end });
        assert!(next > self.log_end, "log end offset grows");
        self.log_end = next;
        Ok(())
    }

    fn should_roll(&self, last: Offset, len: u64, now: Millis) -> bool {
        let seg = self.active();
        if seg.is_empty() {
            return false;
        }
        let too_big = seg.size + len > self.config.segment_bytes;
        let too_old = seg.rolling_base_ms.is_some_and(|t| now.0.saturating_sub(t) >= self.config.segment_ms);
        too_big || too_old || !seg.fits(last, len)
    }

    /// Seal the active segment (syncing its tail now) and start a new one at the log end.
    fn roll(&mut self, io: &mut IoScope) {
        let base = self.log_end;
        let snapshot = self.producers.encode(base);
        let old = self.active_mut();
        assert!(!old.is_empty(), "never roll an empty segment");
        assert_eq!(old.next_offset, base, "the active segment ends at the log end");
        old.sealed = true;
        old.snapshot = Some((base, snapshot));
        if old.needs_sync() {
            let (file, old_base, pos) = (old.file, old.base, old.size);
            old.sync_issued_end = pos;
            let id = io.submit(DiskOp::Sync { file });
            self.pending.insert(id, Pending::Sync { base: old_base, pos });
        }
        let file = io.new_file_id();
        let id = io.submit(DiskOp::Open { file, path: self.path(&segment::file_name(base, "log")), create: true });
        self.pending.insert(id, Pending::OpenSegment);
        self.segments.insert(base, segment::Segment::new_empty(base, file));
        // A fully synced old segment gets its indexes now; otherwise after its sync.
        self.write_sealed_indexes(io);
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start
    }

    pub fn log_end_offset(&self) -> Offset {
        self.log_end
    }

    /// Every batch below this offset is synced.
    pub fn durable_offset(&self) -> Offset {
        self.durable
    }

    /// Every batch below this offset has been written (its write completed), synced
    /// or not. `acks=1` is answered against it.
    pub fn written_offset(&self) -> Offset {
        for seg in self.segments.values() {
            if seg.write_done_end >= seg.size {
                continue;
            }
            // Appends are queued in position order; those ending at or before the
            // completed end are written (binary search: the queue can hold every
            // append since the last sync). Anything before the queue was durable.
            let done = seg.unsynced.partition_point(|&(end, _)| end <= seg.write_done_end);
            return if done == 0 { seg.durable_next } else { seg.unsynced[done - 1].1 };
        }
        self.log_end
    }

    /// Whether some written bytes are not yet covered by a sync (issued or done).
    pub fn needs_sync(&self) -> bool {
        self.segments.values().any(|s| s.needs_sync())
    }

    /// Whether a sync is in flight.
    pub fn sync_in_flight(&self) -> bool {
        self.pending.values().any(|p| matches!(p, Pending::Sync { .. }))
    }

    /// Sync every file with unsynced writes (group commit: the broker calls this
    /// once for all the appends waiting). Completion emits `Durable`.
    pub fn sync(&mut self, io: &mut IoScope) {
        let files_open = matches!(self.closing, None | Some(CloseStep::Syncing));
        if self.state != LogState::Ready || !files_open {
            return;
        }
        let mut syncs = Vec::new();
        for seg in self.segments.values_mut() {
            if seg.needs_sync() {
                seg.sync_issued_end = seg.size;
                syncs.push((seg.file, seg.base, seg.size));
            }
        }
        for (file, base, pos) in syncs {
            let id = io.submit(DiskOp::Sync { file });
            self.pending.insert(id, Pending::Sync { base, pos });
        }
    }

    /// Change the topic config (AlterConfigs); takes effect for later appends and
    /// retention passes.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// Delete the whole log (DeleteTopics): close files, remove the directory;
    /// `Deleted` follows.
    pub fn delete(&mut self, io: &mut IoScope) {
        if matches!(self.state, LogState::Deleting | LogState::Deleted) {
            return;
        }
        self.state = LogState::Deleting;
        self.closing = None;
        self.recovery = None;
        let files: Vec<FileId> = self.segments.values().map(|s| s.file).collect();
        for file in files {
            let id = io.submit(DiskOp::Close { file });
            self.pending.insert(id, Pending::Teardown);
        }
        self.segments.clear();
        let id = io.submit(DiskOp::Remove { path: self.dir.clone() });
        self.pending.insert(id, Pending::Teardown);
    }

    /// Shutdown: sync everything, write the active segment's indexes, close
    /// files; `Closed` follows.
    pub fn close(&mut self, io: &mut IoScope) {
        if self.closing.is_some() || matches!(self.state, LogState::Deleting | LogState::Deleted) {
            return;
        }
        self.closing = Some(CloseStep::Syncing);
        self.drive_close(io);
    }

    fn drive_close(&mut self, io: &mut IoScope) {
        loop {
            let Some(step) = self.closing else { return };
            let healthy = self.state == LogState::Ready;
            match step {
                CloseStep::Syncing if healthy => {
                    if self.pending.values().any(|p| matches!(p, Pending::Write { .. } | Pending::Sync { .. })) {
                        return;
                    }
                    if self.needs_sync() {
                        self.sync(io);
                        return;
                    }
                    self.recompute_durable();
                    self.closing = Some(CloseStep::Indexing);
                }
                CloseStep::Indexing if healthy => {
                    if !self.epochs_on_disk() {
                        return;
                    }
                    if self.active().index_files == segment::IndexFiles::Missing && self.active().fully_durable() {
                        let base = self.active().base;
                        self.submit_index_write(base, io);
                    }
                    if self.pending.values().any(|p| matches!(p, Pending::IndexWrite { .. })) {
                        return;
                    }
                    self.closing = Some(CloseStep::Closing);
                }
                CloseStep::Syncing | CloseStep::Indexing => self.closing = Some(CloseStep::Closing),
                CloseStep::Closing => {
                    if !self.pending.is_empty() {
                        return;
                    }
                    let files: Vec<FileId> = self.segments.values().map(|s| s.file).collect();
                    for file in files {
                        let id = io.submit(DiskOp::Close { file });
                        self.pending.insert(id, Pending::Teardown);
                    }
                    self.closing = Some(CloseStep::Done);
                    return;
                }
                CloseStep::Done => {
                    if self.pending.is_empty() {
                        self.events.push(LogEvent::Closed);
                        self.closing = Some(CloseStep::Closed);
                    }
                    return;
                }
                CloseStep::Closed => return,
            }
        }
    }

    /// Forget idempotent producers idle for `expiration_ms` (by their last
    /// batch's timestamp, as Kafka); called on the retention timer.
    pub fn expire_producers(&mut self, now: Millis, expiration_ms: i64) {
        let dropped = self.producers.expire(now.0, expiration_ms);
        if dropped > 0 {
            tracing::debug!(dir = %self.dir, dropped, "expired idle producer ids");
        }
    }

    /// The idempotent producers' state.
    pub fn producers(&self) -> &producer_state::ProducerState {
        &self.producers
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size).sum()
    }
}
