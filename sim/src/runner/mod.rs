//! Runs one seed of one scenario: broker nodes, clients, the fault schedule, a
//! liveness phase with faults off, the final read-back, and the checks.
//!
//! Phases, all in simulated time:
//! 1. Safety: the workload runs for `duration_s` while the fault schedule
//!    crashes, pauses and cuts nodes and breaks their disks.
//! 2. Heal: every node is restarted or resumed, the network unclogged and disk
//!    faults cleared; producers and consumers stop.
//! 3. Liveness: within [`LIVENESS_MS`] the final read-back must succeed.
//! 4. The scenario's checks judge the ledger.

pub mod cli;
pub mod cluster;
pub mod seeds;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chronik_core::config::{BrokerConfig, Knobs};
use chronik_core::types::NodeId;
use madsim::runtime::{Handle, Runtime};

use crate::check::{self, Violation};
use crate::disk::{DiskFaultConfig, SimDisk};
use crate::faults::{Fault, FaultSchedule};
use crate::group_client::{self, GroupCtx, MemberCmd, MemberControls};
use crate::ledger::Ledger;
use crate::node::{run_node, NodeSpec};
use crate::scenario::Scenario;
use crate::trace::Trace;
use crate::workload::{self, WorkloadCtx};

/// Simulated time the cluster has, after healing, to serve the final read-back.
pub const LIVENESS_MS: u64 = 30_000;
/// Simulated time group members keep running after the faults stop; the
/// group must be stable (every member in one generation, every partition
/// assigned) within it. Shorter than [`LIVENESS_MS`], which bounds the workload.
pub const GROUP_SETTLE_MS: u64 = 20_000;
/// The topic every workload writes.
pub const TOPIC: &str = "sim";
const KAFKA_PORT: u16 = 9092;

/// What one seed did.
#[derive(Debug)]
pub struct SeedReport {
    pub seed: u64,
    pub scenario: String,
    pub schedule: FaultSchedule,
    pub trace_hash: u64,
    pub trace_lines: u64,
    pub violations: Vec<Violation>,
    /// Simulated milliseconds the run covered.
    pub sim_ms: u64,
    pub wall: Duration,
    pub acked: usize,
    pub produced: usize,
    /// What the group workload did (`None` without one).
    pub group: Option<GroupStats>,
    /// Idempotent producers' retries, and those answered NONE after an unanswered attempt.
    pub idempotent_retries: (u64, u64),
    /// What a cluster run did (`None` for single-node runs).
    pub cluster: Option<cluster::ClusterStats>,
    /// Syncs that writes issued after them overtook, over every node's disk: the one
    /// reordering the io contract allows (`SimDisk::writes_overtake_sync`).
    pub syncs_overtaken: u64,
}

/// Counts of what a group workload recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStats {
    pub generations: usize,
    pub assignments: usize,
    pub commits: usize,
    pub offset_reads: usize,
    /// Members (distinct member ids) that ever received an assignment.
    pub member_ids: usize,
    /// Error codes met per API, and reconnects.
    pub events: std::collections::BTreeMap<String, u64>,
}

impl SeedReport {
    /// One line; stable for a seed (no wall time), so it can be pinned.
    pub fn summary(&self) -> String {
        format!(
            "seed {} scenario {}: {} fault(s), {} value(s) produced, {} acknowledged, {} violation(s), {} trace lines, trace hash {:016x}",
            self.seed,
            self.scenario,
            self.schedule.events.len() + self.cluster.as_ref().map_or(0, |c| c.schedule.events.len()),
            self.produced,
            self.acked,
            self.violations.len(),
            self.trace_lines,
            self.trace_hash
        )
    }
}

fn node_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, (i + 1) as u8))
}

fn node_addr(i: usize) -> SocketAddr {
    SocketAddr::new(node_ip(i), KAFKA_PORT)
}

