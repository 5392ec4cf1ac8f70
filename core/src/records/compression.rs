//! Compression codecs as Kafka uses them, with bounded decompression.
//!
//! - gzip: RFC 1952 (flate2, pure-Rust backend); concatenated members are read
//!   like Java's `GZIPInputStream` does.
//! - snappy: the xerial framing the Java client writes (`\x82SNAPPY\0`, version,
//!   compatible version, then `[len i32][raw snappy block]`...) or one raw snappy
//!   block (some librdkafka versions); we write the xerial framing.
//! - lz4: the LZ4 frame format (lz4_flex), independent 64 KiB blocks as Kafka writes.
//! - zstd: a zstd frame (ruzstd, pure Rust); we write with its fastest level.
//!
//! Decompression never allocates from a size the input declares beyond the bound
//! (`max_decompressed_bytes`) and stops with an error once output would exceed it.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{BatchError, Compression};

/// The xerial snappy stream header: magic, version 1, minimum compatible version 1.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;
/// The Java client's xerial block size.
const XERIAL_BLOCK_BYTES: usize = 32 * 1024;
/// Snappy emits at most 64 bytes per 3-byte copy: no valid block expands by more
/// than this factor (plus a small preamble), so larger declared lengths are lies.
const SNAPPY_EXPANSION_MAX: usize = 22;
/// Largest zstd window we accept regardless of the bound: zstd level 19 uses
/// 8 MiB; a frame may declare more to make us allocate it.
const ZSTD_WINDOW_FLOOR_BYTES: u64 = 8 * 1024 * 1024;
/// Read chunk for streaming decoders.
const CHUNK_BYTES: usize = 32 * 1024;

fn corrupt(codec: &str, e: impl std::fmt::Display) -> BatchError {
    BatchError::Corrupt(format!("{codec} decompression failed: {e}"))
}

fn too_big(bound: usize) -> BatchError {
    BatchError::InvalidRecord(format!("records decompress to more than {bound} bytes"))
}

/// Decompress `input` (a batch's records section) into at most `bound` bytes.
pub(crate) fn decompress(codec: Compression, input: &[u8], bound: usize) -> Result<Cow<'_, [u8]>, BatchError> {
    let run = || -> Result<Vec<u8>, BatchError> {
        match codec {
            Compression::None => unreachable!("handled below"),
            Compression::Gzip => read_bounded(flate2::read::MultiGzDecoder::new(input), input.len(), bound, "gzip"),
            Compression::Snappy => snappy_decompress(input, bound),
            Compression::Lz4 => read_bounded(lz4_flex::frame::FrameDecoder::new(input), input.len(), bound, "lz4"),
            Compression::Zstd => zstd_decompress(input, bound),
        }
    };
    if codec == Compression::None {
        return Ok(Cow::Borrowed(input));
    }
    // Third-party decoders: a panic on hostile input must not take the broker down.
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r.map(Cow::Owned),
        Err(_) => Err(BatchError::Corrupt(format!("{codec:?} decoder failed on malformed input"))),
    }
}

/// Drain `r` into a vector of at most `bound` bytes; more is an error.
fn read_bounded(mut r: impl Read, input_len: usize, bound: usize, codec: &str) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(input_len.saturating_mul(2).min(bound).min(1 << 20));
    let mut chunk = [0u8; CHUNK_BYTES];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(codec, e)),
        };
        if n > bound - out.len() {
            return Err(too_big(bound));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

fn zstd_decompress(input: &[u8], bound: usize) -> Result<Vec<u8>, BatchError> {
    let window_max = (bound as u64).max(ZSTD_WINDOW_FLOOR_BYTES);
    let mut out = Vec::new();
    let mut rest = input;
    // A payload may hold several concatenated frames, as zstd's stream decoders accept.
    while !rest.is_empty() {
        let dec = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(&mut rest, window_max).map_err(|e| corrupt("zstd", e))?;
        let part = read_bounded(dec, input.len(), bound - out.len(), "zstd")?;
        out.extend_from_slice(&part);
    }
    Ok(out)
}

fn snappy_decompress(input: &[u8], bound: usize) -> Result<Vec<u8>, BatchError> {
    if input.len() >= XERIAL_MAGIC.len() && &input[..XERIAL_MAGIC.len()] == XERIAL_MAGIC {
        return xerial_decompress(input, bound);
    }
    let mut out = Vec::new();
    snappy_block(input, &mut out, bound)?;
    Ok(out)
}

fn xerial_decompress(input: &[u8], bound: usize) -> Result<Vec<u8>, BatchError> {
    if input.len() < XERIAL_HEADER_LEN {
        return Err(corrupt("snappy", "truncated xerial header"));
    }
    let mut rest = &input[XERIAL_HEADER_LEN..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(corrupt("snappy", "truncated xerial block length"));
        }
        let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        rest = &rest[4..];
        if len < 0 || len as usize > rest.len() {
            return Err(corrupt("snappy", format!("xerial block of {len} bytes, {} present", rest.len())));
        }
        let (block, tail) = rest.split_at(len as usize);
        snappy_block(block, &mut out, bound)?;
        rest = tail;
    }
    Ok(out)
}

/// Decompress one raw snappy block, appending to `out` within `bound`.
fn snappy_block(block: &[u8], out: &mut Vec<u8>, bound: usize) -> Result<(), BatchError> {
    let declared = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
    if declared > block.len().saturating_mul(SNAPPY_EXPANSION_MAX).saturating_add(64) {
        return Err(corrupt("snappy", format!("block of {} bytes declares {declared}", block.len())));
    }
    if declared > bound - out.len() {
        return Err(too_big(bound));
    }
    let start = out.len();
    out.resize(start + declared, 0);
    let n = snap::raw::Decoder::new().decompress(block, &mut out[start..]).map_err(|e| corrupt("snappy", e))?;
    out.truncate(start + n);
    Ok(())
}

