//! DeleteRecords and OffsetForLeaderEpoch.

use crate::log::{IoScope, LogError};
use crate::protocol::error_code;
use crate::protocol::messages::delete_records::{
    DeleteRecordsPartitionResult, DeleteRecordsRequest, DeleteRecordsResponse, DeleteRecordsTopicResult,
};
use crate::protocol::messages::offset_for_leader_epoch::{
    EpochEndOffset, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetForLeaderTopicResult,
};
use crate::protocol::messages::Response;
use crate::types::{LeaderEpoch, Offset};

use super::{Broker, Pending, ReqCtx, ReqId};

pub struct DeleteRecordsPending {
    ctx: ReqCtx,
    resp: DeleteRecordsResponse,
    /// (topic index, partition index, owner, new log start offset).
    waits: Vec<(usize, usize, u64, Offset)>,
}

impl Broker {
    pub(crate) fn handle_delete_records(&mut self, ctx: ReqCtx, req: DeleteRecordsRequest) {
        let mut resp = DeleteRecordsResponse::default();
        let mut waits = Vec::new();
        for (ti, t) in req.topics.iter().enumerate() {
            let mut tr = DeleteRecordsTopicResult { name: t.name.clone(), partitions: Vec::new() };
            for p in &t.partitions {
                let mut r =
                    DeleteRecordsPartitionResult { partition_index: p.partition_index, low_watermark: -1, error_code: error_code::NONE };
                let leader = self.leader_check(&t.name, p.partition_index, -1);
                match self.partition_owner(&t.name, p.partition_index) {
                    None => r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(_) if leader.is_err() => r.error_code = leader.expect_err("checked"),
                    Some(owner) => {
                        let part = self.partitions.get_mut(&owner).expect("owner exists");
                        let hw = part.high_watermark();
                        let start = part.log.log_start_offset();
                        // -1 means "up to the high watermark".
                        let target = if p.offset == -1 { hw } else { Offset(p.offset) };
                        if !part.is_ready() {
                            r.error_code = error_code::NOT_LEADER_OR_FOLLOWER;
                        } else if target.0 < 0 || target > hw {
                            r.error_code = error_code::OFFSET_OUT_OF_RANGE;
                        } else if target <= start {
                            r.low_watermark = start.0;
                        } else {
                            let mut io = IoScope { queue: &mut self.disk, owner };
                            match part.log.delete_records_before(target, &mut io) {
                                Ok(()) => waits.push((ti, tr.partitions.len(), owner, target)),
                                Err(LogError::OffsetOutOfRange) => r.error_code = error_code::OFFSET_OUT_OF_RANGE,
                                Err(LogError::Storage(_)) => r.error_code = error_code::KAFKA_STORAGE_ERROR,
                                Err(LogError::NotReady) => r.error_code = error_code::NOT_LEADER_OR_FOLLOWER,
                                // Only appends check producers.
                                Err(LogError::InvalidProducerEpoch(_) | LogError::OutOfOrderSequence(_)) => {
                                    r.error_code = error_code::UNKNOWN_SERVER_ERROR
                                }
                            }
                        }
                    }
                }
                tr.partitions.push(r);
            }
            resp.topics.push(tr);
        }
        let id = self.new_req_id();
        self.pending.insert(id, Pending::DeleteRecords(DeleteRecordsPending { ctx, resp, waits }));
        self.poll_pending(id);
    }

    /// Answered from the partition's leader-epoch cache, as Kafka's leader
    /// answers (`PartitionLog::end_offset_for_leader`): the largest epoch at or
    /// below the requested one and where the next one starts, or the log end
    /// offset for the current epoch; above the current epoch, (-1, -1).
    /// Standalone partitions have one epoch, 0, that began at offset 0.
    pub(crate) fn handle_offset_for_leader_epoch(&mut self, ctx: ReqCtx, req: OffsetForLeaderEpochRequest) {
        let mut resp = OffsetForLeaderEpochResponse::default();
        for t in &req.topics {
            let mut tr = OffsetForLeaderTopicResult { topic: t.topic.clone(), partitions: Vec::new() };
            for p in &t.partitions {
                let mut r = EpochEndOffset { error_code: error_code::NONE, partition: p.partition, leader_epoch: -1, end_offset: -1 };
                match self.partition_owner(&t.topic, p.partition).and_then(|o| self.partitions.get(&o)) {
                    None => r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(part) if !part.is_ready() => r.error_code = error_code::NOT_LEADER_OR_FOLLOWER,
                    Some(part) => match self.leader_check(&t.topic, p.partition, p.current_leader_epoch) {
                        Err(code) => r.error_code = code,
                        Ok(current) => {
                            let (epoch, end) = part.log.end_offset_for_leader(LeaderEpoch(p.leader_epoch), current);
                            r.leader_epoch = epoch.0;
                            r.end_offset = end.0;
                        }
                    },
                }
                tr.partitions.push(r);
            }
            resp.topics.push(tr);
        }
        self.respond(&ctx, Response::OffsetForLeaderEpoch(resp));
    }
}

pub(crate) fn poll(b: &mut Broker, _id: ReqId, mut p: DeleteRecordsPending) -> Option<DeleteRecordsPending> {
    p.waits.retain(|&(ti, pi, owner, target)| {
        let r = &mut p.resp.topics[ti].partitions[pi];
        match b.partitions.get(&owner) {
            None => {
                r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                false
            }
            Some(part) if part.persisted_start >= target => {
                r.low_watermark = part.persisted_start.0;
                false
            }
            Some(part) if matches!(part.log.state(), crate::log::LogState::Failed(_)) => {
                r.error_code = error_code::KAFKA_STORAGE_ERROR;
                false
            }
            Some(_) => true,
        }
    });
    if !p.waits.is_empty() {
        return Some(p);
    }
    b.respond(&p.ctx, Response::DeleteRecords(p.resp));
    None
}
