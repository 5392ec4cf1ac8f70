//! The peer transport (cluster mode): carries the core's `Output::PeerSend` messages
//! to other nodes and hands theirs back as [`PeerMessage`]s (`Input::PeerReceived`).
//!
//! Connections are one-way. Each node dials every other node once (one outgoing
//! connection per peer, reconnected with bounded backoff) and only writes on it; it
//! only reads on the connections it accepts. So a message travels on the sender's
//! outgoing connection, and there is never a question of which of two connections
//! between a pair to use.
//!
//! Wire format, all integers big-endian:
//! - hello (first frame of every connection): `[u32 length][magic "CHRP"][u16 version]
//!   [i32 sender node id]`, length at most [`HELLO_BYTES_MAX`]; bytes after the
//!   known fields are ignored (room for later versions).
//! - then messages: `[u32 length][payload]`, length at most the configured
//!   `frame_bytes_max` (the core's `peer_message_bytes_max`).
//!
//! The core tolerates loss, duplication and reordering, so the transport drops
//! freely: a full per-peer queue drops the newest message, an unreachable peer's
//! queue is discarded while it is down, a message to self or to an unknown node is
//! dropped. Bad bytes from a peer (wrong magic, unknown node id, oversized frame)
//! close that connection with a log line; they never panic.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use chronik_core::types::NodeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// First bytes of every hello.
pub const HELLO_MAGIC: [u8; 4] = *b"CHRP";
/// The transport's wire version.
pub const HELLO_VERSION: u16 = 1;
/// Bytes of the hello's known fields (magic, version, node id).
const HELLO_FIELDS_BYTES: usize = 4 + 2 + 4;
/// A hello longer than this closes the connection.
pub const HELLO_BYTES_MAX: usize = 256;
/// An accepted connection must send its hello within this long.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages queued per peer before new ones are dropped.
pub const PEER_QUEUE_MESSAGES_MAX: usize = 4096;
/// Inbound peer connections served at once; more are closed on accept.
pub const PEER_CONNECTIONS_MAX: usize = 64;
/// First reconnect delay after a failed dial or a lost connection.
pub const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Reconnect delays double up to this.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// A dial that takes longer than this counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes a reader asks the socket for at once (a frame's buffer grows as its bytes arrive).
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Messages a writer takes from its queue before it flushes.
const WRITE_BATCH_MESSAGES_MAX: usize = 256;

/// A whole message from a peer, for `Input::PeerReceived`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMessage {
    pub from: NodeId,
    pub data: Bytes,
}

/// What the transport needs to know.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// This node.
    pub node_id: NodeId,
    /// Every other node of the cluster and its peer address (`host:port`). An entry
    /// for this node is ignored.
    pub peers: BTreeMap<NodeId, String>,
    /// Largest message payload sent or accepted (the core's `peer_message_bytes_max`).
    pub frame_bytes_max: usize,
}

/// The running transport. Dropping it stops every task it started.
#[derive(Debug)]
pub struct PeerTransport {
    node_id: NodeId,
    frame_bytes_max: usize,
    links: BTreeMap<NodeId, Link>,
    acceptor: JoinHandle<()>,
}

/// The outgoing side for one peer.
#[derive(Debug)]
struct Link {
    queue: mpsc::Sender<Bytes>,
    dropped: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl PeerTransport {
    /// Serve `listener` for inbound peers (their messages go to `inbound`) and dial
    /// every peer of `config`.
    pub fn start(config: PeerConfig, listener: TcpListener, inbound: mpsc::Sender<PeerMessage>) -> PeerTransport {
        assert!(config.frame_bytes_max > 0, "frame_bytes_max must be positive");
        let known: Arc<BTreeMap<NodeId, String>> = Arc::new(config.peers.clone());
        let acceptor = tokio::spawn(accept_loop(listener, config.node_id, known, config.frame_bytes_max, inbound));
        let mut links = BTreeMap::new();
        for (&peer, addr) in &config.peers {
            if peer == config.node_id {
                continue;
            }
            let (queue, rx) = mpsc::channel(PEER_QUEUE_MESSAGES_MAX);
            let dropped = Arc::new(AtomicU64::new(0));
            let task = tokio::spawn(dial_loop(config.node_id, peer, addr.clone(), rx, Arc::clone(&dropped)));
            links.insert(peer, Link { queue, dropped, task });
        }
        PeerTransport { node_id: config.node_id, frame_bytes_max: config.frame_bytes_max, links, acceptor }
    }

    /// Queue `data` for `to`. Never blocks: drops (and counts) what cannot be queued.
    pub fn send(&self, to: NodeId, data: Bytes) {
        if to == self.node_id {
            tracing::debug!(to = to.0, "peer message to self dropped");
            return;
        }
        let Some(link) = self.links.get(&to) else {
            tracing::debug!(to = to.0, "peer message to an unknown node dropped");
            return;
        };
        if data.len() > self.frame_bytes_max {
            tracing::warn!(to = to.0, bytes = data.len(), frame_bytes_max = self.frame_bytes_max, "peer message too large: dropped");
            link.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Err(e) = link.queue.try_send(data) {
            let dropped = link.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "queue full",
                mpsc::error::TrySendError::Closed(_) => "link stopped",
            };
            tracing::debug!(to = to.0, dropped, why, "peer message dropped");
        }
    }

    /// Messages to `to` dropped so far (queue full, too large, or discarded while `to` was unreachable).
    pub fn dropped(&self, to: NodeId) -> u64 {
        self.links.get(&to).map_or(0, |l| l.dropped.load(Ordering::Relaxed))
    }
}

impl Drop for PeerTransport {
    fn drop(&mut self) {
        self.acceptor.abort();
        for link in self.links.values() {
            link.task.abort();
        }
    }
}

// ---------------------------------------------------------------- hello

/// The hello frame a node sends first on every connection it dials.
pub fn encode_hello(node_id: NodeId) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + HELLO_FIELDS_BYTES);
    b.put_u32(HELLO_FIELDS_BYTES as u32);
    b.put_slice(&HELLO_MAGIC);
    b.put_u16(HELLO_VERSION);
    b.put_i32(node_id.0);
    b.freeze()
}

