//! The partition log: segment files of record batches with a sparse offset index
//! and a time index, rolled by size and age, trimmed by retention and by
//! DeleteRecords, recovered on start. Sans-IO: every file operation is a
//! [`DiskOp`](crate::io::DiskOp) submitted through an [`IoScope`], and its
//! completion comes back through [`PartitionLog::on_disk_done`].
//!
//! On disk, per partition directory (e.g. `orders-0/`), as Kafka names them:
//! `00000000000000000000.log` (batches as stored), `.index` and `.timeindex`
//! files for sealed segments, and `log-start-offset` (a checkpoint).
//!
//! Durability: the log tracks, per segment file, the end of what was submitted,
//! written and synced. [`PartitionLog::durable_offset`] is the offset below which
//! every batch is synced; the broker uses it as the high watermark, so consumers
//! never see a record a crash could take back.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::io::{DiskOp, DiskRequest, DiskResult};
use crate::records::{TimestampType, ValidBatch};
use crate::types::{FileId, IoId, LeaderEpoch, Millis, Offset};

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
}

/// What an append assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: Offset,
    pub last_offset: Offset,
    /// The LogAppendTime stamped, or -1 with CreateTime.
    pub log_append_time: i64,
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

/// One partition's log. See the module docs.
pub struct PartitionLog {
    _private: (),
}

impl PartitionLog {
    /// A new, empty log in `dir` (relative to the data dir): creates the directory
    /// and the first segment. `Ready` arrives as an event.
    pub fn create(dir: &str, config: LogConfig, now: Millis, io: &mut IoScope) -> PartitionLog {
        let _ = (dir, config, now, io);
        todo!()
    }

    /// Recover an existing log directory: list it, load sealed segments' indexes,
    /// re-validate the active segment (and any segment without a valid index),
    /// truncate a torn or corrupt tail. `Ready` arrives as an event.
    pub fn open(dir: &str, config: LogConfig, now: Millis, io: &mut IoScope) -> PartitionLog {
        let _ = (dir, config, now, io);
        todo!()
    }

    pub fn state(&self) -> &LogState {
        todo!()
    }

    /// Feed a completion of a request this log submitted.
    pub fn on_disk_done(&mut self, id: IoId, result: DiskResult, now: Millis, io: &mut IoScope) -> Vec<LogEvent> {
        let _ = (id, result, now, io);
        todo!()
    }

    /// Append validated batches: assign offsets from the log end offset, stamp
    /// them (leader epoch; LogAppendTime if configured), roll the segment first if
    /// this append would pass `segment.bytes` or the segment is older than
    /// `segment.ms`, and submit the writes. Not durable until a later `sync`
    /// completes.
    pub fn append(&mut self, batches: &[ValidBatch], leader_epoch: LeaderEpoch, now: Millis, io: &mut IoScope) -> Result<AppendResult, LogError> {
        let _ = (batches, leader_epoch, now, io);
        todo!()
    }

    pub fn log_start_offset(&self) -> Offset {
        todo!()
    }

    pub fn log_end_offset(&self) -> Offset {
        todo!()
    }

    /// Every batch below this offset is synced.
    pub fn durable_offset(&self) -> Offset {
        todo!()
    }

    /// Whether some written bytes are not yet covered by a sync (issued or done).
    pub fn needs_sync(&self) -> bool {
        todo!()
    }

    /// Whether a sync is in flight.
    pub fn sync_in_flight(&self) -> bool {
        todo!()
    }

    /// Sync every file with unsynced writes (group commit: the broker calls this
    /// once for all the appends waiting). Completion emits `Durable`.
    pub fn sync(&mut self, io: &mut IoScope) {
        let _ = io;
        todo!()
    }

    /// Read whole batches starting with the one containing `offset`, up to
    /// `max_bytes` (but always the first batch whole, as Kafka does so a consumer
    /// can make progress), only batches that end at or below `limit`. An empty
    /// result for `offset == limit`. `offset` outside [start, end] is
    /// `OffsetOutOfRange`. The result comes as `ReadDone` (possibly from a cache
    /// without touching the disk, but still as an event).
    pub fn read(&mut self, offset: Offset, max_bytes: u32, limit: Offset, io: &mut IoScope) -> Result<ReadId, LogError> {
        let _ = (offset, max_bytes, limit, io);
        todo!()
    }

    /// Find the first record with timestamp >= `target` below `limit`; result as
    /// `TimestampFound`.
    pub fn find_offset_by_timestamp(&mut self, target: i64, limit: Offset, io: &mut IoScope) -> Result<ReadId, LogError> {
        let _ = (target, limit, io);
        todo!()
    }

    /// The record with the largest timestamp below `limit` (ListOffsets -3); result as
    /// `TimestampFound` (`None` when the log is empty).
    pub fn find_max_timestamp(&mut self, limit: Offset, io: &mut IoScope) -> Result<ReadId, LogError> {
        let _ = (limit, io);
        todo!()
    }

    /// DeleteRecords: move the log start offset up to `offset` (≤ `limit`, the
    /// high watermark), delete whole segments below it, persist it.
    /// `StartOffsetChanged` follows once the checkpoint is durable.
    pub fn delete_records_before(&mut self, offset: Offset, io: &mut IoScope) -> Result<(), LogError> {
        let _ = (offset, io);
        todo!()
    }

    /// Apply `retention.ms` and `retention.bytes`: delete whole sealed segments
    /// (never the active one) that are too old or over the size limit, and roll an
    /// active segment older than `segment.ms` that has data. Called periodically.
    pub fn enforce_retention(&mut self, now: Millis, io: &mut IoScope) {
        let _ = (now, io);
        todo!()
    }

    /// Change the topic config (AlterConfigs); takes effect for later appends and
    /// retention passes.
    pub fn set_config(&mut self, config: LogConfig) {
        let _ = config;
        todo!()
    }

    /// Delete the whole log (DeleteTopics): close files, remove the directory;
    /// `Deleted` follows.
    pub fn delete(&mut self, io: &mut IoScope) {
        let _ = io;
        todo!()
    }

    /// Shutdown: sync everything, write the active segment's indexes, close
    /// files; `Closed` follows.
    pub fn close(&mut self, io: &mut IoScope) {
        let _ = io;
        todo!()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        todo!()
    }
}
