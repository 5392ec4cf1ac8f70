//! The `broker_connection` target: a standalone [`Broker`] on an in-memory disk,
//! client connections fed fuzzer bytes in fuzzer-chosen chunks, time passing, disk
//! completions held back and released, then every connection closed and a shutdown.
//!
//! # Input format
//!
//! Read with [`arbitrary::Unstructured`] one primitive at a time (a missing byte
//! reads as 0, so every input is a valid scenario); `u16` is two bytes,
//! little-endian. The first byte is flags (bit 0: keep connections open into the
//! shutdown). Then up to [`STEPS_MAX`] steps, each an op byte (`op % 8`):
//!
//! | op | then | does |
//! | --- | --- | --- |
//! | 0, 1, 2 | `conn: u8`, `len: u16`, `len` bytes | those bytes arrive on `conn % CONNS` (`len % (CHUNK_BYTES_MAX + 1)`, cut to what is left) |
//! | 3 | `conn`, `seed: u8`, `split: u16`, `at: u16`, `xor: u8` | a real request frame ([`crate::seeds`]), one byte xor-ed, in two chunks |
//! | 4 | `conn`, `api: u8`, `version: u8`, `correlation: i32` (4 bytes BE), `len: u16`, `len` bytes | a length prefix and a real request header for an implemented API (version up to one past its max), then the bytes as body |
//! | 5 | `ms: u16` | time passes by `ms * 8` ms, then `Tick` |
//! | 6 | | toggle holding disk completions back (held ones complete later, in order) |
//! | 7 | `conn` | the client closes `conn` (`Input::Closed`) and opens a fresh one in its place |
//!
//! Bounds: [`CONNS`] connections at a time, [`STEPS_MAX`] steps, chunks of at most
//! [`CHUNK_BYTES_MAX`] bytes, [`SETTLE_STEPS_MAX`] disk completions per settle.
//!
//! # What must hold (a panic otherwise, which libFuzzer reports as a crash)
//!
//! - The core never panics (panics it catches itself, in decompressors, are fine).
//! - Outputs are sane: `Send`/`Close`/`PauseReading`/`ResumeReading` only name
//!   connections that were accepted; no `Send` after the core's own `Close` or after
//!   the client's `Closed`; no second `Close`; every `Send` is one whole response
//!   frame (length prefix = bytes after it, header present); no `PeerSend` standalone;
//!   `Ready` once; `ShutdownComplete` only after `Shutdown`.
//! - The broker quiesces: disk work after any input ends within
//!   [`SETTLE_STEPS_MAX`] completions, and after the closes a shutdown completes
//!   within [`SHUTDOWN_ROUNDS_MAX`] timer rounds.
//! - One broker call (an input plus draining its outputs) never grows live memory by
//!   more than [`CALL_PEAK_BYTES_MAX`] (see its docs for why that much is legitimate).

use std::collections::{BTreeSet, VecDeque};

use arbitrary::Unstructured;
use bytes::Bytes;
use chronik_core::config::BrokerConfig;
use chronik_core::group::GroupConfig;
use chronik_core::io::{DiskRequest, Input, Output};
use chronik_core::protocol::api::APIS;
use chronik_core::protocol::header::RequestHeader;
use chronik_core::protocol::Writer;
use chronik_core::types::{ConnId, Millis};
use chronik_core::Broker;

use crate::alloc::Window;
use crate::memdisk::MemDisk;
use crate::seeds;

