//! The topics workload of a cluster run: clients that create topics (some RF 1,
//! some RF 3, 1-3 partitions) on random brokers over the Kafka protocol and ask
//! random brokers for Metadata, until the runner stops them.
//!
//! Once the core forwards CreateTopics to the controller, the topics show up in
//! every node's `Partition` events, which `check::partition_leaders` and
//! `check::cluster_liveness` judge. The clients only count what they were told
//! ([`ClusterClientStats`]); answers are not judged here, since a broker may
//! rightly refuse (not the controller, no quorum, timed out).
//!
//! Each client draws its brokers and topic shapes from its own generator seeded
//! from the run's seed, so the workload is a function of the seed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronik_core::protocol::error_code;
use chronik_core::protocol::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
use chronik_core::protocol::messages::metadata::MetadataRequest;
use chronik_core::protocol::messages::{Request, Response};
use madsim::time::{sleep, Instant};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::client::Client;
use crate::workload::{CONNECT_TIMEOUT, CREATE_TOPICS_VERSION, REQUEST_TIMEOUT};

pub const METADATA_VERSION: i16 = 12;
/// Topics one client creates at most.
const TOPICS_PER_CLIENT_MAX: usize = 12;
/// Pause between two steps of a client.
const STEP_INTERVAL: Duration = Duration::from_millis(300);
/// The `timeout_ms` of CreateTopics.
const CREATE_TIMEOUT_MS: i32 = 5_000;

/// What the clients were told, by request kind and error code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterClientStats {
    /// "create <error code>", "metadata ok", "metadata <n> topics", "connect failed", "call failed", ...
    pub counts: BTreeMap<String, u64>,
    /// Topics some CreateTopics answered NONE (or TOPIC_ALREADY_EXISTS) for.
    pub created: std::collections::BTreeSet<String>,
}

pub type SharedStats = Arc<Mutex<ClusterClientStats>>;

fn count(stats: &SharedStats, what: impl Into<String>) {
    *stats.lock().expect("stats lock").counts.entry(what.into()).or_default() += 1;
}

/// One client: `id` among the clients, brokers at `addrs`.
pub async fn run_client(id: usize, seed: u64, addrs: Vec<SocketAddr>, stats: SharedStats, stop: Arc<AtomicBool>, deadline: Instant) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x636c_6965_6e74_0000 ^ id as u64);
    let mut topics = 0usize;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        sleep(STEP_INTERVAL + Duration::from_millis(rng.gen_range(0..200))).await;
        let addr = addrs[rng.gen_range(0..addrs.len())];
        let mut client = match Client::connect(addr, CONNECT_TIMEOUT).await {
            Ok(c) => c,
            Err(_) => {
                count(&stats, "connect failed");
                continue;
            }
        };
        if topics < TOPICS_PER_CLIENT_MAX && rng.gen_bool(0.5) {
            let name = format!("c{id}-t{topics}");
            topics += 1;
            let partitions = rng.gen_range(1..=3);
            let rf: i16 = if rng.gen_bool(0.5) { 1 } else { addrs.len().min(3) as i16 };
            create(&mut client, &name, partitions, rf, &stats).await;
        } else {
            metadata(&mut client, &stats).await;
        }
    }
}

async fn create(client: &mut Client, name: &str, partitions: i32, rf: i16, stats: &SharedStats) {
    let req = Request::CreateTopics(CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.to_string(),
            num_partitions: partitions,
            replication_factor: rf,
            assignments: vec![],
            configs: vec![],
        }],
        timeout_ms: CREATE_TIMEOUT_MS,
        validate_only: false,
    });
    match client.call(CREATE_TOPICS_VERSION, req, REQUEST_TIMEOUT).await {
        Ok(Response::CreateTopics(resp)) => {
            for t in &resp.topics {
                count(stats, format!("create rf={rf} error {}", t.error_code));
                if t.error_code == error_code::NONE || t.error_code == error_code::TOPIC_ALREADY_EXISTS {
                    stats.lock().expect("stats lock").created.insert(t.name.clone());
                }
            }
        }
        Ok(_) => count(stats, "create: unexpected answer"),
        Err(_) => count(stats, "create: call failed"),
    }
}

async fn metadata(client: &mut Client, stats: &SharedStats) {
    let req = Request::Metadata(MetadataRequest { topics: None, allow_auto_topic_creation: false, ..Default::default() });
    match client.call(METADATA_VERSION, req, REQUEST_TIMEOUT).await {
        Ok(Response::Metadata(resp)) => {
            count(stats, format!("metadata: {} broker(s)", resp.brokers.len()));
            let leaderless = resp.topics.iter().flat_map(|t| t.partitions.iter()).filter(|p| p.leader_id < 0).count();
            if leaderless > 0 {
                count(stats, "metadata: some partition without leader");
            }
        }
        Ok(_) => count(stats, "metadata: unexpected answer"),
        Err(_) => count(stats, "metadata: call failed"),
    }
}
