//! Writes the committed seed corpora: `cargo run --example make-seeds` (from fuzz/).
//!
//! - `corpus/wire_decode/<name>`: one real request frame each (no length prefix).
//! - `corpus/broker_connection/<name>`: scenarios (see `src/scenario.rs`) that send
//!   real frames, whole or split, and a few sequences (produce then fetch, a group
//!   join, a long poll answered after time passes).

use std::fs;
use std::path::Path;

use chronik_fuzz::scenario::{Scenario, Step};
use chronik_fuzz::seeds;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

fn raw(conn: usize, frame: &[u8]) -> Step {
    Step::Raw { conn, data: seeds::framed(frame) }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let all = seeds::all();
    let frame = |name: &str| all.iter().find(|(n, _)| *n == name).expect("seed exists").1.clone();
    for (name, frame) in &all {
        write(&root.join("wire_decode"), name, frame);
        let one = Scenario { close_before_shutdown: true, steps: vec![raw(0, frame)] };
        write(&root.join("broker_connection"), name, &one.encode());
    }
    let bc = root.join("broker_connection");
    let scenarios = [
        (
            "seq_produce_fetch",
            Scenario {
                close_before_shutdown: true,
                steps: vec![
                    raw(0, &frame("api_versions_v3")),
                    raw(0, &frame("metadata_v9_topic")),
                    raw(0, &frame("produce_v9_acksall_gzip")),
                    raw(1, &frame("fetch_v12_longpoll")),
                    Step::Tick { ms: 600 },
                    raw(1, &frame("list_offsets_v1")),
                ],
            },
        ),
        (
            "seq_group_join",
            Scenario {
                close_before_shutdown: false,
                steps: vec![
                    raw(0, &frame("find_coordinator_v0")),
                    raw(0, &frame("join_group_v5")),
                    Step::Tick { ms: 4_000 },
                    raw(0, &frame("offset_commit_v2")),
                ],
            },
        ),
        (
            "seq_split_and_hold",
            Scenario {
                close_before_shutdown: true,
                steps: vec![
                    Step::Seed { conn: 0, seed: 7, split: 3, at: 0, xor: 0 },
                    Step::ToggleHoldDisk,
                    Step::Seed { conn: 0, seed: 8, split: 40, at: 0, xor: 0 },
                    Step::Seed { conn: 1, seed: 12, split: 1, at: 0, xor: 0 },
                    Step::ToggleHoldDisk,
                    Step::Reconnect { conn: 1 },
                ],
            },
        ),
        (
            "seq_framed_header",
            Scenario {
                close_before_shutdown: true,
                steps: vec![Step::Framed { conn: 2, api: 3, version: 9, correlation: 7, body: vec![2, 5, b'f', b'u', b'z', b'z', 0, 1, 0, 0, 0] }],
            },
        ),
    ];
    for (name, s) in scenarios {
        write(&bc, name, &s.encode());
    }
    // Sanity: every seed scenario parses back and runs clean (run it here, outside
    // the fuzzer, with the same checks), and says what the clients saw.
    for entry in fs::read_dir(&bc).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let bytes = fs::read(&path).expect("read seed");
        let stats = Scenario::parse(&bytes).run();
        println!("{:<28} {stats:?}", path.file_name().unwrap().to_string_lossy());
    }
    println!("seeds written under {}", root.display());
}
