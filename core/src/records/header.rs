//! The 61-byte magic-2 batch header: field positions, parsing, in-place field
//! writes and the CRC-32C over `attributes..end`.

use super::{BatchError, BatchHeader, Compression, TimestampType, BATCH_HEADER_LEN, LOG_OVERHEAD};

pub(crate) const BASE_OFFSET_AT: usize = 0;
pub(crate) const BATCH_LENGTH_AT: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH_AT: usize = 12;
pub(crate) const MAGIC_AT: usize = 16;
pub(crate) const CRC_AT: usize = 17;
pub(crate) const ATTRIBUTES_AT: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_AT: usize = 23;
pub(crate) const BASE_TIMESTAMP_AT: usize = 27;
pub(crate) const MAX_TIMESTAMP_AT: usize = 35;
pub(crate) const PRODUCER_ID_AT: usize = 43;
pub(crate) const PRODUCER_EPOCH_AT: usize = 51;
pub(crate) const BASE_SEQUENCE_AT: usize = 53;
pub(crate) const RECORDS_COUNT_AT: usize = 57;

/// The only batch format Chronik accepts.
pub const MAGIC_V2: i8 = 2;
/// Smallest legal `batchLength`: the header after `batchLength`, with no records.
pub const BATCH_LENGTH_MIN: i32 = (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32;

/// `attributes` bit 3: the timestamp type.
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 0x08;
pub(crate) const COMPRESSION_MASK: i16 = 0x07;

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

pub(crate) fn put_i16(b: &mut [u8], at: usize, v: i16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_i32(b: &mut [u8], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_i64(b: &mut [u8], at: usize, v: i64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// Parse the header; see [`BatchHeader::parse`]. Besides the length and magic
/// checks it refuses a `batchLength` too small to hold the header itself, so
/// `total_len()` is always at least `BATCH_HEADER_LEN` for a parsed header.
pub(crate) fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    if bytes.len() < BATCH_HEADER_LEN {
        return Err(BatchError::Corrupt(format!("batch header needs {BATCH_HEADER_LEN} bytes, {} present", bytes.len())));
    }
    let magic = bytes[MAGIC_AT] as i8;
    if magic != MAGIC_V2 {
        return Err(BatchError::Corrupt(format!("batch magic {magic}, only magic 2 is supported")));
    }
    let batch_length = i32_at(bytes, BATCH_LENGTH_AT);
    if batch_length < BATCH_LENGTH_MIN {
        return Err(BatchError::Corrupt(format!("batch length {batch_length} is smaller than the header ({BATCH_LENGTH_MIN})")));
    }
    Ok(BatchHeader {
        base_offset: i64_at(bytes, BASE_OFFSET_AT),
        batch_length,
        partition_leader_epoch: i32_at(bytes, PARTITION_LEADER_EPOCH_AT),
        magic,
        crc: i32_at(bytes, CRC_AT) as u32,
        attributes: i16_at(bytes, ATTRIBUTES_AT),
        last_offset_delta: i32_at(bytes, LAST_OFFSET_DELTA_AT),
        base_timestamp: i64_at(bytes, BASE_TIMESTAMP_AT),
        max_timestamp: i64_at(bytes, MAX_TIMESTAMP_AT),
        producer_id: i64_at(bytes, PRODUCER_ID_AT),
        producer_epoch: i16_at(bytes, PRODUCER_EPOCH_AT),
        base_sequence: i32_at(bytes, BASE_SEQUENCE_AT),
        records_count: i32_at(bytes, RECORDS_COUNT_AT),
    })
}

pub(crate) fn compression(attributes: i16) -> Result<Compression, BatchError> {
    match attributes & COMPRESSION_MASK {
        0 => Ok(Compression::None),
        1 => Ok(Compression::Gzip),
        2 => Ok(Compression::Snappy),
        3 => Ok(Compression::Lz4),
        4 => Ok(Compression::Zstd),
        id => Err(BatchError::UnsupportedCompression(id)),
    }
}

pub(crate) fn compression_id(c: Compression) -> i16 {
    match c {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
    }
}

pub(crate) fn timestamp_type(attributes: i16) -> TimestampType {
    if attributes & TIMESTAMP_TYPE_BIT != 0 {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    }
}

/// CRC-32C of a whole batch (`batch` is exactly one batch) from `attributes` to the end.
pub(crate) fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_AT..])
}

/// Recompute and store the CRC of a whole batch.
pub(crate) fn rewrite_crc(batch: &mut [u8]) {
    let crc = compute_crc(batch);
    put_i32(batch, CRC_AT, crc as i32);
}

/// The batch that starts `data`, checked to be complete: its header and its bytes.
pub(crate) fn complete_batch(data: &[u8]) -> Result<(BatchHeader, &[u8]), BatchError> {
    let header = parse(data)?;
    let total = header.total_len();
    if total > data.len() {
        return Err(BatchError::Corrupt(format!("batch of {total} bytes, only {} present", data.len())));
    }
    Ok((header, &data[..total]))
}

/// `complete_batch` plus a CRC check.
pub(crate) fn checked_batch(data: &[u8]) -> Result<(BatchHeader, &[u8]), BatchError> {
    let (header, batch) = complete_batch(data)?;
    let computed = compute_crc(batch);
    if computed != header.crc {
        return Err(BatchError::Corrupt(format!("batch crc mismatch: stored {:#010x}, computed {computed:#010x}", header.crc)));
    }
    Ok((header, batch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{build_batch, Record};

    fn one_batch() -> Vec<u8> {
        let r = Record { timestamp: 1000, value: Some(bytes::Bytes::from_static(b"v")), ..Default::default() };
        build_batch(&[r], Compression::None, -1, -1, -1).to_vec()
    }

    // Proves: parse reads every field at its Kafka position and total_len covers the batch.
    #[test]
    fn parse_reads_fields() {
        let b = one_batch();
        let h = parse(&b).unwrap();
        assert_eq!(h.magic, 2);
        assert_eq!(h.total_len(), b.len());
        assert_eq!(h.records_count, 1);
        assert_eq!(h.last_offset_delta, 0);
        assert_eq!(h.base_timestamp, 1000);
        assert_eq!(h.max_timestamp, 1000);
        assert_eq!(h.producer_id, -1);
        assert_eq!(h.partition_leader_epoch, -1);
        assert_eq!(h.crc, compute_crc(&b));
        assert_eq!(h.compression().unwrap(), Compression::None);
        assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    }

    // Proves: short input, wrong magic and a batch length below the header size are Corrupt.
    #[test]
    fn parse_rejects_bad_headers() {
        let b = one_batch();
        assert!(matches!(parse(&b[..60]), Err(BatchError::Corrupt(_))));
        let mut m = b.clone();
        m[MAGIC_AT] = 1;
        assert!(matches!(parse(&m), Err(BatchError::Corrupt(_))));
        let mut l = b.clone();
        put_i32(&mut l, BATCH_LENGTH_AT, -5);
        assert!(matches!(parse(&l), Err(BatchError::Corrupt(_))));
    }

    // Proves: codec ids 5-7 are UnsupportedCompression and bit 3 is LogAppendTime.
    #[test]
    fn attribute_bits() {
        assert_eq!(compression(5), Err(BatchError::UnsupportedCompression(5)));
        assert_eq!(compression(0x0c), Ok(Compression::Zstd));
        assert_eq!(timestamp_type(0x08), TimestampType::LogAppendTime);
    }
}
