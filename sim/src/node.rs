//! One simulated broker node: the driver that runs a `chronik_core::Broker` on
//! madsim, mirroring `runtime-tokio` (driver.rs, net.rs, disk.rs).
//!
//! # Tasks of one node
//!
//! - The **broker task** is [`run_node`] itself: it owns the [`Broker`]. Loop: wait
//!   for the first of (disk completion, network event, the core's timer); take
//!   everything else already queued (at most [`INPUT_BATCH_MAX`]), handing each to
//!   the core; tick the core if its timeout is due; then drain every output. So a
//!   burst of inputs is covered by one sync per file (group commit), as in
//!   production.
//! - The **accept task** starts once the core reports `Output::Ready` (the listener
//!   is bound before the broker starts, so clients that connect during recovery
//!   wait in the listener's queue and are accepted after `Ready`). Connection ids
//!   count from 1 per process (a restarted node starts again at 1, as the core does).
//! - One **connection task** per client connection. madsim's `TcpStream` cannot be
//!   split, so one task both reads (unless paused) and writes the queued
//!   commands, in order. It reports `Accepted` (sent by the acceptor before the
//!   task exists), then `Received`s, then exactly one `Closed`, on one bounded
//!   channel. `Output::Close` writes what was queued before it and drops the
//!   socket: the peer sees end of stream.
//! - One **disk task** executes `Output::Disk` requests FIFO against the node's
//!   [`SimDisk`]: sleep [`SimDisk::latency`] of simulated time, then
//!   [`SimDisk::execute`], then report `DiskDone`. FIFO over all files keeps the
//!   per-`FileId` order of `chronik_core::io` (and orders path operations too),
//!   except where that contract allows writes to overtake a running sync, which the
//!   task does for half the syncs with writes queued behind them (`disk_loop`). The
//!   mutex is never held across an await.
//!
//! # Time
//!
//! `now` handed to the core is madsim's simulated wall clock
//! (`TimeHandle::now_time`, a seeded base around 2022 plus simulated elapsed time)
//! in milliseconds, clamped never to go backwards. It depends only on the seed.
//!
//! # Kill, restart, panics
//!
//! - Kill (`Handle::kill`) drops every task of the node at once: in-flight disk
//!   operations that had not reached `execute` never happen; their completions are
//!   lost with the process. Client sockets see end of stream. To restart, the
//!   runner calls `SimDisk::crash`, then `Handle::restart`, which runs the node's
//!   `init` closure, i.e. `run_node` again with the same disk: a fresh `Broker`
//!   recovers from what survived. `Handle::restart` alone (without a `kill`
//!   first) leaves the old listener bound in madsim's network and the new
//!   `run_node` panics with "address already in use": kill first.
//! - A panic in the core (or here) is a task panic: madsim propagates it out of
//!   `Runtime::block_on`, failing the seed (unless the node was built with
//!   `restart_on_panic`, which the simulator must not use: it would hide bugs).
//!   Nothing waits on a panicked task, so nothing hangs.
//!
//! # Cluster mode
//!
//! With [`NodeSpec::cluster`] set (and `BrokerConfig::cluster`), the node is one
//! voter of the metadata quorum: at start it attaches to the run's
//! [`PeerNet`](crate::cluster::net::PeerNet), which gives it a new inbox and its
//! incarnation number (how many times it started before). Peer messages arrive
//! as another kind of wake-up and go to the core as `Input::PeerReceived`;
//! `Output::PeerSend` goes to the network, `Output::Event` to the run's
//! [`ClusterLog`](crate::cluster::ClusterLog), tagged with node, incarnation and
//! simulated time. A standalone node ignores both, as before.
//!
//! # Trace
//!
//! Lines (prefixed with simulated ms since the start of the run and the node
//! name): start, listening, ready, each accepted connection, each closed
//! connection with its byte counts, each failed disk operation. Nothing recorded
//! depends on anything but the seed (no real time, no addresses of objects, no
//! hash map order).

