//! The Kafka APIs whose answers come from the cluster metadata in cluster mode:
//! Metadata, DescribeCluster, FindCoordinator, topic creation (CreateTopics and
//! auto-creation, forwarded to the controller) and CreatePartitions (not yet available
//! in a cluster). Standalone brokers never reach this module.

use std::collections::BTreeMap;

use crate::cluster::metadata::{MetadataState, Topic as MetaTopic};
use crate::cluster::peer::ControllerRequest;
use crate::protocol::error_code;
use crate::protocol::messages::create_partitions::{CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopicResult};
use crate::protocol::messages::describe_cluster::{DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse};
use crate::protocol::messages::find_coordinator::{Coordinator, FindCoordinatorRequest};
use crate::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use crate::protocol::messages::Response;
use crate::types::{NodeId, TopicId};

use super::groups::{find_coordinator_response, is_internal};
use super::topic_config::TopicConfig;
use super::topics;
use super::{Broker, ReqCtx};
use crate::group::OFFSETS_TOPIC;

/// FindCoordinator's key type for consumer groups.
const KEY_TYPE_GROUP: i8 = 0;
/// Replication factor of auto-created topics (Kafka's `default.replication.factor`).
const DEFAULT_REPLICATION_FACTOR: i16 = 1;
/// Replication factor of `__consumer_offsets` (Kafka's `offsets.topic.replication.factor`
/// default), capped at the live brokers when it is created.
const OFFSETS_REPLICATION_FACTOR: i16 = 3;

fn partition_metadata(state: &MetadataState, t: &MetaTopic) -> Vec<MetadataResponsePartition> {
    t.partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let leader = p.leader.filter(|l| state.is_live(*l));
            MetadataResponsePartition {
                error_code: if leader.is_some() { error_code::NONE } else { error_code::LEADER_NOT_AVAILABLE },
                partition_index: i as i32,
                leader_id: leader.map_or(-1, |l| l.0),
                leader_epoch: p.leader_epoch.0,
                replica_nodes: p.replicas.iter().map(|r| r.0).collect(),
                isr_nodes: p.isr.iter().map(|r| r.0).collect(),
                offline_replicas: p.replicas.iter().filter(|r| !state.is_live(**r)).map(|r| r.0).collect(),
            }
        })
        .collect()
}

impl Broker {
    fn controller_id(&self) -> i32 {
        self.cluster.as_ref().and_then(|c| c.leader()).map_or(-1, |l| l.0)
    }

    pub(crate) fn handle_metadata_cluster(&mut self, ctx: ReqCtx, req: MetadataRequest, cluster_ops: i32, topic_ops: i32) {
        let mut resp = MetadataResponse {
            brokers: self
                .cluster_brokers()
                .into_iter()
                .map(|(id, a)| MetadataResponseBroker { node_id: id.0, host: a.host, port: a.port as i32, rack: None })
                .collect(),
            cluster_id: Some(self.config.cluster_id.clone()),
            controller_id: self.controller_id(),
            cluster_authorized_operations: cluster_ops,
            ..Default::default()
        };
        let topic_entry = |state: &MetadataState, t: &MetaTopic| MetadataResponseTopic {
            error_code: error_code::NONE,
            name: Some(t.name.clone()),
            topic_id: t.id,
            is_internal: is_internal(&t.name),
            partitions: partition_metadata(state, t),
            topic_authorized_operations: topic_ops,
        };
        let error = |code, name: Option<&str>, id: TopicId| MetadataResponseTopic {
            error_code: code,
            name: name.map(str::to_string),
            topic_id: id,
            topic_authorized_operations: topic_ops,
            ..Default::default()
        };
        let auto = req.allow_auto_topic_creation || ctx.api_version < 4;
        let mut auto_create = Vec::new();
        if let Some(state) = self.cluster.as_ref().and_then(|c| c.metadata()) {
            match req.topics.as_deref() {
                None => resp.topics = state.topics().map(|t| topic_entry(state, t)).collect(),
                Some(wanted) => {
                    for w in wanted {
                        let entry = match &w.name {
                            Some(name) => match state.topic(name) {
                                Some(t) => topic_entry(state, t),
                                None if topics::validate_name(name).is_err() => {
                                    error(error_code::INVALID_TOPIC_EXCEPTION, Some(name), TopicId::ZERO)
                                }
                                None if auto && self.config.auto_create_topics && !is_internal(name) => {
                                    // As Kafka 4.4 answers the request that starts a creation.
                                    auto_create.push(name.clone());
                                    error(error_code::UNKNOWN_TOPIC_OR_PARTITION, Some(name), TopicId::ZERO)
                                }
                                None => error(error_code::UNKNOWN_TOPIC_OR_PARTITION, Some(name), TopicId::ZERO),
                            },
                            None => match state.topics().find(|t| t.id == w.topic_id) {
                                Some(t) => topic_entry(state, t),
                                None => error(error_code::UNKNOWN_TOPIC_ID, None, w.topic_id),
                            },
                        };
                        resp.topics.push(entry);
                    }
                }
            }
        }
        for name in auto_create {
            self.cluster_auto_create(&name);
        }
        self.respond(&ctx, Response::Metadata(resp));
    }

    pub(crate) fn handle_describe_cluster_cluster(&mut self, ctx: ReqCtx, req: DescribeClusterRequest, cluster_ops: i32) {
        let resp = DescribeClusterResponse {
            error_code: error_code::NONE,
            endpoint_type: req.endpoint_type,
            cluster_id: self.config.cluster_id.clone(),
            controller_id: self.controller_id(),
            brokers: self
                .cluster_brokers()
                .into_iter()
                .map(|(id, a)| DescribeClusterBroker { broker_id: id.0, host: a.host, port: a.port as i32, rack: None })
                .collect(),
            cluster_authorized_operations: cluster_ops,
            ..Default::default()
        };
        self.respond(&ctx, Response::DescribeCluster(resp));
    }

