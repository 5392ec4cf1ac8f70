//! `chronik-bench`: a load generator for any Kafka-compatible broker, on librdkafka.
//!
//! Modes:
//! - `produce`: `--concurrency` tasks each keep one message in flight; latency is
//!   send-to-acknowledgement. Every message carries a unique id (payload and key);
//!   afterwards the topic is read back from the offsets recorded at the start and
//!   acknowledged-but-missing or duplicated messages fail the run (`--no-verify`
//!   skips this).
//! - `consume`: read the topic from the beginning up to the end offsets seen at the
//!   start, with `--concurrency` consumers (at most one per partition), each reading
//!   its share of the partitions on its own thread and connection.
//! - `round-trip`: produce as above while a consumer reads the new messages;
//!   latency is produce-to-consume.
//!
//! Rates count only messages whose send started inside the measured window (after
//! the warm-up, before the end); the final drain of in-flight messages adds no time.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::metadata::Metadata;
use rdkafka::producer::future_producer::Delivery;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

/// Payload header: magic, run id, message id, send time (ns since the run's base).
const MAGIC: &[u8; 4] = b"CHBK";
const HEADER_LEN: usize = 4 + 8 + 8 + 8;
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
const META_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Produce,
    Consume,
    RoundTrip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
enum Acks {
    #[value(name = "0")]
    #[serde(rename = "0")]
    Zero,
    #[value(name = "1")]
    #[serde(rename = "1")]
    One,
    #[value(name = "all")]
    #[serde(rename = "all")]
    All,
}

impl Acks {
    fn as_config(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn as_config(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Load generator for Kafka-compatible brokers (librdkafka).
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "chronik-bench", version, about, long_about = None)]
struct Cli {
    /// Brokers to bootstrap from, host:port[,host:port...].
    #[arg(long, default_value = "127.0.0.1:9092")]
    bootstrap_servers: String,
    /// Topic to produce to / consume from.
    #[arg(long, default_value = "chronik-bench")]
    topic: String,
    /// Concurrent producer tasks, each with one message in flight at a time; in
    /// consume mode, consumers (at most one per partition).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: u32,
    /// Payload bytes per message (at least 28: the id header).
    #[arg(long, default_value_t = 1024)]
    message_size: usize,
    /// Measured time after the warm-up (`30`, `30s`, `500ms`, `2m`). Default 30s,
    /// or unbounded when --message-count is given.
    #[arg(long, value_parser = parse_duration)]
    #[serde(serialize_with = "ser_opt_duration")]
    duration: Option<Duration>,
    /// Time before measuring starts (load runs, nothing is counted).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    #[serde(serialize_with = "ser_duration")]
    warmup_duration: Duration,
    #[arg(long, value_enum, default_value_t = Mode::Produce)]
    mode: Mode,
    #[arg(long, value_enum, default_value_t = Acks::All)]
    acks: Acks,
    #[arg(long, value_enum, default_value_t = Compression::None)]
    compression: Compression,
    /// librdkafka linger.ms. The load is closed-loop, so linger adds to every
    /// latency and caps throughput near concurrency / linger; 0 sends at once.
    #[arg(long, default_value_t = 0)]
    linger_ms: u64,
    /// librdkafka batch.size in bytes (its default when unset).
    #[arg(long)]
    batch_size: Option<u64>,
    /// Partitions for --create-topic.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Replication factor for --create-topic.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    replication_factor: i32,
    /// Create the topic first (AdminClient); an existing topic is used as it is.
    #[arg(long)]
    create_topic: bool,
    /// Overall cap in messages per second.
    #[arg(long)]
    rate_limit: Option<f64>,
    /// Stop after this many messages (produced, or consumed in consume mode).
    #[arg(long)]
    message_count: Option<u64>,
    /// Write the report as JSON to this path (`-` for stdout; the table then goes
    /// to stderr).
    #[arg(long)]
    json_output: Option<String>,
    /// Skip reading the produced messages back.
    #[arg(long)]
    no_verify: bool,
    /// A librdkafka property for every client of the run, `key=value` (as kcat's -X);
    /// repeatable. Applied last, so it overrides the bench's own settings.
    #[arg(short = 'X', long = "property", value_parser = parse_property)]
    properties: Vec<(String, String)>,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn ser_opt_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// `30`, `30s`, `1.5s`, `500ms`, `2m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}: expected e.g. 30, 30s, 500ms, 2m"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("bad duration unit {u:?} in {s:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

// ------------------------------------------------------------------- report

#[derive(Debug, Default, Serialize)]
struct Latency {
    unit: &'static str,
    count: u64,
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

impl Latency {
    fn from_hist(h: &Histogram<u64>) -> Latency {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            unit: "ms",
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct Verification {
    /// Messages acknowledged by the broker (whole run, warm-up included).
    acknowledged: u64,
    /// Messages of this run found in the topic (each id once).
    found: u64,
    /// Acknowledged but not found.
    missing: u64,
    /// Extra copies found beyond the first.
    duplicated: u64,
    /// Not acknowledged (failed) but found anyway: allowed, reported.
    unacknowledged_found: u64,
    /// Records whose key did not match the id in their payload.
    corrupt: u64,
    /// Records in the range that another writer produced.
    foreign: u64,
    /// The read-back did not reach the end offsets in time.
    incomplete: bool,
    missing_sample: Vec<u64>,
    passed: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    mode: Mode,
    config: Cli,
    partitions: usize,
    /// Seconds in the measured window (consume: from the first message to the last).
    measured_seconds: f64,
    /// Consume: seconds from the client's start to its first message (not in the window).
    first_message_after_seconds: Option<f64>,
    /// Messages counted in the window (acknowledged; consumed for consume and round-trip).
    messages: u64,
    bytes: u64,
    messages_per_sec: f64,
    /// 10^6 payload bytes per second.
    mb_per_sec: f64,
    latency: Option<Latency>,
    /// Whole run, warm-up and drain included.
    sent: u64,
    acknowledged: u64,
    failed: u64,
    success_rate: f64,
    /// Failures by Kafka (librdkafka) error name and code.
    errors: BTreeMap<String, u64>,
    verification: Option<Verification>,
    passed: bool,
}

fn error_key(e: &KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(code) => format!("{code:?} ({})", code as i32),
        None => e.to_string(),
    }
}

// ------------------------------------------------------------------- shared state

fn new_hist() -> Histogram<u64> {
    // Microseconds, 1 µs to 1 h, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds")
}

struct Run {
    cli: Cli,
    run_id: u64,
    base: Instant,
    measure_start: Instant,
    /// Set when the load stops (duration over, message count reached, Ctrl-C).
    measure_end: OnceLock<Instant>,
    deadline: Option<Instant>,
    next_id: AtomicU64,
    stop: AtomicBool,
    acked: AtomicU64,
    failed: AtomicU64,
    consumed: AtomicU64,
    payload_len: usize,
}

impl Run {
    fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_nanos() as u64
    }

