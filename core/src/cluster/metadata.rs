//! The cluster metadata state machine: brokers, topics, partition assignments, leaders,
//! leader epochs and in-sync replica sets.
//!
//! Every node of the metadata quorum applies the same committed [`Command`]s in the same
//! order to a [`MetadataState`]. [`MetadataState::apply`] validates each command against
//! the current state; an invalid command is rejected with a [`Rejection`] and leaves the
//! state untouched. Validation reads only the state and the command, so every node
//! rejects the same commands for the same reasons.
//!
//! Invariants held after every apply (asserted in debug builds by
//! [`MetadataState::check_invariants`], and by the tests):
//! - a partition's leader, when it has one, is in its ISR;
//! - the ISR is a non-empty subset of the replicas, without duplicates;
//! - leader epochs and partition epochs only grow.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::types::{LeaderEpoch, NodeId, Offset, TopicId};

/// Longest topic name Kafka accepts.
pub const TOPIC_NAME_BYTES_MAX: usize = 249;
/// Most partitions one topic may have.
pub const PARTITIONS_PER_TOPIC_MAX: usize = 10_000;
/// Most replicas one partition may have.
pub const REPLICAS_MAX: usize = 16;
/// Most configuration entries one topic may carry.
pub const TOPIC_CONFIGS_MAX: usize = 256;
/// Longest host name in a broker registration.
pub const HOST_BYTES_MAX: usize = 255;
/// Most registered brokers.
pub const BROKERS_MAX: usize = 1_024;
/// Most topics.
pub const TOPICS_MAX: usize = 100_000;
/// Most producer ids granted at once.
pub const PRODUCER_ID_BLOCK_MAX: i64 = 1_000_000;

/// The topic config that allows electing a leader from outside the ISR.
pub const UNCLEAN_LEADER_ELECTION_ENABLE: &str = "unclean.leader.election.enable";
/// The topic config naming how many in-sync replicas `acks=all` needs.
pub const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";

/// First byte of a snapshot: the snapshot format version.
const SNAPSHOT_VERSION: u8 = 1;

// Serde for the shared newtypes, kept here so `types.rs` stays dependency-free. The
// orphan rule allows it: the types are this crate's own.
impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i32::deserialize(d).map(NodeId)
    }
}
impl Serialize for LeaderEpoch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
impl<'de> Deserialize<'de> for LeaderEpoch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i32::deserialize(d).map(LeaderEpoch)
    }
}
impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i64::deserialize(d).map(Offset)
    }
}
impl Serialize for TopicId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
impl<'de> Deserialize<'de> for TopicId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <[u8; 16]>::deserialize(d).map(TopicId)
    }
}

/// A partition's epoch: bumped by every change to its leader, replicas or ISR. The
/// compare-and-set token of [`Command::ChangeIsr`] (Kafka's AlterPartition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct PartitionEpoch(pub i32);

/// A broker's listener address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address {
    pub host: String,
    pub port: u16,
}

/// A metadata command: one Raft log entry, serialized with postcard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Registers a broker, or re-registers it after a restart with a higher
    /// incarnation. A (re-)registered broker starts fenced.
    RegisterBroker { id: NodeId, address: Address, incarnation: u64 },
    /// Fences a registered, unfenced broker: it stops counting as live.
    FenceBroker { id: NodeId },
    /// Unfences a registered, fenced broker.
    UnfenceBroker { id: NodeId },
    /// Removes a fenced broker that leads no partition.
    RemoveBroker { id: NodeId },
    /// Creates a topic; `partitions[p]` lists partition p's replicas, preferred leader
    /// first. The leader is the first live replica; the ISR is the live replicas.
    CreateTopic {
        name: String,
        topic_id: TopicId,
        partitions: Vec<Vec<NodeId>>,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    },
    /// Deletes a topic.
    DeleteTopic { name: String },
    /// Replaces a partition's replicas. The ISR keeps only members that stay replicas
    /// (at least one must); a leader that is no longer a replica is dropped.
    AssignReplicas { topic: String, partition: i32, replicas: Vec<NodeId> },
    /// Sets (or clears) a partition's leader; bumps its leader epoch and partition
    /// epoch. The new leader must be a live replica in the ISR, unless the topic
    /// enables unclean leader election, in which case the ISR becomes just the leader.
    SetLeader { topic: String, partition: i32, leader: Option<NodeId> },
    /// Replaces a partition's ISR if its partition epoch is still
    /// `expected_partition_epoch`; bumps the partition epoch.
    ChangeIsr { topic: String, partition: i32, isr: Vec<NodeId>, expected_partition_epoch: PartitionEpoch },
    /// Grants `broker` the producer ids `[start, start + size)` (Kafka's
    /// AllocateProducerIds): `start` must be the next unallocated id, so two grants
    /// never overlap and ids are unique across the cluster and its restarts.
    AllocateProducerIds { broker: NodeId, start: i64, size: i64 },
}

