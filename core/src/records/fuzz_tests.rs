//! Deterministic "mutate bytes" tests: every reader returns Ok or Err on damaged
//! batches, never panics. Mutations are also re-checksummed so they reach record
//! parsing and the decompressors instead of stopping at the CRC.

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::header::{self, rewrite_crc};
use super::*;

const CODECS: [Compression; 5] = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

fn limits() -> ValidationLimits {
    ValidationLimits {
        max_batch_bytes: 1 << 20,
        max_decompressed_bytes: 1 << 16,
        now_ms: 1_000,
        timestamp_before_max_ms: i64::MAX,
        timestamp_after_max_ms: i64::MAX,
        timestamp_type: TimestampType::CreateTime,
    }
}

fn sample(c: Compression) -> Vec<u8> {
    let recs: Vec<Record> = (0..3)
        .map(|i| Record {
            timestamp: 1_000 + i,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(vec![b'a' + i as u8; 40])),
            headers: vec![("h".into(), Some(Bytes::from_static(b"v")))],
            ..Default::default()
        })
        .collect();
    build_batch(&recs, c, 1, 0, 0).to_vec()
}

/// Run every reader over `b`; each must return (Ok or Err) without panicking.
fn exercise(b: &[u8]) {
    let bytes = Bytes::copy_from_slice(b);
    let bound = 1 << 16;
    if let Ok(valid) = validate_produce(&bytes, &limits()) {
        for v in &valid {
            let s = stamp(v, Offset(10), LeaderEpoch(1), Some(5));
            decode_batch(&s, bound).expect("a validated, stamped batch decodes");
        }
    }
    let _ = decode_batch(b, bound);
    let _ = find_timestamp(b, 1_001, bound);
    let _ = max_timestamp_record(b, bound);
    let s = scan(b, true);
    assert!(s.valid_len <= b.len());
    let _ = scan(b, false);
    let _ = BatchHeader::parse(b).map(|h| (h.total_len(), h.next_offset(), h.compression()));
}

/// Fix the CRC of a mutated batch when its header still frames inside the bytes.
fn recrc(b: &mut [u8]) {
    if let Ok(h) = header::parse(b) {
        if h.total_len() <= b.len() {
            rewrite_crc(&mut b[..h.total_len()]);
        }
    }
}

// Proves: flipping each bit of every byte (with and without fixing the CRC) never panics any reader.
#[test]
fn every_bit_flip() {
    for c in CODECS {
        let base = sample(c);
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut b = base.clone();
                b[i] ^= 1 << bit;
                exercise(&b);
                recrc(&mut b);
                exercise(&b);
            }
        }
    }
}

// Proves: every truncation, and every truncation with the length field made to fit, never panics.
#[test]
fn every_truncation() {
    for c in CODECS {
        let base = sample(c);
        for n in 0..base.len() {
            let mut b = base[..n].to_vec();
            exercise(&b);
            if n >= BATCH_HEADER_LEN {
                header::put_i32(&mut b, header::BATCH_LENGTH_AT, (n - LOG_OVERHEAD) as i32);
                recrc(&mut b);
                exercise(&b);
            }
        }
    }
}

// Proves: random multi-byte overwrites, insertions and extreme field values never panic (seeded, reproducible).
#[test]
fn random_mutations() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let extremes: [i64; 6] = [0, -1, i64::MIN, i64::MAX, i32::MAX as i64, i32::MIN as i64];
    for round in 0..4000 {
        let c = CODECS[round % CODECS.len()];
        let mut b = sample(c);
        for _ in 0..rng.gen_range(1..4) {
            match rng.gen_range(0..4) {
                0 => {
                    let i = rng.gen_range(0..b.len());
                    b[i] = rng.gen();
                }
                1 => {
                    let i = rng.gen_range(0..=b.len());
                    b.insert(i, rng.gen());
                }
                2 => {
                    // an extreme value in a header field
                    let at = [0usize, 8, 12, 23, 27, 35, 43, 53, 57][rng.gen_range(0..9)];
                    let v = extremes[rng.gen_range(0..extremes.len())];
                    if at == 0 || at == 27 || at == 35 || at == 43 {
                        header::put_i64(&mut b, at, v);
                    } else {
                        header::put_i32(&mut b, at, v as i32);
                    }
                }
                _ => {
                    let i = rng.gen_range(BATCH_HEADER_LEN..b.len());
                    b[i] = [0x00, 0x7f, 0x80, 0xff, 0x01][rng.gen_range(0..5)];
                }
            }
        }
        exercise(&b);
        recrc(&mut b);
        exercise(&b);
    }
}
