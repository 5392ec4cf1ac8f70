//! The partition log's side of the leader-epoch cache: new epochs on append,
//! queries, the committed offset, and the checkpoint writer (one write at a
//! time, the latest cache written last, as the start offset checkpoint).

use crate::io::{DiskOp, DiskResult};
use crate::types::{LeaderEpoch, Offset};

use super::epoch_cache::{LeaderEpochCache, EPOCH_CHECKPOINT_FILE};
use super::{IoScope, LogError, LogState, PartitionLog, Pending};

impl PartitionLog {
    /// The leader-epoch cache.
    pub fn epochs(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    /// The latest leader epoch written to this log.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epochs.latest_epoch()
    }

    /// The first offset written in `epoch`, if known.
    pub fn epoch_start_offset(&self, epoch: LeaderEpoch) -> Option<Offset> {
        self.epochs.epoch_start_offset(epoch)
    }

    /// OffsetsForLeaderEpoch for `requested` (see
    /// [`LeaderEpochCache::end_offset_for`]), against this log's end offset.
    pub fn end_offset_for(&self, requested: LeaderEpoch) -> (LeaderEpoch, Offset) {
        self.epochs.end_offset_for(requested, self.log_end)
    }

    /// OffsetsForLeaderEpoch answered by a leader at epoch `current`, as Kafka's
    /// leader answers: Kafka records the leader's epoch at the log end when it
    /// becomes leader, so the current epoch counts as begun at the log end
    /// offset if no batch of it was appended yet. Above `current`: `(-1, -1)`.
    pub fn end_offset_for_leader(&self, requested: LeaderEpoch, current: LeaderEpoch) -> (LeaderEpoch, Offset) {
        let undefined = (LeaderEpoch(super::epoch_cache::UNDEFINED_EPOCH), Offset(super::epoch_cache::UNDEFINED_EPOCH_OFFSET));
        if requested.0 < 0 || requested > current {
            return undefined;
        }
        match self.epochs.latest_epoch() {
            Some(latest) if latest >= current => self.end_offset_for(requested),
            // `current` would be the latest entry, starting at the log end.
            _ if requested == current => (current, self.log_end),
            Some(latest) if requested >= latest => (latest, self.log_end),
            Some(_) => self.end_offset_for(requested),
            None => (requested, self.log_end),
        }
    }

    /// Records below `offset` are committed (the high watermark): the log will
    /// never truncate below it. Only moves up; a lower value is ignored. Must
    /// not pass the log end offset (a follower clamps the leader's HW to it).
    pub fn advance_committed(&mut self, offset: Offset) {
        assert!(offset <= self.log_end, "committed offset {offset} past the log end {}", self.log_end);
        self.committed = self.committed.max(offset);
    }

    /// The committed offset truncation respects.
    pub fn committed_offset(&self) -> Offset {
        self.committed
    }

    /// An append at `epoch` starting at `base`, where `epoch` is not the latest.
    /// A lower epoch than the latest is refused (a stale leader: the partition
    /// has moved on), never recorded.
    pub(super) fn begin_epoch(&mut self, epoch: LeaderEpoch, base: Offset, io: &mut IoScope) -> Result<(), LogError> {
        if let Some(latest) = self.epochs.latest_epoch() {
            if epoch < latest {
                tracing::warn!(dir = %self.dir, ?epoch, ?latest, "append at an epoch below the log's latest refused");
                return Err(LogError::NotReady);
            }
        }
        assert_eq!(base, self.log_end, "an epoch begins at the log end");
        self.epochs.assign(epoch, base);
        tracing::debug!(dir = %self.dir, ?epoch, %base, "new leader epoch");
        self.epochs_changed(io);
        Ok(())
    }

    /// The log start moved: forget epochs wholly below it.
    pub(super) fn epochs_start_moved(&mut self, io: &mut IoScope) {
        if self.epochs.truncate_from_start(self.log_start) {
            self.epochs_changed(io);
        }
    }

    /// The cache changed: persist it.
    pub(super) fn epochs_changed(&mut self, io: &mut IoScope) {
        self.epochs_version += 1;
        self.write_epoch_checkpoint(io);
    }

    /// Whether the checkpoint on disk holds the cache as it is.
    pub(super) fn epochs_on_disk(&self) -> bool {
        self.epochs_written == self.epochs_version
    }

    pub(super) fn write_epoch_checkpoint(&mut self, io: &mut IoScope) {
        if self.epochs_write_in_flight || self.epochs_on_disk() || self.cut_in_flight() {
            return;
        }
        self.epochs_write_in_flight = true;
        let version = self.epochs_version;
        let id = io.submit(DiskOp::ReplaceFile { path: self.path(EPOCH_CHECKPOINT_FILE), data: self.epochs.encode() });
        self.pending.insert(id, Pending::EpochCheckpoint { version });
    }

    pub(super) fn on_epoch_checkpoint_done(&mut self, version: u64, result: DiskResult, io: &mut IoScope) {
        self.epochs_write_in_flight = false;
        if let DiskResult::Failed(msg) = result {
            self.fail(format!("writing the leader-epoch checkpoint: {msg}"));
            return;
        }
        assert!(version <= self.epochs_version && version > self.epochs_written, "epoch checkpoints complete in order");
        self.epochs_written = version;
        if self.state == LogState::Ready {
            self.write_epoch_checkpoint(io);
        }
        self.maybe_finish_truncation();
    }

    /// Recovery is over: the cache holds `loaded` (what the checkpoint said, or
    /// `None` if it was missing or unreadable) amended from scanned batches; cut
    /// it to the recovered log and write it if it differs from the file.
    pub(super) fn settle_recovered_epochs(&mut self, loaded: Option<&LeaderEpochCache>, io: &mut IoScope) {
        if self.epochs.truncate_from_end(self.log_end) {
            tracing::warn!(dir = %self.dir, end = %self.log_end, "dropped leader epochs beyond the recovered log end");
        }
        self.epochs.truncate_from_start(self.log_start);
        if loaded != Some(&self.epochs) {
            tracing::info!(dir = %self.dir, entries = self.epochs.entries().len(), "leader-epoch checkpoint rewritten from the recovered log");
            let op = DiskOp::ReplaceFile { path: self.path(EPOCH_CHECKPOINT_FILE), data: self.epochs.encode() };
            self.submit_rec(op, super::recovery::RecPending::Finish, io);
        }
        // `Ready` waits for that write: the file matches the cache from then on.
        self.epochs_version = 0;
        self.epochs_written = 0;
    }
}
