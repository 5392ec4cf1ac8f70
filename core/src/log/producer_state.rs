//! Idempotent producers: per partition, for every producer id, its epoch and the
//! metadata of its last [`BATCHES_RETAINED`] batches, checked on every client
//! append exactly as Kafka's `ProducerAppendInfo`/`ProducerStateEntry` do:
//!
//! - a batch with `producer_id >= 0` is idempotent; others are not tracked;
//! - an epoch below the producer's current one is fenced: INVALID_PRODUCER_EPOCH;
//! - a new (higher) epoch must start at sequence 0, unless the producer is unknown;
//! - within an epoch the base sequence must follow the last one (`last + 1`,
//!   wrapping from `i32::MAX` to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER;
//! - an unknown producer (never seen, expired, or its data deleted before a
//!   restart) may start at any sequence;
//! - a batch equal (epoch, first and last sequence) to one of the last five is a
//!   retry of a batch already in the log: it is not appended, and the produce is
//!   answered with the original offsets.
//!
//! The state lives with the log (so it moves with the partition) and is rebuilt
//! on recovery from a snapshot plus the batches after it. Snapshot file format
//! (big-endian), written whole with `ReplaceFile`, named by the offset it
//! describes (`{offset:020}.snapshot`, the base offset of the segment that follows
//! the sealed one it summarises, as Kafka names its snapshots):
//!
//! magic `CKPS` | version u16 | offset i64 | count u32 | count × (producer_id i64 |
//! epoch i16 | last_timestamp i64 | batches u8 | batches × (first_seq i32 |
//! last_seq i32 | first_offset i64 | last_offset i64 | max_timestamp i64)) |
//! crc32c u32 of every byte before it.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::records::BatchHeader;
use crate::types::Offset;

/// Batches remembered per producer (Kafka's `NUM_BATCHES_TO_RETAIN`; a producer
/// keeps at most five requests in flight, so a retry is always among them).
pub const BATCHES_RETAINED: usize = 5;

const SNAPSHOT_MAGIC: &[u8; 4] = b"CKPS";
const SNAPSHOT_VERSION: u16 = 1;
/// Bytes of one encoded producer without its batches, and of one batch.
const PRODUCER_LEN: usize = 8 + 2 + 8 + 1;
const BATCH_LEN: usize = 4 + 4 + 8 + 8 + 8;

/// Where one batch of a producer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub max_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    /// Oldest first; never empty once the producer appended.
    pub batches: VecDeque<BatchMeta>,
    /// Max timestamp of its last batch: expiration counts from it (as Kafka's
    /// `lastTimestamp`; it is in the log, so a rebuilt state expires alike).
    pub last_timestamp: i64,
}

impl ProducerEntry {
    fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }

    fn find_duplicate(&self, epoch: i16, first_seq: i32, last_seq: i32) -> Option<BatchMeta> {
        if epoch != self.epoch {
            return None;
        }
        self.batches.iter().find(|b| b.first_seq == first_seq && b.last_seq == last_seq).copied()
    }

    fn add(&mut self, epoch: i16, meta: BatchMeta) {
        if epoch != self.epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
        if self.batches.len() == BATCHES_RETAINED {
            self.batches.pop_front();
        }
        self.batches.push_back(meta);
        self.last_timestamp = meta.max_timestamp;
    }
}

/// Why an idempotent batch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqError {
    /// INVALID_PRODUCER_EPOCH: an older epoch than the producer's current one.
    InvalidEpoch(String),
    /// OUT_OF_ORDER_SEQUENCE_NUMBER: a gap, or a new epoch not starting at 0.
    OutOfOrder(String),
}

/// What to do with the batches of one append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// A retry of a batch in the log: answer with its metadata, append nothing.
    Duplicate(BatchMeta),
}

