//! `wire_decode`: arbitrary bytes as one request frame (the bytes after the length
//! prefix) through the core's request decoding, exactly as
//! `core/src/broker/dispatch.rs` does it: `RequestHeader::decode`, the API/version
//! check against `api::APIS`, then `Request::decode` of the body.
//!
//! Checks: no panic; the reader never ends past the frame; and decoding one frame
//! never has more than `DECODE_BYTES_PER_INPUT_BYTE * len + DECODE_BYTES_CONST`
//! bytes live at once (measured by the counting allocator), i.e. allocation is
//! bounded by the bytes present, never by a declared length (DESIGN §8).
//!
//! Why that bound holds for correct code: the decoder (`core/src/protocol/codec.rs`)
//! allocates (a) strings, copied exactly, at most `len` bytes in all; (b) arrays via
//! `Vec::with_capacity(n)` where `n` <= the bytes remaining, because every element
//! takes at least one byte; a live array of capacity `n` costs `n * size_of::<T>()`,
//! and request element structs are tens of bytes; arrays nest, and while one
//! element of each level is being decoded, each level's capacity is still bounded
//! by the bytes left; (c) the
//! tagged-field list, a `Vec<(u32, Bytes)>` (40 bytes per entry, each entry >= 2
//! bytes of input) grown by doubling. Summed: a few hundred bytes per input byte in
//! the worst nesting, far from what a declared length (up to 2^31 elements) would
//! cost. `DECODE_BYTES_PER_INPUT_BYTE` = 512 covers the worst legitimate case with
//! room; the highest measured is ~109 per byte (FINDINGS.md).
#![no_main]

use bytes::Bytes;
use chronik_core::protocol::api;
use chronik_core::protocol::header::RequestHeader;
use chronik_core::protocol::messages::Request;
use chronik_core::protocol::Reader;
use chronik_fuzz::alloc::{Counting, Window};
use chronik_fuzz::guard;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Counting = Counting;

/// Live bytes one decode may hold per byte of frame (see the module docs).
const DECODE_BYTES_PER_INPUT_BYTE: usize = 512;
/// Plus this much whatever the frame (small fixed allocations, error values).
const DECODE_BYTES_CONST: usize = 4096;

fuzz_target!(|data: &[u8]| {
    guard::run(|| check(data));
});

/// What `dispatch` would do with the frame.
#[derive(Debug)]
enum Outcome {
    BadHeader,
    Unsupported,
    BadBody,
    Request(#[allow(dead_code)] Box<Request>),
}

fn decode(frame: Bytes) -> (Outcome, usize) {
    let len = frame.len();
    let mut r = Reader::new(frame);
    let outcome = match RequestHeader::decode(&mut r) {
        Err(_) => Outcome::BadHeader,
        Ok(header) => match api::spec(header.api_key) {
            Some(s) if s.supports(header.api_version) => match Request::decode(header.api_key, header.api_version, &mut r) {
                Ok(req) => {
                    assert_eq!(req.api_key(), header.api_key, "decoded a different API than the header names");
                    Outcome::Request(Box::new(req))
                }
                Err(_) => Outcome::BadBody,
            },
            _ => Outcome::Unsupported,
        },
    };
    assert!(r.position() <= len, "reader at {} past the {len}-byte frame", r.position());
    (outcome, r.position())
}

fn check(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    let window = Window::open();
    let outcome = decode(frame);
    let peak = window.peak_growth();
    let bound = DECODE_BYTES_PER_INPUT_BYTE * data.len() + DECODE_BYTES_CONST;
    assert!(
        peak <= bound,
        "decoding a {}-byte frame held {peak} bytes at once (bound {bound}); largest block {}; outcome {:?}",
        data.len(),
        window.largest_block(),
        outcome.0
    );
    report(data.len(), peak, &outcome.0);
}

/// With CHRONIK_FUZZ_REPORT_ALLOC set, print each new highest peak-per-input-byte.
fn report(len: usize, peak: usize, outcome: &Outcome) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static ON: AtomicUsize = AtomicUsize::new(2);
    static BEST: AtomicUsize = AtomicUsize::new(0);
    if ON.load(Relaxed) == 2 {
        ON.store(std::env::var_os("CHRONIK_FUZZ_REPORT_ALLOC").is_some() as usize, Relaxed);
    }
    if ON.load(Relaxed) == 0 || len == 0 {
        return;
    }
    let per_byte_x100 = peak * 100 / len;
    if per_byte_x100 > BEST.load(Relaxed) {
        BEST.store(per_byte_x100, Relaxed);
        let kind = match outcome {
            Outcome::BadHeader => "bad header".to_string(),
            Outcome::Unsupported => "unsupported".to_string(),
            Outcome::BadBody => "bad body".to_string(),
            Outcome::Request(r) => format!("api {}", r.api_key()),
        };
        eprintln!("alloc report: {len}-byte frame, peak {peak} bytes = {}.{:02} per input byte ({kind})", per_byte_x100 / 100, per_byte_x100 % 100);
    }
}
