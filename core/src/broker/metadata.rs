//! Metadata and DescribeCluster: this broker is the whole cluster, leader of
//! every partition at epoch 0, and the only replica in every ISR.

use crate::log::LogState;
use crate::protocol::error_code;
use crate::protocol::messages::describe_cluster::{DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse};
use crate::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use crate::protocol::messages::Response;
use crate::types::TopicId;

use super::topics::{self, TopicState};
use super::{Broker, ReqCtx, LEADER_EPOCH};

/// "Not requested" for authorized-operations fields.
const OPS_NOT_REQUESTED: i32 = i32::MIN;
/// Without an authorizer every operation is allowed: READ, WRITE, CREATE,
/// DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (Kafka's AclOperation codes).
const TOPIC_OPS_ALL: i32 = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
const CLUSTER_OPS_ALL: i32 = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
/// Kafka's MISMATCHED_ENDPOINT_TYPE: a broker was asked for controller endpoints.
const MISMATCHED_ENDPOINT_TYPE: i16 = 114;

/// Longest a Metadata request waits for a topic it names to finish being created.
const CREATION_WAIT_MS: i64 = 1_000;

/// A Metadata request parked until the topics it names are no longer being created
/// (their logs and description are being written), so that a client retrying after
/// an auto-creation sees the topic with its partitions rather than a topic that does
/// not exist yet, as it would from Kafka, whose creation is a metadata update.
pub struct MetadataPending {
    ctx: ReqCtx,
    req: MetadataRequest,
    pub deadline: crate::types::Millis,
}

pub(crate) fn poll(b: &mut Broker, _id: super::ReqId, p: MetadataPending) -> Option<MetadataPending> {
    if p.deadline > b.now && b.names_topic_being_created(&p.req) && !b.phase_is_stopping() {
        return Some(p);
    }
    b.answer_metadata(p.ctx, p.req);
    None
}

impl Broker {
    pub(crate) fn handle_metadata(&mut self, ctx: ReqCtx, req: MetadataRequest) {
        if self.cluster.is_some() {
            let cluster_ops = if req.include_cluster_authorized_operations { CLUSTER_OPS_ALL } else { OPS_NOT_REQUESTED };
            let topic_ops = if req.include_topic_authorized_operations { TOPIC_OPS_ALL } else { OPS_NOT_REQUESTED };
            return self.handle_metadata_cluster(ctx, req, cluster_ops, topic_ops);
        }
        if self.names_topic_being_created(&req) {
            let id = self.new_req_id();
            let deadline = self.now.plus_ms(CREATION_WAIT_MS);
            self.pending.insert(id, super::Pending::Metadata(MetadataPending { ctx, req, deadline }));
            return;
        }
        self.answer_metadata(ctx, req);
    }

