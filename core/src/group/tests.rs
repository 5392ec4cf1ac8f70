//! Coordinator tests: the rebalance protocol, offsets and replay, driven directly
//! (appends are reported durable, or failed, by the test).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::protocol::error_code as ec;
use crate::protocol::messages::heartbeat::HeartbeatRequest;
use crate::protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol, JoinGroupResponse};
use crate::protocol::messages::leave_group::{LeaveGroupRequest, MemberIdentity};
use crate::protocol::messages::offset_commit::{OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use crate::protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchRequestTopic};
use crate::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment, SyncGroupResponse};
use crate::protocol::messages::{delete_groups, describe_groups, list_groups, Response};
use crate::records::Record;
use crate::types::Millis;

use super::membership::Client;
use super::state::GroupState;
use super::{GroupConfig, GroupCoordinator, GroupOutput, ReqId, WriteId};

const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;

struct Co {
    c: GroupCoordinator,
    now: Millis,
    replies: BTreeMap<ReqId, Response>,
    next: ReqId,
    /// Appends not yet reported (when `hold` is set).
    held: Vec<WriteId>,
    hold: bool,
    /// Every record appended, per partition, in order.
    log: BTreeMap<i32, Vec<Record>>,
}

impl Co {
    fn new() -> Co {
        let config = GroupConfig { offsets_partitions: 4, ..Default::default() };
        let mut c = GroupCoordinator::new(config, 7);
        let now = Millis(1_000_000);
        for p in 0..4 {
            c.begin_load(p);
            c.finish_load(p, now);
        }
        Co { c, now, replies: BTreeMap::new(), next: 1, held: Vec::new(), hold: false, log: BTreeMap::new() }
    }

    fn pump(&mut self) {
        loop {
            let outs = self.c.take_outputs();
            if outs.is_empty() {
                return;
            }
            for o in outs {
                match o {
                    GroupOutput::Reply(req, resp) => {
                        assert!(self.replies.insert(req, resp).is_none(), "request {req} answered twice");
                    }
                    GroupOutput::Append { partition, write, records, .. } => {
                        self.log.entry(partition).or_default().extend(records);
                        if self.hold {
                            self.held.push(write);
                        } else {
                            self.c.on_write_done(write, true, self.now);
                        }
                    }
                }
            }
        }
    }

    fn release(&mut self, ok: bool) {
        for w in std::mem::take(&mut self.held) {
            self.c.on_write_done(w, ok, self.now);
        }
        self.pump();
    }

    fn advance(&mut self, ms: i64) {
        self.now = self.now.plus_ms(ms);
        self.c.on_tick(self.now);
        self.pump();
    }

    fn req(&mut self) -> ReqId {
        self.next += 1;
        self.next
    }

