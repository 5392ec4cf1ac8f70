//! Hand-built ledgers for the checkers' unit tests.

use crate::ledger::{Ledger, Outcome};

/// A consistent history: two partitions, values a0..a2 (acks=all) on partition
/// 0, b0..b1 (acks=1) on partition 1, one unknown and one failed value; one
/// consumer that read everything in order; a read-back that has it all.
pub fn clean_ledger() -> Ledger {
    let mut l = Ledger::default();
    for i in 0..3 {
        l.record_outcome(&format!("a{i}"), Outcome::Acked { partition: 0, offset: i, acks: -1 });
    }
    for i in 0..2 {
        l.record_outcome(&format!("b{i}"), Outcome::Acked { partition: 1, offset: i, acks: 1 });
    }
    l.record_outcome("u", Outcome::Unknown { partition: 1 });
    l.record_outcome("f", Outcome::Failed { partition: 0, error_code: 56 });
    l.record_fetch(0, 0, 0, &[]);
    l.record_fetch(0, 0, 2, &[(0, "a0".into()), (1, "a1".into())]);
    l.record_fetch(0, 1, 3, &[(0, "b0".into()), (1, "b1".into()), (2, "u".into())]);
    l.record_fetch(0, 0, 3, &[(2, "a2".into())]);
    l.set_final_readback(Ok([
        (0, vec![(0, "a0".into()), (1, "a1".into()), (2, "a2".into())]),
        (1, vec![(0, "b0".into()), (1, "b1".into()), (2, "u".into())]),
    ]
    .into_iter()
    .collect()));
    l
}
