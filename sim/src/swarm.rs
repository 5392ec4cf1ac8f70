//! Swarm testing: every seed draws its own cluster run, not just its own fault times.
//!
//! A fixed scenario spreads its faults by fixed weights, so an interleaving that needs
//! two rare fault kinds together stays rare forever. Here each seed draws the cluster
//! size, the replication factor and `min.insync.replicas`, the producers' acks mix, the
//! peer network's steady loss, duplication and reordering, and every fault weight —
//! about half of them off, the others from 1 to 20 — plus, on half the seeds, the
//! core's BUGGIFY fault points (`chronik_core::buggify`). The checks are every
//! cluster and replication checker, taken from a base scenario (the full replication
//! set), so a seed fails exactly as a named scenario would and replays the same way:
//! `cargo run -p sim -- --swarm --seed N`.
//!
//! A fifth of the seeds ([`SINGLE_NODE_P`]) run a single broker instead (RF 1,
//! the single-node harness), the one with idempotent producers and a consumer
//! group: see [`draw_single`]. Draws added after the first ones come from
//! generators of their own, so adding one changes only the seeds that draw it
//! (`tests::recorded_swarm_seeds_stay_cluster_runs`).
//!
//! Draws that change what a seed runs come with a new draw generation
//! ([`DRAWS`]): a seed file records the generation it failed under
//! (`swarm_draws`, 1 when absent) and replays with [`draw_as`], so the corpus
//! keeps replaying the runs it failed in. Generation 2 added, so that the swarm
//! itself reaches the planted bugs the base mix could not: topic-creating
//! clients beside the data clients (metadata records in flight while nodes
//! crash: `raft-ack-before-persist`), a seven-broker stale-follower profile
//! (`accept-stale-fetch-epoch`), and idempotent acks=all producers in clusters.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Checks, ClusterSpec, FaultMix, Scenario, WorkloadSpec};

/// The scenario whose checks (and defaults) every swarm seed uses.
pub const SWARM_BASE: &str = "replication-crash-all";

/// Weights a drawn fault kind may get; a kind is off with probability 1/2.
const WEIGHTS: [u32; 5] = [1, 2, 5, 10, 20];

/// The swarm's current draw generation (see the module doc).
pub const DRAWS: u32 = 2;

/// The run of swarm seed `seed`, built on `base`, and the BUGGIFY seed for its
/// brokers, as the current generation draws it.
pub fn draw(seed: u64, base: &Scenario) -> (Scenario, Option<u64>) {
    draw_as(seed, base, DRAWS)
}

