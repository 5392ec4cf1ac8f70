//! `broker_connection`: a standalone broker on an in-memory disk, fed connections,
//! fuzzer bytes in fuzzer-chosen chunks (raw, real request frames with one byte
//! flipped, or real request headers over fuzzer bodies), time and held-back disk
//! completions, then closes and a shutdown. The input format and every check are in
//! `src/scenario.rs`.
#![no_main]

use chronik_fuzz::alloc::Counting;
use chronik_fuzz::guard;
use chronik_fuzz::scenario::Scenario;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    guard::run(|| {
        Scenario::parse(data).run();
    });
});
