//! The peer network between cluster nodes: the simulator's own, not madsim's
//! TCP, so that every message can be lost, duplicated, delayed, reordered or
//! cut one way, decided by a generator seeded from the run's seed.
//!
//! A node attaches when it starts (each start is a new incarnation with a new
//! inbox; a killed node's inbox is gone, so messages to it are lost, as they
//! would be on a real network). [`PeerNet::send`] decides a message's fate at
//! once (cut, lost, one or two copies, each with its own delay) and hands each
//! copy to a delivery task on the network's own madsim node, so messages in
//! flight outlive a crash of their sender. A cut that starts while a message is
//! in flight drops it on arrival.
//!
//! Delay of a copy: `latency_ms + U[0, jitter_ms]`, plus, with probability
//! `reorder`, `U[0, 10 * latency_ms + 50]` more, which lets later messages
//! overtake it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chronik_core::types::NodeId;
use madsim::runtime::NodeHandle;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;

use crate::trace::Trace;

/// One peer message as a node receives it.
pub type PeerMessage = (NodeId, Bytes);

/// How the links behave when nothing is cut.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Probability that a copy is held back (see the module docs).
    pub reorder: f64,
}

impl LinkConfig {
    /// Healed: latency and jitter stay, nothing is lost, doubled or held back.
    pub fn healed(&self) -> LinkConfig {
        LinkConfig { loss: 0.0, duplicate: 0.0, reorder: 0.0, ..self.clone() }
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { latency_ms: 2, jitter_ms: 3, loss: 0.0, duplicate: 0.0, reorder: 0.0 }
    }
}

/// A cut in the network. Nodes are indexes (`NodeId(i)` is node `i`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// Symmetric partition: nodes in different groups cannot reach each other.
    /// A node in no group can reach nobody.
    Groups(Vec<Vec<usize>>),
    /// One-way: messages from any of `from` to any of `to` are dropped; the
    /// other direction works.
    OneWay { from: Vec<usize>, to: Vec<usize> },
}

impl Cut {
    /// Whether this cut drops a message from `from` to `to`.
    pub fn blocks(&self, from: usize, to: usize) -> bool {
        match self {
            Cut::Groups(groups) => {
                let side = |n: usize| groups.iter().position(|g| g.contains(&n));
                match (side(from), side(to)) {
                    (Some(a), Some(b)) => a != b,
                    _ => from != to,
                }
            }
            Cut::OneWay { from: f, to: t } => f.contains(&from) && t.contains(&to),
        }
    }
}

/// What happened to the messages sent, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetStats {
    pub sent: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub lost: u64,
    /// Dropped by a cut, at sending or on arrival.
    pub cut: u64,
    /// The receiver was down (or restarted since the message was sent).
    pub receiver_down: u64,
}

struct NetState {
    rng: ChaCha8Rng,
    links: LinkConfig,
    /// The inbox of each node's current incarnation (`None` while down).
    inboxes: Vec<Option<mpsc::UnboundedSender<PeerMessage>>>,
    incarnations: Vec<u32>,
    /// Starts so far per node (the next incarnation number).
    starts: Vec<u32>,
    cuts: BTreeMap<u64, Cut>,
    next_cut: u64,
    stats: NetStats,
}

impl NetState {
    fn blocked(&self, from: usize, to: usize) -> bool {
        self.cuts.values().any(|c| c.blocks(from, to))
    }
}

/// The peer network of one run (cheap to clone).
#[derive(Clone)]
pub struct PeerNet {
    inner: Arc<Mutex<NetState>>,
    /// Where delivery tasks run: a madsim node of its own that is never killed.
    deliverer: NodeHandle,
    trace: Trace,
}