/// The run of swarm seed `seed` as draw generation `generation` drew it.
pub fn draw_as(seed: u64, base: &Scenario, generation: u32) -> (Scenario, Option<u64>) {
    // Not the seed itself: the run's own generator starts from it.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524d_5357_4152);
    let base_cluster = base.cluster.clone().expect("the swarm base is a cluster scenario");
    let nodes = if rng.gen_bool(0.7) { 3 } else { 5 };
    let replication_factor: i16 = rng.gen_range(2..=3);
    let min_insync_replicas = rng.gen_range(1..=i64::from(replication_factor));
    let weight = |rng: &mut ChaCha8Rng| if rng.gen_bool(0.5) { 0 } else { WEIGHTS[rng.gen_range(0..WEIGHTS.len())] };
    let mut c = ClusterSpec {
        nodes,
        loss: if rng.gen_bool(0.3) { rng.gen_range(0.0..0.05) } else { 0.0 },
        duplicate: if rng.gen_bool(0.3) { rng.gen_range(0.0..0.05) } else { 0.0 },
        reorder: if rng.gen_bool(0.3) { rng.gen_range(0.0..0.1) } else { 0.0 },
        events: rng.gen_range(2..=8),
        crash: weight(&mut rng),
        crash_leader: weight(&mut rng),
        isolate_leader: weight(&mut rng),
        partition_minority: weight(&mut rng),
        partition_no_quorum: weight(&mut rng),
        one_way: weight(&mut rng),
        lossy: weight(&mut rng),
        crash_partition_leader: weight(&mut rng),
        crash_partition_follower: weight(&mut rng),
        isolate_partition_leader: weight(&mut rng),
        zombie_leader: weight(&mut rng),
        one_way_partition_leader: weight(&mut rng),
        leader_churn: weight(&mut rng),
        wipe_replica: weight(&mut rng),
        isr_shrink_crash: weight(&mut rng),
        crash_all: weight(&mut rng),
        ..base_cluster
    };
    if replication_factor < 3 {
        // Two wipes may hit both replicas of an RF 2 partition, one after the other,
        // before the second has copied everything back: no in-sync replica's disk is
        // then intact, and the checks' premise is gone (seed 2 showed it).
        c.wipe_replica = 0;
    }
    if c.total_weight() == 0 {
        c.crash_partition_leader = 1;
    }
    c.data.replication_factor = replication_factor;
    c.data.min_insync_replicas = min_insync_replicas;
    c.data.producers_acks_all = rng.gen_range(1..=3);
    c.data.producers_acks_1 = rng.gen_range(0..=2);
    let buggify = rng.gen_bool(0.5).then(|| rng.gen());
    // Draws added later come from their own generator, so the draws above (and
    // the recorded swarm seeds in seeds/) stay as they were.
    let mut more = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524d_4d4f_5245);
    c.crash_partition_leader_long = weight(&mut more);
    if c.crash_partition_leader_long > 0 && more.gen_bool(0.5) {
        // A long crash is judged only in a quiet stretch (`check::leader_failover`).
        c.events = c.events.min(3);
    }
    let drawn_duration_s = rng.gen_range(10..=25);
    let mut duration_s = drawn_duration_s;
    if generation >= 2 {
        // Clients creating topics beside the data clients, so metadata records
        // are in flight while the faults hit (a vote or append acknowledged
        // before it is synced shows only then).
        let mut meta = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524d_544f_504d);
        if meta.gen_bool(TOPIC_CLIENTS_P) {
            c.topic_clients = meta.gen_range(1..=3);
        }
        let mut idem = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524d_4944_454d);
        c.data.idempotent = idem.gen_bool(IDEMPOTENT_P);
        let mut stale = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524d_5354_414e);
        if stale.gen_bool(STALE_FOLLOWER_P) {
            stale_follower_profile(&mut c, &mut stale);
            duration_s = duration_s.max(STALE_FOLLOWER_DURATION_S);
        }
    }
    let scenario = Scenario {
        name: format!("swarm-{seed}"),
        description: format!("swarm seed {seed}, drawn from {}", base.name),
        duration_s,
        cluster: Some(c),
        checks: Checks { leader_failover: true, ..base.checks.clone() },
        default_run: false,
        ..base.clone()
    };
    // A single broker (RF 1) is drawn last, from its own generator, so the
    // cluster draws above stay the same for every seed that still draws a cluster.
    let mut single = ChaCha8Rng::seed_from_u64(seed ^ 0x5741_524d_4f4e_4531);
    if single.gen_bool(SINGLE_NODE_P) {
        return (draw_single(seed, &mut single, drawn_duration_s), buggify);
    }
    (scenario, buggify)
}

/// Share of cluster seeds whose data run also has topic-creating clients.
pub const TOPIC_CLIENTS_P: f64 = 0.3;

/// Share of cluster seeds whose acks=all producers are idempotent.
pub const IDEMPOTENT_P: f64 = 0.5;

/// Share of cluster seeds drawn as [`stale_follower_profile`].
pub const STALE_FOLLOWER_P: f64 = 0.15;

/// Least duration of a stale-follower run: the fault takes 25-35 s from its start.
const STALE_FOLLOWER_DURATION_S: u64 = 30;

/// Seven brokers with the stale-follower fault dominant
/// (`ClusterFault::StaleFollowerReelect`). That fault needs a shape no other
/// draw gives: a metadata quorum without the partition's leader and its two
/// followers (7 nodes), RF 3 with min.insync.replicas 2 (the fenced follower
/// is kept in the ISR as its second member), and a replica lag long enough that
/// the ISR does not shrink on its own meanwhile. Any other drawn weights stay,
/// so other faults may still land in between; the network's steady loss,
/// duplication and reordering, the acks mix (with an acks=1 producer at
/// least) and BUGGIFY stay as drawn.
fn stale_follower_profile(c: &mut ClusterSpec, rng: &mut ChaCha8Rng) {
    c.nodes = 7;
    c.data.replication_factor = 3;
    c.data.min_insync_replicas = 2;
    c.data.replica_lag_time_max_ms = 30_000;
    // The leader's unsynced tail, which the fault needs the stale follower to
    // hold, comes from acks=1 writes.
    c.data.producers_acks_1 = c.data.producers_acks_1.max(1);
    c.events = rng.gen_range(1..=2);
    let others = c.total_weight() - u64::from(c.stale_follower_reelect);
    c.stale_follower_reelect = u32::try_from(others.max(1) * 4).unwrap_or(u32::MAX);
}

