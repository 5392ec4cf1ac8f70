//! Produce: validate, append, and answer by `acks`.
//!
//! - `acks=0`: no response; an error closes the connection (as Kafka does, so
//!   the client notices and refreshes its metadata).
//! - `acks=1`: answered once the append is written (the write completed), before
//!   any sync; a failed write is answered with KAFKA_STORAGE_ERROR.
//! - `acks=all` (-1): answered only when the high watermark covers every record of
//!   the request (standalone: the durable offset; in a cluster: durable on every
//!   in-sync replica, see `replication`); the leader's own durability is asserted
//!   when answering. With fewer in-sync replicas than `min.insync.replicas` the
//!   request fails with NOT_ENOUGH_REPLICAS before the append, or
//!   NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank while it waited; if this
//!   broker stops leading the partition meanwhile, NOT_LEADER_OR_FOLLOWER. Never
//!   acknowledged in any of these cases.
//! - Idempotent batches are checked by the log (see `log::producer_state`):
//!   INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER, or, for a retry of a
//!   batch in the log, the original offsets at the level `acks` asks for.
//!   Transactional batches are accepted like any idempotent batch, as before
//!   (no transaction coordinator exists to give a client a transactional id).

use crate::log::{IoScope, LogError, LogState};
use crate::protocol::error_code;
use crate::protocol::messages::produce::{PartitionProduceResponse, ProduceRequest, ProduceResponse, TopicProduceResponse};
use crate::protocol::messages::Response;
use crate::records::{self, ValidationLimits};
use crate::types::{LeaderEpoch, Millis, Offset};

use super::{Broker, Pending, ReqCtx, ReqId};

pub struct ProducePending {
    ctx: ReqCtx,
    resp: ProduceResponse,
    waits: Vec<Wait>,
    /// The request's `timeout_ms` from its arrival: partitions still waiting for the
    /// high watermark then get REQUEST_TIMED_OUT (their records may yet commit).
    deadline: Millis,
}

impl ProducePending {
    pub fn deadline(&self) -> Millis {
        self.deadline
    }
}

/// One partition's answer waiting for its records to reach a level.
#[derive(Debug, Clone, Copy)]
struct Wait {
    /// Topic index and partition index in the response.
    ti: usize,
    pi: usize,
    owner: u64,
    need: Offset,
    level: Level,
    /// The leader epoch the records were appended at.
    epoch: LeaderEpoch,
    min_insync_replicas: usize,
}

/// What an answer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The write completed (`acks=1`).
    Written,
    /// A sync after the write completed: the high watermark covers it (`acks=all`).
    Durable,
}

fn partition_error(index: i32, code: i16, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: code,
        base_offset: -1,
        log_append_time_ms: -1,
        log_start_offset: -1,
        error_message: message,
        ..Default::default()
    }
}

impl Broker {
    pub(crate) fn handle_produce(&mut self, ctx: ReqCtx, req: ProduceRequest) {
        let acks = req.acks;
        let mut resp = ProduceResponse::default();
        let mut waits = Vec::new();
        let mut any_error = false;
        for (ti, topic) in req.topic_data.iter().enumerate() {
            let mut tr = TopicProduceResponse { name: topic.name.clone(), ..Default::default() };
            let known = self.live_topic(&topic.name).is_some();
            if !known {
                self.maybe_auto_create(&topic.name);
            }
            for part in &topic.partition_data {
                let r = if !matches!(acks, -1..=1) {
                    partition_error(part.index, error_code::INVALID_REQUIRED_ACKS, None)
                } else {
                    match self.produce_partition(&topic.name, part.index, part.records.as_ref(), acks) {
                        Ok((r, Some(mut w))) => {
                            w.ti = ti;
                            w.pi = tr.partition_responses.len();
                            waits.push(w);
                            r
                        }
                        Ok((r, None)) => r,
                        Err(r) => r,
                    }
                };
                any_error |= r.error_code != error_code::NONE;
                tr.partition_responses.push(r);
            }
            resp.responses.push(tr);
        }
        if acks == 0 {
            waits.clear();
            if any_error {
                tracing::debug!(conn = ctx.conn.0, "acks=0 produce failed; closing the connection so the client refreshes");
                self.close_conn(ctx.conn);
            }
            return;
        }
        if waits.is_empty() {
            self.respond(&ctx, Response::Produce(resp));
            return;
        }
        let id = self.new_req_id();
        let deadline = self.now.plus_ms(i64::from(req.timeout_ms.max(0)));
        self.pending.insert(id, Pending::Produce(ProducePending { ctx, resp, waits, deadline }));
        self.poll_pending(id);
    }

