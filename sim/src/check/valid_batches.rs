//! Proves (one node) that the broker never serves damaged bytes: every batch
//! any consumer received passed its CRC-32C and decoded. With latent sector
//! corruption, torn writes and failed syncs, recovery and reads must cut or
//! refuse damaged data rather than hand it to a client. The final read-back
//! counts as a consumer: it fails with [`READBACK_INVALID_BATCH`] if served one.

use crate::ledger::{Ledger, READBACK_INVALID_BATCH};

pub const NAME: &str = "valid_batches";

pub fn check(ledger: &Ledger) -> Vec<String> {
    let mut out: Vec<String> = ledger
        .invalid_batches
        .iter()
        .map(|b| format!("consumer {} partition {} fetch at {}: {}", b.consumer, b.partition, b.fetch_offset, b.reason))
        .collect();
    if let Some(Err(e)) = &ledger.final_readback {
        if e.starts_with(READBACK_INVALID_BATCH) {
            out.push(format!("final read-back: {e}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::clean_ledger;
    use super::*;

    // Proves: no invalid batch, no violation.
    #[test]
    fn passes_without_invalid_batches() {
        assert!(check(&clean_ledger()).is_empty());
    }

    // Proves: an invalid batch received by a consumer is reported with its reason.
    #[test]
    fn fails_on_invalid_batch() {
        let mut l = clean_ledger();
        l.record_invalid_batch(1, 0, 17, "crc mismatch");
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("crc mismatch") && v[0].contains("17"), "{v:?}");
    }

    // Proves: a read-back that was served a damaged batch is reported; one that merely timed out is not.
    #[test]
    fn fails_on_invalid_batch_in_read_back() {
        let mut l = clean_ledger();
        l.final_readback = Some(Err(format!("{READBACK_INVALID_BATCH} in partition 0 at offset 3: crc")));
        assert_eq!(check(&l).len(), 1);
        l.final_readback = Some(Err("timeout reading partition 0".into()));
        assert!(check(&l).is_empty());
    }
}