use std::collections::{BTreeMap, VecDeque};
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use chronik_core::config::BrokerConfig;
use chronik_core::io::{DiskOp, DiskRequest, DiskResult, Input, Output};
use chronik_core::types::{ConnId, IoId, Millis};
use chronik_core::Broker;
use madsim::net::{TcpListener, TcpStream};
use madsim::time::{Sleep, TimeHandle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

use crate::cluster::net::PeerMessage;
use crate::cluster::{ClusterPort, TaggedEvent};
use crate::disk::SimDisk;
use crate::trace::Trace;

/// Inputs taken from the channels in one pass before outputs are drained.
pub const INPUT_BATCH_MAX: usize = 1024;
/// Network events queued for the broker task before connection tasks wait.
pub const NET_EVENTS_QUEUED_MAX: usize = 4096;
/// Bytes read from a socket in one read, at most.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Back-off after a failed accept.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    /// Where the node listens for Kafka clients (its madsim IP and port).
    pub addr: SocketAddr,
    pub broker: BrokerConfig,
    /// Cluster mode: the peer network and event log (`None`: standalone).
    pub cluster: Option<ClusterPort>,
}

/// Run a broker until the node is killed: the same driver contract as
/// `runtime-tokio` (drain every output after inputs, wake at `poll_timeout`),
/// over madsim TCP, the node's `SimDisk` (per-file order, seeded latency) and
/// madsim time. Records a line per notable event into `trace`.
///
/// Must run as a madsim node's task (`NodeBuilder::init`); see the module docs for
/// kill and restart. Never returns; panics if the address cannot be bound.
pub async fn run_node(spec: NodeSpec, disk: Arc<Mutex<SimDisk>>, trace: Trace) {
    let log = NodeLog { name: spec.name.clone(), trace };
    log.record("start");
    let listener = match TcpListener::bind(spec.addr).await {
        Ok(l) => l,
        Err(e) => panic!("node {}: cannot bind {}: {e} (to restart a node, Handle::kill it before Handle::restart)", spec.name, spec.addr),
    };
    log.record(format_args!("listening on {}", spec.addr));
    let (disk_tx, disk_rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    madsim::task::spawn_local(disk_loop(disk, disk_rx, done_tx.clone(), log.clone()));
    let peer = spec.cluster.clone().map(|port| {
        let node = usize::try_from(spec.broker.node_id.0).expect("cluster node ids count from 0");
        let (incarnation, inbox) = port.net.attach(node);
        log.record(format_args!("cluster node {node} incarnation {incarnation}"));
        PeerLink { port, node, incarnation, inbox }
    });
    let mut clock = SimClock::default();
    let broker = Broker::new(spec.broker.clone(), clock.now());
    let (net_tx, net_rx) = mpsc::channel(NET_EVENTS_QUEUED_MAX);
    let mut driver = Driver {
        broker,
        clock,
        log,
        disk_tx,
        disk_in_flight: 0,
        done_rx,
        _done_tx: done_tx,
        net_tx,
        net_rx,
        conns: BTreeMap::new(),
        listener: Some(listener),
        peer,
        ready: false,
        timer: None,
    };
    driver.run().await
}

/// Milliseconds since the Unix epoch on madsim's simulated wall clock (seeded
/// base plus simulated elapsed time). Only inside a madsim runtime.
pub fn sim_now_millis() -> Millis {
    let wall = TimeHandle::current().now_time();
    let ms = wall.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Simulated milliseconds since the runtime started (for trace lines).
pub fn sim_elapsed_millis() -> u128 {
    TimeHandle::current().elapsed().as_millis()
}

/// The core's clock: simulated wall-clock ms, never going backwards.
#[derive(Debug, Default)]
struct SimClock {
    last: i64,
}

impl SimClock {
    fn now(&mut self) -> Millis {
        self.last = self.last.max(sim_now_millis().0);
        Millis(self.last)
    }
}

/// Trace lines of one node, prefixed with simulated time and the node name.
#[derive(Clone)]
struct NodeLog {
    name: String,
    trace: Trace,
}

impl NodeLog {
    fn record(&self, what: impl std::fmt::Display) {
        self.trace.record(format_args!("{:>9}ms {} {}", sim_elapsed_millis(), self.name, what));
    }
}

/// What connection tasks tell the broker task.
enum NetEvent {
    Accepted { conn: ConnId, peer: String, handle: ConnHandle },
    Received { conn: ConnId, data: Bytes },
    Closed { conn: ConnId },
}

/// A command for a connection task, carried out in order.
enum ConnCmd {
    Send(Bytes),
    /// Write what was queued before, then drop the socket.
    Close,
    Pause,
    Resume,
}

/// The broker task's handle on a connection, with byte counts for the trace.
struct ConnHandle {
    cmds: mpsc::UnboundedSender<ConnCmd>,
    received_bytes: u64,
    sent_bytes: u64,
}

impl ConnHandle {
    fn command(&self, cmd: ConnCmd) {
        // A finished task has reported (or will report) Closed; nothing to do.
        let _ = self.cmds.send(cmd);
    }
}

/// What woke the broker task.
enum Wake {
    Disk((IoId, DiskResult)),
    Net(NetEvent),
    Peer(PeerMessage),
    Timer,
}

/// A cluster node's side of the peer network and event log.
struct PeerLink {
    port: ClusterPort,
    /// This node's index (= its node id).
    node: usize,
    incarnation: u32,
    inbox: mpsc::UnboundedReceiver<PeerMessage>,
}

struct Driver {
    broker: Broker,
    clock: SimClock,
    log: NodeLog,
    disk_tx: mpsc::UnboundedSender<DiskRequest>,
    disk_in_flight: usize,
    done_rx: mpsc::UnboundedReceiver<(IoId, DiskResult)>,
    /// Kept so the completion channel never reports closed.
    _done_tx: mpsc::UnboundedSender<(IoId, DiskResult)>,
    net_tx: mpsc::Sender<NetEvent>,
    net_rx: mpsc::Receiver<NetEvent>,
    conns: BTreeMap<ConnId, ConnHandle>,
    /// Taken by the accept task once the core is ready.
    listener: Option<TcpListener>,
    /// Cluster mode only.
    peer: Option<PeerLink>,
    ready: bool,
    /// The armed wake-up: the core's deadline and the sleep for it.
    timer: Option<(Millis, Pin<Box<Sleep>>)>,
}

impl Driver {
    async fn run(&mut self) -> ! {
        self.drain_outputs(); // Broker::new already has output (recovery IO).
        loop {
            self.start_accepting_if_ready();
            self.arm_timer();
            let wake = self.next_wake().await;
            match wake {
                Wake::Disk(done) => self.on_disk(done),
                Wake::Net(event) => self.on_net(event),
                Wake::Peer(message) => self.on_peer(message),
                Wake::Timer => self.timer = None,
            }
            self.take_queued_inputs();
            self.tick_if_due();
            self.drain_outputs();
        }
    }

    /// Wait for the first of: a disk completion, a network event, the timer.
    fn next_wake(&mut self) -> impl Future<Output = Wake> + '_ {
        poll_fn(move |cx| {
            if let Poll::Ready(Some(done)) = self.done_rx.poll_recv(cx) {
                return Poll::Ready(Wake::Disk(done));
            }
            if let Poll::Ready(Some(event)) = self.net_rx.poll_recv(cx) {
                return Poll::Ready(Wake::Net(event));
            }
            if let Some(peer) = self.peer.as_mut() {
                if let Poll::Ready(Some(message)) = peer.inbox.poll_recv(cx) {
                    return Poll::Ready(Wake::Peer(message));
                }
            }
            if let Some((_, sleep)) = self.timer.as_mut() {
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
            }
            Poll::Pending
        })
    }

    /// (Re-)arm the timer when the core's deadline moved.
    fn arm_timer(&mut self) {
        let deadline = self.broker.poll_timeout();
        if self.timer.as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        self.timer = deadline.map(|at| {
            let now = self.clock.now();
            let wait_ms = u64::try_from(at.0.saturating_sub(now.0)).unwrap_or(0);
            let sleep = madsim::time::sleep(Duration::from_millis(wait_ms));
            (at, Box::pin(sleep))
        });
    }

    fn start_accepting_if_ready(&mut self) {
        if !self.ready {
            return;
        }
        if let Some(listener) = self.listener.take() {
            self.log.record("ready: accepting clients");
            madsim::task::spawn_local(accept_loop(listener, self.net_tx.clone()));
        }
    }

    fn take_queued_inputs(&mut self) {
        let mut taken = 0;
        while taken < INPUT_BATCH_MAX {
            let mut progressed = false;
            if let Ok(done) = self.done_rx.try_recv() {
                self.on_disk(done);
                progressed = true;
                taken += 1;
            }
            if let Ok(event) = self.net_rx.try_recv() {
                self.on_net(event);
                progressed = true;
                taken += 1;
            }
            if let Some(message) = self.peer.as_mut().and_then(|p| p.inbox.try_recv().ok()) {
                self.on_peer(message);
                progressed = true;
                taken += 1;
            }
            if !progressed {
                break;
            }
        }
    }

    fn tick_if_due(&mut self) {
        if let Some(at) = self.broker.poll_timeout() {
            let now = self.clock.now();
            if at <= now {
                self.mix_input("tick", now, 0, &[]);
                self.broker.handle(now, Input::Tick);
            }
        }
    }

    fn on_disk(&mut self, (id, result): (IoId, DiskResult)) {
        assert!(self.disk_in_flight > 0, "disk completion {id:?} with nothing in flight");
        self.disk_in_flight -= 1;
        let now = self.clock.now();
        let (kind, bytes): (&str, &[u8]) = match &result {
            DiskResult::Done => ("done", &[]),
            DiskResult::Opened { .. } => ("opened", &[]),
            DiskResult::Read(b) => ("read", b),
            DiskResult::Listing(_) => ("listing", &[]),
            DiskResult::Failed(m) => ("failed", m.as_bytes()),
        };
        self.mix_input(kind, now, id.0, bytes);
        self.broker.handle(now, Input::DiskDone { id, result });
    }

    /// Fold one core input into the run's trace hash.
    fn mix_input(&self, kind: &str, now: Millis, id: u64, bytes: &[u8]) {
        let tag = format!("{} in {kind} {} {id}", self.log.name, now.0);
        self.log.trace.mix(&tag, bytes);
    }

    fn on_net(&mut self, event: NetEvent) {
        let now = self.clock.now();
        match event {
            NetEvent::Accepted { conn, peer, handle } => {
                self.mix_input("accepted", now, conn.0, peer.as_bytes());
                self.log.record(format_args!("conn {} accepted from {peer}", conn.0));
                self.conns.insert(conn, handle);
                self.broker.handle(now, Input::Accepted { conn, peer });
            }
            NetEvent::Received { conn, data } => {
                if let Some(h) = self.conns.get_mut(&conn) {
                    h.received_bytes += data.len() as u64;
                }
                self.mix_input("received", now, conn.0, &data);
                self.broker.handle(now, Input::Received { conn, data });
            }
            NetEvent::Closed { conn } => {
                if let Some(h) = self.conns.remove(&conn) {
                    self.log
                        .record(format_args!("conn {} closed (received {} bytes, sent {} bytes)", conn.0, h.received_bytes, h.sent_bytes));
                }
                self.mix_input("closed", now, conn.0, &[]);
                self.broker.handle(now, Input::Closed { conn });
            }
        }
    }

    fn on_peer(&mut self, (from, data): PeerMessage) {
        let now = self.clock.now();
        self.mix_input("peer", now, from.0 as u64, &data);
        self.broker.handle(now, Input::PeerReceived { from, data });
    }

    fn drain_outputs(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            self.mix_output(&output);
            match output {
                Output::Send { conn, data } => {
                    if let Some(h) = self.conns.get_mut(&conn) {
                        h.sent_bytes += data.len() as u64;
                        h.command(ConnCmd::Send(data));
                    }
                }
                Output::Close { conn } => self.command(conn, ConnCmd::Close),
                Output::PauseReading { conn } => self.command(conn, ConnCmd::Pause),
                Output::ResumeReading { conn } => self.command(conn, ConnCmd::Resume),
                Output::Disk(request) => {
                    self.disk_in_flight += 1;
                    // The disk task lives as long as this node: it cannot be gone.
                    self.disk_tx.send(request).expect("disk task alive");
                }
                // Standalone nodes have no peers and report no metadata events.
                Output::PeerSend { to, data } => {
                    if let Some(p) = &self.peer {
                        p.port.net.send(p.node, to, data);
                    }
                }
                Output::Event(event) => {
                    if let Some(p) = &self.peer {
                        let at_ms = u64::try_from(sim_elapsed_millis()).unwrap_or(u64::MAX);
                        p.port.log.push(TaggedEvent { at_ms, node: p.node, incarnation: p.incarnation, event });
                    }
                }
                Output::Ready => self.ready = true,
                // The simulator never sends Input::Shutdown: nodes are killed.
                Output::ShutdownComplete => {}
            }
        }
    }

    /// Fold one core output into the run's trace hash.
    fn mix_output(&self, output: &Output) {
        let name = &self.log.name;
        match output {
            Output::Send { conn, data } => self.log.trace.mix(&format!("{name} out send {}", conn.0), data),
            Output::Disk(req) => {
                let data: &[u8] = match &req.op {
                    DiskOp::Write { data, .. } | DiskOp::ReplaceFile { data, .. } => data,
                    _ => &[],
                };
                self.log.trace.mix(&format!("{name} out disk {} {}", req.id.0, op_name(&req.op)), data)
            }
            other => self.log.trace.mix(&format!("{name} out {other:?}"), &[]),
        }
    }

    fn command(&self, conn: ConnId, cmd: ConnCmd) {
        if let Some(h) = self.conns.get(&conn) {
            h.command(cmd);
        }
    }
}

