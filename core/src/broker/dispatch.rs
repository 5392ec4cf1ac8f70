//! From a request frame to a handler, and from a response to bytes.
//!
//! Kafka's rules, followed here: an ApiVersions request in a version this broker
//! does not know is answered in version 0 with UNSUPPORTED_VERSION and the list of
//! supported APIs (so the client can pick); any other unknown API or version, or a
//! request that does not decode, closes the connection with a log line.

use bytes::Bytes;

use crate::protocol::api::{self, key};
use crate::protocol::header::{encode_response_header, RequestHeader};
use crate::protocol::messages::{api_versions, Request, Response};
use crate::protocol::{error_code, Reader, Writer};
use crate::types::ConnId;

use super::{Broker, ReqCtx};

impl Broker {
    pub(crate) fn dispatch(&mut self, conn: ConnId, frame: Bytes) {
        let mut r = Reader::new(frame);
        let header = match RequestHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => {
                self.refuse(conn, &format!("unreadable request header: {e}"));
                return;
            }
        };
        let spec = api::spec(header.api_key);
        let supported = spec.is_some_and(|s| s.supports(header.api_version));
        if !supported {
            if header.api_key == key::API_VERSIONS {
                self.answer_unsupported_api_versions(conn, &header);
            } else {
                let why = match spec {
                    None => format!("unknown api key {}", header.api_key),
                    Some(s) => format!("{} version {} not supported ({}-{})", s.name, header.api_version, s.min_version, s.max_version),
                };
                self.refuse(conn, &why);
            }
            return;
        }
        let request = match Request::decode(header.api_key, header.api_version, &mut r) {
            Ok(req) => req,
            Err(e) => {
                let name = spec.map_or("?", |s| s.name);
                self.refuse(conn, &format!("malformed {name} v{} request: {e}", header.api_version));
                return;
            }
        };
        // Produce with acks=0 gets no response, so it takes no slot.
        let answered = !matches!(&request, Request::Produce(p) if p.acks == 0);
        let slot = if answered { self.take_slot(conn) } else { None };
        let ctx = ReqCtx { conn, slot, api_key: header.api_key, api_version: header.api_version, correlation_id: header.correlation_id };
        match request {
            Request::ApiVersions(_) => self.handle_api_versions(ctx),
            Request::Metadata(req) => self.handle_metadata(ctx, req),
            Request::DescribeCluster(req) => self.handle_describe_cluster(ctx, req),
            Request::Produce(req) => self.handle_produce(ctx, req),
            Request::Fetch(req) => self.handle_fetch(ctx, req),
            Request::ListOffsets(req) => self.handle_list_offsets(ctx, req),
            Request::CreateTopics(req) => self.handle_create_topics(ctx, req),
            Request::DeleteTopics(req) => self.handle_delete_topics(ctx, req),
            Request::CreatePartitions(req) => self.handle_create_partitions(ctx, req),
            Request::DescribeConfigs(req) => self.handle_describe_configs(ctx, req),
            Request::AlterConfigs(req) => self.handle_alter_configs(ctx, req),
            Request::IncrementalAlterConfigs(req) => self.handle_incremental_alter_configs(ctx, req),
            Request::DeleteRecords(req) => self.handle_delete_records(ctx, req),
            Request::InitProducerId(req) => self.handle_init_producer_id(ctx, req),
            Request::OffsetForLeaderEpoch(req) => self.handle_offset_for_leader_epoch(ctx, req),
            Request::FindCoordinator(req) => self.handle_find_coordinator(ctx, req),
            r @ (Request::JoinGroup(_)
            | Request::SyncGroup(_)
            | Request::Heartbeat(_)
            | Request::LeaveGroup(_)
            | Request::OffsetCommit(_)
            | Request::OffsetFetch(_)
            | Request::ListGroups(_)
            | Request::DescribeGroups(_)
            | Request::DeleteGroups(_)
            | Request::OffsetDelete(_)) => self.handle_group_request(ctx, header.client_id.as_deref(), r),
        }
    }

    /// Close a connection that sent something unacceptable, saying why in the log.
    fn refuse(&mut self, conn: ConnId, why: &str) {
        let peer = self.conn_peer(conn);
        tracing::warn!(conn = conn.0, %peer, %why, "closing connection");
        self.close_conn(conn);
    }

    fn conn_peer(&self, conn: ConnId) -> String {
        self.conns.get(&conn).map(|c| c.peer.clone()).unwrap_or_default()
    }

    fn answer_unsupported_api_versions(&mut self, conn: ConnId, header: &RequestHeader) {
        let slot = self.take_slot(conn);
        let ctx = ReqCtx { conn, slot, api_key: key::API_VERSIONS, api_version: 0, correlation_id: header.correlation_id };
        let mut resp = supported_versions();
        resp.error_code = error_code::UNSUPPORTED_VERSION;
        self.respond(&ctx, Response::ApiVersions(resp));
    }

    pub(crate) fn handle_api_versions(&mut self, ctx: ReqCtx) {
        self.respond(&ctx, Response::ApiVersions(supported_versions()));
    }

    /// Encode a response (frame length, header, body) and deliver it in order.
    pub(crate) fn respond(&mut self, ctx: &ReqCtx, response: Response) {
        debug_assert_eq!(response.api_key(), ctx.api_key);
        let bytes = encode_response(ctx, &response);
        self.deliver(ctx, bytes);
    }
}

/// The ApiVersions answer: exactly the table of implemented APIs.
pub fn supported_versions() -> api_versions::ApiVersionsResponse {
    api_versions::ApiVersionsResponse {
        error_code: error_code::NONE,
        api_keys: api::APIS
            .iter()
            .map(|a| api_versions::ApiVersion { api_key: a.key, min_version: a.min_version, max_version: a.max_version })
            .collect(),
        throttle_time_ms: 0,
    }
}

/// The response frame, as chunks to send in order (large fetched record data is
/// referenced where it lies, not copied into the frame).
pub fn encode_response(ctx: &ReqCtx, response: &Response) -> Vec<Bytes> {
    let mut w = Writer::new();
    w.i32(0);
    encode_response_header(&mut w, ctx.api_key, ctx.api_version, ctx.correlation_id);
    response.encode(&mut w, ctx.api_version);
    let len = w.len() - 4;
    w.patch_i32(0, len as i32);
    w.finish_chunks()
}
