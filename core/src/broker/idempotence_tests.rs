//! The idempotent producer through the broker: InitProducerId and its persisted
//! id blocks, and idempotent produce (duplicates, fencing, waits, restarts).

use bytes::Bytes;

use crate::config::BrokerConfig;
use crate::io::{DiskOp, DiskResult, Input};
use crate::protocol::api::key;
use crate::protocol::error_code as ec;
use crate::protocol::messages::*;
use crate::records::{build_batch, Compression, Record};
use crate::types::ConnId;

use super::producer_ids::{decode_block_end, PRODUCER_IDS_FILE};
use super::testkit::Harness;
use super::tests::{config, create_topic, produce_req};

fn init_req() -> Request {
    Request::InitProducerId(init_producer_id::InitProducerIdRequest::default())
}

fn init(h: &mut Harness, c: ConnId) -> init_producer_id::InitProducerIdResponse {
    match h.call(c, 4, init_req()) {
        Response::InitProducerId(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

fn idem_batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .map(|v| Record { timestamp: 1_700_000_000_000, value: Some(Bytes::copy_from_slice(v.as_bytes())), ..Default::default() })
        .collect();
    build_batch(&records, Compression::None, pid, epoch, seq)
}

fn produce(h: &mut Harness, c: ConnId, acks: i16, records: Bytes) -> produce::PartitionProduceResponse {
    match h.call(c, 9, produce_req("t", 0, acks, records)) {
        Response::Produce(r) => r.responses[0].partition_responses[0].clone(),
        other => panic!("unexpected {other:?}"),
    }
}

fn setup() -> (Harness, ConnId) {
    let mut h = Harness::new(config());
    let c = h.connect();
    assert_eq!(create_topic(&mut h, c, "t", 1, &[]), ec::NONE);
    (h, c)
}

/// Ids are fresh with epoch 0, come from a persisted block, and continue past
/// that block after a restart (never handed out twice).
#[test]
fn init_producer_id_is_unique_across_restarts() {
    let (mut h, c) = setup();
    let a = init(&mut h, c);
    let b = init(&mut h, c);
    assert_eq!((a.error_code, a.producer_id, a.producer_epoch), (ec::NONE, 0, 0));
    assert_eq!((b.producer_id, b.producer_epoch), (1, 0));
    assert_eq!(decode_block_end(&h.disk.files[PRODUCER_IDS_FILE].synced), Some(1000));
    let disk = std::mem::take(&mut h.disk);
    let mut h = Harness::with_disk(config(), disk);
    let c = h.connect();
    assert_eq!(init(&mut h, c).producer_id, 1000);
    assert_eq!(decode_block_end(&h.disk.files[PRODUCER_IDS_FILE].synced), Some(2000));
}

/// An id of a new block is handed out only once the block's end is on disk; a
/// failed write answers COORDINATOR_LOAD_IN_PROGRESS (retriable) and the next
/// request asks again.
#[test]
fn init_producer_id_waits_for_the_block_write() {
    let (mut h, c) = setup();
    h.hold_replace_files = true;
    let corr = h.send(c, 4, &init_req());
    assert!(h.take_response(c, key::INIT_PRODUCER_ID, 4).is_none(), "answered before the block was persisted");
    // Fail the held write.
    let pos = h.queued.iter().position(|r| matches!(&r.op, DiskOp::ReplaceFile { path, .. } if path == PRODUCER_IDS_FILE)).unwrap();
    let req = h.queued.remove(pos).unwrap();
    h.broker.handle(h.now, Input::DiskDone { id: req.id, result: DiskResult::Failed("injected".into()) });
    h.settle();
    let (got, Response::InitProducerId(r)) = h.take_response(c, key::INIT_PRODUCER_ID, 4).unwrap() else { panic!() };
    assert_eq!((got, r.error_code, r.producer_id), (corr, ec::COORDINATOR_LOAD_IN_PROGRESS, -1));
    // The retry waits for a new write, and gets the block's first id once it lands.
    h.send(c, 4, &init_req());
    assert!(h.take_response(c, key::INIT_PRODUCER_ID, 4).is_none());
    h.hold_replace_files = false;
    h.settle();
    let (_, Response::InitProducerId(r)) = h.take_response(c, key::INIT_PRODUCER_ID, 4).unwrap() else { panic!() };
    assert_eq!((r.error_code, r.producer_id), (ec::NONE, 0));
}

/// Transactions are not supported: a transactional id gets a fatal error.
#[test]
fn transactional_init_producer_id_is_refused() {
    let (mut h, c) = setup();
    let req = init_producer_id::InitProducerIdRequest {
        transactional_id: Some("tx".into()),
        transaction_timeout_ms: 60_000,
        ..Default::default()
    };
    let Response::InitProducerId(r) = h.call(c, 4, Request::InitProducerId(req)) else { panic!() };
    assert_eq!((r.error_code, r.producer_id), (ec::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1));
}

/// A retry gets the original offset with no error and appends nothing; gaps and
/// old epochs get Kafka's error codes.
#[test]
fn idempotent_produce_through_the_broker() {
    let (mut h, c) = setup();
    let pid = init(&mut h, c).producer_id;
    assert_eq!(produce(&mut h, c, -1, idem_batch(pid, 0, 0, &["a", "b"])).base_offset, 0);
    assert_eq!(produce(&mut h, c, -1, idem_batch(pid, 0, 2, &["c"])).base_offset, 2);
    let r = produce(&mut h, c, -1, idem_batch(pid, 0, 0, &["a", "b"]));
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 0));
    assert_eq!(produce(&mut h, c, -1, idem_batch(pid, 0, 9, &["x"])).error_code, ec::OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(produce(&mut h, c, -1, idem_batch(pid, 1, 0, &["d"])).base_offset, 3);
    assert_eq!(produce(&mut h, c, -1, idem_batch(pid, 0, 3, &["x"])).error_code, ec::INVALID_PRODUCER_EPOCH);
    // Another producer is independent; a plain batch lands right after.
    assert_eq!(produce(&mut h, c, -1, idem_batch(pid + 1, 0, 0, &["e"])).base_offset, 4);
    assert_eq!(produce(&mut h, c, -1, super::tests::batch(&["f"], 1)).base_offset, 5);
}

/// A duplicate answered with acks=all waits until the original is durable.
#[test]
fn duplicate_waits_for_its_acks_level() {
    let (mut h, c) = setup();
    h.hold_syncs = true;
    // acks=1: answered once written, not yet synced.
    assert_eq!(produce(&mut h, c, 1, idem_batch(7, 0, 0, &["a"])).base_offset, 0);
    h.send(c, 9, &produce_req("t", 0, -1, idem_batch(7, 0, 0, &["a"])));
    assert!(h.take_response(c, key::PRODUCE, 9).is_none(), "duplicate acknowledged with acks=all before the original was durable");
    h.hold_syncs = false;
    h.settle();
    let (_, Response::Produce(r)) = h.take_response(c, key::PRODUCE, 9).unwrap() else { panic!() };
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (ec::NONE, 0));
}

/// After a restart a retry is still recognised, and an idle producer expires
/// on the retention timer (then any sequence is accepted, as for a new one).
#[test]
fn producer_state_survives_restart_and_expires() {
    let (mut h, c) = setup();
    produce(&mut h, c, -1, idem_batch(7, 0, 0, &["a"]));
    produce(&mut h, c, -1, idem_batch(7, 0, 1, &["b"]));
    let disk = std::mem::take(&mut h.disk);
    let cfg = BrokerConfig { producer_id_expiration_ms: 3_600_000, ..config() };
    let mut h = Harness::with_disk(cfg, disk);
    let c = h.connect();
    let r = produce(&mut h, c, -1, idem_batch(7, 0, 1, &["b"]));
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 1));
    assert_eq!(produce(&mut h, c, -1, idem_batch(7, 0, 5, &["x"])).error_code, ec::OUT_OF_ORDER_SEQUENCE_NUMBER);
    // Batch timestamps are the harness's start time; one hour and a retention pass later it is gone.
    h.advance(3_600_000);
    let r = produce(&mut h, c, -1, idem_batch(7, 0, 5, &["x"]));
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 2));
}