/// Share of swarm seeds that run one broker instead of a cluster.
pub const SINGLE_NODE_P: f64 = 0.2;

/// A single-node run (the standalone broker, RF 1): the single-node harness
/// (`runner::simulate`) is the one with idempotent producers and a consumer
/// group, so these are drawn here, each on about half of the runs, with the
/// acks mix, the topic's shape and the single-node fault weights (crashes,
/// pauses, clogs one way or both, disk write/sync/read errors, a full disk;
/// about half off) and, with a group, member crashes and pauses. Latent
/// corruption is never drawn: it damages synced data, and the run keeps every
/// check (acknowledged writes readable, no duplicates, consumer order, high
/// watermark, liveness, and the group checks when a group runs).
fn draw_single(seed: u64, rng: &mut ChaCha8Rng, duration_s: u64) -> Scenario {
    let weight = |rng: &mut ChaCha8Rng| if rng.gen_bool(0.5) { 0 } else { WEIGHTS[rng.gen_range(0..WEIGHTS.len())] };
    let group_members = if rng.gen_bool(0.5) { rng.gen_range(1..=3) } else { 0 };
    let workload = WorkloadSpec {
        partitions: rng.gen_range(1..=4),
        producers_acks_all: rng.gen_range(1..=3),
        producers_acks_1: rng.gen_range(0..=2),
        producers_acks_0: rng.gen_range(0..=1),
        batch_records: rng.gen_range(1..=6),
        value_bytes: rng.gen_range(16..=200),
        consumers: rng.gen_range(0..=2),
        produce_interval_ms: [0, 5, 10, 20][rng.gen_range(0..4)],
        group_members,
        idempotent: rng.gen_bool(0.5),
        plant_unsequenced_retries: false,
    };
    let workload = paced_acks_0(workload);
    let mut faults = FaultMix {
        events: rng.gen_range(2..=14),
        crash: weight(rng),
        pause: weight(rng),
        clog: weight(rng),
        clog_one_way: weight(rng),
        disk_write_errors: weight(rng),
        disk_sync_errors: weight(rng),
        disk_read_errors: weight(rng),
        disk_full: weight(rng),
        latent_corruption: 0,
        net_latency_ms: if rng.gen_bool(0.3) { (1, rng.gen_range(2..=10)) } else { (0, 0) },
        net_loss: if rng.gen_bool(0.2) { rng.gen_range(0.0..0.02) } else { 0.0 },
        ..Default::default()
    };
    if faults.total_weight() == 0 {
        faults.crash = 1;
    }
    if group_members > 0 {
        faults.member_events = rng.gen_range(0..=8);
        faults.member_crash = rng.gen_range(0..=2);
        faults.member_pause = if faults.member_crash == 0 { 1 } else { rng.gen_range(0..=2) };
    }
    Scenario {
        name: format!("swarm-{seed}"),
        description: format!("swarm seed {seed}: a single broker"),
        duration_s,
        nodes: 1,
        workload,
        cluster: None,
        faults,
        checks: single_node_checks(group_members > 0),
        // Small segments on some runs, so rolls happen under the faults.
        topic_configs: if rng.gen_bool(0.3) { [("segment.bytes".to_string(), "16384".to_string())].into() } else { Default::default() },
        default_run: false,
        schedule: None,
    }
}

/// Least pause between requests of a run with acks=0 producers. An acks=0
/// producer never waits for an answer and madsim's TCP never pushes back, so
/// behind a clogged link it queues requests without bound, which the link then
/// delivers slowly: at 1 ms a pause, a few clogs left a backlog the final
/// read-back could not outrun in its window (swarm seed 1860). Real sockets push
/// back; 10 ms keeps the backlog within what the window covers.
pub const ACKS_0_INTERVAL_MS_MIN: u64 = 10;