    /// Forwards the creation of a topic the client asked for; `TopicId::ZERO` if it
    /// could not be forwarded.
    pub(crate) fn cluster_create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        assignment: Option<Vec<Vec<NodeId>>>,
        config: &TopicConfig,
    ) -> TopicId {
        let topic_id = self.new_topic_id();
        let request = ControllerRequest::CreateTopic {
            name: name.to_string(),
            topic_id,
            partitions,
            replication_factor,
            assignment,
            configs: config.overrides.clone(),
        };
        if self.forward(request) {
            topic_id
        } else {
            TopicId::ZERO
        }
    }

    fn cluster_auto_create(&mut self, name: &str) {
        if self.forward_pending_for(name) {
            return;
        }
        let partitions = self.config.default_partitions.max(1);
        tracing::info!(topic = name, partitions, "auto-creating topic through the controller");
        self.cluster_create_topic(name, partitions, DEFAULT_REPLICATION_FACTOR, None, &TopicConfig::default());
    }

    /// FindCoordinator: the coordinator of a group is the leader of its offsets partition.
    pub(crate) fn handle_find_coordinator_cluster(&mut self, ctx: ReqCtx, req: FindCoordinatorRequest) {
        let keys: Vec<String> = if ctx.api_version >= 4 { req.coordinator_keys.clone() } else { vec![req.key.clone()] };
        let brokers: BTreeMap<NodeId, _> = self.cluster_brokers().into_iter().collect();
        let offsets_exists = self.cluster.as_ref().and_then(|c| c.metadata()).is_some_and(|m| m.topic(OFFSETS_TOPIC).is_some());
        if !offsets_exists && !self.forward_pending_for(OFFSETS_TOPIC) {
            let n = self.config.groups.offsets_partitions.max(1);
            tracing::info!(partitions = n, "creating the offsets topic {OFFSETS_TOPIC} through the controller");
            let config = super::groups::offsets_topic_config(self.config.groups.offsets_segment_bytes);
            let rf = OFFSETS_REPLICATION_FACTOR.min(brokers.len().max(1) as i16);
            self.cluster_create_topic(OFFSETS_TOPIC, n, rf, None, &config);
        }
        let state = self.cluster.as_ref().and_then(|c| c.metadata());
        let answer: Vec<Coordinator> = keys
            .into_iter()
            .map(|key| {
                let unavailable = |key: String, code: i16, msg: &str| Coordinator {
                    key,
                    node_id: -1,
                    host: String::new(),
                    port: -1,
                    error_code: code,
                    error_message: Some(msg.to_string()),
                };
                if req.key_type != KEY_TYPE_GROUP {
                    return unavailable(key, error_code::INVALID_REQUEST, "transactions are not supported by this broker");
                }
                if key.is_empty() {
                    return unavailable(key, error_code::INVALID_REQUEST, "empty group id");
                }
                let partition = self.groups.partition_for(&key);
                let leader = state.and_then(|s| s.partition(OFFSETS_TOPIC, partition)).and_then(|p| p.leader);
                match leader.and_then(|l| brokers.get(&l).map(|a| (l, a))) {
                    Some((l, a)) => Coordinator {
                        key,
                        node_id: l.0,
                        host: a.host.clone(),
                        port: a.port as i32,
                        error_code: error_code::NONE,
                        error_message: None,
                    },
                    None => unavailable(key, error_code::COORDINATOR_NOT_AVAILABLE, "the group's offsets partition has no live leader"),
                }
            })
            .collect();
        self.respond(&ctx, Response::FindCoordinator(find_coordinator_response(ctx.api_version, answer)));
    }

    /// Loads the offsets partitions this broker now leads into the group coordinator,
    /// and unloads those it no longer leads.
    pub(crate) fn sync_group_leadership(&mut self) {
        if self.cluster.is_none() || !self.startup_done() {
            return;
        }
        let Some(t) = self.live_topic(OFFSETS_TOPIC) else { return };
        let owners: Vec<(i32, u64)> = t.partitions.iter().enumerate().map(|(i, o)| (i as i32, *o)).collect();
        let mut changed = false;
        for (partition, owner) in owners {
            let leads = self.leader_check(OFFSETS_TOPIC, partition, -1).is_ok();
            let serves = self.groups.serves(partition);
            if leads && !serves {
                self.begin_group_load(owner);
            } else if !leads && serves {
                tracing::info!(partition, "no longer the coordinator of offsets partition");
                self.groups.unload(partition);
                changed = true;
            }
        }
        if changed {
            self.drain_groups();
        }
    }

    /// CreatePartitions changes the partition count on one broker only; in a cluster
    /// that would split the metadata, so it is refused until the controller does it.
    pub(crate) fn refuse_create_partitions_in_cluster(&mut self, ctx: ReqCtx, req: CreatePartitionsRequest) {
        let results = req
            .topics
            .iter()
            .map(|t| CreatePartitionsTopicResult {
                name: t.name.clone(),
                error_code: error_code::INVALID_REQUEST,
                error_message: Some("Adding partitions is not available in cluster mode yet".into()),
            })
            .collect();
        self.respond(&ctx, Response::CreatePartitions(CreatePartitionsResponse { throttle_time_ms: 0, results }));
    }
}