/// Run `seed` of `scenario` with the given (test-only) knobs.
pub fn run_seed(seed: u64, scenario: &Scenario, knobs: &Knobs) -> SeedReport {
    let started = Instant::now();
    if scenario.cluster.is_some() {
        let rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
        let (s, k) = (scenario.clone(), knobs.clone());
        // A node that panics (an assertion in the core or in raft-rs, e.g. a follower
        // told to commit past its log end because it lost entries it had
        // acknowledged) fails the seed like any violation, instead of the process.
        let run =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(async move { cluster::simulate(seed, s, k).await })));
        let mut report = run.unwrap_or_else(|panic| panicked(seed, scenario, panic));
        report.wall = started.elapsed();
        return report;
    }
    let mut config = madsim::Config::default();
    let (lat_lo, lat_hi) = scenario.faults.net_latency_ms;
    if lat_hi > 0 {
        config.net.send_latency = Duration::from_millis(lat_lo.max(1))..Duration::from_millis(lat_hi.max(lat_lo.max(1) + 1));
    }
    config.net.packet_loss_rate = scenario.faults.net_loss;
    let rt = Runtime::with_seed_and_config(seed, config);
    let scenario = scenario.clone();
    let knobs = knobs.clone();
    let mut report = rt.block_on(async move { simulate(seed, scenario, knobs).await });
    report.wall = started.elapsed();
    report
}

/// Checker name of a run that panicked.
pub const PANIC: &str = "panic";

/// The report of a cluster run that panicked.
fn panicked(seed: u64, scenario: &Scenario, panic: Box<dyn std::any::Any + Send>) -> SeedReport {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into());
    SeedReport {
        seed,
        scenario: scenario.name.clone(),
        schedule: FaultSchedule::default(),
        trace_hash: 0,
        trace_lines: 0,
        violations: vec![Violation { checker: PANIC, message: format!("the simulation panicked: {message}") }],
        sim_ms: 0,
        wall: Duration::ZERO,
        acked: 0,
        produced: 0,
        group: None,
        idempotent_retries: (0, 0),
        cluster: None,
        syncs_overtaken: 0,
    }
}

