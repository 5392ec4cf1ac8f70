//! API keys and the versions this broker implements.
//!
//! [`APIS`] is the single source of truth: ApiVersions advertises exactly this
//! table, the dispatcher rejects anything outside it, and the header versions are
//! derived from each API's first flexible version.

/// Kafka API keys.
pub mod key {
    pub const PRODUCE: i16 = 0;
    pub const FETCH: i16 = 1;
    pub const LIST_OFFSETS: i16 = 2;
    pub const METADATA: i16 = 3;
    pub const OFFSET_COMMIT: i16 = 8;
    pub const OFFSET_FETCH: i16 = 9;
    pub const FIND_COORDINATOR: i16 = 10;
    pub const JOIN_GROUP: i16 = 11;
    pub const HEARTBEAT: i16 = 12;
    pub const LEAVE_GROUP: i16 = 13;
    pub const SYNC_GROUP: i16 = 14;
    pub const DESCRIBE_GROUPS: i16 = 15;
    pub const LIST_GROUPS: i16 = 16;
    pub const API_VERSIONS: i16 = 18;
    pub const CREATE_TOPICS: i16 = 19;
    pub const DELETE_TOPICS: i16 = 20;
    pub const DELETE_RECORDS: i16 = 21;
    pub const INIT_PRODUCER_ID: i16 = 22;
    pub const OFFSET_FOR_LEADER_EPOCH: i16 = 23;
    pub const DESCRIBE_CONFIGS: i16 = 32;
    pub const ALTER_CONFIGS: i16 = 33;
    pub const CREATE_PARTITIONS: i16 = 37;
    pub const DELETE_GROUPS: i16 = 42;
    pub const INCREMENTAL_ALTER_CONFIGS: i16 = 44;
    pub const OFFSET_DELETE: i16 = 47;
    pub const DESCRIBE_CLUSTER: i16 = 60;
}

/// One API this broker implements.
#[derive(Debug, Clone, Copy)]
pub struct ApiSpec {
    pub key: i16,
    pub name: &'static str,
    pub min_version: i16,
    pub max_version: i16,
    /// The first version using compact encodings and tagged fields.
    pub flexible_from: i16,
}

impl ApiSpec {
    pub fn is_flexible(&self, version: i16) -> bool {
        version >= self.flexible_from
    }

    pub fn supports(&self, version: i16) -> bool {
        (self.min_version..=self.max_version).contains(&version)
    }
}

const fn api(key: i16, name: &'static str, min_version: i16, max_version: i16, flexible_from: i16) -> ApiSpec {
    ApiSpec { key, name, min_version, max_version, flexible_from }
}

/// Every API and version range implemented, sorted by key.
pub const APIS: &[ApiSpec] = &[
    api(key::PRODUCE, "Produce", 3, 11, 9),
    api(key::FETCH, "Fetch", 4, 17, 12),
    api(key::LIST_OFFSETS, "ListOffsets", 1, 10, 6),
    api(key::METADATA, "Metadata", 0, 12, 9),
    api(key::OFFSET_COMMIT, "OffsetCommit", 2, 9, 8),
    api(key::OFFSET_FETCH, "OffsetFetch", 1, 9, 6),
    api(key::FIND_COORDINATOR, "FindCoordinator", 0, 6, 3),
    api(key::JOIN_GROUP, "JoinGroup", 0, 9, 6),
    api(key::HEARTBEAT, "Heartbeat", 0, 4, 4),
    api(key::LEAVE_GROUP, "LeaveGroup", 0, 5, 4),
    api(key::SYNC_GROUP, "SyncGroup", 0, 5, 4),
    api(key::DESCRIBE_GROUPS, "DescribeGroups", 0, 5, 5),
    api(key::LIST_GROUPS, "ListGroups", 0, 5, 3),
    api(key::API_VERSIONS, "ApiVersions", 0, 4, 3),
    api(key::CREATE_TOPICS, "CreateTopics", 2, 7, 5),
    api(key::DELETE_TOPICS, "DeleteTopics", 1, 6, 4),
    api(key::DELETE_RECORDS, "DeleteRecords", 0, 2, 2),
    api(key::INIT_PRODUCER_ID, "InitProducerId", 0, 5, 2),
    api(key::OFFSET_FOR_LEADER_EPOCH, "OffsetForLeaderEpoch", 2, 4, 4),
    api(key::DESCRIBE_CONFIGS, "DescribeConfigs", 1, 4, 4),
    api(key::ALTER_CONFIGS, "AlterConfigs", 0, 2, 2),
    api(key::CREATE_PARTITIONS, "CreatePartitions", 0, 3, 2),
    api(key::DELETE_GROUPS, "DeleteGroups", 0, 2, 2),
    api(key::INCREMENTAL_ALTER_CONFIGS, "IncrementalAlterConfigs", 0, 1, 1),
    api(key::OFFSET_DELETE, "OffsetDelete", 0, 0, i16::MAX),
    api(key::DESCRIBE_CLUSTER, "DescribeCluster", 0, 1, 0),
];

pub fn spec(key: i16) -> Option<&'static ApiSpec> {
    APIS.iter().find(|a| a.key == key)
}

/// Request header version: 2 for flexible request versions, 1 otherwise.
pub fn request_header_version(key: i16, version: i16) -> i16 {
    match spec(key) {
        Some(s) if s.is_flexible(version) => 2,
        _ => 1,
    }
}

/// Response header version: 1 for flexible versions, 0 otherwise. ApiVersions
/// always answers with header v0 so that a client that does not yet know the
/// broker's versions can read it.
pub fn response_header_version(key: i16, version: i16) -> i16 {
    if key == key::API_VERSIONS {
        return 0;
    }
    match spec(key) {
        Some(s) if s.is_flexible(version) => 1,
        _ => 0,
    }
}
