//! JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the rebalance state machine,
//! following Kafka's classic `GroupCoordinator`:
//!
//! ```text
//! Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//!   ▲                  ▲      │                                      │ leader's SyncGroup,
//!   │                  │      └── no member left ──▶ Empty           ▼ assignment durable
//!   └── last member ───┴──────── member joins, leaves, expires ──── Stable
//! ```
//!
//! - A join of a new member (v4+, no member id, not static) is answered
//!   MEMBER_ID_REQUIRED with an id to join with; the id is pending until it does
//!   (or its session timeout passes), and the rebalance waits for it.
//! - JoinGroup answers are parked until the join phase completes: every known
//!   member has rejoined, or the rebalance timeout passed (members that did not
//!   rejoin are removed, static ones kept). The first rebalance of an empty group
//!   waits `group.initial.rebalance.delay.ms` for more members, extended as they
//!   come, up to the rebalance timeout.
//! - SyncGroup answers are parked until the leader's assignment is durable.
//! - Static members (`group.instance.id`) keep their assignment across restarts:
//!   rejoining replaces the old member id (which is then fenced with
//!   FENCED_INSTANCE_ID) and, in a stable group with unchanged protocols, does not
//!   rebalance.
//! - Members waiting in a join or sync are not expired; others are, when their
//!   session timeout passes without a heartbeat, sync or commit.

use bytes::Bytes;

use crate::protocol::error_code;
use crate::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use crate::protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse, JoinGroupResponseMember};
use crate::protocol::messages::leave_group::{LeaveGroupRequest, LeaveGroupResponse, MemberResponse};
use crate::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use crate::protocol::messages::Response;
use crate::records::Record;
use crate::types::Millis;

use super::state::{Group, GroupState, Member, Parked};
use super::{store, valid_group_id, GroupCoordinator, GroupOutput, ReqId, Write};

/// Kafka's MEMBER_ID_REQUIRED (KIP-394).
const MEMBER_ID_REQUIRED: i16 = 79;
/// Kafka's GROUP_MAX_SIZE_REACHED.
const GROUP_MAX_SIZE_REACHED: i16 = 81;
/// Kafka's FENCED_INSTANCE_ID.
const FENCED_INSTANCE_ID: i16 = 82;

fn join_error(code: i16, member_id: &str) -> JoinGroupResponse {
    JoinGroupResponse { error_code: code, generation_id: -1, member_id: member_id.to_string(), ..Default::default() }
}

fn sync_error(code: i16) -> SyncGroupResponse {
    SyncGroupResponse { error_code: code, ..Default::default() }
}

/// Who sent a request (DescribeGroups reports it).
pub struct Client<'a> {
    pub client_id: &'a str,
    pub host: &'a str,
}