async fn simulate(seed: u64, scenario: Scenario, knobs: Knobs) -> SeedReport {
    let handle = Handle::current();
    let trace = Trace::new();
    let duration_ms = scenario.duration_s * 1000;
    let schedule = FaultSchedule::of_run(seed, &scenario);
    trace.record(format!("seed {seed} scenario {} nodes {}", scenario.name, scenario.nodes));
    let t0 = madsim::time::Instant::now();

    // Broker nodes, each with its own disk that outlives crashes.
    let mut disks = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..scenario.nodes {
        let disk = Arc::new(Mutex::new(SimDisk::new(seed.wrapping_mul(31).wrapping_add(i as u64))));
        let spec = NodeSpec {
            name: format!("broker-{}", i + 1),
            addr: node_addr(i),
            broker: BrokerConfig {
                node_id: NodeId(i as i32 + 1),
                advertised_host: node_ip(i).to_string(),
                advertised_port: KAFKA_PORT as i32,
                flush_interval_ms: 50,
                seed: seed ^ (i as u64),
                knobs: knobs.clone(),
                // Few offsets partitions and short group timers keep group runs small and fast.
                groups: chronik_core::group::GroupConfig {
                    offsets_partitions: 4,
                    min_session_timeout_ms: 1_000,
                    initial_rebalance_delay_ms: 500,
                    ..Default::default()
                },
                ..Default::default()
            },
            cluster: None,
        };
        let (d, t) = (disk.clone(), trace.clone());
        let node =
            handle.create_node().name(spec.name.clone()).ip(node_ip(i)).init(move || run_node(spec.clone(), d.clone(), t.clone())).build();
        disks.push(disk);
        nodes.push(node);
    }

    // The client machine creates the topic and runs the workload.
    let ledger = Ledger::shared();
    let stop = Arc::new(AtomicBool::new(false));
    let client = handle.create_node().name("clients").ip(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1))).build();
    let hard_deadline = t0 + Duration::from_millis(duration_ms + LIVENESS_MS);
    let controls = MemberControls::default();
    let workload = {
        let ctx = WorkloadCtx {
            addr: node_addr(0),
            topic: TOPIC.to_string(),
            ledger: ledger.clone(),
            stop: stop.clone(),
            deadline: hard_deadline,
        };
        let group = (scenario.workload.group_members > 0).then(|| GroupCtx {
            addr: node_addr(0),
            topic: TOPIC.to_string(),
            partitions: scenario.workload.partitions,
            members: scenario.workload.group_members,
            ledger: ledger.clone(),
            controls: controls.clone(),
            until: t0 + Duration::from_millis(duration_ms + GROUP_SETTLE_MS),
        });
        let (spec, configs, partitions, trace) =
            (scenario.workload.clone(), scenario.topic_configs.clone(), scenario.workload.partitions, trace.clone());
        client.spawn(async move {
            match workload::create_topic(ctx.addr, &ctx.topic, partitions, &configs, Duration::from_millis(LIVENESS_MS)).await {
                Ok(()) => {
                    trace.record("topic created");
                    let group = group.map(|g| madsim::task::spawn(group_client::run_group(g)));
                    workload::run_workload(ctx, spec).await;
                    if let Some(g) = group {
                        let _ = g.await;
                    }
                    true
                }
                Err(e) => {
                    trace.record(format!("topic creation failed: {e}"));
                    false
                }
            }
        })
    };

    // Faults, then heal.
    let mut restarts = Vec::new();
    let mut disk_faulted = BTreeSet::new();
    let states: States = Arc::new(Mutex::new(NodeStates { down: vec![false; scenario.nodes], paused: vec![false; scenario.nodes] }));
    for (at, fault) in &schedule.events {
        madsim::time::sleep_until(t0 + Duration::from_millis(*at)).await;
        trace.record(format!("t={at} fault {fault:?}"));
        if matches!(
            fault,
            Fault::DiskWriteErrors { .. } | Fault::DiskSyncErrors { .. } | Fault::DiskReadErrors { .. } | Fault::DiskFull { .. }
        ) {
            disk_faulted.insert(fault.node());
        }
        apply_fault(&handle, &nodes, &disks, &states, &controls, fault, &mut restarts);
    }
    madsim::time::sleep_until(t0 + Duration::from_millis(duration_ms)).await;
    for r in restarts {
        let _ = r.await;
    }
    heal(&handle, &nodes, &disks, &disk_faulted);
    trace.record("healed");
    stop.store(true, Ordering::SeqCst);
    let workload_ok = matches!(madsim::time::timeout(Duration::from_millis(LIVENESS_MS), workload).await, Ok(Ok(true)));
    if !workload_ok {
        trace.record("workload failed or did not stop in time");
    }

    // Liveness: the final read-back, from a fresh connection.
    let readback = {
        let partitions = scenario.workload.partitions;
        client.spawn(async move { workload::final_readback(node_addr(0), TOPIC, partitions, Duration::from_millis(LIVENESS_MS)).await })
    };
    let final_log = readback.await.map_err(|e| format!("read-back task failed: {e:?}")).and_then(|r| r);
    let sim_ms = t0.elapsed().as_millis() as u64;
    let (violations, acked, failed, unknown, group, idempotent_retries) = {
        let mut l = ledger.lock().expect("ledger lock");
        l.set_final_readback(final_log);
        let mut v = check::run_checks(&scenario.checks, &l);
        if !workload_ok && scenario.checks.liveness {
            v.push(Violation {
                checker: "liveness",
                message: "the workload could not create its topic or did not stop within the liveness window".into(),
            });
        }
        let (acked, failed, unknown, _) = l.summary();
        let g = &l.groups;
        let group = (scenario.workload.group_members > 0).then(|| GroupStats {
            generations: g.generations.len(),
            assignments: g.assignments.len(),
            commits: g.commits.len(),
            offset_reads: g.offset_reads.len(),
            member_ids: g.assignments.iter().map(|a| a.member_id.as_str()).collect::<BTreeSet<_>>().len(),
            events: g.events.clone(),
        });
        (v, acked, failed, unknown, group, (l.idempotent_retries, l.idempotent_retries_acked))
    };
    trace.record(format!("done after {sim_ms} ms: {} violation(s)", violations.len()));
    if std::env::var_os("SIM_TRACE").is_some() {
        for line in trace.tail() {
            eprintln!("{line}");
        }
    }
    // The trace is complete before the nodes are killed.
    let (trace_hash, trace_lines) = (trace.hash(), trace.lines());
    let syncs_overtaken = syncs_overtaken(&disks);
    release(&handle, nodes.iter().chain([&client]), &disks);
    SeedReport {
        seed,
        scenario: scenario.name.clone(),
        schedule,
        trace_hash,
        trace_lines,
        violations,
        sim_ms,
        wall: Duration::ZERO,
        acked,
        produced: acked + failed + unknown,
        group,
        idempotent_retries,
        cluster: None,
        syncs_overtaken,
    }
}

