//! Command line of the seed runner (`cargo test -p sim -- ...`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use chronik_core::config::Knobs;

use crate::scenario::{self, Scenario};

use super::seeds::{self, SeedFile};
use super::{run_seed, SeedReport};

/// Seeds per scenario in the default sweep.
pub const DEFAULT_SEEDS: u64 = 32;
/// Seeds per cluster scenario in the default run (a cluster seed costs several
/// single-node ones); `--seeds` sweeps them as far as asked.
pub const CLUSTER_DEFAULT_SEEDS: u64 = 8;
/// The cluster scenario whose seed 1 runs twice for the determinism check.
pub const CLUSTER_SCENARIO: &str = "cluster-five-mixed";
/// The replication scenario whose seed 1 also runs twice for the determinism check.
pub const REPLICATION_SCENARIO: &str = "replication-crash-all";
/// Seeds the planted-bug check may take to catch its bug.
pub const PLANTED_BUG_SEEDS_MAX: u64 = 40;
/// The scenario the planted bug runs in: crashes during acks=all bursts.
pub const PLANTED_BUG_SCENARIO: &str = "acks-all-burst-crash";
/// The group scenario: its own determinism check and planted bug
/// (`stale-offset-fetch`, which the offsets_monotonic checker must catch).
pub const GROUP_SCENARIO: &str = "group-member-crash-pause";
/// The idempotent-producer scenario: its planted bug (retries without
/// sequence numbers) must be caught by the unique checker.
pub const IDEMPOTENT_SCENARIO: &str = "idempotent-retry-crash";
/// Seeds the group and idempotent planted bugs may take to be caught.
pub const GROUP_PLANTED_BUG_SEEDS_MAX: u64 = 10;

#[derive(Debug, Default)]
struct Args {
    seed: Option<u64>,
    seeds: Option<(u64, u64)>,
    scenario: Option<String>,
    plant_bug: Option<String>,
    /// Swarm mode (`crate::swarm`): each seed draws its own run.
    swarm: bool,
}

fn parse(args: Vec<String>) -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--seed" => a.seed = Some(value("--seed")?.parse().map_err(|_| "--seed takes a number")?),
            "--seeds" => {
                let v = value("--seeds")?;
                let (lo, hi) = v.split_once("..").ok_or("--seeds takes A..B")?;
                let lo: u64 = lo.parse().map_err(|_| "--seeds takes A..B")?;
                let hi: u64 = hi.parse().map_err(|_| "--seeds takes A..B")?;
                if hi <= lo {
                    return Err("--seeds A..B needs A < B".into());
                }
                a.seeds = Some((lo, hi));
            }
            "--scenario" => a.scenario = Some(value("--scenario")?),
            "--plant-bug" => a.plant_bug = Some(value("--plant-bug")?),
            "--swarm" => a.swarm = true,
            // Flags cargo or libtest habits may pass; meaningless here.
            "--nocapture" | "--quiet" | "-q" | "--show-output" => {}
            "--test-threads" => {
                let _ = value("--test-threads")?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --seed N, --seeds A..B, --scenario NAME, --swarm, --plant-bug NAME; see PLANTED_BUGS)"
                ))
            }
        }
    }
    Ok(a)
}

/// The planted bugs `--plant-bug` knows, each a test-only knob in the core.
pub const PLANTED_BUGS: [&str; 7] = [
    "ack-before-sync",
    "stale-offset-fetch",
    "raft-ack-before-persist",
    "truncate-to-local-hw",
    "accept-stale-fetch-epoch",
    "lagging-follower-in-sync",
    "never-fence-brokers",
];

pub fn knobs(plant_bug: Option<&str>) -> Result<Knobs, String> {
    let mut k = Knobs::default();
    match plant_bug {
        None | Some("") => {}
        Some("ack-before-sync") => k.ack_before_sync = true,
        Some("raft-ack-before-persist") => k.raft_ack_before_persist = true,
        Some("stale-offset-fetch") => k.stale_offset_fetch = true,
        Some("truncate-to-local-hw") => k.truncate_to_local_hw = true,
        Some("accept-stale-fetch-epoch") => k.accept_stale_fetch_epoch = true,
        Some("lagging-follower-in-sync") => k.lagging_follower_in_sync = true,
        Some("never-fence-brokers") => k.never_fence_brokers = true,
        Some(other) => return Err(format!("unknown planted bug {other:?} (known: {})", PLANTED_BUGS.join(", "))),
    }
    Ok(k)
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("sim/ has a parent").to_path_buf()
}

/// The scenario name a seed file gives for a swarm seed.
const SWARM_SCENARIO: &str = "swarm";

