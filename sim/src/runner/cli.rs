//! Command line of the seed runner (`cargo test -p sim -- ...`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use chronik_core::config::Knobs;

use crate::cluster::faults::ClusterSchedule;
use crate::faults::FaultSchedule;
use crate::scenario::{self, Scenario};
use crate::shrink::{Limits, Plan};

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
    /// Shrink the failing run of `--seed` (`crate::shrink`) and write a seed file.
    shrink: bool,
    /// The seed file's `bug` line.
    bug: Option<String>,
    /// Where the seed file goes (default `seeds/`; with a planted bug, the temp dir).
    out: Option<PathBuf>,
    /// Shrink only while a checker that caught the original run still fails.
    same_checker: bool,
    shrink_runs: Option<usize>,
    shrink_secs: Option<u64>,
    /// Replay one input of the schedule fuzz target (`crate::fuzz_input`).
    fuzz_input: Option<PathBuf>,
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
            "--fuzz-input" => a.fuzz_input = Some(PathBuf::from(value("--fuzz-input")?)),
            "--shrink" => a.shrink = true,
            "--bug" => a.bug = Some(value("--bug")?),
            "--out" => a.out = Some(PathBuf::from(value("--out")?)),
            "--same-checker" => a.same_checker = true,
            "--shrink-runs" => a.shrink_runs = Some(value("--shrink-runs")?.parse().map_err(|_| "--shrink-runs takes a number")?),
            "--shrink-secs" => a.shrink_secs = Some(value("--shrink-secs")?.parse().map_err(|_| "--shrink-secs takes a number")?),
            // Flags cargo or libtest habits may pass; meaningless here.
            "--nocapture" | "--quiet" | "-q" | "--show-output" => {}
            "--test-threads" => {
                let _ = value("--test-threads")?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --seed N, --seeds A..B, --scenario NAME, --swarm, --fuzz-input FILE, --plant-bug NAME (see PLANTED_BUGS), --shrink [--bug TEXT] [--out DIR] [--same-checker] [--shrink-runs N] [--shrink-secs S])"
                ))
            }
        }
    }
    let shrink_only = a.bug.is_some() || a.out.is_some() || a.same_checker || a.shrink_runs.is_some() || a.shrink_secs.is_some();
    if a.shrink && (a.seed.is_none() || a.seeds.is_some() || (!a.swarm && a.scenario.is_none())) {
        return Err("--shrink takes one failing run: --swarm --seed N, or --scenario NAME --seed N".into());
    }
    if shrink_only && !a.shrink {
        return Err("--bug, --out, --same-checker, --shrink-runs and --shrink-secs go with --shrink".into());
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

/// The swarm seed the default run tries when git cannot name the commit.
pub const COMMIT_SEED_FALLBACK: u64 = 0;

/// `git <args>` in the repository, trimmed; `None` without git or a repository.
fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").arg("-C").arg(repo_root()).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The swarm seed of a commit: its hash's first 8 hex digits, as a number.
pub fn commit_seed(commit: &str) -> Option<u64> {
    commit.get(..8).and_then(|h| u64::from_str_radix(h, 16).ok())
}

fn repro(seed: u64, scenario: &str, plant_bug: Option<&str>) -> String {
    let bug = plant_bug.map(|b| format!(" --plant-bug {b}")).unwrap_or_default();
    if scenario.starts_with("fuzz-") {
        return "cargo run -p sim -- --fuzz-input <the fuzz input file>".into();
    }
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
    if let Ok(filter) = std::env::var("SIM_LOG") {
        // Debugging aid: the core's tracing lines (no wall-clock stamps; the trace has simulated times).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .without_time()
            .with_writer(std::io::stderr)
            .try_init();
    }
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

    if args.shrink {
        return shrink_main(&args, &all, &knobs);
    }

    if let Some(path) = &args.fuzz_input {
        return fuzz_input_main(path, &all, &knobs);
    }

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
                println!("{}", r.summary());
                match s.cluster.as_ref() {
                    Some(c) => println!(
                        "  swarm: {} nodes, RF {}, min.insync {}, acks=all/1 producers {}/{}, idempotent {}, topic clients {}, loss {:.3} dup {:.3} reorder {:.3}, buggify {buggify_seed:?}, weights {:?}",
                        c.nodes, c.data.replication_factor, c.data.min_insync_replicas, c.data.producers_acks_all, c.data.producers_acks_1, c.data.idempotent, c.topic_clients, c.loss, c.duplicate, c.reorder, c.weights()
                    ),
                    None => println!("  swarm: 1 node, buggify {buggify_seed:?}, workload {:?}, faults {:?}", s.workload, s.faults),
                }
                if let Some(g) = &r.group {
                    println!("  group: {g:?}");
                }
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
        commit_seed_run(&all, &mut passed, &mut failed);
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
/// BUGGIFY seed are drawn from the seed, as `sim --swarm --seed N` does; a file's
/// `schedule`, `nodes` and `duration_s` replace the drawn ones (`SeedFile::run`).
fn replay(f: &SeedFile, all: &[Scenario], passed: &mut u64, failed: &mut u64) {
    let (s, buggify_seed) = match f.run(all) {
        Ok(run) => run,
        Err(e) => {
            println!("FAILED seed file {}: {e}", f.file);
            *failed += 1;
            return;
        }
    };
    let r = run_seed(f.seed, &s, &Knobs { buggify_seed, ..Knobs::default() });
    if r.violations.is_empty() {
        *passed += 1;
    } else {
        *failed += 1;
        print_failure(&r, None);
        if f.schedule.is_some() || f.node_schedule.is_some() {
            println!("  (the schedule above is the seed file's {}, not the seed's own)", f.file);
        }
    }
}

/// The default run's swarm seed from the current commit (TigerBeetle's PR lane):
/// every commit tries one more drawn run, and the same commit always the same one.
fn commit_seed_run(all: &[Scenario], passed: &mut u64, failed: &mut u64) {
    let Some(base) = all.iter().find(|s| s.name == crate::swarm::SWARM_BASE) else {
        println!("FAILED no scenario {} for the commit seed", crate::swarm::SWARM_BASE);
        *failed += 1;
        return;
    };
    let (seed, from) = match git(&["rev-parse", "HEAD"]).and_then(|c| commit_seed(&c).map(|s| (s, c))) {
        Some((seed, c)) => (seed, format!("commit {}", &c[..12.min(c.len())])),
        None => {
            println!("commit seed: git cannot name the commit (a source tarball?); using the fixed swarm seed {COMMIT_SEED_FALLBACK}");
            (COMMIT_SEED_FALLBACK, "fallback".to_string())
        }
    };
    let (s, buggify_seed) = crate::swarm::draw(seed, base);
    let r = run_seed(seed, &s, &Knobs { buggify_seed, ..Knobs::default() });
    let cmd = repro(seed, &s.name, None);
    if r.violations.is_empty() {
        println!("commit seed: swarm seed {seed} ({from}) ok; reproduce: {cmd}");
        *passed += 1;
    } else {
        *failed += 1;
        print_failure(&r, None);
        println!("FAILED commit seed: swarm seed {seed} ({from}); shrink it: {cmd} --shrink --bug \"...\"");
    }
}

/// `--fuzz-input FILE`: the run a `cluster_schedule` fuzz input describes (a
/// crash artifact, a corpus entry), printed and judged as a single seed is.
fn fuzz_input_main(path: &Path, all: &[Scenario], knobs: &Knobs) -> i32 {
    let Some(base) = all.iter().find(|s| s.name == crate::swarm::SWARM_BASE) else {
        eprintln!("sim: the swarm's base scenario {} is missing", crate::swarm::SWARM_BASE);
        return 2;
    };
    let run =
        std::fs::read(path).map_err(|e| e.to_string()).and_then(|b| crate::fuzz_input::run_from_bytes(&b, base).map_err(|e| e.to_string()));
    let (seed, s, buggify_seed) = match run {
        Ok(run) => run,
        Err(e) => {
            eprintln!("sim: {}: {e}", path.display());
            return 2;
        }
    };
    println!("{}: seed {seed}, buggify {buggify_seed:?}\n  run: {s:?}", path.display());
    let r = run_seed(seed, &s, &Knobs { buggify_seed, ..knobs.clone() });
    println!("{}", r.summary());
    if r.violations.is_empty() {
        println!("  fault schedule:\n{}", schedule_of(&r));
        println!("  verdict: ok");
        return 0;
    }
    print_failure(&r, None);
    1
}

/// `--shrink`: shrink the failing run of `--seed`, print the minimal schedule,
/// write it as a seed file and check the file replays the same failing run.
fn shrink_main(args: &Args, all: &[Scenario], knobs: &Knobs) -> i32 {
    let seed = args.seed.expect("parse requires --seed with --shrink");
    let (s, buggify_seed, file_scenario) = if args.swarm {
        let Some(base) = all.iter().find(|s| s.name == crate::swarm::SWARM_BASE) else {
            eprintln!("sim: the swarm's base scenario {} is missing", crate::swarm::SWARM_BASE);
            return 2;
        };
        let (s, b) = crate::swarm::draw(seed, base);
        (s, b, seeds::SWARM_SCENARIO.to_string())
    } else {
        let name = args.scenario.clone().expect("parse requires --scenario without --swarm");
        let Some(s) = all.iter().find(|s| s.name == name) else {
            eprintln!("sim: no scenario named {name:?} in scenarios/");
            return 2;
        };
        (s.clone(), None, name)
    };
    let knobs = Knobs { buggify_seed, ..knobs.clone() };
    let defaults = Limits::default();
    let limits = Limits {
        max_runs: args.shrink_runs.unwrap_or(defaults.max_runs),
        max_wall: args.shrink_secs.map_or(defaults.max_wall, std::time::Duration::from_secs),
    };
    let mut f = SeedFile {
        file: String::new(),
        seed,
        scenario: file_scenario.clone(),
        commit: git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into()),
        bug: args.bug.clone().unwrap_or_else(|| "TODO: one line on what was wrong (found by shrinking; edit this)".into()),
        nodes: None,
        duration_s: None,
        swarm_draws: args.swarm.then_some(crate::swarm::DRAWS),
        schedule: None,
        node_schedule: None,
    };
    let shrunk = if s.cluster.is_some() {
        shrink_run::<ClusterSchedule>(seed, &s, &knobs, args.same_checker, &limits, &mut f)
    } else {
        shrink_run::<FaultSchedule>(seed, &s, &knobs, args.same_checker, &limits, &mut f)
    };
    let trace_hash = match shrunk {
        Ok(h) => h,
        Err(e) => {
            eprintln!("sim: {e}");
            return 1;
        }
    };
    let planted = args.plant_bug.as_deref().filter(|b| !b.is_empty());
    let dir = match (&args.out, planted) {
        (Some(d), _) => d.clone(),
        (None, Some(_)) => std::env::temp_dir().join("chronik-shrunk-seeds"),
        (None, None) => repo_root().join("seeds"),
    };
    let header = match planted {
        Some(b) => format!("# Shrunk with --plant-bug {b}: it fails only with that bug planted; keep it out of seeds/.\n"),
        None => String::new(),
    };
    let slug = format!("{}-{seed}-shrunk", if args.swarm { "swarm" } else { file_scenario.as_str() });
    let path = match seeds::write_new(&dir, &f, &slug, &header) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("sim: {e}");
            return 1;
        }
    };
    // The file, read back, must replay the minimal run exactly.
    let replayed = seeds::load_dir(&dir)
        .map_err(|e| e.to_string())
        .and_then(|fs| fs.into_iter().find(|x| dir.join(&x.file) == path).ok_or_else(|| "the written file is not there".to_string()))
        .and_then(|x| x.run(all));
    match replayed {
        Ok((rs, b)) => {
            let r = run_seed(seed, &rs, &Knobs { buggify_seed: b, ..knobs.clone() });
            if r.trace_hash != trace_hash || r.violations.is_empty() {
                eprintln!(
                    "sim: {} does not replay the shrunk run (trace hash {:016x}, expected {trace_hash:016x})",
                    path.display(),
                    r.trace_hash,
                );
                return 1;
            }
        }
        Err(e) => {
            eprintln!("sim: {}: {e}", path.display());
            return 1;
        }
    }
    println!("wrote {} (replays the minimal run: trace hash {trace_hash:016x})", path.display());
    if let Some(b) = planted {
        println!("  it fails only with --plant-bug {b}; the default run replays seeds/ without planted bugs");
    } else if args.bug.is_none() {
        println!("  edit its bug line, then the default run (cargo test -p sim) replays it");
    }
    0
}

