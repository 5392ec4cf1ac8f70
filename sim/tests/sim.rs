//! The seed runner: `cargo test -p sim` runs the default sweep (every scenario
//! over its seeds), replays every file in `seeds/`, runs one swarm seed derived
//! from the current commit, checks determinism (one seed run twice must give the
//! same trace hash) and proves the checkers can fail (a planted bug must be
//! caught within a bounded number of seeds).
//!
//! `cargo test -p sim --test sim -- --seed 42 [--scenario NAME] [--plant-bug ack-before-sync|stale-offset-fetch]`
//! replays one seed and prints its schedule, trace hash and verdict.
//! `--seeds A..B` and `--scenario NAME` narrow the sweep.
//! `--swarm --seed N --shrink` (or `--scenario NAME --seed N --shrink`) shrinks a
//! failing cluster run and writes it to `seeds/` (`sim::shrink`).
//!
//! It ends with `N passed, N failed` and exits non-zero on any failure.
//! (`harness = false`: libtest would reject `--seed`.)

#[cfg(madsim)]
fn main() {
    std::process::exit(sim::runner::cli::main(std::env::args().skip(1).collect()));
}

#[cfg(not(madsim))]
fn main() {
    eprintln!("the simulator needs --cfg madsim (set in .cargo/config.toml)");
    std::process::exit(1);
}