/// The sequence a batch ends at (Kafka's `DefaultRecordBatch.incrementSequence`):
/// sequences wrap from `i32::MAX` to 0.
pub fn last_sequence(base_sequence: i32, last_offset_delta: i32) -> i32 {
    if base_sequence < 0 {
        return base_sequence;
    }
    if base_sequence > i32::MAX - last_offset_delta {
        last_offset_delta - (i32::MAX - base_sequence) - 1
    } else {
        base_sequence + last_offset_delta
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// The producer state of one partition. See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerState {
    producers: BTreeMap<i64, ProducerEntry>,
}

impl ProducerState {
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The largest producer id seen, if any.
    pub fn max_producer_id(&self) -> Option<i64> {
        self.producers.keys().next_back().copied()
    }

    /// Check the batches of one client append, in order: each sees the batches
    /// before it (on a scratch copy; nothing changes here). As in Kafka, a
    /// duplicate is looked for in the state before this append, and the first one
    /// found answers for the whole append.
    pub fn check<'a>(&self, headers: impl IntoIterator<Item = &'a BatchHeader>) -> Result<Verdict, SeqError> {
        let mut scratch: BTreeMap<i64, ProducerEntry> = BTreeMap::new();
        for h in headers {
            if h.producer_id < 0 {
                continue;
            }
            let pid = h.producer_id;
            let (epoch, first_seq) = (h.producer_epoch, h.base_sequence);
            let last_seq = last_sequence(first_seq, h.last_offset_delta);
            if let Some(dup) = self.producers.get(&pid).and_then(|e| e.find_duplicate(epoch, first_seq, last_seq)) {
                return Ok(Verdict::Duplicate(dup));
            }
            let existing = scratch.get(&pid).or_else(|| self.producers.get(&pid)).cloned();
            if let Some(e) = &existing {
                check_entry(pid, e, epoch, first_seq)?;
            }
            let mut e = existing.unwrap_or_else(|| empty_entry(epoch));
            e.add(
                epoch,
                BatchMeta { first_seq, last_seq, first_offset: Offset(-1), last_offset: Offset(-1), max_timestamp: h.max_timestamp },
            );
            scratch.insert(pid, e);
        }
        Ok(Verdict::Append)
    }

    /// Record a batch now in the log (stamped with its offsets): after a checked
    /// append, and for every batch recovery reads. Not validated (as Kafka's
    /// replication and recovery origins).
    pub fn apply(&mut self, h: &BatchHeader) {
        if h.producer_id < 0 {
            return;
        }
        let meta = BatchMeta {
            first_seq: h.base_sequence,
            last_seq: last_sequence(h.base_sequence, h.last_offset_delta),
            first_offset: Offset(h.base_offset),
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
        };
        let e = self.producers.entry(h.producer_id).or_insert_with(|| empty_entry(h.producer_epoch));
        e.add(h.producer_epoch, meta);
    }

    /// Forget producers whose last batch is `expiration_ms` or more older than
    /// `now_ms` (`producer.id.expiration.ms`). Returns how many were dropped.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, e| now_ms.saturating_sub(e.last_timestamp) < expiration_ms);
        before - self.producers.len()
    }

    /// The snapshot file of this state, which describes the log up to `offset`.
    pub fn encode(&self, offset: Offset) -> Bytes {
        let batches: usize = self.producers.values().map(|e| e.batches.len()).sum();
        let mut b = BytesMut::with_capacity(22 + self.producers.len() * PRODUCER_LEN + batches * BATCH_LEN);
        b.put_slice(SNAPSHOT_MAGIC);
        b.put_u16(SNAPSHOT_VERSION);
        b.put_i64(offset.0);
        b.put_u32(u32::try_from(self.producers.len()).expect("producer count fits u32"));
        for (pid, e) in &self.producers {
            assert!(e.batches.len() <= BATCHES_RETAINED, "at most {BATCHES_RETAINED} batches per producer");
            b.put_i64(*pid);
            b.put_i16(e.epoch);
            b.put_i64(e.last_timestamp);
            b.put_u8(e.batches.len() as u8);
            for m in &e.batches {
                assert!(m.last_offset < offset, "a snapshot at {offset} holds only batches below it");
                b.put_i32(m.first_seq);
                b.put_i32(m.last_seq);
                b.put_i64(m.first_offset.0);
                b.put_i64(m.last_offset.0);
                b.put_i64(m.max_timestamp);
            }
        }
        let crc = crc32c::crc32c(&b);
        b.put_u32(crc);
        b.freeze()
    }

    /// Read a snapshot file: its offset and state, or why it is unusable. Every
    /// length is checked against the bytes present before use.
    pub fn decode(bytes: &[u8]) -> Result<(Offset, ProducerState), String> {
        if bytes.len() < 22 || &bytes[..4] != SNAPSHOT_MAGIC {
            return Err("not a producer snapshot".into());
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32c::crc32c(body) != u32::from_be_bytes(crc.try_into().expect("4 bytes")) {
            return Err("producer snapshot checksum mismatch".into());
        }
        let mut r = &body[4..];
        if r.get_u16() != SNAPSHOT_VERSION {
            return Err("unknown producer snapshot version".into());
        }
        let offset = Offset(r.get_i64());
        let count = r.get_u32() as usize;
        if offset.0 < 0 || count > r.remaining() / PRODUCER_LEN {
            return Err("producer snapshot header out of range".into());
        }
        let mut state = ProducerState::default();
        for _ in 0..count {
            if r.remaining() < PRODUCER_LEN {
                return Err("producer snapshot truncated".into());
            }
            let (pid, epoch, last_timestamp, n) = (r.get_i64(), r.get_i16(), r.get_i64(), r.get_u8() as usize);
            if pid < 0 || n == 0 || n > BATCHES_RETAINED || r.remaining() < n * BATCH_LEN {
                return Err(format!("producer snapshot entry for {pid} malformed"));
            }
            let mut batches = VecDeque::with_capacity(n);
            for _ in 0..n {
                let m = BatchMeta {
                    first_seq: r.get_i32(),
                    last_seq: r.get_i32(),
                    first_offset: Offset(r.get_i64()),
                    last_offset: Offset(r.get_i64()),
                    max_timestamp: r.get_i64(),
                };
                if m.first_offset.0 < 0 || m.first_offset > m.last_offset || m.last_offset >= offset {
                    return Err(format!("producer snapshot batch of {pid} has offsets outside the snapshot"));
                }
                batches.push_back(m);
            }
            if state.producers.insert(pid, ProducerEntry { epoch, batches, last_timestamp }).is_some() {
                return Err(format!("producer {pid} appears twice in the snapshot"));
            }
        }
        if r.has_remaining() {
            return Err("trailing bytes in producer snapshot".into());
        }
        Ok((offset, state))
    }
}

