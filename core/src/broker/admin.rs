//! Topic lifecycle (create, add partitions, delete) and the APIs that drive it:
//! CreateTopics, CreatePartitions, DeleteTopics, and auto-creation.
//!
//! Order on disk, so that a crash at any point leaves a consistent state: create
//! writes the partition logs first and the topic description last (a log
//! directory without a description is removed at start); delete removes the
//! description first, then the logs. A request is answered once its change is
//! durable.

use bytes::Bytes;

use crate::io::{DiskOp, DiskResult};
use crate::log::{IoScope, LogState, PartitionLog};
use crate::protocol::error_code;
use crate::protocol::messages::create_partitions::{CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopicResult};
use crate::protocol::messages::create_topics::{CreatableTopicConfigs, CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse};
use crate::protocol::messages::delete_topics::{DeletableTopicResult, DeleteTopicsRequest, DeleteTopicsResponse};
use crate::protocol::messages::Response;
use crate::types::TopicId;

use super::cluster::ChangeStatus;
use super::topic_config::{self, TopicConfig};
use super::topics::{self, Topic, TopicState};
use super::{Broker, MetaOp, PartitionState, Pending, ReqCtx, ReqId};
use crate::cluster::peer::ControllerRequest;

/// Why a topic description is being written.
#[derive(Debug, Clone)]
pub enum DescriptionChange {
    Created,
    PartitionsAdded(usize),
    ConfigChanged(TopicConfig),
}

pub struct AdminPending {
    ctx: ReqCtx,
    kind: AdminKind,
}

enum AdminKind {
    CreateTopics { resp: CreateTopicsResponse, waits: Vec<(usize, String, TopicId)> },
    DeleteTopics { resp: DeleteTopicsResponse, waits: Vec<(usize, String, TopicId)> },
    CreatePartitions { resp: CreatePartitionsResponse, waits: Vec<(usize, String, usize)> },
}

/// Kafka's config source codes (DescribeConfigs, CreateTopics v5+).
pub const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub const SOURCE_DEFAULT: i8 = 5;

/// The effective configs of a topic, as CreateTopics v5+ reports them.
fn created_configs(config: &TopicConfig) -> Vec<CreatableTopicConfigs> {
    topic_config::TOPIC_CONFIGS
        .iter()
        .map(|d| CreatableTopicConfigs {
            name: d.name.to_string(),
            value: config.get(d.name).map(str::to_string),
            read_only: false,
            config_source: if config.is_default(d.name) { SOURCE_DEFAULT } else { SOURCE_DYNAMIC_TOPIC },
            is_sensitive: false,
        })
        .collect()
}

impl Broker {
    /// Create `name` with `partitions` partitions: logs first, description when they are ready.
    pub(crate) fn create_topic(&mut self, name: &str, partitions: usize, config: TopicConfig) -> TopicId {
        let id = self.new_topic_id();
        self.create_topic_with_id(name, id, partitions, config);
        id
    }

    /// Create `name` locally under a given id (cluster mode: the id the metadata holds).
    pub(crate) fn create_topic_with_id(&mut self, name: &str, id: TopicId, partitions: usize, config: TopicConfig) {
        let mut owners = Vec::with_capacity(partitions);
        for index in 0..partitions {
            owners.push(self.create_partition_log(name, index as i32, &config));
        }
        tracing::info!(topic = name, partitions, "creating topic");
        self.topics.insert(
            name.to_string(),
            Topic { name: name.to_string(), id, config, partitions: owners, adding: Vec::new(), state: TopicState::Creating },
        );
    }

    fn create_partition_log(&mut self, topic: &str, index: i32, config: &TopicConfig) -> u64 {
        let owner = self.new_owner();
        let now = self.now;
        let mut io = IoScope { queue: &mut self.disk, owner };
        let log = PartitionLog::create(&topics::partition_dir(topic, index), config.log_config(), now, &mut io);
        self.partitions.insert(owner, PartitionState::new(topic, index, log, self.config.cluster.is_some()));
        owner
    }

    /// Open an existing partition log (startup).
    pub(crate) fn open_partition_log(&mut self, topic: &str, index: i32, config: &TopicConfig) -> u64 {
        let owner = self.new_owner();
        let now = self.now;
        let mut io = IoScope { queue: &mut self.disk, owner };
        let log = PartitionLog::open(&topics::partition_dir(topic, index), config.log_config(), now, &mut io);
        self.partitions.insert(owner, PartitionState::new(topic, index, log, self.config.cluster.is_some()));
        owner
    }

