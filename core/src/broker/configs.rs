//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics (and a
//! read-only view of the broker's own settings).
//!
//! A change is answered once the topic description carrying it is durable; only
//! then does the log see the new settings.

use crate::protocol::error_code;
use crate::protocol::messages::alter_configs::{AlterConfigsRequest, AlterConfigsResourceResponse, AlterConfigsResponse};
use crate::protocol::messages::describe_configs::{
    DescribeConfigsRequest, DescribeConfigsResourceResult, DescribeConfigsResponse, DescribeConfigsResult, DescribeConfigsSynonym,
};
use crate::protocol::messages::incremental_alter_configs::{
    op, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResourceResponse, IncrementalAlterConfigsResponse,
};
use crate::protocol::messages::Response;
use crate::types::IoId;

use super::admin::{DescriptionChange, SOURCE_DEFAULT, SOURCE_DYNAMIC_TOPIC};
use super::topic_config::{self, TopicConfig};
use super::{Broker, Pending, ReqCtx, ReqId};

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
const SOURCE_STATIC_BROKER: i8 = 4;
/// Kafka's ConfigType codes (DescribeConfigs v3+).
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

fn config_type(name: &str) -> i8 {
    match name {
        "cleanup.policy" => TYPE_LIST,
        "compression.type" | "message.timestamp.type" => TYPE_STRING,
        "unclean.leader.election.enable" | "auto.create.topics.enable" => TYPE_BOOLEAN,
        "index.interval.bytes"
        | "max.message.bytes"
        | "min.insync.replicas"
        | "segment.bytes"
        | "num.partitions"
        | "broker.id"
        | "node.id" => TYPE_INT,
        _ => TYPE_LONG,
    }
}

pub struct ConfigsPending {
    ctx: ReqCtx,
    incremental: bool,
    alter: AlterConfigsResponse,
    inc: IncrementalAlterConfigsResponse,
    /// (response index, topic, io of the description write, the config it carries).
    waits: Vec<(usize, String, IoId, TopicConfig)>,
}

impl Broker {
    pub(crate) fn handle_describe_configs(&mut self, ctx: ReqCtx, req: DescribeConfigsRequest) {
        let mut resp = DescribeConfigsResponse::default();
        for res in &req.resources {
            let mut r =
                DescribeConfigsResult { resource_type: res.resource_type, resource_name: res.resource_name.clone(), ..Default::default() };
            let wanted = |name: &str| res.configuration_keys.as_ref().is_none_or(|keys| keys.iter().any(|k| k == name));
            match res.resource_type {
                RESOURCE_TOPIC => match self.live_topic(&res.resource_name) {
                    None => {
                        r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                        r.error_message = Some(format!("The topic '{}' does not exist.", res.resource_name));
                    }
                    Some(t) => {
                        for d in topic_config::TOPIC_CONFIGS.iter().filter(|d| wanted(d.name)) {
                            let is_default = t.config.is_default(d.name);
                            let value = t.config.get(d.name).map(str::to_string);
                            let source = if is_default { SOURCE_DEFAULT } else { SOURCE_DYNAMIC_TOPIC };
                            let mut synonyms = Vec::new();
                            if req.include_synonyms {
                                if !is_default {
                                    synonyms.push(DescribeConfigsSynonym {
                                        name: d.name.to_string(),
                                        value: value.clone(),
                                        source: SOURCE_DYNAMIC_TOPIC,
                                    });
                                }
                                synonyms.push(DescribeConfigsSynonym {
                                    name: d.name.to_string(),
                                    value: Some(d.default.to_string()),
                                    source: SOURCE_DEFAULT,
                                });
                            }
                            r.configs.push(DescribeConfigsResourceResult {
                                name: d.name.to_string(),
                                value,
                                read_only: false,
                                is_default,
                                config_source: source,
                                is_sensitive: false,
                                synonyms,
                                config_type: config_type(d.name),
                                documentation: None,
                            });
                        }
                    }
                },
                RESOURCE_BROKER if res.resource_name.is_empty() || res.resource_name == self.config.node_id.0.to_string() => {
                    for (name, value) in self.broker_configs().into_iter().filter(|(n, _)| wanted(n)) {
                        r.configs.push(DescribeConfigsResourceResult {
                            name: name.to_string(),
                            value: Some(value.clone()),
                            read_only: true,
                            is_default: false,
                            config_source: SOURCE_STATIC_BROKER,
                            is_sensitive: false,
                            synonyms: if req.include_synonyms {
                                vec![DescribeConfigsSynonym { name: name.to_string(), value: Some(value), source: SOURCE_STATIC_BROKER }]
                            } else {
                                vec![]
                            },
                            config_type: config_type(name),
                            documentation: None,
                        });
                    }
                }
                RESOURCE_BROKER => {
                    r.error_code = error_code::INVALID_REQUEST;
                    r.error_message =
                        Some(format!("Unexpected broker id, expected {} but received {}", self.config.node_id.0, res.resource_name));
                }
                other => {
                    r.error_code = error_code::INVALID_REQUEST;
                    r.error_message = Some(format!("Unsupported resource type {other}"));
                }
            }
            resp.results.push(r);
        }
        self.respond(&ctx, Response::DescribeConfigs(resp));
    }

