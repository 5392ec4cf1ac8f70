//! Stamping a validated batch for append, as Kafka's LogValidator does for magic 2
//! in place (both the uncompressed and the compressed in-place paths):
//! `setLastOffset` (i.e. the base offset), `setPartitionLeaderEpoch` (both outside
//! the CRC), and under LogAppendTime `setMaxTimestamp(LOG_APPEND_TIME, now)`: the
//! timestamp-type bit and `maxTimestamp` change, `baseTimestamp` and the records do
//! not, and the CRC is recomputed.

use bytes::Bytes;

use super::header::{self, put_i16, put_i32, put_i64, rewrite_crc, TIMESTAMP_TYPE_BIT};
use super::{ValidBatch, BATCH_HEADER_LEN};
use crate::types::{LeaderEpoch, Offset};

pub(crate) fn stamp(batch: &ValidBatch, base_offset: Offset, leader_epoch: LeaderEpoch, log_append_time: Option<i64>) -> Bytes {
    assert_eq!(batch.bytes.len(), batch.header.total_len(), "ValidBatch bytes must be exactly one batch");
    assert!(batch.bytes.len() >= BATCH_HEADER_LEN);
    let mut b = batch.bytes.to_vec();
    put_i64(&mut b, header::BASE_OFFSET_AT, base_offset.0);
    put_i32(&mut b, header::PARTITION_LEADER_EPOCH_AT, leader_epoch.0);
    if let Some(now) = log_append_time {
        put_i16(&mut b, header::ATTRIBUTES_AT, batch.header.attributes | TIMESTAMP_TYPE_BIT);
        put_i64(&mut b, header::MAX_TIMESTAMP_AT, now);
        rewrite_crc(&mut b);
    }
    debug_assert_eq!(header::compute_crc(&b), header::parse(&b).map(|h| h.crc).unwrap_or(0));
    Bytes::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{
        build_batch, decode_batch, find_timestamp, scan, validate_produce, Compression, Record, TimestampType, ValidationLimits,
    };

    fn valid(c: Compression) -> ValidBatch {
        let recs: Vec<Record> =
            (0..4).map(|i| Record { timestamp: 100 + i, value: Some(Bytes::from_static(b"v")), ..Default::default() }).collect();
        let limits = ValidationLimits {
            max_batch_bytes: 1 << 20,
            max_decompressed_bytes: 1 << 20,
            now_ms: 0,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            timestamp_type: TimestampType::CreateTime,
        };
        validate_produce(&build_batch(&recs, c, -1, -1, -1), &limits).unwrap().remove(0)
    }

    // Proves: stamping offset and epoch changes only fields outside the CRC: the stored CRC still matches.
    #[test]
    fn offset_and_epoch_keep_crc() {
        let v = valid(Compression::None);
        let s = stamp(&v, Offset(1000), LeaderEpoch(7), None);
        let h = header::parse(&s).unwrap();
        assert_eq!((h.base_offset, h.partition_leader_epoch), (1000, 7));
        assert_eq!(h.crc, v.header.crc);
        assert_eq!(h.last_offset(), Offset(1003));
        assert_eq!(scan(&s, true).valid_len, s.len());
        assert_eq!(&s[header::ATTRIBUTES_AT..], &v.bytes[header::ATTRIBUTES_AT..]);
    }

    // Proves: LogAppendTime sets bit 3 and maxTimestamp, keeps baseTimestamp, recomputes a valid CRC,
    // and every record then reads back with the append time (uncompressed and compressed).
    #[test]
    fn log_append_time_keeps_crc_valid() {
        for c in [Compression::None, Compression::Lz4] {
            let v = valid(c);
            let s = stamp(&v, Offset(50), LeaderEpoch(2), Some(9_999));
            let h = header::parse(&s).unwrap();
            assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
            assert_eq!(h.max_timestamp, 9_999);
            assert_eq!(h.base_timestamp, v.header.base_timestamp);
            assert_eq!(h.compression().unwrap(), c);
            assert_eq!(header::compute_crc(&s), h.crc);
            let (_, recs) = decode_batch(&s, 1 << 20).unwrap();
            assert!(recs.iter().all(|r| r.timestamp == 9_999));
            assert_eq!(find_timestamp(&s, 9_999, 1 << 20).unwrap(), Some((Offset(50), 9_999)));
        }
    }
}