    /// Auto-create a topic a client asked for, if the broker allows it.
    pub(crate) fn maybe_auto_create(&mut self, name: &str) {
        if !self.config.auto_create_topics
            || self.topics.contains_key(name)
            || self.description_unreadable(name)
            || topics::validate_name(name).is_err()
            || super::groups::is_internal(name)
        {
            return;
        }
        let n = self.config.default_partitions.max(1) as usize;
        if self.partitions.len() + n > self.config.partitions_max {
            tracing::warn!(topic = name, "not auto-creating: partitions_max reached");
            return;
        }
        self.create_topic(name, n, TopicConfig::default());
    }

    pub(crate) fn write_description(&mut self, topic: &str, partitions: usize, change: DescriptionChange) -> Option<crate::types::IoId> {
        let t = self.topics.get(topic)?;
        let mut desc = t.description(partitions);
        if let DescriptionChange::ConfigChanged(c) = &change {
            desc.config = c.clone();
        }
        let data = Bytes::from(desc.encode());
        let id = self.meta_io().submit(DiskOp::ReplaceFile { path: topics::meta_path(topic), data });
        self.meta_ops.insert(id, MetaOp::DescriptionWritten { topic: topic.to_string(), change });
        Some(id)
    }

    /// A partition log finished loading (or failed): move its topic along.
    pub(crate) fn on_partition_ready(&mut self, owner: u64) {
        let Some(topic) = self.partitions.get(&owner).map(|p| p.topic.clone()) else { return };
        let loading = |b: &Broker, owners: &[u64]| {
            owners.iter().any(|o| b.partitions.get(o).is_some_and(|p| matches!(p.log.state(), LogState::Loading)))
        };
        let failed = |b: &Broker, owners: &[u64]| {
            owners.iter().any(|o| b.partitions.get(o).is_some_and(|p| matches!(p.log.state(), LogState::Failed(_))))
        };
        let Some(t) = self.topics.get(&topic) else { return };
        let (state, owners, adding) = (t.state, t.partitions.clone(), t.adding.clone());
        if state == TopicState::Creating && !loading(self, &owners) {
            if failed(self, &owners) {
                tracing::error!(topic, "topic creation failed: a partition log could not be created");
                self.abandon_topic(&topic);
            } else {
                self.write_description(&topic, owners.len(), DescriptionChange::Created);
            }
        } else if state == TopicState::Live && !adding.is_empty() && !loading(self, &adding) {
            if failed(self, &adding) {
                tracing::error!(topic, "adding partitions failed: a partition log could not be created");
                self.drop_adding(&topic);
            } else {
                self.write_description(
                    &topic,
                    owners.len() + adding.len(),
                    DescriptionChange::PartitionsAdded(owners.len() + adding.len()),
                );
            }
        }
        if !self.is_serving() {
            self.check_startup_done();
        }
        self.recheck_all_admin();
    }

    /// Creation failed: delete what was made; the name is free again once gone.
    fn abandon_topic(&mut self, topic: &str) {
        if let Some(t) = self.topics.get_mut(topic) {
            t.state = TopicState::Deleting;
            let owners = t.partitions.clone();
            self.delete_logs(&owners);
        }
    }

    fn drop_adding(&mut self, topic: &str) {
        if let Some(t) = self.topics.get_mut(topic) {
            let adding = std::mem::take(&mut t.adding);
            self.delete_logs(&adding);
        }
    }

    fn delete_logs(&mut self, owners: &[u64]) {
        for &owner in owners {
            if let Some(p) = self.partitions.get_mut(&owner) {
                let mut io = IoScope { queue: &mut self.disk, owner };
                p.log.delete(&mut io);
            }
        }
    }

