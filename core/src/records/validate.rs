//! Validating the record set of one partition in a Produce request, following
//! Kafka's `ProduceRequest.validateRecords`, `UnifiedLog.analyzeAndValidateRecords`
//! and `LogValidator` for magic 2 from a client, in that order:
//!
//! 1. framing: an empty record set is INVALID_RECORD ("at least one record batch");
//!    a first batch with magic 0 or 1 is INVALID_RECORD, any other non-2 magic or
//!    a length below the header is CORRUPT_MESSAGE; a second complete batch is
//!    INVALID_RECORD ("exactly one record batch per partition"). Bytes that do not
//!    form a complete batch (a truncated batch, a partial trailing batch) are
//!    CORRUPT_MESSAGE (Kafka silently trims a partial trailing batch; we refuse it).
//! 2. base offset must be 0 (INVALID_RECORD); size within `max.message.bytes`
//!    (MESSAGE_TOO_LARGE); CRC-32C (CORRUPT_MESSAGE).
//! 3. the offset range and count agree and are positive, no control batch, an
//!    idempotent batch has a sequence (INVALID_RECORD); a known codec.
//! 4. the records (decompressed within the bound): exactly `records_count`, nothing
//!    after them, offset deltas 0..n-1 (INVALID_RECORD); timestamps within the
//!    window under CreateTime, and no LogAppendTime batch from a producer
//!    (INVALID_TIMESTAMP). Like Kafka, timestamp errors are reported only after the
//!    whole batch parsed (a structural error later in the batch wins).
//!
//! Like Kafka, on a CreateTime topic the batch's `maxTimestamp` (and timestamp-type
//! bit) is set to what the records carry, recomputing the CRC, when the producer's
//! header disagrees; otherwise the bytes are returned exactly as received.

use bytes::Bytes;

use super::body::{record_timestamp, records_bytes, walk};
use super::header::{self, put_i16, put_i64, rewrite_crc, BATCH_LENGTH_MIN, MAGIC_V2, TIMESTAMP_TYPE_BIT};
use super::{BatchError, BatchHeader, TimestampType, ValidBatch, ValidationLimits, BATCH_HEADER_LEN, LOG_OVERHEAD};

/// Kafka's `HEADER_SIZE_UP_TO_MAGIC`: the magic byte is readable from here on.
const HEADER_UP_TO_MAGIC: usize = LOG_OVERHEAD + 5;

fn corrupt(msg: String) -> BatchError {
    BatchError::Corrupt(msg)
}
fn invalid(msg: String) -> BatchError {
    BatchError::InvalidRecord(msg)
}

/// The length of the complete batch at the start of `rest`, framed like Kafka's
/// `ByteBufferLogInputStream`; `Ok(None)` if the bytes end before the batch does.
fn frame(rest: &[u8]) -> Result<Option<usize>, BatchError> {
    if rest.len() < LOG_OVERHEAD {
        return Ok(None);
    }
    let batch_length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
    if batch_length < BATCH_LENGTH_MIN {
        return Err(corrupt(format!("batch length {batch_length} is below the minimum {BATCH_LENGTH_MIN}")));
    }
    if rest.len() < HEADER_UP_TO_MAGIC {
        return Ok(None);
    }
    let magic = rest[header::MAGIC_AT] as i8;
    if !(0..=MAGIC_V2).contains(&magic) {
        return Err(corrupt(format!("invalid magic {magic}")));
    }
    if magic != MAGIC_V2 {
        return Err(invalid(format!("produce requests may only contain magic 2 batches, found magic {magic}")));
    }
    let total = LOG_OVERHEAD + batch_length as usize;
    Ok((total <= rest.len()).then_some(total))
}

pub(crate) fn validate_produce(records: &Bytes, limits: &ValidationLimits) -> Result<Vec<ValidBatch>, BatchError> {
    if records.is_empty() {
        return Err(invalid("produce request must have at least one record batch per partition".into()));
    }
    let Some(total) = frame(records)? else {
        return Err(corrupt(format!("truncated record batch: {} bytes", records.len())));
    };
    let rest = &records[total..];
    if !rest.is_empty() {
        return Err(match frame(rest)? {
            Some(_) => invalid("produce requests may contain exactly one record batch per partition".into()),
            None => corrupt(format!("{} trailing bytes after the record batch", rest.len())),
        });
    }
    let batch = records.slice(..total);
    let header = header::parse(&batch)?;
    debug_assert_eq!(header.total_len(), total);
    check_batch(&header, &batch, limits)?;
    let max_timestamp = check_records(&header, &batch, limits)?;
    let (bytes, header) = normalize_max_timestamp(batch, header, max_timestamp, limits);
    Ok(vec![ValidBatch { bytes, header }])
}

