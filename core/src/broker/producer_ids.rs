//! Producer ids for idempotent producers (InitProducerId), unique across
//! restarts.
//!
//! Ids are taken from blocks of [`BLOCK_SIZE`], as Kafka's ProducerIdManager
//! does. Before an id of a new block is handed out, the block's end is persisted
//! in `__meta/producer-ids` (magic `CKPI` | version u16 | block_end i64 |
//! crc32c u32, replaced atomically); a request waits for that write like any
//! pending request. After a restart ids continue at the persisted end, so an id
//! is never handed out twice; at most one block is skipped per restart.
//!
//! [`Broker::request_producer_id_block`] is the one place a block is asked for:
//! standalone the broker owns the id space; in cluster mode the Raft controller
//! would grant blocks there instead.
//!
//! If the file is missing (a new broker) or unreadable, ids start above the
//! largest producer id in any partition's producer state, rounded up to a block
//! boundary: the best that is known (ids of producers whose data is all gone
//! could be handed out again, which only matters to those idle producers).
//!
//! A non-transactional InitProducerId always gets a fresh id and epoch 0 (Kafka:
//! `TransactionCoordinator.handleInitProducerId` with a null transactional id,
//! whatever id and epoch the request carries).

use bytes::{BufMut, Bytes, BytesMut};

use crate::io::DiskOp;
use crate::protocol::error_code;
use crate::protocol::messages::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use crate::protocol::messages::Response;

use super::{Broker, MetaOp, Pending, ReqCtx, ReqId};
use crate::cluster::peer::ControllerRequest;

/// Ids per block (Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub const BLOCK_SIZE: i64 = 1000;
/// Where the end of the current block is persisted, relative to the data dir.
pub const PRODUCER_IDS_FILE: &str = "__meta/producer-ids";
pub const META_DIR: &str = "__meta";
pub const PRODUCER_IDS_NAME: &str = "producer-ids";

const MAGIC: &[u8; 4] = b"CKPI";
const VERSION: u16 = 1;
const FILE_LEN: usize = 4 + 2 + 8 + 4;

pub fn encode_block_end(end: i64) -> Bytes {
    let mut b = BytesMut::with_capacity(FILE_LEN);
    b.put_slice(MAGIC);
    b.put_u16(VERSION);
    b.put_i64(end);
    let crc = crc32c::crc32c(&b);
    b.put_u32(crc);
    b.freeze()
}

pub fn decode_block_end(bytes: &[u8]) -> Option<i64> {
    if bytes.len() != FILE_LEN || &bytes[..4] != MAGIC || u16::from_be_bytes([bytes[4], bytes[5]]) != VERSION {
        return None;
    }
    let crc = u32::from_be_bytes(bytes[14..18].try_into().ok()?);
    if crc32c::crc32c(&bytes[..14]) != crc {
        return None;
    }
    let end = i64::from_be_bytes(bytes[6..14].try_into().ok()?);
    (end >= 0).then_some(end)
}

/// The id space of this broker: the block in use and whether the next is asked for.
#[derive(Debug, Default)]
pub struct ProducerIds {
    /// The next id to hand out; `[next, end)` is ours.
    next: i64,
    end: i64,
    /// Where the id space starts, once known (read at startup, or the fallback).
    known: bool,
    /// A block is being granted (its file write is in flight).
    requesting: bool,
}

impl ProducerIds {
    /// The id space continues at `end` (a persisted block end, or the fallback).
    pub fn start_at(&mut self, end: i64) {
        assert!(!self.known, "the producer id start is set once");
        self.next = end;
        self.end = end;
        self.known = true;
    }

    pub fn is_known(&self) -> bool {
        self.known
    }

    /// A fresh id, if the current block has one left.
    pub fn take(&mut self) -> Option<i64> {
        (self.next < self.end).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    /// The start of the block to ask for, when one is needed and none is asked.
    fn wanted_block(&self) -> Option<i64> {
        (self.known && !self.requesting && self.next >= self.end).then_some(self.end)
    }

    /// A block granted through the metadata quorum. The quorum's id space is the only
    /// one in cluster mode (whatever a local file said before does not apply).
    fn granted_by_controller(&mut self, start: i64, end: i64) {
        assert!(end > start && start >= 0, "empty or negative block [{start}, {end})");
        self.requesting = false;
        self.next = start;
        self.end = end;
    }

    fn granted(&mut self, start: i64, end: i64) {
        assert!(start >= self.end && end > start, "blocks only move forward: [{start}, {end}) after {}", self.end);
        self.requesting = false;
        self.next = start;
        self.end = end;
    }
}

/// The first id after every id seen in `max_seen`, on a block boundary.
pub fn fallback_start(max_seen: Option<i64>) -> i64 {
    match max_seen {
        None => 0,
        Some(m) => (m / BLOCK_SIZE + 1) * BLOCK_SIZE,
    }
}

/// An InitProducerId waiting for a block.
pub struct InitProducerIdPending {
    ctx: ReqCtx,
    /// Set when the block could not be granted.
    error: Option<i16>,
}

impl Broker {
    pub(crate) fn handle_init_producer_id(&mut self, ctx: ReqCtx, req: InitProducerIdRequest) {
        if let Some(tid) = req.transactional_id {
            // Transactions are not supported. Kafka answers a client that may not
            // use a transactional id with TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            // which every client treats as fatal and reports naming the
            // transactional id; the retriable coordinator errors would make it
            // retry forever instead.
            tracing::info!(transactional_id = %tid, "refusing a transactional InitProducerId: transactions are not supported");
            let resp = InitProducerIdResponse {
                error_code: error_code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                producer_id: -1,
                producer_epoch: -1,
                ..Default::default()
            };
            self.respond(&ctx, Response::InitProducerId(resp));
            return;
        }
        let id = self.new_req_id();
        self.pending.insert(id, Pending::InitProducerId(InitProducerIdPending { ctx, error: None }));
        self.poll_pending(id);
    }