/// Client connections open at a time.
pub const CONNS: usize = 3;
/// Steps read from one input.
pub const STEPS_MAX: usize = 64;
/// Bytes of one raw chunk or one framed body.
pub const CHUNK_BYTES_MAX: usize = 4096;
/// `request_bytes_max` of the fuzzed broker (a frame declaring more closes the
/// connection; up to this much is reserved for a frame that declared it).
pub const REQUEST_BYTES_MAX: usize = 1 << 20;
/// Disk completions one settle may take before the broker counts as not quiescing.
pub const SETTLE_STEPS_MAX: usize = 200_000;
/// Timer rounds a shutdown may take.
pub const SHUTDOWN_ROUNDS_MAX: usize = 1_000;
/// Bound on live-memory growth during one broker call. Legitimately, one call may:
/// reserve a frame of up to `REQUEST_BYTES_MAX` and hold a copy of it (2 MiB);
/// decompress a produced batch into at most `max_decompressed_bytes` (64 ×
/// `max.message.bytes` ≈ 64 MiB by default, in a `Vec` whose doubling can reach
/// twice that, plus the zstd window of at most the same bound): ≈ 192 MiB; and
/// decode what a frame declares (bounded by the frame, see `wire_decode`). So
/// 256 MiB; anything above is an allocation sized from a declared length or a leak
/// within a call.
pub const CALL_PEAK_BYTES_MAX: usize = 256 << 20;

/// Start time of every scenario (arbitrary but fixed).
const START: Millis = Millis(1_700_000_000_000);

pub fn broker_config() -> BrokerConfig {
    BrokerConfig {
        request_bytes_max: REQUEST_BYTES_MAX,
        // Fewer `__consumer_offsets` partitions than Kafka's 50 keep a FindCoordinator
        // cheap; the code paths are the same.
        groups: GroupConfig { offsets_partitions: 3, ..GroupConfig::default() },
        ..BrokerConfig::default()
    }
}

/// One step of a scenario (see the module docs for the byte layout).
#[derive(Debug, Clone)]
pub enum Step {
    Raw { conn: usize, data: Vec<u8> },
    Seed { conn: usize, seed: usize, split: usize, at: usize, xor: u8 },
    Framed { conn: usize, api: usize, version: i16, correlation: i32, body: Vec<u8> },
    Tick { ms: i64 },
    ToggleHoldDisk,
    Reconnect { conn: usize },
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub close_before_shutdown: bool,
    pub steps: Vec<Step>,
}

fn u8_(u: &mut Unstructured) -> u8 {
    u.arbitrary::<u8>().unwrap_or(0)
}

fn u16_(u: &mut Unstructured) -> u16 {
    u16::from_le_bytes([u8_(u), u8_(u)])
}

fn bytes_(u: &mut Unstructured, len: usize) -> Vec<u8> {
    let n = len.min(u.len());
    u.bytes(n).map(<[u8]>::to_vec).unwrap_or_default()
}

impl Scenario {
    pub fn parse(data: &[u8]) -> Scenario {
        let mut u = Unstructured::new(data);
        let flags = u8_(&mut u);
        let mut steps = Vec::new();
        while !u.is_empty() && steps.len() < STEPS_MAX {
            let op = u8_(&mut u) % 8;
            let step = match op {
                0..=2 => {
                    let conn = u8_(&mut u) as usize % CONNS;
                    let len = u16_(&mut u) as usize % (CHUNK_BYTES_MAX + 1);
                    Step::Raw { conn, data: bytes_(&mut u, len) }
                }
                3 => Step::Seed {
                    conn: u8_(&mut u) as usize % CONNS,
                    seed: u8_(&mut u) as usize,
                    split: u16_(&mut u) as usize,
                    at: u16_(&mut u) as usize,
                    xor: u8_(&mut u),
                },
                4 => {
                    let conn = u8_(&mut u) as usize % CONNS;
                    let api = u8_(&mut u) as usize % APIS.len();
                    let spec = &APIS[api];
                    let span = (spec.max_version - spec.min_version + 2) as u16;
                    let version = spec.min_version + (u8_(&mut u) as u16 % span) as i16;
                    let correlation = i32::from_be_bytes([u8_(&mut u), u8_(&mut u), u8_(&mut u), u8_(&mut u)]);
                    let len = u16_(&mut u) as usize % (CHUNK_BYTES_MAX + 1);
                    Step::Framed { conn, api, version, correlation, body: bytes_(&mut u, len) }
                }
                5 => Step::Tick { ms: u16_(&mut u) as i64 * 8 },
                6 => Step::ToggleHoldDisk,
                _ => Step::Reconnect { conn: u8_(&mut u) as usize % CONNS },
            };
            steps.push(step);
        }
        Scenario { close_before_shutdown: flags & 1 == 0, steps }
    }