pub(crate) fn syncs_overtaken(disks: &[Arc<Mutex<SimDisk>>]) -> u64 {
    disks.iter().map(|d| d.lock().expect("disk lock").syncs_overtaken()).sum()
}

/// Once a run is judged: kill every simulated node (dropping its tasks: the
/// brokers with their logs and caches, the clients) and empty every disk. madsim
/// does not cancel the tasks of a dropped runtime (madsim-rs/madsim#242), so
/// without this each run leaks its brokers and every byte they wrote, seed after
/// seed in one process (a sweep, the fuzzer).
pub(crate) fn release<'a>(handle: &Handle, nodes: impl Iterator<Item = &'a madsim::runtime::NodeHandle>, disks: &[Arc<Mutex<SimDisk>>]) {
    for n in nodes {
        handle.kill(n.id());
    }
    for d in disks {
        *d.lock().expect("disk lock") = SimDisk::new(0);
    }
}

type Restart = madsim::task::JoinHandle<()>;

/// Whether each node is down (crashed, restart pending) or paused, so that
/// overlapping faults compose: a crash of a node that is already down is a no-op,
/// and only the restart of a node that is down happens.
#[derive(Default)]
struct NodeStates {
    down: Vec<bool>,
    paused: Vec<bool>,
}

type States = Arc<Mutex<NodeStates>>;

fn apply_fault(
    handle: &Handle,
    nodes: &[madsim::runtime::NodeHandle],
    disks: &[Arc<Mutex<SimDisk>>],
    states: &States,
    controls: &MemberControls,
    fault: &Fault,
    restarts: &mut Vec<Restart>,
) {
    let net = madsim::net::NetSim::current();
    let later = |ms: u64, f: Box<dyn FnOnce() + Send>| -> Restart {
        madsim::task::spawn(async move {
            madsim::time::sleep(Duration::from_millis(ms)).await;
            f();
        })
    };
    match fault {
        Fault::Crash { node, restart_after_ms } => {
            let n = *node;
            {
                let mut st = states.lock().expect("states lock");
                if st.down[n] {
                    return;
                }
                st.down[n] = true;
                st.paused[n] = false;
            }
            let id = nodes[n].id();
            handle.kill(id);
            disks[n].lock().expect("disk lock").crash();
            let (h, st) = (handle.clone(), states.clone());
            restarts.push(later(
                *restart_after_ms,
                Box::new(move || {
                    let mut st = st.lock().expect("states lock");
                    if st.down[n] {
                        st.down[n] = false;
                        h.restart(id);
                    }
                }),
            ));
        }
        Fault::Pause { node, resume_after_ms } => {
            let n = *node;
            {
                let mut st = states.lock().expect("states lock");
                if st.down[n] || st.paused[n] {
                    return;
                }
                st.paused[n] = true;
            }
            let id = nodes[n].id();
            handle.pause(id);
            let (h, st) = (handle.clone(), states.clone());
            restarts.push(later(
                *resume_after_ms,
                Box::new(move || {
                    let mut st = st.lock().expect("states lock");
                    if st.paused[n] {
                        st.paused[n] = false;
                        h.resume(id);
                    }
                }),
            ));
        }
        Fault::Clog { node, duration_ms } => {
            let id = nodes[*node].id();
            net.clog_node(id);
            let n = net.clone();
            restarts.push(later(*duration_ms, Box::new(move || n.unclog_node(id))));
        }
        Fault::ClogOneWay { node, inbound, duration_ms } => {
            let id = nodes[*node].id();
            let n = net.clone();
            if *inbound {
                net.clog_node_in(id);
                restarts.push(later(*duration_ms, Box::new(move || n.unclog_node_in(id))));
            } else {
                net.clog_node_out(id);
                restarts.push(later(*duration_ms, Box::new(move || n.unclog_node_out(id))));
            }
        }
        Fault::DiskWriteErrors { node, per_mille, duration_ms } => disk_window(
            disks,
            *node,
            DiskFaultConfig { write_error_rate: *per_mille as f64 / 1000.0, ..Default::default() },
            *duration_ms,
            restarts,
            &later,
        ),
        Fault::DiskSyncErrors { node, per_mille, duration_ms } => disk_window(
            disks,
            *node,
            DiskFaultConfig { sync_error_rate: *per_mille as f64 / 1000.0, ..Default::default() },
            *duration_ms,
            restarts,
            &later,
        ),
        Fault::DiskReadErrors { node, per_mille, duration_ms } => disk_window(
            disks,
            *node,
            DiskFaultConfig { read_error_rate: *per_mille as f64 / 1000.0, ..Default::default() },
            *duration_ms,
            restarts,
            &later,
        ),
        Fault::DiskFull { node, duration_ms } => {
            // Full at whatever it holds now.
            disk_window(disks, *node, DiskFaultConfig { capacity_bytes: 1, ..Default::default() }, *duration_ms, restarts, &later)
        }
        Fault::LatentCorruption { node } => {
            let _ = disks[*node].lock().expect("disk lock").corrupt_random_sector();
        }
        Fault::MemberCrash { member, restart_after_ms } => controls.send(*member, MemberCmd::Crash { restart_after_ms: *restart_after_ms }),
        Fault::MemberPause { member, resume_after_ms } => controls.send(*member, MemberCmd::Pause { resume_after_ms: *resume_after_ms }),
    }
}

