//! Producers and consumers speaking Kafka to the nodes, recording into a
//! [`Ledger`].
//!
//! Producers send unique values `p{producer}-{seq}` (padded with `.` to
//! `value_bytes`; the ledger holds them unpadded) round-robin over the
//! partitions, one batch per request, and record each value's outcome. A value is
//! never sent twice: after a lost connection a producer reconnects and carries on
//! with new values, so the ledger stays unambiguous. Consumers read every
//! partition from offset 0, validate every batch, and record what they saw.
//! Every loop is bounded in iterations and in simulated time, and stops when the
//! shared stop flag is set.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chronik_core::protocol::error_code;
use chronik_core::protocol::messages::create_topics::{CreatableTopic, CreatableTopicConfig, CreateTopicsRequest};
use chronik_core::protocol::messages::fetch::{FetchPartition, FetchRequest, FetchTopic, PartitionData};
use chronik_core::protocol::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse, TopicProduceData,
};
use chronik_core::protocol::messages::{Request, Response};
use chronik_core::records::{self, Compression, Record};
use madsim::time::{sleep, Instant};

use crate::client::{Client, ClientError};
use crate::idempotent::{self, ProducerId, Sequences};
use crate::ledger::{Ledger, Outcome, ReadBack, SharedLedger, READBACK_INVALID_BATCH};
use crate::scenario::WorkloadSpec;

pub const PRODUCE_VERSION: i16 = 9;
pub const FETCH_VERSION: i16 = 12;
pub const CREATE_TOPICS_VERSION: i16 = 7;

/// How long a client waits for one answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client waits to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Produce `timeout_ms` sent to the broker.
const PRODUCE_TIMEOUT_MS: i32 = 3_000;
/// Fetch long poll.
const FETCH_MAX_WAIT_MS: i32 = 200;
const FETCH_PARTITION_MAX_BYTES: i32 = 256 * 1024;
const FETCH_MAX_BYTES: i32 = 1024 * 1024;
/// Bound on decompressed bytes when decoding a batch.
const MAX_DECOMPRESSED: usize = 16 * 1024 * 1024;
/// Iteration bounds (the stop flag and the deadline normally end the loops first).
const MAX_REQUESTS: usize = 200_000;
const MAX_CONNECT_ATTEMPTS: usize = 1_000;
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// Padding character of values (never part of the unpadded value).
const PAD: char = '.';

/// Everything one run of the workload needs.
#[derive(Clone)]
pub struct WorkloadCtx {
    pub addr: SocketAddr,
    pub topic: String,
    pub ledger: SharedLedger,
    /// Set by the runner when the workload must stop.
    pub stop: Arc<AtomicBool>,
    /// Hard bound: nothing runs past this simulated instant even if `stop` is never set.
    pub deadline: Instant,
}

impl WorkloadCtx {
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

/// The unpadded value for `producer`'s `seq`-th record.
pub fn value_name(producer: usize, seq: u64) -> String {
    format!("p{producer}-{seq}")
}

/// `value` padded to `bytes` (never truncated).
pub fn pad_value(value: &str, bytes: usize) -> String {
    let mut s = value.to_string();
    while s.len() < bytes {
        s.push(PAD);
    }
    s
}

/// The answer for one partition in a produce response.
pub(crate) fn partition_response<'a>(resp: &'a ProduceResponse, topic: &str, partition: i32) -> Option<&'a PartitionProduceResponse> {
    resp.responses.iter().filter(|t| t.name == topic).flat_map(|t| t.partition_responses.iter()).find(|r| r.index == partition)
}

/// The next batch of a producer: its values (unpadded, as the ledger holds
/// them) and the records carrying them, stamped with the simulated time.
fn next_values(p: &ProducerSpec, seq: &mut u64) -> (Vec<String>, Vec<Record>) {
    stamped_values(p.id, p.batch_records, p.value_bytes, seq)
}

/// `count` new values of producer `id` (numbered on from `seq`) and their
/// records, padded to `value_bytes` and stamped with the simulated wall time,
/// as a real client stamps CreateTime. A stamp of 0 would make every batch
/// look decades old to the brokers: time retention would delete it, and its
/// idempotent producer would expire at the next retention check.
pub fn stamped_values(id: usize, count: usize, value_bytes: usize, seq: &mut u64) -> (Vec<String>, Vec<Record>) {
    let values: Vec<String> = (0..count)
        .map(|_| {
            *seq += 1;
            value_name(id, *seq - 1)
        })
        .collect();
    let now_ms = madsim::time::TimeHandle::current().now_time().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let recs = values
        .iter()
        .map(|v| Record { timestamp: now_ms, value: Some(Bytes::from(pad_value(v, value_bytes))), ..Default::default() })
        .collect();
    (values, recs)
}