    /// The bytes that parse back into this scenario (for the committed seeds).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![if self.close_before_shutdown { 0 } else { 1 }];
        for step in &self.steps {
            match step {
                Step::Raw { conn, data } => {
                    assert!(data.len() <= CHUNK_BYTES_MAX);
                    out.push(0);
                    out.push(*conn as u8);
                    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
                    out.extend_from_slice(data);
                }
                Step::Seed { conn, seed, split, at, xor } => {
                    out.extend_from_slice(&[3, *conn as u8, *seed as u8]);
                    out.extend_from_slice(&(*split as u16).to_le_bytes());
                    out.extend_from_slice(&(*at as u16).to_le_bytes());
                    out.push(*xor);
                }
                Step::Framed { conn, api, version, correlation, body } => {
                    let spec = &APIS[*api];
                    out.extend_from_slice(&[4, *conn as u8, *api as u8, (version - spec.min_version) as u8]);
                    out.extend_from_slice(&correlation.to_be_bytes());
                    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
                    out.extend_from_slice(body);
                }
                Step::Tick { ms } => {
                    out.push(5);
                    out.extend_from_slice(&((ms / 8) as u16).to_le_bytes());
                }
                Step::ToggleHoldDisk => out.push(6),
                Step::Reconnect { conn } => out.extend_from_slice(&[7, *conn as u8]),
            }
        }
        out
    }

    /// Drive a fresh broker through this scenario, checking everything the module
    /// docs promise. Returns what the clients saw.
    pub fn run(&self) -> Stats {
        let mut d = Driver::start();
        for step in &self.steps {
            d.step(step);
        }
        d.finish(self.close_before_shutdown)
    }
}

/// What the clients saw over a scenario (for sanity checks of the seeds).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Response frames sent.
    pub responses: usize,
    /// Connections the core closed.
    pub closed_by_core: usize,
    /// Disk operations completed.
    pub disk_ops: usize,
}

/// One client connection as the driver (the "runtime") sees it.
struct Client {
    id: ConnId,
    /// The core asked to stop reading: bytes wait here, as in a socket buffer.
    paused: bool,
    unread: VecDeque<Bytes>,
}

struct Driver {
    broker: Broker,
    disk: MemDisk,
    now: Millis,
    queued: VecDeque<DiskRequest>,
    hold_disk: bool,
    clients: [Option<Client>; CONNS],
    next_conn: u64,
    /// Every connection ever accepted.
    accepted: BTreeSet<ConnId>,
    /// The core said `Close` for these.
    core_closed: BTreeSet<ConnId>,
    /// The driver said `Closed` for these.
    client_closed: BTreeSet<ConnId>,
    /// `Close`d by the core, `Closed` still to be delivered (the runtime's socket ends).
    to_close: Vec<ConnId>,
    ready: bool,
    shutting_down: bool,
    shutdown_complete: bool,
    stats: Stats,
}

impl Driver {
    fn start() -> Driver {
        let mut d = Driver {
            broker: Broker::new(broker_config(), START),
            disk: MemDisk::default(),
            now: START,
            queued: VecDeque::new(),
            hold_disk: false,
            clients: [None, None, None],
            next_conn: 1,
            accepted: BTreeSet::new(),
            core_closed: BTreeSet::new(),
            client_closed: BTreeSet::new(),
            to_close: Vec::new(),
            ready: false,
            shutting_down: false,
            shutdown_complete: false,
            stats: Stats::default(),
        };
        d.drain();
        d.settle();
        assert!(d.ready, "broker did not become ready on an empty disk");
        for slot in 0..CONNS {
            d.connect(slot);
        }
        d
    }