    fn stop_now(&self) {
        self.stop_at(Instant::now());
    }

    /// End the window at `t` (the first stop wins) and stop the load.
    fn stop_at(&self, t: Instant) {
        let _ = self.measure_end.set(t);
        self.stop.store(true, Ordering::SeqCst);
    }

    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_start && self.measure_end.get().is_none_or(|end| t < *end)
    }

    fn window_secs(&self) -> f64 {
        let end = self.measure_end.get().copied().unwrap_or_else(Instant::now);
        end.saturating_duration_since(self.measure_start).as_secs_f64()
    }
}

fn parse_payload(payload: &[u8]) -> Option<(u64, u64, u64)> {
    if payload.len() < HEADER_LEN || &payload[..4] != MAGIC {
        return None;
    }
    let u = |i: usize| u64::from_be_bytes(payload[i..i + 8].try_into().unwrap());
    Some((u(4), u(12), u(20)))
}

#[derive(Default)]
struct TaskResult {
    hist: Option<Histogram<u64>>,
    window_msgs: u64,
    window_bytes: u64,
    acked_ids: Vec<u64>,
    /// Per partition, one past the highest acknowledged offset.
    acked_ends: BTreeMap<i32, i64>,
    errors: BTreeMap<String, u64>,
}

/// One producer task: one message in flight at a time until the run stops.
async fn produce_task(run: Arc<Run>, producer: FutureProducer, task: u32) -> TaskResult {
    let mut out = TaskResult { hist: Some(new_hist()), ..Default::default() };
    let hist = out.hist.as_mut().unwrap();
    // Padding: pseudo-random printable text, compressible about as well as logs.
    let mut payload = vec![0u8; run.payload_len];
    let mut x: u64 = run.run_id ^ (task as u64 + 1).wrapping_mul(0x9E3779B97F4A7C15);
    for b in payload[HEADER_LEN..].iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = b"abcdefghijklmnopqrstuvwxyz     ETAOIN0123456789"[(x % 47) as usize];
    }
    payload[..4].copy_from_slice(MAGIC);
    payload[4..12].copy_from_slice(&run.run_id.to_be_bytes());
    loop {
        if run.stop.load(Ordering::Relaxed) {
            break;
        }
        let id = run.next_id.fetch_add(1, Ordering::Relaxed);
        if run.cli.message_count.is_some_and(|n| id >= n) {
            run.stop_now();
            break;
        }
        if let Some(rate) = run.cli.rate_limit {
            let due = run.base + Duration::from_secs_f64(id as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let start = Instant::now();
        if let Some(d) = run.deadline.filter(|d| start >= *d) {
            run.stop_at(d);
            // The id was taken but never sent: it is neither acked nor failed.
            break;
        }
        if run.stop.load(Ordering::Relaxed) {
            break;
        }
        payload[12..20].copy_from_slice(&id.to_be_bytes());
        payload[20..28].copy_from_slice(&run.ns(start).to_be_bytes());
        let key = id.to_be_bytes();
        let record = FutureRecord::to(&run.cli.topic).key(&key[..]).payload(&payload[..]);
        let result = producer.send(record, Timeout::After(MESSAGE_TIMEOUT)).await;
        let done = Instant::now();
        match result {
            Ok(Delivery { partition, offset, .. }) => {
                run.acked.fetch_add(1, Ordering::Relaxed);
                out.acked_ids.push(id);
                let end = out.acked_ends.entry(partition).or_insert(0);
                *end = (*end).max(offset + 1);
                if run.in_window(start) {
                    out.window_msgs += 1;
                    out.window_bytes += payload.len() as u64;
                    hist.saturating_record(done.duration_since(start).as_micros().max(1) as u64);
                }
            }
            Err((e, _)) => {
                run.failed.fetch_add(1, Ordering::Relaxed);
                *out.errors.entry(error_key(&e)).or_default() += 1;
            }
        }
    }
    out
}

// ------------------------------------------------------------------- reading

fn consumer_config(cli: &Cli) -> ClientConfig {
    let mut c = ClientConfig::new();
    // Partitions are assigned by hand and no offsets are committed, so no consumer
    // group is used; librdkafka still wants a group.id before it will `assign`.
    c.set("bootstrap.servers", &cli.bootstrap_servers)
        .set("group.id", "chronik-bench")
        .set("client.id", "chronik-bench-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("fetch.wait.max.ms", "100")
        // When the app falls behind the prefetch queue, librdkafka pauses fetching for
        // fetch.queue.backoff.ms (1 s by default): a consume run then measures that
        // pause, not the broker. Short, so the pause never dominates; same for every broker.
        .set("fetch.queue.backoff.ms", "5")
        .set("log_level", "4");
    with_properties(c, cli)
}

/// What a read of `partitions` saw.
struct ReadOutcome {
    complete: bool,
    errors: BTreeMap<String, u64>,
}

/// Which partitions one reader takes: `(i, n)` is every partition `p` with
/// `p % n == i`, so `n` readers with `i` in `0..n` share a topic between them.
type Share = (usize, usize);

/// One reader takes every partition.
const ALL_PARTITIONS: Share = (0, 1);

/// Read each partition of `share` from `starts[p]` until `ends` (set now or later) is
/// reached for all of them, or `give_up()` says so. `on_msg(partition, offset, key, payload)`.
fn read_partitions(
    cli: &Cli,
    share: Share,
    starts: &[i64],
    ends: &OnceLock<Vec<i64>>,
    give_up: impl Fn() -> bool,
    mut on_msg: impl FnMut(i32, i64, Option<&[u8]>, Option<&[u8]>),
) -> Result<ReadOutcome, KafkaError> {
    let mine = |p: usize| p % share.1 == share.0;
    let consumer: BaseConsumer = consumer_config(cli).create()?;
    let mut tpl = TopicPartitionList::new();
    for (p, &o) in starts.iter().enumerate().filter(|&(p, _)| mine(p)) {
        let offset = if o < 0 { Offset::Beginning } else { Offset::Offset(o) };
        tpl.add_partition_offset(&cli.topic, p as i32, offset)?;
    }
    consumer.assign(&tpl)?;
    let mut next: Vec<i64> = starts.to_vec();
    let mut errors = BTreeMap::new();
    loop {
        if let Some(ends) = ends.get() {
            if next.iter().zip(ends).enumerate().all(|(p, (n, e))| !mine(p) || n >= e) {
                return Ok(ReadOutcome { complete: true, errors });
            }
        }
        if give_up() {
            return Ok(ReadOutcome { complete: false, errors });
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                let p = m.partition() as usize;
                if p < next.len() {
                    next[p] = next[p].max(m.offset() + 1);
                }
                on_msg(m.partition(), m.offset(), m.key(), m.payload());
            }
            Some(Err(e)) => *errors.entry(error_key(&e)).or_default() += 1,
        }
    }
}

/// How long the read-back waits for end offsets to cover what was acknowledged.
const END_OFFSETS_WAIT: Duration = Duration::from_secs(15);

/// End offsets once they cover `wanted` (partition -> one past the highest
/// acknowledged offset), or whatever they are when `wait` runs out.
fn end_offsets_covering(cli: &Cli, partitions: usize, wanted: &BTreeMap<i32, i64>, wait: Duration) -> Result<Vec<i64>, KafkaError> {
    let give_up = Instant::now() + wait;
    loop {
        let ends: Vec<i64> = watermarks(cli, partitions)?.iter().map(|&(_, high)| high).collect();
        let covered = wanted.iter().all(|(&p, &end)| ends.get(p as usize).is_some_and(|&high| high >= end));
        if covered || Instant::now() >= give_up {
            return Ok(ends);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How long a ListOffsets may keep failing with a retriable error (a topic just
/// created: its partitions may have no leader for a moment) before it counts.
const WATERMARKS_RETRY_FOR: Duration = Duration::from_secs(15);

fn watermarks(cli: &Cli, partitions: usize) -> Result<Vec<(i64, i64)>, KafkaError> {
    let consumer: BaseConsumer = consumer_config(cli).create()?;
    let give_up = Instant::now() + WATERMARKS_RETRY_FOR;
    (0..partitions)
        .map(|p| loop {
            match consumer.fetch_watermarks(&cli.topic, p as i32, META_TIMEOUT) {
                Err(e) if retriable(&e) && Instant::now() < give_up => std::thread::sleep(Duration::from_millis(100)),
                other => break other,
            }
        })
        .collect()
}

/// Errors a freshly created topic answers with until its partitions have leaders.
fn retriable(e: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(C::NotLeaderForPartition | C::LeaderNotAvailable | C::UnknownTopicOrPartition | C::UnknownPartition)
    )
}

// ------------------------------------------------------------------- setup

fn producer_config(cli: &Cli) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cli.bootstrap_servers)
        .set("client.id", "chronik-bench")
        .set("acks", cli.acks.as_config())
        .set("compression.type", cli.compression.as_config())
        .set("linger.ms", cli.linger_ms.to_string())
        .set("enable.idempotence", "false")
        .set("message.timeout.ms", MESSAGE_TIMEOUT.as_millis().to_string())
        .set("log_level", "4");
    if let Some(b) = cli.batch_size {
        c.set("batch.size", b.to_string());
    }
    with_properties(c, cli)
}

/// `--property` settings on top of a client's configuration.
fn with_properties(mut c: ClientConfig, cli: &Cli) -> ClientConfig {
    for (k, v) in &cli.properties {
        c.set(k, v);
    }
    c
}

async fn create_topic(cli: &Cli) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = consumer_config(cli).create().map_err(|e| format!("admin client: {e}"))?;
    let topic = NewTopic::new(&cli.topic, cli.partitions, TopicReplication::Fixed(cli.replication_factor));
    let opts = AdminOptions::new().operation_timeout(Some(META_TIMEOUT)).request_timeout(Some(META_TIMEOUT));
    let results = admin.create_topics([&topic], &opts).await.map_err(|e| format!("create topic: {e}"))?;
    for r in results {
        match r {
            Ok(_) => eprintln!("created topic {} ({} partitions, replication {})", cli.topic, cli.partitions, cli.replication_factor),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => eprintln!("topic {} exists; using it as it is", cli.topic),
            Err((t, code)) => return Err(format!("create topic {t}: {code:?} ({})", code as i32)),
        }
    }
    Ok(())
}

/// The topic's partition count, waiting (bounded) for it to appear.
fn partition_count(cli: &Cli) -> Result<usize, String> {
    // A consume run asks as a consumer, which does not let the broker auto-create the
    // topic (librdkafka's allow.auto.create.topics is false for consumers): reading a
    // misspelt topic then fails instead of creating it and passing with zero messages.
    let metadata: Box<dyn Fn() -> KafkaResult<Metadata> + '_> = if cli.mode == Mode::Consume {
        let consumer: BaseConsumer = consumer_config(cli).create().map_err(|e| format!("client: {e}"))?;
        Box::new(move || consumer.fetch_metadata(Some(&cli.topic), META_TIMEOUT))
    } else {
        let producer: rdkafka::producer::BaseProducer = producer_config(cli).create().map_err(|e| format!("client: {e}"))?;
        Box::new(move || producer.client().fetch_metadata(Some(&cli.topic), META_TIMEOUT))
    };
    let deadline = Instant::now() + META_TIMEOUT;
    loop {
        let last = match metadata() {
            Ok(md) => match md.topics().iter().find(|t| t.name() == cli.topic) {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => return Ok(t.partitions().len()),
                Some(t) => format!("topic {}: {:?}", cli.topic, t.error()),
                None => format!("topic {} not in metadata", cli.topic),
            },
            Err(e) => format!("metadata: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ------------------------------------------------------------------- main

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match rt.block_on(run(cli)) {
        Ok(passed) => {
            if passed {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("chronik-bench: {e}");
            2
        }
    };
    rt.shutdown_timeout(Duration::from_secs(1));
    std::process::exit(code);
}

async fn run(mut cli: Cli) -> Result<bool, String> {
    if cli.duration.is_none() && cli.message_count.is_none() {
        cli.duration = Some(Duration::from_secs(30));
    }
    if cli.mode != Mode::Consume && cli.message_size < HEADER_LEN {
        eprintln!("note: --message-size {} raised to {HEADER_LEN}, the id header", cli.message_size);
    }
    if cli.rate_limit.is_some_and(|r| r <= 0.0 || !r.is_finite()) {
        return Err("--rate-limit must be positive".into());
    }
    if cli.create_topic {
        create_topic(&cli).await?;
    }
    let cli2 = cli.clone();
    let partitions = tokio::task::spawn_blocking(move || partition_count(&cli2)).await.map_err(|e| e.to_string())??;
    eprintln!(
        "chronik-bench: {:?} to {} topic {} ({partitions} partitions), concurrency {}, {} B messages, acks {}, compression {}",
        cli.mode,
        cli.bootstrap_servers,
        cli.topic,
        cli.concurrency,
        cli.message_size.max(HEADER_LEN),
        cli.acks.as_config(),
        cli.compression.as_config()
    );
    let report = match cli.mode {
        Mode::Consume => run_consume(cli.clone(), partitions).await?,
        Mode::Produce | Mode::RoundTrip => run_produce(cli.clone(), partitions).await?,
    };
    print_report(&report);
    if let Some(path) = &cli.json_output {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        if path == "-" {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n").map_err(|e| format!("write {path}: {e}"))?;
        }
    }
    Ok(report.passed)
}

fn new_run(cli: Cli, payload_len: usize) -> Arc<Run> {
    let base = Instant::now();
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
        ^ (std::process::id() as u64) << 32;
    let measure_start = base + cli.warmup_duration;
    let deadline = cli.duration.map(|d| measure_start + d);
    Arc::new(Run {
        cli,
        run_id,
        base,
        measure_start,
        measure_end: OnceLock::new(),
        deadline,
        next_id: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        acked: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        consumed: AtomicU64::new(0),
        payload_len,
    })
}

/// Print a progress line every few seconds until `stop`.
fn spawn_progress(run: Arc<Run>, what: &'static str, counter: fn(&Run) -> u64) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = 0u64;
        let mut tick = tokio::time::interval_at((Instant::now() + PROGRESS_EVERY).into(), PROGRESS_EVERY);
        loop {
            tick.tick().await;
            if run.stop.load(Ordering::Relaxed) {
                break;
            }
            let now = Instant::now();
            let n = counter(&run);
            let phase = if now < run.measure_start { "warm-up" } else { "measure" };
            eprintln!(
                "[{:>7.1}s] {phase:<7} {what} {n:>10} ({:>9.0}/s)  failed {}",
                now.duration_since(run.base).as_secs_f64(),
                (n - last) as f64 / PROGRESS_EVERY.as_secs_f64(),
                run.failed.load(Ordering::Relaxed)
            );
            last = n;
        }
    })
}

async fn run_produce(cli: Cli, partitions: usize) -> Result<Report, String> {
    let verify = cli.mode == Mode::Produce && !cli.no_verify;
    let round_trip = cli.mode == Mode::RoundTrip;
    // Start offsets: where this run's messages begin in each partition.
    let starts: Option<Vec<i64>> = if verify || round_trip {
        let c = cli.clone();
        let wm = tokio::task::spawn_blocking(move || watermarks(&c, partitions))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("start offsets (ListOffsets; --no-verify skips): {e}"))?;
        Some(wm.iter().map(|&(_, high)| high).collect())
    } else {
        None
    };
    let producer: FutureProducer = producer_config(&cli).create().map_err(|e| format!("producer: {e}"))?;
    let run = new_run(cli.clone(), cli.message_size.max(HEADER_LEN));

    // Round-trip: a consumer thread measuring produce-to-consume latency.
    let ends: Arc<OnceLock<Vec<i64>>> = Arc::new(OnceLock::new());
    let read_deadline: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    type RtOut = (Histogram<u64>, u64, u64, Vec<u8>, u64, Result<ReadOutcome, KafkaError>);
    let rt_reader: Option<std::thread::JoinHandle<RtOut>> = if round_trip {
        let (run, ends, read_deadline, starts) = (run.clone(), ends.clone(), read_deadline.clone(), starts.clone().unwrap());
        Some(std::thread::spawn(move || {
            let mut hist = new_hist();
            let (mut msgs, mut bytes, mut foreign) = (0u64, 0u64, 0u64);
            let mut seen: Vec<u8> = Vec::new();
            let give_up = || read_deadline.get().is_some_and(|d| Instant::now() >= *d);
            let outcome = read_partitions(&run.cli, ALL_PARTITIONS, &starts, &ends, give_up, |_, _, _key, payload| {
                let now = Instant::now();
                match payload.and_then(parse_payload) {
                    Some((rid, id, sent_ns)) if rid == run.run_id => {
                        run.consumed.fetch_add(1, Ordering::Relaxed);
                        let sent = run.base + Duration::from_nanos(sent_ns);
                        if run.in_window(sent) {
                            msgs += 1;
                            bytes += payload.map_or(0, |p| p.len()) as u64;
                            hist.saturating_record(now.saturating_duration_since(sent).as_micros().max(1) as u64);
                        }
                        let id = id as usize;
                        if id < 1 << 40 {
                            if seen.len() <= id {
                                seen.resize(id + 1, 0);
                            }
                            seen[id] = seen[id].saturating_add(1);
                        }
                    }
                    _ => foreign += 1,
                }
            });
            (hist, msgs, bytes, seen, foreign, outcome)
        }))
    } else {
        None
    };

    let progress = if round_trip {
        spawn_progress(run.clone(), "consumed", |r| r.consumed.load(Ordering::Relaxed))
    } else {
        spawn_progress(run.clone(), "acked", |r| r.acked.load(Ordering::Relaxed))
    };
    {
        let run = run.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: stopping");
                run.stop_now();
            }
        });
    }
    let tasks: Vec<_> = (0..cli.concurrency).map(|i| tokio::spawn(produce_task(run.clone(), producer.clone(), i))).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.map_err(|e| format!("producer task: {e}"))?);
    }
    run.stop_now();
    progress.abort();
    let _ = producer.flush(Timeout::After(Duration::from_secs(10)));

    let ids = run.next_id.load(Ordering::Relaxed) as usize;
    let mut hist = new_hist();
    let (mut window_msgs, mut window_bytes) = (0u64, 0u64);
    let mut errors = BTreeMap::new();
    let mut acked_flags = vec![false; ids];
    let mut acked_ends: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &results {
        for (&p, &end) in &r.acked_ends {
            let e = acked_ends.entry(p).or_insert(0);
            *e = (*e).max(end);
        }
        if let Some(h) = &r.hist {
            hist.add(h).map_err(|e| e.to_string())?;
        }
        window_msgs += r.window_msgs;
        window_bytes += r.window_bytes;
        for (k, v) in &r.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
        for &id in &r.acked_ids {
            if (id as usize) < ids {
                acked_flags[id as usize] = true;
            }
        }
    }
    let acknowledged = run.acked.load(Ordering::Relaxed);
    let failed = run.failed.load(Ordering::Relaxed);
    let sent = acknowledged + failed;
    let measured_seconds = run.window_secs();

    // End offsets, for the read-back (verification or the round-trip consumer).
    let read_budget = Duration::from_secs(30) + Duration::from_secs_f64(acknowledged as f64 / 20_000.0);
    let end_offsets = if verify || round_trip {
        // A broker may expose an acknowledged record to consumers a little after
        // acknowledging it (Chronik's high watermark is the durable offset, so an
        // acks=1 record becomes visible at the next sync): wait, bounded, until the
        // end offsets cover every acknowledged offset.
        let c = cli.clone();
        let wanted = acked_ends.clone();
        match tokio::task::spawn_blocking(move || end_offsets_covering(&c, partitions, &wanted, END_OFFSETS_WAIT))
            .await
            .map_err(|e| e.to_string())?
        {
            Ok(ends) => Some(ends),
            Err(e) => {
                eprintln!("end offsets: {e}");
                None
            }
        }
    } else {
        None
    };

    let mut verification = None;
    let mut latency = Some(Latency::from_hist(&hist));
    let (mut messages, mut bytes) = (window_msgs, window_bytes);
    if let Some(reader) = rt_reader {
        let _ = read_deadline.set(Instant::now() + read_budget);
        if let Some(e) = end_offsets.clone() {
            let _ = ends.set(e);
        }
        let (rt_hist, rt_msgs, rt_bytes, seen, foreign, outcome) =
            tokio::task::spawn_blocking(move || reader.join()).await.map_err(|e| e.to_string())?.map_err(|_| "reader panicked")?;
        latency = Some(Latency::from_hist(&rt_hist));
        messages = rt_msgs;
        bytes = rt_bytes;
        let outcome = outcome.map_err(|e| format!("round-trip consumer: {e}"))?;
        if !cli.no_verify {
            verification = Some(judge(&acked_flags, &seen, foreign, 0, !outcome.complete || end_offsets.is_none()));
        }
    } else if verify {
        eprintln!("verifying: reading {acknowledged} acknowledged messages back");
        let starts = starts.unwrap();
        let c = cli.clone();
        let run2 = run.clone();
        let v = tokio::task::spawn_blocking(move || {
            let ends = OnceLock::new();
            let complete_known = end_offsets.is_some();
            let _ = ends.set(end_offsets.unwrap_or_default());
            let give_up_at = Instant::now() + read_budget;
            let (mut foreign, mut corrupt) = (0u64, 0u64);
            let mut seen = vec![0u8; ids];
            let outcome = read_partitions(
                &c,
                ALL_PARTITIONS,
                &starts,
                &ends,
                || Instant::now() >= give_up_at,
                |_, _, key, payload| match payload.and_then(parse_payload) {
                    Some((rid, id, _)) if rid == run2.run_id => {
                        if key != Some(&id.to_be_bytes()[..]) || (id as usize) >= seen.len() {
                            corrupt += 1;
                        } else {
                            seen[id as usize] = seen[id as usize].saturating_add(1);
                        }
                    }
                    _ => foreign += 1,
                },
            );
            match outcome {
                Ok(o) => Ok(judge(&acked_flags, &seen, foreign, corrupt, !o.complete || !complete_known)),
                Err(e) => Err(format!("verification consumer: {e}")),
            }
        })
        .await
        .map_err(|e| e.to_string())??;
        verification = Some(v);
    }
    if latency.as_ref().is_some_and(|l| l.count == 0) {
        latency = None;
    }
    let passed = failed == 0 && acknowledged > 0 && verification.as_ref().is_none_or(|v| v.passed);
    Ok(Report {
        mode: cli.mode,
        config: cli,
        partitions,
        measured_seconds,
        first_message_after_seconds: None,
        messages,
        bytes,
        messages_per_sec: rate(messages, measured_seconds),
        mb_per_sec: rate(bytes, measured_seconds) / 1e6,
        latency,
        sent,
        acknowledged,
        failed,
        success_rate: if sent == 0 { 0.0 } else { acknowledged as f64 / sent as f64 },
        errors,
        verification,
        passed,
    })
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

