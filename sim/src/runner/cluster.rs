//! Runs one seed of a cluster scenario (one with a `[cluster]` section):
//! `cluster.nodes` brokers in cluster mode (node ids 0..n, every one a Raft
//! voter), each driven by [`crate::node::run_node`] on its own [`SimDisk`],
//! talking over the run's [`PeerNet`].
//!
//! Phases, all in simulated time:
//! 1. Safety: for `duration_s` the [`ClusterSchedule`] crashes nodes (any, or
//!    the current Raft leader; unsynced writes, Raft log tails included, are
//!    lost), isolates the leader, partitions the network (minority, no quorum,
//!    one way) and makes links lossy; the topics workload (if any) creates
//!    topics and asks for Metadata on random brokers.
//! 2. Heal: pending fault timers run out, every cut comes down, links stop
//!    losing, every node that is down restarts; clients stop.
//! 3. Liveness: within [`LIVENESS_MS`] `check::cluster_liveness` must pass
//!    (polled; the phase ends as soon as it does).
//! 4. `raft_safety` and `partition_leaders` judge every event of every node.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronik_core::config::{BrokerConfig, ClusterConfig, Knobs};
use chronik_core::types::NodeId;
use madsim::runtime::{Handle, NodeHandle};

use crate::check::leader_failover::{self, FaultTimeline};
use crate::check::{self, cluster_liveness, replica_agreement, replication_liveness};
use crate::cluster::data::{self, DataCtx};
use crate::cluster::faults::{ClusterFault, ClusterSchedule};
use crate::cluster::net::{Cut, LinkConfig, NetStats, PeerNet};
use crate::cluster::workload::{self as cluster_workload, ClusterClientStats};
use crate::cluster::{current_leader, partition_states, ClusterLog, ClusterPort};
use crate::disk::SimDisk;
use crate::faults::FaultSchedule;
use crate::ledger::Ledger;
use crate::node::{run_node, NodeSpec};
use crate::scenario::{ClusterSpec, ClusterWorkload, Scenario};
use crate::trace::Trace;

use super::SeedReport;

/// Simulated time the cluster has, after healing, to settle.
pub const LIVENESS_MS: u64 = 30_000;
/// How often the liveness phase looks.
const LIVENESS_POLL: Duration = Duration::from_millis(250);
/// How long a data run waits for its topic before starting the fault clock anyway.
const DATA_READY_MAX: Duration = Duration::from_secs(15);
/// Simulated time the final read-back of a data run may take.
const READBACK_MS: u64 = 20_000;
const KAFKA_PORT: u16 = 9092;

/// What a cluster run did, for the report.
#[derive(Debug, Clone)]
pub struct ClusterStats {
    pub schedule: ClusterSchedule,
    /// Events reported by all nodes.
    pub events: usize,
    /// Distinct terms with a leader, and the highest term seen.
    pub leader_terms: usize,
    pub max_term: u64,
    /// Highest index any node applied.
    pub max_applied: u64,
    /// Distinct partitions seen in `Partition` events.
    pub partitions: usize,
    pub net: NetStats,
    pub clients: ClusterClientStats,
    /// Simulated ms from healing until `cluster_liveness` passed (`None`: never).
    pub settled_after_ms: Option<u64>,
    /// Node restarts (crashes that came back, plus the restarts at healing).
    pub restarts: u64,
}

impl std::fmt::Display for ClusterStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} event(s), {} term(s) with a leader (max term {}), max applied index {}, {} partition(s), {} restart(s), settled {}; net {:?}; clients {:?}, {} topic(s) created",
            self.events,
            self.leader_terms,
            self.max_term,
            self.max_applied,
            self.partitions,
            self.restarts,
            self.settled_after_ms.map_or("never".to_string(), |ms| format!("after {ms} ms")),
            self.net,
            self.clients.counts,
            self.clients.created.len()
        )
    }
}

fn node_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, (i + 1) as u8))
}

fn node_addr(i: usize) -> SocketAddr {
    SocketAddr::new(node_ip(i), KAFKA_PORT)
}

fn links(spec: &ClusterSpec) -> LinkConfig {
    LinkConfig { latency_ms: spec.latency_ms, jitter_ms: spec.jitter_ms, loss: spec.loss, duplicate: spec.duplicate, reorder: spec.reorder }
}