    fn names_topic_being_created(&self, req: &MetadataRequest) -> bool {
        req.topics
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|t| t.name.as_deref())
            .any(|name| self.topics.get(name).is_some_and(|t| t.state == TopicState::Creating))
    }

    fn answer_metadata(&mut self, ctx: ReqCtx, req: MetadataRequest) {
        let node = self.config.node_id.0;
        let mut resp = MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: node,
                host: self.config.advertised_host.clone(),
                port: self.config.advertised_port,
                rack: None,
            }],
            cluster_id: Some(self.config.cluster_id.clone()),
            controller_id: node,
            cluster_authorized_operations: if req.include_cluster_authorized_operations { CLUSTER_OPS_ALL } else { OPS_NOT_REQUESTED },
            ..Default::default()
        };
        let topic_ops = if req.include_topic_authorized_operations { TOPIC_OPS_ALL } else { OPS_NOT_REQUESTED };
        // Null means all topics (the codec maps v0's empty list to null too).
        let all = req.topics.is_none();
        if all {
            let names: Vec<String> = self.topics.values().filter(|t| t.state == TopicState::Live).map(|t| t.name.clone()).collect();
            for name in names {
                resp.topics.push(self.topic_metadata(&name, topic_ops));
            }
        } else {
            let auto = req.allow_auto_topic_creation || ctx.api_version < 4;
            for t in req.topics.as_deref().unwrap_or(&[]) {
                let entry = match &t.name {
                    Some(name) => self.requested_topic(name, auto, topic_ops),
                    None => match self.topic_by_id(t.topic_id).map(|t| t.name.clone()) {
                        Some(name) => self.topic_metadata(&name, topic_ops),
                        None => MetadataResponseTopic {
                            error_code: error_code::UNKNOWN_TOPIC_ID,
                            name: None,
                            topic_id: t.topic_id,
                            topic_authorized_operations: topic_ops,
                            ..Default::default()
                        },
                    },
                };
                resp.topics.push(entry);
            }
        }
        self.respond(&ctx, Response::Metadata(resp));
    }

    fn requested_topic(&mut self, name: &str, auto_create: bool, topic_ops: i32) -> MetadataResponseTopic {
        let error = |code| MetadataResponseTopic {
            error_code: code,
            name: Some(name.to_string()),
            topic_id: TopicId::ZERO,
            topic_authorized_operations: topic_ops,
            ..Default::default()
        };
        if self.live_topic(name).is_some() {
            return self.topic_metadata(name, topic_ops);
        }
        if topics::validate_name(name).is_err() {
            return error(error_code::INVALID_TOPIC_EXCEPTION);
        }
        match self.topics.get(name).map(|t| t.state) {
            Some(TopicState::Creating) => error(error_code::LEADER_NOT_AVAILABLE),
            Some(_) => error(error_code::UNKNOWN_TOPIC_OR_PARTITION),
            None if auto_create && self.config.auto_create_topics && !super::groups::is_internal(name) => {
                // Kafka 4.4 (KRaft) answers the request that starts the creation with
                // UNKNOWN_TOPIC_OR_PARTITION; clients retry and find the topic.
                self.maybe_auto_create(name);
                error(error_code::UNKNOWN_TOPIC_OR_PARTITION)
            }
            None => error(error_code::UNKNOWN_TOPIC_OR_PARTITION),
        }
    }

    fn topic_metadata(&self, name: &str, topic_ops: i32) -> MetadataResponseTopic {
        let node = self.config.node_id.0;
        let t = self.topics.get(name).expect("caller checked the topic exists");
        let partitions = t
            .partitions
            .iter()
            .enumerate()
            .map(|(i, owner)| {
                let state = self.partitions.get(owner).map(|p| p.log.state().clone());
                let online = matches!(state, Some(LogState::Ready));
                MetadataResponsePartition {
                    error_code: if online { error_code::NONE } else { error_code::LEADER_NOT_AVAILABLE },
                    partition_index: i as i32,
                    leader_id: if online { node } else { -1 },
                    leader_epoch: LEADER_EPOCH.0,
                    replica_nodes: vec![node],
                    isr_nodes: if online { vec![node] } else { vec![] },
                    offline_replicas: if online { vec![] } else { vec![node] },
                }
            })
            .collect();
        MetadataResponseTopic {
            error_code: error_code::NONE,
            name: Some(t.name.clone()),
            topic_id: t.id,
            is_internal: super::groups::is_internal(&t.name),
            partitions,
            topic_authorized_operations: topic_ops,
        }
    }

    pub(crate) fn handle_describe_cluster(&mut self, ctx: ReqCtx, req: DescribeClusterRequest) {
        if self.cluster.is_some() && !(ctx.api_version >= 1 && req.endpoint_type == 2) {
            let cluster_ops = if req.include_cluster_authorized_operations { CLUSTER_OPS_ALL } else { OPS_NOT_REQUESTED };
            return self.handle_describe_cluster_cluster(ctx, req, cluster_ops);
        }
        let mut resp = DescribeClusterResponse {
            error_code: error_code::NONE,
            endpoint_type: req.endpoint_type,
            cluster_id: self.config.cluster_id.clone(),
            controller_id: self.config.node_id.0,
            brokers: vec![DescribeClusterBroker {
                broker_id: self.config.node_id.0,
                host: self.config.advertised_host.clone(),
                port: self.config.advertised_port,
                rack: None,
            }],
            cluster_authorized_operations: if req.include_cluster_authorized_operations { CLUSTER_OPS_ALL } else { OPS_NOT_REQUESTED },
            ..Default::default()
        };
        if ctx.api_version >= 1 && req.endpoint_type == 2 {
            resp.error_code = MISMATCHED_ENDPOINT_TYPE;
            resp.error_message =
                Some("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER".into());
            resp.brokers.clear();
        }
        self.respond(&ctx, Response::DescribeCluster(resp));
    }
}