/// `w` with its producers paced at [`ACKS_0_INTERVAL_MS_MIN`] at least if it has acks=0 producers.
pub fn paced_acks_0(w: WorkloadSpec) -> WorkloadSpec {
    let produce_interval_ms =
        if w.producers_acks_0 > 0 { w.produce_interval_ms.max(ACKS_0_INTERVAL_MS_MIN) } else { w.produce_interval_ms };
    WorkloadSpec { produce_interval_ms, ..w }
}

/// Every single-node check (acknowledged writes readable, no value twice,
/// consumer order, high watermark, valid batches, liveness), and the group
/// checks when a group runs.
pub fn single_node_checks(group: bool) -> Checks {
    Checks {
        acked_readable: true,
        unique: true,
        consumer_order: true,
        hw_monotonic: true,
        valid_batches: true,
        liveness: true,
        offsets_monotonic: group,
        group_assignment: group,
        group_liveness: group,
        ..Checks::default()
    }
}

/// Per planted bug (`sim --plant-bug NAME`), the swarm seeds `0..N` within which
/// at least one seed must catch it (`tests::swarm_catches_planted_bugs`); each
/// bound is the first catching seed plus one, measured with
/// `sim --swarm --seed S --plant-bug NAME` over seeds from 0 (draw generation 2,
/// with the simulated disk letting writes overtake a running sync). Bounds above
/// [`PLANTED_BUG_FAST_SEEDS`] are checked by the nightly run only
/// (`swarm_catches_rare_planted_bugs`, ignored by default), to keep the
/// default test run fast. The rarest need a draw a seed makes seldom:
/// `truncate-to-local-hw` a follower's truncation racing the high watermark,
/// `raft-ack-before-persist` topic clients (TOPIC_CLIENTS_P) and crashes of
/// the voters that acknowledged their records, `accept-stale-fetch-epoch` the
/// stale-follower profile (STALE_FOLLOWER_P) and, within it, a leader tail
/// that only the stale follower held. The bounds move whenever the runs a seed
/// makes change (they were 421, 152 and 311 before the disk's reordering).
pub const PLANTED_BUG_SEEDS: [(&str, u64); 6] = [
    ("ack-before-sync", 2),
    ("lagging-follower-in-sync", 7),
    ("never-fence-brokers", 5),
    ("truncate-to-local-hw", 17),
    ("raft-ack-before-persist", 674),
    ("accept-stale-fetch-epoch", 365),
];

/// The same bugs the rare draws catch, each also with a named scenario whose
/// seeds `0..N` catch it (the first catching seed plus one, measured with
/// `sim --scenario NAME --seed S --plant-bug BUG`), so that the default run
/// checks one of them quickly and the nightly the other:
/// - `raft-ack-before-persist` (a Raft vote or append acknowledged before it
///   is synced): `cluster-five-mixed`, whose topics workload keeps metadata
///   entries in flight while leaders crash, first at seed 86 (a node panics in
///   raft-rs: told to commit past the log it lost); 10 of seeds 0..600 (since
///   the simulated disk lets writes overtake a running sync).
/// - `accept-stale-fetch-epoch`: `replication-stale-follower-reelect`, first at
///   seed 166; 6 of seeds 0..300.
pub const PLANTED_BUG_SCENARIO_SEEDS: [(&str, &str, u64); 2] =
    [("raft-ack-before-persist", "cluster-five-mixed", 87), ("accept-stale-fetch-epoch", "replication-stale-follower-reelect", 167)];