/// The nodes of a run and whether each is down (crashed, restart pending).
struct Cluster {
    handle: Handle,
    nodes: Vec<NodeHandle>,
    disks: Vec<Arc<Mutex<SimDisk>>>,
    down: Arc<Mutex<Vec<bool>>>,
    net: PeerNet,
    log: ClusterLog,
    trace: Trace,
    restarts: Arc<Mutex<u64>>,
    /// Data runs: the node clients take Metadata from while a zombie fault lasts.
    pin: Arc<Mutex<Option<usize>>>,
    /// Data runs: the data topic's partitions.
    data_partitions: i32,
    /// When nodes were down and the network cut or lossy, for `leader_failover`.
    timeline: Arc<Mutex<FaultTimeline>>,
}

fn now_ms() -> u64 {
    u64::try_from(crate::node::sim_elapsed_millis()).unwrap_or(u64::MAX)
}

type Task = madsim::task::JoinHandle<()>;

impl Cluster {
    /// Power loss of node `n` (no-op if it is down already); it restarts after `restart_after_ms`.
    fn crash(&self, n: usize, restart_after_ms: u64) -> Option<Task> {
        self.crash_and_wipe(n, restart_after_ms, false)
    }

    /// [`Cluster::crash`], and with `wipe` the data topic's partition
    /// directories are deleted from the node's disk before it restarts.
    fn crash_and_wipe(&self, n: usize, restart_after_ms: u64, wipe: bool) -> Option<Task> {
        {
            let mut down = self.down.lock().expect("down lock");
            if down[n] {
                return None;
            }
            down[n] = true;
        }
        self.timeline.lock().expect("timeline lock").down.push((n, now_ms(), None));
        self.trace.record(format_args!("{:>9}ms crash node {n}", crate::node::sim_elapsed_millis()));
        self.handle.kill(self.nodes[n].id());
        self.net.detach(n);
        self.disks[n].lock().expect("disk lock").crash();
        if wipe {
            let mut disk = self.disks[n].lock().expect("disk lock");
            let files: usize = (0..self.data_partitions).map(|p| disk.wipe_dir(&format!("{}-{p}", data::TOPIC))).sum();
            self.trace.record(format_args!("{:>9}ms wiped {files} file(s) of node {n}", crate::node::sim_elapsed_millis()));
        }
        let (handle, id, down, restarts) = (self.handle.clone(), self.nodes[n].id(), self.down.clone(), self.restarts.clone());
        let timeline = self.timeline.clone();
        Some(madsim::task::spawn(async move {
            madsim::time::sleep(Duration::from_millis(restart_after_ms)).await;
            restart_if_down(&handle, id, n, &down, &restarts, &timeline);
        }))
    }

    /// Cut the network for `ms`.
    fn cut_for(&self, cut: Cut, ms: u64) -> Task {
        self.disturbed_for(ms, self.cut_of_one(&cut));
        let id = self.net.cut(cut);
        let net = self.net.clone();
        madsim::task::spawn(async move {
            madsim::time::sleep(Duration::from_millis(ms)).await;
            net.heal(id);
        })
    }

    /// The data partition's (partition 0's) current leader as the metadata has
    /// it, or `fallback`; and its other replicas.
    fn partition_leader(&self, fallback: usize) -> (usize, Vec<usize>) {
        let state = partition_states(&self.log.snapshot()).remove(&(data::TOPIC.to_string(), 0));
        let leader = state.as_ref().and_then(|s| s.leader).unwrap_or(fallback);
        let followers = state.map(|s| s.replicas.into_iter().filter(|r| *r != leader).collect()).unwrap_or_default();
        self.trace.record(format_args!("partition leader: {leader} (fallback {fallback}), followers {followers:?}"));
        (leader, followers)
    }

    /// Marks the next `ms` as disturbed (a cut or lossy links) for `leader_failover`.
    fn disturbed_for(&self, ms: u64, only: Option<usize>) {
        let now = now_ms();
        self.timeline.lock().expect("timeline lock").disturbed.push((now, now.saturating_add(ms), only));
    }

    /// The node whose links alone `cut` cuts, if every link it cuts is one of that node's.
    fn cut_of_one(&self, cut: &Cut) -> Option<usize> {
        let n = self.nodes.len();
        let blocked: Vec<(usize, usize)> =
            (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).filter(|(a, b)| a != b && cut.blocks(*a, *b)).collect();
        (0..n).find(|x| blocked.iter().all(|(a, b)| a == x || b == x))
    }

