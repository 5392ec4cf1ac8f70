//! Proves the one-node part of DESIGN §5 item 9: after the faults stop, the
//! broker comes back and serves every partition to its high watermark within a
//! bounded simulated time (the final read-back succeeded).

use crate::ledger::Ledger;

pub const NAME: &str = "liveness";

pub fn check(ledger: &Ledger) -> Vec<String> {
    match &ledger.final_readback {
        Some(Ok(_)) => vec![],
        Some(Err(e)) => vec![format!("final read-back failed: {e}")],
        None => vec!["no final read-back recorded".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clean_ledger;
    use super::*;

    // Proves: a successful read-back passes.
    #[test]
    fn passes_when_read_back() {
        assert!(check(&clean_ledger()).is_empty());
    }

    // Proves: a failed or missing read-back is reported.
    #[test]
    fn fails_without_read_back() {
        let mut l = clean_ledger();
        l.final_readback = Some(Err("connect: refused".into()));
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("refused"));
        l.final_readback = None;
        assert_eq!(check(&l).len(), 1);
    }
}