/// The unpadded value of a record read back.
pub fn unpad_value(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches(PAD).to_string()
}

/// Run the whole workload of `spec`: producers (acks=all first, then acks=1,
/// then acks=0, numbered in that order) and consumers, each its own task on the
/// current madsim node; returns when all have stopped (stop flag or deadline).
pub async fn run_workload(ctx: WorkloadCtx, spec: WorkloadSpec) {
    let mut handles = Vec::new();
    let acks_levels = std::iter::repeat_n(-1i16, spec.producers_acks_all)
        .chain(std::iter::repeat_n(1i16, spec.producers_acks_1))
        .chain(std::iter::repeat_n(0i16, spec.producers_acks_0));
    for (id, acks) in acks_levels.enumerate() {
        let p = ProducerSpec {
            id,
            acks,
            partitions: spec.partitions,
            batch_records: spec.batch_records.max(1),
            value_bytes: spec.value_bytes,
            interval: Duration::from_millis(spec.produce_interval_ms),
            idempotent: spec.idempotent && acks == -1,
            unsequenced: spec.plant_unsequenced_retries,
        };
        if p.idempotent {
            handles.push(madsim::task::spawn(run_idempotent_producer(ctx.clone(), p)));
        } else {
            handles.push(madsim::task::spawn(run_producer(ctx.clone(), p)));
        }
    }
    for id in 0..spec.consumers {
        handles.push(madsim::task::spawn(run_consumer(ctx.clone(), id, spec.partitions)));
    }
    for h in handles {
        let _ = h.await;
    }
}

/// One producer's parameters.
#[derive(Debug, Clone)]
pub struct ProducerSpec {
    /// Unique among the run's producers (names its values).
    pub id: usize,
    /// -1 (all), 1 or 0.
    pub acks: i16,
    pub partitions: i32,
    pub batch_records: usize,
    pub value_bytes: usize,
    /// Pause between requests (acks=0 producers pause at least 1 ms).
    pub interval: Duration,
    /// Idempotent (acks=all only): see [`run_idempotent_producer`].
    pub idempotent: bool,
    /// Planted bug: idempotent producers send batches without id and sequence.
    pub unsequenced: bool,
}

/// Connect, retrying with backoff until it works, the workload stops or the
/// attempts run out.
/// The open connection, or a new one; `None` when connecting gave up.
async fn reuse_or_connect<'a>(ctx: &WorkloadCtx, client: &'a mut Option<Client>) -> Option<&'a mut Client> {
    if client.is_none() {
        *client = Some(connect(ctx).await?);
    }
    client.as_mut()
}