    fn join(&mut self, group: &str, member: &str, instance: Option<&str>, protocols: &[&str]) -> ReqId {
        let id = self.req();
        let r = JoinGroupRequest {
            group_id: group.into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            member_id: member.into(),
            group_instance_id: instance.map(str::to_string),
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|p| JoinGroupRequestProtocol { name: p.to_string(), metadata: Bytes::from(format!("meta-{p}")) })
                .collect(),
            ..Default::default()
        };
        self.c.join_group(id, 7, r, Client { client_id: "cli", host: "/127.0.0.1" }, self.now);
        self.pump();
        id
    }

    fn join_reply(&mut self, id: ReqId) -> Option<JoinGroupResponse> {
        match self.replies.remove(&id)? {
            Response::JoinGroup(r) => Some(r),
            other => panic!("{other:?}"),
        }
    }

    /// Join as a new dynamic member (the MEMBER_ID_REQUIRED round trip); returns
    /// the parked join's id and the member id.
    fn join_new(&mut self, group: &str) -> (ReqId, String) {
        let first = self.join(group, "", None, &["range"]);
        let r = self.join_reply(first).expect("answered at once");
        assert_eq!(r.error_code, MEMBER_ID_REQUIRED);
        assert!(r.member_id.starts_with("cli-"), "{}", r.member_id);
        let id = self.join(group, &r.member_id, None, &["range"]);
        (id, r.member_id)
    }

    fn sync(&mut self, group: &str, member: &str, generation: i32, assignments: &[(&str, &str)]) -> ReqId {
        let id = self.req();
        let r = SyncGroupRequest {
            group_id: group.into(),
            generation_id: generation,
            member_id: member.into(),
            assignments: assignments
                .iter()
                .map(|(m, a)| SyncGroupRequestAssignment { member_id: m.to_string(), assignment: Bytes::from(a.to_string()) })
                .collect(),
            ..Default::default()
        };
        self.c.sync_group(id, 5, r, self.now);
        self.pump();
        id
    }

    fn sync_reply(&mut self, id: ReqId) -> Option<SyncGroupResponse> {
        match self.replies.remove(&id)? {
            Response::SyncGroup(r) => Some(r),
            other => panic!("{other:?}"),
        }
    }

    fn heartbeat(&mut self, group: &str, member: &str, generation: i32, instance: Option<&str>) -> i16 {
        let id = self.req();
        let r = HeartbeatRequest {
            group_id: group.into(),
            generation_id: generation,
            member_id: member.into(),
            group_instance_id: instance.map(str::to_string),
        };
        self.c.heartbeat(id, r, self.now);
        self.pump();
        match self.replies.remove(&id) {
            Some(Response::Heartbeat(r)) => r.error_code,
            other => panic!("{other:?}"),
        }
    }

    fn commit(&mut self, group: &str, member: &str, generation: i32, topic: &str, partition: i32, offset: i64) -> ReqId {
        let id = self.req();
        let r = OffsetCommitRequest {
            group_id: group.into(),
            generation_id_or_member_epoch: generation,
            member_id: member.into(),
            topics: vec![OffsetCommitRequestTopic {
                name: topic.into(),
                partitions: vec![OffsetCommitRequestPartition {
                    partition_index: partition,
                    committed_offset: offset,
                    committed_leader_epoch: -1,
                    committed_metadata: Some("md".into()),
                }],
            }],
            ..Default::default()
        };
        self.c.offset_commit(id, r, self.now, |t, _| t != "missing");
        self.pump();
        id
    }

    fn commit_code(&mut self, id: ReqId) -> Option<i16> {
        match self.replies.remove(&id)? {
            Response::OffsetCommit(r) => Some(r.topics[0].partitions[0].error_code),
            other => panic!("{other:?}"),
        }
    }

    fn fetched(&mut self, group: &str, topic: &str, partition: i32) -> i64 {
        let id = self.req();
        let r = OffsetFetchRequest {
            group_id: group.into(),
            topics: Some(vec![OffsetFetchRequestTopic { name: topic.into(), partition_indexes: vec![partition] }]),
            ..Default::default()
        };
        self.c.offset_fetch(id, 7, r);
        self.pump();
        match self.replies.remove(&id) {
            Some(Response::OffsetFetch(r)) => {
                assert_eq!(r.error_code, ec::NONE);
                r.topics[0].partitions[0].committed_offset
            }
            other => panic!("{other:?}"),
        }
    }

    /// One member joins an empty group and settles generation 1 with assignment "a".
    fn stable_single(&mut self, group: &str) -> String {
        let (j, m) = self.join_new(group);
        assert!(self.join_reply(j).is_none(), "the first join waits for the initial delay");
        self.advance(3_000);
        let r = self.join_reply(j).expect("join completes after the initial delay");
        assert_eq!((r.error_code, r.generation_id, r.leader.as_str()), (ec::NONE, 1, m.as_str()));
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
        assert_eq!(r.members.len(), 1);
        assert_eq!(r.members[0].metadata, Bytes::from_static(b"meta-range"));
        let s = self.sync(group, &m, 1, &[(&m, "a")]);
        let s = self.sync_reply(s).expect("answered once durable");
        assert_eq!((s.error_code, &s.assignment[..]), (ec::NONE, &b"a"[..]));
        m
    }
}

#[test]
fn a_single_member_settles_a_generation() {
    let mut co = Co::new();
    let m = co.stable_single("g");
    assert_eq!(co.c.group_state("g"), Some(GroupState::Stable));
    assert_eq!(co.heartbeat("g", &m, 1, None), ec::NONE);
    assert_eq!(co.heartbeat("g", &m, 0, None), ec::ILLEGAL_GENERATION);
    assert_eq!(co.heartbeat("g", "nobody", 1, None), ec::UNKNOWN_MEMBER_ID);
}