    /// The broker settings a client can read (static: set on the command line).
    fn broker_configs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("auto.create.topics.enable", self.config.auto_create_topics.to_string()),
            ("broker.id", self.config.node_id.0.to_string()),
            ("log.retention.ms", "604800000".into()),
            ("log.segment.bytes", "1073741824".into()),
            ("message.max.bytes", "1048588".into()),
            ("node.id", self.config.node_id.0.to_string()),
            ("num.partitions", self.config.default_partitions.to_string()),
            ("socket.request.max.bytes", self.config.request_bytes_max.to_string()),
        ]
    }

    pub(crate) fn handle_alter_configs(&mut self, ctx: ReqCtx, req: AlterConfigsRequest) {
        let mut p =
            ConfigsPending { ctx, incremental: false, alter: AlterConfigsResponse::default(), inc: Default::default(), waits: Vec::new() };
        for (i, res) in req.resources.iter().enumerate() {
            let mut r = AlterConfigsResourceResponse {
                resource_type: res.resource_type,
                resource_name: res.resource_name.clone(),
                ..Default::default()
            };
            // Non-incremental: the given set replaces every override.
            let outcome = self.check_topic_resource(res.resource_type, &res.resource_name).and_then(|_| {
                refuse_duplicate_keys(res.configs.iter().map(|c| c.name.as_str()))?;
                TopicConfig::from_pairs(res.configs.iter().map(|c| (c.name.as_str(), c.value.as_deref())))
                    .map_err(|m| (error_code::INVALID_CONFIG, m))
            });
            if let Some((code, msg)) = self.apply_outcome(&mut p, i, &res.resource_name, outcome, req.validate_only) {
                r.error_code = code;
                r.error_message = Some(msg);
            }
            p.alter.responses.push(r);
        }
        self.configs_wait(p);
    }

    pub(crate) fn handle_incremental_alter_configs(&mut self, ctx: ReqCtx, req: IncrementalAlterConfigsRequest) {
        let mut p = ConfigsPending {
            ctx,
            incremental: true,
            alter: Default::default(),
            inc: IncrementalAlterConfigsResponse::default(),
            waits: Vec::new(),
        };
        for (i, res) in req.resources.iter().enumerate() {
            let mut r = IncrementalAlterConfigsResourceResponse {
                resource_type: res.resource_type,
                resource_name: res.resource_name.clone(),
                ..Default::default()
            };
            let outcome = self.check_topic_resource(res.resource_type, &res.resource_name).and_then(|_| {
                refuse_duplicate_keys(res.configs.iter().map(|c| c.name.as_str()))?;
                let mut config = self.topics[&res.resource_name].config.clone();
                for c in &res.configs {
                    apply_incremental(&mut config, &c.name, c.config_operation, c.value.as_deref())
                        .map_err(|m| (error_code::INVALID_CONFIG, m))?;
                }
                Ok(config)
            });
            if let Some((code, msg)) = self.apply_outcome(&mut p, i, &res.resource_name, outcome, req.validate_only) {
                r.error_code = code;
                r.error_message = Some(msg);
            }
            p.inc.responses.push(r);
        }
        self.configs_wait(p);
    }

    fn check_topic_resource(&self, resource_type: i8, name: &str) -> Result<(), (i16, String)> {
        match resource_type {
            RESOURCE_TOPIC => match self.live_topic(name) {
                // A config change here would reach this broker only: the metadata
                // quorum does not carry config changes yet.
                Some(_) if self.cluster.is_some() => {
                    Err((error_code::INVALID_REQUEST, "Altering topic configs is not available in cluster mode yet".into()))
                }
                Some(_) => Ok(()),
                None => Err((error_code::UNKNOWN_TOPIC_OR_PARTITION, format!("The topic '{name}' does not exist."))),
            },
            RESOURCE_BROKER => {
                Err((error_code::INVALID_REQUEST, "This broker's settings are static (command line); they cannot be altered".into()))
            }
            other => Err((error_code::INVALID_REQUEST, format!("Unsupported resource type {other}"))),
        }
    }

    /// Start writing a validated config (unless validating only); the error to report otherwise.
    fn apply_outcome(
        &mut self,
        p: &mut ConfigsPending,
        index: usize,
        topic: &str,
        outcome: Result<TopicConfig, (i16, String)>,
        validate_only: bool,
    ) -> Option<(i16, String)> {
        match outcome {
            Err(e) => Some(e),
            Ok(config) => {
                if !validate_only {
                    self.start_config_write(p, index, topic, config);
                }
                None
            }
        }
    }

    fn start_config_write(&mut self, p: &mut ConfigsPending, index: usize, topic: &str, config: TopicConfig) {
        let partitions = self.topics[topic].partitions.len();
        if let Some(io) = self.write_description(topic, partitions, DescriptionChange::ConfigChanged(config.clone())) {
            p.waits.push((index, topic.to_string(), io, config));
        }
    }

    fn configs_wait(&mut self, p: ConfigsPending) {
        let id = self.new_req_id();
        self.pending.insert(id, Pending::Configs(p));
        self.poll_pending(id);
    }
}

