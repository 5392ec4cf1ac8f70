//! The leader-epoch cache of one partition (Kafka's `LeaderEpochFileCache`):
//! which leader epoch began at which offset, so a follower can find where its
//! log diverges from the leader's (KIP-101/279/320: OffsetsForLeaderEpoch).
//!
//! Entries are `(epoch, start offset)`, epochs strictly increasing and start
//! offsets non-decreasing. They are added when a batch of a new, higher epoch is
//! appended (or scanned during recovery), and cut with the log: from the end when
//! a follower truncates, from the start when the log start offset moves.
//!
//! # On disk
//!
//! `leader-epoch-checkpoint` in the partition directory, Kafka's text format:
//! a version line `0`, a line with the number of entries, then one
//! `epoch offset` line per entry. Written whole with `ReplaceFile`.

use bytes::Bytes;

use crate::types::{LeaderEpoch, Offset};

/// Name of the checkpoint file in the partition directory.
pub const EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
/// Kafka's checkpoint format version.
const CHECKPOINT_VERSION: u32 = 0;
/// Entries a checkpoint may hold; more is corruption (an epoch per leader change).
pub const EPOCH_ENTRIES_MAX: usize = 1 << 20;
/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// One leader epoch and the first offset written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: LeaderEpoch,
    pub start_offset: Offset,
}

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// A cache holding `entries`, which must be monotonic (see [`assign`](Self::assign)).
    pub fn from_entries(entries: &[EpochEntry]) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::default();
        for e in entries {
            cache.assign(e.epoch, e.start_offset);
        }
        cache
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|e| e.epoch)
    }

    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    /// The first offset of `epoch`, if the cache knows it.
    pub fn epoch_start_offset(&self, epoch: LeaderEpoch) -> Option<Offset> {
        let i = self.entries.binary_search_by_key(&epoch, |e| e.epoch).ok()?;
        Some(self.entries[i].start_offset)
    }

    /// Record that `epoch` began at `start_offset`. Entries only grow: the epoch
    /// must be above the latest and the offset not below its start (a caller's
    /// bug otherwise, asserted). The latest epoch again is a no-op.
    pub fn assign(&mut self, epoch: LeaderEpoch, start_offset: Offset) {
        assert!(epoch.0 >= 0 && start_offset.0 >= 0, "invalid epoch entry {epoch:?} at {start_offset}");
        if let Some(last) = self.entries.last() {
            if last.epoch == epoch {
                return;
            }
            assert!(epoch > last.epoch, "leader epochs only grow: {epoch:?} after {:?}", last.epoch);
            assert!(start_offset >= last.start_offset, "epoch start offsets only grow: {start_offset} after {}", last.start_offset);
        }
        self.entries.push(EpochEntry { epoch, start_offset });
    }

    /// Kafka's OffsetsForLeaderEpoch answer for `requested`, as
    /// `LeaderEpochFileCache.endOffsetFor`: the latest epoch ends at the log end
    /// offset; an epoch with a higher one after it ends where the next higher one
    /// starts, answered with the largest known epoch at or below it (or, when the
    /// requested epoch is below every entry, the requested epoch itself and the
    /// first entry's start: that history was removed from the log); an epoch above
    /// every entry, UNDEFINED, or an empty cache: `(-1, -1)`.
    pub fn end_offset_for(&self, requested: LeaderEpoch, log_end: Offset) -> (LeaderEpoch, Offset) {
        let undefined = (LeaderEpoch(UNDEFINED_EPOCH), Offset(UNDEFINED_EPOCH_OFFSET));
        if requested.0 == UNDEFINED_EPOCH {
            return undefined;
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end);
        }
        // First entry with an epoch above the requested one.
        let higher = self.entries.partition_point(|e| e.epoch <= requested);
        let Some(next) = self.entries.get(higher) else { return undefined };
        match higher.checked_sub(1).map(|i| self.entries[i]) {
            Some(floor) => (floor.epoch, next.start_offset),
            None => (requested, next.start_offset),
        }
    }

    /// Drop every entry starting at or after `end` (the log was truncated to
    /// `end`). Whether anything was dropped.
    pub fn truncate_from_end(&mut self, end: Offset) -> bool {
        let keep = self.entries.partition_point(|e| e.start_offset < end);
        let changed = keep < self.entries.len();
        self.entries.truncate(keep);
        changed
    }

    /// The log now starts at `start`: drop every entry starting at or below it
    /// except the last of them, which is moved to start at `start` (Kafka's
    /// `truncateFromStart`). Whether anything changed.
    pub fn truncate_from_start(&mut self, start: Offset) -> bool {
        let at_or_below = self.entries.partition_point(|e| e.start_offset <= start);
        if at_or_below == 0 {
            return false;
        }
        let kept = EpochEntry { epoch: self.entries[at_or_below - 1].epoch, start_offset: start };
        let changed = at_or_below > 1 || self.entries[0] != kept;
        self.entries.drain(..at_or_below - 1);
        self.entries[0] = kept;
        changed
    }

    /// Kafka's checkpoint text (see the module docs).
    pub fn encode(&self) -> Bytes {
        let mut s = format!("{CHECKPOINT_VERSION}\n{}\n", self.entries.len());
        for e in &self.entries {
            s.push_str(&format!("{} {}\n", e.epoch.0, e.start_offset.0));
        }
        Bytes::from(s)
    }

    /// Parse a checkpoint: the exact version, the declared number of entries,
    /// each a valid and monotonic entry, nothing after them. Anything else is
    /// refused (the caller rebuilds the cache from the log).
    pub fn decode(bytes: &[u8]) -> Result<LeaderEpochCache, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "checkpoint is not UTF-8".to_string())?;
        let mut lines = text.lines();
        let version: u32 = parse_field(lines.next(), "version")?;
        if version != CHECKPOINT_VERSION {
            return Err(format!("unknown checkpoint version {version}"));
        }
        let count: usize = parse_field(lines.next(), "entry count")?;
        if count > EPOCH_ENTRIES_MAX {
            return Err(format!("{count} entries is more than {EPOCH_ENTRIES_MAX}"));
        }
        let mut cache = LeaderEpochCache::default();
        for i in 0..count {
            let line = lines.next().ok_or_else(|| format!("entry {i} of {count} missing"))?;
            let mut fields = line.split_whitespace();
            let epoch: i32 = parse_field(fields.next(), "epoch")?;
            let start: i64 = parse_field(fields.next(), "start offset")?;
            if fields.next().is_some() {
                return Err(format!("entry {i}: extra fields in {line:?}"));
            }
            if epoch < 0 || start < 0 {
                return Err(format!("entry {i}: negative epoch or offset in {line:?}"));
            }
            if let Some(last) = cache.latest_entry() {
                if epoch <= last.epoch.0 || start < last.start_offset.0 {
                    return Err(format!("entry {i}: {line:?} does not follow {last:?}"));
                }
            }
            cache.assign(LeaderEpoch(epoch), Offset(start));
        }
        if lines.any(|l| !l.trim().is_empty()) {
            return Err("data after the last entry".into());
        }
        Ok(cache)
    }
}

