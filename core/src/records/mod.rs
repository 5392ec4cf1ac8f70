//! Kafka record batches (magic 2): validation, offset and timestamp stamping,
//! scanning stored bytes, and bounded decompression.
//!
//! A batch is stored exactly as the producer sent it, except for the fields the
//! broker owns: the base offset and partition leader epoch (outside the CRC), and
//! with `message.timestamp.type=LogAppendTime` the timestamp-type attribute bit and
//! the max timestamp (inside the CRC, which is then recomputed).
//!
//! Layout of the batch header (61 bytes, big-endian):
//! baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 | crc u32 |
//! attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 | maxTimestamp i64 |
//! producerId i64 | producerEpoch i16 | baseSequence i32 | recordsCount i32.
//! The CRC-32C covers everything from `attributes` to the end of the batch.

use bytes::Bytes;

use crate::protocol::error_code;

mod body;
mod builder;
mod compression;
mod header;
mod query;
mod record;
mod scan;
mod stamp;
mod validate;
mod varint;

#[cfg(test)]
mod fuzz_tests;

use crate::types::{LeaderEpoch, Offset};
pub use header::{BATCH_LENGTH_MIN, MAGIC_V2};

/// Length of a magic-2 batch header.
pub const BATCH_HEADER_LEN: usize = 61;
/// Offset of `batchLength`'s end: `baseOffset` + `batchLength` (the "log overhead").
pub const LOG_OVERHEAD: usize = 12;

/// `attributes` bits 0-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The parsed header of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after the `batchLength` field (so the whole batch is `LOG_OVERHEAD + batch_length`).
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Parse the header at the start of `bytes` (no CRC check). Fails (Corrupt) if
    /// fewer than `BATCH_HEADER_LEN` bytes are present, the magic is not 2, or
    /// `batchLength` is below `BATCH_LENGTH_MIN` (so `total_len() >= BATCH_HEADER_LEN`).
    /// It does not check that the whole batch is present.
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        header::parse(bytes)
    }
    /// Total size of the batch on the wire and on disk.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }
    /// Offsets wrap rather than panic on a hostile header; a parsed, validated batch never wraps.
    pub fn last_offset(&self) -> Offset {
        Offset(self.base_offset.wrapping_add(self.last_offset_delta as i64))
    }
    pub fn next_offset(&self) -> Offset {
        Offset(self.base_offset.wrapping_add(self.last_offset_delta as i64).wrapping_add(1))
    }
    /// Codec from attribute bits 0-2; ids 5-7 are `UnsupportedCompression`.
    pub fn compression(&self) -> Result<Compression, BatchError> {
        header::compression(self.attributes)
    }
    /// Attribute bit 3.
    pub fn timestamp_type(&self) -> TimestampType {
        header::timestamp_type(self.attributes)
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// Why a batch was refused; each maps to the Kafka error code a producer expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Bad CRC, bad lengths, truncated bytes, wrong magic: CORRUPT_MESSAGE.
    Corrupt(String),
    /// Structurally sound but not acceptable (offset deltas, record count, control
    /// batch from a client…): INVALID_RECORD.
    InvalidRecord(String),
    /// A batch larger than `max.message.bytes`: MESSAGE_TOO_LARGE.
    TooLarge { size: usize, max: usize },
    /// Compression codec id 5-7: UNSUPPORTED_COMPRESSION_TYPE.
    UnsupportedCompression(i16),
    /// A timestamp outside the topic's allowed window: INVALID_TIMESTAMP.
    InvalidTimestamp(String),
}