    /// Validate and append one partition's records. `Ok((response, Some(wait)))` when
    /// the answer must wait until the log reaches `wait.need` at `wait.level` (the
    /// caller fills in the response position).
    fn produce_partition(
        &mut self,
        topic: &str,
        index: i32,
        records: Option<&bytes::Bytes>,
        acks: i16,
    ) -> Result<(PartitionProduceResponse, Option<Wait>), PartitionProduceResponse> {
        let Some(owner) = self.partition_owner(topic, index) else {
            return Err(partition_error(index, error_code::UNKNOWN_TOPIC_OR_PARTITION, None));
        };
        let epoch = self.leader_check(topic, index, -1).map_err(|code| partition_error(index, code, None))?;
        if !self.leads_at(owner, epoch) {
            // The metadata names this broker; its replication is not set up yet.
            return Err(partition_error(index, error_code::NOT_LEADER_OR_FOLLOWER, None));
        }
        if super::groups::is_internal(topic) {
            // Only the coordinator writes the offsets topic (Kafka: "Cannot append to internal topic").
            return Err(partition_error(
                index,
                error_code::INVALID_TOPIC_EXCEPTION,
                Some(format!("Cannot append to internal topic {topic}")),
            ));
        }
        let Some(records) = records else {
            return Err(partition_error(index, error_code::CORRUPT_MESSAGE, Some("null record set".into())));
        };
        let config = &self.live_topic(topic).expect("owner implies live topic").config;
        let limits = ValidationLimits {
            max_batch_bytes: config.max_message_bytes(),
            max_decompressed_bytes: config.max_decompressed_bytes(),
            now_ms: self.now.0,
            timestamp_before_max_ms: config.timestamp_before_max_ms(),
            timestamp_after_max_ms: config.timestamp_after_max_ms(),
            timestamp_type: config.timestamp_type(),
        };
        let min_insync_replicas = config.min_insync_replicas().max(1) as usize;
        let batches = match records::validate_produce(records, &limits) {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(topic, partition = index, error = %e, "produce refused");
                return Err(partition_error(index, e.error_code(), Some(e.to_string())));
            }
        };
        let isr = self.isr_size(owner);
        if acks == -1 && min_insync_replicas > isr {
            let msg = format!(
                "The size of the current ISR {isr} is insufficient to satisfy the min.isr requirement of {min_insync_replicas} for partition {topic}-{index}"
            );
            return Err(partition_error(index, error_code::NOT_ENOUGH_REPLICAS, Some(msg)));
        }
        let now = self.now;
        let p = self.partitions.get_mut(&owner).expect("owner exists");
        match p.log.state() {
            LogState::Ready => {}
            LogState::Failed(why) => {
                return Err(partition_error(index, error_code::KAFKA_STORAGE_ERROR, Some(why.clone())));
            }
            _ => return Err(partition_error(index, error_code::NOT_LEADER_OR_FOLLOWER, None)),
        }
        let mut io = IoScope { queue: &mut self.disk, owner };
        match p.log.append(&batches, epoch, now, &mut io) {
            Ok(a) => {
                let r = PartitionProduceResponse {
                    index,
                    error_code: error_code::NONE,
                    base_offset: a.base_offset.0,
                    log_append_time_ms: a.log_append_time,
                    log_start_offset: p.log.log_start_offset().0,
                    ..Default::default()
                };
                #[allow(unused_mut)]
                let mut level = if acks == -1 { Level::Durable } else { Level::Written };
                #[cfg(feature = "sim-knobs")]
                if self.config.knobs.ack_before_sync {
                    level = Level::Written;
                }
                // A duplicate (a producer's retry) answers with the original
                // offsets once they reach the same level its acks ask for: the
                // original may not be written or durable yet.
                if a.duplicate {
                    tracing::debug!(topic, partition = index, base = %a.base_offset, "duplicate idempotent batch; answering with the original offsets");
                }
                Ok((r, Some(Wait { ti: 0, pi: 0, owner, need: a.last_offset.next(), level, epoch, min_insync_replicas })))
            }
            Err(LogError::Storage(why)) => Err(partition_error(index, error_code::KAFKA_STORAGE_ERROR, Some(why))),
            Err(LogError::NotReady) => Err(partition_error(index, error_code::NOT_LEADER_OR_FOLLOWER, None)),
            Err(LogError::OffsetOutOfRange) => Err(partition_error(index, error_code::UNKNOWN_SERVER_ERROR, None)),
            Err(LogError::InvalidProducerEpoch(why)) => Err(partition_error(index, error_code::INVALID_PRODUCER_EPOCH, Some(why))),
            Err(LogError::OutOfOrderSequence(why)) => Err(partition_error(index, error_code::OUT_OF_ORDER_SEQUENCE_NUMBER, Some(why))),
        }
    }
}

