//! OffsetCommit, OffsetFetch, OffsetDelete, and the cleanup of offsets of
//! deleted topics and of expired empty groups.
//!
//! Commit rules (Kafka's `validateOffsetCommit`): a commit with generation -1,
//! no member id and no instance id is a "simple" commit (a consumer using
//! `assign`), allowed only while the group has no members; any other commit must
//! come from a current member in the current generation, and not while the
//! group is completing a rebalance (REBALANCE_IN_PROGRESS). A commit is answered
//! once durable and only then visible to OffsetFetch.

use std::collections::BTreeSet;

use crate::protocol::error_code;
use crate::protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use crate::protocol::messages::offset_delete::{
    OffsetDeleteRequest, OffsetDeleteResponse, OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use crate::protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use crate::protocol::messages::Response;
use crate::protocol::Reader;
use crate::records::Record;
use crate::types::Millis;

use super::state::{Group, GroupState};
use super::store::{self, CommittedOffset};
use super::{valid_group_id, GroupCoordinator, GroupOutput, ReqId, Write};

/// Kafka's GROUP_SUBSCRIBED_TO_TOPIC.
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
/// Kafka's FENCED_INSTANCE_ID.
const FENCED_INSTANCE_ID: i16 = 82;

/// One partition's committed offset as OffsetFetch reports it: (partition, offset, epoch, metadata, error).
type Fetched = (i32, i64, i32, Option<String>, i16);

impl GroupCoordinator {
    /// `exists(topic, partition)`: whether the partition exists (commits for
    /// unknown partitions get UNKNOWN_TOPIC_OR_PARTITION, as in Kafka).
    pub fn offset_commit(&mut self, req: ReqId, r: OffsetCommitRequest, now: Millis, exists: impl Fn(&str, i32) -> bool) {
        let group_code = self.commit_group_error(&r, now);
        let mut resp = OffsetCommitResponse::default();
        let mut offsets = Vec::new();
        for t in &r.topics {
            let mut rt = OffsetCommitResponseTopic { name: t.name.clone(), ..Default::default() };
            for p in &t.partitions {
                let metadata = p.committed_metadata.clone().unwrap_or_default();
                let code = if let Some(code) = group_code {
                    code
                } else if metadata.len() > self.config.offset_metadata_max_bytes {
                    error_code::OFFSET_METADATA_TOO_LARGE
                } else if !exists(&t.name, p.partition_index) {
                    error_code::UNKNOWN_TOPIC_OR_PARTITION
                } else {
                    let value = CommittedOffset {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata,
                        commit_timestamp: now.0,
                    };
                    offsets.push((t.name.clone(), p.partition_index, value));
                    error_code::NONE
                };
                rt.partitions.push(OffsetCommitResponsePartition { partition_index: p.partition_index, error_code: code });
            }
            resp.topics.push(rt);
        }
        if offsets.is_empty() {
            self.out.push(GroupOutput::Reply(req, Response::OffsetCommit(resp)));
            return;
        }
        let partition = self.partition_for(&r.group_id);
        let records = offsets
            .iter()
            .map(|(topic, p, v)| Record {
                offset_delta: 0,
                timestamp: now.0,
                key: Some(store::offset_key(&r.group_id, topic, *p)),
                value: Some(store::offset_value(v)),
                headers: Vec::new(),
            })
            .collect();
        self.append(partition, records, Write::Commit { req, group: r.group_id.clone(), offsets, resp: Response::OffsetCommit(resp) });
    }

    /// Why a commit is refused as a whole, if it is; a valid commit from a member
    /// also counts as a heartbeat.
    fn commit_group_error(&mut self, r: &OffsetCommitRequest, now: Millis) -> Option<i16> {
        if !valid_group_id(&r.group_id) {
            return Some(error_code::INVALID_GROUP_ID);
        }
        if let Some(code) = self.coordinator_error(&r.group_id) {
            return Some(code);
        }
        let simple = r.generation_id_or_member_epoch < 0 && r.member_id.is_empty() && r.group_instance_id.is_none();
        let partition = self.partition_for(&r.group_id);
        if simple {
            // Offsets-only groups (consumers using assign) come into being here.
            let group = self.groups.entry(r.group_id.clone()).or_insert_with(|| Group::new(r.group_id.clone(), partition));
            return (group.state != GroupState::Empty).then_some(error_code::UNKNOWN_MEMBER_ID);
        }
        let Some(group) = self.groups.get_mut(&r.group_id) else { return Some(error_code::UNKNOWN_MEMBER_ID) };
        if group.is_fenced(&r.member_id, r.group_instance_id.as_deref()) {
            return Some(FENCED_INSTANCE_ID);
        }
        let state = group.state;
        let generation = group.generation;
        let Some(m) = group.members.get_mut(&r.member_id) else { return Some(error_code::UNKNOWN_MEMBER_ID) };
        if r.generation_id_or_member_epoch != generation {
            return Some(error_code::ILLEGAL_GENERATION);
        }
        if state == GroupState::CompletingRebalance {
            return Some(error_code::REBALANCE_IN_PROGRESS);
        }
        m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
        None
    }

    pub fn offset_fetch(&mut self, req: ReqId, version: i16, r: OffsetFetchRequest) {
        let resp = if version >= 8 {
            let groups = r
                .groups
                .iter()
                .map(|g| {
                    let wanted = g.topics.as_ref().map(|ts| ts.iter().map(|t| (t.name.clone(), t.partition_indexes.clone())).collect());
                    let (code, topics) = self.fetch_group(&g.group_id, wanted);
                    OffsetFetchResponseGroup {
                        group_id: g.group_id.clone(),
                        error_code: code,
                        topics: topics
                            .into_iter()
                            .map(|(name, parts)| OffsetFetchResponseTopics {
                                name,
                                partitions: parts
                                    .into_iter()
                                    .map(|(partition_index, committed_offset, committed_leader_epoch, metadata, error_code)| {
                                        OffsetFetchResponsePartitions {
                                            partition_index,
                                            committed_offset,
                                            committed_leader_epoch,
                                            metadata,
                                            error_code,
                                        }
                                    })
                                    .collect(),
                            })
                            .collect(),
                    }
                })
                .collect();
            OffsetFetchResponse { groups, ..Default::default() }
        } else {
            let wanted = r.topics.as_ref().map(|ts| ts.iter().map(|t| (t.name.clone(), t.partition_indexes.clone())).collect());
            let (code, topics) = self.fetch_group(&r.group_id, wanted);
            // v0-1 have no group-level error: it goes on every partition.
            let part_code = |c: i16| if version < 2 && code != error_code::NONE { code } else { c };
            OffsetFetchResponse {
                error_code: code,
                topics: topics
                    .into_iter()
                    .map(|(name, parts)| OffsetFetchResponseTopic {
                        name,
                        partitions: parts
                            .into_iter()
                            .map(|(partition_index, committed_offset, committed_leader_epoch, metadata, error_code)| {
                                OffsetFetchResponsePartition {
                                    partition_index,
                                    committed_offset,
                                    committed_leader_epoch,
                                    metadata,
                                    error_code: part_code(error_code),
                                }
                            })
                            .collect(),
                    })
                    .collect(),
                ..Default::default()
            }
        };
        self.out.push(GroupOutput::Reply(req, Response::OffsetFetch(resp)));
    }

    /// A group's committed offsets: of the partitions asked for (`None`: all it has).
    fn fetch_group(&self, group_id: &str, wanted: Option<Vec<(String, Vec<i32>)>>) -> (i16, Vec<(String, Vec<Fetched>)>) {
        let error = if !valid_group_id(group_id) { Some(error_code::INVALID_GROUP_ID) } else { self.coordinator_error(group_id) };
        let group = self.groups.get(group_id);
        let lookup = |topic: &str, p: i32| -> Fetched {
            match group.and_then(|g| g.offsets.get(&(topic.to_string(), p))) {
                Some(v) if error.is_none() => (p, v.offset, v.leader_epoch, Some(v.metadata.clone()), error_code::NONE),
                _ => (p, -1, -1, Some(String::new()), error_code::NONE),
            }
        };
        let topics = match wanted {
            Some(ts) => ts
                .into_iter()
                .map(|(name, parts)| {
                    let fetched = parts.iter().map(|p| lookup(&name, *p)).collect();
                    (name, fetched)
                })
                .collect(),
            None if error.is_none() => {
                let mut by_topic: Vec<(String, Vec<Fetched>)> = Vec::new();
                for (topic, p) in group.map(|g| g.offsets.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                    let f = lookup(&topic, p);
                    match by_topic.last_mut() {
                        Some((t, v)) if *t == topic => v.push(f),
                        _ => by_topic.push((topic, vec![f])),
                    }
                }
                by_topic
            }
            None => Vec::new(),
        };
        (error.unwrap_or(error_code::NONE), topics)
    }

    pub fn offset_delete(&mut self, req: ReqId, r: OffsetDeleteRequest, now: Millis) {
        let reply =
            |c: &mut GroupCoordinator, resp: OffsetDeleteResponse| c.out.push(GroupOutput::Reply(req, Response::OffsetDelete(resp)));
        let group_error =
            if !valid_group_id(&r.group_id) { Some(error_code::INVALID_GROUP_ID) } else { self.coordinator_error(&r.group_id) };
        if let Some(code) = group_error {
            return reply(self, OffsetDeleteResponse { error_code: code, ..Default::default() });
        }
        let Some(group) = self.groups.get_mut(&r.group_id) else {
            return reply(self, OffsetDeleteResponse { error_code: error_code::GROUP_ID_NOT_FOUND, ..Default::default() });
        };
        let subscribed = if group.state == GroupState::Empty { BTreeSet::new() } else { subscribed_topics(group) };
        let mut resp = OffsetDeleteResponse::default();
        let mut records = Vec::new();
        for t in &r.topics {
            let mut rt = OffsetDeleteResponseTopic { name: t.name.clone(), ..Default::default() };
            for p in &t.partitions {
                let code = if subscribed.contains(&t.name) {
                    GROUP_SUBSCRIBED_TO_TOPIC
                } else {
                    if group.offsets.remove(&(t.name.clone(), p.partition_index)).is_some() {
                        records.push(tombstone(&r.group_id, &t.name, p.partition_index, now));
                    }
                    error_code::NONE
                };
                rt.partitions.push(OffsetDeleteResponsePartition { partition_index: p.partition_index, error_code: code });
            }
            resp.topics.push(rt);
        }
        let partition = group.partition;
        if records.is_empty() {
            return reply(self, resp);
        }
        self.append(partition, records, Write::Plain { req: Some((req, Response::OffsetDelete(resp))) });
    }
}

fn tombstone(group: &str, topic: &str, partition: i32, now: Millis) -> Record {
    Record { offset_delta: 0, timestamp: now.0, key: Some(store::offset_key(group, topic, partition)), value: None, headers: Vec::new() }
}

/// The topics a consumer group's members subscribe to (from the consumer
/// protocol's subscription: version i16, topics [string], …). Empty for other
/// protocol types or unreadable metadata.
fn subscribed_topics(group: &Group) -> BTreeSet<String> {
    let mut topics = BTreeSet::new();
    if group.protocol_type.as_deref() != Some("consumer") {
        return topics;
    }
    let Some(protocol) = &group.protocol else { return topics };
    for m in group.members.values() {
        let mut r = Reader::new(m.metadata_for(protocol));
        let parsed = r.i16().and_then(|_| r.array(|r| r.string()));
        if let Ok(ts) = parsed {
            topics.extend(ts);
        }
    }
    topics
}

/// A commit is durable (or failed): make it visible and answer.
pub(crate) fn commit_done(
    c: &mut GroupCoordinator,
    req: ReqId,
    group_id: &str,
    offsets: Vec<(String, i32, CommittedOffset)>,
    resp: Response,
    ok: bool,
) {
    let resp = match resp {
        Response::OffsetCommit(mut r) if !ok => {
            for t in &mut r.topics {
                for p in &mut t.partitions {
                    if p.error_code == error_code::NONE {
                        p.error_code = error_code::COORDINATOR_NOT_AVAILABLE;
                    }
                }
            }
            Response::OffsetCommit(r)
        }
        other => other,
    };
    if ok {
        if let Some(g) = c.groups.get_mut(group_id) {
            for (topic, p, v) in offsets {
                g.offsets.insert((topic, p), v);
            }
        }
    }
    c.out.push(GroupOutput::Reply(req, resp));
}

/// Drop every offset of a deleted topic.
pub(crate) fn forget_topic(c: &mut GroupCoordinator, topic: &str) {
    let mut appends = Vec::new();
    for g in c.groups.values_mut() {
        let gone: Vec<(String, i32)> = g.offsets.keys().filter(|(t, _)| t == topic).cloned().collect();
        if gone.is_empty() {
            continue;
        }
        let records = gone.iter().map(|(t, p)| tombstone(&g.id, t, *p, Millis(0))).collect();
        for k in gone {
            g.offsets.remove(&k);
        }
        appends.push((g.partition, records));
    }
    for (partition, records) in appends {
        c.append(partition, records, Write::Plain { req: None });
    }
}

/// Expire offsets of empty groups not committed within the retention; an empty
/// group left with no offsets is removed (group tombstone).
pub(crate) fn expire(c: &mut GroupCoordinator, now: Millis) {
    let retention = c.config.offsets_retention_ms;
    let mut appends = Vec::new();
    let mut dead = Vec::new();
    for g in c.groups.values_mut().filter(|g| g.state == GroupState::Empty) {
        let old: Vec<(String, i32)> = g
            .offsets
            .iter()
            .filter(|(_, v)| v.commit_timestamp.max(g.state_timestamp).saturating_add(retention) <= now.0)
            .map(|(k, _)| k.clone())
            .collect();
        let mut records: Vec<Record> = old.iter().map(|(t, p)| tombstone(&g.id, t, *p, now)).collect();
        for k in &old {
            g.offsets.remove(k);
        }
        if g.offsets.is_empty() && g.state_timestamp.saturating_add(retention) <= now.0 {
            records.push(Record {
                offset_delta: 0,
                timestamp: now.0,
                key: Some(store::group_key(&g.id)),
                value: None,
                headers: Vec::new(),
            });
            dead.push(g.id.clone());
        }
        if !records.is_empty() {
            tracing::info!(group = %g.id, offsets = old.len(), "expiring offsets of an empty group");
            appends.push((g.partition, records));
        }
    }
    for id in dead {
        c.groups.remove(&id);
    }
    for (partition, records) in appends {
        c.append(partition, records, Write::Plain { req: None });
    }
}
