//! Proves DESIGN §5 item 7 (one node): each consumer, reading each partition
//! from offset 0, sees offsets strictly increasing, and contiguous wherever the
//! high watermark it was shown covered the skipped offsets: a record skipped
//! below the high watermark was committed and then lost (or never served).

use std::collections::BTreeMap;

use crate::ledger::Ledger;

pub const NAME: &str = "consumer_order";

pub fn check(ledger: &Ledger) -> Vec<String> {
    // (consumer, partition) -> last offset read (-1 before the first).
    let mut last: BTreeMap<(usize, i32), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for obs in &ledger.observations {
        let prev = last.entry((obs.consumer, obs.partition)).or_insert(-1);
        let (c, p, o, hw) = (obs.consumer, obs.partition, obs.offset, obs.high_watermark);
        if o <= *prev {
            out.push(format!("consumer {c} partition {p}: offset {o} ({}) after offset {prev}", obs.value));
        } else if o > *prev + 1 && *prev + 1 < hw {
            out.push(format!("consumer {c} partition {p}: gap {}..{o} below high watermark {hw} (next record {})", *prev + 1, obs.value));
        }
        *prev = (*prev).max(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clean_ledger;
    use super::*;

    // Proves: in-order contiguous reads by several consumers, interleaved, pass.
    #[test]
    fn passes_in_order() {
        let mut l = clean_ledger();
        l.record_fetch(1, 0, 3, &[(0, "a0".into())]);
        l.record_fetch(1, 0, 3, &[(1, "a1".into()), (2, "a2".into())]);
        assert_eq!(check(&l), Vec::<String>::new());
    }

    // Proves: going backwards or repeating an offset is reported.
    #[test]
    fn fails_on_reorder() {
        let mut l = clean_ledger();
        l.record_fetch(0, 0, 3, &[(1, "a1".into())]);
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("offset 1"), "{v:?}");
    }

    // Proves: a gap below the high watermark is reported, including one at the very start.
    #[test]
    fn fails_on_gap_below_hw() {
        let mut l = clean_ledger();
        l.record_fetch(1, 1, 3, &[(0, "b0".into()), (2, "u".into())]);
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("gap 1..2"), "{v:?}");
        let mut l = clean_ledger();
        l.record_fetch(2, 0, 3, &[(1, "a1".into())]);
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("gap 0..1"), "{v:?}");
    }
}