/// The sender of a hello payload (the bytes after the length), or why it is refused.
fn decode_hello(mut payload: &[u8]) -> Result<NodeId, String> {
    if payload.len() < HELLO_FIELDS_BYTES {
        return Err(format!("hello of {} bytes is shorter than {HELLO_FIELDS_BYTES}", payload.len()));
    }
    if payload[..4] != HELLO_MAGIC {
        return Err(format!("bad hello magic {:02x?}", &payload[..4]));
    }
    payload.advance(4);
    let version = payload.get_u16();
    if version != HELLO_VERSION {
        return Err(format!("unsupported peer protocol version {version}"));
    }
    Ok(NodeId(payload.get_i32()))
}

// ---------------------------------------------------------------- outgoing

/// Keep one connection to `peer` up and write its queue on it, forever.
async fn dial_loop(me: NodeId, peer: NodeId, addr: String, mut queue: mpsc::Receiver<Bytes>, dropped: Arc<AtomicU64>) {
    let mut backoff = RECONNECT_BACKOFF_MIN;
    let mut failures: u64 = 0;
    loop {
        match connect(&addr).await {
            Ok(stream) => {
                if failures > 0 {
                    tracing::info!(peer = peer.0, %addr, "connected to peer after {failures} failed attempts");
                } else {
                    tracing::info!(peer = peer.0, %addr, "connected to peer");
                }
                failures = 0;
                backoff = RECONNECT_BACKOFF_MIN;
                match write_connection(me, stream, &mut queue).await {
                    Ok(()) => return, // the transport was dropped
                    Err(why) => tracing::info!(peer = peer.0, %addr, %why, "peer connection lost; reconnecting"),
                }
            }
            Err(e) => {
                failures += 1;
                // The first failure is worth a line; the retries are noise while a peer is down.
                if failures == 1 {
                    tracing::info!(peer = peer.0, %addr, error = %e, "cannot reach peer; retrying");
                } else {
                    tracing::debug!(peer = peer.0, %addr, error = %e, failures, "cannot reach peer");
                }
            }
        }
        // Whatever is queued while the peer is down would be stale when it is back: discard it.
        let sleep = tokio::time::sleep(backoff);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                msg = queue.recv() => match msg {
                    Some(_) => {
                        let n = dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::trace!(peer = peer.0, dropped = n, "peer unreachable: message dropped");
                    }
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).min(RECONNECT_BACKOFF_MAX);
    }
}

async fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Send the hello, then queued messages until the connection fails (`Err(why)`) or the
/// queue is closed (`Ok`). The peer never writes on this connection: anything it sends,
/// or its EOF, ends the connection.
async fn write_connection(me: NodeId, stream: TcpStream, queue: &mut mpsc::Receiver<Bytes>) -> Result<(), String> {
    let (mut read_half, write_half) = stream.into_split();
    let mut out = BufWriter::with_capacity(READ_CHUNK_BYTES, write_half);
    out.write_all(&encode_hello(me)).await.map_err(|e| format!("hello: {e}"))?;
    out.flush().await.map_err(|e| format!("hello: {e}"))?;
    let mut probe = [0u8; 1];
    let mut batch: Vec<Bytes> = Vec::with_capacity(WRITE_BATCH_MESSAGES_MAX);
    loop {
        tokio::select! {
            got = queue.recv_many(&mut batch, WRITE_BATCH_MESSAGES_MAX) => {
                if got == 0 {
                    let _ = out.shutdown().await;
                    return Ok(());
                }
                for msg in batch.drain(..) {
                    write_frame(&mut out, &msg).await.map_err(|e| format!("write: {e}"))?;
                }
                out.flush().await.map_err(|e| format!("write: {e}"))?;
            }
            read = read_half.read(&mut probe) => return Err(match read {
                Ok(0) => "peer closed the connection".to_string(),
                Ok(_) => "peer wrote on an outgoing connection".to_string(),
                Err(e) => format!("read: {e}"),
            }),
        }
    }
}