fn empty_entry(epoch: i16) -> ProducerEntry {
    ProducerEntry { epoch, batches: VecDeque::new(), last_timestamp: -1 }
}

/// Kafka's `checkProducerEpoch` and `checkSequence` for a client batch of a
/// known producer.
fn check_entry(pid: i64, e: &ProducerEntry, epoch: i16, first_seq: i32) -> Result<(), SeqError> {
    if epoch < e.epoch {
        return Err(SeqError::InvalidEpoch(format!("epoch {epoch} of producer {pid} is smaller than the last seen epoch {}", e.epoch)));
    }
    if epoch != e.epoch {
        if first_seq != 0 && e.epoch != -1 {
            return Err(SeqError::OutOfOrder(format!(
                "invalid sequence number {first_seq} for new epoch {epoch} of producer {pid} (current epoch {})",
                e.epoch
            )));
        }
        return Ok(());
    }
    // No known epoch (a batch that carried epoch -1): any sequence, as Kafka.
    if e.epoch == -1 {
        return Ok(());
    }
    let last = e.last_seq().unwrap_or(-1);
    if !in_sequence(last, first_seq) {
        return Err(SeqError::OutOfOrder(format!(
            "out of order sequence number for producer {pid}: {first_seq} (incoming), {last} (current end)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, base: i64) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 1000,
            max_timestamp: 1000 + base,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: count,
        }
    }

    /// Sequences wrap from i32::MAX to 0, as Kafka's `incrementSequence`.
    #[test]
    fn last_sequence_wraps() {
        assert_eq!(last_sequence(5, 2), 7);
        assert_eq!(last_sequence(i32::MAX, 0), i32::MAX);
        assert_eq!(last_sequence(i32::MAX, 1), 0);
        assert_eq!(last_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(last_sequence(-1, 3), -1);
    }

    /// The rules of the module docs, one by one.
    #[test]
    fn sequence_rules() {
        let mut s = ProducerState::default();
        // Unknown producer: any sequence.
        assert_eq!(s.check([&header(7, 0, 42, 3, 0)]), Ok(Verdict::Append));
        s.apply(&header(7, 0, 42, 3, 0));
        // In order.
        assert_eq!(s.check([&header(7, 0, 45, 1, 3)]), Ok(Verdict::Append));
        // Gap, and a sequence going back that is no duplicate.
        assert!(matches!(s.check([&header(7, 0, 46, 1, 3)]), Err(SeqError::OutOfOrder(_))));
        assert!(matches!(s.check([&header(7, 0, 43, 1, 3)]), Err(SeqError::OutOfOrder(_))));
        // Duplicate: the original offsets.
        match s.check([&header(7, 0, 42, 3, 99)]) {
            Ok(Verdict::Duplicate(m)) => assert_eq!((m.first_offset, m.last_offset), (Offset(0), Offset(2))),
            other => panic!("{other:?}"),
        }
        // Same sequences under another epoch are no duplicate; a new epoch starts at 0.
        assert!(matches!(s.check([&header(7, 1, 42, 3, 3)]), Err(SeqError::OutOfOrder(_))));
        assert_eq!(s.check([&header(7, 1, 0, 1, 3)]), Ok(Verdict::Append));
        s.apply(&header(7, 1, 0, 1, 3));
        // The old epoch is fenced now.
        assert!(matches!(s.check([&header(7, 0, 45, 1, 4)]), Err(SeqError::InvalidEpoch(_))));
        // Later batches of one append see the earlier ones.
        assert_eq!(s.check([&header(7, 1, 1, 2, 4), &header(7, 1, 3, 1, 6)]), Ok(Verdict::Append));
        assert!(matches!(s.check([&header(7, 1, 1, 2, 4), &header(7, 1, 1, 2, 6)]), Err(SeqError::OutOfOrder(_))));
        // Non-idempotent batches are not tracked.
        assert_eq!(s.check([&header(-1, -1, -1, 1, 4)]), Ok(Verdict::Append));
        s.apply(&header(-1, -1, -1, 1, 4));
        assert_eq!(s.len(), 1);
    }

    /// After a wrap the next sequence is 0.
    #[test]
    fn wrap_is_in_sequence() {
        let mut s = ProducerState::default();
        s.apply(&header(1, 0, i32::MAX - 1, 2, 0));
        assert!(matches!(s.check([&header(1, 0, i32::MAX, 1, 2)]), Err(SeqError::OutOfOrder(_))));
        assert_eq!(s.check([&header(1, 0, 0, 1, 2)]), Ok(Verdict::Append));
    }

    /// Only the last five batches are remembered as duplicates.
    #[test]
    fn five_batches_retained() {
        let mut s = ProducerState::default();
        for i in 0..6 {
            s.apply(&header(1, 0, i, 1, i64::from(i)));
        }
        for i in 1..6 {
            assert!(matches!(s.check([&header(1, 0, i, 1, 100)]), Ok(Verdict::Duplicate(m)) if m.first_offset == Offset(i64::from(i))));
        }
        assert!(matches!(s.check([&header(1, 0, 0, 1, 100)]), Err(SeqError::OutOfOrder(_))));
    }

    /// A snapshot round-trips; damaged ones are refused, never trusted.
    #[test]
    fn snapshot_round_trip_and_damage() {
        let mut s = ProducerState::default();
        for i in 0..7 {
            s.apply(&header(i64::from(i % 3), 2, i, 1, i64::from(i)));
        }
        let bytes = s.encode(Offset(7));
        assert_eq!(ProducerState::decode(&bytes), Ok((Offset(7), s.clone())));
        for cut in [0, 5, 21, bytes.len() - 1] {
            assert!(ProducerState::decode(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.to_vec();
        bad[30] ^= 1;
        assert!(ProducerState::decode(&bad).is_err());
        // A hostile count with a valid checksum is refused before any allocation.
        let mut hostile = bytes[..14].to_vec();
        hostile.extend_from_slice(&u32::MAX.to_be_bytes());
        let crc = crc32c::crc32c(&hostile);
        hostile.extend_from_slice(&crc.to_be_bytes());
        assert!(ProducerState::decode(&hostile).is_err());
        assert!(ProducerState::default().encode(Offset(0)).len() == 22);
    }

    /// Producers idle for the expiration time are forgotten.
    #[test]
    fn expiration() {
        let mut s = ProducerState::default();
        s.apply(&header(1, 0, 0, 1, 0)); // max timestamp 1000
        s.apply(&header(2, 0, 0, 1, 500)); // 1500
        assert_eq!(s.expire(1999, 1000), 0);
        assert_eq!(s.expire(2000, 1000), 1);
        assert!(s.get(1).is_none() && s.get(2).is_some());
    }
}