/// Execute disk requests FIFO: simulated latency, then the operation. One
/// exception, which the io contract allows and production does: writes to a file
/// that queued up while its sync ran may overtake the sync (see
/// [`SimDisk::writes_overtake_sync`]). Then the sync takes its durability point
/// first (so it covers none of them: a crash may still lose them), the writes run and
/// are reported, and the sync is reported after them.
async fn disk_loop(
    disk: Arc<Mutex<SimDisk>>,
    mut requests: mpsc::UnboundedReceiver<DiskRequest>,
    done: mpsc::UnboundedSender<(IoId, DiskResult)>,
    log: NodeLog,
) {
    // Requests taken off the channel (to look behind a sync) and not yet executed.
    let mut queued: VecDeque<DiskRequest> = VecDeque::new();
    loop {
        let DiskRequest { id, op } = match queued.pop_front() {
            Some(req) => req,
            None => match requests.recv().await {
                Some(req) => req,
                None => return,
            },
        };
        let latency = disk.lock().expect("disk lock").latency(&op);
        if !latency.is_zero() {
            madsim::time::sleep(latency).await;
        }
        let mut overtaking = 0;
        if let DiskOp::Sync { file } = op {
            while let Ok(req) = requests.try_recv() {
                queued.push_back(req);
            }
            let behind = queued.iter().take_while(|r| matches!(&r.op, DiskOp::Write { file: f, .. } if *f == file)).count();
            if behind > 0 && disk.lock().expect("disk lock").writes_overtake_sync() {
                overtaking = behind;
            }
        }
        let result = execute_logged(&disk, &op, &log);
        for write in queued.drain(..overtaking) {
            let write_result = execute_logged(&disk, &write.op, &log);
            if done.send((write.id, write_result)).is_err() {
                return; // broker task gone
            }
        }
        if done.send((id, result)).is_err() {
            return; // broker task gone
        }
    }
}

