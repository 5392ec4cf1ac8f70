//! The data workload of a cluster run (`workload = "data"`): clients that
//! create one replicated topic, produce unique values to its partition leaders,
//! consume it from its leaders, and read it back at the end.
//!
//! - **Topic**: CreateTopics (replication factor, `min.insync.replicas` and
//!   partitions from [`DataSpec`]) to random brokers until one answers NONE or
//!   TOPIC_ALREADY_EXISTS.
//! - **Leaders**: each client keeps the leader of every partition as Metadata
//!   (from a random broker, or from the pinned one while a zombie fault points
//!   the clients at the old leader) last said, and asks again after any error:
//!   NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH,
//!   NOT_ENOUGH_REPLICAS, a timeout, a lost connection.
//! - **Producers** (acks=all first, then acks=1; ids name their values
//!   `p{id}-{seq}`) send one batch per request, round-robin over the
//!   partitions, to the partition's leader, and record every value's outcome in
//!   the [`Ledger`] exactly once. A producer that is not idempotent never sends
//!   a value twice: after an error it carries on with new values (as the
//!   standalone producers do), so a value found at two offsets is a broker bug,
//!   never a client retry. A refusal that may have written the batch
//!   (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND) is recorded as
//!   Unknown, not Failed.
//! - **Idempotent producers** (`idempotent`, in place of the acks=all ones)
//!   retry each batch with its sequence until acknowledged, across leader
//!   changes: [`run_idempotent_producer`].
//! - **Consumers** read every partition from offset 0 from its leader and record
//!   what they read with the high watermark of each answer.
//! - **Read-back** ([`final_readback`]): after healing, each partition from 0 up
//!   to its leader's high watermark.
//!
//! Every client draws from its own generator seeded from the run's seed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronik_core::protocol::error_code;
use chronik_core::protocol::messages::create_topics::{CreatableTopic, CreatableTopicConfig, CreateTopicsRequest};
use chronik_core::protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use chronik_core::protocol::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
use chronik_core::protocol::messages::{Request, Response};
use chronik_core::records::{self, Compression};
use madsim::time::{sleep, Instant};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::workload::{SharedStats, METADATA_VERSION};
use crate::client::{Client, ClientError};
use crate::idempotent::{self, ProducerId, Sequences};
use crate::ledger::{Outcome, ReadBack, SharedLedger, READBACK_INVALID_BATCH};
use crate::scenario::DataSpec;
use crate::workload::{
    decode_records, fetch_request, partition_response, partitions_of, stamped_values, CONNECT_TIMEOUT, CREATE_TOPICS_VERSION,
    FETCH_VERSION, PRODUCE_VERSION, REQUEST_TIMEOUT,
};

/// The data workload's topic.
pub const TOPIC: &str = "sim";
/// Produce `timeout_ms` sent to the broker (how long acks=all may wait).
const PRODUCE_TIMEOUT_MS: i32 = 3_000;
/// Pause after an error before asking for Metadata again.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Bound on requests of one client (the stop flag and deadline end it first).
const MAX_REQUESTS: usize = 200_000;

/// Everything the clients of one run share.
#[derive(Clone)]
pub struct DataCtx {
    /// Broker `i` (NodeId `i`) listens at `addrs[i]`.
    pub addrs: Vec<SocketAddr>,
    pub spec: DataSpec,
    pub ledger: SharedLedger,
    pub stats: SharedStats,
    /// Set by the runner when the clients must stop.
    pub stop: Arc<AtomicBool>,
    /// Nothing runs past this simulated instant.
    pub deadline: Instant,
    /// While set, clients take Metadata only from this node (a zombie fault).
    pub pin: Arc<Mutex<Option<usize>>>,
    pub seed: u64,
}

impl DataCtx {
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    fn pinned(&self) -> Option<usize> {
        *self.pin.lock().expect("pin lock")
    }
}

fn count(stats: &SharedStats, what: impl Into<String>) {
    *stats.lock().expect("stats lock").counts.entry(what.into()).or_default() += 1;
}

/// A client's open connections, one per broker, and what it knows of the leaders.
struct View {
    conns: BTreeMap<usize, Client>,
    leaders: BTreeMap<i32, usize>,
    /// The pin the leaders were learnt under (a new pin forgets them).
    pin: Option<usize>,
    rng: ChaCha8Rng,
}

