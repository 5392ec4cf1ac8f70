//! Sparse offset index and time index of one segment: in memory, and their
//! on-disk form for sealed segments (`.index`, `.timeindex`).
//!
//! On-disk format (all integers big-endian), each file written whole with
//! `ReplaceFile` and ending in a CRC-32C of every byte before it, so a torn or
//! corrupted index is detected and the segment is rebuilt by scanning:
//!
//! `.index`: magic `CKIX` | version u16 | base_offset i64 | segment_size u64 |
//! next_offset i64 | max_timestamp i64 | has_max u8 | max_batch_base i64 |
//! max_batch_next i64 | max_batch_pos u64 | max_batch_len u32 | count u32 |
//! count × (relative_offset u32, position u32) | crc32c u32.
//!
//! `.timeindex`: magic `CKTI` | version u16 | base_offset i64 | segment_size u64 |
//! count u32 | count × (timestamp i64, relative_offset u32) | crc32c u32.
//!
//! `segment_size` ties an index to the exact segment length it describes: an index
//! whose recorded size differs from the file's length is stale and ignored.

use bytes::{BufMut, Bytes, BytesMut};

use crate::types::Offset;

const INDEX_MAGIC: &[u8; 4] = b"CKIX";
const TIME_INDEX_MAGIC: &[u8; 4] = b"CKTI";
const VERSION: u16 = 1;

/// One sparse offset index entry: the batch whose base offset is `base + rel`
/// starts at byte `pos` of the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub rel: u32,
    pub pos: u32,
}

/// One time index entry: every record at an offset <= `base + rel` has a
/// timestamp <= `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub rel: u32,
}

/// Where one batch lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchLoc {
    pub base: Offset,
    pub next: Offset,
    pub pos: u64,
    pub len: u32,
}

/// What a sealed segment's `.index` records about the segment besides entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    pub base: Offset,
    pub size: u64,
    pub next_offset: Offset,
    /// -1 for an empty segment.
    pub max_timestamp: i64,
    /// The first batch holding `max_timestamp`.
    pub max_batch: Option<BatchLoc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OffsetIndex {
    entries: Vec<IndexEntry>,
}

impl OffsetIndex {
    pub fn push(&mut self, rel: u32, pos: u32) {
        if let Some(last) = self.entries.last() {
            assert!(rel > last.rel && pos > last.pos, "offset index must grow: {last:?} then {rel}/{pos}");
        }
        self.entries.push(IndexEntry { rel, pos });
    }

