//! Proves DESIGN §5 item 6 (one node): no value appears at two places and no
//! place holds two values, across everything any consumer read during the run
//! and the final read-back. A place is (partition, offset). A value read at
//! offset 5 and later gone from offset 5 (replaced by another) means data below
//! the high watermark changed: committed data is not immutable. A value read
//! that no producer sent (phantom data) is reported too.

use std::collections::{BTreeMap, BTreeSet};

use crate::ledger::Ledger;

pub const NAME: &str = "unique";

pub fn check(ledger: &Ledger) -> Vec<String> {
    // value -> places, place -> values.
    let mut places: BTreeMap<&str, BTreeSet<(i32, i64)>> = BTreeMap::new();
    let mut values: BTreeMap<(i32, i64), BTreeSet<&str>> = BTreeMap::new();
    for obs in &ledger.observations {
        places.entry(obs.value.as_str()).or_default().insert((obs.partition, obs.offset));
        values.entry((obs.partition, obs.offset)).or_default().insert(obs.value.as_str());
    }
    if let Some(Ok(readback)) = &ledger.final_readback {
        for (p, recs) in readback {
            for (o, v) in recs {
                places.entry(v.as_str()).or_default().insert((*p, *o));
                values.entry((*p, *o)).or_default().insert(v.as_str());
            }
        }
    }
    let mut out = Vec::new();
    for (v, at) in &places {
        if !ledger.produced.contains_key(*v) {
            let (p, o) = at.first().expect("non-empty");
            out.push(format!("value {v:?} at {p}/{o} was never produced"));
        }
        if at.len() > 1 {
            let list: Vec<String> = at.iter().map(|(p, o)| format!("{p}/{o}")).collect();
            out.push(format!("value {v} seen at {} places: {}", at.len(), list.join(", ")));
        }
    }
    for ((p, o), vs) in &values {
        if vs.len() > 1 {
            let list: Vec<&str> = vs.iter().copied().collect();
            out.push(format!("{p}/{o} seen holding {} values: {}", vs.len(), list.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clean_ledger;
    use super::*;

    // Proves: the same value at the same place seen many times is fine.
    #[test]
    fn passes_on_repeated_reads() {
        let mut l = clean_ledger();
        l.record_fetch(1, 0, 3, &[(0, "a0".into()), (1, "a1".into())]);
        assert_eq!(check(&l), Vec::<String>::new());
    }

    // Proves: a value at two offsets (a duplicate) is reported.
    #[test]
    fn fails_on_duplicate_value() {
        let mut l = clean_ledger();
        l.record_fetch(1, 0, 4, &[(3, "a1".into())]);
        let v = check(&l);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("a1") && v[0].contains("0/1") && v[0].contains("0/3"));
    }

    // Proves: a value nobody produced is reported.
    #[test]
    fn fails_on_phantom_value() {
        let mut l = clean_ledger();
        l.record_fetch(1, 1, 4, &[(3, "ghost".into())]);
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("ghost") && v[0].contains("never produced"), "{v:?}");
    }

    // Proves: an offset whose value changed between a consumer's read and the read-back is reported.
    #[test]
    fn fails_on_rewritten_offset() {
        let mut l = clean_ledger();
        if let Some(Ok(r)) = &mut l.final_readback {
            r.get_mut(&1).unwrap()[2].1 = "w".into();
        }
        let v = check(&l);
        assert!(v.iter().any(|m| m.contains("1/2") && m.contains("u") && m.contains("w")), "{v:?}");
    }
}
