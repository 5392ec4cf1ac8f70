//! `runtime-tokio`: the production driver for `chronik-core` (DESIGN §2).
//!
//! It owns everything the core may not do: sockets, files, fsync, the wall clock
//! and signals. One task owns the [`chronik_core::Broker`] ([`driver`]); connection
//! tasks ([`net`]) and the disk executor ([`disk`]) feed it inputs over channels
//! and carry out its outputs.
//!
//! Modules: [`cli`] (flags), [`clock`], [`lock`] (data directory lock),
//! [`disk`], [`net`] (client connections), [`peer`] (cluster mode's node-to-node
//! transport), [`driver`].
//!
//! # Cluster mode
//!
//! `--voters ID@HOST:PORT,...` (Kafka's `controller.quorum.voters` format: every
//! node's peer address, this node included) turns a node into one voter of the Raft
//! metadata quorum; without it the server runs standalone. Three nodes on 127.0.0.1:
//!
//! ```text
//! V=1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293
//! chronik-server --node-id 1 --kafka-port 9092 --voters $V --data-dir /tmp/c1 --bind-addr 127.0.0.1 --advertised-addr 127.0.0.1
//! chronik-server --node-id 2 --kafka-port 9192 --voters $V --data-dir /tmp/c2 --bind-addr 127.0.0.1 --advertised-addr 127.0.0.1
//! chronik-server --node-id 3 --kafka-port 9292 --voters $V --data-dir /tmp/c3 --bind-addr 127.0.0.1 --advertised-addr 127.0.0.1
//! ```
//!
//! The peer port is the node's own `--voters` port (`--peer-port` may repeat it);
//! `--broker-session-timeout-ms`, `--broker-heartbeat-interval-ms` and `--raft-tick-ms`
//! tune the core's `ClusterConfig`. The driver carries `Output::PeerSend` over
//! [`peer::PeerTransport`] and hands what arrives to the core as `Input::PeerReceived`.

pub mod cli;
pub mod clock;
pub mod disk;
pub mod driver;
pub mod lock;
pub mod net;
pub mod peer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chronik_core::Broker;

use crate::cli::{Cli, ClusterPlan};
use crate::peer::PeerConfig;
use chronik_core::types::NodeId;

/// Start the broker described by `cli` and serve until shut down. `Err` carries a
/// message for the operator; the process should then exit non-zero.
pub async fn serve(cli: Cli) -> Result<(), String> {
    // A bad cluster command line is refused before anything is created or bound.
    let plan = cli.cluster_plan()?;
    let data_dir = prepare_data_dir(&cli.data_dir)?;
    let _lock = lock::DirLock::acquire(&data_dir)?;
    let signals = driver::Signals::install().map_err(|e| e.to_string())?;
    let bind = resolve_bind(&cli.bind_addr, cli.kafka_port).await?;
    let listener = net::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(listen = %local, "listening for Kafka clients");
    tracing::info!(advertised = %format!("{}:{}", cli.advertised_addr, cli.advertised_port()), "advertised address");
    tracing::info!(data_dir = %data_dir.display(), "data directory");

    let mut clock = clock::Clock::new();
    let now = clock.now();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let peers = match &plan {
        Some(plan) => Some(peer_setup(&cli, plan).await?),
        None => None,
    };
    let config = cli.broker_config(seed, plan.map(|p| p.config));
    tracing::info!(node_id = config.node_id.0, cluster_id = %config.cluster_id, "starting broker; recovering data directory");
    let broker = Broker::new(config, now);

    let (disk_tx, disk_rx) = tokio::sync::mpsc::unbounded_channel();
    let disk = disk::DiskExecutor::new(data_dir, disk_tx);
    let driver = driver::Driver::new(broker, clock, disk, disk_rx, listener, peers);
    driver.run(Duration::from_secs(cli.shutdown_timeout_secs), signals).await.map_err(|e| e.to_string())
}

/// Bind the peer listener and name every other voter's address for the transport.
async fn peer_setup(cli: &Cli, plan: &ClusterPlan) -> Result<(PeerConfig, tokio::net::TcpListener), String> {
    let bind = resolve_bind(&cli.bind_addr, plan.peer_port).await?;
    let listener = peer::bind(bind).map_err(|e| format!("cannot listen for peers on {bind}: {e}"))?;
    let me = NodeId(cli.node_id);
    let voters: Vec<String> = plan.voters.iter().map(|v| format!("{}@{}", v.id.0, v.addr())).collect();
    tracing::info!(listen = %bind, node_id = me.0, voters = %voters.join(","), "cluster mode: listening for peers");
    let peers = plan.voters.iter().filter(|v| v.id != me).map(|v| (v.id, v.addr())).collect();
    Ok((PeerConfig { node_id: me, peers, frame_bytes_max: plan.config.peer_message_bytes_max }, listener))
}

/// Create the data directory if missing; its absolute path.
fn prepare_data_dir(dir: &std::path::Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    std::fs::canonicalize(dir).map_err(|e| format!("cannot resolve data directory {}: {e}", dir.display()))
}

async fn resolve_bind(host: &str, port: u16) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve --bind-addr {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("--bind-addr {host} resolves to no address"))
}