impl View {
    fn new(seed: u64) -> View {
        View { conns: BTreeMap::new(), leaders: BTreeMap::new(), pin: None, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// A usable connection to broker `node`, connecting if needed.
    async fn conn(&mut self, ctx: &DataCtx, node: usize) -> Option<&mut Client> {
        if !self.conns.get(&node).is_some_and(Client::is_usable) {
            self.conns.remove(&node);
            match Client::connect(ctx.addrs[node], CONNECT_TIMEOUT).await {
                Ok(c) => {
                    self.conns.insert(node, c);
                }
                Err(_) => {
                    count(&ctx.stats, "connect failed");
                    return None;
                }
            }
        }
        self.conns.get_mut(&node)
    }

    /// The leader of `partition`, asking Metadata if it is not known.
    async fn leader(&mut self, ctx: &DataCtx, partition: i32) -> Option<usize> {
        let pin = ctx.pinned();
        if pin != self.pin {
            self.pin = pin;
            self.leaders.clear();
        }
        if let Some(l) = self.leaders.get(&partition) {
            return Some(*l);
        }
        let node = pin.unwrap_or_else(|| self.rng.gen_range(0..ctx.addrs.len()));
        let req = Request::Metadata(MetadataRequest {
            topics: Some(vec![MetadataRequestTopic { name: Some(TOPIC.to_string()), ..Default::default() }]),
            allow_auto_topic_creation: false,
            ..Default::default()
        });
        let answer = self.conn(ctx, node).await?.call(METADATA_VERSION, req, REQUEST_TIMEOUT).await;
        match answer {
            Ok(Response::Metadata(resp)) => {
                for t in resp.topics.iter().filter(|t| t.name.as_deref() == Some(TOPIC)) {
                    for p in &t.partitions {
                        if p.error_code == error_code::NONE && p.leader_id >= 0 && (p.leader_id as usize) < ctx.addrs.len() {
                            self.leaders.insert(p.partition_index, p.leader_id as usize);
                        }
                    }
                }
            }
            _ => count(&ctx.stats, "metadata failed"),
        }
        self.leaders.get(&partition).copied()
    }

    /// The leader of `partition` and a connection to it; `None` (after
    /// forgetting the leaders and pausing) when either is missing.
    async fn leader_conn(&mut self, ctx: &DataCtx, partition: i32) -> Option<(usize, &mut Client)> {
        let Some(leader) = self.leader(ctx, partition).await else {
            self.forget().await;
            return None;
        };
        if self.conn(ctx, leader).await.is_none() {
            self.forget().await;
            return None;
        }
        self.conns.get_mut(&leader).map(|c| (leader, c))
    }

    /// Forget the leaders (after an error) and pause.
    async fn forget(&mut self) {
        self.leaders.clear();
        sleep(RETRY_BACKOFF).await;
    }
}

/// Create the topic on random brokers until it exists (or the deadline).
pub async fn create_topic(ctx: &DataCtx) -> Result<(), String> {
    let mut view = View::new(ctx.seed ^ 0x6372_6561_7465);
    let mut last = String::from("no attempt");
    while !ctx.done() {
        let node = view.rng.gen_range(0..ctx.addrs.len());
        let req = Request::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: TOPIC.to_string(),
                num_partitions: ctx.spec.partitions,
                replication_factor: ctx.spec.replication_factor,
                assignments: vec![],
                configs: vec![CreatableTopicConfig {
                    name: "min.insync.replicas".into(),
                    value: Some(ctx.spec.min_insync_replicas.to_string()),
                }],
            }],
            timeout_ms: 5_000,
            validate_only: false,
        });
        if let Some(c) = view.conn(ctx, node).await {
            match c.call(CREATE_TOPICS_VERSION, req, REQUEST_TIMEOUT).await {
                Ok(Response::CreateTopics(resp)) => match resp.topics.iter().find(|t| t.name == TOPIC) {
                    Some(t) if t.error_code == error_code::NONE || t.error_code == error_code::TOPIC_ALREADY_EXISTS => {
                        count(&ctx.stats, "topic created");
                        return Ok(());
                    }
                    Some(t) => last = format!("error code {}", t.error_code),
                    None => last = "topic missing from the answer".into(),
                },
                other => last = format!("{:?}", other.err()),
            }
        }
        sleep(RETRY_BACKOFF * 3).await;
    }
    Err(format!("creating topic {TOPIC}: stopped; last error: {last}"))
}

/// Run every producer and consumer of the spec until stopped (after `create_topic`).
pub async fn run_clients(ctx: DataCtx) {
    let mut handles = Vec::new();
    let levels = std::iter::repeat_n(-1i16, ctx.spec.producers_acks_all).chain(std::iter::repeat_n(1i16, ctx.spec.producers_acks_1));
    for (id, acks) in levels.enumerate() {
        if acks == -1 && ctx.spec.idempotent {
            handles.push(madsim::task::spawn(run_idempotent_producer(ctx.clone(), id)));
        } else {
            handles.push(madsim::task::spawn(run_producer(ctx.clone(), id, acks)));
        }
    }
    for id in 0..ctx.spec.consumers {
        handles.push(madsim::task::spawn(run_consumer(ctx.clone(), id)));
    }
    for h in handles {
        let _ = h.await;
    }
}

