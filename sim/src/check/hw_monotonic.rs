//! Proves DESIGN §5 item 3 as a client sees it (one node): for each consumer
//! and partition, the high watermark in successive fetch answers never
//! decreases, across crashes and restarts of the broker. A high watermark that
//! goes back means committed data was forgotten.

use std::collections::BTreeMap;

use crate::ledger::Ledger;

pub const NAME: &str = "hw_monotonic";

pub fn check(ledger: &Ledger) -> Vec<String> {
    let mut max: BTreeMap<(usize, i32), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for s in &ledger.hw_samples {
        let m = max.entry((s.consumer, s.partition)).or_insert(i64::MIN);
        if s.high_watermark < *m {
            out.push(format!(
                "consumer {} partition {}: high watermark went from {} back to {}",
                s.consumer, s.partition, *m, s.high_watermark
            ));
        }
        *m = (*m).max(s.high_watermark);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clean_ledger;
    use super::*;

    // Proves: a non-decreasing sequence (with repeats) passes; consumers are judged separately.
    #[test]
    fn passes_when_non_decreasing() {
        let mut l = clean_ledger();
        l.record_fetch(0, 0, 3, &[]);
        l.record_fetch(1, 0, 1, &[]);
        assert_eq!(check(&l), Vec::<String>::new());
    }

    // Proves: a high watermark that goes back is reported.
    #[test]
    fn fails_when_it_goes_back() {
        let mut l = clean_ledger();
        l.record_fetch(0, 0, 1, &[]);
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("from 3 back to 1"), "{v:?}");
    }
}