impl PeerNet {
    pub fn new(seed: u64, nodes: usize, links: LinkConfig, deliverer: NodeHandle, trace: Trace) -> PeerNet {
        let state = NetState {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7065_6572_6e65_7421),
            links,
            inboxes: vec![None; nodes],
            incarnations: vec![0; nodes],
            starts: vec![0; nodes],
            cuts: BTreeMap::new(),
            next_cut: 1,
            stats: NetStats::default(),
        };
        PeerNet { inner: Arc::new(Mutex::new(state)), deliverer, trace }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.inner.lock().expect("peer net lock")
    }

    /// A node (re)started: its new inbox and incarnation number (0 at first start).
    pub fn attach(&self, node: usize) -> (u32, mpsc::UnboundedReceiver<PeerMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut s = self.state();
        let incarnation = s.starts[node];
        s.starts[node] += 1;
        s.incarnations[node] = incarnation;
        s.inboxes[node] = Some(tx);
        (incarnation, rx)
    }

    /// The incarnation of the node's latest start (`None`: never started).
    pub fn incarnation(&self, node: usize) -> Option<u32> {
        let s = self.state();
        (s.starts[node] > 0).then(|| s.starts[node] - 1)
    }

    /// The node was killed: nothing reaches it until it attaches again.
    pub fn detach(&self, node: usize) {
        self.state().inboxes[node] = None;
    }

    /// Send one message from `from` to `to` (fire and forget).
    pub fn send(&self, from: usize, to: NodeId, data: Bytes) {
        let mut s = self.state();
        s.stats.sent += 1;
        let Some(to) = usize::try_from(to.0).ok().filter(|t| *t < s.inboxes.len()) else {
            s.stats.lost += 1;
            return;
        };
        if s.blocked(from, to) {
            s.stats.cut += 1;
            return;
        }
        let links = s.links.clone();
        if links.loss > 0.0 && s.rng.gen_bool(links.loss.min(1.0)) {
            s.stats.lost += 1;
            return;
        }
        let copies = if links.duplicate > 0.0 && s.rng.gen_bool(links.duplicate.min(1.0)) {
            s.stats.duplicated += 1;
            2
        } else {
            1
        };
        let incarnation = s.incarnations[to];
        for _ in 0..copies {
            let mut delay = links.latency_ms + s.rng.gen_range(0..=links.jitter_ms);
            if links.reorder > 0.0 && s.rng.gen_bool(links.reorder.min(1.0)) {
                delay += s.rng.gen_range(0..=links.latency_ms * 10 + 50);
            }
            let (net, data) = (self.clone(), data.clone());
            self.deliverer.spawn(async move {
                madsim::time::sleep(Duration::from_millis(delay)).await;
                net.deliver(from, to, incarnation, data);
            });
        }
    }

    /// A copy arrives: dropped if a cut is up now or the receiver restarted or is down.
    fn deliver(&self, from: usize, to: usize, incarnation: u32, data: Bytes) {
        let mut s = self.state();
        if s.blocked(from, to) {
            s.stats.cut += 1;
            return;
        }
        let current = s.incarnations[to] == incarnation;
        let sent = match (&s.inboxes[to], current) {
            (Some(tx), true) => tx.send((NodeId(from as i32), data)).is_ok(),
            _ => false,
        };
        if sent {
            s.stats.delivered += 1;
        } else {
            s.stats.receiver_down += 1;
        }
    }

    /// Put up a cut; returns its id for [`PeerNet::heal`].
    pub fn cut(&self, cut: Cut) -> u64 {
        let mut s = self.state();
        let id = s.next_cut;
        s.next_cut += 1;
        self.trace.record(format_args!("{:>9}ms net cut {id}: {cut:?}", crate::node::sim_elapsed_millis()));
        s.cuts.insert(id, cut);
        id
    }

    /// Take down the cut `id` (no-op if already healed).
    pub fn heal(&self, id: u64) {
        if self.state().cuts.remove(&id).is_some() {
            self.trace.record(format_args!("{:>9}ms net healed cut {id}", crate::node::sim_elapsed_millis()));
        }
    }

    /// Take down every cut and set the links to `links`.
    pub fn heal_all(&self, links: LinkConfig) {
        let mut s = self.state();
        s.cuts.clear();
        s.links = links;
        self.trace.record(format_args!("{:>9}ms net healed everything", crate::node::sim_elapsed_millis()));
    }

    pub fn set_links(&self, links: LinkConfig) {
        self.state().links = links;
    }

    pub fn links(&self) -> LinkConfig {
        self.state().links.clone()
    }

    pub fn stats(&self) -> NetStats {
        self.state().stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves: a symmetric cut separates groups both ways and leaves each group whole; a node in no group is alone.
    #[test]
    fn groups_cut_both_ways() {
        let c = Cut::Groups(vec![vec![0], vec![1, 2]]);
        assert!(c.blocks(0, 1) && c.blocks(1, 0) && c.blocks(2, 0));
        assert!(!c.blocks(1, 2) && !c.blocks(2, 1));
        let alone = Cut::Groups(vec![vec![1, 2]]);
        assert!(alone.blocks(0, 1) && alone.blocks(2, 0) && !alone.blocks(1, 2));
    }

    // Proves: a one-way cut drops one direction only.
    #[test]
    fn one_way_cut() {
        let c = Cut::OneWay { from: vec![0], to: vec![1, 2] };
        assert!(c.blocks(0, 1) && c.blocks(0, 2));
        assert!(!c.blocks(1, 0) && !c.blocks(2, 0) && !c.blocks(1, 2));
    }
}
