//! Client connections: the listener, and a reader and a writer task per connection.
//!
//! Events for the core travel on one bounded channel ([`NetEvent`]), so per
//! connection `Accepted` comes before its data and `Closed` after it, and a flood of
//! reads waits for the broker task instead of filling memory. `Closed` is sent
//! exactly once per connection, by its reader, after its last `Received`: the writer
//! (on `Output::Close` or a write error) asks the reader to stop instead.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chronik_core::types::ConnId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Bytes read from a socket in one read, at most.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Below this much free room the read buffer gets a fresh block.
const READ_REFILL_BELOW_BYTES: usize = 16 * 1024;
/// Queued chunks a writer writes with one vectored write, at most.
const WRITE_BATCH_CHUNKS_MAX: usize = 64;
/// Pending connections the kernel keeps before `accept`.
const LISTEN_BACKLOG: u32 = 1024;

/// What connection tasks tell the broker task.
#[derive(Debug)]
pub enum NetEvent {
    Accepted { conn: ConnId, peer: String, handle: ConnHandle },
    Received { conn: ConnId, data: Bytes },
    Closed { conn: ConnId },
}

/// What the reader is told to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderCtl {
    pub paused: bool,
    pub stop: bool,
}

/// A message for a connection's writer.
#[derive(Debug)]
pub enum WriterMsg {
    Data(Bytes),
    /// Write what was queued before, then shut the socket down.
    Close,
}

/// The broker task's handle on a connection.
#[derive(Debug)]
pub struct ConnHandle {
    pub writer: mpsc::UnboundedSender<WriterMsg>,
    pub ctl: Arc<watch::Sender<ReaderCtl>>,
    pub writer_task: JoinHandle<()>,
}

impl ConnHandle {
    pub fn send(&self, data: Bytes) {
        let _ = self.writer.send(WriterMsg::Data(data));
    }
    pub fn close(&self) {
        let _ = self.writer.send(WriterMsg::Close);
    }
    pub fn set_paused(&self, paused: bool) {
        self.ctl.send_if_modified(|c| {
            let changed = c.paused != paused;
            c.paused = paused;
            changed
        });
    }
}

/// Bind the client listener (SO_REUSEADDR) on `addr`.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Accept connections forever, handing each to the broker task on `events`.
pub async fn accept_loop(listener: TcpListener, events: mpsc::Sender<NetEvent>) {
    let mut next_conn: u64 = 1;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let conn = ConnId(next_conn);
        next_conn += 1;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(conn = conn.0, error = %e, "TCP_NODELAY failed");
        }
        tracing::debug!(conn = conn.0, %peer, "accepted");
        if !start_connection(conn, peer, stream, &events).await {
            return; // broker task gone
        }
    }
}

async fn start_connection(conn: ConnId, peer: SocketAddr, stream: TcpStream, events: &mpsc::Sender<NetEvent>) -> bool {
    let (read_half, write_half) = stream.into_split();
    let (ctl, ctl_rx) = watch::channel(ReaderCtl::default());
    let ctl = Arc::new(ctl);
    let (writer, writer_rx) = mpsc::unbounded_channel();
    let writer_task = tokio::spawn(write_loop(conn, write_half, writer_rx, Arc::clone(&ctl)));
    let handle = ConnHandle { writer, ctl, writer_task };
    // Accepted is queued before the reader exists, so it precedes all data.
    if events.send(NetEvent::Accepted { conn, peer: peer.to_string(), handle }).await.is_err() {
        return false;
    }
    tokio::spawn(read_loop(conn, read_half, ctl_rx, events.clone()));
    true
}

async fn read_loop(conn: ConnId, mut socket: OwnedReadHalf, mut ctl: watch::Receiver<ReaderCtl>, events: mpsc::Sender<NetEvent>) {
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    loop {
        let state = *ctl.borrow_and_update();
        if state.stop {
            break;
        }
        if state.paused {
            if ctl.changed().await.is_err() {
                break;
            }
            continue;
        }
        // Small reads share one block; a fresh block only when this one is nearly used.
        if buf.capacity() < READ_REFILL_BELOW_BYTES {
            buf.reserve(READ_BUFFER_BYTES);
        }
        tokio::select! {
            read = socket.read_buf(&mut buf) => match read {
                Ok(0) => break,
                Ok(_) => {
                    let data = buf.split().freeze();
                    if events.send(NetEvent::Received { conn, data }).await.is_err() {
                        return; // broker task gone: nobody to tell
                    }
                }
                Err(e) => {
                    tracing::debug!(conn = conn.0, error = %e, "read failed");
                    break;
                }
            },
            changed = ctl.changed() => if changed.is_err() { break },
        }
    }
    tracing::debug!(conn = conn.0, "reader done");
    let _ = events.send(NetEvent::Closed { conn }).await;
}

