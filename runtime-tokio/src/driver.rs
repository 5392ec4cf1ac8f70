//! The broker task: the one place that owns the [`Broker`].
//!
//! Loop: wait for the first of (signal, disk completion, network event, peer
//! message, the core's timer); then take everything else already queued (bounded), handing each to the
//! core; tick the core if its timeout is due; then drain all of its outputs into
//! sockets and the disk executor. Inputs are batched before outputs are drained, so
//! under load one pass serves many requests.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chronik_core::cluster::events::ClusterEvent;
use chronik_core::io::{DiskRequest, Input, Output};
use chronik_core::types::{ConnId, Millis};
use chronik_core::Broker;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::disk::{DiskCompletions, DiskExecutor};
use crate::net::{self, ConnHandle, NetEvent};
use crate::peer::{PeerConfig, PeerMessage, PeerTransport};

/// Inputs (events) taken from the channels in one pass before outputs are drained.
const INPUT_BATCH_MAX: usize = 1024;
/// Network events queued for the broker task before readers wait.
pub const NET_EVENTS_QUEUED_MAX: usize = 4096;
/// Peer messages queued for the broker task before peer readers wait.
pub const PEER_MESSAGES_QUEUED_MAX: usize = 4096;
/// How long, after shutdown completed, writers get to flush what was queued.
const WRITER_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// Sleep used when the core has no timeout (re-armed every pass anyway).
const IDLE_SLEEP: Duration = Duration::from_secs(3600);

/// SIGTERM and SIGINT streams. Installed before the Kafka port is bound: the kernel
/// completes connections on a bound port at once, so a client (or a supervisor) may
/// see the port accept and send SIGTERM before the driver starts, and without the
/// handler the default action would kill the process uncleanly.
pub struct Signals {
    sigterm: tokio::signal::unix::Signal,
    sigint: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn install() -> Result<Signals, DriverError> {
        Ok(Signals {
            sigterm: signal(SignalKind::terminate()).map_err(DriverError::Signals)?,
            sigint: signal(SignalKind::interrupt()).map_err(DriverError::Signals)?,
        })
    }
}

/// Why the driver stopped other than by a clean shutdown.
#[derive(Debug)]
pub enum DriverError {
    ShutdownTimedOut,
    Interrupted,
    Signals(std::io::Error),
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriverError::ShutdownTimedOut => {
                write!(f, "the broker did not finish shutting down in time")
            }
            DriverError::Interrupted => write!(f, "second signal during shutdown: exiting without a clean shutdown"),
            DriverError::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
        }
    }
}

pub struct Driver {
    broker: Broker,
    clock: Clock,
    disk: DiskExecutor,
    disk_done: mpsc::UnboundedReceiver<DiskCompletions>,
    disk_in_flight: usize,
    /// Completions of writes the executor carried out inline, fed back after draining.
    inline_done: DiskCompletions,
    /// Disk operations of the current drain pass, started together at its end so that
    /// appends issued back to back can share one write.
    disk_pending: VecDeque<DiskRequest>,
    net_tx: mpsc::Sender<NetEvent>,
    net_rx: mpsc::Receiver<NetEvent>,
    conns: HashMap<ConnId, ConnHandle>,
    listener: Option<TcpListener>,
    acceptor: Option<JoinHandle<()>>,
    /// Cluster mode only.
    peers: Option<PeerTransport>,
    peer_rx: mpsc::Receiver<PeerMessage>,
    /// Held so `peer_rx` never reports closed (standalone has no transport).
    _peer_tx: mpsc::Sender<PeerMessage>,
    ready: bool,
    shutting_down: bool,
    shutdown_complete: bool,
}

impl Driver {
    pub fn new(
        broker: Broker,
        clock: Clock,
        disk: DiskExecutor,
        disk_done: mpsc::UnboundedReceiver<DiskCompletions>,
        listener: TcpListener,
        peers: Option<(PeerConfig, TcpListener)>,
    ) -> Driver {
        let (net_tx, net_rx) = mpsc::channel(NET_EVENTS_QUEUED_MAX);
        let (peer_tx, peer_rx) = mpsc::channel(PEER_MESSAGES_QUEUED_MAX);
        // Peers are served from the start: Raft runs while the broker recovers.
        let peers = peers.map(|(config, listener)| PeerTransport::start(config, listener, peer_tx.clone()));
        Driver {
            broker,
            clock,
            disk,
            disk_done,
            disk_in_flight: 0,
            inline_done: Vec::new(),
            disk_pending: VecDeque::new(),
            net_tx,
            net_rx,
            conns: HashMap::new(),
            listener: Some(listener),
            acceptor: None,
            peers,
            peer_rx,
            _peer_tx: peer_tx,
            ready: false,
            shutting_down: false,
            shutdown_complete: false,
        }
    }

