//! Leader-epoch cache and truncation tests of the partition log, against the
//! in-memory disk of `crate::testdisk`.

use crate::types::{LeaderEpoch, Millis, Offset};

use super::epoch_cache::{LeaderEpochCache, EPOCH_CHECKPOINT_FILE};
use super::tests::{batch, small_config, Fx};
use super::*;

fn append_at(fx: &mut Fx, epoch: i32, n: usize) -> AppendResult {
    let now = fx.now;
    let r = fx.log.append(&[batch(n, 0)], LeaderEpoch(epoch), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).expect("append");
    fx.run();
    r
}

fn entries(log: &PartitionLog) -> Vec<(i32, i64)> {
    log.epochs().entries().iter().map(|e| (e.epoch.0, e.start_offset.0)).collect()
}

fn checkpoint_on_disk(fx: &Fx) -> LeaderEpochCache {
    let f = &fx.disk.files[&format!("orders-0/{EPOCH_CHECKPOINT_FILE}")];
    LeaderEpochCache::decode(&f.written).expect("checkpoint decodes")
}

fn truncate(fx: &mut Fx, offset: i64) {
    fx.log.truncate_to(Offset(offset), &mut IoScope { queue: &mut fx.q, owner: 1 }).expect("truncate");
    fx.run();
    assert!(!fx.log.truncating(), "truncation finished");
}

/// Segments of two 5-record batches each.
fn two_batch_segments() -> LogConfig {
    let one = batch(5, 0).bytes.len() as u64;
    LogConfig { segment_bytes: 2 * one, index_interval_bytes: 1, ..small_config() }
}

#[test]
fn appends_at_new_epochs_are_cached_checkpointed_and_recovered() {
    // Proves: appends at epochs 0,0,2,5 record (0,0),(2,b),(5,b'), the checkpoint
    // file holds them in Kafka's format, and a restart loads the same cache.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 3);
    append_at(&mut fx, 0, 2);
    append_at(&mut fx, 2, 4);
    append_at(&mut fx, 5, 1);
    fx.sync();
    assert_eq!(entries(&fx.log), vec![(0, 0), (2, 5), (5, 9)]);
    assert_eq!(&checkpoint_on_disk(&fx), fx.log.epochs());
    assert_eq!(fx.log.end_offset_for(LeaderEpoch(2)), (LeaderEpoch(2), Offset(9)));
    assert_eq!(fx.log.end_offset_for(LeaderEpoch(5)), (LeaderEpoch(5), Offset(10)));
    assert_eq!(fx.log.epoch_start_offset(LeaderEpoch(2)), Some(Offset(5)));
    let before = fx.log.epochs().clone();
    let disk = fx.close();
    let fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.epochs(), &before);
    assert_eq!(fx.log.latest_epoch(), Some(LeaderEpoch(5)));
}

#[test]
fn an_append_at_a_lower_epoch_is_refused() {
    // Proves: a stale leader's append never reaches the log or the cache.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 4, 1);
    let now = fx.now;
    let r = fx.log.append(&[batch(1, 0)], LeaderEpoch(3), now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    assert_eq!(r, Err(LogError::NotReady));
    assert_eq!(fx.log.log_end_offset(), Offset(1));
    assert_eq!(entries(&fx.log), vec![(4, 0)]);
}

#[test]
fn a_crash_losing_the_unsynced_tail_drops_its_epochs() {
    // Proves: after a crash that loses unsynced batches of a new epoch (its
    // checkpoint write survived), the cache equals the one rebuilt from what
    // survived: no entry at or beyond the recovered log end.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 3);
    append_at(&mut fx, 1, 3);
    fx.sync();
    append_at(&mut fx, 7, 3);
    assert_eq!(entries(&fx.log), vec![(0, 0), (1, 3), (7, 6)]);
    assert_eq!(entries_of(&checkpoint_on_disk(&fx)), vec![(0, 0), (1, 3), (7, 6)]);
    let mut disk = fx.disk;
    disk.crash(|_, _| 0);
    let fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(6));
    assert_eq!(entries(&fx.log), vec![(0, 0), (1, 3)]);
    assert_eq!(&checkpoint_on_disk(&fx), fx.log.epochs(), "the checkpoint is rewritten to match");
}

fn entries_of(c: &LeaderEpochCache) -> Vec<(i32, i64)> {
    c.entries().iter().map(|e| (e.epoch.0, e.start_offset.0)).collect()
}