impl GroupCoordinator {
    pub fn join_group(&mut self, req: ReqId, version: i16, r: JoinGroupRequest, client: Client, now: Millis) {
        let reply = |c: &mut GroupCoordinator, resp: JoinGroupResponse| c.out.push(GroupOutput::Reply(req, Response::JoinGroup(resp)));
        if !valid_group_id(&r.group_id) {
            return reply(self, join_error(error_code::INVALID_GROUP_ID, &r.member_id));
        }
        if let Some(code) = self.coordinator_error(&r.group_id) {
            return reply(self, join_error(code, &r.member_id));
        }
        if r.session_timeout_ms < self.config.min_session_timeout_ms || r.session_timeout_ms > self.config.max_session_timeout_ms {
            return reply(self, join_error(error_code::INVALID_SESSION_TIMEOUT, &r.member_id));
        }
        let protocols: Vec<(String, Bytes)> = r.protocols.iter().map(|p| (p.name.clone(), p.metadata.clone())).collect();
        let partition = self.partition_for(&r.group_id);
        let accepted = match self.groups.get(&r.group_id) {
            Some(g) => g.accepts(&r.protocol_type, &protocols),
            None if !r.member_id.is_empty() => return reply(self, join_error(error_code::UNKNOWN_MEMBER_ID, &r.member_id)),
            None => !protocols.is_empty() && !r.protocol_type.is_empty(),
        };
        if !accepted {
            return reply(self, join_error(error_code::INCONSISTENT_GROUP_PROTOCOL, &r.member_id));
        }
        let group = self.groups.entry(r.group_id.clone()).or_insert_with(|| Group::new(r.group_id.clone(), partition));
        // JoinGroup v0 has no rebalance timeout: it is the session timeout.
        let rebalance_timeout_ms = if r.rebalance_timeout_ms < 0 { r.session_timeout_ms } else { r.rebalance_timeout_ms };
        let parked = Parked { req, version };
        let instance = r.group_instance_id.clone();
        let new_member = |id: String, seq: u64| Member {
            id,
            instance_id: instance.clone(),
            client_id: client.client_id.to_string(),
            client_host: client.host.to_string(),
            session_timeout_ms: r.session_timeout_ms,
            rebalance_timeout_ms,
            protocol_type: r.protocol_type.clone(),
            protocols: protocols.clone(),
            assignment: Bytes::new(),
            join: Some(parked),
            sync: None,
            session_deadline: now.plus_ms(r.session_timeout_ms as i64),
            joined_seq: seq,
        };

        if r.member_id.is_empty() {
            // A static member rejoining without its id: replace the old id.
            if let Some(instance) = &r.group_instance_id {
                if let Some(old_id) = group.static_members.get(instance).cloned() {
                    let new_id = self.new_member_id(client.client_id);
                    return rejoin_static(self, &r.group_id, &old_id, new_member(new_id, 0), now);
                }
            } else if version >= 4 {
                let id = self.new_member_id(client.client_id);
                let group = self.groups.get_mut(&r.group_id).expect("created above");
                group.pending_members.insert(id.clone(), now.plus_ms(r.session_timeout_ms as i64));
                self.timers_changed(now.plus_ms(r.session_timeout_ms as i64));
                return reply(self, join_error(MEMBER_ID_REQUIRED, &id));
            }
            let group = self.groups.get_mut(&r.group_id).expect("created above");
            if group.members.len() >= self.config.max_size {
                return reply(self, join_error(GROUP_MAX_SIZE_REACHED, ""));
            }
            let id = self.new_member_id(client.client_id);
            let group = self.groups.get_mut(&r.group_id).expect("created above");
            let seq = group.next_join_seq();
            add_member(self, &r.group_id, new_member(id, seq), now);
            return;
        }

        // A known member id.
        let group = self.groups.get_mut(&r.group_id).expect("created above");
        if group.is_fenced(&r.member_id, r.group_instance_id.as_deref()) {
            return reply(self, join_error(FENCED_INSTANCE_ID, &r.member_id));
        }
        if group.pending_members.remove(&r.member_id).is_some() {
            if group.members.len() >= self.config.max_size {
                return reply(self, join_error(GROUP_MAX_SIZE_REACHED, &r.member_id));
            }
            let seq = group.next_join_seq();
            add_member(self, &r.group_id, new_member(r.member_id.clone(), seq), now);
            return;
        }
        let Some(m) = group.members.get_mut(&r.member_id) else {
            return reply(self, join_error(error_code::UNKNOWN_MEMBER_ID, &r.member_id));
        };
        let unchanged = m.protocols == protocols;
        m.session_timeout_ms = r.session_timeout_ms;
        m.rebalance_timeout_ms = rebalance_timeout_ms;
        m.protocols = protocols;
        m.client_id = client.client_id.to_string();
        m.client_host = client.host.to_string();
        let is_leader = group.leader.as_deref() == Some(r.member_id.as_str());
        match group.state {
            GroupState::PreparingRebalance => {
                if let Some(old) = m.join.replace(parked) {
                    // A newer join replaces an older one still parked.
                    self.out.push(GroupOutput::Reply(
                        old.req,
                        Response::JoinGroup(join_error(error_code::REBALANCE_IN_PROGRESS, &r.member_id)),
                    ));
                }
                maybe_complete_join(self, &r.group_id, now);
            }
            GroupState::CompletingRebalance | GroupState::Stable if unchanged && !(group.state == GroupState::Stable && is_leader) => {
                // Nothing changed: the member missed the join answer; repeat it.
                let resp = join_response(group, &r.member_id);
                reply(self, resp);
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                m.join = Some(parked);
                prepare_rebalance(self, &r.group_id, now, "member rejoined with changed protocols or as leader");
            }
            GroupState::Empty | GroupState::Dead => reply(self, join_error(error_code::UNKNOWN_MEMBER_ID, &r.member_id)),
        }
    }