    /// The entry with the largest relative offset <= `rel` (position 0 if none).
    pub fn lookup(&self, rel: u32) -> IndexEntry {
        let n = self.entries.partition_point(|e| e.rel <= rel);
        if n == 0 {
            IndexEntry { rel: 0, pos: 0 }
        } else {
            self.entries[n - 1]
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TimeIndex {
    entries: Vec<TimeEntry>,
}

impl TimeIndex {
    /// Adds an entry if it says something new (a larger timestamp).
    pub fn push(&mut self, timestamp: i64, rel: u32) {
        if let Some(last) = self.entries.last() {
            if timestamp <= last.timestamp {
                return;
            }
            assert!(rel > last.rel, "time index offsets must grow: {last:?} then {rel}");
        }
        self.entries.push(TimeEntry { timestamp, rel });
    }

    /// The last entry whose timestamp is < `target`: every record up to its
    /// offset is older than `target`.
    pub fn last_before(&self, target: i64) -> Option<TimeEntry> {
        let n = self.entries.partition_point(|e| e.timestamp < target);
        if n == 0 {
            None
        } else {
            Some(self.entries[n - 1])
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

pub(crate) fn encode_index(summary: &SegmentSummary, index: &OffsetIndex) -> Bytes {
    let mut b = BytesMut::with_capacity(80 + index.entries.len() * 8);
    b.put_slice(INDEX_MAGIC);
    b.put_u16(VERSION);
    b.put_i64(summary.base.0);
    b.put_u64(summary.size);
    b.put_i64(summary.next_offset.0);
    b.put_i64(summary.max_timestamp);
    match summary.max_batch {
        Some(m) => {
            b.put_u8(1);
            b.put_i64(m.base.0);
            b.put_i64(m.next.0);
            b.put_u64(m.pos);
            b.put_u32(m.len);
        }
        None => {
            b.put_u8(0);
            b.put_i64(0);
            b.put_i64(0);
            b.put_u64(0);
            b.put_u32(0);
        }
    }
    b.put_u32(u32::try_from(index.entries.len()).expect("index entry count fits u32"));
    for e in &index.entries {
        b.put_u32(e.rel);
        b.put_u32(e.pos);
    }
    let crc = crc32c::crc32c(&b);
    b.put_u32(crc);
    b.freeze()
}

pub(crate) fn encode_time_index(base: Offset, size: u64, index: &TimeIndex) -> Bytes {
    let mut b = BytesMut::with_capacity(32 + index.entries.len() * 12);
    b.put_slice(TIME_INDEX_MAGIC);
    b.put_u16(VERSION);
    b.put_i64(base.0);
    b.put_u64(size);
    b.put_u32(u32::try_from(index.entries.len()).expect("time index entry count fits u32"));
    for e in &index.entries {
        b.put_i64(e.timestamp);
        b.put_u32(e.rel);
    }
    let crc = crc32c::crc32c(&b);
    b.put_u32(crc);
    b.freeze()
}

/// Bounds-checked big-endian reader over a verified body.
struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        if self.data.len() < N {
            return Err("index file too short".into());
        }
        let (head, rest) = self.data.split_at(N);
        self.data = rest;
        Ok(head.try_into().expect("split at N"))
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.take()?))
    }
}

/// Checks the trailer and magic, returns a reader over the body after the magic.
fn verified<'a>(bytes: &'a [u8], magic: &[u8; 4]) -> Result<Reader<'a>, String> {
    if bytes.len() < 4 + 2 + 4 {
        return Err("index file too short".into());
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 4);
    let want = u32::from_be_bytes(trailer.try_into().expect("4 bytes"));
    if crc32c::crc32c(body) != want {
        return Err("index checksum mismatch".into());
    }
    if &body[..4] != magic {
        return Err("bad index magic".into());
    }
    let mut r = Reader { data: &body[4..] };
    let version = r.u16()?;
    if version != VERSION {
        return Err(format!("unknown index version {version}"));
    }
    Ok(r)
}

/// Decode a `.index` file written for segment `base`.
pub(crate) fn decode_index(bytes: &[u8], base: Offset) -> Result<(SegmentSummary, OffsetIndex), String> {
    let mut r = verified(bytes, INDEX_MAGIC)?;
    let file_base = Offset(r.i64()?);
    if file_base != base {
        return Err(format!("index is for segment {file_base}, not {base}"));
    }
    let size = r.u64()?;
    let next_offset = Offset(r.i64()?);
    let max_timestamp = r.i64()?;
    let has_max = r.u8()?;
    let mb = BatchLoc { base: Offset(r.i64()?), next: Offset(r.i64()?), pos: r.u64()?, len: r.u32()? };
    let count = r.u32()? as usize;
    if r.data.len() != count.saturating_mul(8) {
        return Err("index entry count does not match its length".into());
    }
    if next_offset < base || (has_max == 1) != (next_offset > base) || has_max > 1 {
        return Err("index summary inconsistent".into());
    }
    let mut index = OffsetIndex::default();
    for _ in 0..count {
        let rel = r.u32()?;
        let pos = r.u32()?;
        if let Some(last) = index.entries.last() {
            if rel <= last.rel || pos <= last.pos {
                return Err("index entries not increasing".into());
            }
        }
        if u64::from(pos) >= size || base.0 + i64::from(rel) >= next_offset.0 {
            return Err("index entry beyond the segment".into());
        }
        index.entries.push(IndexEntry { rel, pos });
    }
    let max_batch = if has_max == 1 {
        if mb.base < base || mb.next > next_offset || mb.pos + u64::from(mb.len) > size {
            return Err("index max-timestamp batch beyond the segment".into());
        }
        Some(mb)
    } else {
        None
    };
    Ok((SegmentSummary { base, size, next_offset, max_timestamp, max_batch }, index))
}

