//! Real request frames, encoded with the core's own codec: the committed seed
//! corpora are built from them (`cargo run --example make-seeds`) and the
//! `broker_connection` scenario can splice them into its stream.

use bytes::Bytes;
use chronik_core::protocol::header::RequestHeader;
use chronik_core::protocol::messages::{
    api_versions::ApiVersionsRequest,
    create_topics::{CreatableTopic, CreatableTopicConfig, CreateTopicsRequest},
    fetch::{FetchPartition, FetchRequest, FetchTopic},
    find_coordinator::FindCoordinatorRequest,
    join_group::{JoinGroupRequest, JoinGroupRequestProtocol},
    list_offsets::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic},
    metadata::{MetadataRequest, MetadataRequestTopic},
    offset_commit::{OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic},
    produce::{PartitionProduceData, ProduceRequest, TopicProduceData},
    Request,
};
use chronik_core::protocol::Writer;
use chronik_core::records::{build_batch, Compression, Record};

/// The topic the seeds produce to and fetch from (auto-created by Metadata/Produce).
pub const TOPIC: &str = "fuzz";

/// One request frame: header and body, without the 4-byte length prefix.
pub fn body(version: i16, correlation_id: i32, req: &Request) -> Vec<u8> {
    let mut w = Writer::new();
    RequestHeader { api_key: req.api_key(), api_version: version, correlation_id, client_id: Some("fuzz".into()) }.encode(&mut w);
    req.encode(&mut w, version);
    w.finish().to_vec()
}

/// `body` with its big-endian length prefix, as it travels on the socket.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn batch(compression: Compression) -> Bytes {
    let records: Vec<Record> = (0..3)
        .map(|i| Record {
            timestamp: 1_700_000_000_000 + i,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(vec![b'a' + i as u8; 24])),
            headers: vec![("h".into(), Some(Bytes::from_static(b"v")))],
            ..Default::default()
        })
        .collect();
    build_batch(&records, compression, -1, -1, -1)
}

fn produce(acks: i16, compression: Compression) -> Request {
    Request::Produce(ProduceRequest {
        transactional_id: None,
        acks,
        timeout_ms: 1_000,
        topic_data: vec![TopicProduceData {
            name: TOPIC.into(),
            partition_data: vec![PartitionProduceData { index: 0, records: Some(batch(compression)) }],
        }],
    })
}

fn metadata(topics: Option<&[&str]>) -> Request {
    Request::Metadata(MetadataRequest {
        topics: topics.map(|t| t.iter().map(|n| MetadataRequestTopic { name: Some((*n).into()), ..Default::default() }).collect()),
        ..Default::default()
    })
}

fn fetch(max_wait_ms: i32) -> Request {
    Request::Fetch(FetchRequest {
        max_wait_ms,
        min_bytes: 1,
        max_bytes: 1 << 20,
        topics: vec![FetchTopic {
            topic: TOPIC.into(),
            partitions: vec![FetchPartition { partition: 0, fetch_offset: 0, partition_max_bytes: 1 << 20, ..Default::default() }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// Every seed: a name and its frame (no length prefix).
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let api_versions_v3 = Request::ApiVersions(ApiVersionsRequest {
        client_software_name: "chronik-fuzz".into(),
        client_software_version: "0.0.0".into(),
    });
    // An ApiVersions version the broker does not know: answered in v0 with
    // UNSUPPORTED_VERSION (Kafka's rule). The body is what a v3 client would send.
    let mut api_versions_v99 = body(3, 3, &api_versions_v3);
    api_versions_v99[2..4].copy_from_slice(&99i16.to_be_bytes());
    vec![
        ("api_versions_v0", body(0, 1, &Request::ApiVersions(ApiVersionsRequest::default()))),
        ("api_versions_v3", body(3, 2, &api_versions_v3)),
        ("api_versions_v99", api_versions_v99),
        ("metadata_v0_all", body(0, 4, &metadata(None))),
        ("metadata_v1_topic", body(1, 5, &metadata(Some(&[TOPIC])))),
        ("metadata_v9_topic", body(9, 6, &metadata(Some(&[TOPIC, "other"])))),
        ("metadata_v12_all", body(12, 7, &metadata(None))),
        ("produce_v3_acks1", body(3, 8, &produce(1, Compression::None))),
        ("produce_v9_acksall_gzip", body(9, 9, &produce(-1, Compression::Gzip))),
        ("produce_v11_acks0_zstd", body(11, 10, &produce(0, Compression::Zstd))),
        ("produce_v8_lz4", body(8, 11, &produce(1, Compression::Lz4))),
        ("produce_v7_snappy", body(7, 12, &produce(1, Compression::Snappy))),
        ("fetch_v4", body(4, 13, &fetch(0))),
        ("fetch_v12_longpoll", body(12, 14, &fetch(500))),
        (
            "list_offsets_v1",
            body(
                1,
                15,
                &Request::ListOffsets(ListOffsetsRequest {
                    replica_id: -1,
                    topics: vec![ListOffsetsTopic {
                        name: TOPIC.into(),
                        partitions: vec![ListOffsetsPartition { partition_index: 0, timestamp: -1, ..Default::default() }],
                    }],
                    ..Default::default()
                }),
            ),
        ),
        (
            "create_topics_v5",
            body(
                5,
                16,
                &Request::CreateTopics(CreateTopicsRequest {
                    topics: vec![CreatableTopic {
                        name: "made".into(),
                        num_partitions: 2,
                        replication_factor: 1,
                        configs: vec![CreatableTopicConfig { name: "cleanup.policy".into(), value: Some("compact".into()) }],
                        ..Default::default()
                    }],
                    timeout_ms: 1_000,
                    validate_only: false,
                }),
            ),
        ),
        ("find_coordinator_v0", body(0, 17, &Request::FindCoordinator(FindCoordinatorRequest { key: "g".into(), ..Default::default() }))),
        (
            "join_group_v5",
            body(
                5,
                18,
                &Request::JoinGroup(JoinGroupRequest {
                    group_id: "g".into(),
                    session_timeout_ms: 10_000,
                    rebalance_timeout_ms: 10_000,
                    protocol_type: "consumer".into(),
                    protocols: vec![JoinGroupRequestProtocol { name: "range".into(), metadata: Bytes::from_static(b"\0\0\0\0\0\x01\0\x04fuzz\0\0\0\0") }],
                    ..Default::default()
                }),
            ),
        ),
        (
            "offset_commit_v2",
            body(
                2,
                19,
                &Request::OffsetCommit(OffsetCommitRequest {
                    group_id: "g".into(),
                    generation_id_or_member_epoch: -1,
                    retention_time_ms: -1,
                    topics: vec![OffsetCommitRequestTopic {
                        name: TOPIC.into(),
                        partitions: vec![OffsetCommitRequestPartition { partition_index: 0, committed_offset: 1, committed_leader_epoch: -1, committed_metadata: None }],
                    }],
                    ..Default::default()
                }),
            ),
        ),
    ]
}

/// Request frames (no length prefix) the broker scenario may splice in, by index.
pub fn frames() -> &'static [Vec<u8>] {
    use std::sync::OnceLock;
    static FRAMES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FRAMES.get_or_init(|| all().into_iter().map(|(_, f)| f).collect())
}