fn disk_window(
    disks: &[Arc<Mutex<SimDisk>>],
    node: usize,
    faults: DiskFaultConfig,
    ms: u64,
    restarts: &mut Vec<Restart>,
    later: &dyn Fn(u64, Box<dyn FnOnce() + Send>) -> Restart,
) {
    disks[node].lock().expect("disk lock").set_faults(faults);
    let d = disks[node].clone();
    restarts.push(later(ms, Box::new(move || d.lock().expect("disk lock").set_faults(DiskFaultConfig::default()))));
}

/// Faults off: every node running, the network whole, disks healthy. A node
/// whose disk failed took its partitions offline (as Kafka does with a failed log
/// directory); like an operator, the heal restarts its process — without power
/// loss, so what the OS accepted stays.
fn heal(handle: &Handle, nodes: &[madsim::runtime::NodeHandle], disks: &[Arc<Mutex<SimDisk>>], disk_faulted: &BTreeSet<usize>) {
    let net = madsim::net::NetSim::current();
    for (i, (node, disk)) in nodes.iter().zip(disks).enumerate() {
        net.unclog_node(node.id());
        net.unclog_node_in(node.id());
        net.unclog_node_out(node.id());
        disk.lock().expect("disk lock").set_faults(DiskFaultConfig::default());
        if disk_faulted.contains(&i) {
            handle.kill(node.id());
            handle.restart(node.id());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trace summary of one fixed seed is pinned: any change in what the
    /// core or the harness does under that seed shows up here (review the new
    /// snapshot with `cargo insta review`, or `INSTA_UPDATE=always`).
    #[test]
    fn fixed_seed_trace_summary() {
        let all = crate::scenario::load_dir(&cli::repo_root().join("scenarios")).expect("scenarios load");
        let s = all.iter().find(|s| s.name == cli::PLANTED_BUG_SCENARIO).expect("scenario exists");
        let r = run_seed(42, s, &Knobs::default());
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert!(r.syncs_overtaken > 0, "the simulated disk let writes overtake a sync");
        insta::assert_snapshot!(format!("{}\n{}", r.summary(), r.schedule));
    }

    /// Proves the cluster runner's disks reorder too (the Raft log's write-then-sync
    /// pairs and the replicas' appends), and a mixed-fault cluster seed still holds.
    #[test]
    fn cluster_disks_let_writes_overtake_syncs() {
        let all = crate::scenario::load_dir(&cli::repo_root().join("scenarios")).expect("scenarios load");
        let s = all.iter().find(|s| s.name == "cluster-five-mixed").expect("scenario exists");
        let r = run_seed(0, s, &Knobs::default());
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert!(r.syncs_overtaken > 0, "no write overtook a sync in a five-node run");
    }
}