fn parse_field<T: std::str::FromStr>(field: Option<&str>, what: &str) -> Result<T, String> {
    let field = field.ok_or_else(|| format!("{what} missing"))?;
    field.trim().parse().map_err(|_| format!("{what}: cannot parse {field:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::default();
        for &(e, o) in entries {
            c.assign(LeaderEpoch(e), Offset(o));
        }
        c
    }

    fn end(c: &LeaderEpochCache, requested: i32, log_end: i64) -> (i32, i64) {
        let (e, o) = c.end_offset_for(LeaderEpoch(requested), Offset(log_end));
        (e.0, o.0)
    }

    #[test]
    fn one_epoch_ends_at_the_log_end_and_others_are_undefined_or_below() {
        // Proves: with a single epoch, asking for it gives the log end offset; an
        // epoch above it is undefined; an epoch below it gets its start (Kafka).
        let c = cache(&[(3, 10)]);
        assert_eq!(end(&c, 3, 50), (3, 50));
        assert_eq!(end(&c, 4, 50), (-1, -1));
        assert_eq!(end(&c, 2, 50), (2, 10));
        assert_eq!(end(&c, -1, 50), (-1, -1));
        assert_eq!(c.latest_epoch(), Some(LeaderEpoch(3)));
        assert_eq!(c.epoch_start_offset(LeaderEpoch(3)), Some(Offset(10)));
        assert_eq!(c.epoch_start_offset(LeaderEpoch(2)), None);
    }

    #[test]
    fn gaps_between_epochs_answer_with_the_floor_epoch_and_the_next_start() {
        // Proves Kafka's endOffsetFor for requested epochs below the first, equal
        // to one, between two, equal to the latest and above the latest.
        let c = cache(&[(1, 0), (4, 20), (7, 35)]);
        assert_eq!(end(&c, 0, 99), (0, 0), "below the first: the requested epoch and the first start");
        assert_eq!(end(&c, 1, 99), (1, 20), "equal: ends where the next epoch starts");
        assert_eq!(end(&c, 2, 99), (1, 20), "between: the floor epoch, the next start");
        assert_eq!(end(&c, 4, 99), (4, 35));
        assert_eq!(end(&c, 6, 99), (4, 35));
        assert_eq!(end(&c, 7, 99), (7, 99), "the latest ends at the log end offset");
        assert_eq!(end(&c, 8, 99), (-1, -1), "above the latest: undefined");
    }

    #[test]
    fn an_empty_cache_knows_no_epoch() {
        // Proves: before any append every request is undefined.
        let c = LeaderEpochCache::default();
        assert_eq!(end(&c, 0, 0), (-1, -1));
        assert_eq!(c.latest_epoch(), None);
    }

    #[test]
    fn reassigning_the_latest_epoch_is_a_no_op() {
        // Proves: appends within the epoch add nothing; an epoch that starts with
        // no data in the previous one shares its start offset.
        let mut c = cache(&[(0, 0)]);
        c.assign(LeaderEpoch(0), Offset(5));
        c.assign(LeaderEpoch(2), Offset(5));
        c.assign(LeaderEpoch(5), Offset(5));
        assert_eq!(c, cache(&[(0, 0), (2, 5), (5, 5)]));
    }

    #[test]
    #[should_panic(expected = "leader epochs only grow")]
    fn a_lower_epoch_is_a_bug() {
        // Proves: the cache never goes back in epochs.
        let mut c = cache(&[(4, 0)]);
        c.assign(LeaderEpoch(3), Offset(9));
    }

    #[test]
    #[should_panic(expected = "epoch start offsets only grow")]
    fn a_lower_start_offset_is_a_bug() {
        // Proves: an epoch never starts before the previous one.
        let mut c = cache(&[(4, 10)]);
        c.assign(LeaderEpoch(5), Offset(9));
    }

    #[test]
    fn truncation_from_the_end_drops_epochs_starting_at_or_after_it() {
        // Proves truncateFromEnd: entries starting at or past the new end go,
        // the epoch holding the new end stays.
        let mut c = cache(&[(1, 0), (4, 20), (7, 35)]);
        assert!(!c.truncate_from_end(Offset(36)));
        assert!(c.truncate_from_end(Offset(35)));
        assert_eq!(c, cache(&[(1, 0), (4, 20)]));
        assert!(c.truncate_from_end(Offset(10)));
        assert_eq!(c, cache(&[(1, 0)]));
        assert!(c.truncate_from_end(Offset(0)));
        assert!(c.is_empty());
    }

    #[test]
    fn truncation_from_the_start_keeps_the_epoch_holding_the_new_start() {
        // Proves truncateFromStart: the last entry at or below the new start
        // moves to it, earlier ones go, later ones stay.
        let mut c = cache(&[(1, 0), (4, 20), (7, 35)]);
        assert!(!c.truncate_from_start(Offset(0)), "nothing below the start");
        assert!(c.truncate_from_start(Offset(25)));
        assert_eq!(c, cache(&[(4, 25), (7, 35)]));
        assert!(c.truncate_from_start(Offset(35)));
        assert_eq!(c, cache(&[(7, 35)]));
        assert!(c.truncate_from_start(Offset(40)));
        assert_eq!(c, cache(&[(7, 40)]));
    }

    #[test]
    fn the_checkpoint_text_round_trips_in_kafkas_format() {
        // Proves: the file is Kafka's text format and decodes to the same cache.
        let c = cache(&[(0, 0), (2, 17), (5, 40)]);
        let text = c.encode();
        assert_eq!(&text[..], b"0\n3\n0 0\n2 17\n5 40\n");
        assert_eq!(LeaderEpochCache::decode(&text), Ok(c));
        let empty = LeaderEpochCache::default();
        assert_eq!(LeaderEpochCache::decode(&empty.encode()), Ok(empty));
    }

    #[test]
    fn garbage_checkpoints_are_refused() {
        // Proves: a torn, corrupt, non-monotonic or oversized file is an error,
        // never a partial or wrong cache.
        for bad in [
            &b""[..],
            b"1\n0\n",
            b"0\n",
            b"0\n2\n0 0\n",
            b"0\n1\n0 0\n3 5\n",
            b"0\n1\n0\n",
            b"0\n1\n0 0 0\n",
            b"0\n1\nx 0\n",
            b"0\n1\n-1 0\n",
            b"0\n2\n3 0\n2 5\n",
            b"0\n2\n3 5\n4 2\n",
            b"0\n2\n3 5\n3 6\n",
            b"0\n99999999999\n",
            b"\xff\xfe",
        ] {
            assert!(LeaderEpochCache::decode(bad).is_err(), "accepted {:?}", String::from_utf8_lossy(bad));
        }
    }
}