/// Decode a `.timeindex` file written for segment `base` of `size` bytes ending at `next_offset`.
pub(crate) fn decode_time_index(bytes: &[u8], base: Offset, size: u64, next_offset: Offset) -> Result<TimeIndex, String> {
    let mut r = verified(bytes, TIME_INDEX_MAGIC)?;
    let file_base = Offset(r.i64()?);
    let file_size = r.u64()?;
    if file_base != base || file_size != size {
        return Err("time index does not match its segment".into());
    }
    let count = r.u32()? as usize;
    if r.data.len() != count.saturating_mul(12) {
        return Err("time index entry count does not match its length".into());
    }
    let mut index = TimeIndex::default();
    for _ in 0..count {
        let timestamp = r.i64()?;
        let rel = r.u32()?;
        if let Some(last) = index.entries.last() {
            if rel <= last.rel || timestamp <= last.timestamp {
                return Err("time index entries not increasing".into());
            }
        }
        if base.0 + i64::from(rel) >= next_offset.0 {
            return Err("time index entry beyond the segment".into());
        }
        index.entries.push(TimeEntry { timestamp, rel });
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (SegmentSummary, OffsetIndex, TimeIndex) {
        let mut oi = OffsetIndex::default();
        oi.push(10, 4096);
        oi.push(20, 8200);
        let mut ti = TimeIndex::default();
        ti.push(1000, 9);
        ti.push(900, 12); // ignored: not newer
        ti.push(2000, 19);
        let s = SegmentSummary {
            base: Offset(100),
            size: 10_000,
            next_offset: Offset(130),
            max_timestamp: 2000,
            max_batch: Some(BatchLoc { base: Offset(120), next: Offset(130), pos: 8200, len: 1800 }),
        };
        (s, oi, ti)
    }

    #[test]
    fn index_files_round_trip_and_detect_corruption() {
        // Proves: encode/decode are inverse, and any flipped byte or truncation is rejected.
        let (s, oi, ti) = sample();
        let ib = encode_index(&s, &oi);
        let tb = encode_time_index(s.base, s.size, &ti);
        assert_eq!(decode_index(&ib, s.base).unwrap(), (s.clone(), oi.clone()));
        assert_eq!(decode_time_index(&tb, s.base, s.size, s.next_offset).unwrap(), ti);
        assert!(decode_index(&ib, Offset(0)).is_err());
        assert!(decode_time_index(&tb, s.base, s.size + 1, s.next_offset).is_err());
        for i in 0..ib.len() {
            let mut bad = ib.to_vec();
            bad[i] ^= 0x40;
            assert!(decode_index(&bad, s.base).is_err(), "flip at {i}");
        }
        for n in 0..tb.len() {
            assert!(decode_time_index(&tb[..n], s.base, s.size, s.next_offset).is_err());
        }
    }

    #[test]
    fn lookups_pick_the_nearest_entry_below() {
        // Proves: offset lookup returns the largest entry <= target (or position 0),
        // time lookup the last entry strictly older than the target.
        let (_, oi, ti) = sample();
        assert_eq!(oi.lookup(5), IndexEntry { rel: 0, pos: 0 });
        assert_eq!(oi.lookup(10), IndexEntry { rel: 10, pos: 4096 });
        assert_eq!(oi.lookup(19), IndexEntry { rel: 10, pos: 4096 });
        assert_eq!(oi.lookup(25), IndexEntry { rel: 20, pos: 8200 });
        assert_eq!(ti.last_before(1000), None);
        assert_eq!(ti.last_before(1001).unwrap().rel, 9);
        assert_eq!(ti.last_before(5000).unwrap().rel, 19);
        assert_eq!(ti.len(), 2);
    }
}