    /// Ask for the next block of producer ids. Standalone: persist its end, and
    /// use it once the write completed. (In cluster mode: ask the controller.)
    pub(crate) fn request_producer_id_block(&mut self) {
        let Some(start) = self.producer_ids.wanted_block() else { return };
        if self.cluster.is_some() {
            // The controller grants blocks from the cluster-wide id space.
            self.producer_ids.requesting = self.forward(ControllerRequest::AllocateProducerIds { size: BLOCK_SIZE });
            return;
        }
        let end = start.checked_add(BLOCK_SIZE).expect("producer id space exhausted");
        self.producer_ids.requesting = true;
        let id = self.meta_io().submit(DiskOp::ReplaceFile { path: PRODUCER_IDS_FILE.into(), data: encode_block_end(end) });
        self.meta_ops.insert(id, MetaOp::ProducerIdBlock { start, end });
    }

    /// The block's end is persisted (or failed to be): hand out ids or errors.
    pub(crate) fn on_producer_id_block(&mut self, start: i64, end: i64, failed: Option<String>) {
        let waiting: Vec<ReqId> = self.pending.iter().filter(|(_, p)| matches!(p, Pending::InitProducerId(_))).map(|(id, _)| *id).collect();
        match failed {
            None if self.cluster.is_some() => {
                tracing::debug!(start, end, "producer id block granted by the controller");
                self.producer_ids.granted_by_controller(start, end);
            }
            None => {
                tracing::debug!(start, end, "producer id block persisted");
                self.producer_ids.granted(start, end);
            }
            Some(why) => {
                tracing::error!(start, end, %why, "persisting a producer id block failed");
                self.producer_ids.requesting = false;
                // Retriable, as Kafka answers while it waits for a block.
                for id in &waiting {
                    if let Some(Pending::InitProducerId(p)) = self.pending.get_mut(id) {
                        p.error = Some(error_code::COORDINATOR_LOAD_IN_PROGRESS);
                    }
                }
            }
        }
        self.recheck.extend(waiting);
    }

    /// The controller refused a grant (another came first): ask again.
    pub(crate) fn on_producer_id_block_refused(&mut self, why: &str) {
        tracing::debug!(why, "producer id block refused; asking again");
        self.producer_ids.requesting = false;
        let waiting: Vec<ReqId> = self.pending.iter().filter(|(_, p)| matches!(p, Pending::InitProducerId(_))).map(|(id, _)| *id).collect();
        self.recheck.extend(waiting);
    }

    /// At the end of startup: if no block end was read, start above every
    /// producer id the logs know.
    pub(crate) fn settle_producer_id_start(&mut self) {
        if self.producer_ids.is_known() {
            return;
        }
        let max_seen = self.partitions.values().filter_map(|p| p.log.producers().max_producer_id()).max();
        let start = fallback_start(max_seen);
        tracing::info!(start, "no producer id block on disk; starting above the producer ids in the logs");
        self.producer_ids.start_at(start);
    }
}

/// Answer with a fresh id, or ask for a block and keep waiting.
pub(crate) fn poll(b: &mut Broker, _id: ReqId, p: InitProducerIdPending) -> Option<InitProducerIdPending> {
    let resp = match (p.error, b.producer_ids.take()) {
        (Some(code), _) => InitProducerIdResponse { error_code: code, producer_id: -1, producer_epoch: -1, ..Default::default() },
        (None, Some(pid)) => {
            InitProducerIdResponse { error_code: error_code::NONE, producer_id: pid, producer_epoch: 0, ..Default::default() }
        }
        (None, None) => {
            b.request_producer_id_block();
            return Some(p);
        }
    };
    b.respond(&p.ctx, Response::InitProducerId(resp));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block file round-trips; damage is detected.
    #[test]
    fn block_file_round_trips() {
        let b = encode_block_end(3000);
        assert_eq!(decode_block_end(&b), Some(3000));
        let mut bad = b.to_vec();
        bad[9] ^= 4;
        assert_eq!(decode_block_end(&bad), None);
        assert_eq!(decode_block_end(&b[..17]), None);
        assert_eq!(decode_block_end(&encode_block_end(-5)), None);
    }

    /// Without a file, ids start on the block boundary above every id seen.
    #[test]
    fn fallback_is_above_every_seen_id() {
        assert_eq!(fallback_start(None), 0);
        assert_eq!(fallback_start(Some(0)), 1000);
        assert_eq!(fallback_start(Some(999)), 1000);
        assert_eq!(fallback_start(Some(1000)), 2000);
    }

    /// Ids come from the current block only; a new block is wanted when it is used up.
    #[test]
    fn blocks_hand_out_ids_in_order() {
        let mut ids = ProducerIds::default();
        assert_eq!(ids.wanted_block(), None, "nothing is asked before the start is known");
        ids.start_at(2000);
        assert_eq!(ids.take(), None);
        assert_eq!(ids.wanted_block(), Some(2000));
        ids.requesting = true;
        assert_eq!(ids.wanted_block(), None, "one request at a time");
        ids.granted(2000, 3000);
        assert_eq!((ids.take(), ids.take()), (Some(2000), Some(2001)));
    }
}
