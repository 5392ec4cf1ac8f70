//! Walking stored batches (log recovery and reads): stops at the first incomplete
//! or invalid batch and reports how many bytes were good.

use super::header::{compute_crc, parse};
use super::{Scan, BATCH_HEADER_LEN};

pub(crate) fn scan(data: &[u8], verify_crc: bool) -> Scan {
    let mut batches = Vec::new();
    let mut pos = 0;
    let stop_reason = loop {
        let rest = &data[pos..];
        if rest.is_empty() {
            break None;
        }
        if rest.len() < BATCH_HEADER_LEN {
            break Some(format!("torn tail: {} bytes at {pos}, less than a batch header", rest.len()));
        }
        let header = match parse(rest) {
            Ok(h) => h,
            Err(e) => break Some(format!("bad batch header at {pos}: {e}")),
        };
        let total = header.total_len();
        if total > rest.len() {
            break Some(format!("torn tail: batch at {pos} needs {total} bytes, {} present", rest.len()));
        }
        if verify_crc {
            let computed = compute_crc(&rest[..total]);
            if computed != header.crc {
                break Some(format!("crc mismatch in batch at {pos}: stored {:#010x}, computed {computed:#010x}", header.crc));
            }
        }
        batches.push((pos, header));
        pos += total;
    };
    Scan { batches, valid_len: pos, stop_reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{build_batch, header, Compression, Record};

    fn log(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let r = Record { timestamp: i as i64, value: Some(bytes::Bytes::from(vec![1u8; 10 + i])), ..Default::default() };
            out.extend_from_slice(&build_batch(&[r], Compression::None, -1, -1, -1));
        }
        out
    }

    // Proves: a clean log scans whole with no stop reason.
    #[test]
    fn scans_complete_log() {
        let data = log(3);
        let s = scan(&data, true);
        assert_eq!(s.batches.len(), 3);
        assert_eq!(s.valid_len, data.len());
        assert_eq!(s.stop_reason, None);
        assert_eq!(s.batches[1].0, s.batches[0].1.total_len());
    }

    // Proves: scan stops at a torn tail at every cut point and reports the bytes of whole batches.
    #[test]
    fn stops_at_torn_tail() {
        let data = log(3);
        let ends: Vec<usize> = {
            let s = scan(&data, true);
            s.batches.iter().map(|(p, h)| p + h.total_len()).collect()
        };
        for cut in 0..data.len() {
            let s = scan(&data[..cut], true);
            let want = ends.iter().copied().filter(|e| *e <= cut).max().unwrap_or(0);
            assert_eq!(s.valid_len, want, "cut {cut}");
            assert_eq!(s.stop_reason.is_some(), want != cut);
        }
    }

    // Proves: a flipped byte inside the CRC-covered part stops a verifying scan there, and not a non-verifying one.
    #[test]
    fn crc_checked_only_when_asked() {
        let mut data = log(3);
        let second = scan(&data, true).batches[1].0;
        data[second + header::ATTRIBUTES_AT + 10] ^= 0x40;
        let s = scan(&data, true);
        assert_eq!(s.valid_len, second);
        assert!(s.stop_reason.unwrap().contains("crc"));
        assert_eq!(scan(&data, false).batches.len(), 3);
    }

    // Proves: a zeroed region (e.g. preallocated file space) ends the scan instead of looping or panicking.
    #[test]
    fn zeroes_stop_the_scan() {
        let mut data = log(2);
        let len = data.len();
        data.extend_from_slice(&[0u8; 200]);
        let s = scan(&data, false);
        assert_eq!(s.valid_len, len);
        assert!(s.stop_reason.is_some());
    }
}
