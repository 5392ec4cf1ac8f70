//! The metadata quorum's Raft log file: where [`RaftNode`]'s writes become durable.
//!
//! # Format
//!
//! `__meta/raft/log-<generation>` (20 digits) is a sequence of records
//! `len u32 LE | crc32c u32 LE | payload`, each payload one [`RaftWrite`] (postcard).
//! Replaying the records in order rebuilds the node's storage
//! ([`RaftNode::recover`]). A torn or corrupt tail is cut at the last whole record: a
//! write is only reported persisted after the sync that followed it, and reports go
//! strictly in order, so nothing after a bad record was ever reported.
//!
//! # Rewriting
//!
//! The file grows with every write; snapshots compact raft's log but not the file. Once
//! the file is larger than [`REWRITE_BYTES_MIN`] and twice its size after the last
//! rewrite, and no write is in flight, the whole storage ([`RaftNode::full_write`]) is
//! written as the single record of the next generation's file and synced; only then is
//! the old file removed. Writes that arrive meanwhile wait and go to the new file. On
//! start the newest generation whose first record reads is used; older ones are removed.
//!
//! # Failures
//!
//! A failed write or sync is retried (the same bytes at the same position, then a sync)
//! on the next tick, and no later write is reported persisted before it succeeds. Raft
//! stalls on this node meanwhile; it does not lose an acknowledged vote or entry.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use crate::cluster::raft::{PersistId, RaftWrite};
use crate::io::{DiskOp, DiskResult};
use crate::log::IoScope;
use crate::types::{FileId, IoId};

pub const RAFT_DIR: &str = "__meta/raft";
/// Never rewrite a file smaller than this.
pub const REWRITE_BYTES_MIN: u64 = 1 << 20;
/// Largest record accepted on recovery (a snapshot of a very large cluster fits).
pub const RECORD_BYTES_MAX: usize = 256 << 20;
const HEADER_BYTES: usize = 8;

pub fn file_name(generation: u64) -> String {
    format!("log-{generation:020}")
}

fn path(generation: u64) -> String {
    format!("{RAFT_DIR}/{}", file_name(generation))
}