/// Batch-level checks (steps 2 and 3 above).
fn check_batch(h: &BatchHeader, batch: &[u8], limits: &ValidationLimits) -> Result<(), BatchError> {
    if h.base_offset != 0 {
        return Err(invalid(format!("the base offset of a produced batch must be 0, not {}", h.base_offset)));
    }
    if batch.len() > limits.max_batch_bytes {
        return Err(BatchError::TooLarge { size: batch.len(), max: limits.max_batch_bytes });
    }
    let computed = header::compute_crc(batch);
    if computed != h.crc {
        return Err(corrupt(format!("record is corrupt (stored crc = {}, computed crc = {computed})", h.crc)));
    }
    let count_from_offsets = h.last_offset_delta as i64 + 1;
    if count_from_offsets <= 0 {
        return Err(invalid(format!("batch has an invalid last offset delta {}", h.last_offset_delta)));
    }
    if h.records_count <= 0 {
        return Err(invalid(format!("invalid reported count for record batch: {}", h.records_count)));
    }
    if count_from_offsets != h.records_count as i64 {
        return Err(invalid(format!(
            "inconsistent batch offset range [0, {}] and count of records {}",
            h.last_offset_delta, h.records_count
        )));
    }
    if h.is_control() {
        return Err(invalid("clients are not allowed to write control records".into()));
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        return Err(invalid(format!("invalid sequence number {} in record batch with producerId {}", h.base_sequence, h.producer_id)));
    }
    h.compression()?;
    Ok(())
}

/// Record-level checks (step 4). Returns the largest record timestamp (-1 if none has one).
fn check_records(h: &BatchHeader, batch: &[u8], limits: &ValidationLimits) -> Result<i64, BatchError> {
    debug_assert!(batch.len() >= BATCH_HEADER_LEN);
    let body = records_bytes(h, batch, limits.max_decompressed_bytes)?;
    let mut max_timestamp = -1i64;
    let mut timestamp_error: Option<BatchError> = None;
    walk(h, &body, false, |i, view| {
        if view.offset_delta as i64 != i as i64 {
            return Err(invalid(format!("record {i} has offset delta {}, expected {i}", view.offset_delta)));
        }
        let ts = record_timestamp(h, view);
        max_timestamp = max_timestamp.max(ts);
        if timestamp_error.is_none() {
            timestamp_error = check_timestamp(h, ts, i, limits).err();
        }
        Ok(true)
    })?;
    match timestamp_error {
        Some(e) => Err(e),
        None => Ok(max_timestamp),
    }
}

/// Kafka's `validateTimestamp`.
fn check_timestamp(h: &BatchHeader, ts: i64, index: usize, limits: &ValidationLimits) -> Result<(), BatchError> {
    if limits.timestamp_type == TimestampType::CreateTime && ts != -1 {
        let diff = limits.now_ms as i128 - ts as i128;
        let too_old = limits.timestamp_before_max_ms != i64::MAX && diff > limits.timestamp_before_max_ms as i128;
        let too_new = limits.timestamp_after_max_ms != i64::MAX && -diff > limits.timestamp_after_max_ms as i128;
        if too_old || too_new {
            return Err(BatchError::InvalidTimestamp(format!(
                "timestamp {ts} of record {index} is out of range: it must be within [{}, {}]",
                limits.now_ms.saturating_sub(limits.timestamp_before_max_ms),
                limits.now_ms.saturating_add(limits.timestamp_after_max_ms)
            )));
        }
    } else if h.timestamp_type() == TimestampType::LogAppendTime {
        return Err(BatchError::InvalidTimestamp(format!("record {index}: producers must not set the timestamp type to LogAppendTime")));
    }
    Ok(())
}