fn judge(acked: &[bool], seen: &[u8], foreign: u64, corrupt: u64, incomplete: bool) -> Verification {
    let mut v = Verification { foreign, corrupt, incomplete, ..Default::default() };
    for (id, &a) in acked.iter().enumerate() {
        let n = seen.get(id).copied().unwrap_or(0) as u64;
        if a {
            v.acknowledged += 1;
        }
        if n > 0 {
            v.found += 1;
            v.duplicated += n - 1;
            if !a {
                v.unacknowledged_found += 1;
            }
        } else if a {
            v.missing += 1;
            if v.missing_sample.len() < 10 {
                v.missing_sample.push(id as u64);
            }
        }
    }
    v.passed = v.missing == 0 && v.duplicated == 0 && v.corrupt == 0 && !v.incomplete;
    v
}

/// What one consume-mode reader saw: every message it read, and when.
#[derive(Default)]
struct Reader {
    messages: u64,
    bytes: u64,
    /// When its first message came, and that message's size.
    first: Option<(Instant, u64)>,
    last: Option<Instant>,
}

impl Reader {
    fn saw(&mut self, bytes: u64) {
        let now = Instant::now();
        self.first.get_or_insert((now, bytes));
        self.last = Some(now);
        self.messages += 1;
        self.bytes += bytes;
    }

