//! Partition log tests against the in-memory disk of `crate::testdisk`.

use bytes::Bytes;

use crate::io::DiskOp;
use crate::records::{build_batch, decode_batch, scan, BatchHeader, Compression, Record, TimestampType, ValidBatch};
use crate::types::{LeaderEpoch, Millis, Offset};

use super::*;
use crate::testdisk::{deliver, TestDisk};

const DIR: &str = "orders-0";

pub(super) fn seg_path(base: i64, ext: &str) -> String {
    format!("{DIR}/{base:020}.{ext}")
}

/// A producer batch of `n` records with timestamps `ts, ts+1, …`.
pub(super) fn batch(n: usize, ts: i64) -> ValidBatch {
    let records: Vec<Record> =
        (0..n).map(|i| Record { timestamp: ts + i as i64, value: Some(Bytes::from(format!("v{ts}-{i}"))), ..Default::default() }).collect();
    let bytes = build_batch(&records, Compression::None, -1, -1, -1);
    let header = BatchHeader::parse(&bytes).expect("built batch parses");
    ValidBatch { bytes, header }
}

pub(super) fn small_config() -> LogConfig {
    LogConfig { segment_bytes: 1 << 20, index_interval_bytes: 4096, ..LogConfig::default() }
}

pub(super) struct Fx {
    pub disk: TestDisk,
    pub q: DiskQueue,
    pub log: PartitionLog,
    pub now: Millis,
    pub events: Vec<LogEvent>,
}

impl Fx {
    pub(super) fn create(config: LogConfig) -> Fx {
        let mut q = DiskQueue::default();
        let now = Millis(1_000_000);
        let mut log = PartitionLog::create(DIR, config, now, &mut IoScope { queue: &mut q, owner: 1 });
        // Disk paths are what most tests are about; the cache has its own test.
        log.tail_cache = read::TailCache::new(0);
        let mut fx = Fx { disk: TestDisk::default(), q, log, now, events: Vec::new() };
        fx.run();
        assert!(fx.events.contains(&LogEvent::Ready), "create reports Ready");
        assert_eq!(fx.log.state(), &LogState::Ready);
        fx
    }

    /// Recover from `disk` (after a crash or a close).
    pub(super) fn open(disk: TestDisk, config: LogConfig, now: Millis) -> Fx {
        let mut q = DiskQueue::default();
        let mut log = PartitionLog::open(DIR, config, now, &mut IoScope { queue: &mut q, owner: 1 });
        log.tail_cache = read::TailCache::new(0);
        let mut fx = Fx { disk, q, log, now, events: Vec::new() };
        fx.disk.log.clear();
        fx.run();
        assert!(fx.events.contains(&LogEvent::Ready), "open reports Ready: {:?}", fx.events);
        assert_eq!(fx.log.durable_offset(), fx.log.log_end_offset(), "after recovery everything present is durable");
        assert!(!fx.log.needs_sync());
        fx
    }

    pub(super) fn run(&mut self) -> Vec<LogEvent> {
        let ev = self.disk.run(&mut self.q, &mut self.log, self.now);
        self.events.extend(ev.clone());
        ev
    }

    pub(super) fn append(&mut self, n: usize, ts: i64) -> AppendResult {
        let b = batch(n, ts);
        let now = self.now;
        let mut io = IoScope { queue: &mut self.q, owner: 1 };
        let r = self.log.append(&[b], LeaderEpoch(3), now, &mut io).expect("append");
        self.run();
        r
    }

    pub(super) fn sync(&mut self) {
        let mut io = IoScope { queue: &mut self.q, owner: 1 };
        self.log.sync(&mut io);
        self.run();
        assert_eq!(self.log.durable_offset(), self.log.log_end_offset());
    }

    pub(super) fn read(&mut self, offset: i64, max_bytes: u32, limit: i64) -> Result<Bytes, LogError> {
        let mut io = IoScope { queue: &mut self.q, owner: 1 };
        let id = self.log.read(Offset(offset), max_bytes, Offset(limit), &mut io)?;
        let ev = self.run();
        ev.into_iter()
            .find_map(|e| match e {
                LogEvent::ReadDone { read, result } if read == id => Some(result),
                _ => None,
            })
            .expect("ReadDone for the read")
    }

    fn lookup(&mut self, id: ReadId) -> Result<Option<(Offset, i64)>, LogError> {
        let ev = self.run();
        ev.into_iter()
            .find_map(|e| match e {
                LogEvent::TimestampFound { read, result } if read == id => Some(result),
                _ => None,
            })
            .expect("TimestampFound for the lookup")
    }