/// On a CreateTime topic, make the header carry CreateTime and the records' max
/// timestamp, as Kafka's `setMaxTimestamp` does (a no-op when already so).
fn normalize_max_timestamp(batch: Bytes, h: BatchHeader, max_timestamp: i64, limits: &ValidationLimits) -> (Bytes, BatchHeader) {
    let already = h.timestamp_type() == TimestampType::CreateTime && h.max_timestamp == max_timestamp;
    if limits.timestamp_type != TimestampType::CreateTime || already {
        return (batch, h);
    }
    let mut b = batch.to_vec();
    let attributes = h.attributes & !TIMESTAMP_TYPE_BIT;
    put_i16(&mut b, header::ATTRIBUTES_AT, attributes);
    put_i64(&mut b, header::MAX_TIMESTAMP_AT, max_timestamp);
    rewrite_crc(&mut b);
    let header = header::parse(&b).expect("re-parsing a validated batch");
    (Bytes::from(b), header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::header::{put_i32, CRC_AT, RECORDS_COUNT_AT};
    use crate::records::{build_batch, decode_batch, Compression, Record};

    const NOW: i64 = 1_700_000_000_000;

    fn limits() -> ValidationLimits {
        ValidationLimits {
            max_batch_bytes: 1 << 20,
            max_decompressed_bytes: 1 << 20,
            now_ms: NOW,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            timestamp_type: TimestampType::CreateTime,
        }
    }

    fn recs(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                timestamp: NOW + i as i64,
                key: Some(Bytes::from(format!("key-{i}"))),
                value: Some(Bytes::from(vec![b'x'; 50 + i])),
                headers: vec![("trace".into(), Some(Bytes::from_static(b"t")))],
                ..Default::default()
            })
            .collect()
    }

    fn batch(n: usize, c: Compression) -> Vec<u8> {
        build_batch(&recs(n), c, -1, -1, -1).to_vec()
    }

    fn validate(b: &[u8]) -> Result<Vec<ValidBatch>, BatchError> {
        validate_produce(&Bytes::copy_from_slice(b), &limits())
    }

    fn fix_crc(b: &mut [u8]) {
        let total = header::parse(b).unwrap().total_len();
        rewrite_crc(&mut b[..total]);
    }

    const CODECS: [Compression; 5] = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

    // Proves: a built batch validates unchanged, for every codec, and its bytes are returned as received.
    #[test]
    fn build_then_validate_round_trip() {
        for c in CODECS {
            let b = batch(10, c);
            let v = validate(&b).unwrap();
            assert_eq!(v.len(), 1);
            assert_eq!(&v[0].bytes[..], &b[..], "{c:?}");
            assert_eq!(v[0].header.records_count, 10);
            assert_eq!(decode_batch(&v[0].bytes, 1 << 20).unwrap().1.len(), 10);
        }
    }

    // Proves: a flipped byte under the CRC is CORRUPT_MESSAGE.
    #[test]
    fn bad_crc_is_corrupt() {
        let mut b = batch(3, Compression::None);
        let n = b.len();
        b[n - 2] ^= 1;
        assert!(matches!(validate(&b), Err(BatchError::Corrupt(_))));
        let mut b = batch(3, Compression::Gzip);
        b[CRC_AT] ^= 1;
        assert!(matches!(validate(&b), Err(BatchError::Corrupt(_))));
    }

    // Proves: a truncated batch and a partial trailing batch are CORRUPT_MESSAGE; an empty set is INVALID_RECORD.
    #[test]
    fn truncation_and_trailing_bytes() {
        let b = batch(3, Compression::None);
        for cut in [1, 11, 12, 16, 17, 60, 61, b.len() - 1] {
            assert!(matches!(validate(&b[..cut]), Err(BatchError::Corrupt(_))), "cut {cut}");
        }
        let mut two = b.clone();
        two.extend_from_slice(&b[..30]);
        assert!(matches!(validate(&two), Err(BatchError::Corrupt(_))));
        let mut junk = b.clone();
        junk.push(0);
        assert!(matches!(validate(&junk), Err(BatchError::Corrupt(_))));
        assert!(matches!(validate(&[]), Err(BatchError::InvalidRecord(_))));
    }

    // Proves: two complete batches in one partition's records are INVALID_RECORD, as in Kafka (produce v3+).
    #[test]
    fn second_batch_refused() {
        let mut b = batch(1, Compression::None);
        b.extend_from_slice(&batch(1, Compression::None));
        assert!(matches!(validate(&b), Err(BatchError::InvalidRecord(_))));
    }

    // Proves: magic 0/1 is INVALID_RECORD (Kafka's produce check) and an unknown magic CORRUPT_MESSAGE.
    #[test]
    fn wrong_magic() {
        let mut b = batch(1, Compression::None);
        b[header::MAGIC_AT] = 1;
        assert!(matches!(validate(&b), Err(BatchError::InvalidRecord(_))));
        b[header::MAGIC_AT] = 3;
        assert!(matches!(validate(&b), Err(BatchError::Corrupt(_))));
        b[header::MAGIC_AT] = 0xff;
        assert!(matches!(validate(&b), Err(BatchError::Corrupt(_))));
    }

    // Proves: records_count = i32::MAX with 3 records present is refused quickly, without allocating by count.
    #[test]
    fn huge_record_count() {
        for c in CODECS {
            let mut b = batch(3, c);
            put_i32(&mut b, RECORDS_COUNT_AT, i32::MAX);
            put_i32(&mut b, header::LAST_OFFSET_DELTA_AT, i32::MAX - 1);
            fix_crc(&mut b);
            // Refused after reading the 3 records present: the count only bounds a loop.
            assert!(matches!(validate(&b), Err(BatchError::InvalidRecord(_))), "{c:?}");
        }
    }

    // Proves: a count that disagrees with the records present (fewer or more) or with lastOffsetDelta is INVALID_RECORD.
    #[test]
    fn count_mismatches() {
        for (count, lod) in [(2, 1), (4, 3), (3, 2 + 5), (0, -1), (-1, -2)] {
            let mut b = batch(3, Compression::Lz4);
            put_i32(&mut b, RECORDS_COUNT_AT, count);
            put_i32(&mut b, header::LAST_OFFSET_DELTA_AT, lod);
            fix_crc(&mut b);
            assert!(matches!(validate(&b), Err(BatchError::InvalidRecord(_))), "{count} {lod}");
        }
    }

    // Proves: a batch over max.message.bytes is MESSAGE_TOO_LARGE with its size.
    #[test]
    fn too_large() {
        let b = batch(10, Compression::None);
        let mut l = limits();
        l.max_batch_bytes = b.len() - 1;
        let err = validate_produce(&Bytes::from(b.clone()), &l).unwrap_err();
        assert_eq!(err, BatchError::TooLarge { size: b.len(), max: b.len() - 1 });
        assert_eq!(err.error_code(), crate::protocol::error_code::MESSAGE_TOO_LARGE);
        l.max_batch_bytes = b.len();
        assert!(validate_produce(&Bytes::from(b), &l).is_ok());
    }

    // Proves: decompressed size over the bound is refused (a compressed batch cannot smuggle a bomb).
    #[test]
    fn decompression_bound_applies() {
        let b = batch(50, Compression::Gzip);
        let mut l = limits();
        l.max_decompressed_bytes = 100;
        assert!(validate_produce(&Bytes::from(b), &l).is_err());
    }

    // Proves: control batches, non-zero base offsets, idempotent batches without a sequence and codec 5 are refused.
    #[test]
    fn batch_level_rules() {
        let mut ctl = batch(1, Compression::None);
        put_i16(&mut ctl, header::ATTRIBUTES_AT, 0x20);
        fix_crc(&mut ctl);
        assert!(matches!(validate(&ctl), Err(BatchError::InvalidRecord(_))));

        let mut off = batch(1, Compression::None);
        put_i64(&mut off, header::BASE_OFFSET_AT, 5);
        assert!(matches!(validate(&off), Err(BatchError::InvalidRecord(_))));

        let seq = build_batch(&recs(1), Compression::None, 42, 0, -1);
        assert!(matches!(validate(&seq), Err(BatchError::InvalidRecord(_))));
        assert!(validate(&build_batch(&recs(1), Compression::None, 42, 0, 0)).is_ok());

        let mut codec = batch(1, Compression::None);
        put_i16(&mut codec, header::ATTRIBUTES_AT, 5);
        fix_crc(&mut codec);
        assert_eq!(validate(&codec).unwrap_err(), BatchError::UnsupportedCompression(5));
    }

    // Proves: offset deltas must run 0..n-1.
    #[test]
    fn offset_deltas_sequential() {
        let mut body = Vec::new();
        for (i, d) in [0, 2].into_iter().enumerate() {
            crate::records::record::write(&mut body, &recs(2)[i], d, 0);
        }
        let mut b = batch(2, Compression::None);
        b.truncate(BATCH_HEADER_LEN);
        b.extend_from_slice(&body);
        let batch_length = (b.len() - LOG_OVERHEAD) as i32;
        put_i32(&mut b, header::BATCH_LENGTH_AT, batch_length);
        fix_crc(&mut b);
        let err = validate(&b).unwrap_err();
        assert!(matches!(&err, BatchError::InvalidRecord(m) if m.contains("offset delta")), "{err:?}");
    }

    // Proves: CreateTime timestamps outside [now-before, now+after] are INVALID_TIMESTAMP; -1 timestamps pass.
    #[test]
    fn timestamp_window() {
        let mut l = limits();
        l.timestamp_before_max_ms = 1000;
        l.timestamp_after_max_ms = 1000;
        let at = |ts: i64| build_batch(&[Record { timestamp: ts, ..Default::default() }], Compression::Snappy, -1, -1, -1);
        assert!(validate_produce(&at(NOW - 1000), &l).is_ok());
        assert!(validate_produce(&at(NOW + 1000), &l).is_ok());
        assert!(matches!(validate_produce(&at(NOW - 1001), &l), Err(BatchError::InvalidTimestamp(_))));
        assert!(matches!(validate_produce(&at(NOW + 1001), &l), Err(BatchError::InvalidTimestamp(_))));
        assert!(validate_produce(&at(-1), &l).is_ok());
        assert!(validate_produce(&at(i64::MIN), &limits()).is_ok(), "i64::MAX disables the window");
        l.timestamp_type = TimestampType::LogAppendTime;
        assert!(validate_produce(&at(0), &l).is_ok(), "no window under LogAppendTime");
    }

    // Proves: a producer batch flagged LogAppendTime is INVALID_TIMESTAMP on a LogAppendTime topic.
    #[test]
    fn producer_log_append_time_refused() {
        let mut b = batch(1, Compression::None);
        put_i16(&mut b, header::ATTRIBUTES_AT, TIMESTAMP_TYPE_BIT);
        fix_crc(&mut b);
        let mut l = limits();
        l.timestamp_type = TimestampType::LogAppendTime;
        assert!(matches!(validate_produce(&Bytes::from(b), &l), Err(BatchError::InvalidTimestamp(_))));
    }

    // Proves: a wrong maxTimestamp from a producer is corrected (CRC recomputed) on a CreateTime topic, as Kafka does.
    #[test]
    fn max_timestamp_corrected() {
        let mut b = batch(3, Compression::Zstd);
        put_i64(&mut b, header::MAX_TIMESTAMP_AT, 5);
        fix_crc(&mut b);
        let v = validate(&b).unwrap();
        assert_eq!(v[0].header.max_timestamp, NOW + 2);
        assert_eq!(header::compute_crc(&v[0].bytes), v[0].header.crc);
        assert_eq!(header::parse(&v[0].bytes).unwrap(), v[0].header);
    }
}