    /// Serve until a signal asks to stop and the core reports its shutdown complete.
    /// `signals` come from [`Signals::install`], called before the listener is bound.
    pub async fn run(mut self, shutdown_timeout: Duration, signals: Signals) -> Result<(), DriverError> {
        let Signals { mut sigterm, mut sigint } = signals;
        let timer = tokio::time::sleep(IDLE_SLEEP);
        tokio::pin!(timer);
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        let mut shutdown_deadline = far;
        let mut armed: Option<Millis> = None;

        self.drain_outputs(); // Broker::new may already have output (Ready, recovery IO).
        loop {
            self.start_accepting_if_ready();
            if self.shutdown_complete {
                break;
            }
            let timeout = self.broker.poll_timeout();
            if timeout != armed || timer.is_elapsed() {
                // Re-arm only when the core's deadline moved (or the timer fired).
                let wake_at = match timeout {
                    Some(at) => self.instant_for(at),
                    None => Instant::now() + IDLE_SLEEP,
                };
                timer.as_mut().reset(wake_at);
                armed = timeout;
            }

            tokio::select! {
                biased;
                _ = sigterm.recv() => self.on_signal("SIGTERM", &mut shutdown_deadline, shutdown_timeout)?,
                _ = sigint.recv() => self.on_signal("SIGINT", &mut shutdown_deadline, shutdown_timeout)?,
                Some(done) = self.disk_done.recv() => self.on_disk(done),
                Some(event) = self.net_rx.recv() => self.on_net(event),
                Some(msg) = self.peer_rx.recv() => self.on_peer(msg),
                () = &mut timer, if timeout.is_some() => {}
                () = tokio::time::sleep_until(shutdown_deadline), if self.shutting_down => {
                    tracing::error!(timeout_secs = shutdown_timeout.as_secs(), "shutdown timed out");
                    return Err(DriverError::ShutdownTimedOut);
                }
            }
            self.take_queued_inputs();
            self.tick_if_due();
            self.drain_outputs();
        }
        self.finish().await;
        Ok(())
    }

