//! What flows between the core and a driver.
//!
//! Disk paths are relative to the broker's data directory and use `/` as the
//! separator. Ordering contract the driver must honour: operations on one
//! [`FileId`] run in the order they were issued, except that a `Write` may run
//! (and complete) while a `Sync` of that file issued before it is still running;
//! a `Sync` makes durable every `Write` to that file issued before it (and may or
//! may not cover one issued after it, which the core never counts on). So a
//! write's completion may reach the core before that of a sync issued before it;
//! the simulator's disk does this on purpose (`sim/src/node.rs`, `disk_loop`).
//! Path operations (`Rename`, `Remove`, `ListDir`, `Open`) have no ordering
//! against other files, so the core waits for a completion whenever order matters.

use bytes::Bytes;

use crate::cluster::events::ClusterEvent;
use crate::types::{ConnId, FileId, IoId, Millis, NodeId};

/// An event handed to the core.
#[derive(Debug)]
pub enum Input {
    /// A client connection was accepted.
    Accepted { conn: ConnId, peer: String },
    /// Bytes arrived on a connection (any chunking of the stream).
    Received { conn: ConnId, data: Bytes },
    /// The peer closed the connection, or the driver closed it after an error.
    Closed { conn: ConnId },
    /// A disk operation finished.
    DiskDone { id: IoId, result: DiskResult },
    /// A message from another node of the cluster (cluster mode only). Messages may
    /// be lost, duplicated or reordered; each `data` is one whole message as the peer's
    /// core produced it in `Output::PeerSend`.
    PeerReceived { from: NodeId, data: Bytes },
    /// Time passed (the driver woke the core at or after `poll_timeout`).
    Tick,
    /// Stop serving: finish in-flight work, sync everything, then report
    /// [`Output::ShutdownComplete`].
    Shutdown,
}

/// An effect the core asks the driver to carry out.
#[derive(Debug)]
pub enum Output {
    /// Write bytes to a connection, in order.
    Send { conn: ConnId, data: Bytes },
    /// Close a connection (after sending what was queued before it).
    Close { conn: ConnId },
    /// Stop reading from a connection until `ResumeReading` (back-pressure).
    PauseReading { conn: ConnId },
    /// Read from a connection again.
    ResumeReading { conn: ConnId },
    /// Send one message to another node of the cluster (cluster mode only). Fire and
    /// forget: the driver may drop it (peer unreachable, queue full); the core retries
    /// what matters. Deliver it whole, as one `Input::PeerReceived` on `to`.
    PeerSend { to: NodeId, data: Bytes },
    /// Something worth observing happened in the metadata layer (for logs, traces and the
    /// simulator's checkers). Drivers may ignore it.
    Event(ClusterEvent),
    /// Start a disk operation; its completion comes back as `Input::DiskDone`.
    Disk(DiskRequest),
    /// The broker is ready to serve clients (recovery finished).
    Ready,
    /// Shutdown finished: everything is synced, the driver may exit.
    ShutdownComplete,
}

#[derive(Debug)]
pub struct DiskRequest {
    pub id: IoId,
    pub op: DiskOp,
}

#[derive(Debug, Clone)]
pub enum DiskOp {
    /// Open (and with `create`, create, along with missing parent directories) a
    /// file for reading and writing. Completes with `DiskResult::Opened`.
    Open { file: FileId, path: String, create: bool },
    /// Write `data` at byte position `pos`.
    Write { file: FileId, pos: u64, data: Bytes },
    /// fsync the file (data and metadata).
    Sync { file: FileId },
    /// Read up to `len` bytes from `pos`; fewer at end of file.
    Read { file: FileId, pos: u64, len: u32 },
    /// Set the file's length.
    Truncate { file: FileId, len: u64 },
    /// Release the handle.
    Close { file: FileId },
    /// Atomically rename `from` over `to`, then sync the parent directory.
    Rename { from: String, to: String },
    /// Remove a file, or a directory and everything in it. Missing is not an error.
    Remove { path: String },
    /// List a directory. Missing directory lists as empty.
    ListDir { path: String },
    /// Create a directory and its parents, then sync the parent directory.
    CreateDir { path: String },
    /// Replace a small file atomically and durably: write `path.tmp`, fsync it,
    /// rename it over `path`, fsync the directory. For checkpoints and metadata.
    ReplaceFile { path: String, data: Bytes },
    /// Read a whole small file. Completes with `DiskResult::Read`, or `Failed` if missing.
    ReadFile { path: String },
}

#[derive(Debug, Clone)]
pub enum DiskResult {
    /// Done, nothing to report (Write, Sync, Truncate, Close, Rename, Remove, CreateDir).
    Done,
    /// The file is open; its current length.
    Opened { len: u64 },
    /// The bytes read (shorter than asked at end of file).
    Read(Bytes),
    /// Directory entries, sorted by name.
    Listing(Vec<DirEntry>),
    /// The operation failed; the message says why.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
    pub len: u64,
}

/// Wall-clock helper for drivers: the core's notion of "now".
pub type Now = Millis;