/// Interop with an independent implementation: batches written by kafka-python
/// 3.0 (`DefaultRecordBatchBuilder`, 20 records, every codec; its lz4 frames carry
/// a content size, its snappy is xerial-framed).
#[cfg(test)]
mod interop_tests {
    use super::*;
    use crate::records::{decode_batch, Compression};

    // Proves: batches from another Kafka client library validate unchanged and decode to what it wrote.
    #[test]
    fn kafka_python_batches() {
        let cases: [(Compression, &[u8]); 5] = [
            (Compression::None, include_bytes!("testdata/kafka-python-none.bin")),
            (Compression::Gzip, include_bytes!("testdata/kafka-python-gzip.bin")),
            (Compression::Snappy, include_bytes!("testdata/kafka-python-snappy.bin")),
            (Compression::Lz4, include_bytes!("testdata/kafka-python-lz4.bin")),
            (Compression::Zstd, include_bytes!("testdata/kafka-python-zstd.bin")),
        ];
        let limits = ValidationLimits {
            max_batch_bytes: 1 << 20,
            max_decompressed_bytes: 1 << 20,
            now_ms: 1_700_000_000_100,
            timestamp_before_max_ms: 1_000,
            timestamp_after_max_ms: 1_000,
            timestamp_type: TimestampType::CreateTime,
        };
        for (c, b) in cases {
            let v = validate_produce(&Bytes::from_static(b), &limits).unwrap();
            assert_eq!(&v[0].bytes[..], b, "{c:?} unchanged");
            assert_eq!(v[0].header.compression().unwrap(), c);
            let (h, recs) = decode_batch(b, 1 << 20).unwrap();
            assert_eq!(h.records_count, 20);
            for (i, r) in recs.iter().enumerate() {
                assert_eq!(r.offset_delta, i as i32);
                assert_eq!(r.timestamp, 1_700_000_000_000 + i as i64 * 10);
                let key = (i != 1).then(|| Bytes::from(format!("k{i}")));
                assert_eq!(r.key, key, "{c:?} {i}");
                assert_eq!(r.value, Some(Bytes::from(format!("value-{i}").repeat(5))));
                let headers = if i == 2 { vec![("h1".to_string(), Some(Bytes::from_static(b"x"))), ("h2".into(), None)] } else { vec![] };
                assert_eq!(r.headers, headers);
            }
        }
    }
}
