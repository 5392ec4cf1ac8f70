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

use crate::check::{self, cluster_liveness};
use crate::cluster::faults::{ClusterFault, ClusterSchedule};
use crate::cluster::net::{Cut, LinkConfig, NetStats, PeerNet};
use crate::cluster::workload::{self as cluster_workload, ClusterClientStats};
use crate::cluster::{current_leader, ClusterLog, ClusterPort};
use crate::disk::SimDisk;
use crate::faults::FaultSchedule;
use crate::node::{run_node, NodeSpec};
use crate::scenario::{ClusterSpec, ClusterWorkload, Scenario};
use crate::trace::Trace;

use super::SeedReport;

/// Simulated time the cluster has, after healing, to settle.
pub const LIVENESS_MS: u64 = 30_000;
/// How often the liveness phase looks.
const LIVENESS_POLL: Duration = Duration::from_millis(250);
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
}

impl Cluster {
    /// Power loss of node `n` (no-op if it is down already); it restarts after `restart_after_ms`.
    fn crash(&self, n: usize, restart_after_ms: u64) -> Option<madsim::task::JoinHandle<()>> {
        {
            let mut down = self.down.lock().expect("down lock");
            if down[n] {
                return None;
            }
            down[n] = true;
        }
        self.trace.record(format_args!("{:>9}ms crash node {n}", crate::node::sim_elapsed_millis()));
        self.handle.kill(self.nodes[n].id());
        self.net.detach(n);
        self.disks[n].lock().expect("disk lock").crash();
        let (handle, id, down, restarts) = (self.handle.clone(), self.nodes[n].id(), self.down.clone(), self.restarts.clone());
        Some(madsim::task::spawn(async move {
            madsim::time::sleep(Duration::from_millis(restart_after_ms)).await;
            restart_if_down(&handle, id, n, &down, &restarts);
        }))
    }

    fn restart_all(&self) {
        for (n, node) in self.nodes.iter().enumerate() {
            restart_if_down(&self.handle, node.id(), n, &self.down, &self.restarts);
        }
    }

    /// Each node's running incarnation (`None` while down or not yet attached).
    fn running(&self) -> Vec<Option<u32>> {
        let down = self.down.lock().expect("down lock");
        (0..self.nodes.len()).map(|n| if down[n] { None } else { self.net.incarnation(n) }).collect()
    }
}

fn restart_if_down(handle: &Handle, id: madsim::task::NodeId, n: usize, down: &Mutex<Vec<bool>>, restarts: &Mutex<u64>) {
    let mut down = down.lock().expect("down lock");
    if down[n] {
        down[n] = false;
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
    let schedule = ClusterSchedule::generate(seed, &spec, duration_ms);
    trace.record(format!("seed {seed} scenario {} cluster of {n} nodes, workload {:?}", scenario.name, spec.workload));
    let t0 = madsim::time::Instant::now();

    let net_node = handle.create_node().name("peer-net").ip(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 1))).build();
    let net = PeerNet::new(seed, n, links(&spec), net_node, trace.clone());
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
                cluster: Some(ClusterConfig::new(voters.clone())),
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
    let cluster = Cluster {
        handle: handle.clone(),
        nodes,
        disks,
        down: Arc::new(Mutex::new(vec![false; n])),
        net: net.clone(),
        log: log.clone(),
        trace: trace.clone(),
        restarts: Arc::new(Mutex::new(0)),
    };

    // Clients of the topics workload.
    let stop = Arc::new(AtomicBool::new(false));
    let stats = cluster_workload::SharedStats::default();
    let mut clients = Vec::new();
    if spec.workload == ClusterWorkload::Topics {
        let machine = handle.create_node().name("clients").ip(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1))).build();
        let deadline = t0 + Duration::from_millis(duration_ms + LIVENESS_MS);
        for c in 0..spec.clients {
            let addrs: Vec<SocketAddr> = (0..n).map(node_addr).collect();
            clients.push(machine.spawn(cluster_workload::run_client(c, seed, addrs, stats.clone(), stop.clone(), deadline)));
        }
    }

    // Faults.
    let mut pending = Vec::new();
    for (at, fault) in &schedule.events {
        madsim::time::sleep_until(t0 + Duration::from_millis(*at)).await;
        trace.record(format!("t={at} fault {fault:?}"));
        pending.extend(apply(&cluster, &spec, fault));
    }
    madsim::time::sleep_until(t0 + Duration::from_millis(duration_ms)).await;
    for p in pending {
        let _ = p.await;
    }

    // Heal, then liveness.
    net.heal_all(links(&spec).healed());
    cluster.restart_all();
    stop.store(true, Ordering::SeqCst);
    let healed = madsim::time::Instant::now();
    trace.record(format!("healed at {} ms", (healed - t0).as_millis()));
    let mut settled_after_ms = None;
    let mut last = Vec::new();
    while healed.elapsed() < Duration::from_millis(LIVENESS_MS) {
        madsim::time::sleep(LIVENESS_POLL).await;
        last = cluster_liveness::check(&log.snapshot(), &cluster.running());
        if last.is_empty() {
            settled_after_ms = Some(healed.elapsed().as_millis() as u64);
            break;
        }
    }
    trace.record(format!("settled: {settled_after_ms:?}"));
    for c in clients {
        let _ = madsim::time::timeout(Duration::from_secs(10), c).await;
    }

    let events = log.snapshot();
    if std::env::var_os("SIM_CLUSTER_EVENTS").is_some() {
        for e in &events {
            eprintln!("{:>9}ms node {} inc {} {:?}", e.at_ms, e.node, e.incarnation, e.event);
        }
    }
    let mut violations = check::run_cluster_checks(&scenario.checks, &events);
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
    SeedReport {
        seed,
        scenario: scenario.name.clone(),
        schedule: FaultSchedule::default(),
        trace_hash: trace.hash(),
        trace_lines: trace.lines(),
        violations,
        sim_ms,
        wall: Duration::ZERO,
        acked: 0,
        produced: 0,
        group: None,
        idempotent_retries: (0, 0),
        cluster: Some(stats),
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
fn apply(cluster: &Cluster, spec: &ClusterSpec, fault: &ClusterFault) -> Option<madsim::task::JoinHandle<()>> {
    let net = cluster.net.clone();
    let cut_for = |cut: Cut, ms: u64| {
        let id = net.cut(cut);
        let net = net.clone();
        Some(madsim::task::spawn(async move {
            madsim::time::sleep(Duration::from_millis(ms)).await;
            net.heal(id);
        }))
    };
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
            cut_for(Cut::Groups(vec![(0..spec.nodes).filter(|o| *o != l).collect()]), *duration_ms)
        }
        ClusterFault::Partition { groups, duration_ms } => cut_for(Cut::Groups(groups.clone()), *duration_ms),
        ClusterFault::OneWay { from, to, duration_ms } => cut_for(Cut::OneWay { from: from.clone(), to: to.clone() }, *duration_ms),
        ClusterFault::Lossy { loss_per_mille, duplicate_per_mille, reorder_per_mille, duration_ms } => {
            let base = links(spec);
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
    }
}