async fn write_frame<W: AsyncWriteExt + Unpin>(out: &mut W, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| std::io::Error::other("frame longer than u32"))?;
    out.write_all(&len.to_be_bytes()).await?;
    out.write_all(payload).await
}

// ---------------------------------------------------------------- inbound

/// Accept peers forever. Reader tasks live in a `JoinSet` owned here, so aborting this
/// task (dropping the transport) closes every inbound connection too.
async fn accept_loop(
    listener: TcpListener,
    me: NodeId,
    known: Arc<BTreeMap<NodeId, String>>,
    frame_bytes_max: usize,
    inbound: mpsc::Sender<PeerMessage>,
) {
    let mut readers = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = readers.join_next(), if !readers.is_empty() => continue,
        };
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "peer accept failed");
                tokio::time::sleep(RECONNECT_BACKOFF_MIN).await;
                continue;
            }
        };
        if inbound.is_closed() {
            return; // the broker task is gone
        }
        if readers.len() >= PEER_CONNECTIONS_MAX {
            tracing::warn!(%addr, connections_max = PEER_CONNECTIONS_MAX, "too many peer connections: closed");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (known, inbound) = (Arc::clone(&known), inbound.clone());
        readers.spawn(async move {
            // The write half stays open while reading: dropping it would send the dialer an EOF.
            let (read_half, _write_half) = stream.into_split();
            match read_connection(read_half, me, &known, frame_bytes_max, &inbound).await {
                Ok(from) => tracing::info!(peer = from.0, %addr, "peer connection closed"),
                Err(why) => tracing::warn!(%addr, %why, "peer connection closed"),
            }
        });
    }
}

/// Read the hello, then frames until EOF (`Ok(sender)`) or bad bytes (`Err(why)`).
async fn read_connection(
    mut socket: OwnedReadHalf,
    me: NodeId,
    known: &BTreeMap<NodeId, String>,
    frame_bytes_max: usize,
    inbound: &mpsc::Sender<PeerMessage>,
) -> Result<NodeId, String> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let hello = tokio::time::timeout(HELLO_TIMEOUT, read_frame(&mut socket, &mut buf, HELLO_BYTES_MAX))
        .await
        .map_err(|_| format!("no hello within {} ms", HELLO_TIMEOUT.as_millis()))?
        .map_err(|e| format!("hello: {e}"))?
        .ok_or("closed before its hello")?;
    let from = decode_hello(&hello)?;
    if from == me {
        return Err(format!("hello names this node ({})", me.0));
    }
    if !known.contains_key(&from) {
        return Err(format!("hello names node {}, which is not a voter", from.0));
    }
    tracing::info!(peer = from.0, "peer connected");
    loop {
        let frame = read_frame(&mut socket, &mut buf, frame_bytes_max).await.map_err(|e| format!("node {}: {e}", from.0))?;
        let Some(data) = frame else { return Ok(from) };
        if inbound.send(PeerMessage { from, data }).await.is_err() {
            return Ok(from); // the broker task is gone
        }
    }
}

/// One `[u32 length][payload]` frame: `Ok(None)` on a clean EOF between frames, `Err`
/// on EOF inside a frame, a read error or a length above `bytes_max`. The payload
/// buffer grows as its bytes arrive, so a lying length costs no memory.
async fn read_frame(socket: &mut OwnedReadHalf, buf: &mut BytesMut, bytes_max: usize) -> Result<Option<Bytes>, String> {
    if !fill(socket, buf, 4).await? {
        if buf.is_empty() {
            return Ok(None);
        }
        return Err("connection closed inside a frame header".into());
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > bytes_max {
        return Err(format!("frame of {len} bytes exceeds the limit of {bytes_max} bytes"));
    }
    if !fill(socket, buf, 4 + len).await? {
        return Err(format!("connection closed inside a frame of {len} bytes"));
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Read until `buf` holds at least `want` bytes (`Ok(true)`) or EOF (`Ok(false)`).
async fn fill(socket: &mut OwnedReadHalf, buf: &mut BytesMut, want: usize) -> Result<bool, String> {
    while buf.len() < want {
        buf.reserve((want - buf.len()).min(READ_CHUNK_BYTES));
        match socket.read_buf(buf).await {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Ok(true)
}

/// Bind the peer listener on `addr` (SO_REUSEADDR, as for clients).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    crate::net::bind(addr)
}

#[cfg(test)]
mod tests;