    /// Feed one input and drain the outputs, within the per-call memory bound.
    fn input(&mut self, input: Input) {
        let w = Window::open();
        self.broker.handle(self.now, input);
        self.drain_outputs();
        let grown = w.peak_growth();
        assert!(grown <= CALL_PEAK_BYTES_MAX, "one broker call grew live memory by {grown} bytes (bound {CALL_PEAK_BYTES_MAX})");
    }

    fn drain(&mut self) {
        let w = Window::open();
        self.drain_outputs();
        let grown = w.peak_growth();
        assert!(grown <= CALL_PEAK_BYTES_MAX, "draining outputs grew live memory by {grown} bytes (bound {CALL_PEAK_BYTES_MAX})");
    }

    fn drain_outputs(&mut self) {
        while let Some(o) = self.broker.poll_output() {
            self.check(o);
        }
    }

    fn check(&mut self, o: Output) {
        match o {
            Output::Send { conn, data } => {
                assert!(self.accepted.contains(&conn), "Send to unknown connection {conn:?}");
                assert!(!self.core_closed.contains(&conn), "Send to {conn:?} after the core closed it");
                assert!(!self.client_closed.contains(&conn), "Send to {conn:?} after the client closed it");
                assert!(data.len() >= 8, "Send of {} bytes: shorter than a length prefix and a correlation id", data.len());
                let len = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                assert_eq!(len as i64, data.len() as i64 - 4, "Send is not exactly one response frame");
                self.stats.responses += 1;
            }
            Output::Close { conn } => {
                assert!(self.accepted.contains(&conn), "Close of unknown connection {conn:?}");
                assert!(!self.client_closed.contains(&conn), "Close of {conn:?} after the client closed it");
                assert!(self.core_closed.insert(conn), "{conn:?} closed twice");
                self.to_close.push(conn);
                self.stats.closed_by_core += 1;
            }
            Output::PauseReading { conn } => {
                assert!(self.accepted.contains(&conn), "PauseReading of unknown connection {conn:?}");
                if let Some(c) = self.client_mut(conn) {
                    c.paused = true;
                }
            }
            Output::ResumeReading { conn } => {
                assert!(self.accepted.contains(&conn), "ResumeReading of unknown connection {conn:?}");
                if let Some(c) = self.client_mut(conn) {
                    c.paused = false;
                }
            }
            Output::PeerSend { to, .. } => panic!("standalone broker sent a peer message to {to:?}"),
            Output::Event(_) => {}
            Output::Disk(req) => self.queued.push_back(req),
            Output::Ready => {
                assert!(!self.ready, "Ready twice");
                self.ready = true;
            }
            Output::ShutdownComplete => {
                assert!(self.shutting_down, "ShutdownComplete without Shutdown");
                assert!(!self.shutdown_complete, "ShutdownComplete twice");
                self.shutdown_complete = true;
            }
        }
    }

    fn client_mut(&mut self, conn: ConnId) -> Option<&mut Client> {
        self.clients.iter_mut().flatten().find(|c| c.id == conn)
    }

    /// Complete queued disk operations in order (unless held), deliver the closes
    /// the core asked for and bytes that waited for a resume, until nothing moves.
    fn settle(&mut self) {
        for _ in 0..SETTLE_STEPS_MAX {
            if let Some(conn) = self.to_close.pop() {
                self.client_gone(conn);
                continue;
            }
            if let Some((slot, data)) = self.next_unread() {
                let id = self.clients[slot].as_ref().expect("slot open").id;
                self.input(Input::Received { conn: id, data });
                continue;
            }
            if self.hold_disk {
                return;
            }
            let Some(req) = self.queued.pop_front() else { return };
            let result = self.disk.exec(req.op);
            self.stats.disk_ops += 1;
            self.input(Input::DiskDone { id: req.id, result });
        }
        panic!("broker did not quiesce: still busy after {SETTLE_STEPS_MAX} disk completions");
    }