fn parse_generation(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("log-")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Frames one write as a record.
pub fn encode_record(write: &RaftWrite) -> Bytes {
    let payload = write.to_bytes();
    let mut b = BytesMut::with_capacity(HEADER_BYTES + payload.len());
    b.put_u32_le(payload.len() as u32);
    b.put_u32_le(crc32c::crc32c(&payload));
    b.put_slice(&payload);
    b.freeze()
}

/// The whole records at the start of `bytes` and the length they cover. Stops at the
/// first short, oversized, corrupt or unreadable record.
pub fn decode_records(bytes: &[u8]) -> (Vec<RaftWrite>, u64) {
    let mut writes = Vec::new();
    let mut pos = 0usize;
    while bytes.len() - pos >= HEADER_BYTES {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let start = pos + HEADER_BYTES;
        if len > RECORD_BYTES_MAX || bytes.len() - start < len {
            break;
        }
        let payload = &bytes[start..start + len];
        if crc32c::crc32c(payload) != crc {
            break;
        }
        let Ok(w) = RaftWrite::from_bytes(payload) else { break };
        writes.push(w);
        pos = start + len;
    }
    (writes, pos as u64)
}

/// What the broker learns from a completion.
#[derive(Debug)]
pub enum RaftLogEvent {
    /// Recovery finished: the durable writes in order (empty for a new node).
    Recovered(Vec<RaftWrite>),
    /// Writes up to and including this one are durable.
    Persisted(PersistId),
}

#[derive(Debug)]
enum Phase {
    Listing { io: IoId },
    Reading { io: IoId, generation: u64, older: Vec<u64> },
    Opening { io: IoId, writes: Vec<RaftWrite>, truncate_to: Option<u64> },
    Ready,
}

#[derive(Debug)]
struct Inflight {
    id: Option<PersistId>,
    pos: u64,
    data: Bytes,
    write: IoId,
    sync: IoId,
    write_ok: bool,
    synced: bool,
    failed: bool,
}

#[derive(Debug)]
struct Rewrite {
    generation: u64,
    file: FileId,
    len: u64,
    open: IoId,
    write: IoId,
    sync: IoId,
    failed: bool,
}

#[derive(Debug)]
pub struct RaftLog {
    phase: Phase,
    generation: u64,
    file: FileId,
    len: u64,
    /// Size right after the last rewrite (or recovery).
    base_len: u64,
    inflight: VecDeque<Inflight>,
    /// Persists that arrived during a rewrite.
    deferred: VecDeque<(PersistId, RaftWrite)>,
    rewrite: Option<Rewrite>,
    /// Generations to remove once recovery settled.
    to_remove: Vec<u64>,
}

impl RaftLog {
    /// Starts recovery: lists the directory.
    pub fn start(io: &mut IoScope) -> RaftLog {
        let listing = io.submit(DiskOp::ListDir { path: RAFT_DIR.into() });
        RaftLog {
            phase: Phase::Listing { io: listing },
            generation: 0,
            file: FileId(0),
            len: 0,
            base_len: 0,
            inflight: VecDeque::new(),
            deferred: VecDeque::new(),
            rewrite: None,
            to_remove: Vec::new(),
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready)
    }

    /// Appends a write and syncs it; [`RaftLogEvent::Persisted`] follows.
    pub fn persist(&mut self, id: PersistId, write: &RaftWrite, io: &mut IoScope) {
        assert!(self.is_ready(), "persist before the raft log recovered");
        if self.rewrite.is_some() {
            self.deferred.push_back((id, write.clone()));
            return;
        }
        self.append(Some(id), encode_record(write), io);
    }

    fn append(&mut self, id: Option<PersistId>, data: Bytes, io: &mut IoScope) {
        let pos = self.len;
        self.len += data.len() as u64;
        let write = io.submit(DiskOp::Write { file: self.file, pos, data: data.clone() });
        let sync = io.submit(DiskOp::Sync { file: self.file });
        self.inflight.push_back(Inflight { id, pos, data, write, sync, write_ok: false, synced: false, failed: false });
    }

    /// Whether a rewrite is due and possible now.
    pub fn wants_rewrite(&self) -> bool {
        self.is_ready()
            && self.rewrite.is_none()
            && self.inflight.is_empty()
            && self.deferred.is_empty()
            && self.len > REWRITE_BYTES_MIN.max(2 * self.base_len)
    }

    /// Starts writing `full` (the whole storage) as the next generation.
    pub fn begin_rewrite(&mut self, full: &RaftWrite, io: &mut IoScope) {
        assert!(self.wants_rewrite());
        let generation = self.generation + 1;
        let file = io.new_file_id();
        let data = encode_record(full);
        let len = data.len() as u64;
        let open = io.submit(DiskOp::Open { file, path: path(generation), create: true });
        let write = io.submit(DiskOp::Write { file, pos: 0, data });
        let sync = io.submit(DiskOp::Sync { file });
        tracing::info!(generation, bytes = len, old_bytes = self.len, "rewriting the raft log");
        self.rewrite = Some(Rewrite { generation, file, len, open, write, sync, failed: false });
    }

    /// Retries failed writes (called on the broker's tick).
    pub fn retry_failed(&mut self, io: &mut IoScope) {
        let file = self.file;
        for f in self.inflight.iter_mut().filter(|f| f.failed) {
            tracing::warn!(pos = f.pos, bytes = f.data.len(), "retrying a failed raft log write");
            f.failed = false;
            f.write_ok = false;
            f.synced = false;
            f.write = io.submit(DiskOp::Write { file, pos: f.pos, data: f.data.clone() });
            f.sync = io.submit(DiskOp::Sync { file });
        }
        if self.rewrite.as_ref().is_some_and(|r| r.failed) {
            // Abandon the new generation; the old file is intact. Try again later.
            let r = self.rewrite.take().expect("checked");
            io.submit(DiskOp::Close { file: r.file });
            io.submit(DiskOp::Remove { path: path(r.generation) });
            self.base_len = self.len;
            let deferred = std::mem::take(&mut self.deferred);
            for (id, w) in deferred {
                self.append(Some(id), encode_record(&w), io);
            }
        }
    }

    /// Routes a completion; returns what the broker must act on.
    pub fn on_disk_done(&mut self, id: IoId, result: DiskResult, io: &mut IoScope) -> Vec<RaftLogEvent> {
        let mut events = Vec::new();
        match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Listing { io: l } if l == id => {
                let mut generations: Vec<u64> = match result {
                    DiskResult::Listing(entries) => {
                        entries.iter().filter(|e| !e.is_dir).filter_map(|e| parse_generation(&e.name)).collect()
                    }
                    DiskResult::Failed(why) => panic!("cannot list {RAFT_DIR}: {why}"),
                    other => panic!("unexpected listing result {other:?}"),
                };
                generations.sort_unstable();
                match generations.pop() {
                    None => {
                        self.generation = 1;
                        self.file = io.new_file_id();
                        let open = io.submit(DiskOp::Open { file: self.file, path: path(1), create: true });
                        self.phase = Phase::Opening { io: open, writes: Vec::new(), truncate_to: None };
                    }
                    Some(generation) => {
                        let read = io.submit(DiskOp::ReadFile { path: path(generation) });
                        self.phase = Phase::Reading { io: read, generation, older: generations };
                    }
                }
            }
            Phase::Reading { io: r, generation, mut older } if r == id => {
                let bytes = match result {
                    DiskResult::Read(b) => b,
                    DiskResult::Failed(why) => panic!("cannot read the raft log {}: {why}", path(generation)),
                    other => panic!("unexpected read result {other:?}"),
                };
                let (writes, valid) = decode_records(&bytes);
                if writes.is_empty() && !older.is_empty() {
                    // An interrupted rewrite: the previous generation is the log.
                    tracing::warn!(generation, "raft log generation without a whole record (interrupted rewrite); using the previous one");
                    self.to_remove.push(generation);
                    let prev = older.pop().expect("checked");
                    let read = io.submit(DiskOp::ReadFile { path: path(prev) });
                    self.phase = Phase::Reading { io: read, generation: prev, older };
                } else {
                    if valid < bytes.len() as u64 {
                        tracing::warn!(generation, valid, len = bytes.len(), "cutting a torn or corrupt raft log tail");
                    }
                    self.generation = generation;
                    self.to_remove.extend(older);
                    self.file = io.new_file_id();
                    self.len = valid;
                    self.base_len = valid;
                    let open = io.submit(DiskOp::Open { file: self.file, path: path(generation), create: false });
                    let truncate_to = (valid < bytes.len() as u64).then_some(valid);
                    self.phase = Phase::Opening { io: open, writes, truncate_to };
                }
            }
            Phase::Opening { io: o, writes, truncate_to } if o == id => {
                match result {
                    DiskResult::Opened { .. } => {}
                    DiskResult::Failed(why) => panic!("cannot open the raft log {}: {why}", path(self.generation)),
                    other => panic!("unexpected open result {other:?}"),
                }
                if let Some(len) = truncate_to {
                    io.submit(DiskOp::Truncate { file: self.file, len });
                    io.submit(DiskOp::Sync { file: self.file });
                }
                for g in std::mem::take(&mut self.to_remove) {
                    io.submit(DiskOp::Remove { path: path(g) });
                }
                events.push(RaftLogEvent::Recovered(writes));
            }
            Phase::Ready => self.on_ready_done(id, result, io, &mut events),
            other => {
                // A completion of something else while recovering (truncate, removals).
                self.phase = other;
                if let DiskResult::Failed(why) = result {
                    tracing::warn!(io = id.0, %why, "raft log housekeeping failed");
                }
            }
        }
        events
    }

    fn on_ready_done(&mut self, id: IoId, result: DiskResult, io: &mut IoScope, events: &mut Vec<RaftLogEvent>) {
        let failed = matches!(result, DiskResult::Failed(_));
        if let DiskResult::Failed(why) = &result {
            tracing::error!(io = id.0, %why, "raft log operation failed");
        }
        if let Some(f) = self.inflight.iter_mut().find(|f| f.write == id || f.sync == id) {
            if failed {
                f.failed = true;
            } else if f.write == id {
                f.write_ok = true;
            } else if f.write_ok {
                f.synced = true;
            } else {
                // Synced before its write was known good: not durable; the retry redoes both.
                f.failed = true;
            }
        } else if let Some(r) = self.rewrite.as_mut().filter(|r| [r.open, r.write, r.sync].contains(&id)) {
            if failed {
                r.failed = true;
            } else if id == r.sync && !r.failed {
                let r = self.rewrite.take().expect("checked");
                io.submit(DiskOp::Close { file: self.file });
                io.submit(DiskOp::Remove { path: path(self.generation) });
                self.generation = r.generation;
                self.file = r.file;
                self.len = r.len;
                self.base_len = r.len;
                let deferred = std::mem::take(&mut self.deferred);
                for (id, w) in deferred {
                    self.append(Some(id), encode_record(&w), io);
                }
            }
        }
        while self.inflight.front().is_some_and(|f| f.synced) {
            let f = self.inflight.pop_front().expect("checked");
            if let Some(id) = f.id {
                events.push(RaftLogEvent::Persisted(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(n: u8) -> RaftWrite {
        RaftWrite { snapshot: None, discard_log: false, entries: vec![vec![n; n as usize]], hard_state: Some(vec![n]) }
    }

    /// Records round-trip, and a torn or corrupt tail is cut at the last whole record.
    #[test]
    fn records_decode_up_to_a_torn_tail() {
        let mut file = Vec::new();
        for n in 1..=3 {
            file.extend_from_slice(&encode_record(&write(n)));
        }
        let whole = file.len() as u64;
        let (ws, len) = decode_records(&file);
        assert_eq!(ws, vec![write(1), write(2), write(3)]);
        assert_eq!(len, whole);
        let (ws, len) = decode_records(&file[..file.len() - 1]);
        assert_eq!(ws.len(), 2);
        assert!(len < whole);
        let mut corrupt = file.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        assert_eq!(decode_records(&corrupt).0.len(), 2);
        // A length field claiming more than the limit is not trusted.
        let mut huge = encode_record(&write(1)).to_vec();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_records(&huge), (vec![], 0));
    }

    #[test]
    fn generation_names() {
        assert_eq!(parse_generation(&file_name(42)), Some(42));
        assert_eq!(parse_generation("log-42"), None);
        assert_eq!(parse_generation("log-0000000000000000004x"), None);
    }
}
