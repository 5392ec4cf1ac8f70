//! Groups and members, and the facts about them the handlers share.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::types::Millis;

use super::store::{CommittedOffset, StoredGroup, StoredMember};
use super::ReqId;

/// Kafka's classic group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (offsets may remain).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka reports (DescribeGroups, ListGroups).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A parked JoinGroup or SyncGroup: the request and the version to answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parked {
    pub req: ReqId,
    pub version: i16,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub join: Option<Parked>,
    pub sync: Option<Parked>,
    pub session_deadline: Millis,
    /// Order of joining, so the first member to join leads a new group.
    pub joined_seq: u64,
}

impl Member {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(n, _)| n == protocol)
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    /// Its `__consumer_offsets` partition.
    pub partition: i32,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// group.instance.id → member id of static members.
    pub static_members: BTreeMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, until they join or expire.
    pub pending_members: BTreeMap<String, Millis>,
    /// When the current join phase ends at the latest.
    pub join_deadline: Option<Millis>,
    /// During the initial delay: the latest the delay may be extended to.
    pub initial_delay_until: Option<Millis>,
    pub state_timestamp: i64,
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// The group metadata value last written (compaction rewrites it as is).
    pub stored: Option<Bytes>,
    next_join_seq: u64,
}

impl Group {
    pub fn new(id: String, partition: i32) -> Group {
        Group {
            id,
            partition,
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            join_deadline: None,
            initial_delay_until: None,
            state_timestamp: -1,
            offsets: BTreeMap::new(),
            stored: None,
            next_join_seq: 0,
        }
    }

    pub fn next_join_seq(&mut self) -> u64 {
        self.next_join_seq += 1;
        self.next_join_seq
    }

    /// Whether `member` may act as `instance` (a static member's id changes on
    /// every rejoin without a member id; an old instance is fenced).
    pub fn is_fenced(&self, member: &str, instance: Option<&str>) -> bool {
        match instance {
            Some(i) => self.static_members.get(i).is_some_and(|m| m != member),
            None => false,
        }
    }

    pub fn all_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.join.is_some())
    }

    /// The protocol every member supports that most members prefer (ties: the
    /// first such in the leader's (or first member's) list).
    pub fn select_protocol(&self) -> Option<String> {
        let first = self.leader.as_ref().and_then(|l| self.members.get(l)).or_else(|| self.members.values().next())?;
        let candidates: Vec<&String> =
            first.protocols.iter().map(|(n, _)| n).filter(|n| self.members.values().all(|m| m.supports(n))).collect();
        let mut best: Option<(&String, usize)> = None;
        for c in &candidates {
            let votes =
                self.members.values().filter(|m| m.protocols.iter().map(|(n, _)| n).find(|n| candidates.contains(n)) == Some(*c)).count();
            if best.is_none_or(|(_, v)| votes > v) {
                best = Some((c, votes));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    /// Whether a member with these protocols could join (some protocol in common
    /// with every current member, same protocol type).
    pub fn accepts(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocols.is_empty() || protocol_type.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type) && protocols.iter().any(|(n, _)| self.members.values().all(|m| m.supports(n)))
    }

    pub fn remove_member(&mut self, id: &str) -> Option<Member> {
        let m = self.members.remove(id)?;
        if let Some(i) = &m.instance_id {
            if self.static_members.get(i).is_some_and(|x| x == id) {
                self.static_members.remove(i);
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = None;
        }
        Some(m)
    }

    /// The earliest timer of this group.
    pub fn next_deadline(&self) -> Option<Millis> {
        let sessions = self.members.values().filter(|m| m.join.is_none() && m.sync.is_none()).map(|m| m.session_deadline);
        let pending = self.pending_members.values().copied();
        sessions.chain(pending).chain(self.join_deadline).min()
    }

    /// The group as stored in its metadata record.
    pub fn to_stored(&self) -> StoredGroup {
        let protocol = self.protocol.clone();
        StoredGroup {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: protocol.clone(),
            leader: self.leader.clone(),
            state_timestamp: self.state_timestamp,
            members: self
                .members
                .values()
                .map(|m| StoredMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: protocol.as_deref().map(|p| m.metadata_for(p)).unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Take the stored generation (replay). Members come back with their
    /// assignment; their sessions start when loading finishes.
    pub fn restore(&mut self, s: StoredGroup) {
        self.stored = Some(super::store::group_value(&s));
        self.generation = s.generation;
        self.protocol_type = (!s.protocol_type.is_empty()).then_some(s.protocol_type);
        self.protocol = s.protocol;
        self.leader = s.leader;
        self.state_timestamp = s.state_timestamp;
        self.members.clear();
        self.static_members.clear();
        for (seq, m) in s.members.into_iter().enumerate() {
            let protocols = match &self.protocol {
                Some(p) => vec![(p.clone(), m.subscription)],
                None => Vec::new(),
            };
            if let Some(i) = &m.group_instance_id {
                self.static_members.insert(i.clone(), m.member_id.clone());
            }
            self.members.insert(
                m.member_id.clone(),
                Member {
                    id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocol_type: self.protocol_type.clone().unwrap_or_default(),
                    protocols,
                    assignment: m.assignment,
                    join: None,
                    sync: None,
                    session_deadline: Millis(0),
                    joined_seq: seq as u64,
                },
            );
        }
        self.next_join_seq = self.members.len() as u64;
        self.state = if self.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
    }

    pub fn after_load(&mut self, now: Millis) {
        for m in self.members.values_mut() {
            m.session_deadline = now.plus_ms(m.session_timeout_ms as i64);
        }
    }
}