impl Command {
    /// Serializes with postcard.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard serialization into a Vec cannot fail")
    }

    /// Deserializes from postcard; errors on malformed or trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Command, Rejection> {
        match postcard::take_from_bytes::<Command>(bytes) {
            Ok((cmd, [])) => Ok(cmd),
            Ok(_) => Err(Rejection::Malformed("trailing bytes after command".into())),
            Err(e) => Err(Rejection::Malformed(e.to_string())),
        }
    }
}

/// Why a command was rejected. Deterministic: a function of state and command only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed(String),
    InvalidBrokerId(NodeId),
    InvalidAddress(String),
    AddressInUse(NodeId),
    StaleIncarnation { current: u64, proposed: u64 },
    UnknownBroker(NodeId),
    AlreadyFenced(NodeId),
    NotFenced(NodeId),
    BrokerLeadsPartitions(NodeId),
    InvalidTopicName(String),
    TopicExists(String),
    TopicIdInUse,
    UnknownTopic(String),
    UnknownPartition { topic: String, partition: i32 },
    InvalidPartitions(String),
    InvalidReplicationFactor(String),
    InvalidReplicas(String),
    InvalidConfig(String),
    NoLiveReplica,
    IneligibleLeader(NodeId),
    StalePartitionEpoch { current: PartitionEpoch, expected: PartitionEpoch },
    StaleProducerIdBlock { next: i64, proposed: i64 },
    InvalidProducerIdBlock(i64),
    InvalidIsr(String),
    LimitReached(&'static str),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A registered broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broker {
    pub id: NodeId,
    pub address: Address,
    pub incarnation: u64,
    pub fenced: bool,
}

/// One partition's replication state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// Preferred leader first.
    pub replicas: Vec<NodeId>,
    /// In replica order; never empty.
    pub isr: Vec<NodeId>,
    pub leader: Option<NodeId>,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
}

/// One topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub name: String,
    pub id: TopicId,
    pub replication_factor: i16,
    pub configs: BTreeMap<String, String>,
    pub partitions: Vec<Partition>,
}

impl Topic {
    /// Whether `unclean.leader.election.enable` is `true` (Kafka's default is false).
    pub fn unclean_leader_election(&self) -> bool {
        self.configs.get(UNCLEAN_LEADER_ELECTION_ENABLE).is_some_and(|v| v == "true")
    }

    /// `min.insync.replicas` (Kafka's default 1; never below 1).
    pub fn min_insync_replicas(&self) -> usize {
        self.configs.get(MIN_INSYNC_REPLICAS).and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1)
    }
}

/// What one applied command changed, read from the state right after it (so a batch
/// of entries applied together still reports each entry's own effect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A broker's registration (`None`: removed).
    Broker {
        id: NodeId,
        broker: Option<Broker>,
    },
    /// A partition's replicas, ISR, leader or epochs.
    Partition {
        topic: String,
        partition: i32,
        state: Partition,
    },
    TopicCreated {
        name: String,
        id: TopicId,
    },
    TopicDeleted {
        name: String,
    },
}

/// The whole cluster metadata. Only [`MetadataState::apply`] and
/// [`MetadataState::from_snapshot`] change it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataState {
    brokers: BTreeMap<NodeId, Broker>,
    topics: BTreeMap<String, Topic>,
    /// The first producer id not yet granted to any broker.
    next_producer_id: i64,
}

impl MetadataState {
    pub fn new() -> MetadataState {
        MetadataState::default()
    }

    // ---- queries ----

    pub fn broker(&self, id: NodeId) -> Option<&Broker> {
        self.brokers.get(&id)
    }

    /// The first producer id not yet granted.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    /// Registered brokers in id order.
    pub fn brokers(&self) -> impl Iterator<Item = &Broker> {
        self.brokers.values()
    }