#[test]
fn a_missing_or_garbage_checkpoint_is_rebuilt_from_every_segment() {
    // Proves: without a usable checkpoint, recovery scans every segment (even
    // those with valid indexes) and rebuilds the same cache and producer state.
    for garbage in [None, Some(&b"0\n7\n1 2\n"[..])] {
        let config = two_batch_segments();
        let mut fx = Fx::create(config.clone());
        for epoch in [0, 0, 1, 1, 1, 4, 6] {
            append_at(&mut fx, epoch, 5);
        }
        fx.sync();
        let before = fx.log.epochs().clone();
        assert_eq!(entries(&fx.log), vec![(0, 0), (1, 10), (4, 25), (6, 30)]);
        let mut disk = fx.close();
        let path = format!("orders-0/{EPOCH_CHECKPOINT_FILE}");
        match garbage {
            None => {
                disk.files.remove(&path);
            }
            Some(bytes) => {
                disk.files.get_mut(&path).unwrap().written = bytes.to_vec();
            }
        }
        let fx = Fx::open(disk, config, Millis(2_000_000));
        assert_eq!(fx.log.epochs(), &before);
        assert_eq!(&checkpoint_on_disk(&fx), &before);
        assert_eq!(fx.log.log_end_offset(), Offset(35));
    }
}

#[test]
fn truncation_inside_a_segment_then_a_new_epoch() {
    // Proves: truncate_to in the middle of the active segment cuts at the batch
    // boundary, drops the epochs after it (memory and checkpoint), and appends
    // at a new epoch continue from there and survive a restart.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 4);
    append_at(&mut fx, 2, 4);
    append_at(&mut fx, 2, 4);
    append_at(&mut fx, 3, 4);
    fx.sync();
    truncate(&mut fx, 8);
    assert_eq!(fx.log.log_end_offset(), Offset(8));
    assert_eq!(fx.log.durable_offset(), Offset(8));
    assert_eq!(entries(&fx.log), vec![(0, 0), (2, 4)]);
    assert_eq!(&checkpoint_on_disk(&fx), fx.log.epochs());
    assert_eq!(fx.disk.len(&super::tests::seg_path(0, "log")), 2 * batch(4, 0).bytes.len());
    let r = append_at(&mut fx, 5, 2);
    assert_eq!((r.base_offset, r.last_offset), (Offset(8), Offset(9)));
    assert_eq!(entries(&fx.log), vec![(0, 0), (2, 4), (5, 8)]);
    fx.sync();
    let got = fx.read(0, 1 << 20, 10).unwrap();
    assert_eq!(crate::records::scan(&got, true).batches.len(), 3);
    let disk = fx.close();
    let fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(10));
    assert_eq!(entries(&fx.log), vec![(0, 0), (2, 4), (5, 8)]);
}

#[test]
fn truncation_across_segments_inside_a_batch() {
    // Proves: truncating into an earlier segment removes the later segments'
    // files, cuts the holding segment at the start of the batch that holds the
    // offset (so the end is that batch's base), makes it the active segment,
    // and the log rolls and recovers normally afterwards.
    let config = two_batch_segments();
    let mut fx = Fx::create(config.clone());
    for epoch in [0, 1, 1, 3, 3, 4, 4] {
        append_at(&mut fx, epoch, 5);
    }
    fx.sync();
    assert_eq!(fx.segment_files().len(), 4);
    assert_eq!(entries(&fx.log), vec![(0, 0), (1, 5), (3, 15), (4, 25)]);
    truncate(&mut fx, 17);
    assert_eq!(fx.log.log_end_offset(), Offset(15), "the batch 15..19 holding 17 is dropped whole");
    assert_eq!(entries(&fx.log), vec![(0, 0), (1, 5)]);
    assert_eq!(fx.segment_files(), vec![super::tests::seg_path(0, "log"), super::tests::seg_path(10, "log")]);
    assert!(!fx.disk.files.contains_key(&super::tests::seg_path(10, "index")), "the cut segment is active again");
    assert_eq!(&checkpoint_on_disk(&fx), fx.log.epochs());
    append_at(&mut fx, 6, 5);
    append_at(&mut fx, 6, 5);
    fx.sync();
    assert_eq!(fx.log.log_end_offset(), Offset(25));
    assert_eq!(entries(&fx.log), vec![(0, 0), (1, 5), (6, 15)]);
    let disk = fx.close();
    let mut fx = Fx::open(disk, config, Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(25));
    assert_eq!(entries(&fx.log), vec![(0, 0), (1, 5), (6, 15)]);
    let got = fx.read(10, 1 << 20, 25).unwrap();
    let bases: Vec<i64> = crate::records::scan(&got, true).batches.iter().map(|(_, h)| h.base_offset).collect();
    assert_eq!(bases, vec![10, 15]);
}