    fn everyone_but(&self, n: usize) -> Vec<usize> {
        (0..self.nodes.len()).filter(|o| *o != n).collect()
    }

    fn restart_all(&self) {
        for (n, node) in self.nodes.iter().enumerate() {
            restart_if_down(&self.handle, node.id(), n, &self.down, &self.restarts, &self.timeline);
        }
    }

    /// Each node's running incarnation (`None` while down or not yet attached).
    fn running(&self) -> Vec<Option<u32>> {
        let down = self.down.lock().expect("down lock");
        (0..self.nodes.len()).map(|n| if down[n] { None } else { self.net.incarnation(n) }).collect()
    }
}

fn restart_if_down(
    handle: &Handle,
    id: madsim::task::NodeId,
    n: usize,
    down: &Mutex<Vec<bool>>,
    restarts: &Mutex<u64>,
    timeline: &Mutex<FaultTimeline>,
) {
    let mut down = down.lock().expect("down lock");
    if down[n] {
        down[n] = false;
        if let Some(open) = timeline.lock().expect("timeline lock").down.iter_mut().rev().find(|d| d.0 == n && d.2.is_none()) {
            open.2 = Some(now_ms());
        }
        *restarts.lock().expect("restarts lock") += 1;
        handle.restart(id);
    }
}

