//! `chronik-null-broker`: the smallest Kafka server a client will produce to.
//!
//! It answers ApiVersions, Metadata (every topic asked for exists with
//! `--partitions` partitions, all led by this broker) and Produce (at once, with
//! success and base offsets counting up per partition), and closes the connection
//! on anything else. It stores nothing. Its throughput is the ceiling the client
//! and the loopback network allow: a baseline for `chronik-bench`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use chronik_core::protocol::api::{self, key};
use chronik_core::protocol::header::{encode_response_header, RequestHeader};
use chronik_core::protocol::messages::api_versions::{ApiVersion, ApiVersionsResponse};
use chronik_core::protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use chronik_core::protocol::messages::produce::{PartitionProduceResponse, ProduceRequest, ProduceResponse, TopicProduceResponse};
use chronik_core::protocol::messages::Response;
use chronik_core::protocol::{Decode, Reader, Writer};
use chronik_core::types::TopicId;
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const NODE_ID: i32 = 1;
const UNSUPPORTED_VERSION: i16 = 35;
/// Frames larger than this close the connection.
const MAX_FRAME: usize = 128 * 1024 * 1024;

/// A Kafka server that acknowledges every produce and stores nothing.
#[derive(Debug, Parser)]
#[command(name = "chronik-null-broker", version, about)]
struct Cli {
    /// Port to listen on (0 picks a free one; the chosen port is printed).
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_addr: String,
    /// Host name clients are told to connect to (Metadata).
    #[arg(long, default_value = "127.0.0.1")]
    advertised_host: String,
    /// Partitions reported for every topic.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Topics listed when a client asks for all topics.
    #[arg(long = "topic", default_value = "chronik-bench")]
    topics: Vec<String>,
}

struct Shared {
    advertised_host: String,
    port: i32,
    partitions: i32,
    topics: Vec<String>,
    /// Next offset per (topic, partition).
    offsets: Mutex<HashMap<(String, i32), i64>>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let listener = TcpListener::bind((cli.bind_addr.as_str(), cli.port)).await?;
    let port = listener.local_addr()?.port();
    println!("chronik-null-broker listening on {}:{port}", cli.bind_addr);
    let shared = Arc::new(Shared {
        advertised_host: cli.advertised_host,
        port: port as i32,
        partitions: cli.partitions,
        topics: cli.topics,
        offsets: Mutex::new(HashMap::new()),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = serve(stream, &shared).await;
        });
    }
}

/// One connection: read a frame, answer it, until the peer closes or asks for
/// something this broker does not do.
async fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(256 * 1024, rd);
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let len = match rd.read_i32().await {
            Ok(n) if n >= 0 && (n as usize) <= MAX_FRAME => n as usize,
            _ => return Ok(()),
        };
        let mut frame = BytesMut::zeroed(len);
        rd.read_exact(&mut frame).await?;
        out.clear();
        if !answer(frame.freeze(), shared, &mut out) {
            return Ok(());
        }
        if !out.is_empty() {
            wr.write_all(&out).await?;
        }
    }
}

/// Append the framed response to `out` (nothing for acks=0 produce); false closes
/// the connection.
fn answer(frame: Bytes, shared: &Shared, out: &mut Vec<u8>) -> bool {
    let mut r = Reader::new(frame);
    let Ok(h) = RequestHeader::decode(&mut r) else { return false };
    let supported = api::spec(h.api_key).is_some_and(|s| s.supports(h.api_version));
    let (response, version) = match h.api_key {
        key::API_VERSIONS => api_versions(h.api_version),
        key::METADATA if supported => {
            let Ok(req) = MetadataRequest::decode(&mut r, h.api_version) else { return false };
            (Response::Metadata(metadata(&req, shared)), h.api_version)
        }
        key::PRODUCE if supported => {
            let Ok(req) = ProduceRequest::decode(&mut r, h.api_version) else { return false };
            let resp = produce(&req, shared);
            if req.acks == 0 {
                return true;
            }
            (Response::Produce(resp), h.api_version)
        }
        _ => return false,
    };
    let mut w = Writer::new();
    w.i32(0); // length, patched below
    encode_response_header(&mut w, h.api_key, version, h.correlation_id);
    response.encode(&mut w, version);
    let len = w.len() as i32 - 4;
    w.patch_i32(0, len);
    out.extend_from_slice(&w.finish());
    true
}