#[test]
fn truncation_rebuilds_the_producer_state() {
    // Proves: after truncating an idempotent producer's batches, its state is
    // the one before them, so its next expected sequence is accepted.
    let mut fx = Fx::create(two_batch_segments());
    let idem = |seq: i32| {
        let records: Vec<crate::records::Record> =
            (0..5).map(|i| crate::records::Record { timestamp: i, value: Some(bytes::Bytes::from("v")), ..Default::default() }).collect();
        let bytes = crate::records::build_batch(&records, crate::records::Compression::None, 42, 0, seq);
        let header = crate::records::BatchHeader::parse(&bytes).unwrap();
        crate::records::ValidBatch { bytes, header }
    };
    for seq in [0, 5, 10, 15] {
        let now = fx.now;
        fx.log.append(&[idem(seq)], LeaderEpoch(0), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
        fx.run();
    }
    fx.sync();
    truncate(&mut fx, 15);
    assert_eq!(fx.log.log_end_offset(), Offset(15));
    let now = fx.now;
    let r = fx.log.append(&[idem(15)], LeaderEpoch(1), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    assert!(!r.duplicate);
    assert_eq!(r.base_offset, Offset(15));
}

#[test]
fn truncation_of_unsynced_data_is_durable_when_it_finishes() {
    // Proves: the cut of a tail that was never synced is itself synced: once
    // the truncation is over, the kept records are durable and a crash keeps
    // exactly them.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 4);
    fx.sync();
    append_at(&mut fx, 0, 4);
    append_at(&mut fx, 1, 4);
    assert_eq!(fx.log.durable_offset(), Offset(4));
    truncate(&mut fx, 8);
    assert_eq!(fx.log.log_end_offset(), Offset(8));
    assert_eq!(fx.log.durable_offset(), Offset(8));
    let mut disk = fx.disk;
    disk.crash(|_, _| 0);
    let fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(8));
    assert_eq!(entries(&fx.log), vec![(0, 0)]);
}

#[test]
#[cfg_attr(debug_assertions, should_panic(expected = "below the committed offset"))]
fn truncation_below_the_committed_offset_is_refused() {
    // Proves: DESIGN §5.4, no truncation below the high watermark: it is a
    // caller's bug (asserted in debug builds) and an error, with nothing cut.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 4);
    append_at(&mut fx, 1, 4);
    fx.sync();
    fx.log.advance_committed(Offset(6));
    // Durable but not committed data may go (a follower's divergent tail).
    let r = fx.log.truncate_to(Offset(2), &mut IoScope { queue: &mut fx.q, owner: 1 });
    assert_eq!(r, Err(LogError::OffsetOutOfRange));
    assert_eq!(fx.log.log_end_offset(), Offset(8));
    assert!(!fx.log.truncating());
}

#[test]
fn durable_uncommitted_data_may_be_truncated() {
    // Proves: the floor is the committed offset, not the durable one: a
    // follower's synced divergent tail above the high watermark is cut.
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 4);
    append_at(&mut fx, 1, 4);
    fx.sync();
    fx.log.advance_committed(Offset(4));
    truncate(&mut fx, 4);
    assert_eq!(fx.log.log_end_offset(), Offset(4));
    assert_eq!(entries(&fx.log), vec![(0, 0)]);
}

#[test]
fn retention_moves_the_first_epoch_to_the_new_start() {
    // Proves: when DeleteRecords moves the log start, epochs wholly below it are
    // forgotten and the one holding it starts there (Kafka's truncateFromStart).
    let mut fx = Fx::create(small_config());
    append_at(&mut fx, 0, 4);
    append_at(&mut fx, 1, 4);
    append_at(&mut fx, 2, 4);
    fx.sync();
    fx.log.delete_records_before(Offset(6), &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.run();
    assert_eq!(entries(&fx.log), vec![(1, 6), (2, 8)]);
    assert_eq!(&checkpoint_on_disk(&fx), fx.log.epochs());
}

#[test]
fn a_leader_answers_for_its_current_epoch_before_writing_in_it() {
    // Proves: OffsetsForLeaderEpoch as Kafka's leader answers, which records its
    // epoch at the log end on election: the current epoch (no batch yet) ends at
    // the log end, an epoch between the last written and the current ends there
    // too under the last written one, older ones as the cache says, a higher one
    // is undefined; a standalone empty log answers epoch 0 with its end.
    let mut fx = Fx::create(small_config());
    let e = |fx: &Fx, requested: i32, current: i32| {
        let (epoch, end) = fx.log.end_offset_for_leader(LeaderEpoch(requested), LeaderEpoch(current));
        (epoch.0, end.0)
    };
    assert_eq!(e(&fx, 0, 0), (0, 0));
    assert_eq!(e(&fx, 1, 0), (-1, -1));
    append_at(&mut fx, 0, 5);
    append_at(&mut fx, 2, 4);
    assert_eq!(e(&fx, 2, 2), (2, 9));
    assert_eq!(e(&fx, 0, 2), (0, 5));
    assert_eq!(e(&fx, 4, 4), (4, 9));
    assert_eq!(e(&fx, 3, 4), (2, 9));
    assert_eq!(e(&fx, 2, 4), (2, 9));
    assert_eq!(e(&fx, 1, 4), (0, 5));
    assert_eq!(e(&fx, 5, 4), (-1, -1));
    assert_eq!(e(&fx, -1, 4), (-1, -1));
}