    pub fn sync_group(&mut self, req: ReqId, version: i16, r: SyncGroupRequest, now: Millis) {
        let reply = |c: &mut GroupCoordinator, resp: SyncGroupResponse| c.out.push(GroupOutput::Reply(req, Response::SyncGroup(resp)));
        if !valid_group_id(&r.group_id) {
            return reply(self, sync_error(error_code::INVALID_GROUP_ID));
        }
        if let Some(code) = self.coordinator_error(&r.group_id) {
            return reply(self, sync_error(code));
        }
        let Some(group) = self.groups.get_mut(&r.group_id) else {
            return reply(self, sync_error(error_code::UNKNOWN_MEMBER_ID));
        };
        if group.is_fenced(&r.member_id, r.group_instance_id.as_deref()) {
            return reply(self, sync_error(FENCED_INSTANCE_ID));
        }
        if !group.members.contains_key(&r.member_id) {
            return reply(self, sync_error(error_code::UNKNOWN_MEMBER_ID));
        }
        if r.generation_id != group.generation {
            return reply(self, sync_error(error_code::ILLEGAL_GENERATION));
        }
        let type_mismatch = r.protocol_type.as_ref().is_some_and(|t| Some(t) != group.protocol_type.as_ref());
        let name_mismatch = r.protocol_name.as_ref().is_some_and(|n| Some(n) != group.protocol.as_ref());
        if type_mismatch || name_mismatch {
            return reply(self, sync_error(error_code::INCONSISTENT_GROUP_PROTOCOL));
        }
        match group.state {
            GroupState::PreparingRebalance => reply(self, sync_error(error_code::REBALANCE_IN_PROGRESS)),
            GroupState::Empty | GroupState::Dead => reply(self, sync_error(error_code::UNKNOWN_MEMBER_ID)),
            GroupState::Stable => {
                let m = group.members.get_mut(&r.member_id).expect("checked");
                m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
                let resp = sync_ok(group, &r.member_id);
                reply(self, resp);
            }
            GroupState::CompletingRebalance => {
                let is_leader = group.leader.as_deref() == Some(r.member_id.as_str());
                let m = group.members.get_mut(&r.member_id).expect("checked");
                if let Some(old) = m.sync.replace(Parked { req, version }) {
                    self.out.push(GroupOutput::Reply(old.req, Response::SyncGroup(sync_error(error_code::REBALANCE_IN_PROGRESS))));
                }
                if is_leader {
                    // The leader's assignment, relayed untouched; members it left out get none.
                    for m in group.members.values_mut() {
                        m.assignment = r.assignments.iter().find(|a| a.member_id == m.id).map(|a| a.assignment.clone()).unwrap_or_default();
                    }
                    let generation = group.generation;
                    let (partition, records) = metadata_records(group, now);
                    self.append(partition, records, Write::Assignment { group: r.group_id.clone(), generation });
                }
            }
        }
    }

    pub fn heartbeat(&mut self, req: ReqId, r: HeartbeatRequest, now: Millis) {
        let code = self.heartbeat_code(&r, now);
        self.out.push(GroupOutput::Reply(req, Response::Heartbeat(HeartbeatResponse { error_code: code, ..Default::default() })));
    }