async fn write_loop(
    conn: ConnId,
    mut socket: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<WriterMsg>,
    ctl: Arc<watch::Sender<ReaderCtl>>,
) {
    let mut chunks: Vec<Bytes> = Vec::with_capacity(WRITE_BATCH_CHUNKS_MAX);
    let mut closing = false;
    while !closing {
        let Some(first) = queue.recv().await else {
            break;
        };
        match first {
            WriterMsg::Data(b) => chunks.push(b),
            WriterMsg::Close => closing = true,
        }
        while !closing && chunks.len() < WRITE_BATCH_CHUNKS_MAX {
            match queue.try_recv() {
                Ok(WriterMsg::Data(b)) => chunks.push(b),
                Ok(WriterMsg::Close) => closing = true,
                Err(_) => break,
            }
        }
        if let Err(e) = write_chunks(&mut socket, &mut chunks).await {
            tracing::debug!(conn = conn.0, error = %e, "write failed");
            break;
        }
    }
    let _ = socket.shutdown().await;
    // The reader sends Closed once it sees this (or the peer's EOF).
    ctl.send_modify(|c| c.stop = true);
}

/// Write all of `chunks` with as few vectored writes as the socket allows; empties `chunks`.
async fn write_chunks(socket: &mut OwnedWriteHalf, chunks: &mut Vec<Bytes>) -> std::io::Result<()> {
    let mut first = 0;
    while first < chunks.len() {
        if chunks[first].is_empty() {
            first += 1;
            continue;
        }
        let n = {
            let mut slices = [IoSlice::new(&[]); WRITE_BATCH_CHUNKS_MAX];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(&chunks[first..]) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            socket.write_vectored(&slices[..count]).await?
        };
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let mut left = n;
        while left > 0 {
            let len = chunks[first].len();
            if left >= len {
                left -= len;
                first += 1;
            } else {
                let rest = chunks[first].split_off(left);
                chunks[first] = rest;
                left = 0;
            }
        }
    }
    chunks.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn next(rx: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
        tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("event in time").expect("open")
    }

    /// Proves a connection yields Accepted, data, honours pause/resume, flushes sends before Close,
    /// and reports Closed exactly once after the core closes it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connection_lifecycle() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let acceptor = tokio::spawn(accept_loop(listener, tx));
        let mut client = TcpStream::connect(addr).await.unwrap();

        let NetEvent::Accepted { conn, handle, .. } = next(&mut rx).await else { panic!("accepted first") };
        client.write_all(b"hello").await.unwrap();
        let mut got = Vec::new();
        while got.len() < 5 {
            match next(&mut rx).await {
                NetEvent::Received { conn: c, data } => {
                    assert_eq!(c, conn);
                    got.extend_from_slice(&data);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, b"hello");

        handle.set_paused(true);
        tokio::time::sleep(Duration::from_millis(50)).await; // let the reader see the pause
        client.write_all(b"later").await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(200), rx.recv()).await.is_err(), "paused: no data");
        handle.set_paused(false);
        let NetEvent::Received { data, .. } = next(&mut rx).await else { panic!("data after resume") };
        assert_eq!(&data[..], b"later");

        handle.send(Bytes::from_static(b"one "));
        handle.send(Bytes::from_static(b"two"));
        handle.close();
        let mut reply = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut reply)).await.unwrap().unwrap();
        assert_eq!(reply, b"one two", "queued sends flushed before close");
        assert!(matches!(next(&mut rx).await, NetEvent::Closed { conn: c } if c == conn));
        drop(client);
        assert!(tokio::time::timeout(Duration::from_millis(200), rx.recv()).await.is_err(), "Closed only once");
        acceptor.abort();
    }

    /// Proves a peer hang-up yields Closed.
    #[tokio::test]
    async fn peer_close_reports_closed() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let acceptor = tokio::spawn(accept_loop(listener, tx));
        let client = TcpStream::connect(addr).await.unwrap();
        let NetEvent::Accepted { conn, handle: _handle, .. } = next(&mut rx).await else { panic!() };
        drop(client);
        assert!(matches!(next(&mut rx).await, NetEvent::Closed { conn: c } if c == conn));
        acceptor.abort();
    }
}