/// The outcome of a produce refused with `code`: Unknown where the batch may
/// have been written (timed out waiting for replicas, or refused after the
/// append), Failed otherwise.
fn refused(partition: i32, code: i16) -> Outcome {
    match code {
        error_code::REQUEST_TIMED_OUT | error_code::NOT_ENOUGH_REPLICAS_AFTER_APPEND => Outcome::Unknown { partition },
        _ => Outcome::Failed { partition, error_code: code },
    }
}

/// A short name for a failed call, for the counts.
fn failure(e: &ClientError) -> &'static str {
    match e {
        ClientError::Connect(_) => "connect failed",
        ClientError::Timeout => "no answer",
        ClientError::Closed(_) => "connection lost",
        ClientError::Decode(_) => "bad answer",
    }
}

/// One producer: `acks` -1 or 1. Every value it sends gets exactly one outcome.
pub async fn run_producer(ctx: DataCtx, id: usize, acks: i16) {
    let mut view = View::new(ctx.seed ^ 0x7072_6f64_0000 ^ id as u64);
    let partitions = ctx.spec.partitions.max(1) as usize;
    let mut seq = 0u64;
    let interval = Duration::from_millis(ctx.spec.produce_interval_ms);
    for request in 0..MAX_REQUESTS {
        if ctx.done() {
            break;
        }
        let partition = ((id + request) % partitions) as i32;
        let Some((_, c)) = view.leader_conn(&ctx, partition).await else { continue };
        let (values, recs) = stamped_values(id, ctx.spec.batch_records, ctx.spec.value_bytes, &mut seq);
        let req = Request::Produce(ProduceRequest {
            transactional_id: None,
            acks,
            timeout_ms: PRODUCE_TIMEOUT_MS,
            topic_data: vec![TopicProduceData {
                name: TOPIC.to_string(),
                partition_data: vec![PartitionProduceData {
                    index: partition,
                    records: Some(records::build_batch(&recs, Compression::None, -1, -1, -1)),
                }],
            }],
        });
        let answer = c.call(PRODUCE_VERSION, req, REQUEST_TIMEOUT).await;
        let (outcomes, error): (Vec<Outcome>, Option<String>) = match &answer {
            Ok(Response::Produce(resp)) => match partition_response(resp, TOPIC, partition) {
                Some(r) if r.error_code == error_code::NONE => {
                    ((0..values.len()).map(|i| Outcome::Acked { partition, offset: r.base_offset + i as i64, acks }).collect(), None)
                }
                Some(r) => (vec![refused(partition, r.error_code); values.len()], Some(format!("error {}", r.error_code))),
                None => (vec![Outcome::Unknown { partition }; values.len()], Some("no partition in answer".into())),
            },
            Ok(_) => (vec![Outcome::Unknown { partition }; values.len()], Some("wrong answer".into())),
            Err(e) => (vec![Outcome::Unknown { partition }; values.len()], Some(failure(e).into())),
        };
        {
            let mut l = ctx.ledger.lock().expect("ledger lock");
            for (v, o) in values.iter().zip(outcomes) {
                l.record_outcome(v, o);
            }
        }
        count(&ctx.stats, format!("produce acks={acks} {}", error.as_deref().unwrap_or("ok")));
        if error.is_some() {
            view.forget().await;
        } else if !interval.is_zero() {
            sleep(interval).await;
        }
    }
}

/// InitProducerId from random brokers until one grants an id: (producer id,
/// epoch), or `None` once the clients stop.
async fn init_producer_id(ctx: &DataCtx, view: &mut View) -> Option<ProducerId> {
    while !ctx.done() {
        let node = view.rng.gen_range(0..ctx.addrs.len());
        if let Some(c) = view.conn(ctx, node).await {
            match c.call(idempotent::INIT_PRODUCER_ID_VERSION, idempotent::init_producer_id_request(), REQUEST_TIMEOUT).await {
                Ok(Response::InitProducerId(r)) if r.error_code == error_code::NONE => return Some((r.producer_id, r.producer_epoch)),
                Ok(Response::InitProducerId(r)) => count(&ctx.stats, format!("init producer id error {}", r.error_code)),
                _ => {
                    view.conns.remove(&node);
                    count(&ctx.stats, "init producer id failed");
                }
            }
        }
        sleep(RETRY_BACKOFF).await;
    }
    None
}