    fn heartbeat_code(&mut self, r: &HeartbeatRequest, now: Millis) -> i16 {
        if !valid_group_id(&r.group_id) {
            return error_code::INVALID_GROUP_ID;
        }
        if let Some(code) = self.coordinator_error(&r.group_id) {
            return code;
        }
        let Some(group) = self.groups.get_mut(&r.group_id) else { return error_code::UNKNOWN_MEMBER_ID };
        if group.is_fenced(&r.member_id, r.group_instance_id.as_deref()) {
            return FENCED_INSTANCE_ID;
        }
        let state = group.state;
        let generation = group.generation;
        let Some(m) = group.members.get_mut(&r.member_id) else { return error_code::UNKNOWN_MEMBER_ID };
        match state {
            GroupState::Empty | GroupState::Dead => error_code::UNKNOWN_MEMBER_ID,
            _ if r.generation_id != generation => error_code::ILLEGAL_GENERATION,
            GroupState::PreparingRebalance => {
                m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
                error_code::REBALANCE_IN_PROGRESS
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
                error_code::NONE
            }
        }
    }

    pub fn leave_group(&mut self, req: ReqId, version: i16, r: LeaveGroupRequest, now: Millis) {
        let reply = |c: &mut GroupCoordinator, resp: LeaveGroupResponse| c.out.push(GroupOutput::Reply(req, Response::LeaveGroup(resp)));
        let error = |code| LeaveGroupResponse { error_code: code, ..Default::default() };
        if !valid_group_id(&r.group_id) {
            return reply(self, error(error_code::INVALID_GROUP_ID));
        }
        if let Some(code) = self.coordinator_error(&r.group_id) {
            return reply(self, error(code));
        }
        // v0-2 name one member; v3+ a batch, each possibly by instance id only.
        let leaving: Vec<(String, Option<String>)> = if version < 3 {
            vec![(r.member_id.clone(), None)]
        } else {
            r.members.iter().map(|m| (m.member_id.clone(), m.group_instance_id.clone())).collect()
        };
        let Some(group) = self.groups.get(&r.group_id) else {
            return reply(self, error(error_code::UNKNOWN_MEMBER_ID));
        };
        let mut results = Vec::new();
        let mut removed = Vec::new();
        for (member_id, instance) in leaving {
            let resolved = match (&instance, member_id.is_empty()) {
                (Some(i), true) => group.static_members.get(i).cloned().ok_or(error_code::UNKNOWN_MEMBER_ID),
                (Some(i), false) if group.static_members.get(i).is_some_and(|m| *m != member_id) => Err(FENCED_INSTANCE_ID),
                _ if group.members.contains_key(&member_id) => Ok(member_id.clone()),
                _ if group.pending_members.contains_key(&member_id) => Ok(member_id.clone()),
                _ => Err(error_code::UNKNOWN_MEMBER_ID),
            };
            let code = match resolved {
                Ok(id) => {
                    removed.push(id);
                    error_code::NONE
                }
                Err(code) => code,
            };
            results.push(MemberResponse { member_id, group_instance_id: instance, error_code: code });
        }
        for id in &removed {
            let group = self.groups.get_mut(&r.group_id).expect("exists");
            if group.pending_members.remove(id).is_none() {
                remove_member(self, &r.group_id, id, now, "member left the group");
            } else {
                maybe_complete_join(self, &r.group_id, now);
            }
        }
        let resp = if version < 3 {
            LeaveGroupResponse { error_code: results.first().map_or(error_code::NONE, |m| m.error_code), ..Default::default() }
        } else {
            LeaveGroupResponse { error_code: error_code::NONE, members: results, ..Default::default() }
        };
        reply(self, resp);
    }
}