    /// All readers as one: the earliest first message, the latest last one, the
    /// sums, every error, and complete only if every reader completed.
    fn merge(reads: Vec<(Reader, ReadOutcome)>) -> (Reader, ReadOutcome) {
        let mut all = (Reader::default(), ReadOutcome { complete: true, errors: BTreeMap::new() });
        for (r, o) in reads {
            all.0.messages += r.messages;
            all.0.bytes += r.bytes;
            all.0.first = match (all.0.first, r.first) {
                (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
                (a, b) => a.or(b),
            };
            all.0.last = all.0.last.max(r.last);
            all.1.complete &= o.complete;
            for (k, n) in o.errors {
                *all.1.errors.entry(k).or_default() += n;
            }
        }
        all
    }
}

async fn run_consume(cli: Cli, partitions: usize) -> Result<Report, String> {
    let c = cli.clone();
    let wm = tokio::task::spawn_blocking(move || watermarks(&c, partitions))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("watermarks: {e}"))?;
    let starts: Vec<i64> = wm.iter().map(|&(low, _)| low).collect();
    let total: i64 = wm.iter().map(|&(low, high)| high - low).sum();
    eprintln!("consuming {total} messages from {} partitions", partitions);
    let mut no_warmup = cli.clone();
    no_warmup.warmup_duration = Duration::ZERO;
    let run = new_run(no_warmup, 0);
    let progress = spawn_progress(run.clone(), "consumed", |r| r.consumed.load(Ordering::Relaxed));
    let readers = (run.cli.concurrency as usize).clamp(1, partitions.max(1));
    let run2 = run.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let ends = OnceLock::new();
        let _ = ends.set(wm.iter().map(|&(_, high)| high).collect::<Vec<_>>());
        let limit = run2.cli.message_count;
        let give_up =
            || run2.deadline.is_some_and(|d| Instant::now() >= d) || limit.is_some_and(|n| run2.consumed.load(Ordering::Relaxed) >= n);
        let reads: Vec<Result<(Reader, ReadOutcome), KafkaError>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..readers)
                .map(|i| {
                    let (run2, starts, ends, give_up) = (&run2, &starts, &ends, &give_up);
                    scope.spawn(move || {
                        let mut r = Reader::default();
                        let outcome = read_partitions(&run2.cli, (i, readers), starts, ends, give_up, |_, _, _, payload| {
                            run2.consumed.fetch_add(1, Ordering::Relaxed);
                            r.saw(payload.map_or(0, |p| p.len()) as u64);
                        });
                        outcome.map(|o| (r, o))
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().expect("reader thread panicked")).collect()
        });
        run2.stop_now();
        let reads = reads.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok::<_, KafkaError>(Reader::merge(reads))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("consumer: {e}"))?;
    progress.abort();
    let (reader, outcome) = outcome;
    // The window runs from the first message to the last, so client start-up
    // (bootstrap, metadata, offset lookup) is reported apart from the rate: a
    // short topic would otherwise measure mostly start-up. The first message opens
    // the window; it is not counted in it.
    let (messages, bytes) = match reader.first {
        Some((_, first_bytes)) => (reader.messages - 1, reader.bytes - first_bytes),
        None => (0, 0),
    };
    let startup = reader.first.map(|(f, _)| f.saturating_duration_since(run.base));
    let secs = match (reader.first, reader.last) {
        (Some((f, _)), Some(l)) => l.saturating_duration_since(f).as_secs_f64(),
        _ => 0.0,
    };
    eprintln!(
        "consumed {} messages with {readers} consumer(s); first message after {:.3} s",
        run.consumed.load(Ordering::Relaxed),
        startup.map_or(f64::NAN, |s| s.as_secs_f64())
    );
    let failed: u64 = outcome.errors.values().sum();
    Ok(Report {
        mode: cli.mode,
        config: cli,
        partitions,
        measured_seconds: secs,
        first_message_after_seconds: startup.map(|s| s.as_secs_f64()),
        messages,
        bytes,
        messages_per_sec: rate(messages, secs),
        mb_per_sec: rate(bytes, secs) / 1e6,
        latency: None,
        sent: 0,
        acknowledged: 0,
        failed,
        success_rate: if failed == 0 { 1.0 } else { 0.0 },
        errors: outcome.errors,
        verification: None,
        passed: failed == 0,
    })
}