fn execute_logged(disk: &Mutex<SimDisk>, op: &DiskOp, log: &NodeLog) -> DiskResult {
    let result = disk.lock().expect("disk lock").execute(op);
    if let DiskResult::Failed(why) = &result {
        log.record(format_args!("disk {} failed: {why}", op_name(op)));
    }
    result
}

/// A short, stable description of a disk operation for the trace.
fn op_name(op: &DiskOp) -> String {
    match op {
        DiskOp::Open { file, path, .. } => format!("open {path} as {}", file.0),
        DiskOp::Write { file, pos, data } => format!("write {} at {pos} ({} bytes)", file.0, data.len()),
        DiskOp::Sync { file } => format!("sync {}", file.0),
        DiskOp::Read { file, pos, len } => format!("read {} at {pos} ({len} bytes)", file.0),
        DiskOp::Truncate { file, len } => format!("truncate {} to {len}", file.0),
        DiskOp::Close { file } => format!("close {}", file.0),
        DiskOp::Rename { from, to } => format!("rename {from} to {to}"),
        DiskOp::Remove { path } => format!("remove {path}"),
        DiskOp::ListDir { path } => format!("list {path}"),
        DiskOp::CreateDir { path } => format!("mkdir {path}"),
        DiskOp::ReplaceFile { path, data } => format!("replace {path} ({} bytes)", data.len()),
        DiskOp::ReadFile { path } => format!("read file {path}"),
    }
}