/// A member the group knows nothing of yet joins (its answer is parked).
fn add_member(c: &mut GroupCoordinator, group_id: &str, m: Member, now: Millis) {
    let group = c.groups.get_mut(group_id).expect("exists");
    if group.members.is_empty() {
        group.protocol_type = Some(m.protocol_type.clone());
    }
    if let Some(i) = &m.instance_id {
        group.static_members.insert(i.clone(), m.id.clone());
    }
    group.members.insert(m.id.clone(), m);
    match group.state {
        GroupState::PreparingRebalance => {
            // During the initial delay every new member extends the wait.
            if let Some(until) = group.initial_delay_until {
                let delay = c.config.initial_rebalance_delay_ms as i64;
                group.join_deadline = Some(now.plus_ms(delay).min(until));
            }
            maybe_complete_join(c, group_id, now);
        }
        _ => prepare_rebalance(c, group_id, now, "new member joined"),
    }
}

/// A static member came back under a new member id.
fn rejoin_static(c: &mut GroupCoordinator, group_id: &str, old_id: &str, mut new: Member, now: Millis) {
    let group = c.groups.get_mut(group_id).expect("exists");
    let was_leader = group.leader.as_deref() == Some(old_id);
    let Some(old) = group.remove_member(old_id) else { return };
    // The old incarnation's parked requests are fenced.
    for p in [old.join, old.sync].into_iter().flatten() {
        let resp = if old.join == Some(p) {
            Response::JoinGroup(join_error(FENCED_INSTANCE_ID, old_id))
        } else {
            Response::SyncGroup(sync_error(FENCED_INSTANCE_ID))
        };
        c.out.push(GroupOutput::Reply(p.req, resp));
    }
    let unchanged = old.protocols == new.protocols;
    new.assignment = old.assignment;
    new.joined_seq = old.joined_seq;
    let new_id = new.id.clone();
    if let Some(i) = &new.instance_id {
        group.static_members.insert(i.clone(), new_id.clone());
    }
    if was_leader {
        group.leader = Some(new_id.clone());
    }
    match group.state {
        GroupState::Stable if unchanged => {
            // No rebalance: answer with the current generation; the member syncs
            // and gets its old assignment back.
            let parked = new.join.take().expect("a join is parked");
            group.members.insert(new_id.clone(), new);
            let resp = join_response(group, &new_id);
            c.out.push(GroupOutput::Reply(parked.req, Response::JoinGroup(resp)));
            let (partition, records) = metadata_records(group, now);
            c.append(partition, records, Write::Plain { req: None });
        }
        GroupState::PreparingRebalance => {
            group.members.insert(new_id, new);
            maybe_complete_join(c, group_id, now);
        }
        _ => {
            group.members.insert(new_id, new);
            prepare_rebalance(c, group_id, now, "static member rejoined");
        }
    }
}

