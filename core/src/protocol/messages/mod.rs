//! One module per Kafka API: its request and response types, both directions.
//!
//! Conventions (every module follows them):
//! - `XxxRequest` and `XxxResponse` structs with public fields named as in Kafka's
//!   message definitions (snake_case), nested structs named `XxxRequestTopic`,
//!   `XxxResponsePartition`, and so on.
//! - Each implements [`Decode`] and [`Encode`] for every version in
//!   [`super::api::APIS`]; fields absent in a version take Kafka's default on
//!   decode and are skipped on encode. Each struct sets `r.flexible`/`w.flexible`
//!   from its version and reads/writes its tagged fields.
//! - Unknown tagged fields are skipped on decode.

use super::api::key;
use super::codec::{Decode, DecodeError, DecodeResult, Encode, Reader, Writer};

pub mod alter_configs;
pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sync_group;

macro_rules! api_enums {
    ($($variant:ident => $key:path, $module:ident :: $req:ident, $resp:ident;)*) => {
        /// A decoded request body.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $($variant($module::$req),)*
        }

        /// A response body.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Response {
            $($variant($module::$resp),)*
        }

        impl Request {
            /// Decode the body of a request whose header named `api_key`/`version`.
            pub fn decode(api_key: i16, version: i16, r: &mut Reader) -> DecodeResult<Request> {
                match api_key {
                    $($key => Ok(Request::$variant($module::$req::decode(r, version)?)),)*
                    _ => Err(DecodeError::Invalid("unknown api key")),
                }
            }

            pub fn encode(&self, w: &mut Writer, version: i16) {
                match self {
                    $(Request::$variant(m) => m.encode(w, version),)*
                }
            }

            pub fn api_key(&self) -> i16 {
                match self {
                    $(Request::$variant(_) => $key,)*
                }
            }
        }

        impl Response {
            pub fn decode(api_key: i16, version: i16, r: &mut Reader) -> DecodeResult<Response> {
                match api_key {
                    $($key => Ok(Response::$variant($module::$resp::decode(r, version)?)),)*
                    _ => Err(DecodeError::Invalid("unknown api key")),
                }
            }

            pub fn encode(&self, w: &mut Writer, version: i16) {
                match self {
                    $(Response::$variant(m) => m.encode(w, version),)*
                }
            }

            pub fn api_key(&self) -> i16 {
                match self {
                    $(Response::$variant(_) => $key,)*
                }
            }
        }
    };
}

api_enums! {
    Produce => key::PRODUCE, produce::ProduceRequest, ProduceResponse;
    Fetch => key::FETCH, fetch::FetchRequest, FetchResponse;
    ListOffsets => key::LIST_OFFSETS, list_offsets::ListOffsetsRequest, ListOffsetsResponse;
    Metadata => key::METADATA, metadata::MetadataRequest, MetadataResponse;
    FindCoordinator => key::FIND_COORDINATOR, find_coordinator::FindCoordinatorRequest, FindCoordinatorResponse;
    JoinGroup => key::JOIN_GROUP, join_group::JoinGroupRequest, JoinGroupResponse;
    Heartbeat => key::HEARTBEAT, heartbeat::HeartbeatRequest, HeartbeatResponse;
    LeaveGroup => key::LEAVE_GROUP, leave_group::LeaveGroupRequest, LeaveGroupResponse;
    SyncGroup => key::SYNC_GROUP, sync_group::SyncGroupRequest, SyncGroupResponse;
    ApiVersions => key::API_VERSIONS, api_versions::ApiVersionsRequest, ApiVersionsResponse;
    CreateTopics => key::CREATE_TOPICS, create_topics::CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics => key::DELETE_TOPICS, delete_topics::DeleteTopicsRequest, DeleteTopicsResponse;
    DeleteRecords => key::DELETE_RECORDS, delete_records::DeleteRecordsRequest, DeleteRecordsResponse;
    InitProducerId => key::INIT_PRODUCER_ID, init_producer_id::InitProducerIdRequest, InitProducerIdResponse;
    OffsetForLeaderEpoch => key::OFFSET_FOR_LEADER_EPOCH, offset_for_leader_epoch::OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse;
    DescribeConfigs => key::DESCRIBE_CONFIGS, describe_configs::DescribeConfigsRequest, DescribeConfigsResponse;
    AlterConfigs => key::ALTER_CONFIGS, alter_configs::AlterConfigsRequest, AlterConfigsResponse;
    CreatePartitions => key::CREATE_PARTITIONS, create_partitions::CreatePartitionsRequest, CreatePartitionsResponse;
    IncrementalAlterConfigs => key::INCREMENTAL_ALTER_CONFIGS, incremental_alter_configs::IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
    DescribeCluster => key::DESCRIBE_CLUSTER, describe_cluster::DescribeClusterRequest, DescribeClusterResponse;
    OffsetCommit => key::OFFSET_COMMIT, offset_commit::OffsetCommitRequest, OffsetCommitResponse;
    OffsetFetch => key::OFFSET_FETCH, offset_fetch::OffsetFetchRequest, OffsetFetchResponse;
    DescribeGroups => key::DESCRIBE_GROUPS, describe_groups::DescribeGroupsRequest, DescribeGroupsResponse;
    ListGroups => key::LIST_GROUPS, list_groups::ListGroupsRequest, ListGroupsResponse;
    DeleteGroups => key::DELETE_GROUPS, delete_groups::DeleteGroupsRequest, DeleteGroupsResponse;
    OffsetDelete => key::OFFSET_DELETE, offset_delete::OffsetDeleteRequest, OffsetDeleteResponse;
}
