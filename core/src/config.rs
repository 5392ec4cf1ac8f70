//! Broker configuration (fixed at start) and topic configuration (per topic,
//! changed through the Admin APIs).

use crate::types::NodeId;

/// Settings fixed when the broker starts. Limits are named with their unit last.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub node_id: NodeId,
    /// Host and port clients are told to connect to (Metadata, DescribeCluster).
    pub advertised_host: String,
    pub advertised_port: i32,
    /// The cluster id reported in Metadata and DescribeCluster.
    pub cluster_id: String,
    /// `auto.create.topics.enable`
    pub auto_create_topics: bool,
    /// `num.partitions`: partitions of an auto-created topic.
    pub default_partitions: i32,
    /// `socket.request.max.bytes`: a larger frame closes the connection.
    pub request_bytes_max: usize,
    /// Connections served at once; more are closed on accept.
    pub connections_max: usize,
    /// Requests of one connection being processed at once; more wait unread
    /// (the driver stops reading the socket).
    pub inflight_requests_per_connection_max: usize,
    /// Disk operations in flight at once.
    pub pending_disk_ops_max: usize,
    /// Partitions on this broker, over all topics.
    pub partitions_max: usize,
    /// Interval of the background sync that makes `acks=0/1` data durable.
    pub flush_interval_ms: i64,
    /// How often retention runs.
    pub retention_check_interval_ms: i64,
    /// `producer.id.expiration.ms`: an idempotent producer idle this long (by
    /// its last batch's timestamp) is forgotten on the retention timer.
    pub producer_id_expiration_ms: i64,
    /// Seed of the broker's random generator (topic ids).
    pub seed: u64,
    /// The group coordinator's settings.
    pub groups: crate::group::GroupConfig,
    /// Bugs the simulator plants on purpose to prove its checkers can fail.
    #[cfg(feature = "sim-knobs")]
    pub knobs: Knobs,
}

/// Test-only knobs (feature `sim-knobs`); all off by default.
#[cfg(feature = "sim-knobs")]
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// Answer `acks=all` produces as soon as they are appended, before the sync.
    pub ack_before_sync: bool,
    /// OffsetFetch answers one less than every committed offset above 0.
    pub stale_offset_fetch: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: NodeId(1),
            advertised_host: "localhost".into(),
            advertised_port: 9092,
            cluster_id: "chronik-standalone".into(),
            auto_create_topics: true,
            default_partitions: 1,
            request_bytes_max: 100 << 20,
            connections_max: 10_000,
            inflight_requests_per_connection_max: 32,
            pending_disk_ops_max: 4096,
            partitions_max: 10_000,
            flush_interval_ms: 100,
            retention_check_interval_ms: 60_000,
            producer_id_expiration_ms: 86_400_000,
            seed: 0,
            groups: crate::group::GroupConfig::default(),
            #[cfg(feature = "sim-knobs")]
            knobs: Knobs::default(),
        }
    }
}