/// The JoinGroup answer of `member` in the current generation; the leader gets
/// every member's metadata for the chosen protocol.
fn join_response(group: &Group, member: &str) -> JoinGroupResponse {
    let protocol = group.protocol.clone().unwrap_or_default();
    let leader = group.leader.clone().unwrap_or_default();
    let members = if leader == member {
        let mut ms: Vec<&Member> = group.members.values().collect();
        ms.sort_by_key(|m| m.joined_seq);
        ms.iter()
            .map(|m| JoinGroupResponseMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata_for(&protocol),
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinGroupResponse {
        throttle_time_ms: 0,
        error_code: error_code::NONE,
        generation_id: group.generation,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol.clone(),
        leader,
        skip_assignment: false,
        member_id: member.to_string(),
        members,
    }
}

fn sync_ok(group: &Group, member: &str) -> SyncGroupResponse {
    SyncGroupResponse {
        error_code: error_code::NONE,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol.clone(),
        assignment: group.members.get(member).map(|m| m.assignment.clone()).unwrap_or_default(),
        ..Default::default()
    }
}

/// The group metadata record of the current generation.
fn metadata_records(group: &mut Group, now: Millis) -> (i32, Vec<Record>) {
    let value = store::group_value(&group.to_stored());
    group.stored = Some(value.clone());
    let record =
        Record { offset_delta: 0, timestamp: now.0, key: Some(store::group_key(&group.id)), value: Some(value), headers: Vec::new() };
    (group.partition, vec![record])
}

/// Begin a rebalance: members must rejoin.
pub(crate) fn prepare_rebalance(c: &mut GroupCoordinator, group_id: &str, now: Millis, why: &str) {
    let group = c.groups.get_mut(group_id).expect("exists");
    // Syncs parked in CompletingRebalance will not get this generation's assignment.
    for m in group.members.values_mut() {
        if let Some(p) = m.sync.take() {
            c.out.push(GroupOutput::Reply(p.req, Response::SyncGroup(sync_error(error_code::REBALANCE_IN_PROGRESS))));
        }
        m.assignment = Bytes::new();
    }
    let timeout = group.members.values().map(|m| m.rebalance_timeout_ms as i64).max().unwrap_or(0);
    let was_empty = group.state == GroupState::Empty;
    group.state = GroupState::PreparingRebalance;
    group.state_timestamp = now.0;
    if was_empty && c.config.initial_rebalance_delay_ms > 0 {
        let delay = (c.config.initial_rebalance_delay_ms as i64).min(timeout);
        group.initial_delay_until = Some(now.plus_ms(timeout));
        group.join_deadline = Some(now.plus_ms(delay));
    } else {
        group.initial_delay_until = None;
        group.join_deadline = Some(now.plus_ms(timeout));
    }
    tracing::debug!(group = group_id, generation = group.generation, why, "preparing rebalance");
    let deadline = group.join_deadline;
    if let Some(d) = deadline {
        c.timers_changed(d);
    }
    maybe_complete_join(c, group_id, now);
}

/// Finish the join phase if every member is in (never during the initial delay).
pub(crate) fn maybe_complete_join(c: &mut GroupCoordinator, group_id: &str, now: Millis) {
    let Some(group) = c.groups.get(group_id) else { return };
    if group.state != GroupState::PreparingRebalance || group.initial_delay_until.is_some() || !group.all_joined() {
        return;
    }
    complete_join(c, group_id, now);
}

/// End the join phase: drop dynamic members that did not rejoin, open the next
/// generation and answer every parked join.
fn complete_join(c: &mut GroupCoordinator, group_id: &str, now: Millis) {
    let group = c.groups.get_mut(group_id).expect("exists");
    let absent: Vec<String> =
        group.members.values().filter(|m| m.join.is_none() && m.instance_id.is_none()).map(|m| m.id.clone()).collect();
    for id in absent {
        group.remove_member(&id);
    }
    group.pending_members.clear();
    group.join_deadline = None;
    group.initial_delay_until = None;
    group.generation += 1;
    group.state_timestamp = now.0;
    if group.members.is_empty() {
        group.state = GroupState::Empty;
        group.protocol = None;
        group.leader = None;
        tracing::debug!(group = group_id, generation = group.generation, "group is empty");
        let (partition, records) = metadata_records(group, now);
        c.append(partition, records, Write::Plain { req: None });
        return;
    }
    if group.leader.as_ref().is_none_or(|l| group.members.get(l).is_none_or(|m| m.join.is_none())) {
        group.leader = group.members.values().filter(|m| m.join.is_some()).min_by_key(|m| m.joined_seq).map(|m| m.id.clone());
    }
    group.protocol = group.select_protocol();
    group.state = GroupState::CompletingRebalance;
    tracing::debug!(group = group_id, generation = group.generation, members = group.members.len(), protocol = ?group.protocol, "rebalance: join complete");
    let ids: Vec<String> = group.members.keys().cloned().collect();
    for id in ids {
        let resp = join_response(group, &id);
        let m = group.members.get_mut(&id).expect("listed");
        m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
        if let Some(p) = m.join.take() {
            c.out.push(GroupOutput::Reply(p.req, Response::JoinGroup(resp)));
        }
    }
    c.timers_changed(now);
}

/// The leader's assignment is durable (or not): stabilize and answer the syncs.
pub(crate) fn assignment_written(c: &mut GroupCoordinator, group_id: &str, generation: i32, ok: bool, now: Millis) {
    let Some(group) = c.groups.get_mut(group_id) else { return };
    if group.generation != generation || group.state != GroupState::CompletingRebalance {
        return;
    }
    if !ok {
        for m in group.members.values_mut() {
            if let Some(p) = m.sync.take() {
                c.out.push(GroupOutput::Reply(p.req, Response::SyncGroup(sync_error(error_code::COORDINATOR_NOT_AVAILABLE))));
            }
        }
        prepare_rebalance(c, group_id, now, "storing the assignment failed");
        return;
    }
    group.state = GroupState::Stable;
    group.state_timestamp = now.0;
    let ids: Vec<String> = group.members.keys().cloned().collect();
    for id in ids {
        let resp = sync_ok(group, &id);
        let m = group.members.get_mut(&id).expect("listed");
        m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
        if let Some(p) = m.sync.take() {
            c.out.push(GroupOutput::Reply(p.req, Response::SyncGroup(resp)));
        }
    }
    c.timers_changed(now);
}

/// A member is gone (left or expired).
pub(crate) fn remove_member(c: &mut GroupCoordinator, group_id: &str, id: &str, now: Millis, why: &str) {
    let group = c.groups.get_mut(group_id).expect("exists");
    let Some(m) = group.remove_member(id) else { return };
    tracing::debug!(group = group_id, member = id, why, "member removed");
    if let Some(p) = m.join {
        c.out.push(GroupOutput::Reply(p.req, Response::JoinGroup(join_error(error_code::UNKNOWN_MEMBER_ID, id))));
    }
    if let Some(p) = m.sync {
        c.out.push(GroupOutput::Reply(p.req, Response::SyncGroup(sync_error(error_code::UNKNOWN_MEMBER_ID))));
    }
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance => prepare_rebalance(c, group_id, now, why),
        GroupState::PreparingRebalance => maybe_complete_join(c, group_id, now),
        GroupState::Empty | GroupState::Dead => {}
    }
}

/// Run the timers of one group.
pub(crate) fn expire(c: &mut GroupCoordinator, group_id: &str, now: Millis) {
    let Some(group) = c.groups.get_mut(group_id) else { return };
    group.pending_members.retain(|_, deadline| *deadline > now);
    let expired: Vec<String> = group
        .members
        .values()
        .filter(|m| m.join.is_none() && m.sync.is_none() && m.session_deadline <= now)
        .map(|m| m.id.clone())
        .collect();
    for id in expired {
        remove_member(c, group_id, &id, now, "session timeout expired");
    }
    let Some(group) = c.groups.get_mut(group_id) else { return };
    if group.state == GroupState::PreparingRebalance && group.join_deadline.is_some_and(|d| d <= now) {
        if let Some(until) = group.initial_delay_until {
            // The initial delay is over; wait on only while members are missing.
            group.initial_delay_until = None;
            group.join_deadline = Some(until);
            maybe_complete_join(c, group_id, now);
        } else {
            complete_join(c, group_id, now);
        }
    } else {
        maybe_complete_join(c, group_id, now);
    }
}

/// Answer every parked request of a group with `code` (the group leaves this coordinator).
pub(crate) fn fail_parked(group: &mut Group, code: i16, out: &mut Vec<GroupOutput>) {
    for m in group.members.values_mut() {
        if let Some(p) = m.join.take() {
            out.push(GroupOutput::Reply(p.req, Response::JoinGroup(join_error(code, &m.id))));
        }
        if let Some(p) = m.sync.take() {
            out.push(GroupOutput::Reply(p.req, Response::SyncGroup(sync_error(code))));
        }
    }
}