fn repro(seed: u64, scenario: &str, plant_bug: Option<&str>) -> String {
    let bug = plant_bug.map(|b| format!(" --plant-bug {b}")).unwrap_or_default();
    if scenario.starts_with("swarm-") {
        return format!("cargo test -p sim --test sim -- --swarm --seed {seed}{bug}");
    }
    format!("cargo test -p sim --test sim -- --seed {seed} --scenario {scenario}{bug}")
}

/// The fault schedule of a run, single-node or cluster.
fn schedule_of(r: &SeedReport) -> String {
    match &r.cluster {
        Some(c) => c.schedule.to_string(),
        None => r.schedule.to_string(),
    }
}

fn print_failure(r: &SeedReport, plant_bug: Option<&str>) {
    println!("FAILED seed {} scenario {}: {} violation(s)", r.seed, r.scenario, r.violations.len());
    for v in r.violations.iter().take(10) {
        println!("  [{}] {}", v.checker, v.message);
    }
    println!("  fault schedule:\n{}", schedule_of(r));
    if let Some(c) = &r.cluster {
        println!("  cluster: {c}");
    }
    println!("  reproduce: {}", repro(r.seed, &r.scenario, plant_bug));
}

/// Run and return the process exit code.
pub fn main(raw: Vec<String>) -> i32 {
    let args = match parse(raw) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sim: {e}");
            return 2;
        }
    };
    let knobs = match knobs(args.plant_bug.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("sim: {e}");
            return 2;
        }
    };
    let all = match scenario::load_dir(&repo_root().join("scenarios")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sim: {e}");
            return 2;
        }
    };
    let pick = |name: &str| all.iter().find(|s| s.name == name).cloned();
    let scenarios: Vec<Scenario> = match &args.scenario {
        Some(name) => match pick(name) {
            Some(s) => vec![s],
            None => {
                eprintln!(
                    "sim: no scenario named {name:?} in scenarios/ (have: {})",
                    all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                );
                return 2;
            }
        },
        None => all.clone(),
    };
    let (mut passed, mut failed) = (0u64, 0u64);
    let started = Instant::now();
    let mut tally = |r: &SeedReport, expect_pass: bool, plant: Option<&str>| {
        if r.violations.is_empty() == expect_pass {
            passed += 1;
        } else {
            failed += 1;
            if expect_pass {
                print_failure(r, plant);
            }
        }
    };

    if args.swarm {
        let Some(base) = pick(crate::swarm::SWARM_BASE) else {
            eprintln!("sim: the swarm's base scenario {} is missing", crate::swarm::SWARM_BASE);
            return 2;
        };
        let (lo, hi) = match (args.seed, args.seeds) {
            (Some(s), _) => (s, s + 1),
            (None, Some(r)) => r,
            (None, None) => (0, CLUSTER_DEFAULT_SEEDS),
        };
        let mut sim_ms = 0u64;
        for seed in lo..hi {
            let (s, buggify_seed) = crate::swarm::draw(seed, &base);
            let k = Knobs { buggify_seed, ..knobs.clone() };
            let r = run_seed(seed, &s, &k);
            sim_ms += r.sim_ms;
            if args.seed.is_some() {
                let c = s.cluster.as_ref().expect("swarm runs are cluster runs");
                println!("{}", r.summary());
                println!(
                    "  swarm: {} nodes, RF {}, min.insync {}, acks=all/1 producers {}/{}, loss {:.3} dup {:.3} reorder {:.3}, buggify {buggify_seed:?}, weights {:?}",
                    c.nodes, c.data.replication_factor, c.data.min_insync_replicas, c.data.producers_acks_all, c.data.producers_acks_1, c.loss, c.duplicate, c.reorder, c.weights()
                );
                if r.violations.is_empty() {
                    println!("  verdict: ok");
                }
            }
            tally(&r, args.plant_bug.is_none(), args.plant_bug.as_deref());
        }
        println!("swarm seeds {lo}..{hi}: simulated {:.1} s in {:.1} s wall", sim_ms as f64 / 1000.0, started.elapsed().as_secs_f64());
        println!("{passed} passed, {failed} failed");
        return if failed == 0 { 0 } else { 1 };
    }

    // One seed: print everything about it.
    if let Some(seed) = args.seed {
        for s in &scenarios {
            let r = run_seed(seed, s, &knobs);
            println!("{}", r.summary());
            if let Some(g) = &r.group {
                println!("  group: {g:?}");
            }
            if r.idempotent_retries.0 > 0 {
                println!(
                    "  idempotent retries: {} sent, {} acknowledged after an unanswered attempt",
                    r.idempotent_retries.0, r.idempotent_retries.1
                );
            }
            if !r.violations.is_empty() {
                print_failure(&r, args.plant_bug.as_deref());
            } else {
                println!("  fault schedule:\n{}", schedule_of(&r));
                if let Some(c) = &r.cluster {
                    println!("  cluster: {c}");
                }
                println!("  verdict: ok");
            }
            tally(&r, true, args.plant_bug.as_deref());
        }
        println!("{passed} passed, {failed} failed");
        return if failed == 0 { 0 } else { 1 };
    }

    // The sweep.
    let (lo, hi) = args.seeds.unwrap_or((0, DEFAULT_SEEDS));
    let mut sim_ms = 0u64;
    for s in &scenarios {
        if !s.default_run && args.scenario.is_none() {
            println!("scenario {}: skipped (default_run = false: a known failure, see its description; sweep it by name)", s.name);
            continue;
        }
        let hi = if args.seeds.is_none() && s.cluster.is_some() { lo + CLUSTER_DEFAULT_SEEDS } else { hi };
        for seed in lo..hi {
            let r = run_seed(seed, s, &knobs);
            sim_ms += r.sim_ms;
            tally(&r, args.plant_bug.is_none(), args.plant_bug.as_deref());
        }
        println!("scenario {}: seeds {lo}..{hi} done", s.name);
    }

    // The default run also replays recorded seeds, checks determinism and the planted bug.
    if args.seeds.is_none() && args.scenario.is_none() && args.plant_bug.is_none() {
        match seeds::load_dir(&repo_root().join("seeds")) {
            Err(e) => {
                println!("FAILED reading seeds/: {e}");
                failed += 1;
            }
            Ok(files) => {
                for f in files {
                    let (passed_before, failed_before) = (passed, failed);
                    replay(&f, &all, &mut passed, &mut failed);
                    let ok = failed == failed_before && passed > passed_before;
                    println!("seed file {}: {}", f.file, if ok { "ok" } else { "FAILED" });
                }
            }
        }
        if let Some(s) = pick(PLANTED_BUG_SCENARIO) {
            let a = run_seed(1, &s, &Knobs::default());
            let b = run_seed(1, &s, &Knobs::default());
            if a.trace_hash == b.trace_hash && a.trace_lines == b.trace_lines {
                println!("determinism: seed 1 of {} twice -> trace hash {:016x} both times", s.name, a.trace_hash);
                passed += 1;
            } else {
                println!("FAILED determinism: seed 1 of {} gave trace hashes {:016x} and {:016x}", s.name, a.trace_hash, b.trace_hash);
                failed += 1;
            }
            match planted_bug_caught(&s) {
                Some((seed, r)) => {
                    println!(
                        "planted bug ack-before-sync caught at seed {seed} by [{}]; reproduce: {}",
                        r.violations[0].checker,
                        repro(seed, &s.name, Some("ack-before-sync"))
                    );
                    passed += 1;
                }
                None => {
                    println!("FAILED planted bug ack-before-sync not caught within {PLANTED_BUG_SEEDS_MAX} seeds");
                    failed += 1;
                }
            }
        } else {
            println!("FAILED no scenario {PLANTED_BUG_SCENARIO} for the determinism and planted-bug checks");
            failed += 1;
        }
        match pick(IDEMPOTENT_SCENARIO) {
            Some(mut s) => {
                s.workload.plant_unsequenced_retries = true;
                let caught = (0..GROUP_PLANTED_BUG_SEEDS_MAX)
                    .map(|seed| (seed, run_seed(seed, &s, &Knobs::default())))
                    .find(|(_, r)| r.violations.iter().any(|v| v.checker == crate::check::unique::NAME));
                match caught {
                    Some((seed, _)) => {
                        println!(
                            "planted bug unsequenced-retries (retries without producer id and sequence) caught at seed {seed} by [unique]"
                        );
                        passed += 1;
                    }
                    None => {
                        println!("FAILED planted bug unsequenced-retries not caught by unique within {GROUP_PLANTED_BUG_SEEDS_MAX} seeds");
                        failed += 1;
                    }
                }
            }
            None => {
                println!("FAILED no scenario {IDEMPOTENT_SCENARIO} for its planted-bug check");
                failed += 1;
            }
        }
        for name in [CLUSTER_SCENARIO, REPLICATION_SCENARIO] {
            match pick(name) {
                Some(s) => {
                    let a = run_seed(1, &s, &Knobs::default());
                    let b = run_seed(1, &s, &Knobs::default());
                    let events = |r: &SeedReport| r.cluster.as_ref().map(|c| c.events);
                    if a.trace_hash == b.trace_hash && a.trace_lines == b.trace_lines && events(&a) == events(&b) {
                        println!("determinism: seed 1 of {} twice -> trace hash {:016x} both times", s.name, a.trace_hash);
                        passed += 1;
                    } else {
                        println!(
                            "FAILED determinism: seed 1 of {} gave trace hashes {:016x} and {:016x}",
                            s.name, a.trace_hash, b.trace_hash
                        );
                        failed += 1;
                    }
                }
                None => {
                    println!("FAILED no scenario {name} for the cluster determinism check");
                    failed += 1;
                }
            }
        }
        match pick(GROUP_SCENARIO) {
            Some(s) => {
                let a = run_seed(1, &s, &Knobs::default());
                let b = run_seed(1, &s, &Knobs::default());
                if a.trace_hash == b.trace_hash && a.trace_lines == b.trace_lines && a.group == b.group {
                    println!("determinism: seed 1 of {} twice -> trace hash {:016x} and group history both times", s.name, a.trace_hash);
                    passed += 1;
                } else {
                    println!(
                        "FAILED determinism: seed 1 of {} gave trace hashes {:016x} and {:016x} (group {:?} / {:?})",
                        s.name, a.trace_hash, b.trace_hash, a.group, b.group
                    );
                    failed += 1;
                }
                let knobs = Knobs { stale_offset_fetch: true, ..Default::default() };
                let caught = (0..GROUP_PLANTED_BUG_SEEDS_MAX)
                    .map(|seed| (seed, run_seed(seed, &s, &knobs)))
                    .find(|(_, r)| r.violations.iter().any(|v| v.checker == crate::check::offsets_monotonic::NAME));
                match caught {
                    Some((seed, _)) => {
                        println!(
                            "planted bug stale-offset-fetch caught at seed {seed} by [offsets_monotonic]; reproduce: {}",
                            repro(seed, &s.name, Some("stale-offset-fetch"))
                        );
                        passed += 1;
                    }
                    None => {
                        println!("FAILED planted bug stale-offset-fetch not caught by offsets_monotonic within {GROUP_PLANTED_BUG_SEEDS_MAX} seeds");
                        failed += 1;
                    }
                }
            }
            None => {
                println!("FAILED no scenario {GROUP_SCENARIO} for the group determinism and planted-bug checks");
                failed += 1;
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    println!("simulated {:.1} s in {:.1} s wall ({:.1}x)", sim_ms as f64 / 1000.0, wall, sim_ms as f64 / 1000.0 / wall.max(1e-9));
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        0
    } else {
        1
    }
}

/// Replays one seed file. `scenario = "swarm"` names a swarm seed: its scenario and
/// BUGGIFY seed are drawn from the seed, as `sim --swarm --seed N` does.
fn replay(f: &SeedFile, all: &[Scenario], passed: &mut u64, failed: &mut u64) {
    let name = if f.scenario == SWARM_SCENARIO { crate::swarm::SWARM_BASE } else { f.scenario.as_str() };
    let Some(s) = all.iter().find(|s| s.name == name) else {
        println!("FAILED seed file {}: no scenario {:?}", f.file, f.scenario);
        *failed += 1;
        return;
    };
    let r = if f.scenario == SWARM_SCENARIO {
        let (s, buggify_seed) = crate::swarm::draw(f.seed, s);
        run_seed(f.seed, &s, &Knobs { buggify_seed, ..Knobs::default() })
    } else {
        run_seed(f.seed, s, &Knobs::default())
    };
    if r.violations.is_empty() {
        *passed += 1;
    } else {
        *failed += 1;
        print_failure(&r, None);
    }
}

/// The first seed at which the planted bug is caught, if any within the bound.
pub fn planted_bug_caught(s: &Scenario) -> Option<(u64, SeedReport)> {
    let knobs = Knobs { ack_before_sync: true, ..Default::default() };
    (0..PLANTED_BUG_SEEDS_MAX).map(|seed| (seed, run_seed(seed, s, &knobs))).find(|(_, r)| !r.violations.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runner's own flags parse; unknown ones are refused with a message.
    #[test]
    fn parses_flags() {
        let a = parse(vec!["--seed".into(), "42".into(), "--scenario=x".into()]).unwrap();
        assert_eq!(a.seed, Some(42));
        assert_eq!(a.scenario.as_deref(), Some("x"));
        assert_eq!(parse(vec!["--seeds".into(), "3..9".into()]).unwrap().seeds, Some((3, 9)));
        assert!(parse(vec!["--seeds".into(), "9..3".into()]).is_err());
        assert!(parse(vec!["--bogus".into()]).is_err());
        assert!(knobs(Some("nope")).is_err());
    }
}