/// Compress a records section as Kafka's Java client would.
pub(crate) fn compress(codec: Compression, input: &[u8]) -> Vec<u8> {
    match codec {
        Compression::None => input.to_vec(),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(input).expect("writing to a Vec cannot fail");
            enc.finish().expect("writing to a Vec cannot fail")
        }
        Compression::Snappy => xerial_compress(input),
        Compression::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(input).expect("writing to a Vec cannot fail");
            enc.finish().expect("writing to a Vec cannot fail")
        }
        Compression::Zstd => ruzstd::encoding::compress_to_vec(input, ruzstd::encoding::CompressionLevel::Fastest),
    }
}

fn xerial_compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + input.len() / 2 + 64);
    out.extend_from_slice(XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut enc = snap::raw::Encoder::new();
    for block in input.chunks(XERIAL_BLOCK_BYTES) {
        let c = enc.compress_vec(block).expect("snappy block within limits");
        out.extend_from_slice(&(c.len() as i32).to_be_bytes());
        out.extend_from_slice(&c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    const ALL: [Compression; 5] = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

    // Proves: every codec round-trips a payload larger than one block.
    #[test]
    fn round_trip_all_codecs() {
        let data = sample();
        for c in ALL {
            let z = compress(c, &data);
            assert_eq!(decompress(c, &z, data.len()).unwrap().as_ref(), &data[..], "{c:?}");
        }
    }

    // Proves: output one byte over the bound is refused by every codec.
    #[test]
    fn bound_is_exact() {
        let data = sample();
        for c in ALL[1..].iter().copied() {
            let z = compress(c, &data);
            assert!(decompress(c, &z, data.len() - 1).is_err(), "{c:?}");
        }
    }

    // Proves: a gzip bomb (100 MB of zeros) is refused at a 1 MB bound without inflating it all.
    #[test]
    fn gzip_bomb_rejected() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..100 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 200_000);
        let err = decompress(Compression::Gzip, &bomb, 1 << 20).unwrap_err();
        assert!(matches!(err, BatchError::InvalidRecord(_)), "{err:?}");
    }

    // Proves: zstd, lz4 and snappy bombs are refused at the bound too.
    #[test]
    fn other_bombs_rejected() {
        let zeros = vec![0u8; 16 << 20];
        for c in [Compression::Zstd, Compression::Lz4, Compression::Snappy] {
            let bomb = compress(c, &zeros);
            assert!(decompress(c, &bomb, 1 << 20).is_err(), "{c:?}");
        }
    }

    // Proves: both snappy framings decode: xerial (Java) and one raw block (librdkafka).
    #[test]
    fn snappy_xerial_and_raw() {
        let data = sample();
        let xerial = compress(Compression::Snappy, &data);
        assert_eq!(&xerial[..8], XERIAL_MAGIC);
        assert_eq!(decompress(Compression::Snappy, &xerial, 1 << 30).unwrap().as_ref(), &data[..]);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress(Compression::Snappy, &raw, 1 << 30).unwrap().as_ref(), &data[..]);
    }

    // Proves: a raw snappy block declaring a huge length is refused before any allocation of that size.
    #[test]
    fn snappy_declared_length_not_trusted() {
        let mut lie = Vec::new();
        // uvarint 0xffffffff (4 GiB - 1), then a literal of one byte
        lie.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'a']);
        assert!(decompress(Compression::Snappy, &lie, usize::MAX).is_err());
    }

    // Proves: garbage input to every codec is an error, not a panic (a lone 0 byte is a valid empty raw snappy block).
    #[test]
    fn garbage_is_an_error() {
        for c in ALL[1..].iter().copied() {
            for junk in [&b"\x01"[..], b"\x1f\x8b\x08\x00garbage", b"\x04\x22\x4d\x18\x60", b"\x28\xb5\x2f\xfd\x00"] {
                assert!(decompress(c, junk, 1 << 20).is_err(), "{c:?} {junk:?}");
            }
            let _ = decompress(c, b"", 1 << 20);
            let _ = decompress(c, b"\x00", 1 << 20);
        }
    }
}

/// Interop: payloads compressed by the reference tools (zstd 1.5.4 with content
/// checksums and two concatenated frames, lz4 1.9.4 with independent and linked
/// blocks, gzip -9) decode to the original.
#[cfg(test)]
mod interop_tests {
    use super::*;

    fn plain() -> Vec<u8> {
        (0..3000).flat_map(|i| format!("chronik record {i:05}\n").into_bytes()).collect()
    }

    // Proves: frames written by the reference zstd, lz4 and gzip tools decode with our bounded decoders.
    #[test]
    fn reference_tool_payloads_decode() {
        let want = plain();
        let cases: [(Compression, &[u8]); 5] = [
            (Compression::Zstd, include_bytes!("testdata/plain.zst")),
            (Compression::Zstd, include_bytes!("testdata/plain2.zst")),
            (Compression::Lz4, include_bytes!("testdata/plain.lz4")),
            (Compression::Lz4, include_bytes!("testdata/plain-linked.lz4")),
            (Compression::Gzip, include_bytes!("testdata/plain.gz")),
        ];
        for (i, (c, z)) in cases.iter().enumerate() {
            assert_eq!(decompress(*c, z, want.len()).unwrap().as_ref(), &want[..], "case {i}");
            assert!(decompress(*c, z, want.len() - 1).is_err(), "case {i} bound");
        }
    }
}
