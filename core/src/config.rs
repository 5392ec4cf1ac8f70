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
    /// Cluster mode (the Raft metadata quorum); `None` runs standalone.
    pub cluster: Option<ClusterConfig>,
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
    /// Raft votes and append acknowledgements leave before their hard state and
    /// entries are synced (raft-rs's `persisted_messages` sent at once).
    pub raft_ack_before_persist: bool,
    /// After a leader change a follower truncates to its own high watermark instead
    /// of the divergence point (the pre-KIP-101 rule: its high watermark may lag the
    /// leader's, so it cuts committed records).
    pub truncate_to_local_hw: bool,
    /// A leader counts a follower fetch made at an older leader epoch (a follower
    /// that has not checked its log against this leader's yet).
    pub accept_stale_fetch_epoch: bool,
    /// A leader proposes every replica into the ISR, caught up or not.
    pub lagging_follower_in_sync: bool,
    /// The controller never fences a broker that stopped heartbeating.
    pub never_fence_brokers: bool,
    /// Seeds the BUGGIFY fault points (`crate::buggify`); `None`: all off.
    pub buggify_seed: Option<u64>,
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
            cluster: None,
            #[cfg(feature = "sim-knobs")]
            knobs: Knobs::default(),
        }
    }
}

/// Cluster mode: this broker is one voter of the metadata quorum. Every broker of the
/// cluster is a voter; peers are named by node id, and how to reach them is the
/// driver's business (`Output::PeerSend`).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The initial voters (this node among them). Every node must be started with the
    /// same list; it seeds the Raft configuration on first start only.
    pub voters: Vec<NodeId>,
    /// One Raft tick.
    pub tick_interval_ms: i64,
    /// Raft election timeout in ticks (randomized in `[n, 2n)`).
    pub election_ticks: usize,
    /// Raft leader heartbeat in ticks.
    pub heartbeat_ticks: usize,
    /// How often a broker heartbeats the controller (Kafka's `broker.heartbeat.interval.ms`).
    pub broker_heartbeat_interval_ms: i64,
    /// A broker not heard from for this long is fenced (Kafka's `broker.session.timeout.ms`).
    pub broker_session_timeout_ms: i64,
    /// How long a forwarded admin request waits for its metadata change to apply before
    /// the client gets REQUEST_TIMED_OUT.
    pub forward_timeout_ms: i64,
    /// Take a Raft snapshot (and rewrite the Raft log file) every this many entries.
    pub snapshot_interval_entries: u64,
    /// A peer message longer than this is dropped (and logged).
    pub peer_message_bytes_max: usize,
    /// A follower not caught up to the leader's log end for this long leaves the ISR
    /// (Kafka's `replica.lag.time.max.ms`).
    pub replica_lag_time_max_ms: i64,
    /// How long a leader holds a follower's fetch that found no new records (Kafka's
    /// `replica.fetch.wait.max.ms`).
    pub replica_fetch_wait_max_ms: i64,
    /// Most record bytes in one answer to a follower fetch (`replica.fetch.max.bytes`).
    pub replica_fetch_bytes_max: u32,
}

impl ClusterConfig {
    pub fn new(voters: Vec<NodeId>) -> ClusterConfig {
        ClusterConfig {
            voters,
            tick_interval_ms: 100,
            election_ticks: 10,
            heartbeat_ticks: 2,
            broker_heartbeat_interval_ms: 500,
            broker_session_timeout_ms: 6_000,
            forward_timeout_ms: 30_000,
            snapshot_interval_entries: 1_000,
            peer_message_bytes_max: 16 << 20,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_bytes_max: 1 << 20,
        }
    }
}
