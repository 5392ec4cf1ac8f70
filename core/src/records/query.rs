//! Reading records out of a stored batch: by timestamp, the max-timestamp record,
//! and full decoding.

use bytes::Bytes;

use super::body::{record_timestamp, records_bytes, walk, walk_batch};
use super::header::checked_batch;
use super::record::{to_record, RECORD_BYTES_MIN};
use super::{BatchError, BatchHeader, Record};
use crate::types::Offset;

fn offset_of(h: &BatchHeader, offset_delta: i32) -> Offset {
    Offset(h.base_offset.wrapping_add(offset_delta as i64))
}

/// See [`super::find_timestamp`]. Like Kafka's `LogSegment.findOffsetByTimestamp`,
/// a batch whose `maxTimestamp` is below the target is skipped without decompressing.
pub(crate) fn find_timestamp(batch: &[u8], target: i64, bound: usize) -> Result<Option<(Offset, i64)>, BatchError> {
    let header = super::header::complete_batch(batch)?.0;
    if header.max_timestamp < target {
        return Ok(None);
    }
    let mut found = None;
    walk_batch(batch, bound, false, |h, _, view| {
        let ts = record_timestamp(h, view);
        if ts >= target {
            found = Some((offset_of(h, view.offset_delta), ts));
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found)
}

/// See [`super::max_timestamp_record`]. A batch without records is InvalidRecord.
pub(crate) fn max_timestamp_record(batch: &[u8], bound: usize) -> Result<(Offset, i64), BatchError> {
    let mut best: Option<(Offset, i64)> = None;
    walk_batch(batch, bound, false, |h, _, view| {
        let ts = record_timestamp(h, view);
        if best.is_none_or(|(_, b)| ts > b) {
            best = Some((offset_of(h, view.offset_delta), ts));
        }
        Ok(true)
    })?;
    best.ok_or_else(|| BatchError::InvalidRecord("batch has no records".into()))
}

/// See [`super::decode_batch`]. Checks the CRC first, as a consuming client does.
pub(crate) fn decode_batch(batch: &[u8], bound: usize) -> Result<(BatchHeader, Vec<Record>), BatchError> {
    let (header, whole) = checked_batch(batch)?;
    let body = Bytes::from(records_bytes(&header, whole, bound)?.into_owned());
    let cap = (header.records_count.max(0) as usize).min(body.len() / RECORD_BYTES_MIN);
    let mut out = Vec::with_capacity(cap);
    walk(&header, &body, true, |_, view| {
        out.push(to_record(view, &body, record_timestamp(&header, view)));
        Ok(true)
    })?;
    Ok((header, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{build_batch, header, Compression, TimestampType};

    fn batch(c: Compression, base: i64) -> Vec<u8> {
        // timestamps 10, 30, 20, 30: max 30 first at delta 1
        let recs: Vec<Record> = [10, 30, 20, 30]
            .into_iter()
            .map(|ts| Record { timestamp: ts, value: Some(Bytes::from(vec![7u8; 300])), ..Default::default() })
            .collect();
        let mut b = build_batch(&recs, c, -1, -1, -1).to_vec();
        header::put_i64(&mut b, header::BASE_OFFSET_AT, base);
        b
    }

    const CODECS: [Compression; 5] = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

    // Proves: find_timestamp returns the first record at or after the target, inside compressed batches too.
    #[test]
    fn find_timestamp_in_every_codec() {
        for c in CODECS {
            let b = batch(c, 100);
            assert_eq!(find_timestamp(&b, 0, 1 << 20).unwrap(), Some((Offset(100), 10)), "{c:?}");
            assert_eq!(find_timestamp(&b, 15, 1 << 20).unwrap(), Some((Offset(101), 30)), "{c:?}");
            assert_eq!(find_timestamp(&b, 30, 1 << 20).unwrap(), Some((Offset(101), 30)), "{c:?}");
            assert_eq!(find_timestamp(&b, 31, 1 << 20).unwrap(), None, "{c:?}");
        }
    }

    // Proves: max_timestamp_record picks the first record on ties, in every codec.
    #[test]
    fn max_timestamp_first_on_ties() {
        for c in CODECS {
            assert_eq!(max_timestamp_record(&batch(c, 5), 1 << 20).unwrap(), (Offset(6), 30), "{c:?}");
        }
    }

    // Proves: a batch that decompresses past the bound is refused by every reader.
    #[test]
    fn readers_respect_bound() {
        let b = batch(Compression::Gzip, 0);
        assert!(find_timestamp(&b, 0, 100).is_err());
        assert!(max_timestamp_record(&b, 100).is_err());
        assert!(decode_batch(&b, 100).is_err());
    }

    // Proves: decode_batch checks the CRC and reports records with absolute offsets via offset deltas.
    #[test]
    fn decode_checks_crc() {
        let mut b = batch(Compression::None, 0);
        let (h, recs) = decode_batch(&b, 1 << 20).unwrap();
        assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(recs.iter().map(|r| r.offset_delta).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        let n = b.len();
        b[n - 1] ^= 1;
        assert!(matches!(decode_batch(&b, 1 << 20), Err(BatchError::Corrupt(_))));
    }
}
