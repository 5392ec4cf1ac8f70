//! ListGroups, DescribeGroups, DeleteGroups.

use crate::protocol::error_code;
use crate::protocol::messages::delete_groups::{DeletableGroupResult, DeleteGroupsRequest, DeleteGroupsResponse};
use crate::protocol::messages::describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedGroupMember};
use crate::protocol::messages::list_groups::{ListGroupsRequest, ListGroupsResponse, ListedGroup};
use crate::protocol::messages::Response;
use crate::records::Record;
use crate::types::Millis;

use super::state::GroupState;
use super::{store, valid_group_id, GroupCoordinator, GroupOutput, ReqId, Write};

/// DescribeGroups' value when authorized operations were not asked for.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl GroupCoordinator {
    pub fn list_groups(&mut self, req: ReqId, r: ListGroupsRequest) {
        let states: Vec<String> = r.states_filter.iter().map(|s| s.to_ascii_lowercase()).collect();
        let types: Vec<String> = r.types_filter.iter().map(|s| s.to_ascii_lowercase()).collect();
        let groups = self
            .groups
            .values()
            .filter(|g| self.coordinator_error(&g.id).is_none())
            .filter(|g| states.is_empty() || states.contains(&g.state.name().to_ascii_lowercase()))
            .filter(|_| types.is_empty() || types.iter().any(|t| t == "classic"))
            .map(|g| ListedGroup {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                group_state: g.state.name().to_string(),
                group_type: "classic".to_string(),
            })
            .collect();
        let resp = ListGroupsResponse { error_code: error_code::NONE, groups, ..Default::default() };
        self.out.push(GroupOutput::Reply(req, Response::ListGroups(resp)));
    }

    pub fn describe_groups(&mut self, req: ReqId, r: DescribeGroupsRequest) {
        let groups = r
            .groups
            .iter()
            .map(|id| {
                let mut d =
                    DescribedGroup { group_id: id.clone(), authorized_operations: AUTHORIZED_OPERATIONS_OMITTED, ..Default::default() };
                let error = if !valid_group_id(id) { Some(error_code::INVALID_GROUP_ID) } else { self.coordinator_error(id) };
                if let Some(code) = error {
                    d.error_code = code;
                    return d;
                }
                let Some(g) = self.groups.get(id) else {
                    // Kafka describes an unknown group as Dead, without an error.
                    d.group_state = GroupState::Dead.name().to_string();
                    return d;
                };
                d.group_state = g.state.name().to_string();
                d.protocol_type = g.protocol_type.clone().unwrap_or_default();
                // Protocol and member metadata only once a generation is set.
                let settled = matches!(g.state, GroupState::Stable | GroupState::CompletingRebalance);
                d.protocol_data = if settled { g.protocol.clone().unwrap_or_default() } else { String::new() };
                let mut members: Vec<_> = g.members.values().collect();
                members.sort_by_key(|m| m.joined_seq);
                d.members = members
                    .into_iter()
                    .map(|m| DescribedGroupMember {
                        member_id: m.id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        member_metadata: if settled {
                            g.protocol.as_deref().map(|p| m.metadata_for(p)).unwrap_or_default()
                        } else {
                            Default::default()
                        },
                        member_assignment: if g.state == GroupState::Stable { m.assignment.clone() } else { Default::default() },
                    })
                    .collect();
                d
            })
            .collect();
        let resp = DescribeGroupsResponse { groups, ..Default::default() };
        self.out.push(GroupOutput::Reply(req, Response::DescribeGroups(resp)));
    }

    /// Delete empty groups and their offsets; answered once the tombstones are durable.
    pub fn delete_groups(&mut self, req: ReqId, r: DeleteGroupsRequest, now: Millis) {
        let mut results = Vec::new();
        let mut appends = Vec::new();
        for id in &r.groups_names {
            let code = if !valid_group_id(id) {
                error_code::INVALID_GROUP_ID
            } else if let Some(code) = self.coordinator_error(id) {
                code
            } else {
                match self.groups.get(id) {
                    None => error_code::GROUP_ID_NOT_FOUND,
                    Some(g) if g.state != GroupState::Empty => error_code::NON_EMPTY_GROUP,
                    Some(g) => {
                        let tombstone =
                            |key| Record { offset_delta: 0, timestamp: now.0, key: Some(key), value: None, headers: Vec::new() };
                        let mut records: Vec<Record> = g.offsets.keys().map(|(t, p)| tombstone(store::offset_key(id, t, *p))).collect();
                        records.push(tombstone(store::group_key(id)));
                        appends.push((g.partition, records));
                        self.groups.remove(id);
                        error_code::NONE
                    }
                }
            };
            results.push(DeletableGroupResult { group_id: id.clone(), error_code: code });
        }
        let resp = Response::DeleteGroups(DeleteGroupsResponse { results, ..Default::default() });
        if appends.is_empty() {
            self.out.push(GroupOutput::Reply(req, resp));
            return;
        }
        let join = self.new_join(req, resp, appends.len());
        for (partition, records) in appends {
            self.append(partition, records, Write::Joined(join));
        }
    }
}

/// `resp` with `code` in place of every success (a write it depended on failed).
pub(crate) fn with_error(resp: Response, code: i16) -> Response {
    match resp {
        Response::DeleteGroups(mut r) => {
            for g in &mut r.results {
                if g.error_code == error_code::NONE {
                    g.error_code = code;
                }
            }
            Response::DeleteGroups(r)
        }
        Response::OffsetDelete(mut r) => {
            r.error_code = code;
            Response::OffsetDelete(r)
        }
        other => other,
    }
}