/// A second member triggers a rebalance; the first learns of it from its
/// heartbeat, rejoins, and both get the new generation; the follower's sync
/// waits for the leader's assignment.
#[test]
fn a_second_member_rebalances_the_group() {
    let mut co = Co::new();
    let m1 = co.stable_single("g");
    let (j2, m2) = co.join_new("g");
    assert!(co.join_reply(j2).is_none());
    assert_eq!(co.heartbeat("g", &m1, 1, None), ec::REBALANCE_IN_PROGRESS);
    let j1 = co.join("g", &m1, None, &["range"]);
    let r1 = co.join_reply(j1).expect("all joined");
    let r2 = co.join_reply(j2).expect("all joined");
    assert_eq!((r1.generation_id, r2.generation_id), (2, 2));
    assert_eq!(r1.leader, m1, "the leader stays");
    assert_eq!(r1.members.len(), 2);
    assert!(r2.members.is_empty(), "only the leader gets the members");
    let s2 = co.sync("g", &m2, 2, &[]);
    assert!(co.sync_reply(s2).is_none(), "the follower waits for the leader");
    let s1 = co.sync("g", &m1, 2, &[(&m1, "p0"), (&m2, "p1")]);
    assert_eq!(&co.sync_reply(s1).unwrap().assignment[..], b"p0");
    assert_eq!(&co.sync_reply(s2).unwrap().assignment[..], b"p1");
}

/// A member that stops heartbeating is removed after its session timeout and
/// the others rebalance without it.
#[test]
fn session_timeout_removes_a_member() {
    let mut co = Co::new();
    let m1 = co.stable_single("g");
    let (j2, m2) = co.join_new("g");
    let j1 = co.join("g", &m1, None, &["range"]);
    co.join_reply(j1).unwrap();
    co.join_reply(j2).unwrap();
    let s1 = co.sync("g", &m1, 2, &[(&m1, "x"), (&m2, "y")]);
    co.sync_reply(s1).unwrap();
    // m1 heartbeats, m2 is silent.
    for _ in 0..4 {
        co.advance(3_000);
        let code = co.heartbeat("g", &m1, 2, None);
        if code == ec::REBALANCE_IN_PROGRESS {
            break;
        }
        assert_eq!(code, ec::NONE);
    }
    assert_eq!(co.c.group_state("g"), Some(GroupState::PreparingRebalance));
    let j1 = co.join("g", &m1, None, &["range"]);
    let r = co.join_reply(j1).expect("m2 is gone, so m1 alone completes the join");
    assert_eq!((r.generation_id, r.members.len()), (3, 1));
    assert_eq!(co.heartbeat("g", &m2, 2, None), ec::UNKNOWN_MEMBER_ID);
}

/// A member that does not rejoin within the rebalance timeout is dropped.
#[test]
fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let mut co = Co::new();
    let m1 = co.stable_single("g");
    let (j2, _m2) = co.join_new("g");
    // m1 keeps heartbeating but never rejoins.
    for _ in 0..9 {
        co.advance(3_000);
        co.heartbeat("g", &m1, 1, None);
    }
    assert!(co.join_reply(j2).is_none());
    co.advance(3_500);
    let r = co.join_reply(j2).expect("the rebalance timeout completed the join");
    assert_eq!((r.error_code, r.generation_id, r.members.len()), (ec::NONE, 2, 1));
    assert_eq!(co.heartbeat("g", &m1, 1, None), ec::UNKNOWN_MEMBER_ID);
}

/// A static member that restarts gets a new member id, keeps its assignment
/// without a rebalance, and its old id is fenced.
#[test]
fn static_member_rejoins_without_rebalance() {
    let mut co = Co::new();
    let j = co.join("g", "", Some("i1"), &["range"]);
    co.advance(3_000);
    let r = co.join_reply(j).unwrap();
    let old = r.member_id.clone();
    let s = co.sync("g", &old, 1, &[(&old, "mine")]);
    co.sync_reply(s).unwrap();
    let j = co.join("g", "", Some("i1"), &["range"]);
    let r = co.join_reply(j).expect("answered at once: no rebalance");
    assert_eq!(r.generation_id, 1);
    assert_ne!(r.member_id, old);
    let s = co.sync("g", &r.member_id, 1, &[]);
    assert_eq!(&co.sync_reply(s).unwrap().assignment[..], b"mine");
    assert_eq!(co.heartbeat("g", &old, 1, Some("i1")), FENCED_INSTANCE_ID);
    assert_eq!(co.heartbeat("g", &r.member_id, 1, Some("i1")), ec::NONE);
    assert_eq!(co.c.group_state("g"), Some(GroupState::Stable));
}