    fn next_unread(&mut self) -> Option<(usize, Bytes)> {
        for (slot, c) in self.clients.iter_mut().enumerate() {
            if let Some(c) = c {
                if !c.paused {
                    if let Some(data) = c.unread.pop_front() {
                        return Some((slot, data));
                    }
                }
            }
        }
        None
    }

    /// The client's side of a connection ends: `Closed` to the core, slot freed.
    fn client_gone(&mut self, conn: ConnId) {
        if self.client_closed.contains(&conn) {
            return;
        }
        self.client_closed.insert(conn);
        for slot in self.clients.iter_mut() {
            if slot.as_ref().is_some_and(|c| c.id == conn) {
                *slot = None;
            }
        }
        self.input(Input::Closed { conn });
    }

    fn connect(&mut self, slot: usize) {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.accepted.insert(id);
        self.clients[slot] = Some(Client { id, paused: false, unread: VecDeque::new() });
        self.input(Input::Accepted { conn: id, peer: format!("127.0.0.1:{}", 40_000 + id.0) });
        self.settle();
    }

    /// Bytes from the client on `slot` (reopened if the core closed it); they wait
    /// while the core has reading paused.
    fn send(&mut self, slot: usize, data: Vec<u8>) {
        if self.clients[slot].is_none() {
            self.connect(slot);
        }
        let c = self.clients[slot].as_mut().expect("connected");
        c.unread.push_back(Bytes::from(data));
        self.settle();
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Raw { conn, data } => self.send(*conn, data.clone()),
            Step::Seed { conn, seed, split, at, xor } => {
                let frames = seeds::frames();
                let mut frame = seeds::framed(&frames[seed % frames.len()]);
                let at = at % frame.len();
                frame[at] ^= xor;
                let split = split % (frame.len() + 1);
                let rest = frame.split_off(split);
                self.send(*conn, frame);
                self.send(*conn, rest);
            }
            Step::Framed { conn, api, version, correlation, body } => {
                let mut w = Writer::new();
                w.i32(0);
                RequestHeader { api_key: APIS[*api].key, api_version: *version, correlation_id: *correlation, client_id: Some("f".into()) }.encode(&mut w);
                w.raw(body);
                let len = w.len() - 4;
                w.patch_i32(0, len as i32);
                self.send(*conn, w.finish().to_vec());
            }
            Step::Tick { ms } => self.tick(*ms),
            Step::ToggleHoldDisk => {
                self.hold_disk = !self.hold_disk;
                self.settle();
            }
            Step::Reconnect { conn } => {
                if let Some(c) = self.clients[*conn].take() {
                    self.client_gone(c.id);
                }
                self.connect(*conn);
            }
        }
    }

    fn tick(&mut self, ms: i64) {
        self.now = self.now.plus_ms(ms);
        self.input(Input::Tick);
        self.settle();
    }

    /// Release the disk, let timers run, close (or not), shut down, and check the
    /// broker stops.
    fn finish(mut self, close_before_shutdown: bool) -> Stats {
        self.hold_disk = false;
        self.settle();
        if close_before_shutdown {
            for slot in 0..CONNS {
                if let Some(c) = self.clients[slot].take() {
                    self.client_gone(c.id);
                }
            }
            self.settle();
        }
        // Long polls, session timeouts, rebalance delays, flushes and retention.
        for ms in [1_000, 10_000, 60_000, 600_000] {
            self.tick(ms);
        }
        self.shutting_down = true;
        self.input(Input::Shutdown);
        for _ in 0..SHUTDOWN_ROUNDS_MAX {
            self.settle();
            if self.shutdown_complete {
                break;
            }
            let next = self.broker.poll_timeout().unwrap_or(self.now.plus_ms(100)).max(self.now.plus_ms(1));
            self.now = next;
            self.input(Input::Tick);
        }
        assert!(self.shutdown_complete, "shutdown did not complete within {SHUTDOWN_ROUNDS_MAX} timer rounds");
        // The driver contract ends here: a stopped broker is dropped, not driven.
        self.stats
    }
}
