//! Idempotent producers in the partition log: the checks on append, and the
//! state rebuilt on recovery (from a snapshot, without one, after a torn tail).
//! The sequence rules themselves are unit-tested in `producer_state`.

use bytes::Bytes;

use crate::records::{build_batch, BatchHeader, Compression, Record, ValidBatch};
use crate::types::{LeaderEpoch, Millis, Offset};

use super::tests::{batch, offsets_in, seg_path, small_config, Fx};
use super::*;

/// An idempotent batch of `n` records from producer `pid` at `epoch`, starting at sequence `seq`.
fn idem(pid: i64, epoch: i16, seq: i32, n: usize) -> ValidBatch {
    let records: Vec<Record> = (0..n)
        .map(|i| Record { timestamp: 1000 + i as i64, value: Some(Bytes::from(format!("p{pid}-{seq:010}-{i}"))), ..Default::default() })
        .collect();
    let bytes = build_batch(&records, Compression::None, pid, epoch, seq);
    let header = BatchHeader::parse(&bytes).expect("built batch parses");
    ValidBatch { bytes, header }
}

fn append(fx: &mut Fx, b: ValidBatch) -> Result<AppendResult, LogError> {
    let now = fx.now;
    let r = fx.log.append(&[b], LeaderEpoch(0), now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    fx.run();
    r
}

/// Two five-record batches per segment.
fn two_per_segment() -> LogConfig {
    let one = idem(1, 0, 0, 5).bytes.len() as u64;
    LogConfig { segment_bytes: one * 2, ..small_config() }
}

fn reads(fx: &Fx) -> usize {
    fx.disk.log.iter().filter(|l| l.starts_with("Read {")).count()
}

#[test]
fn retries_of_each_of_the_last_five_batches_answer_their_offsets_and_append_nothing() {
    // Proves: a retry of any of the last five batches is not appended and gets
    // the original offsets; the sixth-newest is no longer known and is out of order.
    let mut fx = Fx::create(small_config());
    for i in 0..6 {
        let r = append(&mut fx, idem(7, 0, i * 5, 5)).unwrap();
        assert_eq!((r.base_offset, r.duplicate), (Offset(i64::from(i) * 5), false));
    }
    fx.sync();
    let size = fx.log.size_bytes();
    for i in 1..6 {
        let r = append(&mut fx, idem(7, 0, i * 5, 5)).unwrap();
        assert!(r.duplicate);
        assert_eq!((r.base_offset, r.last_offset), (Offset(i64::from(i) * 5), Offset(i64::from(i) * 5 + 4)));
    }
    assert!(matches!(append(&mut fx, idem(7, 0, 0, 5)), Err(LogError::OutOfOrderSequence(_))));
    assert_eq!((fx.log.log_end_offset(), fx.log.size_bytes()), (Offset(30), size), "nothing appended");
    assert!(!fx.log.needs_sync());
}

#[test]
fn gaps_old_epochs_and_new_epochs_not_at_zero_are_refused_without_writing() {
    // Proves: the log refuses out-of-order and fenced batches before writing,
    // accepts a new epoch at 0, and non-idempotent batches are never checked.
    let mut fx = Fx::create(small_config());
    append(&mut fx, idem(3, 2, 100, 2)).unwrap();
    assert!(matches!(append(&mut fx, idem(3, 2, 103, 1)), Err(LogError::OutOfOrderSequence(_))));
    assert!(matches!(append(&mut fx, idem(3, 1, 102, 1)), Err(LogError::InvalidProducerEpoch(_))));
    assert!(matches!(append(&mut fx, idem(3, 3, 5, 1)), Err(LogError::OutOfOrderSequence(_))));
    assert_eq!(fx.log.log_end_offset(), Offset(2));
    assert_eq!(append(&mut fx, idem(3, 3, 0, 1)).unwrap().base_offset, Offset(2));
    assert!(matches!(append(&mut fx, idem(3, 2, 102, 1)), Err(LogError::InvalidProducerEpoch(_))));
    assert_eq!(append(&mut fx, batch(1, 0)).unwrap().base_offset, Offset(3));
    assert_eq!(append(&mut fx, idem(3, 3, i32::MAX, 1)).err().map(|_| ()), Some(()), "gap");
}

/// Segments 0 [seq 0, 5], 10 [10, 15], 20 [20] of producer 1 and one batch of producer 2.
fn three_segments() -> Fx {
    let mut fx = Fx::create(two_per_segment());
    for i in 0..4 {
        append(&mut fx, idem(1, 0, i * 5, 5)).unwrap();
    }
    append(&mut fx, idem(2, 4, 0, 5)).unwrap();
    fx.sync();
    assert_eq!(fx.segment_files(), vec![seg_path(0, "log"), seg_path(10, "log"), seg_path(20, "log")]);
    fx
}

#[test]
fn producer_state_survives_a_restart_from_its_snapshot() {
    // Proves: sealed segments leave a snapshot named by the next segment's base;
    // after a restart only the active segment is read, the state is identical
    // and a retry of a batch from before the restart is still a duplicate.
    let fx = three_segments();
    assert!(fx.disk.files.contains_key(&seg_path(10, "snapshot")) && fx.disk.files.contains_key(&seg_path(20, "snapshot")));
    let before = fx.log.producers().clone();
    let disk = fx.close();
    let mut fx = Fx::open(disk, two_per_segment(), Millis(2_000_000));
    assert_eq!(reads(&fx), 1, "only the active segment is scanned");
    assert_eq!(fx.log.producers(), &before);
    let r = append(&mut fx, idem(1, 0, 15, 5)).unwrap();
    assert!(r.duplicate && r.base_offset == Offset(15));
    assert!(matches!(append(&mut fx, idem(2, 4, 10, 1)), Err(LogError::OutOfOrderSequence(_))));
}

#[test]
fn without_a_usable_snapshot_every_segment_is_scanned_to_the_same_state() {
    // Proves: with the snapshots gone, or the newest corrupt, recovery scans
    // every segment and rebuilds exactly the same state, then writes snapshots again.
    for damage in ["remove", "corrupt"] {
        let fx = three_segments();
        let before = fx.log.producers().clone();
        let mut disk = fx.close();
        match damage {
            "remove" => disk.files.retain(|p, _| !p.ends_with(".snapshot")),
            _ => disk.corrupt(&seg_path(20, "snapshot"), 9),
        }
        let fx = Fx::open(disk, two_per_segment(), Millis(2_000_000));
        assert_eq!(reads(&fx), 3, "{damage}: every segment scanned");
        assert_eq!(fx.log.producers(), &before, "{damage}");
        let disk = fx.close();
        let fx = Fx::open(disk, two_per_segment(), Millis(3_000_000));
        assert_eq!((reads(&fx), fx.log.producers()), (1, &before), "{damage}: snapshots rewritten");
    }
}

#[test]
fn a_torn_tail_leaves_the_state_of_the_truncated_log() {
    // Proves: batches cut off by recovery are gone from the producer state too:
    // the lost batch is appended anew (no false duplicate), the kept one is a duplicate.
    let mut fx = Fx::create(small_config());
    append(&mut fx, idem(1, 0, 0, 5)).unwrap();
    append(&mut fx, idem(1, 0, 5, 5)).unwrap();
    fx.sync();
    append(&mut fx, idem(1, 0, 10, 5)).unwrap();
    append(&mut fx, idem(1, 0, 15, 5)).unwrap();
    let one = idem(1, 0, 0, 5).bytes.len();
    let mut disk = fx.disk;
    disk.crash(|_, unsynced| (one + one / 2).min(unsynced));
    let mut fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(15));
    assert_eq!(fx.log.producers().get(1).unwrap().batches.back().unwrap().last_seq, 14);
    assert!(append(&mut fx, idem(1, 0, 10, 5)).unwrap().duplicate);
    let r = append(&mut fx, idem(1, 0, 15, 5)).unwrap();
    assert_eq!((r.base_offset, r.duplicate), (Offset(15), false));
}

