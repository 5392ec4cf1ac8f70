//! `cargo run -p sim -- [--seed N | --seeds A..B] [--scenario NAME | --swarm] [--plant-bug BUG] [--shrink ...]`:
//! the same seed runner as `cargo test -p sim --test sim -- ...` (see `tests/sim.rs`).

#[cfg(madsim)]
fn main() {
    std::process::exit(sim::runner::cli::main(std::env::args().skip(1).collect()));
}

#[cfg(not(madsim))]
fn main() {
    eprintln!("the simulator needs --cfg madsim (set in .cargo/config.toml)");
    std::process::exit(1);
}