/// Kafka refuses a resource that names the same config twice.
fn refuse_duplicate_keys<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), (i16, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err((error_code::INVALID_REQUEST, "Error due to duplicate config keys".to_string()));
        }
    }
    Ok(())
}

/// Apply one IncrementalAlterConfigs operation to a topic's overrides.
fn apply_incremental(config: &mut TopicConfig, name: &str, operation: i8, value: Option<&str>) -> Result<(), String> {
    let def = topic_config::def(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
    match operation {
        op::SET => {
            let v = value.ok_or_else(|| format!("Null value not supported for : {name}"))?;
            topic_config::validate(name, v)?;
            config.overrides.insert(name.to_string(), v.to_string());
        }
        op::DELETE => {
            config.overrides.remove(name);
        }
        op::APPEND | op::SUBTRACT => {
            if config_type(name) != TYPE_LIST {
                return Err(format!("Config value append is not allowed for config key: {name}"));
            }
            let current = config.get(name).unwrap_or(def.default).to_string();
            let mut items: Vec<String> = current.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            let given: Vec<String> = value.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            if operation == op::APPEND {
                for g in given {
                    if !items.contains(&g) {
                        items.push(g);
                    }
                }
            } else {
                items.retain(|i| !given.contains(i));
            }
            let joined = items.join(",");
            topic_config::validate(name, &joined)?;
            config.overrides.insert(name.to_string(), joined);
        }
        other => return Err(format!("Unknown config operation {other}")),
    }
    Ok(())
}

pub(crate) fn poll(b: &mut Broker, _id: ReqId, mut p: ConfigsPending) -> Option<ConfigsPending> {
    let mut remaining = Vec::new();
    for (i, topic, io, config) in std::mem::take(&mut p.waits) {
        if b.meta_ops.contains_key(&io) {
            remaining.push((i, topic, io, config));
            continue;
        }
        let applied = b.topics.get(&topic).is_some_and(|t| t.config == config);
        if !applied {
            let msg = Some("The new config could not be written to disk".to_string());
            if p.incremental {
                p.inc.responses[i].error_code = error_code::KAFKA_STORAGE_ERROR;
                p.inc.responses[i].error_message = msg;
            } else {
                p.alter.responses[i].error_code = error_code::KAFKA_STORAGE_ERROR;
                p.alter.responses[i].error_message = msg;
            }
        }
    }
    if !remaining.is_empty() {
        p.waits = remaining;
        return Some(p);
    }
    let response = if p.incremental { Response::IncrementalAlterConfigs(p.inc) } else { Response::AlterConfigs(p.alter) };
    b.respond(&p.ctx, response);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Incremental operations: set, delete back to default, list append within what is honoured.
    #[test]
    fn incremental_operations() {
        let mut c = TopicConfig::default();
        apply_incremental(&mut c, "retention.ms", op::SET, Some("1000")).unwrap();
        assert_eq!(c.get("retention.ms"), Some("1000"));
        apply_incremental(&mut c, "retention.ms", op::DELETE, None).unwrap();
        assert!(c.is_default("retention.ms"));
        apply_incremental(&mut c, "cleanup.policy", op::APPEND, Some("delete")).unwrap();
        assert_eq!(c.get("cleanup.policy"), Some("delete"));
        assert!(apply_incremental(&mut c, "cleanup.policy", op::APPEND, Some("compact")).is_err());
        assert!(apply_incremental(&mut c, "retention.ms", op::APPEND, Some("1")).is_err());
        assert!(apply_incremental(&mut c, "nope", op::SET, Some("1")).is_err());
    }
}