/// Accept connections forever, handing each to the broker task.
async fn accept_loop(listener: TcpListener, events: mpsc::Sender<NetEvent>) {
    let mut next_conn: u64 = 1;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                madsim::time::sleep(ACCEPT_RETRY_DELAY).await;
                continue;
            }
        };
        let conn = ConnId(next_conn);
        next_conn += 1;
        let (cmds, cmds_rx) = mpsc::unbounded_channel();
        let handle = ConnHandle { cmds, received_bytes: 0, sent_bytes: 0 };
        // Accepted is queued before the connection task exists, so it precedes all data.
        let accepted = NetEvent::Accepted { conn, peer: peer.to_string(), handle };
        if events.send(accepted).await.is_err() {
            return; // broker task gone
        }
        madsim::task::spawn_local(conn_loop(conn, stream, cmds_rx, events.clone()));
    }
}

/// What a connection task does next.
enum ConnStep {
    Cmd(ConnCmd),
    Data(Bytes),
    Eof,
}

/// Read (unless paused) and carry out commands until either side closes; then
/// report `Closed`, exactly once.
async fn conn_loop(conn: ConnId, mut stream: TcpStream, mut cmds: mpsc::UnboundedReceiver<ConnCmd>, events: mpsc::Sender<NetEvent>) {
    let mut paused = false;
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    'conn: loop {
        let step = poll_fn(|cx| {
            match cmds.poll_recv(cx) {
                Poll::Ready(Some(cmd)) => return Poll::Ready(ConnStep::Cmd(cmd)),
                // The broker task is gone: close.
                Poll::Ready(None) => return Poll::Ready(ConnStep::Cmd(ConnCmd::Close)),
                Poll::Pending => {}
            }
            if !paused {
                let mut rb = ReadBuf::new(&mut buf);
                match Pin::new(&mut stream).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(ConnStep::Eof),
                    Poll::Ready(Ok(())) => return Poll::Ready(ConnStep::Data(Bytes::copy_from_slice(rb.filled()))),
                    Poll::Ready(Err(e)) => {
                        tracing::debug!(conn = conn.0, error = %e, "read failed");
                        return Poll::Ready(ConnStep::Eof);
                    }
                    Poll::Pending => {}
                }
            }
            Poll::Pending
        })
        .await;
        match step {
            ConnStep::Eof => break,
            ConnStep::Data(data) => {
                if events.send(NetEvent::Received { conn, data }).await.is_err() {
                    return; // broker task gone: nobody to tell
                }
            }
            ConnStep::Cmd(first) => {
                // Take every command already queued: one flush for a burst of sends.
                let mut next = Some(first);
                let mut closing = false;
                while let Some(cmd) = next.take() {
                    match cmd {
                        ConnCmd::Send(data) => {
                            if let Err(e) = write_buffered(&mut stream, &data).await {
                                tracing::debug!(conn = conn.0, error = %e, "write failed");
                                break 'conn;
                            }
                        }
                        ConnCmd::Close => {
                            closing = true;
                            break;
                        }
                        ConnCmd::Pause => paused = true,
                        ConnCmd::Resume => paused = false,
                    }
                    next = cmds.try_recv().ok();
                }
                if let Err(e) = flush(&mut stream).await {
                    tracing::debug!(conn = conn.0, error = %e, "write failed");
                    break;
                }
                if closing {
                    break;
                }
            }
        }
    }
    drop(stream); // the peer sees end of stream
    let _ = events.send(NetEvent::Closed { conn }).await;
}

/// Write all of `data` into the stream's buffer (madsim sends on flush).
pub(crate) async fn write_buffered(stream: &mut TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *stream).poll_write(cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

pub(crate) async fn flush(stream: &mut TcpStream) -> std::io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_flush(cx)).await
}
