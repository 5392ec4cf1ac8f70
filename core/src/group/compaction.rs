//! Compaction of `__consumer_offsets` by rewriting: when a partition has had many
//! more records appended than it has live state, the coordinator appends its
//! whole live state (one group metadata record per group, one offset record per
//! committed offset) and, once that is durable, the broker moves the partition's
//! log start to the first of those records; retention then deletes the sealed
//! segments below it. A replay from the new start yields the same state.
//!
//! Why this is safe: in-memory state changes only when an append is durable, so
//! a compaction is started only while no append of the partition is in flight —
//! then memory is exactly what a replay of the log would give, and the rewrite
//! covers everything before it. Appends made after the rewrite come after it in
//! the log and are kept. A crash before the start moves leaves the old log (and
//! a duplicate of the state, harmless to replay).
//!
//! This differs from Kafka's log cleaner (which keeps the latest record per key
//! in place) but bounds the log the same way and reuses the partition log's
//! start offset and retention instead of a second code path over segment files.

use crate::records::Record;
use crate::types::Millis;

use super::store;
use super::{GroupCoordinator, Load, Write};

impl GroupCoordinator {
    /// Start compactions that are due (called on the broker's retention timer).
    pub fn maybe_compact(&mut self, now: Millis) {
        let ready: Vec<i32> = self.loads.iter().filter(|(_, l)| **l == Load::Ready).map(|(p, _)| *p).collect();
        for partition in ready {
            let live = self.live_records(partition);
            let appended = self.appended.get(&partition).copied().unwrap_or(0);
            if appended < self.config.compaction_min_records.max(2 * live) || self.writes_in_flight(partition) {
                continue;
            }
            let records = self.state_records(partition, now);
            tracing::info!(partition, appended, live = records.len(), "compacting an offsets partition");
            self.appended.insert(partition, 0);
            self.append_as(partition, records, Write::Plain { req: None }, true);
        }
    }

    fn live_records(&self, partition: i32) -> u64 {
        self.groups.values().filter(|g| g.partition == partition).map(|g| g.stored.is_some() as u64 + g.offsets.len() as u64).sum()
    }

    /// The partition's live state as records.
    pub(crate) fn state_records(&self, partition: i32, now: Millis) -> Vec<Record> {
        let mut records = Vec::new();
        let record = |key, value| Record { offset_delta: 0, timestamp: now.0, key: Some(key), value: Some(value), headers: Vec::new() };
        for g in self.groups.values().filter(|g| g.partition == partition) {
            // The metadata as last written: a rebalance in progress is not state.
            if let Some(v) = &g.stored {
                records.push(record(store::group_key(&g.id), v.clone()));
            }
            for ((topic, p), v) in &g.offsets {
                records.push(record(store::offset_key(&g.id, topic, *p), store::offset_value(v)));
            }
        }
        records
    }
}
