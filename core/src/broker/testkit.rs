//! Test harness: drives a [`Broker`] with an in-memory disk and speaks the Kafka
//! protocol to it as a client would. Test code only.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Bytes, BytesMut};

use crate::cluster::events::ClusterEvent;
use crate::config::BrokerConfig;
use crate::io::{DiskOp, DiskRequest, Input, Output};
use crate::protocol::header::{decode_response_header, RequestHeader};
use crate::protocol::messages::{Request, Response};
use crate::protocol::{Reader, Writer};
use crate::testdisk::TestDisk;
use crate::types::{ConnId, Millis, NodeId};

use super::Broker;

/// A broker, its disk, and what it sent to each connection.
pub(crate) struct Harness {
    pub broker: Broker,
    pub disk: TestDisk,
    pub now: Millis,
    /// Disk requests issued but not yet completed.
    pub queued: VecDeque<DiskRequest>,
    /// When set, syncs stay queued until released.
    pub hold_syncs: bool,
    /// When set, `ReplaceFile` operations stay queued until released.
    pub hold_replace_files: bool,
    pub received: BTreeMap<ConnId, BytesMut>,
    pub closed: Vec<ConnId>,
    pub ready: bool,
    pub shutdown_complete: bool,
    /// Peer messages sent (cluster mode), for a test to deliver.
    pub peer_out: Vec<(NodeId, Bytes)>,
    pub events: Vec<ClusterEvent>,
    next_conn: u64,
    next_correlation: i32,
}

impl Harness {
    pub fn new(config: BrokerConfig) -> Harness {
        Harness::with_disk(config, TestDisk::default())
    }

    pub fn with_disk(config: BrokerConfig, disk: TestDisk) -> Harness {
        Harness::at(config, disk, Millis(1_700_000_000_000))
    }

    /// A broker started at `now` (a restart must start later than the last run).
    pub fn at(config: BrokerConfig, disk: TestDisk, now: Millis) -> Harness {
        let mut h = Harness {
            broker: Broker::new(config, now),
            disk,
            now,
            queued: VecDeque::new(),
            hold_syncs: false,
            hold_replace_files: false,
            received: BTreeMap::new(),
            closed: Vec::new(),
            ready: false,
            shutdown_complete: false,
            peer_out: Vec::new(),
            events: Vec::new(),
            next_conn: 1,
            next_correlation: 1,
        };
        h.settle();
        assert!(h.ready, "broker did not become ready");
        h
    }

    fn drain(&mut self) {
        while let Some(o) = self.broker.poll_output() {
            match o {
                Output::Send { conn, data } => self.received.entry(conn).or_default().extend_from_slice(&data),
                Output::Close { conn } => self.closed.push(conn),
                Output::Disk(req) => self.queued.push_back(req),
                Output::Ready => self.ready = true,
                Output::ShutdownComplete => self.shutdown_complete = true,
                Output::PauseReading { .. } | Output::ResumeReading { .. } => {}
                Output::PeerSend { to, data } => self.peer_out.push((to, data)),
                Output::Event(e) => self.events.push(e),
            }
        }
    }

    /// Run disk operations until nothing more happens (held operations stay queued).
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            self.drain();
            let held = |op: &DiskOp| {
                (self.hold_syncs && matches!(op, DiskOp::Sync { .. }))
                    || (self.hold_replace_files && matches!(op, DiskOp::ReplaceFile { .. }))
            };
            let pos = self.queued.iter().position(|r| !held(&r.op));
            let Some(pos) = pos else { return };
            let req = self.queued.remove(pos).expect("position valid");
            let result = self.disk.exec(req.op);
            self.broker.handle(self.now, Input::DiskDone { id: req.id, result });
        }
        panic!("broker did not settle");
    }

    pub fn advance(&mut self, ms: i64) {
        self.now = self.now.plus_ms(ms);
        self.broker.handle(self.now, Input::Tick);
        self.settle();
    }

    pub fn connect(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.broker.handle(self.now, Input::Accepted { conn, peer: "127.0.0.1:1".into() });
        self.settle();
        conn
    }

    pub fn send_raw(&mut self, conn: ConnId, data: &[u8]) {
        self.broker.handle(self.now, Input::Received { conn, data: Bytes::copy_from_slice(data) });
        self.settle();
    }

    /// Send a request; returns its correlation id.
    pub fn send(&mut self, conn: ConnId, version: i16, req: &Request) -> i32 {
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let mut w = Writer::new();
        w.i32(0);
        RequestHeader { api_key: req.api_key(), api_version: version, correlation_id, client_id: Some("test".into()) }.encode(&mut w);
        req.encode(&mut w, version);
        let len = w.len() - 4;
        w.patch_i32(0, len as i32);
        let frame = w.finish();
        self.send_raw(conn, &frame);
        correlation_id
    }

    /// Take the next complete response on `conn`, if any.
    pub fn take_response(&mut self, conn: ConnId, api_key: i16, version: i16) -> Option<(i32, Response)> {
        let buf = self.received.get_mut(&conn)?;
        if buf.len() < 4 {
            return None;
        }
        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if buf.len() < 4 + len {
            return None;
        }
        let frame = buf.split_to(4 + len).freeze().slice(4..);
        let mut r = Reader::new(frame);
        let correlation = decode_response_header(&mut r, api_key, version).expect("response header");
        let resp = Response::decode(api_key, version, &mut r).expect("response body");
        assert_eq!(r.remaining(), 0, "response has trailing bytes");
        Some((correlation, resp))
    }

    /// Send and expect an immediate answer.
    pub fn call(&mut self, conn: ConnId, version: i16, req: Request) -> Response {
        let key = req.api_key();
        let c = self.send(conn, version, &req);
        let (corr, resp) = self.take_response(conn, key, version).expect("a response");
        assert_eq!(corr, c);
        resp
    }
}
