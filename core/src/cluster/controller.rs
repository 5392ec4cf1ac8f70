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

/// Why the controller fences a broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fenced {
    /// No heartbeat for the session timeout.
    Silent,
    /// Heartbeats under a new incarnation: it restarted within the session timeout.
    Restarted,
}

/// The commands that follow fencing `fenced` (whether or not its `FenceBroker` has been
/// applied yet: it is treated as dead either way), in order:
///
/// - each partition it leads gets a new leader: the first live ISR member in replica
///   order; if none, and the topic enables unclean leader election, the first live
///   replica (the ISR then becomes just that replica); otherwise no leader (the partition
///   goes offline and the ISR keeps the fenced broker, Kafka's "last known ISR");
/// - it leaves every ISR where that is allowed: the ISR keeps at least one member and
///   at least `min.insync.replicas`, and the leader stays in it — unless `why` is
///   [`Fenced::Restarted`]: a broker seen back under a new incarnation keeps its ISR
///   places.
///
/// Why a restart keeps the ISR: the broker is alive and is unfenced moments later,
/// its synced records survived the crash, and it missed only what was written while
/// it was briefly down (a longer silence fences it first, as [`Fenced::Silent`]). A
/// replica whose log did not survive says so itself and leaves the ISR
/// ([`leave_isr`]). Shrinking instead can hand the ISR to the one member whose log
/// was lost: several brokers restarting while the controller could not act are
/// fenced one after the other, and the last one left may be that member.
///
/// Why the `min.insync.replicas` floor (KIP-966's eligible leader replicas, in a
/// simpler form): every record acknowledged with `acks=all` is durable on at least
/// `min.insync.replicas` ISR members. Fencing is not evidence that a member lost
/// anything (a crash keeps what it synced), so dropping it below that floor could
/// leave only members that do not hold those records — for instance one whose disk
/// was replaced — as the sole candidates for leader. A fenced member kept this way is
/// not elected while fenced, is not counted towards `min.insync.replicas` by the
/// leader ([`MetadataState::is_live`]), and holds the high watermark back until it
/// returns or the leader drops it for lag: the same as Kafka, where the high
/// watermark does not advance while the ISR is below `min.insync.replicas`.
///
/// `ChangeIsr` carries the partition epoch the preceding commands in this list lead to,
/// so the sequence applies cleanly if nothing interleaves, and is rejected (and
/// recomputed) otherwise.
pub fn on_broker_fenced(state: &MetadataState, fenced: NodeId, why: Fenced) -> Vec<Command> {
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
            let floor = topic.min_insync_replicas().max(1);
            if why == Fenced::Silent && p.isr.contains(&fenced) && p.isr.len() > floor && p.leader != Some(fenced) {
                let isr: Vec<NodeId> = p.isr.iter().copied().filter(|b| *b != fenced).collect();
                out.push(Command::ChangeIsr { topic: topic.name.clone(), partition, isr, expected_partition_epoch: p.partition_epoch });
            }
        }
    }
    out
}

/// The commands that take `replica` out of a partition's ISR because its log lost
/// records it once held (its partition directory was lost or replaced; see
/// `broker::replication`): if it leads, a new leader first — another live ISR member
/// by the usual rule — then the ISR without it. Nothing if it is not in the ISR, is
/// the only member (nobody better holds the records), or leads with no live member to
/// take over (it asks again later).
pub fn leave_isr(state: &MetadataState, topic_name: &str, partition: i32, replica: NodeId) -> Vec<Command> {
    let Some(topic) = state.topic(topic_name) else { return Vec::new() };
    let Some(p) = topic.partitions.get(partition as usize) else { return Vec::new() };
    if !p.isr.contains(&replica) || p.isr.len() < 2 {
        return Vec::new();
    }
    let mut p = p.clone();
    let mut out = Vec::new();
    if p.leader == Some(replica) {
        let others = Partition { isr: p.isr.iter().copied().filter(|b| *b != replica).collect(), ..p.clone() };
        let Some(leader) = elect(topic, &others, |b| state.is_live(b)).filter(|l| others.isr.contains(l)) else {
            return Vec::new();
        };
        out.push(Command::SetLeader { topic: topic.name.clone(), partition, leader: Some(leader) });
        simulate_set_leader(&mut p, Some(leader));
    }
    let isr: Vec<NodeId> = p.isr.iter().copied().filter(|b| *b != replica).collect();
    out.push(Command::ChangeIsr { topic: topic.name.clone(), partition, isr, expected_partition_epoch: p.partition_epoch });
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
