//! Proves DESIGN §5 item 5 (one node): every value acknowledged with `acks=all`
//! is in the final read-back at exactly the partition and offset it was
//! acknowledged at, whatever crashes and disk faults happened before. Values
//! acknowledged with acks=1, refused or unanswered promise nothing here.

use std::collections::HashMap;

use crate::ledger::{Ledger, Outcome};

pub const NAME: &str = "acked_readable";

pub fn check(ledger: &Ledger) -> Vec<String> {
    let readback = match &ledger.final_readback {
        Some(Ok(r)) => r,
        Some(Err(e)) => return vec![format!("cannot check: the final read-back failed: {e}")],
        None => return vec!["cannot check: no final read-back recorded".into()],
    };
    let at: HashMap<(i32, i64), &str> =
        readback.iter().flat_map(|(p, recs)| recs.iter().map(move |(o, v)| ((*p, *o), v.as_str()))).collect();
    let mut out = Vec::new();
    for (value, outcome) in &ledger.produced {
        if let Outcome::Acked { partition, offset, acks: -1 } = outcome {
            match at.get(&(*partition, *offset)) {
                Some(v) if *v == value => {}
                Some(v) => out.push(format!("{value} acked (acks=all) at {partition}/{offset}, which holds {v} instead")),
                None => out.push(format!("{value} acked (acks=all) at {partition}/{offset}, which is missing from the read-back")),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clean_ledger;
    use super::*;

    // Proves: a history where every acks=all value is read back in place passes.
    #[test]
    fn passes_when_all_readable() {
        assert_eq!(check(&clean_ledger()), Vec::<String>::new());
    }

    // Proves: a lost acks=all value, one at another offset, and a failed read-back are each reported.
    #[test]
    fn fails_on_loss_and_displacement() {
        let mut l = clean_ledger();
        if let Some(Ok(r)) = &mut l.final_readback {
            r.get_mut(&0).unwrap().truncate(2); // a2 lost
        }
        let v = check(&l);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("a2") && v[0].contains("missing"));

        let mut l = clean_ledger();
        if let Some(Ok(r)) = &mut l.final_readback {
            r.get_mut(&0).unwrap()[1].1 = "zz".into();
        }
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("holds zz"), "{v:?}");

        let mut l = clean_ledger();
        l.final_readback = Some(Err("timeout".into()));
        assert_eq!(check(&l).len(), 1);
    }

    // Proves: losing an acks=1 value is not this checker's business.
    #[test]
    fn acks_1_loss_is_allowed() {
        let mut l = clean_ledger();
        if let Some(Ok(r)) = &mut l.final_readback {
            r.get_mut(&1).unwrap().clear();
        }
        assert!(check(&l).is_empty());
    }
}
