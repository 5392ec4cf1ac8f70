//! The controller's pure decisions: what the Raft leader proposes, computed from the
//! applied [`MetadataState`]. Nothing here changes state; the commands it returns go
//! through Raft and are validated again on apply (the partition epoch compare-and-set
//! catches any decision made on a state that moved on in between).
//!
//! All functions are deterministic: brokers in id order, topics in name order,
//! partitions in index order.

use std::collections::BTreeMap;

use super::metadata::{Command, MetadataState, Partition, Topic};
use crate::types::NodeId;

/// Why replicas could not be placed (Kafka's INVALID_REPLICATION_FACTOR /
/// INVALID_PARTITIONS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlacementError {
    /// Kafka error code 38: the factor is below 1 or above the live brokers.
    InvalidReplicationFactor { requested: i16, live_brokers: usize },
    /// Kafka error code 37: fewer than one partition, or too many.
    InvalidPartitions { requested: i32 },
}

/// Chooses replicas for a new topic of `partitions` partitions across the live brokers.
///
/// Each partition's preferred leader (its first replica) is the live broker that leads
/// the fewest partitions so far — counting existing topics' preferred leaders and the
/// partitions placed earlier in this call — ties going to the lowest id. Its followers
/// are the next live brokers in id order, wrapping around. So leaders spread evenly, within
/// a topic and across topics.
pub fn place_replicas(state: &MetadataState, partitions: i32, replication_factor: i16) -> Result<Vec<Vec<NodeId>>, PlacementError> {
    let live = state.live_brokers();
    if replication_factor < 1 || replication_factor as usize > live.len() {
        return Err(PlacementError::InvalidReplicationFactor { requested: replication_factor, live_brokers: live.len() });
    }
    if partitions < 1 || partitions as usize > super::metadata::PARTITIONS_PER_TOPIC_MAX {
        return Err(PlacementError::InvalidPartitions { requested: partitions });
    }
    let mut led: BTreeMap<NodeId, usize> = live.iter().map(|b| (*b, 0)).collect();
    for p in state.topics().flat_map(|t| &t.partitions) {
        if let Some(count) = p.replicas.first().and_then(|b| led.get_mut(b)) {
            *count += 1;
        }
    }
    let rf = replication_factor as usize;
    let mut placed = Vec::with_capacity(partitions as usize);
    for _ in 0..partitions {
        let (start, _) = live.iter().enumerate().min_by_key(|(i, b)| (led[*b], *i)).expect("at least one live broker");
        let replicas: Vec<NodeId> = (0..rf).map(|k| live[(start + k) % live.len()]).collect();
        *led.get_mut(&replicas[0]).expect("live") += 1;
        placed.push(replicas);
    }
    Ok(placed)
}

/// The commands that follow fencing `fenced` (whether or not its `FenceBroker` has been
/// applied yet: it is treated as dead either way), in order:
///
/// - each partition it leads gets a new leader: the first live ISR member in replica
///   order; if none, and the topic enables unclean leader election, the first live
///   replica (the ISR then becomes just that replica); otherwise no leader (the partition
///   goes offline and the ISR keeps the fenced broker, Kafka's "last known ISR");
/// - it leaves every ISR where that is allowed: the ISR keeps at least one member and the
///   leader stays in it.
///
/// `ChangeIsr` carries the partition epoch the preceding commands in this list lead to,
/// so the sequence applies cleanly if nothing interleaves, and is rejected (and
/// recomputed) otherwise.
pub fn on_broker_fenced(state: &MetadataState, fenced: NodeId) -> Vec<Command> {
    let mut out = Vec::new();
    let live = |b: NodeId| b != fenced && state.is_live(b);
    for topic in state.topics() {
        for (index, p) in topic.partitions.iter().enumerate() {
            let partition = index as i32;
            let mut p = p.clone();
            if p.leader == Some(fenced) {
                let leader = elect(topic, &p, live);
                out.push(Command::SetLeader { topic: topic.name.clone(), partition, leader });
                simulate_set_leader(&mut p, leader);
            }
            if p.isr.contains(&fenced) && p.isr.len() > 1 && p.leader != Some(fenced) {
                let isr: Vec<NodeId> = p.isr.iter().copied().filter(|b| *b != fenced).collect();
                out.push(Command::ChangeIsr { topic: topic.name.clone(), partition, isr, expected_partition_epoch: p.partition_epoch });
            }
        }
    }
    out
}

/// `SetLeader` for every partition without a live leader that can get one (after a
/// broker is unfenced, or to retry a rejected election), by the same rule as
/// [`on_broker_fenced`].
pub fn elect_offline_leaders(state: &MetadataState) -> Vec<Command> {
    let live = |b: NodeId| state.is_live(b);
    let mut out = Vec::new();
    for topic in state.topics() {
        for (index, p) in topic.partitions.iter().enumerate() {
            if p.leader.is_some_and(live) {
                continue;
            }
            if let Some(leader) = elect(topic, p, live) {
                out.push(Command::SetLeader { topic: topic.name.clone(), partition: index as i32, leader: Some(leader) });
            }
        }
    }
    out
}

/// The leader rule: a live ISR member (replica order), else — only with unclean leader
/// election enabled — a live replica, else none.
fn elect(topic: &Topic, p: &Partition, live: impl Fn(NodeId) -> bool) -> Option<NodeId> {
    let in_order = |pred: &dyn Fn(NodeId) -> bool| p.replicas.iter().copied().find(|b| pred(*b));
    in_order(&|b| p.isr.contains(&b) && live(b)).or_else(|| if topic.unclean_leader_election() { in_order(&|b| live(b)) } else { None })
}

/// Mirrors `SetLeader`'s effect on a copy, so later commands carry the right epoch.
fn simulate_set_leader(p: &mut Partition, leader: Option<NodeId>) {
    if let Some(l) = leader {
        if !p.isr.contains(&l) {
            p.isr = vec![l];
        }
    }
    p.leader = leader;
    p.leader_epoch.0 += 1;
    p.partition_epoch.0 += 1;
}