    /// Registered, unfenced brokers in id order.
    pub fn live_brokers(&self) -> Vec<NodeId> {
        self.brokers.values().filter(|b| !b.fenced).map(|b| b.id).collect()
    }

    pub fn is_live(&self, id: NodeId) -> bool {
        self.brokers.get(&id).is_some_and(|b| !b.fenced)
    }

    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.get(name)
    }

    /// Topics in name order.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.values()
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(index)
    }

    pub fn replicas(&self, topic: &str, partition: i32) -> Option<&[NodeId]> {
        self.partition(topic, partition).map(|p| p.replicas.as_slice())
    }

    pub fn isr(&self, topic: &str, partition: i32) -> Option<&[NodeId]> {
        self.partition(topic, partition).map(|p| p.isr.as_slice())
    }

    /// The leader (if any) and the leader epoch.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<(Option<NodeId>, LeaderEpoch)> {
        self.partition(topic, partition).map(|p| (p.leader, p.leader_epoch))
    }

    pub fn partition_epoch(&self, topic: &str, partition: i32) -> Option<PartitionEpoch> {
        self.partition(topic, partition).map(|p| p.partition_epoch)
    }

    // ---- snapshots ----

    /// The whole state, postcard-encoded behind a version byte.
    pub fn to_snapshot(&self) -> Vec<u8> {
        let mut out = vec![SNAPSHOT_VERSION];
        let body = postcard::to_allocvec(self).expect("postcard into a Vec cannot fail");
        out.extend_from_slice(&body);
        out
    }

    /// Restores a state written by [`MetadataState::to_snapshot`]. The restored state is
    /// checked against the invariants; a snapshot that breaks them is an error.
    pub fn from_snapshot(bytes: &[u8]) -> Result<MetadataState, Rejection> {
        let (&version, body) = bytes.split_first().ok_or_else(|| Rejection::Malformed("empty snapshot".into()))?;
        if version != SNAPSHOT_VERSION {
            return Err(Rejection::Malformed(format!("snapshot version {version}")));
        }
        let state: MetadataState = match postcard::take_from_bytes(body) {
            Ok((s, [])) => s,
            Ok(_) => return Err(Rejection::Malformed("trailing bytes after snapshot".into())),
            Err(e) => return Err(Rejection::Malformed(e.to_string())),
        };
        state.invariant_violation().map_or(Ok(state), |v| Err(Rejection::Malformed(format!("snapshot breaks invariant: {v}"))))
    }

    // ---- invariants ----

    /// Describes the first broken invariant, if any.
    pub fn invariant_violation(&self) -> Option<String> {
        for (id, b) in &self.brokers {
            if *id != b.id {
                return Some(format!("broker keyed {id:?} has id {:?}", b.id));
            }
        }
        for (name, t) in &self.topics {
            if *name != t.name {
                return Some(format!("topic keyed {name} is named {}", t.name));
            }
            for (i, p) in t.partitions.iter().enumerate() {
                if p.isr.is_empty() {
                    return Some(format!("{name}-{i}: empty ISR"));
                }
                if has_duplicates(&p.replicas) || has_duplicates(&p.isr) {
                    return Some(format!("{name}-{i}: duplicate replicas or ISR members"));
                }
                if !p.isr.iter().all(|r| p.replicas.contains(r)) {
                    return Some(format!("{name}-{i}: ISR {:?} not within replicas {:?}", p.isr, p.replicas));
                }
                if let Some(l) = p.leader {
                    if !p.isr.contains(&l) {
                        return Some(format!("{name}-{i}: leader {l:?} not in ISR {:?}", p.isr));
                    }
                }
            }
        }
        None
    }

    /// Panics if an invariant is broken (a bug, never an input).
    pub fn check_invariants(&self) {
        if let Some(v) = self.invariant_violation() {
            panic!("metadata invariant broken: {v}");
        }
    }

    // ---- apply ----

    /// Validates and applies one command. On `Err` the state is unchanged.
    pub fn apply(&mut self, cmd: &Command) -> Result<(), Rejection> {
        let result = match cmd {
            Command::RegisterBroker { id, address, incarnation } => self.register_broker(*id, address, *incarnation),
            Command::FenceBroker { id } => self.fence_broker(*id),
            Command::UnfenceBroker { id } => self.unfence_broker(*id),
            Command::RemoveBroker { id } => self.remove_broker(*id),
            Command::CreateTopic { name, topic_id, partitions, replication_factor, configs } => {
                self.create_topic(name, *topic_id, partitions, *replication_factor, configs)
            }
            Command::DeleteTopic { name } => self.delete_topic(name),
            Command::AssignReplicas { topic, partition, replicas } => self.assign_replicas(topic, *partition, replicas),
            Command::SetLeader { topic, partition, leader } => self.set_leader(topic, *partition, *leader),
            Command::ChangeIsr { topic, partition, isr, expected_partition_epoch } => {
                self.change_isr(topic, *partition, isr, *expected_partition_epoch)
            }
            Command::AllocateProducerIds { broker, start, size } => self.allocate_producer_ids(*broker, *start, *size),
        };
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
        result
    }

    /// The effect of `cmd`, which was just applied to this state.
    pub fn changes(&self, cmd: &Command) -> Vec<Change> {
        let partition = |topic: &str, partition: i32| {
            self.partition(topic, partition).map(|p| Change::Partition { topic: topic.to_string(), partition, state: p.clone() })
        };
        match cmd {
            Command::RegisterBroker { id, .. }
            | Command::FenceBroker { id }
            | Command::UnfenceBroker { id }
            | Command::RemoveBroker { id } => vec![Change::Broker { id: *id, broker: self.broker(*id).cloned() }],
            Command::CreateTopic { name, .. } => {
                let Some(t) = self.topic(name) else { return Vec::new() };
                let mut out = vec![Change::TopicCreated { name: name.clone(), id: t.id }];
                out.extend((0..t.partitions.len() as i32).filter_map(|p| partition(name, p)));
                out
            }
            Command::DeleteTopic { name } => vec![Change::TopicDeleted { name: name.clone() }],
            Command::AssignReplicas { topic, partition: p, .. }
            | Command::SetLeader { topic, partition: p, .. }
            | Command::ChangeIsr { topic, partition: p, .. } => partition(topic, *p).into_iter().collect(),
            Command::AllocateProducerIds { .. } => Vec::new(),
        }
    }

    /// Decodes and applies a serialized command (a committed Raft entry).
    pub fn apply_bytes(&mut self, bytes: &[u8]) -> Result<Command, Rejection> {
        let cmd = Command::from_bytes(bytes)?;
        self.apply(&cmd)?;
        Ok(cmd)
    }

    fn allocate_producer_ids(&mut self, broker: NodeId, start: i64, size: i64) -> Result<(), Rejection> {
        self.registered(broker)?;
        if !(1..=PRODUCER_ID_BLOCK_MAX).contains(&size) {
            return Err(Rejection::InvalidProducerIdBlock(size));
        }
        if start != self.next_producer_id {
            return Err(Rejection::StaleProducerIdBlock { next: self.next_producer_id, proposed: start });
        }
        self.next_producer_id = start.checked_add(size).ok_or(Rejection::InvalidProducerIdBlock(size))?;
        Ok(())
    }

    fn registered(&self, id: NodeId) -> Result<&Broker, Rejection> {
        self.brokers.get(&id).ok_or(Rejection::UnknownBroker(id))
    }

    fn register_broker(&mut self, id: NodeId, address: &Address, incarnation: u64) -> Result<(), Rejection> {
        if id.0 < 0 {
            return Err(Rejection::InvalidBrokerId(id));
        }
        if address.host.is_empty() || address.host.len() > HOST_BYTES_MAX || address.port == 0 {
            return Err(Rejection::InvalidAddress(format!("{}:{}", address.host, address.port)));
        }
        if let Some(other) = self.brokers.values().find(|b| b.id != id && b.address == *address) {
            return Err(Rejection::AddressInUse(other.id));
        }
        match self.brokers.get(&id) {
            Some(b) if incarnation <= b.incarnation => {
                return Err(Rejection::StaleIncarnation { current: b.incarnation, proposed: incarnation })
            }
            None if self.brokers.len() >= BROKERS_MAX => return Err(Rejection::LimitReached("brokers")),
            _ => {}
        }
        self.brokers.insert(id, Broker { id, address: address.clone(), incarnation, fenced: true });
        Ok(())
    }

    fn fence_broker(&mut self, id: NodeId) -> Result<(), Rejection> {
        if self.registered(id)?.fenced {
            return Err(Rejection::AlreadyFenced(id));
        }
        self.brokers.get_mut(&id).expect("checked").fenced = true;
        Ok(())
    }

    fn unfence_broker(&mut self, id: NodeId) -> Result<(), Rejection> {
        if !self.registered(id)?.fenced {
            return Err(Rejection::NotFenced(id));
        }
        self.brokers.get_mut(&id).expect("checked").fenced = false;
        Ok(())
    }

    fn remove_broker(&mut self, id: NodeId) -> Result<(), Rejection> {
        if !self.registered(id)?.fenced {
            return Err(Rejection::NotFenced(id));
        }
        let leads = self.topics.values().flat_map(|t| &t.partitions).any(|p| p.leader == Some(id));
        if leads {
            return Err(Rejection::BrokerLeadsPartitions(id));
        }
        self.brokers.remove(&id);
        Ok(())
    }

    fn validate_replicas(&self, replicas: &[NodeId]) -> Result<(), Rejection> {
        if replicas.is_empty() || replicas.len() > REPLICAS_MAX {
            return Err(Rejection::InvalidReplicas(format!("{} replicas (1..={REPLICAS_MAX})", replicas.len())));
        }
        if has_duplicates(replicas) {
            return Err(Rejection::InvalidReplicas(format!("duplicates in {replicas:?}")));
        }
        for r in replicas {
            self.registered(*r)?;
        }
        Ok(())
    }

    fn create_topic(
        &mut self,
        name: &str,
        topic_id: TopicId,
        partitions: &[Vec<NodeId>],
        replication_factor: i16,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), Rejection> {
        validate_topic_name(name)?;
        if self.topics.contains_key(name) {
            return Err(Rejection::TopicExists(name.to_string()));
        }
        if self.topics.len() >= TOPICS_MAX {
            return Err(Rejection::LimitReached("topics"));
        }
        if topic_id == TopicId::ZERO || self.topics.values().any(|t| t.id == topic_id) {
            return Err(Rejection::TopicIdInUse);
        }
        if partitions.is_empty() || partitions.len() > PARTITIONS_PER_TOPIC_MAX {
            return Err(Rejection::InvalidPartitions(format!("{} partitions (1..={PARTITIONS_PER_TOPIC_MAX})", partitions.len())));
        }
        if replication_factor < 1 {
            return Err(Rejection::InvalidReplicationFactor(format!("replication factor {replication_factor}")));
        }
        validate_configs(configs)?;
        let mut created = Vec::with_capacity(partitions.len());
        for replicas in partitions {
            self.validate_replicas(replicas)?;
            if replicas.len() != replication_factor as usize {
                return Err(Rejection::InvalidReplicationFactor(format!(
                    "{} replicas for replication factor {replication_factor}",
                    replicas.len()
                )));
            }
            let isr: Vec<NodeId> = replicas.iter().copied().filter(|r| self.is_live(*r)).collect();
            let Some(&leader) = isr.first() else {
                return Err(Rejection::NoLiveReplica);
            };
            created.push(Partition {
                replicas: replicas.clone(),
                isr,
                leader: Some(leader),
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(0),
            });
        }
        self.topics.insert(
            name.to_string(),
            Topic { name: name.to_string(), id: topic_id, replication_factor, configs: configs.clone(), partitions: created },
        );
        Ok(())
    }

    fn delete_topic(&mut self, name: &str) -> Result<(), Rejection> {
        self.topics.remove(name).map(|_| ()).ok_or_else(|| Rejection::UnknownTopic(name.to_string()))
    }

    fn partition_mut(&mut self, topic: &str, partition: i32) -> Result<&mut Partition, Rejection> {
        let t = self.topics.get_mut(topic).ok_or_else(|| Rejection::UnknownTopic(topic.to_string()))?;
        usize::try_from(partition)
            .ok()
            .and_then(|i| t.partitions.get_mut(i))
            .ok_or_else(|| Rejection::UnknownPartition { topic: topic.to_string(), partition })
    }

    fn assign_replicas(&mut self, topic: &str, partition: i32, replicas: &[NodeId]) -> Result<(), Rejection> {
        self.validate_replicas(replicas)?;
        let p = self.partition_mut(topic, partition)?;
        let isr: Vec<NodeId> = replicas.iter().copied().filter(|r| p.isr.contains(r)).collect();
        if isr.is_empty() {
            return Err(Rejection::InvalidReplicas(format!("{replicas:?} keeps no member of the ISR {:?}", p.isr)));
        }
        if let Some(l) = p.leader {
            if !replicas.contains(&l) {
                p.leader = None;
                p.leader_epoch = next_leader_epoch(p.leader_epoch);
            }
        }
        p.replicas = replicas.to_vec();
        p.isr = isr;
        p.partition_epoch = next_partition_epoch(p.partition_epoch);
        Ok(())
    }

    fn set_leader(&mut self, topic: &str, partition: i32, leader: Option<NodeId>) -> Result<(), Rejection> {
        let unclean = self.topics.get(topic).is_some_and(|t| t.unclean_leader_election());
        let live = leader.is_some_and(|l| self.is_live(l));
        let p = self.partition_mut(topic, partition)?;
        let mut new_isr = None;
        if let Some(l) = leader {
            if !p.replicas.contains(&l) || !live {
                return Err(Rejection::IneligibleLeader(l));
            }
            if !p.isr.contains(&l) {
                if !unclean {
                    return Err(Rejection::IneligibleLeader(l));
                }
                new_isr = Some(vec![l]);
            }
        }
        if let Some(isr) = new_isr {
            p.isr = isr;
        }
        p.leader = leader;
        p.leader_epoch = next_leader_epoch(p.leader_epoch);
        p.partition_epoch = next_partition_epoch(p.partition_epoch);
        Ok(())
    }

    fn change_isr(&mut self, topic: &str, partition: i32, isr: &[NodeId], expected: PartitionEpoch) -> Result<(), Rejection> {
        let live: BTreeSet<NodeId> = self.live_brokers().into_iter().collect();
        let p = self.partition_mut(topic, partition)?;
        if p.partition_epoch != expected {
            return Err(Rejection::StalePartitionEpoch { current: p.partition_epoch, expected });
        }
        if isr.is_empty() || has_duplicates(isr) {
            return Err(Rejection::InvalidIsr(format!("{isr:?}: empty or duplicates")));
        }
        if let Some(r) = isr.iter().find(|r| !p.replicas.contains(r)) {
            return Err(Rejection::InvalidIsr(format!("{r:?} is not a replica")));
        }
        if let Some(l) = p.leader {
            if !isr.contains(&l) {
                return Err(Rejection::InvalidIsr(format!("leader {l:?} must stay in the ISR")));
            }
        }
        if let Some(r) = isr.iter().find(|r| !p.isr.contains(r) && !live.contains(r)) {
            return Err(Rejection::InvalidIsr(format!("{r:?} is fenced and cannot join the ISR")));
        }
        // Normalize to replica order so equal sets compare equal on every node.
        p.isr = p.replicas.iter().copied().filter(|r| isr.contains(r)).collect();
        p.partition_epoch = next_partition_epoch(p.partition_epoch);
        Ok(())
    }
}