async fn connect(ctx: &WorkloadCtx) -> Option<Client> {
    let mut backoff = BACKOFF_MIN;
    for _ in 0..MAX_CONNECT_ATTEMPTS {
        if ctx.done() {
            return None;
        }
        match Client::connect(ctx.addr, CONNECT_TIMEOUT).await {
            Ok(c) => return Some(c),
            Err(_) => {
                sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    None
}

fn lock(ledger: &SharedLedger) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().expect("ledger lock")
}

/// Produce until stopped; every value sent gets exactly one outcome in the ledger.
pub async fn run_producer(ctx: WorkloadCtx, p: ProducerSpec) {
    let mut client: Option<Client> = None;
    let mut seq: u64 = 0;
    let partitions = p.partitions.max(1);
    for request in 0..MAX_REQUESTS {
        if ctx.done() {
            break;
        }
        let Some(c) = reuse_or_connect(&ctx, &mut client).await else { break };
        let partition = ((p.id + request) % partitions as usize) as i32;
        let (values, recs) = next_values(&p, &mut seq);
        let batch = records::build_batch(&recs, Compression::None, -1, -1, -1);
        let req = Request::Produce(ProduceRequest {
            transactional_id: None,
            acks: p.acks,
            timeout_ms: PRODUCE_TIMEOUT_MS,
            topic_data: vec![TopicProduceData {
                name: ctx.topic.clone(),
                partition_data: vec![PartitionProduceData { index: partition, records: Some(batch) }],
            }],
        });
        if p.acks == 0 {
            let sent = c.send_only(PRODUCE_VERSION, req).await;
            {
                let mut l = lock(&ctx.ledger);
                for v in &values {
                    l.record_outcome(v, Outcome::Unknown { partition });
                }
            }
            if sent.is_err() {
                client = None;
                sleep(BACKOFF_MIN).await;
            }
            sleep(p.interval.max(Duration::from_millis(1))).await;
            continue;
        }
        let result = c.call(PRODUCE_VERSION, req, REQUEST_TIMEOUT).await;
        let outcomes: Vec<Outcome> = match &result {
            Ok(Response::Produce(resp)) => {
                let part = partition_response(resp, &ctx.topic, partition);
                match part {
                    Some(r) if r.error_code == error_code::NONE => {
                        (0..values.len()).map(|i| Outcome::Acked { partition, offset: r.base_offset + i as i64, acks: p.acks }).collect()
                    }
                    Some(r) => vec![Outcome::Failed { partition, error_code: r.error_code }; values.len()],
                    None => vec![Outcome::Unknown { partition }; values.len()],
                }
            }
            _ => vec![Outcome::Unknown { partition }; values.len()],
        };
        {
            let mut l = lock(&ctx.ledger);
            for (v, o) in values.iter().zip(outcomes) {
                l.record_outcome(v, o);
            }
        }
        match result {
            Ok(Response::Produce(_)) => {}
            // A wrong answer type or a lost/undecodable connection: start afresh.
            Ok(_)
            | Err(ClientError::Decode(_))
            | Err(ClientError::Closed(_))
            | Err(ClientError::Connect(_))
            | Err(ClientError::Timeout) => {
                client = None;
                sleep(BACKOFF_MIN).await;
            }
        }
        if !p.interval.is_zero() {
            sleep(p.interval).await;
        }
    }
}

/// InitProducerId until it works: (producer id, epoch), or `None` when stopped.
async fn init_producer_id(ctx: &WorkloadCtx, client: &mut Option<Client>) -> Option<ProducerId> {
    for _ in 0..MAX_CONNECT_ATTEMPTS {
        if ctx.done() {
            return None;
        }
        let c = reuse_or_connect(ctx, client).await?;
        match c.call(idempotent::INIT_PRODUCER_ID_VERSION, idempotent::init_producer_id_request(), REQUEST_TIMEOUT).await {
            Ok(Response::InitProducerId(r)) if r.error_code == error_code::NONE => return Some((r.producer_id, r.producer_epoch)),
            Ok(Response::InitProducerId(_)) => {}
            _ => *client = None,
        }
        sleep(BACKOFF_MAX).await;
    }
    None
}

/// An idempotent acks=all producer, as Kafka's: one producer id, a sequence
/// per partition, one batch in flight, and every batch retried — the same
/// bytes, the same sequence — after a timeout, a lost connection or a
/// retriable error, until acknowledged or stopped. A retry of a batch that was
/// written must be answered with its original offsets, not written twice
/// (the `unique` checker sees a duplicate as one value at two offsets). Only
/// the final outcome of a value is recorded: Acked, or Unknown if any attempt
/// went unanswered, or Failed. A sequence or producer error
/// (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH)
/// ends the batch and starts over with a new producer id.
pub async fn run_idempotent_producer(ctx: WorkloadCtx, p: ProducerSpec) {
    let mut client: Option<Client> = None;
    let Some(mut producer) = init_producer_id(&ctx, &mut client).await else { return };
    let mut sequences = Sequences::default();
    let mut seq: u64 = 0;
    let partitions = p.partitions.max(1);
    for request in 0..MAX_REQUESTS {
        if ctx.done() {
            break;
        }
        let partition = ((p.id + request) % partitions as usize) as i32;
        let (values, recs) = next_values(&p, &mut seq);
        let batch = if p.unsequenced {
            records::build_batch(&recs, Compression::None, -1, -1, -1)
        } else {
            sequences.batch(producer, partition, &recs)
        };
        let mut unanswered = 0u64;
        let mut outcome = Outcome::Unknown { partition };
        let mut new_producer = false;
        for attempt in 0..idempotent::ATTEMPTS_MAX {
            if ctx.done() {
                break;
            }
            if attempt > 0 {
                lock(&ctx.ledger).idempotent_retries += 1;
            }
            let Some(c) = reuse_or_connect(&ctx, &mut client).await else { break };
            let req = idempotent::produce_request(&ctx.topic, partition, batch.clone(), PRODUCE_TIMEOUT_MS);
            let code = match c.call(PRODUCE_VERSION, req, idempotent::REQUEST_TIMEOUT).await {
                Ok(Response::Produce(resp)) => {
                    let part = partition_response(&resp, &ctx.topic, partition);
                    match part {
                        Some(r) if r.error_code == error_code::NONE => {
                            outcome = Outcome::Acked { partition, offset: r.base_offset, acks: -1 };
                            if unanswered > 0 {
                                lock(&ctx.ledger).idempotent_retries_acked += 1;
                            }
                            break;
                        }
                        Some(r) => Some(r.error_code),
                        None => None,
                    }
                }
                _ => {
                    client = None;
                    None
                }
            };
            match code {
                Some(c) if idempotent::ends_producer_id(c) => {
                    if unanswered == 0 {
                        outcome = Outcome::Failed { partition, error_code: c };
                    }
                    new_producer = true;
                    break;
                }
                // Retriable: the batch may or may not be in the log (e.g. a timeout waiting for the sync).
                Some(_) | None => unanswered += 1,
            }
            sleep(BACKOFF_MIN).await;
        }
        lock(&ctx.ledger).record_batch(&values, &outcome);
        match outcome {
            Outcome::Acked { .. } => sequences.acked(partition, values.len()),
            _ if new_producer => {
                let Some(np) = init_producer_id(&ctx, &mut client).await else { break };
                producer = np;
                sequences.reset();
            }
            // Gave up (stopped): nothing follows.
            _ => break,
        }
        if !p.interval.is_zero() {
            sleep(p.interval).await;
        }
    }
}

/// What validating one fetched record set gave.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    /// (offset, unpadded value) of every record, in order.
    pub records: Vec<(i64, String)>,
    /// Why a batch was invalid, if one was (the records after it are dropped).
    pub invalid: Option<String>,
}

/// Validate and decode a fetched record set: every complete batch must pass its
/// CRC and decode. A batch cut at the end of the answer (Kafka allows partial
/// batches at the end of a fetch) is ignored, not invalid.
impl Decoded {
    /// Moves the records at or after `next` and below `high_watermark` into `out`,
    /// in order, advancing `next` past each; whether any was taken.
    pub fn take_below(self, next: &mut i64, high_watermark: i64, out: &mut Vec<(i64, String)>) -> bool {
        let before = *next;
        for (o, v) in self.records {
            if o >= *next && o < high_watermark {
                out.push((o, v));
                *next = o + 1;
            }
        }
        *next != before
    }
}

pub fn decode_records(data: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let scan = records::scan(data, true);
    for (pos, header) in &scan.batches {
        let bytes = &data[*pos..*pos + header.total_len()];
        match records::decode_batch(bytes, MAX_DECOMPRESSED) {
            Ok((h, recs)) => {
                for r in recs {
                    let value = r.value.as_deref().map(unpad_value).unwrap_or_default();
                    out.records.push((h.base_offset + r.offset_delta as i64, value));
                }
            }
            Err(e) => {
                out.invalid = Some(format!("batch at byte {pos} (base offset {}): {e}", header.base_offset));
                return out;
            }
        }
    }
    if let Some(reason) = scan.stop_reason {
        if !reason.starts_with("torn tail") {
            out.invalid = Some(reason);
        }
    }
    out
}

pub(crate) fn fetch_request(topic: &str, offsets: &[(i32, i64)]) -> Request {
    Request::Fetch(FetchRequest {
        max_wait_ms: FETCH_MAX_WAIT_MS,
        min_bytes: 1,
        max_bytes: FETCH_MAX_BYTES,
        topics: vec![FetchTopic {
            topic: topic.to_string(),
            partitions: offsets
                .iter()
                .map(|(partition, offset)| FetchPartition {
                    partition: *partition,
                    fetch_offset: *offset,
                    partition_max_bytes: FETCH_PARTITION_MAX_BYTES,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

pub(crate) fn partitions_of<'a>(resp: &'a Response, topic: &'a str) -> impl Iterator<Item = &'a PartitionData> + 'a {
    let topics = match resp {
        Response::Fetch(f) => f.responses.as_slice(),
        _ => &[],
    };
    topics.iter().filter(move |t| t.topic == topic).flat_map(|t| t.partitions.iter())
}

/// Read every partition from offset 0 until stopped, recording every record kept
/// (offsets at or above the next expected one), the high watermark of every
/// answer and every invalid batch.
pub async fn run_consumer(ctx: WorkloadCtx, id: usize, partitions: i32) {
    let mut next: BTreeMap<i32, i64> = (0..partitions).map(|p| (p, 0)).collect();
    let mut client: Option<Client> = None;
    for _ in 0..MAX_REQUESTS {
        if ctx.done() {
            break;
        }
        let Some(c) = reuse_or_connect(&ctx, &mut client).await else { break };
        let offsets: Vec<(i32, i64)> = next.iter().map(|(p, o)| (*p, *o)).collect();
        let resp = match c.call(FETCH_VERSION, fetch_request(&ctx.topic, &offsets), REQUEST_TIMEOUT).await {
            Ok(r @ Response::Fetch(_)) => r,
            Ok(_) | Err(_) => {
                client = None;
                sleep(BACKOFF_MIN).await;
                continue;
            }
        };
        let mut progressed = false;
        let mut errors = false;
        for pd in partitions_of(&resp, &ctx.topic) {
            let Some(next_offset) = next.get_mut(&pd.partition_index) else { continue };
            if pd.error_code != error_code::NONE {
                errors = true;
                continue;
            }
            let fetch_offset = *next_offset;
            let decoded = pd.records.as_deref().map(decode_records).unwrap_or_default();
            let kept: Vec<(i64, String)> = decoded.records.into_iter().filter(|(o, _)| *o >= fetch_offset).collect();
            if let Some(last) = kept.last() {
                *next_offset = last.0 + 1;
                progressed = true;
            }
            let mut l = lock(&ctx.ledger);
            l.record_fetch(id, pd.partition_index, pd.high_watermark, &kept);
            if let Some(reason) = decoded.invalid {
                l.record_invalid_batch(id, pd.partition_index, fetch_offset, reason);
            }
        }
        if errors && !progressed {
            sleep(BACKOFF_MIN).await;
        } else if !progressed {
            // The long poll normally waits; make sure an immediate empty answer cannot spin.
            sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Read every partition from 0 to its high watermark (the workload must be
/// stopped first). Fails on timeout, on an error that persists until the
/// timeout, or on an invalid batch (the broker served damaged bytes).
pub async fn final_readback(addr: SocketAddr, topic: &str, partitions: i32, timeout: Duration) -> Result<ReadBack, String> {
    let deadline = Instant::now() + timeout;
    let mut out: ReadBack = (0..partitions).map(|p| (p, Vec::new())).collect();
    let mut client: Option<Client> = None;
    let mut last_error = String::from("no answer");
    for partition in 0..partitions {
        let mut next = 0i64;
        loop {
            if Instant::now() >= deadline {
                return Err(format!("timeout reading partition {partition} at offset {next}: last error: {last_error}"));
            }
            let c = match client.as_mut() {
                Some(c) => c,
                None => match Client::connect(addr, CONNECT_TIMEOUT).await {
                    Ok(c) => client.insert(c),
                    Err(e) => {
                        last_error = format!("connect: {e:?}");
                        sleep(BACKOFF_MIN).await;
                        continue;
                    }
                },
            };
            let resp = match c.call(FETCH_VERSION, fetch_request(topic, &[(partition, next)]), REQUEST_TIMEOUT).await {
                Ok(r @ Response::Fetch(_)) => r,
                Ok(other) => {
                    last_error = format!("unexpected answer to fetch: api key {}", other.api_key());
                    client = None;
                    continue;
                }
                Err(e) => {
                    last_error = format!("fetch: {e:?}");
                    client = None;
                    sleep(BACKOFF_MIN).await;
                    continue;
                }
            };
            let Some(pd) = partitions_of(&resp, topic).find(|pd| pd.partition_index == partition) else {
                last_error = format!("no answer for partition {partition}");
                sleep(BACKOFF_MIN).await;
                continue;
            };
            if pd.error_code != error_code::NONE {
                last_error = format!("partition {partition} error code {}", pd.error_code);
                sleep(BACKOFF_MIN).await;
                continue;
            }
            if next >= pd.high_watermark {
                break;
            }
            let decoded = pd.records.as_deref().map(decode_records).unwrap_or_default();
            if let Some(reason) = decoded.invalid {
                return Err(format!("{READBACK_INVALID_BATCH} in partition {partition} at offset {next}: {reason}"));
            }
            let recs = out.get_mut(&partition).expect("partition entry");
            if !decoded.take_below(&mut next, pd.high_watermark, recs) {
                last_error = format!("no records at offset {next} below high watermark {}", pd.high_watermark);
                sleep(BACKOFF_MIN).await;
            }
        }
    }
    Ok(out)
}

/// Create `topic` (CreateTopics v7, broker-default replication) and retry until
/// it exists or `timeout` passes. "Already exists" counts as success: an earlier
/// attempt whose answer was lost may have created it.
pub async fn create_topic(
    addr: SocketAddr,
    topic: &str,
    partitions: i32,
    configs: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last_error = String::from("no attempt");
    let mut client: Option<Client> = None;
    while Instant::now() < deadline {
        let c = match client.as_mut() {
            Some(c) => c,
            None => match Client::connect(addr, CONNECT_TIMEOUT).await {
                Ok(c) => client.insert(c),
                Err(e) => {
                    last_error = format!("connect: {e:?}");
                    sleep(BACKOFF_MIN).await;
                    continue;
                }
            },
        };
        let req = Request::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: topic.to_string(),
                num_partitions: partitions,
                replication_factor: -1,
                assignments: vec![],
                configs: configs.iter().map(|(k, v)| CreatableTopicConfig { name: k.clone(), value: Some(v.clone()) }).collect(),
            }],
            timeout_ms: 5_000,
            validate_only: false,
        });
        match c.call(CREATE_TOPICS_VERSION, req, REQUEST_TIMEOUT).await {
            Ok(Response::CreateTopics(resp)) => match resp.topics.iter().find(|t| t.name == topic) {
                Some(t) if t.error_code == error_code::NONE || t.error_code == error_code::TOPIC_ALREADY_EXISTS => return Ok(()),
                Some(t) => last_error = format!("error code {}: {:?}", t.error_code, t.error_message),
                None => last_error = "topic missing from the answer".into(),
            },
            Ok(other) => {
                last_error = format!("unexpected answer: api key {}", other.api_key());
                client = None;
            }
            Err(e) => {
                last_error = format!("{e:?}");
                client = None;
            }
        }
        sleep(BACKOFF_MIN * 4).await;
    }
    Err(format!("creating topic {topic}: timeout; last error: {last_error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(values: &[&str], base: i64) -> Vec<u8> {
        let recs: Vec<Record> =
            values.iter().map(|v| Record { value: Some(Bytes::from(pad_value(v, 20))), ..Default::default() }).collect();
        let mut b = records::build_batch(&recs, Compression::None, -1, -1, -1).to_vec();
        b[..8].copy_from_slice(&base.to_be_bytes());
        b
    }

    // Proves: values pad and unpad to the same unique name.
    #[test]
    fn padding_round_trip() {
        let v = value_name(3, 12);
        assert_eq!(v, "p3-12");
        let padded = pad_value(&v, 16);
        assert_eq!(padded.len(), 16);
        assert_eq!(unpad_value(padded.as_bytes()), v);
        assert_eq!(pad_value("abcdef", 2), "abcdef");
    }

    // Proves: valid batches decode to (offset, value) with base offsets applied; a cut last batch is ignored.
    #[test]
    fn decodes_valid_and_partial() {
        let mut data = batch(&["a", "b"], 5);
        data.extend(batch(&["c"], 7));
        let d = decode_records(&data);
        assert_eq!(d.invalid, None);
        assert_eq!(d.records, vec![(5, "a".into()), (6, "b".into()), (7, "c".into())]);
        let d = decode_records(&data[..data.len() - 3]);
        assert_eq!(d.invalid, None);
        assert_eq!(d.records.len(), 2);
    }

    // Proves: a batch with a damaged byte is reported invalid and nothing after it is kept.
    #[test]
    fn detects_corruption() {
        let mut data = batch(&["a"], 0);
        let first = data.len();
        data.extend(batch(&["b"], 1));
        data.extend(batch(&["c"], 2));
        data[first + 70] ^= 0x01;
        let d = decode_records(&data);
        assert_eq!(d.records, vec![(0, "a".into())]);
        assert!(d.invalid.unwrap().contains("crc"));
    }

    /// Run the workload against one fault-free node for `secs` simulated
    /// seconds (optionally crashing it once, at half time), then read back and
    /// judge. A smoke test of workload + ledger + checkers over the real node.
    fn smoke(seed: u64, spec: WorkloadSpec, secs: u64, crash: bool) -> (Ledger, Vec<crate::check::Violation>) {
        use crate::disk::SimDisk;
        use crate::node::{run_node, NodeSpec};
        use crate::trace::Trace;
        use chronik_core::config::BrokerConfig;
        use std::sync::Mutex;

        let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        let ledger = Ledger::shared();
        let ledger2 = ledger.clone();
        rt.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let addr: SocketAddr = "10.0.0.1:9092".parse().unwrap();
            let disk = Arc::new(Mutex::new(SimDisk::new(seed)));
            let node_spec = NodeSpec {
                name: "n0".into(),
                addr,
                broker: BrokerConfig { advertised_host: "10.0.0.1".into(), seed, ..Default::default() },
                cluster: None,
            };
            let d = disk.clone();
            let node =
                handle.create_node().name("n0").ip(addr.ip()).init(move || run_node(node_spec.clone(), d.clone(), Trace::new())).build();
            let client = handle.create_node().name("client").ip("10.0.0.100".parse().unwrap()).build();
            let stop = Arc::new(AtomicBool::new(false));
            let ctx = WorkloadCtx {
                addr,
                topic: "t".into(),
                ledger: ledger2.clone(),
                stop: stop.clone(),
                deadline: Instant::now() + Duration::from_secs(secs + 30),
            };
            let partitions = spec.partitions;
            let configs = BTreeMap::from([("segment.bytes".to_string(), "4096".to_string())]);
            client
                .spawn(async move { create_topic(addr, "t", partitions, &configs, Duration::from_secs(10)).await })
                .await
                .unwrap()
                .unwrap();
            let work = client.spawn(run_workload(ctx, spec));
            if crash {
                sleep(Duration::from_secs(secs / 2)).await;
                handle.kill(node.id());
                disk.lock().unwrap().crash();
                sleep(Duration::from_millis(500)).await;
                handle.restart(node.id());
                sleep(Duration::from_secs(secs - secs / 2)).await;
            } else {
                sleep(Duration::from_secs(secs)).await;
            }
            stop.store(true, Ordering::Relaxed);
            work.await.unwrap();
            let rb = client.spawn(async move { final_readback(addr, "t", partitions, Duration::from_secs(20)).await }).await.unwrap();
            ledger2.lock().unwrap().set_final_readback(rb);
        });
        let ledger = Arc::try_unwrap(ledger).expect("ledger still shared").into_inner().unwrap();
        let all = crate::swarm::single_node_checks(false);
        let v = crate::check::run_checks(&all, &ledger);
        (ledger, v)
    }

    fn smoke_spec() -> WorkloadSpec {
        WorkloadSpec {
            partitions: 2,
            producers_acks_all: 2,
            producers_acks_1: 1,
            producers_acks_0: 1,
            batch_records: 3,
            value_bytes: 40,
            consumers: 2,
            produce_interval_ms: 10,
            group_members: 0,
            idempotent: false,
            plant_unsequenced_retries: false,
        }
    }

    // Proves: against a healthy node the workload acknowledges, reads and reads back everything, and every checker passes.
    #[test]
    fn smoke_no_faults() {
        let t = std::time::Instant::now();
        let (ledger, v) = smoke(1, smoke_spec(), 5, false);
        let (acked, failed, unknown, observed) = ledger.summary();
        eprintln!("smoke_no_faults: acked {acked} failed {failed} unknown {unknown} observed {observed} in {:?}", t.elapsed());
        assert_eq!(v, vec![]);
        assert!(acked > 100, "acked {acked}");
        assert_eq!(failed, 0);
        assert!(observed > 0);
    }

    // Proves: one crash and restart in the middle of the workload breaks no checker.
    #[test]
    fn smoke_one_crash() {
        let t = std::time::Instant::now();
        let (ledger, v) = smoke(2, smoke_spec(), 6, true);
        let (acked, failed, unknown, observed) = ledger.summary();
        eprintln!("smoke_one_crash: acked {acked} failed {failed} unknown {unknown} observed {observed} in {:?}", t.elapsed());
        assert_eq!(v, vec![]);
        assert!(acked > 100, "acked {acked}");
    }
}
