//! One simulated broker node. STUB: see the doc comments for the contract.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chronik_core::config::BrokerConfig;

use crate::disk::SimDisk;
use crate::trace::Trace;

#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    /// Where the node listens for Kafka clients (its madsim IP and port).
    pub addr: SocketAddr,
    pub broker: BrokerConfig,
}

/// Run a broker until the node is killed: the same driver contract as
/// `runtime-tokio` (drain every output after inputs, wake at `poll_timeout`),
/// over madsim TCP, the node's `SimDisk` (per-file order, seeded latency) and
/// madsim time. Records a line per notable event into `trace`.
pub async fn run_node(spec: NodeSpec, disk: Arc<Mutex<SimDisk>>, trace: Trace) {
    let _ = (spec, disk, trace);
    todo!()
}