/// An idempotent acks=all producer, as Kafka's: one producer id, a sequence
/// per partition, one batch in flight, and the batch retried — the same
/// bytes, the same sequence — to whichever broker leads the partition now,
/// after a timeout, a lost connection or any refusal, until acknowledged or
/// stopped. Leaders change under it, so a retry may reach a new leader that
/// holds the batch only as a replica: it must answer with the original
/// offsets, never write the batch twice (`unique` sees a value at two
/// offsets), and never acknowledge it before it is durable on the ISR
/// (`acked_readable`). A sequence or producer error
/// (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH)
/// ends the batch and starts over with a new producer id, as the Java client
/// does. Only a value's final outcome is recorded: Acked; Failed if the
/// first request that reached a broker was refused with a sequence error;
/// otherwise Unknown.
pub async fn run_idempotent_producer(ctx: DataCtx, id: usize) {
    let mut view = View::new(ctx.seed ^ 0x6964_656d_0000 ^ id as u64);
    let Some(mut producer) = init_producer_id(&ctx, &mut view).await else { return };
    let partitions = ctx.spec.partitions.max(1) as usize;
    let mut sequences = Sequences::default();
    let mut seq = 0u64;
    let interval = Duration::from_millis(ctx.spec.produce_interval_ms);
    for request in 0..MAX_REQUESTS {
        if ctx.done() {
            break;
        }
        let partition = ((id + request) % partitions) as i32;
        let (values, recs) = stamped_values(id, ctx.spec.batch_records, ctx.spec.value_bytes, &mut seq);
        let batch = sequences.batch(producer, partition, &recs);
        let mut outcome = Outcome::Unknown { partition };
        let (mut sent, mut new_producer) = (0usize, false);
        for _ in 0..idempotent::ATTEMPTS_MAX {
            if ctx.done() {
                break;
            }
            let Some((leader, c)) = view.leader_conn(&ctx, partition).await else { continue };
            let req = idempotent::produce_request(TOPIC, partition, batch.clone(), PRODUCE_TIMEOUT_MS);
            sent += 1;
            let code = match c.call(PRODUCE_VERSION, req, idempotent::REQUEST_TIMEOUT).await {
                Ok(Response::Produce(resp)) => partition_response(&resp, TOPIC, partition).map(|r| (r.error_code, r.base_offset)),
                Ok(_) => None,
                Err(e) => {
                    count(&ctx.stats, format!("produce idempotent {}", failure(&e)));
                    // A late answer must not be taken for the retry's.
                    view.conns.remove(&leader);
                    None
                }
            };
            match code {
                Some((error_code::NONE, base_offset)) => {
                    outcome = Outcome::Acked { partition, offset: base_offset, acks: -1 };
                    if sent > 1 {
                        count(&ctx.stats, "produce idempotent acked after a retry");
                    }
                    break;
                }
                Some((c, _)) if idempotent::ends_producer_id(c) => {
                    count(&ctx.stats, format!("produce idempotent error {c}"));
                    if sent == 1 {
                        outcome = Outcome::Failed { partition, error_code: c };
                    }
                    new_producer = true;
                    break;
                }
                Some((c, _)) => count(&ctx.stats, format!("produce idempotent error {c}")),
                None => {}
            }
            view.forget().await;
        }
        ctx.ledger.lock().expect("ledger lock").record_batch(&values, &outcome);
        match outcome {
            Outcome::Acked { .. } => {
                count(&ctx.stats, "produce idempotent ok");
                sequences.acked(partition, values.len());
            }
            _ if new_producer => {
                let Some(np) = init_producer_id(&ctx, &mut view).await else { break };
                producer = np;
                sequences.reset();
            }
            // Gave up (stopped, or out of attempts): nothing follows.
            _ => break,
        }
        if !interval.is_zero() {
            sleep(interval).await;
        }
    }
}