fn print_report(r: &Report) {
    let to_stdout = r.config.json_output.as_deref() != Some("-");
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "\n== chronik-bench {:?} — {} ==", r.mode, r.config.bootstrap_servers);
    let _ = writeln!(s, "  measured window      {:>12.2} s", r.measured_seconds);
    let _ = writeln!(s, "  messages             {:>12}", r.messages);
    let _ = writeln!(s, "  messages/s           {:>12.0}", r.messages_per_sec);
    let _ = writeln!(s, "  MB/s                 {:>12.2}", r.mb_per_sec);
    if let Some(l) = &r.latency {
        let what = if r.mode == Mode::RoundTrip { "produce-to-consume" } else { "send-to-ack" };
        let _ = writeln!(s, "  latency ({what}, ms)");
        for (name, v) in [("p50", l.p50), ("p90", l.p90), ("p99", l.p99), ("p99.9", l.p999), ("max", l.max)] {
            let _ = writeln!(s, "    {name:<18} {v:>12.3}");
        }
    }
    if r.mode != Mode::Consume {
        let _ = writeln!(s, "  sent / acked / failed {:>9} / {} / {}", r.sent, r.acknowledged, r.failed);
        let _ = writeln!(s, "  success rate         {:>11.4}%", r.success_rate * 100.0);
    }
    for (k, v) in &r.errors {
        let _ = writeln!(s, "  error {k:<30} {v}");
    }
    if let Some(v) = &r.verification {
        let _ = writeln!(
            s,
            "  verification         {} (acked {}, found {}, missing {}, duplicated {}, corrupt {}{})",
            if v.passed { "passed" } else { "FAILED" },
            v.acknowledged,
            v.found,
            v.missing,
            v.duplicated,
            v.corrupt,
            if v.incomplete { ", read-back incomplete" } else { "" }
        );
        if !v.missing_sample.is_empty() {
            let _ = writeln!(s, "  missing ids (first)  {:?}", v.missing_sample);
        }
    } else if r.mode == Mode::Produce {
        let _ = writeln!(s, "  verification         skipped (--no-verify)");
    }
    let _ = writeln!(s, "  result               {}", if r.passed { "PASS" } else { "FAIL" });
    if to_stdout {
        print!("{s}");
        let _ = std::io::stdout().flush();
    } else {
        eprint!("{s}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_key_value() {
        assert_eq!(parse_property("socket.nagle.disable=true"), Ok(("socket.nagle.disable".into(), "true".into())));
        assert_eq!(parse_property("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_property("novalue").is_err());
        assert!(parse_property("=x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("x").is_err());
        assert!(parse_duration("3d").is_err());
    }

    #[test]
    fn judge_counts_missing_and_duplicates() {
        let acked = [true, true, true, false];
        let seen = [1, 0, 3, 1];
        let v = judge(&acked, &seen, 0, 0, false);
        assert_eq!((v.acknowledged, v.found, v.missing, v.duplicated, v.unacknowledged_found), (3, 3, 1, 2, 1));
        assert!(!v.passed);
        assert!(judge(&[true], &[1], 5, 0, false).passed);
    }

    #[test]
    fn payload_header_round_trips() {
        let mut p = vec![0u8; 40];
        p[..4].copy_from_slice(MAGIC);
        p[4..12].copy_from_slice(&7u64.to_be_bytes());
        p[12..20].copy_from_slice(&9u64.to_be_bytes());
        p[20..28].copy_from_slice(&11u64.to_be_bytes());
        assert_eq!(parse_payload(&p), Some((7, 9, 11)));
        assert_eq!(parse_payload(&p[..20]), None);
    }
}
