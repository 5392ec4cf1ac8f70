//! What clients did and saw. STUB.

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

#[derive(Debug, Default)]
pub struct Ledger {
    _private: (),
}