    pub(crate) fn on_partition_deleted(&mut self, owner: u64) {
        let Some(p) = self.partitions.remove(&owner) else { return };
        // Requests waiting on this partition re-check and see it gone.
        self.recheck.extend(p.hw_waiters.iter().copied());
        self.recheck.extend(p.write_waiters.iter().copied());
        self.recheck.extend(p.reads.values().copied());
        let topic = p.topic;
        if let Some(t) = self.topics.get_mut(&topic) {
            t.adding.retain(|o| *o != owner);
            if t.state == TopicState::Deleting {
                t.partitions.retain(|o| *o != owner);
                if t.partitions.is_empty() {
                    tracing::info!(topic, "topic deleted");
                    self.topics.remove(&topic);
                }
            }
        }
        self.recheck_all_admin();
        self.cluster_registry_changed();
        self.pump_raft();
    }

    /// A disk operation on topic descriptions or the data directory finished.
    pub(crate) fn on_meta_done(&mut self, id: crate::types::IoId, result: DiskResult) {
        let Some(op) = self.meta_ops.remove(&id) else {
            tracing::error!(io = id.0, "completion of an unknown meta operation");
            return;
        };
        let failed = match &result {
            DiskResult::Failed(why) => Some(why.clone()),
            _ => None,
        };
        match op {
            MetaOp::Startup(step) => self.on_startup_step(step, result),
            MetaOp::ProducerIdBlock { start, end } => self.on_producer_id_block(start, end, failed),
            MetaOp::DescriptionWritten { topic, change } => {
                if let Some(why) = failed {
                    tracing::error!(topic, %why, ?change, "writing the topic description failed");
                    match change {
                        DescriptionChange::Created => self.abandon_topic(&topic),
                        DescriptionChange::PartitionsAdded(_) => self.drop_adding(&topic),
                        DescriptionChange::ConfigChanged(_) => {}
                    }
                } else if let Some(t) = self.topics.get_mut(&topic) {
                    match change {
                        DescriptionChange::Created => {
                            t.state = TopicState::Live;
                            tracing::info!(topic, partitions = t.partitions.len(), "topic created");
                        }
                        DescriptionChange::PartitionsAdded(n) => {
                            let adding = std::mem::take(&mut t.adding);
                            t.partitions.extend(adding);
                            debug_assert_eq!(t.partitions.len(), n);
                            tracing::info!(topic, partitions = n, "partitions added");
                        }
                        DescriptionChange::ConfigChanged(config) => {
                            t.config = config.clone();
                            let owners = t.partitions.clone();
                            for o in owners {
                                if let Some(p) = self.partitions.get_mut(&o) {
                                    p.log.set_config(config.log_config());
                                }
                            }
                            tracing::info!(topic, "topic config changed");
                        }
                    }
                }
                self.recheck_all_admin();
                self.cluster_registry_changed();
                self.pump_raft();
            }
            MetaOp::DescriptionRemoved { topic } => {
                if let Some(why) = failed {
                    // The description may still be there: the topic stays, marked for deletion.
                    tracing::error!(topic, %why, "removing the topic description failed");
                }
                if let Some(t) = self.topics.get(&topic) {
                    let owners: Vec<u64> = t.partitions.iter().chain(t.adding.iter()).copied().collect();
                    if owners.is_empty() {
                        self.topics.remove(&topic);
                    }
                    self.delete_logs(&owners);
                }
                self.recheck_all_admin();
                self.cluster_registry_changed();
                self.pump_raft();
            }
            MetaOp::OrphanRemoved => {
                if let Some(why) = failed {
                    tracing::warn!(%why, "removing a leftover directory failed");
                }
            }
            MetaOp::IncompleteMarker { path, written } => {
                if let Some(why) = failed {
                    tracing::error!(path, written, %why, "writing or removing a replica's incomplete-log marker failed");
                }
            }
        }
    }

    /// Start deleting a live topic: description first.
    pub(crate) fn delete_topic(&mut self, name: &str) {
        let Some(t) = self.topics.get_mut(name) else { return };
        t.state = TopicState::Deleting;
        tracing::info!(topic = name, "deleting topic");
        // Committed offsets of the topic go with it.
        self.groups.on_topic_deleted(name);
        self.drain_groups();
        let id = self.meta_io().submit(DiskOp::Remove { path: topics::meta_path(name) });
        self.meta_ops.insert(id, MetaOp::DescriptionRemoved { topic: name.to_string() });
        // Requests waiting on its partitions re-check and fail.
        let waiters: Vec<ReqId> = self.partitions.values().filter(|p| p.topic == name).flat_map(|p| p.hw_waiters.iter().copied()).collect();
        self.recheck.extend(waiters);
    }