#[test]
fn leave_group_in_a_batch_and_alone() {
    let mut co = Co::new();
    let m = co.stable_single("g");
    let id = co.req();
    let r = LeaveGroupRequest {
        group_id: "g".into(),
        members: vec![
            MemberIdentity { member_id: m.clone(), ..Default::default() },
            MemberIdentity { member_id: "ghost".into(), ..Default::default() },
        ],
        ..Default::default()
    };
    co.c.leave_group(id, 4, r, co.now);
    co.pump();
    let Some(Response::LeaveGroup(resp)) = co.replies.remove(&id) else { panic!() };
    assert_eq!(resp.error_code, ec::NONE);
    assert_eq!(resp.members.iter().map(|m| m.error_code).collect::<Vec<_>>(), vec![ec::NONE, ec::UNKNOWN_MEMBER_ID]);
    assert_eq!(co.c.group_state("g"), Some(GroupState::Empty));
}

/// Commits are visible only once durable; a failed append is answered with a
/// retriable error and changes nothing.
#[test]
fn commits_become_visible_when_durable() {
    let mut co = Co::new();
    let m = co.stable_single("g");
    co.hold = true;
    let c = co.commit("g", &m, 1, "t", 0, 10);
    assert_eq!(co.commit_code(c), None, "not answered before the append is durable");
    assert_eq!(co.fetched("g", "t", 0), -1);
    co.release(true);
    assert_eq!(co.commit_code(c), Some(ec::NONE));
    assert_eq!(co.fetched("g", "t", 0), 10);
    let c = co.commit("g", &m, 1, "t", 0, 20);
    co.release(false);
    assert_eq!(co.commit_code(c), Some(ec::COORDINATOR_NOT_AVAILABLE));
    assert_eq!(co.fetched("g", "t", 0), 10);
    co.hold = false;
    let c = co.commit("g", &m, 0, "t", 0, 30);
    assert_eq!(co.commit_code(c), Some(ec::ILLEGAL_GENERATION));
    let c = co.commit("g", "ghost", 1, "t", 0, 30);
    assert_eq!(co.commit_code(c), Some(ec::UNKNOWN_MEMBER_ID));
    let c = co.commit("g", "", -1, "t", 0, 30);
    assert_eq!(co.commit_code(c), Some(ec::UNKNOWN_MEMBER_ID), "a simple commit into an active group");
    let c = co.commit("g", &m, 1, "missing", 0, 30);
    assert_eq!(co.commit_code(c), Some(ec::UNKNOWN_TOPIC_OR_PARTITION));
    // A group of assign()-only consumers.
    let c = co.commit("solo", "", -1, "t", 3, 5);
    assert_eq!(co.commit_code(c), Some(ec::NONE));
    assert_eq!(co.fetched("solo", "t", 3), 5);
}

/// Replaying what was appended restores offsets and the stable generation.
#[test]
fn replay_restores_offsets_and_generation() {
    let mut co = Co::new();
    let m = co.stable_single("g");
    let c = co.commit("g", &m, 1, "t", 0, 42);
    co.commit_code(c).unwrap();
    let c = co.commit("solo", "", -1, "t", 1, 7);
    co.commit_code(c).unwrap();
    let mut fresh = GroupCoordinator::new(GroupConfig { offsets_partitions: 4, ..Default::default() }, 8);
    for (p, records) in &co.log {
        fresh.begin_load(*p);
        assert_eq!(fresh.coordinator_error("g").is_some(), fresh.partition_for("g") == *p);
        for r in records {
            fresh.load_record(*p, r.key.as_ref().unwrap(), r.value.as_ref());
        }
        fresh.finish_load(*p, co.now);
    }
    co.c = fresh;
    assert_eq!(co.fetched("g", "t", 0), 42);
    assert_eq!(co.fetched("solo", "t", 1), 7);
    assert_eq!(co.c.group_state("g"), Some(GroupState::Stable));
    assert_eq!(co.heartbeat("g", &m, 1, None), ec::NONE, "the member carries on after the restart");
}

