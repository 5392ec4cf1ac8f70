//! ListOffsets: earliest, latest (the high watermark), by timestamp, max timestamp.

use crate::log::{IoScope, LogError, LogState, ReadId};
use crate::protocol::error_code;
use crate::protocol::messages::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse,
};
use crate::protocol::messages::Response;
use crate::types::Offset;

use super::{Broker, Pending, ReqCtx, ReqId};
use crate::types::LeaderEpoch;

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;

pub struct ListOffsetsPending {
    ctx: ReqCtx,
    resp: ListOffsetsResponse,
    /// (owner, read, topic index, partition index) of lookups in flight.
    lookups: Vec<(u64, ReadId, usize, usize, LeaderEpoch)>,
}

impl ListOffsetsPending {
    pub(crate) fn on_found(&mut self, owner: u64, read: ReadId, result: Result<Option<(Offset, i64)>, LogError>) {
        let Some(pos) = self.lookups.iter().position(|l| l.0 == owner && l.1 == read) else { return };
        let (_, _, ti, pi, epoch) = self.lookups.remove(pos);
        let r = &mut self.resp.topics[ti].partitions[pi];
        match result {
            Ok(Some((offset, ts))) => {
                r.offset = offset.0;
                r.timestamp = ts;
                r.leader_epoch = epoch.0;
            }
            Ok(None) => {
                r.offset = -1;
                r.timestamp = -1;
                r.leader_epoch = -1;
            }
            Err(LogError::Storage(_)) => r.error_code = error_code::KAFKA_STORAGE_ERROR,
            Err(_) => r.error_code = error_code::NOT_LEADER_OR_FOLLOWER,
        }
    }
}

fn answer(index: i32, code: i16) -> ListOffsetsPartitionResponse {
    ListOffsetsPartitionResponse { partition_index: index, error_code: code, timestamp: -1, offset: -1, leader_epoch: -1 }
}

impl Broker {
    pub(crate) fn handle_list_offsets(&mut self, ctx: ReqCtx, req: ListOffsetsRequest) {
        let id = self.new_req_id();
        let mut resp = ListOffsetsResponse::default();
        let mut lookups = Vec::new();
        for (ti, t) in req.topics.iter().enumerate() {
            let mut tr = ListOffsetsTopicResponse { name: t.name.clone(), partitions: Vec::new() };
            for p in &t.partitions {
                let pi = tr.partitions.len();
                let mut r = answer(p.partition_index, error_code::NONE);
                let leader = self.leader_check(&t.name, p.partition_index, p.current_leader_epoch);
                match self.partition_owner(&t.name, p.partition_index) {
                    None => r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(_) if leader.is_err() => r.error_code = leader.expect_err("checked"),
                    Some(owner) => {
                        let epoch = leader.expect("checked");
                        let part = self.partitions.get_mut(&owner).expect("owner exists");
                        if !matches!(part.log.state(), LogState::Ready) {
                            r.error_code = error_code::NOT_LEADER_OR_FOLLOWER;
                        } else {
                            let hw = part.high_watermark();
                            let start = part.log.log_start_offset();
                            let mut io = IoScope { queue: &mut self.disk, owner };
                            match p.timestamp {
                                LATEST => {
                                    r.offset = hw.0;
                                    r.leader_epoch = epoch.0;
                                }
                                EARLIEST | EARLIEST_LOCAL => {
                                    r.offset = start.0;
                                    r.leader_epoch = epoch.0;
                                }
                                LATEST_TIERED => {}
                                MAX_TIMESTAMP => match part.log.find_max_timestamp(hw, &mut io) {
                                    Ok(read) => {
                                        part.reads.insert(read, id);
                                        lookups.push((owner, read, ti, pi, epoch));
                                    }
                                    Err(_) => r.error_code = error_code::NOT_LEADER_OR_FOLLOWER,
                                },
                                ts if ts >= 0 => match part.log.find_offset_by_timestamp(ts, hw, &mut io) {
                                    Ok(read) => {
                                        part.reads.insert(read, id);
                                        lookups.push((owner, read, ti, pi, epoch));
                                    }
                                    Err(_) => r.error_code = error_code::NOT_LEADER_OR_FOLLOWER,
                                },
                                _ => r.error_code = error_code::INVALID_REQUEST,
                            }
                        }
                    }
                }
                tr.partitions.push(r);
            }
            resp.topics.push(tr);
        }
        if lookups.is_empty() {
            self.respond(&ctx, Response::ListOffsets(resp));
        } else {
            self.pending.insert(id, Pending::ListOffsets(ListOffsetsPending { ctx, resp, lookups }));
        }
    }
}

pub(crate) fn poll(b: &mut Broker, _id: ReqId, mut p: ListOffsetsPending) -> Option<ListOffsetsPending> {
    // A lookup whose partition was deleted, or whose log failed, never completes.
    let lost: Vec<(u64, ReadId)> = p
        .lookups
        .iter()
        .filter(|(owner, _, _, _, _)| b.partitions.get(owner).is_none_or(|part| matches!(part.log.state(), LogState::Failed(_))))
        .map(|(owner, read, _, _, _)| (*owner, *read))
        .collect();
    for (owner, read) in lost {
        let error = match b.partitions.get_mut(&owner) {
            Some(part) => {
                part.reads.remove(&read);
                LogError::Storage("partition log failed".into())
            }
            None => LogError::NotReady,
        };
        p.on_found(owner, read, Err(error));
    }
    if !p.lookups.is_empty() {
        return Some(p);
    }
    b.respond(&p.ctx, Response::ListOffsets(p.resp));
    None
}
