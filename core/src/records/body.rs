//! The records section of one batch: decompressed (bounded) when needed and walked
//! record by record, never trusting `recordsCount` for anything but a loop bound
//! that stops at the bytes present.

use std::borrow::Cow;

use super::compression;
use super::header::complete_batch;
use super::record::{self, RecordView, RECORD_BYTES_MIN};
use super::varint::Cursor;
use super::{BatchError, BatchHeader, TimestampType, BATCH_HEADER_LEN};

/// The records bytes of `batch` (exactly one complete batch), decompressed.
pub(crate) fn records_bytes<'a>(header: &BatchHeader, batch: &'a [u8], max_decompressed_bytes: usize) -> Result<Cow<'a, [u8]>, BatchError> {
    let raw = &batch[BATCH_HEADER_LEN..header.total_len()];
    compression::decompress(header.compression()?, raw, max_decompressed_bytes)
}

/// Walk every record of `body`, checking that exactly `header.records_count`
/// records are present and that nothing follows the last one. Calls `f` with
/// the record index and view; `f` may stop the walk early by returning `Ok(false)`.
pub(crate) fn walk(
    header: &BatchHeader,
    body: &[u8],
    want_headers: bool,
    mut f: impl FnMut(usize, &RecordView) -> Result<bool, BatchError>,
) -> Result<(), BatchError> {
    let count = header.records_count;
    if count < 0 {
        return Err(BatchError::InvalidRecord(format!("negative record count {count}")));
    }
    let count = count as usize;
    // Each record takes at least RECORD_BYTES_MIN bytes: refuse impossible counts at once.
    if count > body.len() / RECORD_BYTES_MIN {
        return Err(BatchError::InvalidRecord(format!(
            "batch declares {count} records but its {} record bytes hold at most {}",
            body.len(),
            body.len() / RECORD_BYTES_MIN
        )));
    }
    let mut cur = Cursor::new(body);
    for i in 0..count {
        let view = record::read(&mut cur, want_headers)?;
        if !f(i, &view)? {
            return Ok(());
        }
    }
    if cur.remaining() != 0 {
        return Err(BatchError::InvalidRecord(format!("{} bytes remain after the {count} records the batch declares", cur.remaining())));
    }
    Ok(())
}

/// A record's timestamp as Kafka reports it: the batch's max timestamp under
/// LogAppendTime, otherwise base timestamp plus delta.
pub(crate) fn record_timestamp(header: &BatchHeader, view: &RecordView) -> i64 {
    match header.timestamp_type() {
        TimestampType::LogAppendTime => header.max_timestamp,
        TimestampType::CreateTime => header.base_timestamp.wrapping_add(view.timestamp_delta),
    }
}

/// Parse the first batch of `data`, decompress its records and walk them.
pub(crate) fn walk_batch(
    data: &[u8],
    max_decompressed_bytes: usize,
    want_headers: bool,
    mut f: impl FnMut(&BatchHeader, usize, &RecordView) -> Result<bool, BatchError>,
) -> Result<BatchHeader, BatchError> {
    let (header, batch) = complete_batch(data)?;
    let body = records_bytes(&header, batch, max_decompressed_bytes)?;
    walk(&header, &body, want_headers, |i, v| f(&header, i, v))?;
    Ok(header)
}