    fn on_signal(&mut self, name: &str, deadline: &mut Instant, timeout: Duration) -> Result<(), DriverError> {
        if self.shutting_down {
            tracing::error!(signal = name, "second signal during shutdown");
            return Err(DriverError::Interrupted);
        }
        tracing::info!(signal = name, "shutting down: no longer accepting connections");
        self.shutting_down = true;
        *deadline = Instant::now() + timeout;
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
        }
        self.listener = None;
        tracing::info!("shutting down: finishing in-flight work and syncing");
        let now = self.clock.now();
        self.broker.handle(now, Input::Shutdown);
        Ok(())
    }

    fn start_accepting_if_ready(&mut self) {
        if !self.ready || self.shutting_down {
            return;
        }
        if let Some(listener) = self.listener.take() {
            tracing::info!("broker ready: accepting client connections");
            self.acceptor = Some(tokio::spawn(net::accept_loop(listener, self.net_tx.clone())));
        }
    }

    fn instant_for(&mut self, at: Millis) -> Instant {
        let now = self.clock.now();
        let wait_ms = u64::try_from(at.0.saturating_sub(now.0)).unwrap_or(0);
        Instant::now() + Duration::from_millis(wait_ms)
    }

    fn take_queued_inputs(&mut self) {
        let mut taken = 0;
        while taken < INPUT_BATCH_MAX {
            let mut progressed = false;
            if let Ok(done) = self.disk_done.try_recv() {
                self.on_disk(done);
                progressed = true;
                taken += 1;
            }
            if let Ok(event) = self.net_rx.try_recv() {
                self.on_net(event);
                progressed = true;
                taken += 1;
            }
            if let Ok(msg) = self.peer_rx.try_recv() {
                self.on_peer(msg);
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
                self.broker.handle(now, Input::Tick);
            }
        }
    }

    fn on_disk(&mut self, done: DiskCompletions) {
        for (id, result) in done {
            debug_assert!(self.disk_in_flight > 0);
            self.disk_in_flight = self.disk_in_flight.saturating_sub(1);
            let now = self.clock.now();
            self.broker.handle(now, Input::DiskDone { id, result });
        }
    }

    fn on_net(&mut self, event: NetEvent) {
        let now = self.clock.now();
        match event {
            NetEvent::Accepted { conn, peer, handle } => {
                self.conns.insert(conn, handle);
                self.broker.handle(now, Input::Accepted { conn, peer });
            }
            NetEvent::Received { conn, data } => self.broker.handle(now, Input::Received { conn, data }),
            NetEvent::Closed { conn } => {
                // Dropping the handle ends the writer once its queue is written.
                self.conns.remove(&conn);
                self.broker.handle(now, Input::Closed { conn });
            }
        }
    }

    fn on_peer(&mut self, msg: PeerMessage) {
        let now = self.clock.now();
        self.broker.handle(now, Input::PeerReceived { from: msg.from, data: msg.data });
    }

    /// Carries out every output; completions of inline writes go back to the core as
    /// inputs, and what they lead to is drained too.
    fn drain_outputs(&mut self) {
        loop {
            self.drain_outputs_once();
            if self.inline_done.is_empty() {
                return;
            }
            // Completions already sent by lane runners come first: an inline write ran on
            // an idle lane, so everything earlier on its file was sent before it — except
            // a sync still running, which the io contract lets a later write overtake.
            while let Ok(done) = self.disk_done.try_recv() {
                self.on_disk(done);
            }
            let done = std::mem::take(&mut self.inline_done);
            self.on_disk(done);
        }
    }

    fn drain_outputs_once(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            match output {
                Output::Send { conn, data } => match self.conns.get(&conn) {
                    Some(handle) => handle.send(data),
                    None => tracing::debug!(conn = conn.0, "send to a closed connection dropped"),
                },
                Output::Close { conn } => {
                    if let Some(handle) = self.conns.get(&conn) {
                        handle.close();
                    }
                }
                Output::PauseReading { conn } => {
                    if let Some(handle) = self.conns.get(&conn) {
                        handle.set_paused(true);
                    }
                }
                Output::ResumeReading { conn } => {
                    if let Some(handle) = self.conns.get(&conn) {
                        handle.set_paused(false);
                    }
                }
                Output::Disk(request) => {
                    self.disk_in_flight += 1;
                    self.disk_pending.push_back(request);
                }
                Output::PeerSend { to, data } => match &self.peers {
                    Some(peers) => peers.send(to, data),
                    None => tracing::debug!(to = to.0, bytes = data.len(), "standalone: peer message dropped"),
                },
                Output::Event(event) => log_event(&event),
                Output::Ready => self.ready = true,
                Output::ShutdownComplete => {
                    tracing::info!("shutting down: broker reports everything synced");
                    self.shutdown_complete = true;
                }
            }
        }
        // Sends went to their writer tasks and run later anyway; starting the disk
        // operations after them changes no order the io contract promises.
        self.disk.submit_all(&mut self.disk_pending, &mut self.inline_done);
    }

    /// Flush what was queued for clients, then close their connections.
    async fn finish(mut self) {
        // Peers see the connections drop, as after a crash; the core needs no goodbye.
        self.peers = None;
        if self.disk_in_flight > 0 {
            tracing::warn!(ops = self.disk_in_flight, "disk operations still in flight at exit");
        }
        let conns: Vec<ConnHandle> = self.conns.drain().map(|(_, h)| h).collect();
        tracing::info!(connections = conns.len(), "shutting down: flushing and closing client connections");
        let mut writers = Vec::with_capacity(conns.len());
        for handle in conns {
            handle.close();
            writers.push(handle.writer_task);
        }
        let flushed = tokio::time::timeout(WRITER_FLUSH_TIMEOUT, async {
            for writer in writers {
                let _ = writer.await;
            }
        })
        .await;
        if flushed.is_err() {
            tracing::warn!("some connections did not flush in time");
        }
        tracing::info!(open_files = self.disk.open_files(), "shutdown complete");
    }
}

/// Cluster events at debug. Raft state changes (term, role, leader) are worth an info
/// line, and the core writes it itself ("metadata quorum state"), as it does for broker
/// fencing; a second line here would only repeat it.
fn log_event(event: &ClusterEvent) {
    match event {
        ClusterEvent::RaftState { term, role, leader, commit } => {
            tracing::debug!(term, ?role, leader = leader.map(|l| l.0), commit, "raft state");
        }
        other => tracing::debug!(event = ?other, "cluster"),
    }
}