fn next_leader_epoch(e: LeaderEpoch) -> LeaderEpoch {
    LeaderEpoch(e.0.checked_add(1).expect("leader epoch overflow"))
}

fn next_partition_epoch(e: PartitionEpoch) -> PartitionEpoch {
    PartitionEpoch(e.0.checked_add(1).expect("partition epoch overflow"))
}

fn has_duplicates(ids: &[NodeId]) -> bool {
    let set: BTreeSet<&NodeId> = ids.iter().collect();
    set.len() != ids.len()
}

/// Kafka's topic name rules: 1..=249 bytes of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), Rejection> {
    let ok = !name.is_empty()
        && name.len() <= TOPIC_NAME_BYTES_MAX
        && name != "."
        && name != ".."
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Rejection::InvalidTopicName(name.to_string()))
    }
}

fn validate_configs(configs: &BTreeMap<String, String>) -> Result<(), Rejection> {
    if configs.len() > TOPIC_CONFIGS_MAX {
        return Err(Rejection::LimitReached("topic configs"));
    }
    if let Some(v) = configs.get(UNCLEAN_LEADER_ELECTION_ENABLE) {
        if v != "true" && v != "false" {
            return Err(Rejection::InvalidConfig(format!("{UNCLEAN_LEADER_ELECTION_ENABLE}={v}")));
        }
    }
    Ok(())
}