    fn find_ts(&mut self, target: i64) -> Option<(Offset, i64)> {
        let end = self.log.log_end_offset();
        let mut io = IoScope { queue: &mut self.q, owner: 1 };
        let id = self.log.find_offset_by_timestamp(target, end, &mut io).unwrap();
        self.lookup(id).unwrap()
    }

    fn find_max(&mut self, limit: i64) -> Option<(Offset, i64)> {
        let mut io = IoScope { queue: &mut self.q, owner: 1 };
        let id = self.log.find_max_timestamp(Offset(limit), &mut io).unwrap();
        self.lookup(id).unwrap()
    }

    pub(super) fn segment_files(&self) -> Vec<String> {
        self.disk.files.keys().filter(|p| p.ends_with(".log")).cloned().collect()
    }

    pub(super) fn close(mut self) -> TestDisk {
        let mut io = IoScope { queue: &mut self.q, owner: 1 };
        self.log.close(&mut io);
        let ev = self.run();
        assert!(ev.contains(&LogEvent::Closed), "close reports Closed: {ev:?}");
        assert!(self.q.pending.is_empty() && self.q.owners.is_empty());
        self.disk
    }
}

/// Record offsets and values in fetched bytes (every batch CRC-checked).
fn records_in(bytes: &Bytes) -> Vec<(i64, String)> {
    let s = scan(bytes, true);
    assert_eq!(s.valid_len, bytes.len(), "read returned only whole valid batches");
    let mut out = Vec::new();
    for (pos, h) in s.batches {
        let (_, recs) = decode_batch(&bytes[pos..pos + h.total_len()], 1 << 20).unwrap();
        for r in recs {
            out.push((h.base_offset + i64::from(r.offset_delta), String::from_utf8(r.value.unwrap().to_vec()).unwrap()));
        }
    }
    out
}

pub(super) fn offsets_in(bytes: &Bytes) -> Vec<i64> {
    records_in(bytes).into_iter().map(|(o, _)| o).collect()
}

#[test]
fn append_assigns_offsets_and_reads_back_whole_batches() {
    // Proves: offsets are assigned from the log end, stamped into the stored batches,
    // reads return whole batches starting with the one holding the offset, honour
    // max_bytes (first batch always whole) and the limit, and reject out-of-range offsets.
    let mut fx = Fx::create(small_config());
    let a = fx.append(5, 100);
    assert_eq!((a.base_offset, a.last_offset, a.log_append_time), (Offset(0), Offset(4), -1));
    let b = fx.append(1, 200);
    assert_eq!((b.base_offset, b.last_offset), (Offset(5), Offset(5)));
    let c = fx.append(10, 300);
    assert_eq!((c.base_offset, c.last_offset), (Offset(6), Offset(15)));
    assert_eq!(fx.log.log_end_offset(), Offset(16));

    let all = fx.read(0, 1 << 20, 16).unwrap();
    let recs = records_in(&all);
    assert_eq!(recs.len(), 16);
    assert_eq!(recs[0], (0, "v100-0".to_string()));
    assert_eq!(recs[5], (5, "v200-0".to_string()));
    assert_eq!(recs[15], (15, "v300-9".to_string()));
    let h = BatchHeader::parse(&all).unwrap();
    assert_eq!(h.partition_leader_epoch, 3, "leader epoch stamped");

    // Mid-batch offset: the batch holding it comes first.
    assert_eq!(offsets_in(&fx.read(7, 1 << 20, 16).unwrap())[0], 6);
    assert_eq!(offsets_in(&fx.read(5, 1 << 20, 16).unwrap()), (5..16).collect::<Vec<_>>());
    // max_bytes smaller than one batch: that batch whole, nothing more.
    assert_eq!(offsets_in(&fx.read(0, 1, 16).unwrap()), (0..5).collect::<Vec<_>>());
    // The limit drops batches ending above it.
    assert_eq!(offsets_in(&fx.read(0, 1 << 20, 6).unwrap()), (0..6).collect::<Vec<_>>());
    assert!(fx.read(6, 1 << 20, 10).unwrap().is_empty(), "batch 6..16 ends above limit 10");
    assert!(fx.read(16, 1 << 20, 16).unwrap().is_empty(), "offset == end reads empty");
    assert_eq!(fx.read(17, 1 << 20, 16), Err(LogError::OffsetOutOfRange));
}