impl BatchError {
    pub fn error_code(&self) -> i16 {
        match self {
            BatchError::Corrupt(_) => error_code::CORRUPT_MESSAGE,
            BatchError::InvalidRecord(_) => error_code::INVALID_RECORD,
            BatchError::TooLarge { .. } => error_code::MESSAGE_TOO_LARGE,
            BatchError::UnsupportedCompression(_) => error_code::UNSUPPORTED_COMPRESSION_TYPE,
            BatchError::InvalidTimestamp(_) => error_code::INVALID_TIMESTAMP,
        }
    }
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Limits and policies applied when a producer's batches are validated.
#[derive(Debug, Clone, Copy)]
pub struct ValidationLimits {
    /// `max.message.bytes`: the largest batch accepted (whole batch, header included).
    pub max_batch_bytes: usize,
    /// Upper bound on decompressed bytes of one batch (decompression is bounded).
    pub max_decompressed_bytes: usize,
    /// Current wall-clock time in ms, for the timestamp window checks.
    pub now_ms: i64,
    /// `message.timestamp.before.max.ms` and `message.timestamp.after.max.ms`
    /// (CreateTime only; i64::MAX disables).
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    pub timestamp_type: TimestampType,
}

/// One validated batch inside a produce request's record set.
#[derive(Debug, Clone)]
pub struct ValidBatch {
    /// The batch bytes exactly as received (a slice of the request).
    pub bytes: Bytes,
    pub header: BatchHeader,
}

/// Validate the `records` field of one partition in a Produce request: one or
/// more complete magic-2 batches, nothing trailing, each with a correct CRC-32C,
/// consistent lengths, `records_count` equal to the records present (decompressing
/// with a bound where compressed), offset deltas 0..n-1, `last_offset_delta ==
/// count-1`, not a control batch, size within limits, timestamps within the window.
///
/// As in Kafka (produce v3+), exactly one batch per partition is accepted: a second
/// complete batch is INVALID_RECORD, an empty record set is INVALID_RECORD, magic
/// 0/1 is INVALID_RECORD and a base offset other than 0 is INVALID_RECORD. The
/// returned bytes are as received, except that on a CreateTime topic a wrong
/// `maxTimestamp` is corrected (CRC recomputed) as Kafka's LogValidator does.
/// See `validate.rs` for the exact order of checks.
pub fn validate_produce(records: &Bytes, limits: &ValidationLimits) -> Result<Vec<ValidBatch>, BatchError> {
    validate::validate_produce(records, limits)
}

/// Prepare a validated batch for append, in a fresh buffer: set `baseOffset` and
/// `partitionLeaderEpoch`; with `log_append_time = Some(t)` set the timestamp-type
/// bit, set `maxTimestamp` to `t` (Kafka also leaves `baseTimestamp`... see Kafka's
/// LogValidator) and recompute the CRC.
///
/// Kafka (LogValidator, magic 2, in place, compressed or not) changes only
/// `maxTimestamp` and the timestamp-type bit for LogAppendTime; `baseTimestamp`
/// and the records stay, and readers report `maxTimestamp` for every record.
/// Panics if `batch.bytes` is not exactly one batch (a bug: it came from validation).
pub fn stamp(batch: &ValidBatch, base_offset: Offset, leader_epoch: LeaderEpoch, log_append_time: Option<i64>) -> Bytes {
    stamp::stamp(batch, base_offset, leader_epoch, log_append_time)
}

/// Result of scanning stored bytes (log recovery, reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Position (in the scanned slice) and header of every complete, valid batch, in order.
    pub batches: Vec<(usize, BatchHeader)>,
    /// Bytes covered by those batches; anything after is a torn or corrupt tail.
    pub valid_len: usize,
    /// Why scanning stopped before the end, if it did.
    pub stop_reason: Option<String>,
}

/// Walk batches from the start of `data`. With `verify_crc` each batch's CRC is
/// checked. Stops at the first incomplete or invalid batch (never panics, never
/// reads past `data`). Checks structure only (magic, lengths, CRC if asked), not
/// offsets: the log checks those against its own state.
pub fn scan(data: &[u8], verify_crc: bool) -> Scan {
    scan::scan(data, verify_crc)
}

/// The first record in `batch` whose timestamp is >= `target` (decompressing with
/// the bound given): its offset and timestamp. With LogAppendTime every record
/// carries the batch's max timestamp. `batch` starts with the batch (extra bytes
/// after it are ignored); no CRC check. A batch whose `maxTimestamp < target` is
/// answered `None` from its header alone, as Kafka does.
pub fn find_timestamp(batch: &[u8], target: i64, max_decompressed_bytes: usize) -> Result<Option<(Offset, i64)>, BatchError> {
    query::find_timestamp(batch, target, max_decompressed_bytes)
}

/// The record in `batch` with the largest timestamp (the first one on ties): its offset and timestamp.
/// No CRC check; a batch with no records is `InvalidRecord`.
pub fn max_timestamp_record(batch: &[u8], max_decompressed_bytes: usize) -> Result<(Offset, i64), BatchError> {
    query::max_timestamp_record(batch, max_decompressed_bytes)
}

/// One record, decoded (for tests, the simulator's clients and tools).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub offset_delta: i32,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Build a magic-2 batch at base offset 0 (as a producer does) from `records`
/// (their offset deltas are renumbered 0..n-1), compressed with `compression`.
/// `producer_id` -1 for a non-idempotent producer.
/// Partition leader epoch -1, CreateTime, `baseTimestamp` = the first record's
/// timestamp, `maxTimestamp` = the largest (-1 for no records). Snappy is written in
/// the xerial framing, lz4 as an LZ4 frame, as the Java client does.
pub fn build_batch(records: &[Record], compression: Compression, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Bytes {
    builder::build(records, compression, producer_id, producer_epoch, base_sequence)
}

/// Decode every record of one batch (decompressing with the bound given). Offsets
/// are `base_offset + offset_delta`. Checks the CRC first (as a consumer does);
/// `Record::timestamp` is absolute (the max timestamp under LogAppendTime).
pub fn decode_batch(batch: &[u8], max_decompressed_bytes: usize) -> Result<(BatchHeader, Vec<Record>), BatchError> {
    query::decode_batch(batch, max_decompressed_bytes)
}
