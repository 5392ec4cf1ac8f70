//! The client side of Kafka's idempotent producer, as both simulated workloads
//! use it (`workload` against one node, `cluster::data` against a cluster): a
//! producer id and epoch, one sequence per partition that advances only when a
//! batch is acknowledged and starts again from zero under a new producer id,
//! the requests they send, and which errors end a producer id. How each finds
//! a broker and retries a batch differs, and stays with each workload.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use chronik_core::protocol::error_code;
use chronik_core::protocol::messages::init_producer_id::InitProducerIdRequest;
use chronik_core::protocol::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
use chronik_core::protocol::messages::Request;
use chronik_core::records::{self, Compression, Record};

/// How long an idempotent producer waits for one answer before retrying the
/// same batch: shorter than an acks=all wait may take and than a clog may last,
/// so retries race originals that may still land.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(1_000);
/// Attempts at one batch before giving up on it (the stop flag normally ends them first).
pub const ATTEMPTS_MAX: usize = 200;
pub const INIT_PRODUCER_ID_VERSION: i16 = 4;

/// A producer id and its epoch, as InitProducerId granted them.
pub type ProducerId = (i64, i16);

/// InitProducerId for a new idempotent (not transactional) producer.
pub fn init_producer_id_request() -> Request {
    Request::InitProducerId(InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: -1,
        producer_id: -1,
        producer_epoch: -1,
    })
}

/// An acks=all Produce of one batch to one partition.
pub fn produce_request(topic: &str, partition: i32, batch: Bytes, timeout_ms: i32) -> Request {
    Request::Produce(ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms,
        topic_data: vec![TopicProduceData {
            name: topic.to_string(),
            partition_data: vec![PartitionProduceData { index: partition, records: Some(batch) }],
        }],
    })
}

/// A sequence or producer error: the batch ends and the producer starts over
/// with a new producer id, as the Java client does.
pub fn ends_producer_id(code: i16) -> bool {
    matches!(code, error_code::OUT_OF_ORDER_SEQUENCE_NUMBER | error_code::UNKNOWN_PRODUCER_ID | error_code::INVALID_PRODUCER_EPOCH)
}

/// The next sequence of each partition for the current producer id.
#[derive(Debug, Default)]
pub struct Sequences(BTreeMap<i32, i32>);

impl Sequences {
    /// The base sequence of the partition's next batch.
    pub fn next(&self, partition: i32) -> i32 {
        self.0.get(&partition).copied().unwrap_or(0)
    }

    /// The partition's next batch, of `records` records, was acknowledged: the
    /// one after follows it (sequences wrap at i32::MAX, as Kafka's do).
    pub fn acked(&mut self, partition: i32, records: usize) {
        self.0.insert(partition, self.next(partition).wrapping_add(records as i32) & i32::MAX);
    }

    /// A new producer id: every partition starts again from zero.
    pub fn reset(&mut self) {
        self.0.clear();
    }

    /// The batch of `recs` a producer sends next to `partition`.
    pub fn batch(&self, producer: ProducerId, partition: i32, recs: &[Record]) -> Bytes {
        records::build_batch(recs, Compression::None, producer.0, producer.1, self.next(partition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_advance_on_ack_and_wrap() {
        let mut s = Sequences::default();
        assert_eq!(s.next(3), 0);
        s.acked(3, 5);
        s.acked(3, 2);
        assert_eq!((s.next(3), s.next(4)), (7, 0));
        s.0.insert(4, i32::MAX - 1);
        s.acked(4, 3);
        assert_eq!(s.next(4), 1, "wraps past i32::MAX to 0 and on");
        s.reset();
        assert_eq!((s.next(3), s.next(4)), (0, 0));
    }

    #[test]
    fn only_sequence_and_producer_errors_end_a_producer_id() {
        for code in [error_code::OUT_OF_ORDER_SEQUENCE_NUMBER, error_code::UNKNOWN_PRODUCER_ID, error_code::INVALID_PRODUCER_EPOCH] {
            assert!(ends_producer_id(code), "{code}");
        }
        for code in [error_code::NONE, error_code::NOT_LEADER_OR_FOLLOWER, error_code::REQUEST_TIMED_OUT] {
            assert!(!ends_producer_id(code), "{code}");
        }
    }
}
