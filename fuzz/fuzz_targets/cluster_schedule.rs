//! `cluster_schedule`: coverage-guided fault schedules. Fuzzer bytes become a
//! cluster size (1, 3 or 5), a replicated topic and its clients (or, on one
//! broker, idempotent producers and a consumer group), and a fault schedule of at
//! most 16 events (`sim::fuzz_input`), run through the same madsim harness and
//! checks as the swarm (`sim::runner::run_seed`). Any violation (safety or
//! liveness) or panic is a crash. Needs `--cfg madsim` (RUSTFLAGS) and the `sim`
//! feature; see README.md. Replay a saved input outside libFuzzer with
//! `cargo run -p sim -- --fuzz-input FILE` (SIM_LOG/SIM_TRACE work there).
#![no_main]

use std::sync::OnceLock;

use chronik_core::config::Knobs;
use chronik_fuzz::guard;
use libfuzzer_sys::fuzz_target;
use sim::scenario::Scenario;

/// Stack of the simulation thread (the main thread's 8 MiB, not a spawned thread's 2 MiB).
const STACK_BYTES: usize = 8 << 20;

/// The swarm's base scenario (its checks), read once from `scenarios/`.
fn base() -> &'static Scenario {
    static BASE: OnceLock<Scenario> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = sim::runner::cli::repo_root().join("scenarios");
        let all = sim::scenario::load_dir(&dir).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()));
        all.into_iter().find(|s| s.name == sim::swarm::SWARM_BASE).expect("the swarm base scenario exists")
    })
}

/// The core's knobs: none, or the planted bug `CHRONIK_FUZZ_PLANT_BUG` names (to
/// see the target catch it; `sim --plant-bug` lists them).
fn knobs() -> &'static Knobs {
    static KNOBS: OnceLock<Knobs> = OnceLock::new();
    KNOBS.get_or_init(|| {
        let bug = std::env::var("CHRONIK_FUZZ_PLANT_BUG").ok().filter(|b| !b.is_empty());
        sim::runner::cli::knobs(bug.as_deref()).unwrap_or_else(|e| panic!("CHRONIK_FUZZ_PLANT_BUG: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    guard::run(|| {
        let Ok((seed, scenario, buggify_seed)) = sim::fuzz_input::run_from_bytes(data, base()) else { return };
        // On a thread of its own: madsim answers the clock with simulated time on
        // a thread that ran a simulation, and libFuzzer's timers (-timeout,
        // -max_total_time, exec/s) read the clock on this one.
        let s = scenario.clone();
        let run = std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn(move || sim::runner::run_seed(seed, &s, &Knobs { buggify_seed, ..knobs().clone() }))
            .expect("spawn the simulation thread")
            .join();
        let r = run.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if !r.violations.is_empty() {
            let schedule = r.cluster.as_ref().map_or_else(|| r.schedule.to_string(), |c| c.schedule.to_string());
            let violations: Vec<String> = r.violations.iter().take(10).map(|v| format!("  {v}")).collect();
            panic!("{}\n{}\nfault schedule:\n{schedule}run: {scenario:?}\nbuggify {buggify_seed:?}", r.summary(), violations.join("\n"));
        }
    });
});