/// The largest bound the default test run checks.
pub const PLANTED_BUG_FAST_SEEDS: u64 = 90;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::cli::{knobs, repo_root};
    use crate::runner::run_seed;
    use crate::scenario::load_dir;
    use chronik_core::config::Knobs;

    /// Proves: the swarm (or, for the bugs it misses, the named scenario) finds
    /// each planted bug it claims within the stated number of seeds (some
    /// checker reports a violation, or a node panics); the bugs with small bounds
    /// only (see `swarm_catches_rare_planted_bugs`).
    #[test]
    fn swarm_catches_planted_bugs() {
        catches_planted_bugs(|seeds| seeds <= PLANTED_BUG_FAST_SEEDS);
    }

    /// Proves: as `swarm_catches_planted_bugs`, for the bugs whose bound is too
    /// many seeds for the default run (`ci/nightly` runs it:
    /// `cargo test -p sim --release --lib -- --ignored swarm_catches_rare_planted_bugs`).
    #[test]
    #[ignore = "hundreds of seeds; run by ci/nightly"]
    fn swarm_catches_rare_planted_bugs() {
        catches_planted_bugs(|seeds| seeds > PLANTED_BUG_FAST_SEEDS);
    }

    fn catches_planted_bugs(which: impl Fn(u64) -> bool) {
        let all = load_dir(&repo_root().join("scenarios")).unwrap();
        let base = base();
        let claims = PLANTED_BUG_SEEDS
            .iter()
            .map(|(bug, seeds)| (*bug, None, *seeds))
            .chain(PLANTED_BUG_SCENARIO_SEEDS.iter().map(|(bug, scenario, seeds)| (*bug, Some(*scenario), *seeds)));
        for (bug, scenario, seeds) in claims.filter(|(_, _, seeds)| which(*seeds)) {
            let planted = knobs(Some(bug)).unwrap();
            let named = scenario.map(|name| all.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}")));
            let caught = (0..seeds).find(|seed| {
                let (s, buggify_seed) = named.map_or_else(|| draw(*seed, &base), |s| (s.clone(), None));
                !run_seed(*seed, &s, &Knobs { buggify_seed, ..planted.clone() }).violations.is_empty()
            });
            assert!(caught.is_some(), "planted bug {bug} not caught by {} seeds 0..{seeds}", scenario.unwrap_or("swarm"));
        }
    }

    fn base() -> Scenario {
        load_dir(&repo_root().join("scenarios")).unwrap().into_iter().find(|s| s.name == SWARM_BASE).unwrap()
    }

    /// Seeds draw different runs, the same seed the same run; some fault kinds are off
    /// on every seed and BUGGIFY is on for some seeds only.
    #[test]
    fn seeds_draw_varied_reproducible_runs() {
        let base = base();
        let runs: Vec<(Scenario, Option<u64>)> = (0..32).map(|s| draw(s, &base)).collect();
        assert_eq!(draw(7, &base), runs[7]);
        let clusters: Vec<&ClusterSpec> = runs.iter().filter_map(|(s, _)| s.cluster.as_ref()).collect();
        let sizes: std::collections::BTreeSet<usize> = clusters.iter().map(|c| c.nodes).collect();
        assert!(
            sizes.is_superset(&[3, 5].into()) && sizes.is_subset(&[3, 5, 7].into()),
            "3 and 5 nodes (7 for the stale-follower profile): {sizes:?}"
        );
        assert!(clusters.iter().all(|c| c.weights().contains(&0)));
        assert!(runs.iter().any(|(_, b)| b.is_some()) && runs.iter().any(|(_, b)| b.is_none()));
        for c in clusters {
            let d = &c.data;
            assert!(d.min_insync_replicas >= 1 && d.min_insync_replicas <= i64::from(d.replication_factor));
            assert!(d.replication_factor as usize <= c.nodes);
        }
    }

    /// Proves: within seeds 0..128 some cluster runs draw topic clients beside
    /// the data clients and some the seven-broker stale-follower profile with
    /// the shape that fault needs; every drawn cluster run is a valid scenario.
    #[test]
    fn seeds_draw_topic_clients_and_the_stale_follower_profile() {
        let base = base();
        let runs: Vec<Scenario> = (0..128).map(|s| draw(s, &base).0).collect();
        let clusters: Vec<&ClusterSpec> = runs.iter().filter_map(|s| s.cluster.as_ref()).collect();
        for s in runs.iter().filter(|s| s.cluster.is_some()) {
            crate::scenario::validate(s).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        }
        assert!(clusters.iter().any(|c| c.topic_clients > 0) && clusters.iter().any(|c| c.topic_clients == 0));
        let stale: Vec<&&ClusterSpec> = clusters.iter().filter(|c| c.stale_follower_reelect > 0).collect();
        assert!(!stale.is_empty());
        for c in stale {
            assert_eq!((c.nodes, c.data.replication_factor, c.data.min_insync_replicas), (7, 3, 2));
            assert!(c.data.producers_acks_1 >= 1 && c.data.replica_lag_time_max_ms >= 30_000);
            assert!(u64::from(c.stale_follower_reelect) > c.total_weight() / 2, "the stale-follower fault dominates");
        }
    }

    /// Proves: within seeds 0..64 the swarm draws each option the issue asks for —
    /// a single broker (standalone, RF 1) besides 3, 5 (and 7) nodes, idempotent
    /// producers, a consumer group with member faults — and turns on the checks
    /// that judge them (`unique` for duplicates, the three group checks).
    #[test]
    fn seeds_draw_single_nodes_idempotence_and_groups() {
        let base = base();
        let runs: Vec<Scenario> = (0..64).map(|s| draw(s, &base).0).collect();
        let sizes: std::collections::BTreeSet<usize> = runs.iter().map(|s| s.cluster.as_ref().map_or(s.nodes, |c| c.nodes)).collect();
        assert_eq!(sizes, [1, 3, 5, 7].into(), "7: the stale-follower profile");
        let single: Vec<&Scenario> = runs.iter().filter(|s| s.cluster.is_none()).collect();
        for s in &single {
            assert_eq!(s.nodes, 1);
            assert!(s.checks.acked_readable && s.checks.unique && s.checks.liveness, "{}: core checks on", s.name);
            let group = s.workload.group_members > 0;
            assert_eq!((s.checks.offsets_monotonic, s.checks.group_assignment, s.checks.group_liveness), (group, group, group));
            assert_eq!(s.faults.latent_corruption, 0, "corruption would void acked_readable");
            assert!(s.faults.total_weight() > 0);
            assert!(s.workload.producers_acks_0 == 0 || s.workload.produce_interval_ms >= ACKS_0_INTERVAL_MS_MIN, "acks=0 paced");
            // Every drawn run passes the scenario sanity limits.
            crate::scenario::validate(s).unwrap();
        }
        assert!(single.iter().any(|s| s.workload.idempotent) && single.iter().any(|s| !s.workload.idempotent));
        assert!(single.iter().any(|s| s.workload.group_members > 0 && s.faults.member_events > 0));
        assert!(single.iter().any(|s| s.workload.group_members == 0));
        assert!(single.iter().any(|s| s.workload.producers_acks_0 > 0));
    }

    /// Proves: the swarm seeds recorded in seeds/ before single-node draws existed
    /// still draw the cluster runs they failed in (the single-node draw comes from
    /// its own generator and misses them), and so does every seed file that
    /// overrides `nodes` or `schedule` (those need a cluster). A file without
    /// `swarm_draws` replays generation 1: none of generation 2's options.
    #[test]
    fn recorded_swarm_seeds_stay_cluster_runs() {
        const CLUSTER_ERA: [u64; 6] = [38, 97, 329, 808, 1155, 3806];
        let all = load_dir(&repo_root().join("scenarios")).unwrap();
        let files = crate::runner::seeds::load_dir(&repo_root().join("seeds")).unwrap();
        let swarm: Vec<_> = files.iter().filter(|f| f.scenario == crate::runner::seeds::SWARM_SCENARIO).collect();
        assert!(CLUSTER_ERA.iter().all(|s| swarm.iter().any(|f| f.seed == *s)), "the cluster-era seed files are there");
        for f in swarm.iter().filter(|f| CLUSTER_ERA.contains(&f.seed) || f.nodes.is_some() || f.schedule.is_some()) {
            let (s, _) = f.run(&all).unwrap();
            let c = s.cluster.unwrap_or_else(|| panic!("{}: swarm seed {} now draws a single node", f.file, f.seed));
            if f.swarm_draws.is_none() {
                assert_eq!((c.topic_clients, c.data.idempotent, c.stale_follower_reelect), (0, false, 0), "{}: generation 1", f.file);
            }
        }
    }

    /// Proves: generation 1 never draws generation 2's options, and generation 2
    /// changes only the seeds that draw one (the rest draw the same run).
    #[test]
    fn draw_generations_differ_only_by_the_new_draws() {
        let base = base();
        let mut changed = 0;
        for seed in 0..64 {
            let (old, old_buggify) = draw_as(seed, &base, 1);
            let (new, new_buggify) = draw_as(seed, &base, 2);
            assert_eq!(old_buggify, new_buggify);
            let Some(c) = &new.cluster else {
                assert_eq!(old, new, "seed {seed}: single-node runs are the same in both");
                continue;
            };
            let o = old.cluster.as_ref().unwrap();
            assert_eq!((o.topic_clients, o.data.idempotent, o.stale_follower_reelect), (0, false, 0));
            if c.topic_clients == 0 && !c.data.idempotent && c.stale_follower_reelect == 0 {
                assert_eq!(old, new, "seed {seed}: no new draw, the same run");
            } else {
                changed += 1;
            }
        }
        assert!(changed > 0);
    }
}