    // ---- CreateTopics ----

    pub(crate) fn handle_create_topics(&mut self, ctx: ReqCtx, req: CreateTopicsRequest) {
        let node = self.config.node_id.0;
        let clustered = self.cluster.is_some();
        let mut resp = CreateTopicsResponse::default();
        let mut waits = Vec::new();
        let mut seen = std::collections::BTreeMap::new();
        for t in &req.topics {
            *seen.entry(t.name.clone()).or_insert(0) += 1;
        }
        for t in &req.topics {
            let mut r = CreatableTopicResult { name: t.name.clone(), num_partitions: -1, replication_factor: -1, ..Default::default() };
            let outcome = (|| -> Result<(usize, i16, TopicConfig), (i16, String)> {
                if seen[&t.name] > 1 {
                    return Err((
                        error_code::INVALID_REQUEST,
                        format!("Create topics request from client contains multiple entries for the topic {}", t.name),
                    ));
                }
                topics::validate_name(&t.name).map_err(|m| (error_code::INVALID_TOPIC_EXCEPTION, m))?;
                match self.topics.get(&t.name).map(|t| t.state) {
                    Some(TopicState::Deleting) => {
                        return Err((error_code::TOPIC_ALREADY_EXISTS, format!("Topic '{}' is marked for deletion.", t.name)))
                    }
                    Some(_) => return Err((error_code::TOPIC_ALREADY_EXISTS, format!("Topic '{}' already exists.", t.name))),
                    None if self.description_unreadable(&t.name) => {
                        return Err((
                            error_code::TOPIC_ALREADY_EXISTS,
                            format!("Topic '{}' exists but its description could not be read; its partitions are offline.", t.name),
                        ))
                    }
                    None => {}
                }
                if !t.assignments.is_empty() && (t.num_partitions != -1 || t.replication_factor != -1) {
                    return Err((
                        error_code::INVALID_REQUEST,
                        "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."
                            .into(),
                    ));
                }
                let partitions = if !t.assignments.is_empty() {
                    for a in &t.assignments {
                        // In a cluster the controller validates the brokers named.
                        if !clustered && a.broker_ids != [node] {
                            return Err((
                                error_code::INVALID_REPLICA_ASSIGNMENT,
                                format!(
                                    "Replica assignment {:?} for partition {} names brokers other than the only broker, {node}",
                                    a.broker_ids, a.partition_index
                                ),
                            ));
                        }
                    }
                    let mut idx: Vec<i32> = t.assignments.iter().map(|a| a.partition_index).collect();
                    idx.sort_unstable();
                    if idx.iter().enumerate().any(|(i, p)| *p != i as i32) {
                        return Err((
                            error_code::INVALID_REPLICA_ASSIGNMENT,
                            "Partitions in the assignment must be consecutive from 0".into(),
                        ));
                    }
                    (idx.len(), t.assignments[0].broker_ids.len() as i16)
                } else {
                    let n = match t.num_partitions {
                        -1 => self.config.default_partitions,
                        n if n <= 0 => {
                            return Err((
                                error_code::INVALID_PARTITIONS,
                                "Number of partitions was set to an invalid non-positive value.".into(),
                            ))
                        }
                        n => n,
                    };
                    match t.replication_factor {
                        -1 => {}
                        rf if clustered && rf > 0 => {}
                        1 => {}
                        rf if rf <= 0 => return Err((error_code::INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0, or -1 to use the default value.".into())),
                        rf => {
                            return Err((
                                error_code::INVALID_REPLICATION_FACTOR,
                                format!("Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only 1 broker(s) are registered."),
                            ))
                        }
                    }
                    (n as usize, t.replication_factor.max(1))
                };
                let (partitions, replication_factor) = partitions;
                if self.partitions.len() + partitions > self.config.partitions_max {
                    return Err((
                        error_code::INVALID_PARTITIONS,
                        format!(
                            "Creating {partitions} partitions would exceed this broker's limit of {} partitions",
                            self.config.partitions_max
                        ),
                    ));
                }
                let config = TopicConfig::from_pairs(t.configs.iter().map(|c| (c.name.as_str(), c.value.as_deref())))
                    .map_err(|m| (error_code::INVALID_CONFIG, m))?;
                Ok((partitions, replication_factor, config))
            })();
            match outcome {
                Err((code, msg)) => {
                    r.error_code = code;
                    r.error_message = Some(msg);
                }
                Ok((partitions, replication_factor, config)) => {
                    r.num_partitions = partitions as i32;
                    r.replication_factor = replication_factor;
                    if ctx.api_version >= 5 {
                        r.configs = Some(created_configs(&config));
                    }
                    if !req.validate_only {
                        let id = if clustered {
                            let assignment = (!t.assignments.is_empty()).then(|| {
                                let mut a = t.assignments.clone();
                                a.sort_by_key(|a| a.partition_index);
                                a.into_iter().map(|a| a.broker_ids.into_iter().map(crate::types::NodeId).collect()).collect()
                            });
                            self.cluster_create_topic(&t.name, partitions as i32, replication_factor, assignment, &config)
                        } else {
                            self.create_topic(&t.name, partitions, config)
                        };
                        r.topic_id = id;
                        waits.push((resp.topics.len(), t.name.clone(), id));
                    }
                }
            }
            resp.topics.push(r);
        }
        self.admin_wait(ctx, AdminKind::CreateTopics { resp, waits });
    }

    // ---- DeleteTopics ----

    pub(crate) fn handle_delete_topics(&mut self, ctx: ReqCtx, req: DeleteTopicsRequest) {
        let mut resp = DeleteTopicsResponse::default();
        let mut waits = Vec::new();
        // v6 names topics by name or id; older versions by name only.
        let mut wanted: Vec<(Option<String>, TopicId)> = req.topic_names.iter().map(|n| (Some(n.clone()), TopicId::ZERO)).collect();
        wanted.extend(req.topics.iter().map(|t| (t.name.clone(), t.topic_id)));
        for (name, id) in wanted {
            let topic = match &name {
                Some(n) => self.live_topic(n).map(|t| (t.name.clone(), t.id)),
                None => self.topic_by_id(id).map(|t| (t.name.clone(), t.id)),
            };
            let mut r = DeletableTopicResult { name: name.clone(), topic_id: id, ..Default::default() };
            match topic {
                None => {
                    r.error_code = if name.is_some() { error_code::UNKNOWN_TOPIC_OR_PARTITION } else { error_code::UNKNOWN_TOPIC_ID };
                }
                Some((n, tid)) => {
                    r.name = Some(n.clone());
                    r.topic_id = tid;
                    if self.cluster.is_some() {
                        self.forward(ControllerRequest::DeleteTopic { name: n.clone(), topic_id: tid });
                    } else {
                        self.delete_topic(&n);
                    }
                    waits.push((resp.responses.len(), n, tid));
                }
            }
            resp.responses.push(r);
        }
        self.admin_wait(ctx, AdminKind::DeleteTopics { resp, waits });
    }

    // ---- CreatePartitions ----

    pub(crate) fn handle_create_partitions(&mut self, ctx: ReqCtx, req: CreatePartitionsRequest) {
        let node = self.config.node_id.0;
        if self.cluster.is_some() {
            return self.refuse_create_partitions_in_cluster(ctx, req);
        }
        let mut resp = CreatePartitionsResponse::default();
        let mut waits = Vec::new();
        for t in &req.topics {
            let mut r = CreatePartitionsTopicResult { name: t.name.clone(), ..Default::default() };
            let outcome = (|| -> Result<(usize, usize), (i16, String)> {
                let topic = self
                    .live_topic(&t.name)
                    .ok_or((error_code::UNKNOWN_TOPIC_OR_PARTITION, format!("The topic '{}' does not exist.", t.name)))?;
                if !topic.adding.is_empty() {
                    return Err((error_code::INVALID_PARTITIONS, "Partitions are already being added to this topic.".into()));
                }
                let current = topic.partitions.len();
                let count = t.count.max(0) as usize;
                if count == current {
                    return Err((error_code::INVALID_PARTITIONS, format!("Topic already has {current} partitions.")));
                }
                if count < current {
                    return Err((
                        error_code::INVALID_PARTITIONS,
                        format!("Topic currently has {current} partitions, which is higher than the requested {count}."),
                    ));
                }
                if let Some(assignments) = &t.assignments {
                    if assignments.len() != count - current {
                        return Err((
                            error_code::INVALID_REPLICA_ASSIGNMENT,
                            format!(
                                "Increasing the number of partitions by {} but {} assignments provided.",
                                count - current,
                                assignments.len()
                            ),
                        ));
                    }
                    if assignments.iter().any(|a| a.broker_ids != [node]) {
                        return Err((error_code::INVALID_REPLICA_ASSIGNMENT, format!("Assignments may only name the only broker, {node}")));
                    }
                }
                if self.partitions.len() + (count - current) > self.config.partitions_max {
                    return Err((
                        error_code::INVALID_PARTITIONS,
                        format!("Adding partitions would exceed this broker's limit of {} partitions", self.config.partitions_max),
                    ));
                }
                Ok((current, count))
            })();
            match outcome {
                Err((code, msg)) => {
                    r.error_code = code;
                    r.error_message = Some(msg);
                }
                Ok((current, count)) => {
                    if !req.validate_only {
                        let config = self.topics[&t.name].config.clone();
                        let mut added = Vec::new();
                        for index in current..count {
                            added.push(self.create_partition_log(&t.name, index as i32, &config));
                        }
                        self.topics.get_mut(&t.name).expect("live topic").adding = added;
                        waits.push((resp.results.len(), t.name.clone(), count));
                    }
                }
            }
            resp.results.push(r);
        }
        self.admin_wait(ctx, AdminKind::CreatePartitions { resp, waits });
    }

    fn admin_wait(&mut self, ctx: ReqCtx, kind: AdminKind) {
        let id = self.new_req_id();
        self.pending.insert(id, Pending::Admin(AdminPending { ctx, kind }));
        self.poll_pending(id);
    }
}

/// Answer an admin request once every change it made is durable (or failed).
pub(crate) fn poll(b: &mut Broker, _id: ReqId, mut p: AdminPending) -> Option<AdminPending> {
    let done = match &mut p.kind {
        AdminKind::CreateTopics { resp, waits } => {
            waits.retain(|(i, name, id)| {
                let r = &mut resp.topics[*i];
                match b.topics.get(name) {
                    Some(t) if t.id == *id && t.state == TopicState::Live => false,
                    Some(t) if t.id == *id && t.state == TopicState::Creating => true,
                    _ if b.cluster.is_some() => match b.cluster_change_status(*id) {
                        ChangeStatus::Waiting => true,
                        ChangeStatus::Failed(code, msg) => {
                            r.error_code = code;
                            r.error_message = Some(msg);
                            false
                        }
                        ChangeStatus::Gone => {
                            r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                            r.error_message = Some("The topic was deleted while it was being created".into());
                            false
                        }
                    },
                    _ => {
                        r.error_code = error_code::KAFKA_STORAGE_ERROR;
                        r.error_message = Some("The topic could not be written to disk".into());
                        false
                    }
                }
            });
            waits.is_empty()
        }
        AdminKind::DeleteTopics { resp, waits } => {
            waits.retain(|(i, name, id)| {
                if b.cluster.is_some() {
                    if let ChangeStatus::Failed(code, msg) = b.cluster_change_status(*id) {
                        resp.responses[*i].error_code = code;
                        resp.responses[*i].error_message = Some(msg);
                        return false;
                    }
                }
                b.topics.get(name).is_some_and(|t| t.id == *id)
            });
            waits.is_empty()
        }
        AdminKind::CreatePartitions { resp, waits } => {
            waits.retain(|(i, name, count)| match b.topics.get(name) {
                Some(t) if t.partitions.len() >= *count => false,
                Some(t) if !t.adding.is_empty() => true,
                _ => {
                    resp.results[*i].error_code = error_code::KAFKA_STORAGE_ERROR;
                    resp.results[*i].error_message = Some("The new partitions could not be written to disk".into());
                    false
                }
            });
            waits.is_empty()
        }
    };
    if !done {
        return Some(p);
    }
    let response = match p.kind {
        AdminKind::CreateTopics { resp, .. } => Response::CreateTopics(resp),
        AdminKind::DeleteTopics { resp, .. } => Response::DeleteTopics(resp),
        AdminKind::CreatePartitions { resp, .. } => Response::CreatePartitions(resp),
    };
    b.respond(&p.ctx, response);
    None
}
