//! Test harness: drives a [`Broker`] with an in-memory disk and speaks the Kafka
//! protocol to it as a client would. Test code only.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Bytes, BytesMut};

use crate::config::BrokerConfig;
use crate::io::{DirEntry, DiskOp, DiskRequest, DiskResult, Input, Output};
use crate::protocol::header::{decode_response_header, RequestHeader};
use crate::protocol::messages::{Request, Response};
use crate::protocol::{Reader, Writer};
use crate::types::{ConnId, FileId, Millis};

use super::Broker;

/// Files as the disk holds them; every op completes at once (syncs can be held back).
#[derive(Default)]
pub struct MemDisk {
    pub files: BTreeMap<String, Vec<u8>>,
    open: BTreeMap<FileId, String>,
    pub syncs: usize,
    /// Every Write fails while set.
    pub fail_writes: bool,
    /// Every Read fails while set.
    pub fail_reads: bool,
}

impl MemDisk {
    pub fn execute(&mut self, op: &DiskOp) -> DiskResult {
        match op {
            DiskOp::Open { file, path, create } => {
                if !self.files.contains_key(path) && !create {
                    return DiskResult::Failed(format!("{path}: not found"));
                }
                let len = self.files.entry(path.clone()).or_default().len() as u64;
                self.open.insert(*file, path.clone());
                DiskResult::Opened { len }
            }
            DiskOp::Write { .. } if self.fail_writes => DiskResult::Failed("injected write error".into()),
            DiskOp::Write { file, pos, data } => {
                let Some(path) = self.open.get(file) else { return DiskResult::Failed("not open".into()) };
                let f = self.files.get_mut(path).expect("open file exists");
                let end = *pos as usize + data.len();
                if f.len() < end {
                    f.resize(end, 0);
                }
                f[*pos as usize..end].copy_from_slice(data);
                DiskResult::Done
            }
            DiskOp::Sync { .. } => {
                self.syncs += 1;
                DiskResult::Done
            }
            DiskOp::Read { .. } if self.fail_reads => DiskResult::Failed("injected read error".into()),
            DiskOp::Read { file, pos, len } => {
                let Some(path) = self.open.get(file) else { return DiskResult::Failed("not open".into()) };
                let f = &self.files[path];
                let start = (*pos as usize).min(f.len());
                let end = (start + *len as usize).min(f.len());
                DiskResult::Read(Bytes::copy_from_slice(&f[start..end]))
            }
            DiskOp::Truncate { file, len } => {
                let Some(path) = self.open.get(file) else { return DiskResult::Failed("not open".into()) };
                self.files.get_mut(path).expect("open").resize(*len as usize, 0);
                DiskResult::Done
            }
            DiskOp::Close { file } => {
                self.open.remove(file);
                DiskResult::Done
            }
            DiskOp::Rename { from, to } => match self.files.remove(from) {
                Some(d) => {
                    self.files.insert(to.clone(), d);
                    DiskResult::Done
                }
                None => DiskResult::Failed(format!("{from}: not found")),
            },
            DiskOp::Remove { path } => {
                let prefix = format!("{path}/");
                self.files.retain(|k, _| k != path && !k.starts_with(&prefix));
                DiskResult::Done
            }
            DiskOp::ListDir { path } => {
                let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
                let mut entries: BTreeMap<String, DirEntry> = BTreeMap::new();
                for (k, v) in &self.files {
                    if let Some(rest) = k.strip_prefix(&prefix) {
                        match rest.split_once('/') {
                            Some((dir, _)) => {
                                entries.insert(dir.to_string(), DirEntry { name: dir.to_string(), is_dir: true, len: 0 });
                            }
                            None => {
                                entries.insert(rest.to_string(), DirEntry { name: rest.to_string(), is_dir: false, len: v.len() as u64 });
                            }
                        }
                    }
                }
                DiskResult::Listing(entries.into_values().collect())
            }
            DiskOp::CreateDir { .. } => DiskResult::Done,
            DiskOp::ReplaceFile { path, data } => {
                self.files.insert(path.clone(), data.to_vec());
                DiskResult::Done
            }
            DiskOp::ReadFile { path } => match self.files.get(path) {
                Some(d) => DiskResult::Read(Bytes::copy_from_slice(d)),
                None => DiskResult::Failed(format!("{path}: not found")),
            },
        }
    }
}

/// A broker, its disk, and what it sent to each connection.
pub struct Harness {
    pub broker: Broker,
    pub disk: MemDisk,
    pub now: Millis,
    /// Disk requests issued but not yet completed.
    pub queued: VecDeque<DiskRequest>,
    /// When set, syncs stay queued until released.
    pub hold_syncs: bool,
    pub received: BTreeMap<ConnId, BytesMut>,
    pub closed: Vec<ConnId>,
    pub ready: bool,
    pub shutdown_complete: bool,
    next_conn: u64,
    next_correlation: i32,
}

impl Harness {
    pub fn new(config: BrokerConfig) -> Harness {
        Harness::with_disk(config, MemDisk::default())
    }

    pub fn with_disk(config: BrokerConfig, disk: MemDisk) -> Harness {
        let now = Millis(1_700_000_000_000);
        let mut h = Harness {
            broker: Broker::new(config, now),
            disk,
            now,
            queued: VecDeque::new(),
            hold_syncs: false,
            received: BTreeMap::new(),
            closed: Vec::new(),
            ready: false,
            shutdown_complete: false,
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
            }
        }
    }

    /// Run disk operations until nothing more happens (held syncs stay queued).
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            self.drain();
            let pos = self.queued.iter().position(|r| !(self.hold_syncs && matches!(r.op, DiskOp::Sync { .. })));
            let Some(pos) = pos else { return };
            let req = self.queued.remove(pos).expect("position valid");
            let result = self.disk.execute(&req.op);
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