/// The APIs this broker answers, at the versions the codec implements. A version
/// it does not know gets UNSUPPORTED_VERSION in v0 (what Kafka does), so the client
/// retries with one it does.
fn api_versions(version: i16) -> (Response, i16) {
    let api_keys = [key::PRODUCE, key::METADATA, key::API_VERSIONS]
        .iter()
        .filter_map(|&k| api::spec(k))
        .map(|s| ApiVersion { api_key: s.key, min_version: s.min_version, max_version: s.max_version })
        .collect();
    let ok = api::spec(key::API_VERSIONS).is_some_and(|s| s.supports(version));
    let resp = ApiVersionsResponse { error_code: if ok { 0 } else { UNSUPPORTED_VERSION }, api_keys, throttle_time_ms: 0 };
    (Response::ApiVersions(resp), if ok { version } else { 0 })
}

fn metadata(req: &MetadataRequest, shared: &Shared) -> MetadataResponse {
    let names: Vec<String> = match &req.topics {
        None => shared.topics.clone(),
        Some(ts) => ts.iter().filter_map(|t| t.name.clone()).collect(),
    };
    let topics = names
        .into_iter()
        .map(|name| {
            let mut id = [0u8; 16];
            // A stable non-zero id per name (FNV-1a), so clients that key on ids are happy.
            let mut hash: u64 = 0xcbf29ce484222325;
            for b in name.bytes() {
                hash = (hash ^ b as u64).wrapping_mul(0x100000001b3);
            }
            id[..8].copy_from_slice(&hash.to_be_bytes());
            id[8..].copy_from_slice(&hash.rotate_left(17).to_be_bytes());
            MetadataResponseTopic {
                name: Some(name),
                topic_id: TopicId(id),
                partitions: (0..shared.partitions)
                    .map(|p| MetadataResponsePartition {
                        partition_index: p,
                        leader_id: NODE_ID,
                        leader_epoch: 0,
                        replica_nodes: vec![NODE_ID],
                        isr_nodes: vec![NODE_ID],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    MetadataResponse {
        brokers: vec![MetadataResponseBroker { node_id: NODE_ID, host: shared.advertised_host.clone(), port: shared.port, rack: None }],
        cluster_id: Some("chronik-null-broker".into()),
        controller_id: NODE_ID,
        topics,
        ..Default::default()
    }
}

fn produce(req: &ProduceRequest, shared: &Shared) -> ProduceResponse {
    let mut offsets = shared.offsets.lock().unwrap_or_else(|e| e.into_inner());
    let responses = req
        .topic_data
        .iter()
        .map(|t| TopicProduceResponse {
            name: t.name.clone(),
            partition_responses: t
                .partition_data
                .iter()
                .map(|p| {
                    let count = p.records.as_deref().map_or(0, record_count);
                    let next = offsets.entry((t.name.clone(), p.index)).or_insert(0);
                    let base_offset = *next;
                    *next += count;
                    PartitionProduceResponse { index: p.index, base_offset, log_start_offset: 0, ..Default::default() }
                })
                .collect(),
        })
        .collect();
    ProduceResponse { responses, ..Default::default() }
}

/// Records in a run of record batches (lastOffsetDelta + 1 for each), without
/// validating them.
fn record_count(mut batches: &[u8]) -> i64 {
    let mut n = 0;
    while batches.len() >= 27 {
        let batch_len = i32::from_be_bytes(batches[8..12].try_into().unwrap());
        let last_offset_delta = i32::from_be_bytes(batches[23..27].try_into().unwrap());
        n += last_offset_delta.max(0) as i64 + 1;
        let total = 12usize.saturating_add(batch_len.max(0) as usize);
        if total > batches.len() {
            break;
        }
        batches = &batches[total..];
    }
    n
}