/// Run `seed` of the cluster `scenario` inside the current madsim runtime.
pub async fn simulate(seed: u64, scenario: Scenario, knobs: Knobs) -> SeedReport {
    let spec = scenario.cluster.clone().expect("a cluster scenario");
    let handle = Handle::current();
    let trace = Trace::new();
    let n = spec.nodes;
    let duration_ms = scenario.duration_s * 1000;
    // An explicit schedule (a shrunk seed file's) replaces the one drawn from the seed.
    let schedule = spec.schedule.clone().unwrap_or_else(|| ClusterSchedule::generate(seed, &spec, duration_ms));
    trace.record(format!("seed {seed} scenario {} cluster of {n} nodes, workload {:?}", scenario.name, spec.workload));
    let t0 = madsim::time::Instant::now();

    let net_node = handle.create_node().name("peer-net").ip(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 1))).build();
    let net = PeerNet::new(seed, n, links(&spec), net_node.clone(), trace.clone());
    let log = ClusterLog::new();
    let voters: Vec<NodeId> = (0..n).map(|i| NodeId(i as i32)).collect();
    let mut nodes = Vec::new();
    let mut disks = Vec::new();
    for i in 0..n {
        let disk = Arc::new(Mutex::new(SimDisk::new(seed.wrapping_mul(31).wrapping_add(i as u64))));
        let node_spec = NodeSpec {
            name: format!("broker-{i}"),
            addr: node_addr(i),
            broker: BrokerConfig {
                node_id: NodeId(i as i32),
                advertised_host: node_ip(i).to_string(),
                advertised_port: KAFKA_PORT as i32,
                cluster_id: "chronik-sim-cluster".into(),
                flush_interval_ms: 50,
                seed: seed ^ (i as u64),
                knobs: knobs.clone(),
                cluster: Some(cluster_config(&spec, voters.clone())),
                ..Default::default()
            },
            cluster: Some(ClusterPort { net: net.clone(), log: log.clone() }),
        };
        let (d, t) = (disk.clone(), trace.clone());
        let node = handle
            .create_node()
            .name(node_spec.name.clone())
            .ip(node_ip(i))
            .init(move || run_node(node_spec.clone(), d.clone(), t.clone()))
            .build();
        nodes.push(node);
        disks.push(disk);
    }
    let cluster = Arc::new(Cluster {
        handle: handle.clone(),
        nodes,
        disks,
        down: Arc::new(Mutex::new(vec![false; n])),
        net: net.clone(),
        log: log.clone(),
        trace: trace.clone(),
        restarts: Arc::new(Mutex::new(0)),
        pin: Arc::new(Mutex::new(None)),
        data_partitions: if spec.workload == ClusterWorkload::Data { spec.data.partitions } else { 0 },
        timeline: Arc::new(Mutex::new(FaultTimeline::default())),
    });

    // Clients of the topics workload (in data runs too, when drawn: `topic_clients`).
    let stop = Arc::new(AtomicBool::new(false));
    let stats = cluster_workload::SharedStats::default();
    let mut clients = Vec::new();
    let machine = handle.create_node().name("clients").ip(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1))).build();
    let ready_max = if spec.workload == ClusterWorkload::Data { DATA_READY_MAX } else { Duration::ZERO };
    let deadline = t0 + Duration::from_millis(duration_ms + LIVENESS_MS) + ready_max;
    let topic_clients = match spec.workload {
        ClusterWorkload::Topics => spec.clients,
        ClusterWorkload::Data => spec.topic_clients,
        ClusterWorkload::Elections => 0,
    };
    for c in 0..topic_clients {
        let addrs: Vec<SocketAddr> = (0..n).map(node_addr).collect();
        clients.push(machine.spawn(cluster_workload::run_client(c, seed, addrs, stats.clone(), stop.clone(), deadline)));
    }
    let ledger = Ledger::shared();
    let data_ctx = DataCtx {
        addrs: (0..n).map(node_addr).collect(),
        spec: spec.data.clone(),
        ledger: ledger.clone(),
        stats: stats.clone(),
        stop: stop.clone(),
        deadline,
        pin: cluster.pin.clone(),
        seed,
    };
    if spec.workload == ClusterWorkload::Data {
        let (ctx, trace) = (data_ctx.clone(), trace.clone());
        clients.push(machine.spawn(async move {
            match data::create_topic(&ctx).await {
                Ok(()) => {
                    trace.record(format_args!("{:>9}ms topic created", crate::node::sim_elapsed_millis()));
                    data::run_clients(ctx).await;
                }
                Err(e) => trace.record(format!("topic creation failed: {e}")),
            }
        }));
    }

    // Data runs: the fault clock starts once the topic has a leader for every
    // partition (or after DATA_READY_MAX), so faults hit replication, not creation.
    let faults_from = if cluster.data_partitions > 0 {
        let ready_by = madsim::time::Instant::now() + DATA_READY_MAX;
        while madsim::time::Instant::now() < ready_by {
            let states = partition_states(&log.snapshot());
            if (0..cluster.data_partitions).all(|p| states.get(&(data::TOPIC.to_string(), p)).is_some_and(|s| s.leader.is_some())) {
                break;
            }
            madsim::time::sleep(Duration::from_millis(100)).await;
        }
        let at = madsim::time::Instant::now();
        trace.record(format!("data topic ready at {} ms; faults from then", (at - t0).as_millis()));
        at
    } else {
        t0
    };

    // Faults.
    let mut pending = Vec::new();
    for (at, fault) in &schedule.events {
        madsim::time::sleep_until(faults_from + Duration::from_millis(*at)).await;
        trace.record(format!("t={at} fault {fault:?}"));
        pending.extend(apply(&cluster, &spec, fault));
    }
    madsim::time::sleep_until(faults_from + Duration::from_millis(duration_ms)).await;
    for p in pending {
        let _ = p.await;
    }

    // Heal, then liveness.
    net.heal_all(links(&spec).healed());
    *cluster.pin.lock().expect("pin lock") = None;
    cluster.restart_all();
    stop.store(true, Ordering::SeqCst);
    let healed = madsim::time::Instant::now();
    trace.record(format!("healed at {} ms", (healed - t0).as_millis()));
    let mut settled_after_ms = None;
    let mut last = Vec::new();
    let mut last_data = Vec::new();
    while healed.elapsed() < Duration::from_millis(LIVENESS_MS) {
        madsim::time::sleep(LIVENESS_POLL).await;
        let events = log.snapshot();
        let running = cluster.running();
        last = cluster_liveness::check(&events, &running);
        if cluster.data_partitions > 0 {
            let up: Vec<bool> = running.iter().map(Option::is_some).collect();
            last_data = replication_liveness::settled(&events, data::TOPIC, cluster.data_partitions, &up);
        }
        if last.is_empty() && last_data.is_empty() {
            settled_after_ms = Some(healed.elapsed().as_millis() as u64);
            break;
        }
    }
    trace.record(format!("settled: {settled_after_ms:?}"));
    for c in clients {
        let _ = madsim::time::timeout(Duration::from_secs(10), c).await;
    }
    // Data runs: read every partition back from its leader, and every replica's files.
    let mut data_violations = Vec::new();
    let (mut acked, mut produced) = (0, 0);
    if cluster.data_partitions > 0 {
        let ctx = data_ctx.clone();
        let acked_end = acked_ends(&ledger.lock().expect("ledger lock"));
        let (readback, ends) = machine
            .spawn(async move { data::final_readback(&ctx, &acked_end, Duration::from_millis(READBACK_MS)).await })
            .await
            .unwrap_or_else(|e| (Err(format!("read-back task failed: {e:?}")), Default::default()));
        trace.record(format!("read-back: {} partition(s) read, ends {ends:?}", readback.as_ref().map_or(0, |r| r.len())));
        let mut l = ledger.lock().expect("ledger lock");
        data_violations.extend(check::capped(
            replication_liveness::NAME,
            if scenario.checks.replication_liveness { replication_liveness::check(&last_data, Some(&readback)) } else { Vec::new() },
        ));
        l.set_final_readback(readback);
        data_violations.extend(check::run_checks(&scenario.checks, &l));
        if scenario.checks.replica_agreement {
            let logs = replica_logs(&cluster, ends);
            data_violations.extend(check::capped(replica_agreement::NAME, replica_agreement::check(&logs)));
        }
        let (a, f, u, observed) = l.summary();
        (acked, produced) = (a, a + f + u);
        trace.record(format!("ledger: {a} acked, {f} failed, {u} unknown, {observed} observed"));
    }

    let events = log.snapshot();
    if std::env::var_os("SIM_CLUSTER_EVENTS").is_some() {
        for e in &events {
            eprintln!("{:>9}ms node {} inc {} {:?}", e.at_ms, e.node, e.incarnation, e.event);
        }
    }
    let mut violations = check::run_cluster_checks(&scenario.checks, &events);
    if scenario.checks.leader_failover {
        let timeline = cluster.timeline.lock().expect("timeline lock").clone();
        let session_ms = u64::try_from(cluster_config(&spec, Vec::new()).broker_session_timeout_ms).unwrap_or(0);
        violations.extend(check::capped(leader_failover::NAME, leader_failover::check(&events, &timeline, session_ms)));
    }
    violations.extend(data_violations);
    if scenario.checks.cluster_liveness && settled_after_ms.is_none() {
        let messages = last.into_iter().map(|m| format!("{LIVENESS_MS} ms after healing: {m}")).collect();
        violations.extend(check::capped(cluster_liveness::NAME, messages));
    }
    let sim_ms = t0.elapsed().as_millis() as u64;
    let stats = ClusterStats {
        schedule,
        events: events.len(),
        leader_terms: leader_terms(&events).0,
        max_term: leader_terms(&events).1,
        max_applied: events
            .iter()
            .filter_map(|e| match e.event {
                chronik_core::cluster::events::ClusterEvent::Applied { index, .. } => Some(index),
                _ => None,
            })
            .max()
            .unwrap_or(0),
        partitions: events
            .iter()
            .filter_map(|e| match &e.event {
                chronik_core::cluster::events::ClusterEvent::Partition { topic, partition, .. } => Some((topic.clone(), *partition)),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        net: net.stats(),
        clients: stats.lock().expect("stats lock").clone(),
        settled_after_ms,
        restarts: *cluster.restarts.lock().expect("restarts lock"),
    };
    trace.record(format!("done after {sim_ms} ms: {} violation(s); {stats}", violations.len()));
    if std::env::var_os("SIM_TRACE").is_some() {
        for line in trace.tail() {
            eprintln!("{line}");
        }
    }
    // The trace is complete before the nodes are killed.
    let (trace_hash, trace_lines) = (trace.hash(), trace.lines());
    let syncs_overtaken = super::syncs_overtaken(&cluster.disks);
    super::release(&handle, cluster.nodes.iter().chain([&machine, &net_node]), &cluster.disks);
    SeedReport {
        seed,
        scenario: scenario.name.clone(),
        schedule: FaultSchedule::default(),
        trace_hash,
        trace_lines,
        violations,
        sim_ms,
        wall: Duration::ZERO,
        acked,
        produced,
        group: None,
        idempotent_retries: (0, 0),
        cluster: Some(stats),
        syncs_overtaken,
    }
}

/// (terms that had a leader, highest term reported).
fn leader_terms(events: &[crate::cluster::TaggedEvent]) -> (usize, u64) {
    let mut terms = std::collections::BTreeSet::new();
    let mut max = 0;
    for e in events {
        if let chronik_core::cluster::events::ClusterEvent::RaftState { term, role, .. } = &e.event {
            max = max.max(*term);
            if *role == chronik_core::cluster::raft::Role::Leader {
                terms.insert(*term);
            }
        }
    }
    (terms.len(), max)
}

/// Carry out one fault; returns the task that undoes it later, if any.
fn apply(cluster: &Arc<Cluster>, spec: &ClusterSpec, fault: &ClusterFault) -> Option<Task> {
    let net = cluster.net.clone();
    let leader_or = |fallback: usize| {
        let leader = current_leader(&cluster.log.snapshot());
        cluster.trace.record(format_args!("current leader: {leader:?}"));
        leader.unwrap_or(fallback)
    };
    match fault {
        ClusterFault::Crash { node, restart_after_ms } => cluster.crash(*node, *restart_after_ms),
        ClusterFault::CrashLeader { fallback, restart_after_ms } => cluster.crash(leader_or(*fallback), *restart_after_ms),
        ClusterFault::IsolateLeader { fallback, duration_ms } => {
            let l = leader_or(*fallback);
            Some(cluster.cut_for(Cut::Groups(vec![cluster.everyone_but(l)]), *duration_ms))
        }
        ClusterFault::Partition { groups, duration_ms } => Some(cluster.cut_for(Cut::Groups(groups.clone()), *duration_ms)),
        ClusterFault::OneWay { from, to, duration_ms } => {
            Some(cluster.cut_for(Cut::OneWay { from: from.clone(), to: to.clone() }, *duration_ms))
        }
        ClusterFault::Lossy { loss_per_mille, duplicate_per_mille, reorder_per_mille, duration_ms } => {
            let base = links(spec);
            cluster.disturbed_for(*duration_ms, None);
            net.set_links(LinkConfig {
                loss: f64::from(*loss_per_mille) / 1000.0,
                duplicate: f64::from(*duplicate_per_mille) / 1000.0,
                reorder: f64::from(*reorder_per_mille) / 1000.0,
                ..base.clone()
            });
            let ms = *duration_ms;
            Some(madsim::task::spawn(async move {
                madsim::time::sleep(Duration::from_millis(ms)).await;
                net.set_links(base);
            }))
        }
        ClusterFault::CrashPartitionLeader { fallback, restart_after_ms } => {
            cluster.crash(cluster.partition_leader(*fallback).0, *restart_after_ms)
        }
        ClusterFault::CrashPartitionFollower { pick, restart_after_ms } => {
            let (_, followers) = cluster.partition_leader(0);
            let f = *followers.get(pick % followers.len().max(1))?;
            cluster.crash(f, *restart_after_ms)
        }
        ClusterFault::WipeReplica { pick, restart_after_ms } => {
            let (_, followers) = cluster.partition_leader(0);
            let f = *followers.get(pick % followers.len().max(1))?;
            cluster.crash_and_wipe(f, *restart_after_ms, true)
        }
        ClusterFault::IsolatePartitionLeader { fallback, duration_ms, zombie } => {
            let (l, _) = cluster.partition_leader(*fallback);
            let cut = cluster.cut_for(Cut::Groups(vec![cluster.everyone_but(l)]), *duration_ms);
            if !zombie {
                return Some(cut);
            }
            *cluster.pin.lock().expect("pin lock") = Some(l);
            let pin = cluster.pin.clone();
            Some(madsim::task::spawn(async move {
                let _ = cut.await;
                *pin.lock().expect("pin lock") = None;
            }))
        }
        ClusterFault::OneWayPartitionLeader { fallback, outbound, duration_ms } => {
            let (l, _) = cluster.partition_leader(*fallback);
            let cut = if *outbound {
                Cut::OneWay { from: vec![l], to: cluster.everyone_but(l) }
            } else {
                Cut::OneWay { from: cluster.everyone_but(l), to: vec![l] }
            };
            Some(cluster.cut_for(cut, *duration_ms))
        }
        ClusterFault::LeaderChurn { fallback, steps } => {
            let (cluster, steps, fallback) = (cluster.clone(), steps.clone(), *fallback);
            Some(madsim::task::spawn(async move {
                let mut undo = Vec::new();
                for step in steps {
                    madsim::time::sleep(Duration::from_millis(step.gap_ms)).await;
                    let (l, _) = cluster.partition_leader(fallback);
                    cluster.trace.record(format_args!(
                        "{:>9}ms churn: {} {l}",
                        crate::node::sim_elapsed_millis(),
                        if step.crash { "crash" } else { "isolate" }
                    ));
                    if step.crash {
                        undo.extend(cluster.crash(l, step.down_ms));
                    } else {
                        undo.push(cluster.cut_for(Cut::Groups(vec![cluster.everyone_but(l)]), step.down_ms));
                    }
                    // Wait until the controller moved the leadership (or a while).
                    for _ in 0..40 {
                        madsim::time::sleep(Duration::from_millis(100)).await;
                        let now = partition_states(&cluster.log.snapshot()).remove(&(data::TOPIC.to_string(), 0));
                        if now.is_some_and(|s| s.leader.is_some_and(|n| n != l)) {
                            break;
                        }
                    }
                }
                for u in undo {
                    let _ = u.await;
                }
            }))
        }
        ClusterFault::IsrShrinkCrash { fallback, followers_down_ms, leader_after_ms, leader_down_ms } => {
            let (l, followers) = cluster.partition_leader(*fallback);
            let mut undo: Vec<Task> = followers.iter().filter_map(|f| cluster.crash(*f, *followers_down_ms)).collect();
            let (cluster, after, down) = (cluster.clone(), *leader_after_ms, *leader_down_ms);
            Some(madsim::task::spawn(async move {
                madsim::time::sleep(Duration::from_millis(after)).await;
                let state = partition_states(&cluster.log.snapshot()).remove(&(data::TOPIC.to_string(), 0));
                cluster.trace.record(format_args!(
                    "{:>9}ms ISR before the leader crash: {:?}",
                    crate::node::sim_elapsed_millis(),
                    state.map(|s| s.isr)
                ));
                undo.extend(cluster.crash(l, down));
                for u in undo {
                    let _ = u.await;
                }
            }))
        }
        ClusterFault::StaleFollowerReelect { fallback, leader_down_ms, lead_ms, second_down_ms } => {
            let (l, followers) = cluster.partition_leader(*fallback);
            let (f, g) = match followers[..] {
                [f, g, ..] => (f, g),
                _ => return None,
            };
            let (cluster, down, lead, second) = (cluster.clone(), *leader_down_ms, *lead_ms, *second_down_ms);
            // From the first crash: G down, then F cut off past both fencings.
            const G_OUT_MAX_MS: u64 = 15_000;
            const CUT_AFTER_MS: u64 = 500;
            const FIRST_CRASH_AFTER_MS: u64 = 12_000;
            const SECOND_CRASH_GAP_MS: u64 = 1_000;
            const DEAF_AFTER_SECOND_MS: u64 = 8_500;
            let second_at = FIRST_CRASH_AFTER_MS + down + lead + SECOND_CRASH_GAP_MS;
            Some(madsim::task::spawn(async move {
                let mut undo: Vec<Task> = Vec::new();
                // G stays down until after the second crash; wait (up to 15 s) for
                // the controller to take it out of the ISR before F goes silent, so
                // that F, fenced later, is kept as the ISR's min.insync.replicas-th.
                undo.extend(cluster.crash(g, G_OUT_MAX_MS + second_at + 2_000));
                for _ in 0..G_OUT_MAX_MS / 100 {
                    madsim::time::sleep(Duration::from_millis(100)).await;
                    let now = partition_states(&cluster.log.snapshot()).remove(&(data::TOPIC.to_string(), 0));
                    if now.is_some_and(|s| !s.isr.contains(&g)) {
                        break;
                    }
                }
                madsim::time::sleep(Duration::from_millis(CUT_AFTER_MS)).await;
                let rest: Vec<usize> = (0..cluster.nodes.len()).filter(|n| *n != f && *n != l).collect();
                if !rest.is_empty() {
                    let mute_ms = FIRST_CRASH_AFTER_MS - CUT_AFTER_MS + down + lead;
                    undo.push(cluster.cut_for(Cut::OneWay { from: vec![f], to: rest.clone() }, mute_ms));
                    let deaf_ms = second_at - CUT_AFTER_MS + DEAF_AFTER_SECOND_MS;
                    undo.push(cluster.cut_for(Cut::OneWay { from: rest, to: vec![f] }, deaf_ms));
                }
                madsim::time::sleep(Duration::from_millis(CUT_AFTER_MS)).await;
                if current_leader(&cluster.log.snapshot()).is_none_or(|r| r == l || r == f) {
                    // F's heartbeats must stop reaching the controller: move the Raft
                    // leadership off L and F (L cut off for less than the broker
                    // session timeout; the others need a quorum without L and F).
                    undo.push(cluster.cut_for(Cut::Groups(vec![cluster.everyone_but(l)]), 1_500));
                }
                madsim::time::sleep(Duration::from_millis(FIRST_CRASH_AFTER_MS - 2 * CUT_AFTER_MS)).await;
                cluster.trace.record(format_args!(
                    "{:>9}ms stale follower {f}, leader {l} crashes; partition: {:?}",
                    crate::node::sim_elapsed_millis(),
                    partition_states(&cluster.log.snapshot()).remove(&(data::TOPIC.to_string(), 0)).map(|s| (s.leader, s.isr))
                ));
                undo.extend(cluster.crash(l, down));
                madsim::time::sleep(Duration::from_millis(down + lead + SECOND_CRASH_GAP_MS)).await;
                cluster.trace.record(format_args!(
                    "{:>9}ms leader {l} crashes again; partition: {:?}",
                    crate::node::sim_elapsed_millis(),
                    partition_states(&cluster.log.snapshot()).remove(&(data::TOPIC.to_string(), 0)).map(|s| (s.leader, s.isr))
                ));
                undo.extend(cluster.crash(l, second));
                for u in undo {
                    let _ = u.await;
                }
            }))
        }
        ClusterFault::CrashAll { restart_after_ms } => {
            let undo: Vec<Task> = (0..cluster.nodes.len()).filter_map(|n| cluster.crash(n, *restart_after_ms)).collect();
            Some(madsim::task::spawn(async move {
                for u in undo {
                    let _ = u.await;
                }
            }))
        }
    }
}

/// Per partition, one past the highest offset acknowledged with acks=all.
fn acked_ends(ledger: &Ledger) -> std::collections::BTreeMap<i32, i64> {
    let mut out = std::collections::BTreeMap::new();
    for o in ledger.produced.values() {
        if let crate::ledger::Outcome::Acked { partition, offset, acks: -1 } = o {
            let e = out.entry(*partition).or_insert(0);
            *e = (*e).max(offset + 1);
        }
    }
    out
}

/// The cluster config of a run: the defaults, and for data runs the scenario's
/// `replica.lag.time.max.ms`.
fn cluster_config(spec: &ClusterSpec, voters: Vec<NodeId>) -> ClusterConfig {
    let mut c = ClusterConfig::new(voters);
    if spec.workload == ClusterWorkload::Data {
        c.replica_lag_time_max_ms = spec.data.replica_lag_time_max_ms;
    }
    c
}

/// Every replica's segment files of the data topic as the processes see them,
/// with the final high watermarks and ISRs, for `replica_agreement`.
fn replica_logs(cluster: &Cluster, ends: std::collections::BTreeMap<i32, (i64, usize)>) -> replica_agreement::ReplicaLogs {
    let states = partition_states(&cluster.log.snapshot());
    let mut logs = replica_agreement::ReplicaLogs { ends, ..Default::default() };
    for p in 0..cluster.data_partitions {
        if let Some(s) = states.get(&(data::TOPIC.to_string(), p)) {
            logs.isr.insert(p, s.isr.clone());
        }
        let dir = format!("{}-{p}/", data::TOPIC);
        for (n, disk) in cluster.disks.iter().enumerate() {
            let disk = disk.lock().expect("disk lock");
            let files: Vec<Vec<u8>> = disk
                .files()
                .into_iter()
                .filter(|(name, _)| name.starts_with(&dir) && name.ends_with(".log"))
                .filter_map(|(name, _)| disk.contents(&name).map(<[u8]>::to_vec))
                .collect();
            if !files.is_empty() {
                logs.segments.insert((p, n), files);
            }
        }
    }
    logs
}
