//! A follower's append ([`PartitionLog::append_replicated`]): batches copied from
//! the leader's log, kept byte for byte at the leader's offsets and leader epochs.
//!
//! The leader assigned offsets, stamped epochs and decided idempotence; the
//! follower re-checks only what protects its own log: every batch whole and
//! CRC-valid, the first at the local log end, offsets contiguous, epochs never
//! going down (and never below the local latest epoch). Anything else means the
//! follower's view of the leader is wrong (a stale answer, a leader change in
//! between): refused with [`ReplicaAppendError`] so the broker fetches again or
//! re-checks divergence, never written.

use bytes::Bytes;

use crate::records::{scan, BatchHeader};
use crate::types::{LeaderEpoch, Millis, Offset};

use super::{IoScope, LogError, PartitionLog};

/// Why replicated batches were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaAppendError {
    /// The log cannot take appends now (loading, truncating, failed).
    Log(LogError),
    /// The batches are not whole CRC-valid batches with contiguous offsets.
    Malformed(String),
    /// The first batch does not start at the local log end.
    NotAtLogEnd { base: Offset, log_end: Offset },
    /// A batch's leader epoch is below one already in the log.
    EpochWentBack { epoch: LeaderEpoch, latest: LeaderEpoch },
}

/// Consecutive batches of one leader epoch, with their total length: one write.
type EpochRun = (LeaderEpoch, Vec<(Bytes, BatchHeader)>, u64);

impl PartitionLog {
    /// Appends `data` (whole batches as the leader stores them) at their own offsets.
    /// Returns the new log end offset. Not durable until a later `sync` completes.
    pub fn append_replicated(&mut self, data: &Bytes, now: Millis, io: &mut IoScope) -> Result<Offset, ReplicaAppendError> {
        self.observe_now(now);
        self.check_serving().map_err(ReplicaAppendError::Log)?;
        let scanned = scan(data, true);
        if scanned.valid_len != data.len() {
            let why = scanned.stop_reason.unwrap_or_else(|| "trailing bytes".into());
            return Err(ReplicaAppendError::Malformed(format!("batch at byte {}: {why}", scanned.valid_len)));
        }
        let mut expected = self.log_end;
        let mut latest = self.epochs.latest_epoch();
        // Group consecutive batches of one epoch: each group is one write.
        let mut groups: Vec<EpochRun> = Vec::new();
        for (pos, h) in scanned.batches {
            if h.last_offset_delta < 0 || h.records_count < 0 {
                return Err(ReplicaAppendError::Malformed(format!("batch at offset {} has negative counts", h.base_offset)));
            }
            let base = Offset(h.base_offset);
            if base != expected {
                return Err(if expected == self.log_end && groups.is_empty() {
                    ReplicaAppendError::NotAtLogEnd { base, log_end: self.log_end }
                } else {
                    ReplicaAppendError::Malformed(format!("batch at offset {base} after one ending at {expected}"))
                });
            }
            let epoch = LeaderEpoch(h.partition_leader_epoch);
            if let Some(l) = latest.filter(|l| epoch < *l) {
                return Err(ReplicaAppendError::EpochWentBack { epoch, latest: l });
            }
            latest = Some(epoch);
            expected = h.next_offset();
            let bytes = data.slice(pos..pos + h.total_len());
            match groups.last_mut() {
                Some((e, batches, total)) if *e == epoch => {
                    *total += bytes.len() as u64;
                    batches.push((bytes, h));
                }
                _ => groups.push((epoch, vec![(bytes.clone(), h)], bytes.len() as u64)),
            }
        }
        for (epoch, batches, total) in groups {
            self.write_stamped(batches, total, epoch, now, io).map_err(ReplicaAppendError::Log)?;
        }
        Ok(self.log_end)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{batch, small_config, Fx};
    use super::*;

    fn leader_bytes(epochs: &[(i32, usize)]) -> Bytes {
        let mut fx = Fx::create(small_config());
        for (epoch, n) in epochs {
            let now = fx.now;
            fx.log.append(&[batch(*n, 0)], LeaderEpoch(*epoch), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).expect("append");
            fx.run();
        }
        Bytes::from(fx.disk.files[&format!("orders-0/{:020}.log", 0)].written.clone())
    }

    fn replicate(fx: &mut Fx, data: &Bytes) -> Result<Offset, ReplicaAppendError> {
        let now = fx.now;
        let r = fx.log.append_replicated(data, now, &mut IoScope { queue: &mut fx.q, owner: 1 });
        fx.run();
        r
    }

    /// A follower's copy is the leader's bytes at the leader's offsets, with the
    /// leader's epochs in its cache, and survives a restart.
    #[test]
    fn replicated_batches_keep_offsets_bytes_and_epochs() {
        let data = leader_bytes(&[(1, 3), (1, 2), (4, 1)]);
        let mut fx = Fx::create(small_config());
        assert_eq!(replicate(&mut fx, &data), Ok(Offset(6)));
        fx.sync();
        assert_eq!(fx.disk.files[&format!("orders-0/{:020}.log", 0)].written, data.to_vec());
        let entries: Vec<(i32, i64)> = fx.log.epochs().entries().iter().map(|e| (e.epoch.0, e.start_offset.0)).collect();
        assert_eq!(entries, vec![(1, 0), (4, 5)]);
        let disk = fx.close();
        let fx = Fx::open(disk, small_config(), Millis(2_000_000));
        assert_eq!(fx.log.log_end_offset(), Offset(6));
        assert_eq!(fx.log.latest_epoch(), Some(LeaderEpoch(4)));
    }

    /// Batches that do not continue the local log, are torn or corrupt, or go back
    /// in epoch are refused and nothing is written.
    #[test]
    fn batches_that_do_not_fit_are_refused() {
        let data = leader_bytes(&[(2, 3), (2, 2)]);
        let mut fx = Fx::create(small_config());
        let second = {
            // The leader's second batch, stamped at offset 3: not at our log end 0.
            let h = BatchHeader::parse(&data).expect("header");
            data.slice(h.total_len()..)
        };
        assert_eq!(replicate(&mut fx, &second), Err(ReplicaAppendError::NotAtLogEnd { base: Offset(3), log_end: Offset(0) }));
        assert!(matches!(replicate(&mut fx, &data.slice(..data.len() - 1)), Err(ReplicaAppendError::Malformed(_))));
        let mut corrupt = data.to_vec();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        assert!(matches!(replicate(&mut fx, &Bytes::from(corrupt)), Err(ReplicaAppendError::Malformed(_))));
        assert_eq!(fx.log.log_end_offset(), Offset(0));
        // A log already at epoch 5 refuses epoch-2 batches.
        let now = fx.now;
        fx.log.append(&[batch(1, 0)], LeaderEpoch(5), now, &mut IoScope { queue: &mut fx.q, owner: 1 }).expect("append");
        fx.run();
        let later = leader_bytes(&[(2, 1), (2, 2)]);
        let h = BatchHeader::parse(&later).expect("header");
        assert_eq!(
            replicate(&mut fx, &later.slice(h.total_len()..)),
            Err(ReplicaAppendError::EpochWentBack { epoch: LeaderEpoch(2), latest: LeaderEpoch(5) })
        );
        assert_eq!(fx.log.log_end_offset(), Offset(1));
    }
}