/// Answer a produce once every partition reached its level (written for
/// `acks=1`, the high watermark for `acks=all`); a partition whose log failed (or
/// vanished) is answered with an error and never acknowledged.
pub(crate) fn poll(b: &mut Broker, id: ReqId, mut p: ProducePending) -> Option<ProducePending> {
    let mut remaining = Vec::new();
    let stopping = b.phase_is_stopping();
    let clustered = b.cluster.is_some();
    for w in std::mem::take(&mut p.waits) {
        let Wait { ti, pi, owner, need, level, epoch, min_insync_replicas } = w;
        let leads = b.leads_at(owner, epoch);
        let isr = b.isr_size(owner);
        let r = &mut p.resp.responses[ti].partition_responses[pi];
        match b.partitions.get_mut(&owner) {
            None => {
                r.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                r.base_offset = -1;
            }
            Some(part) => match part.log.state() {
                LogState::Failed(why) => {
                    r.error_code = error_code::KAFKA_STORAGE_ERROR;
                    r.error_message = Some(why.clone());
                    r.base_offset = -1;
                }
                _ if level == Level::Written && part.log.written_offset() >= need => {}
                // Another leader (or none) now: the records may not survive it.
                _ if level == Level::Durable && !leads => {
                    r.error_code = error_code::NOT_LEADER_OR_FOLLOWER;
                    r.base_offset = -1;
                }
                _ if level == Level::Durable && part.high_watermark() >= need => {
                    // The invariant this whole path exists for.
                    assert!(part.log.durable_offset() >= need, "acks=all answered before its records were durable");
                    if isr < min_insync_replicas {
                        r.error_code = error_code::NOT_ENOUGH_REPLICAS_AFTER_APPEND;
                        r.error_message = Some(format!(
                            "The size of the current ISR {isr} is insufficient to satisfy the min.isr requirement of {min_insync_replicas}"
                        ));
                        r.base_offset = -1;
                    }
                }
                _ if stopping && !part.log.needs_sync() && !part.log.sync_in_flight() && part.high_watermark() < need => {
                    r.error_code = error_code::REQUEST_TIMED_OUT;
                    r.base_offset = -1;
                }
                // The followers did not confirm in time (Kafka's produce timeout; a
                // standalone broker's own sync always ends, in success or failure).
                _ if level == Level::Durable && clustered && b.now >= p.deadline => {
                    r.error_code = error_code::REQUEST_TIMED_OUT;
                    r.base_offset = -1;
                }
                _ => {
                    match level {
                        Level::Written => part.write_waiters.insert(id),
                        Level::Durable => part.hw_waiters.insert(id),
                    };
                    remaining.push(w);
                }
            },
        }
    }
    if remaining.is_empty() {
        b.respond(&p.ctx, Response::Produce(p.resp));
        None
    } else {
        p.waits = remaining;
        Some(p)
    }
}