/// Shrinks the failing run `seed` of `s` (a cluster run for `S` =
/// `ClusterSchedule`, a single broker's for `FaultSchedule`), prints the
/// reduction and the minimal schedule, and puts the minimal run into `f`
/// (`nodes` and `duration_s` if reduced, the schedule). Returns the minimal
/// run's trace hash.
fn shrink_run<S: Plan>(
    seed: u64,
    s: &Scenario,
    knobs: &Knobs,
    same_checker: bool,
    limits: &Limits,
    f: &mut SeedFile,
) -> Result<u64, String> {
    let started = Instant::now();
    println!("shrinking seed {seed} of {} (at most {} runs, {} s)", s.name, limits.max_runs, limits.max_wall.as_secs());
    let out = crate::shrink::shrink::<S>(seed, s, knobs, same_checker, limits, &mut |m| println!("  {m}"))?;
    let (o, m) = (&out.original, &out.minimal);
    println!("original: {}; caught by [{}]", o.describe(), out.original_checkers.iter().copied().collect::<Vec<_>>().join(", "));
    println!("minimal:  {}; {} violation(s)", m.describe(), out.report.violations.len());
    for v in out.report.violations.iter().take(5) {
        println!("  [{}] {}", v.checker, v.message);
    }
    println!("  minimal fault schedule:\n{}", m.schedule);
    println!(
        "{} run(s) in {:.1} s wall{}",
        out.runs,
        started.elapsed().as_secs_f64(),
        out.cut_short.as_ref().map(|c| format!("; stopped early: {c}")).unwrap_or_default()
    );
    f.nodes = (m.nodes != o.nodes).then_some(m.nodes);
    f.duration_s = (m.duration_s != o.duration_s).then_some(m.duration_s);
    m.schedule.record(f);
    Ok(out.report.trace_hash)
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

    /// --shrink takes exactly one run; its own flags need it.
    #[test]
    fn shrink_flags() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let a = parse(v("--swarm --seed 9 --shrink --bug x --out /tmp/s --same-checker --shrink-runs 5 --shrink-secs 7")).unwrap();
        assert!(a.shrink && a.same_checker);
        assert_eq!((a.bug.as_deref(), a.shrink_runs, a.shrink_secs), (Some("x"), Some(5), Some(7)));
        assert!(parse(v("--scenario s --seed 9 --shrink")).is_ok());
        assert!(parse(v("--seed 9 --shrink")).is_err(), "neither swarm nor scenario");
        assert!(parse(v("--swarm --seeds 1..5 --shrink")).is_err(), "one seed only");
        assert!(parse(v("--swarm --seed 9 --bug x")).is_err(), "--bug without --shrink");
    }

    /// The commit seed is the hash's first 8 hex digits.
    #[test]
    fn commit_seeds() {
        assert_eq!(commit_seed("ee4f77eb84db0000"), Some(0xee4f_77eb));
        assert_eq!(commit_seed("abc"), None);
        assert_eq!(commit_seed("zzzzzzzz"), None);
    }
}