#[test]
fn coordinator_errors_while_not_served_or_loading() {
    let mut c = GroupCoordinator::new(GroupConfig { offsets_partitions: 4, ..Default::default() }, 1);
    assert_eq!(c.coordinator_error("g"), Some(ec::NOT_COORDINATOR));
    c.begin_load(c.partition_for("g"));
    assert_eq!(c.coordinator_error("g"), Some(ec::COORDINATOR_LOAD_IN_PROGRESS));
    c.finish_load(c.partition_for("g"), Millis(0));
    assert_eq!(c.coordinator_error("g"), None);
}

#[test]
fn delete_list_and_describe_groups() {
    let mut co = Co::new();
    let m = co.stable_single("busy");
    let c = co.commit("idle", "", -1, "t", 0, 1);
    co.commit_code(c).unwrap();
    let id = co.req();
    co.c.list_groups(id, list_groups::ListGroupsRequest::default());
    co.pump();
    let Some(Response::ListGroups(l)) = co.replies.remove(&id) else { panic!() };
    let mut listed: Vec<(String, String)> = l.groups.iter().map(|g| (g.group_id.clone(), g.group_state.clone())).collect();
    listed.sort();
    assert_eq!(listed, vec![("busy".into(), "Stable".into()), ("idle".into(), "Empty".into())]);
    let id = co.req();
    co.c.describe_groups(id, describe_groups::DescribeGroupsRequest { groups: vec!["busy".into(), "nope".into()], ..Default::default() });
    co.pump();
    let Some(Response::DescribeGroups(d)) = co.replies.remove(&id) else { panic!() };
    assert_eq!(d.groups[0].group_state, "Stable");
    assert_eq!(d.groups[0].protocol_data, "range");
    assert_eq!(d.groups[0].members[0].member_id, m);
    assert_eq!(&d.groups[0].members[0].member_assignment[..], b"a");
    assert_eq!(d.groups[1].group_state, "Dead");
    let id = co.req();
    co.c.delete_groups(id, delete_groups::DeleteGroupsRequest { groups_names: vec!["busy".into(), "idle".into(), "nope".into()] }, co.now);
    co.pump();
    let Some(Response::DeleteGroups(r)) = co.replies.remove(&id) else { panic!() };
    let codes: Vec<i16> = r.results.iter().map(|g| g.error_code).collect();
    assert_eq!(codes, vec![ec::NON_EMPTY_GROUP, ec::NONE, ec::GROUP_ID_NOT_FOUND]);
    assert_eq!(co.fetched("idle", "t", 0), -1);
}

/// Offsets of an empty group expire after the retention; a live group's do not.
#[test]
fn offsets_of_empty_groups_expire() {
    let mut co = Co::new();
    let m = co.stable_single("live");
    let c = co.commit("live", &m, 1, "t", 0, 1);
    co.commit_code(c).unwrap();
    let c = co.commit("gone", "", -1, "t", 0, 1);
    co.commit_code(c).unwrap();
    let week = co.c.config.offsets_retention_ms;
    co.now = co.now.plus_ms(week + 1);
    co.c.expire_offsets(co.now);
    co.pump();
    assert_eq!(co.fetched("gone", "t", 0), -1);
    assert_eq!(co.fetched("live", "t", 0), 1);
    // The tombstones are in the log, so a replay agrees.
    let last = co.log.values().flatten().filter(|r| r.value.is_none()).count();
    assert!(last >= 2, "offset and group tombstones appended");
}

/// Members ids are unique and differ between coordinators seeded differently.
#[test]
fn member_ids_are_unique() {
    let mut a = GroupCoordinator::new(GroupConfig::default(), 1);
    let mut b = GroupCoordinator::new(GroupConfig::default(), 2);
    let ids: Vec<String> = (0..100).map(|_| a.new_member_id("c")).chain((0..100).map(|_| b.new_member_id("c"))).collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 200);
}

/// Refused joins and commits leave no group behind (ListGroups stays empty).
#[test]
fn refused_requests_create_no_group() {
    let mut co = Co::new();
    let j = co.join("g", "", None, &[]);
    assert_eq!(co.join_reply(j).unwrap().error_code, ec::INCONSISTENT_GROUP_PROTOCOL);
    let j = co.join("g", "stale-member", None, &["range"]);
    assert_eq!(co.join_reply(j).unwrap().error_code, ec::UNKNOWN_MEMBER_ID);
    let c = co.commit("g", "stale-member", 3, "t", 0, 1);
    assert_eq!(co.commit_code(c), Some(ec::UNKNOWN_MEMBER_ID));
    assert_eq!(co.c.group_state("g"), None);
}