/// One consumer: reads every partition from 0 from its leader, one partition
/// per request, round-robin, recording what it keeps (offsets at or above the
/// next expected one) and the high watermark of every answer.
pub async fn run_consumer(ctx: DataCtx, id: usize) {
    let mut view = View::new(ctx.seed ^ 0x636f_6e73_0000 ^ id as u64);
    let partitions = ctx.spec.partitions.max(1);
    let mut next: BTreeMap<i32, i64> = (0..partitions).map(|p| (p, 0)).collect();
    for request in 0..MAX_REQUESTS {
        if ctx.done() {
            break;
        }
        let partition = (request % partitions as usize) as i32;
        let Some((_, c)) = view.leader_conn(&ctx, partition).await else { continue };
        let fetch_offset = next[&partition];
        let resp = match c.call(FETCH_VERSION, fetch_request(TOPIC, &[(partition, fetch_offset)]), REQUEST_TIMEOUT).await {
            Ok(r @ Response::Fetch(_)) => r,
            _ => {
                count(&ctx.stats, "fetch failed");
                view.forget().await;
                continue;
            }
        };
        let Some(pd) = partitions_of(&resp, TOPIC).find(|pd| pd.partition_index == partition) else {
            view.forget().await;
            continue;
        };
        if pd.error_code != error_code::NONE {
            count(&ctx.stats, format!("fetch error {}", pd.error_code));
            view.forget().await;
            continue;
        }
        let decoded = pd.records.as_deref().map(decode_records).unwrap_or_default();
        let kept: Vec<(i64, String)> = decoded.records.into_iter().filter(|(o, _)| *o >= fetch_offset).collect();
        if let Some(last) = kept.last() {
            next.insert(partition, last.0 + 1);
        }
        let got = !kept.is_empty();
        {
            let mut l = ctx.ledger.lock().expect("ledger lock");
            l.record_fetch(id, partition, pd.high_watermark, &kept);
            if let Some(reason) = decoded.invalid {
                l.record_invalid_batch(id, partition, fetch_offset, reason);
            }
        }
        if !got {
            sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Read every partition from 0 up to its leader's high watermark (clients
/// stopped, cluster healed). A leader that just restarted may report a high
/// watermark below what it committed before (until its followers fetch again),
/// so a partition is read only once its high watermark covers `acked_end[p]`
/// (one past the highest offset acknowledged with acks=all there): every
/// acknowledged write must become readable within the window. Also returns
/// each partition's high watermark and leader as the last answer gave them.
/// Fails on timeout, or at once if a leader serves a batch that fails its CRC
/// or does not decode.
pub async fn final_readback(
    ctx: &DataCtx,
    acked_end: &BTreeMap<i32, i64>,
    timeout: Duration,
) -> (Result<ReadBack, String>, BTreeMap<i32, (i64, usize)>) {
    let deadline = Instant::now() + timeout;
    let mut view = View::new(ctx.seed ^ 0x7265_6164_0000);
    let mut out: ReadBack = BTreeMap::new();
    let mut ends = BTreeMap::new();
    let mut last_error = String::from("no answer");
    for partition in 0..ctx.spec.partitions {
        let recs = out.entry(partition).or_default();
        let mut next = 0i64;
        loop {
            if Instant::now() >= deadline {
                return (Err(format!("timeout reading partition {partition} at offset {next}: last error: {last_error}")), ends);
            }
            let Some(leader) = view.leader(ctx, partition).await else {
                last_error = format!("no leader for partition {partition}");
                view.forget().await;
                continue;
            };
            let Some(c) = view.conn(ctx, leader).await else {
                last_error = format!("cannot connect to leader {leader}");
                view.forget().await;
                continue;
            };
            let resp = match c.call(FETCH_VERSION, fetch_request(TOPIC, &[(partition, next)]), REQUEST_TIMEOUT).await {
                Ok(r @ Response::Fetch(_)) => r,
                other => {
                    last_error = format!("fetch from {leader}: {:?}", other.err());
                    view.forget().await;
                    continue;
                }
            };
            let Some(pd) = partitions_of(&resp, TOPIC).find(|pd| pd.partition_index == partition) else {
                last_error = format!("no answer for partition {partition}");
                view.forget().await;
                continue;
            };
            if pd.error_code != error_code::NONE {
                last_error = format!("partition {partition} error code {} from {leader}", pd.error_code);
                view.forget().await;
                continue;
            }
            let want = acked_end.get(&partition).copied().unwrap_or(0);
            if pd.high_watermark < want {
                last_error = format!("leader {leader}'s high watermark {} below the acknowledged end {want}", pd.high_watermark);
                sleep(RETRY_BACKOFF).await;
                continue;
            }
            if next >= pd.high_watermark {
                ends.insert(partition, (pd.high_watermark, leader));
                break;
            }
            let decoded = pd.records.as_deref().map(decode_records).unwrap_or_default();
            if let Some(reason) = decoded.invalid {
                return (Err(format!("{READBACK_INVALID_BATCH} in partition {partition} at offset {next}: {reason}")), ends);
            }
            if !decoded.take_below(&mut next, pd.high_watermark, recs) {
                last_error = format!("no records at offset {next} below high watermark {}", pd.high_watermark);
                sleep(RETRY_BACKOFF).await;
            }
        }
    }
    (Ok(out), ends)
}