#[test]
fn corruption_below_the_snapshot_rebuilds_from_the_truncated_log() {
    // Proves: a segment below the newest snapshot that must be rescanned (its
    // index is damaged) disables the snapshot; corruption found there truncates
    // the log, drops the later segments with their snapshots, and the state
    // matches what is left.
    let fx = three_segments();
    let one = idem(1, 0, 0, 5).bytes.len();
    let mut disk = fx.close();
    disk.corrupt(&seg_path(10, "index"), 3);
    disk.corrupt(&seg_path(10, "log"), one + 70);
    let mut fx = Fx::open(disk, two_per_segment(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(15));
    assert!(!fx.disk.files.contains_key(&seg_path(20, "snapshot")));
    assert!(fx.log.producers().get(2).is_none(), "producer 2 only wrote past the truncation");
    assert_eq!(fx.log.producers().get(1).unwrap().batches.back().unwrap().last_offset, Offset(14));
    assert!(append(&mut fx, idem(1, 0, 10, 5)).unwrap().duplicate);
    assert!(!append(&mut fx, idem(1, 0, 15, 5)).unwrap().duplicate);
    assert_eq!(offsets_in(&fx.read(15, 1 << 20, 20).unwrap()), (15..20).collect::<Vec<_>>());
}

#[test]
fn retention_removes_the_snapshot_of_a_deleted_segment_and_expiry_forgets_producers() {
    // Proves: deleting segment 0 removes the snapshot named 0 (none) and keeps the
    // one at 10 (the state at the new start); the state itself is unchanged by
    // retention, and idle producers expire by their last batch's timestamp.
    let mut fx = three_segments();
    let before = fx.log.producers().clone();
    fx.log.delete_records_before(Offset(10), &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.run();
    assert_eq!(fx.segment_files(), vec![seg_path(10, "log"), seg_path(20, "log")]);
    assert!(fx.disk.files.contains_key(&seg_path(10, "snapshot")));
    // Segment 10 goes too: its snapshot (the state at offset 10) with it.
    fx.log.delete_records_before(Offset(20), &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.run();
    assert!(!fx.disk.files.contains_key(&seg_path(10, "snapshot")));
    assert_eq!(fx.log.producers(), &before);
    let disk = fx.close();
    let mut fx = Fx::open(disk, two_per_segment(), Millis(2_000_000));
    assert_eq!(fx.log.producers(), &before, "the snapshot at 20 keeps producers whose data is gone");
    // Records carry timestamps 1000..1004.
    fx.log.expire_producers(Millis(1004 + 99), 100);
    assert_eq!(fx.log.producers().len(), 2);
    fx.log.expire_producers(Millis(1004 + 100), 100);
    assert!(fx.log.producers().is_empty());
}