#[test]
fn log_append_time_is_stamped() {
    // Proves: with LogAppendTime the append reports and stores the broker's time.
    let mut fx = Fx::create(LogConfig { timestamp_type: TimestampType::LogAppendTime, ..small_config() });
    fx.now = Millis(5_000_000);
    let r = fx.append(3, 1);
    assert_eq!(r.log_append_time, 5_000_000);
    let bytes = fx.read(0, 1 << 20, 3).unwrap();
    let h = BatchHeader::parse(&bytes).unwrap();
    assert_eq!((h.timestamp_type(), h.max_timestamp), (TimestampType::LogAppendTime, 5_000_000));
}

#[test]
fn durable_offset_advances_only_when_a_sync_after_the_writes_completes() {
    // Proves: neither issuing nor completing a write makes data durable; the
    // completion of a sync issued after it does, and emits Durable.
    let mut fx = Fx::create(small_config());
    let mut io = IoScope { queue: &mut fx.q, owner: 1 };
    fx.log.append(&[batch(4, 1)], LeaderEpoch(0), fx.now, &mut io).unwrap();
    assert!(fx.log.needs_sync());
    fx.log.sync(&mut IoScope { queue: &mut fx.q, owner: 1 });
    assert!(!fx.log.needs_sync() && fx.log.sync_in_flight());
    assert_eq!(fx.q.pending.len(), 3, "epoch checkpoint, write then sync queued");
    let ev = fx.disk.step(&mut fx.q, &mut fx.log, fx.now).unwrap();
    assert!(ev.is_empty(), "the first epoch's checkpoint: {ev:?}");
    let ev = fx.disk.step(&mut fx.q, &mut fx.log, fx.now).unwrap();
    assert!(ev.is_empty(), "write completion alone: {ev:?}");
    assert_eq!(fx.log.durable_offset(), Offset(0));
    // A second append while the sync is in flight is not covered by it.
    fx.log.append(&[batch(2, 1)], LeaderEpoch(0), fx.now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    let ev = fx.disk.step(&mut fx.q, &mut fx.log, fx.now).unwrap();
    assert_eq!(ev, vec![LogEvent::Durable(Offset(4))]);
    assert!(!fx.log.sync_in_flight());
    fx.run();
    assert_eq!(fx.log.durable_offset(), Offset(4), "second write done but not synced");
    assert!(fx.log.needs_sync());
    fx.sync();
    assert_eq!(fx.log.durable_offset(), Offset(6));
}

#[test]
fn failed_sync_fails_the_log_and_never_reports_durable() {
    // Proves: a failed fsync puts the log in Failed, the durable offset stays put,
    // and later appends get Storage errors.
    let mut fx = Fx::create(small_config());
    fx.append(3, 1);
    fx.disk.fail_syncs = true;
    fx.log.sync(&mut IoScope { queue: &mut fx.q, owner: 1 });
    let ev = fx.run();
    assert!(matches!(ev.as_slice(), [LogEvent::Failed(_)]), "{ev:?}");
    assert!(matches!(fx.log.state(), LogState::Failed(_)));
    assert_eq!(fx.log.durable_offset(), Offset(0));
    let now = fx.now;
    let r = fx.log.append(&[batch(1, 1)], LeaderEpoch(0), now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    assert!(matches!(r, Err(LogError::Storage(_))));
}

#[test]
fn segments_roll_by_bytes_and_sealed_ones_get_indexes_after_sync() {
    // Proves: an append that would pass segment.bytes goes to a new segment named
    // by its base offset; the old tail is synced at roll; index files appear only
    // once the sealed data is synced; reads span all segments.
    let one = batch(10, 500).bytes.len() as u64;
    let mut fx = Fx::create(LogConfig { segment_bytes: one * 2, ..small_config() });
    for _ in 0..5 {
        fx.append(10, 500);
    }
    assert_eq!(fx.segment_files(), vec![seg_path(0, "log"), seg_path(20, "log"), seg_path(40, "log")]);
    assert_eq!(fx.disk.len(&seg_path(0, "log")) as u64, one * 2);
    // The roll synced the old segments, so their indexes exist and they are durable.
    assert!(fx.disk.files.contains_key(&seg_path(0, "index")) && fx.disk.files.contains_key(&seg_path(20, "timeindex")));
    assert!(!fx.disk.files.contains_key(&seg_path(40, "index")), "active segment has no index files");
    assert_eq!(fx.log.durable_offset(), Offset(40));
    assert_eq!(fx.log.size_bytes(), one * 5);
    for start in [0, 15, 20, 39, 45] {
        let got = offsets_in(&fx.read(start, 1 << 20, 50).unwrap());
        assert!(got[0] <= start && *got.last().unwrap() >= start, "read {start}: {got:?}");
    }
    assert_eq!(offsets_in(&fx.read(20, 1 << 20, 50).unwrap()), (20..40).collect::<Vec<_>>(), "one read serves one segment");
}

#[test]
fn segments_roll_by_age() {
    // Proves: segment.ms rolls at the next append, and enforce_retention rolls an
    // old active segment that has data.
    let mut fx = Fx::create(LogConfig { segment_ms: 1000, ..small_config() });
    fx.append(2, 0);
    fx.now = fx.now.plus_ms(999);
    fx.append(2, 0);
    assert_eq!(fx.segment_files().len(), 1);
    fx.now = fx.now.plus_ms(1);
    fx.append(2, 0);
    assert_eq!(fx.segment_files(), vec![seg_path(0, "log"), seg_path(4, "log")]);
    fx.now = fx.now.plus_ms(1000);
    let now = fx.now;
    fx.log.enforce_retention(now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    fx.run();
    assert_eq!(fx.segment_files(), vec![seg_path(0, "log"), seg_path(4, "log"), seg_path(6, "log")]);
    fx.now = fx.now.plus_ms(5000);
    let now = fx.now;
    fx.log.enforce_retention(now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    fx.run();
    assert_eq!(fx.segment_files().len(), 3, "an empty active segment is not rolled");
}

#[test]
fn sparse_index_finds_a_position_in_the_middle_of_a_segment() {
    // Proves: a read of an offset deep in a segment starts at the sparse index
    // position (not byte 0) and returns the batch holding the offset.
    let one = batch(1, 0).bytes.len() as u32;
    let mut fx = Fx::create(LogConfig { index_interval_bytes: one * 4, ..small_config() });
    for _ in 0..100 {
        fx.append(1, 0);
    }
    fx.disk.log.clear();
    let got = fx.read(77, one * 2, 100).unwrap();
    assert_eq!(offsets_in(&got), vec![77, 78]);
    let reads: Vec<&String> = fx.disk.log.iter().filter(|l| l.starts_with("Read")).collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    let pos: u64 = reads[0].split("pos: ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(pos, 76 * u64::from(one), "read starts at the index entry below offset 77");
}

#[test]
fn retention_by_time_deletes_old_sealed_segments() {
    // Proves: sealed, synced segments whose max timestamp is older than
    // retention.ms are deleted oldest first, the start offset moves to the next
    // segment and is checkpointed, and reads below it are out of range.
    let one = batch(5, 0).bytes.len() as u64;
    let mut fx = Fx::create(LogConfig { segment_bytes: one, retention_ms: 10_000, segment_ms: 100_000, ..small_config() });
    let now = fx.now.0;
    fx.append(5, now - 50_000); // segment 0
    fx.append(5, now - 20_000); // segment 5
    fx.append(5, now - 5_000); // segment 10
    fx.append(5, now - 60_000); // segment 15 (active)
    fx.sync();
    let now = fx.now;
    fx.log.enforce_retention(now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    let ev = fx.run();
    assert!(ev.contains(&LogEvent::StartOffsetChanged(Offset(10))), "{ev:?}");
    assert_eq!(fx.log.log_start_offset(), Offset(10));
    assert_eq!(fx.segment_files(), vec![seg_path(10, "log"), seg_path(15, "log")]);
    assert!(!fx.disk.files.contains_key(&seg_path(0, "index")));
    assert_eq!(fx.read(9, 100, 20), Err(LogError::OffsetOutOfRange));
    assert_eq!(offsets_in(&fx.read(10, 1 << 20, 20).unwrap())[0], 10);
    // The active segment is never deleted, however old.
    fx.now = fx.now.plus_ms(1_000_000);
    for _ in 0..2 {
        // The first pass rolls segment 15 (and syncs it); the second deletes it.
        let now = fx.now;
        fx.log.enforce_retention(now, &mut IoScope { queue: &mut fx.q, owner: 1 });
        fx.run();
    }
    assert_eq!(fx.log.log_start_offset(), Offset(20), "segment 15 rolled then deleted; new active at 20");
    assert_eq!(fx.segment_files(), vec![seg_path(20, "log")]);
    // The checkpoint survives a restart.
    let disk = fx.close();
    let fx = Fx::open(disk, small_config(), Millis(3_000_000));
    assert_eq!((fx.log.log_start_offset(), fx.log.log_end_offset()), (Offset(20), Offset(20)));
}

#[test]
fn retention_by_bytes_keeps_the_newest_segments_within_the_limit() {
    // Proves: retention.bytes deletes the oldest sealed segments until the rest fits.
    let one = batch(5, 1_000_000).bytes.len() as u64;
    let mut fx = Fx::create(LogConfig { segment_bytes: one, retention_bytes: (one * 2) as i64, ..small_config() });
    for _ in 0..5 {
        fx.append(5, 1_000_000);
    }
    fx.sync();
    let now = fx.now;
    fx.log.enforce_retention(now, &mut IoScope { queue: &mut fx.q, owner: 1 });
    fx.run();
    assert_eq!(fx.log.log_start_offset(), Offset(15));
    assert_eq!(fx.log.size_bytes(), one * 2);
    assert_eq!(fx.segment_files(), vec![seg_path(15, "log"), seg_path(20, "log")]);
}

#[test]
fn delete_records_moves_the_start_mid_segment() {
    // Proves: DeleteRecords moves the start offset (mid-segment allowed), deletes
    // whole segments below it, checkpoints it (StartOffsetChanged), and reads below
    // it are out of range while the batch holding it is still served.
    let one = batch(5, 0).bytes.len() as u64;
    let mut fx = Fx::create(LogConfig { segment_bytes: one * 2, ..small_config() });
    for _ in 0..4 {
        fx.append(5, 0);
    }
    fx.sync();
    fx.log.delete_records_before(Offset(12), &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    let ev = fx.run();
    assert!(ev.contains(&LogEvent::StartOffsetChanged(Offset(12))), "{ev:?}");
    assert_eq!(fx.segment_files(), vec![seg_path(10, "log")]);
    assert_eq!(fx.read(11, 100, 20), Err(LogError::OffsetOutOfRange));
    assert_eq!(offsets_in(&fx.read(12, 1, 20).unwrap()), (10..15).collect::<Vec<_>>());
    assert_eq!(fx.log.delete_records_before(Offset(21), &mut IoScope { queue: &mut fx.q, owner: 1 }), Err(LogError::OffsetOutOfRange));
    // Lower offsets leave the start where it is, and still answer.
    fx.log.delete_records_before(Offset(3), &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    assert!(fx.run().contains(&LogEvent::StartOffsetChanged(Offset(12))));
    let disk = fx.close();
    let fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!((fx.log.log_start_offset(), fx.log.log_end_offset()), (Offset(12), Offset(20)));
}

#[test]
fn recovery_after_clean_close_loads_indexes_without_scanning_sealed_segments() {
    // Proves: after close and open the log has the same offsets and data; sealed
    // segments with valid index files are not read, only the last one is scanned.
    let one = batch(5, 0).bytes.len() as u64;
    let config = LogConfig { segment_bytes: one * 2, ..small_config() };
    let mut fx = Fx::create(config.clone());
    for i in 0..5 {
        fx.append(5, i * 10);
    }
    let before = fx.read(0, 1 << 20, 25).unwrap();
    let disk = fx.close();
    let mut fx = Fx::open(disk, config, Millis(2_000_000));
    let reads: Vec<&String> = fx.disk.log.iter().filter(|l| l.starts_with("Read {")).collect();
    assert_eq!(reads.len(), 1, "only the active segment is scanned: {reads:?}");
    assert_eq!((fx.log.log_start_offset(), fx.log.log_end_offset()), (Offset(0), Offset(25)));
    assert_eq!(fx.read(0, 1 << 20, 25).unwrap(), before);
    assert_eq!(offsets_in(&fx.read(22, 1 << 20, 25).unwrap()), (20..25).collect::<Vec<_>>());
    let r = fx.append(1, 0);
    assert_eq!(r.base_offset, Offset(25));
    assert_eq!(fx.find_ts(30), Some((Offset(15), 30)));
}

#[test]
fn recovery_truncates_a_torn_tail_and_never_serves_it() {
    // Proves: after power loss that keeps part of an unsynced batch, recovery
    // truncates the file at the last whole valid batch, the torn bytes are never
    // served, and appends continue from the recovered end.
    let mut fx = Fx::create(small_config());
    fx.append(5, 0);
    fx.append(5, 0);
    fx.sync();
    let synced_len = fx.disk.len(&seg_path(0, "log"));
    fx.append(5, 0);
    fx.append(5, 0);
    let mut disk = fx.disk;
    let one = batch(5, 0).bytes.len();
    disk.crash(|_, unsynced| (one + one / 2).min(unsynced)); // one whole batch and half of the next
    let mut fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(15), "the whole unsynced batch that survived is kept");
    assert_eq!(fx.disk.len(&seg_path(0, "log")), synced_len + one, "torn half batch truncated");
    assert_eq!(offsets_in(&fx.read(0, 1 << 20, 15).unwrap()), (0..15).collect::<Vec<_>>());
    assert_eq!(fx.read(16, 100, 15), Err(LogError::OffsetOutOfRange));
    let r = fx.append(2, 0);
    assert_eq!(r.base_offset, Offset(15));
    fx.sync();
    assert_eq!(offsets_in(&fx.read(15, 1 << 20, 17).unwrap()), vec![15, 16]);
}

#[test]
fn recovery_truncates_at_a_corrupt_batch_and_drops_later_segments() {
    // Proves: a batch failing its CRC is cut off with everything after it,
    // including later segments, and recovery reports only validated data.
    let one = batch(5, 0).bytes.len() as u64;
    let config = LogConfig { segment_bytes: one * 2, ..small_config() };
    let mut fx = Fx::create(config.clone());
    for _ in 0..5 {
        fx.append(5, 0);
    }
    fx.sync();
    let mut disk = fx.disk;
    // Corrupt the second batch of the sealed segment 10 and drop its index so it is scanned.
    disk.corrupt(&seg_path(10, "log"), one as usize + 70);
    disk.corrupt(&seg_path(10, "index"), 3);
    let mut fx = Fx::open(disk, config, Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(15));
    assert_eq!(fx.disk.len(&seg_path(10, "log")) as u64, one);
    assert_eq!(fx.segment_files(), vec![seg_path(0, "log"), seg_path(10, "log")]);
    assert!(!fx.disk.files.contains_key(&seg_path(10, "index")), "the new active segment has no index files");
    assert_eq!(offsets_in(&fx.read(10, 1 << 20, 15).unwrap()), (10..15).collect::<Vec<_>>());
    assert_eq!(fx.append(1, 0).base_offset, Offset(15));
}

#[test]
fn recovery_of_a_corrupted_last_batch() {
    // Proves: a bad CRC in the active segment's tail is truncated, never served.
    let mut fx = Fx::create(small_config());
    fx.append(3, 0);
    fx.append(3, 0);
    fx.sync();
    let mut disk = fx.disk;
    let len = disk.len(&seg_path(0, "log"));
    disk.corrupt(&seg_path(0, "log"), len - 1);
    let mut fx = Fx::open(disk, small_config(), Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(3));
    assert_eq!(offsets_in(&fx.read(0, 1 << 20, 3).unwrap()), vec![0, 1, 2]);
}

#[test]
fn recovery_drops_segments_after_a_lost_tail() {
    // Proves: if a crash loses the unsynced tail of a sealed segment but a later
    // segment survives, the later one is dropped (no offset gap is ever served).
    let one = batch(5, 0).bytes.len() as u64;
    let config = LogConfig { segment_bytes: one, ..small_config() };
    let mut fx = Fx::create(config.clone());
    fx.append(5, 0);
    fx.sync();
    // Roll: the old segment is synced by the roll itself, so append to the new
    // segment and then lose the active tail of segment 5 after another roll.
    let now = fx.now;
    fx.log.append(&[batch(5, 0)], LeaderEpoch(3), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.log.append(&[batch(5, 0)], LeaderEpoch(3), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    // Execute only the writes (not the syncs of the roll) before the crash.
    let pending: Vec<_> = fx.q.pending.drain(..).collect();
    for req in pending {
        if !matches!(req.op, DiskOp::Sync { .. }) {
            fx.disk.exec(req.op);
        }
    }
    let mut disk = fx.disk;
    disk.crash(|path, n| if path.ends_with("00005.log") { 0 } else { n });
    let fx = Fx::open(disk, config, Millis(2_000_000));
    assert_eq!(fx.log.log_end_offset(), Offset(5));
    assert_eq!(fx.segment_files(), vec![seg_path(0, "log"), seg_path(5, "log")]);
}

#[test]
fn timestamp_lookups_use_the_time_index_and_look_inside_batches() {
    // Proves: find_offset_by_timestamp returns the first record at or after the
    // target (inside a batch, across segments, None past the end), and
    // find_max_timestamp returns the record with the largest timestamp below the limit.
    let one = batch(10, 1000).bytes.len() as u64;
    let mut fx = Fx::create(LogConfig { segment_bytes: one * 3, index_interval_bytes: one as u32, ..small_config() });
    for i in 0..10 {
        fx.append(10, 1000 + i * 100); // offsets 10i.., timestamps 1000+100i+j
    }
    assert_eq!(fx.find_ts(0), Some((Offset(0), 1000)));
    assert_eq!(fx.find_ts(1005), Some((Offset(5), 1005)));
    assert_eq!(fx.find_ts(1010), Some((Offset(10), 1100)));
    assert_eq!(fx.find_ts(1505), Some((Offset(55), 1505)));
    assert_eq!(fx.find_ts(1555), Some((Offset(60), 1600)));
    assert_eq!(fx.find_ts(1909), Some((Offset(99), 1909)));
    assert_eq!(fx.find_ts(1910), None);
    assert_eq!(fx.find_max(100), Some((Offset(99), 1909)));
    assert_eq!(fx.find_max(45), Some((Offset(39), 1309)), "batches ending above the limit are ignored");
    assert_eq!(fx.find_max(0), None);
    // Respect the start offset.
    fx.sync();
    fx.log.delete_records_before(Offset(33), &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.run();
    assert_eq!(fx.find_ts(0), Some((Offset(33), 1303)));
}

#[test]
fn delete_removes_every_file() {
    // Proves: delete closes files, removes the directory and reports Deleted.
    let mut fx = Fx::create(small_config());
    fx.append(3, 0);
    fx.log.delete(&mut IoScope { queue: &mut fx.q, owner: 1 });
    let ev = fx.run();
    assert!(ev.contains(&LogEvent::Deleted));
    assert!(fx.disk.files.keys().all(|p| !p.starts_with(DIR)));
    assert_eq!(fx.log.state(), &LogState::Deleted);
}

#[test]
fn completions_out_of_order_across_files_keep_durability_sound() {
    // Proves: with the new segment's sync completing before the old one's, the
    // durable offset stays below the old segment's unsynced tail until it lands.
    let one = batch(5, 0).bytes.len() as u64;
    let mut fx = Fx::create(LogConfig { segment_bytes: one, ..small_config() });
    let now = fx.now;
    fx.log.append(&[batch(5, 0)], LeaderEpoch(0), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.log.append(&[batch(5, 0)], LeaderEpoch(0), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.log.sync(&mut IoScope { queue: &mut fx.q, owner: 1 });
    let reqs: Vec<_> = fx.q.pending.drain(..).collect();
    let mut results: Vec<_> = reqs.into_iter().map(|r| (r.id, fx.disk.exec(r.op))).collect();
    // Deliver in reverse issue order.
    results.reverse();
    let mut durable_seen = Vec::new();
    for (id, res) in results {
        for e in deliver(&mut fx.q, &mut fx.log, id, res, now) {
            if let LogEvent::Durable(o) = e {
                durable_seen.push(o);
            }
        }
    }
    fx.run();
    assert_eq!(fx.log.durable_offset(), Offset(10));
    assert!(durable_seen.iter().all(|o| *o == Offset(10)), "never durable past a gap: {durable_seen:?}");
}

#[test]
fn chunk_next_tells_a_cut_batch_from_a_torn_or_corrupt_one() {
    // Proves: a chunk that ends inside a batch asks for the rest (with the batch's
    // full length), while the same bytes at the end of the file are torn.
    let b = batch(3, 0).bytes;
    let n = b.len();
    let two = [b.clone(), b.clone()].concat();
    let seg_end = (2 * n) as u64;
    assert_eq!(read::chunk_next(0, &two, 2 * n, seg_end, 10), read::ChunkNext::End);
    assert_eq!(read::chunk_next(0, &two[..n], n, seg_end, 10), read::ChunkNext::Continue { pos: n as u64, len: 10 });
    assert_eq!(read::chunk_next(0, &two[..n + 20], n, seg_end, 10), read::ChunkNext::Continue { pos: n as u64, len: n as u32 });
    assert_eq!(read::chunk_next(0, &two[..n + 5], n, seg_end, 10), read::ChunkNext::Continue { pos: n as u64, len: 10 });
    assert!(matches!(read::chunk_next(0, &two[..n + 20], n, (n + 20) as u64, 10), read::ChunkNext::Corrupt(_)));
    assert!(matches!(read::chunk_next(0, &two, n, seg_end, 10), read::ChunkNext::Corrupt(_)), "whole but invalid batch");
    let mut bad_len = two.clone();
    bad_len[n + 8..n + 12].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(matches!(read::chunk_next(0, &bad_len, n, seg_end, 10), read::ChunkNext::Corrupt(_)));
}

#[test]
fn recovery_reads_in_bounded_chunks() {
    // Proves: recovery scans a segment with reads no larger than the chunk size
    // (or one batch), following batches across chunk boundaries.
    let mut fx = Fx::create(small_config());
    for _ in 0..20 {
        fx.append(3, 0);
    }
    let disk = fx.close();
    let mut q = DiskQueue::default();
    let mut log = PartitionLog::open(DIR, small_config(), Millis(2_000_000), &mut IoScope { queue: &mut q, owner: 1 });
    log.recovery_chunk_bytes = 50;
    let mut fx = Fx { disk, q, log, now: Millis(2_000_000), events: Vec::new() };
    fx.disk.log.clear();
    fx.run();
    assert!(fx.events.contains(&LogEvent::Ready));
    let one = batch(3, 0).bytes.len();
    let reads: Vec<u64> = fx
        .disk
        .log
        .iter()
        .filter(|l| l.starts_with("Read {"))
        .map(|l| l.split("len: ").nth(1).unwrap().trim_end_matches(" }").parse().unwrap())
        .collect();
    assert!(reads.len() >= 20, "{reads:?}");
    assert!(reads.iter().all(|&l| l as usize <= one.max(50)), "{reads:?}");
    assert_eq!(fx.log.log_end_offset(), Offset(60));
    assert_eq!(offsets_in(&fx.read(0, 1 << 20, 60).unwrap()).len(), 60);
}

#[test]
fn a_batch_larger_than_the_read_chunk_is_read_whole() {
    // Proves: when the first chunk cuts the wanted batch, the log reads it again
    // whole, and returns it even though it exceeds max_bytes.
    let mut fx = Fx::create(small_config());
    fx.append(1, 0);
    let big = Record { timestamp: 5, value: Some(Bytes::from(vec![7u8; 100_000])), ..Default::default() };
    let bytes = build_batch(&[big], Compression::None, -1, -1, -1);
    let header = BatchHeader::parse(&bytes).unwrap();
    let now = fx.now;
    fx.log.append(&[ValidBatch { bytes, header }], LeaderEpoch(3), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).unwrap();
    fx.append(1, 0);
    fx.disk.log.clear();
    let got = fx.read(1, 1, 3).unwrap();
    assert_eq!(offsets_in(&got), vec![1]);
    assert!(got.len() > 100_000);
    assert_eq!(fx.disk.log.iter().filter(|l| l.starts_with("Read {")).count(), 2, "one cut read, one whole");
}

#[test]
fn tail_cache_serves_recent_batches_like_the_disk_does() {
    // Proves: reads of recently appended batches are answered without reading
    // segment data (only a zero-length doorbell), with the same bytes a disk read
    // returns, honouring max_bytes and the limit; older offsets go to the disk.
    let mut fx = Fx::create(small_config());
    let one = batch(4, 0).bytes.len();
    fx.log.tail_cache = read::TailCache::new(one * 3);
    for _ in 0..5 {
        fx.append(4, 0);
    }
    let mut from_cache = Vec::new();
    for (offset, max_bytes, limit) in [(9, 1 << 20, 20), (13, 1, 20), (8, (one * 2) as u32, 20), (10, 1 << 20, 15), (19, 100, 16)] {
        fx.disk.log.clear();
        from_cache.push(fx.read(offset, max_bytes, limit).unwrap());
        assert!(fx.disk.log.iter().all(|l| !l.starts_with("Read {") || l.contains("len: 0 }")), "{:?}", fx.disk.log);
    }
    fx.disk.log.clear();
    assert_eq!(offsets_in(&fx.read(2, 1, 20).unwrap()), vec![0, 1, 2, 3]);
    assert!(fx.disk.log.iter().any(|l| l.starts_with("Read {") && !l.contains("len: 0 }")), "evicted offsets read from disk");
    fx.log.tail_cache = read::TailCache::new(0);
    for ((offset, max_bytes, limit), cached) in
        [(9, 1 << 20, 20), (13, 1, 20), (8, (one * 2) as u32, 20), (10, 1 << 20, 15), (19, 100, 16)].into_iter().zip(from_cache)
    {
        assert_eq!(fx.read(offset, max_bytes, limit).unwrap(), cached, "read({offset}, {max_bytes}, {limit})");
    }
}
