//! What clients did and saw: the history the checkers judge.
//!
//! Producers record the outcome of every value they sent; consumers record every
//! record they read (with the high watermark of that fetch), every high watermark
//! they saw, and every batch that failed validation; the runner records the final
//! read-back. Values are the unpadded strings `p{producer}-{seq}` (the workload
//! strips the padding), unique per run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Outcome of one produced value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged at (partition, offset), with the acks level used.
    Acked { partition: i32, offset: i64, acks: i16 },
    /// Refused with a Kafka error code: definitely not written... unless retried.
    Failed { partition: i32, error_code: i16 },
    /// No answer (timeout, connection lost, acks=0): may or may not be there.
    Unknown { partition: i32 },
}

/// One record a consumer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub consumer: usize,
    pub partition: i32,
    pub offset: i64,
    pub value: String,
    /// The high watermark in the fetch answer that carried the record.
    pub high_watermark: i64,
}

/// A high watermark one consumer saw in one fetch answer (error-free partitions only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwSample {
    pub consumer: usize,
    pub partition: i32,
    pub high_watermark: i64,
}

/// A batch a consumer received that failed CRC or decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBatch {
    pub consumer: usize,
    pub partition: i32,
    pub fetch_offset: i64,
    pub reason: String,
}

/// A failed final read-back whose error starts with this served a batch that
/// failed CRC or decoding (judged by the valid_batches checker too).
pub const READBACK_INVALID_BATCH: &str = "invalid batch";

/// Final read-back: per partition, (offset, value) in offset order.
pub type ReadBack = BTreeMap<i32, Vec<(i64, String)>>;

#[derive(Debug, Default)]
pub struct Ledger {
    /// Per produced value, its outcome.
    pub produced: BTreeMap<String, Outcome>,
    /// Every record consumers read, in the order they read them.
    pub observations: Vec<Observation>,
    /// Every high watermark consumers saw, in order.
    pub hw_samples: Vec<HwSample>,
    /// Batches that failed validation on a consumer.
    pub invalid_batches: Vec<InvalidBatch>,
    /// The final read-back (`None` until the runner records it; `Err` if it failed).
    pub final_readback: Option<Result<ReadBack, String>>,
    /// Produce requests idempotent producers sent again (same batch, same sequence).
    pub idempotent_retries: u64,
    /// Retried batches answered NONE after an earlier attempt had no answer.
    pub idempotent_retries_acked: u64,
    /// What group members did and saw (empty without a group workload).
    pub groups: crate::group_ledger::GroupHistory,
}

/// Shared between the workload's tasks.
pub type SharedLedger = Arc<Mutex<Ledger>>;

impl Ledger {
    pub fn shared() -> SharedLedger {
        Arc::new(Mutex::new(Ledger::default()))
    }

    /// Record the outcome of a value; a value recorded twice is a workload bug.
    pub fn record_outcome(&mut self, value: &str, outcome: Outcome) {
        let previous = self.produced.insert(value.to_string(), outcome);
        assert!(previous.is_none(), "value {value} produced twice (workload bug)");
    }

    /// Record the outcome of one batch: its values in order, an Acked outcome
    /// being the batch's base offset (the i-th value is at base + i).
    pub fn record_batch(&mut self, values: &[String], outcome: &Outcome) {
        for (i, v) in values.iter().enumerate() {
            let o = match outcome {
                Outcome::Acked { partition, offset, acks } => {
                    Outcome::Acked { partition: *partition, offset: offset + i as i64, acks: *acks }
                }
                other => other.clone(),
            };
            self.record_outcome(v, o);
        }
    }

    /// Record one fetch answer for one partition: its high watermark and the
    /// records it carried that the consumer kept.
    pub fn record_fetch(&mut self, consumer: usize, partition: i32, high_watermark: i64, records: &[(i64, String)]) {
        self.hw_samples.push(HwSample { consumer, partition, high_watermark });
        for (offset, value) in records {
            self.observations.push(Observation { consumer, partition, offset: *offset, value: value.clone(), high_watermark });
        }
    }

    pub fn record_invalid_batch(&mut self, consumer: usize, partition: i32, fetch_offset: i64, reason: impl Into<String>) {
        self.invalid_batches.push(InvalidBatch { consumer, partition, fetch_offset, reason: reason.into() });
    }

    pub fn set_final_readback(&mut self, readback: Result<ReadBack, String>) {
        self.final_readback = Some(readback);
    }

    /// Counts for the run summary: (acked, failed, unknown, observed records).
    pub fn summary(&self) -> (usize, usize, usize, usize) {
        let (mut a, mut f, mut u) = (0, 0, 0);
        for o in self.produced.values() {
            match o {
                Outcome::Acked { .. } => a += 1,
                Outcome::Failed { .. } => f += 1,
                Outcome::Unknown { .. } => u += 1,
            }
        }
        (a, f, u, self.observations.len())
    }
}
