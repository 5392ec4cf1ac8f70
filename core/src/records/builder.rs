//! Building a magic-2 batch as a producer does (base offset 0, leader epoch -1,
//! CreateTime, base timestamp = first record's timestamp).

use bytes::Bytes;

use super::compression;
use super::header::{self, compression_id, put_i16, put_i32, put_i64, MAGIC_V2};
use super::record;
use super::{Compression, Record, BATCH_HEADER_LEN, LOG_OVERHEAD};

pub(crate) fn build(records: &[Record], codec: Compression, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Bytes {
    let base_timestamp = records.first().map_or(-1, |r| r.timestamp);
    let max_timestamp = records.iter().map(|r| r.timestamp).max().unwrap_or(-1);
    let count = i32::try_from(records.len()).expect("more than i32::MAX records in one batch");

    let mut body = Vec::new();
    for (i, r) in records.iter().enumerate() {
        record::write(&mut body, r, i as i32, r.timestamp.wrapping_sub(base_timestamp));
    }
    let body = compression::compress(codec, &body);

    let mut out = vec![0u8; BATCH_HEADER_LEN];
    out.extend_from_slice(&body);
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD).expect("batch larger than i32::MAX bytes");
    put_i64(&mut out, header::BASE_OFFSET_AT, 0);
    put_i32(&mut out, header::BATCH_LENGTH_AT, batch_length);
    put_i32(&mut out, header::PARTITION_LEADER_EPOCH_AT, -1);
    out[header::MAGIC_AT] = MAGIC_V2 as u8;
    put_i16(&mut out, header::ATTRIBUTES_AT, compression_id(codec));
    put_i32(&mut out, header::LAST_OFFSET_DELTA_AT, count - 1);
    put_i64(&mut out, header::BASE_TIMESTAMP_AT, base_timestamp);
    put_i64(&mut out, header::MAX_TIMESTAMP_AT, max_timestamp);
    put_i64(&mut out, header::PRODUCER_ID_AT, producer_id);
    put_i16(&mut out, header::PRODUCER_EPOCH_AT, producer_epoch);
    put_i32(&mut out, header::BASE_SEQUENCE_AT, base_sequence);
    put_i32(&mut out, header::RECORDS_COUNT_AT, count);
    header::rewrite_crc(&mut out);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{decode_batch, BatchHeader};

    fn recs() -> Vec<Record> {
        (0..5)
            .map(|i| Record {
                offset_delta: 99, // renumbered by the builder
                timestamp: 1_000 + (i * 7) % 3,
                key: (i % 2 == 0).then(|| Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(vec![i as u8; 100])),
                headers: vec![(format!("h{i}"), None)],
            })
            .collect()
    }

    // Proves: build then decode returns the same records with offset deltas 0..n-1, for every codec.
    #[test]
    fn build_decode_round_trip() {
        for c in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let b = build(&recs(), c, 7, 1, 10);
            let (h, got) = decode_batch(&b, 1 << 20).unwrap();
            assert_eq!(h.compression().unwrap(), c);
            assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (7, 1, 10));
            assert_eq!(h.records_count, 5);
            assert_eq!(h.last_offset_delta, 4);
            assert_eq!(h.max_timestamp, 1_002);
            let mut want = recs();
            for (i, r) in want.iter_mut().enumerate() {
                r.offset_delta = i as i32;
            }
            assert_eq!(got, want, "{c:?}");
        }
    }

    // Proves: an empty batch is well formed: zero records and next offset equal to its base.
    #[test]
    fn empty_batch() {
        let b = build(&[], Compression::None, -1, -1, -1);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.records_count, 0);
        assert_eq!(h.next_offset().0, 0);
        assert_eq!(decode_batch(&b, 0).unwrap().1, vec![]);
    }
}
