//! An in-memory disk for the core's tests (the log's and the broker's):
//! executes `DiskOp`s against a map of files, keeping per file the bytes a crash
//! cannot take (synced) and the bytes reads see (written). A simulated crash
//! keeps the synced bytes plus a chosen prefix of the unsynced ones.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::io::{DirEntry, DiskOp, DiskResult};
use crate::types::{FileId, IoId, Millis};

use crate::log::{DiskQueue, IoScope, LogEvent, PartitionLog};

#[derive(Debug, Clone, Default)]
pub(crate) struct FileState {
    pub synced: Vec<u8>,
    pub written: Vec<u8>,
}

#[derive(Debug, Default)]
pub(crate) struct TestDisk {
    pub files: BTreeMap<String, FileState>,
    handles: BTreeMap<FileId, String>,
    /// Make every Sync fail.
    pub fail_syncs: bool,
    /// Make every Write fail.
    pub fail_writes: bool,
    /// Make every Read fail.
    pub fail_reads: bool,
    /// Every op executed, for assertions.
    pub log: Vec<String>,
}

impl TestDisk {
    pub fn exec(&mut self, op: DiskOp) -> DiskResult {
        self.log.push(format!("{op:?}").chars().take(120).collect());
        match op {
            DiskOp::Open { file, path, create } => {
                if !self.files.contains_key(&path) {
                    if !create {
                        return DiskResult::Failed(format!("{path}: not found"));
                    }
                    self.files.insert(path.clone(), FileState::default());
                }
                let len = self.files[&path].written.len() as u64;
                self.handles.insert(file, path);
                DiskResult::Opened { len }
            }
            DiskOp::Write { .. } if self.fail_writes => DiskResult::Failed("injected write error".into()),
            DiskOp::Read { .. } if self.fail_reads => DiskResult::Failed("injected read error".into()),
            DiskOp::Write { file, pos, data } => {
                let Some(f) = self.file_mut(file) else { return DiskResult::Done };
                let end = pos as usize + data.len();
                if f.written.len() < end {
                    f.written.resize(end, 0);
                }
                f.written[pos as usize..end].copy_from_slice(&data);
                DiskResult::Done
            }
            DiskOp::Sync { file } => {
                if self.fail_syncs {
                    return DiskResult::Failed("injected fsync failure".into());
                }
                if let Some(f) = self.file_mut(file) {
                    f.synced = f.written.clone();
                }
                DiskResult::Done
            }
            DiskOp::Read { file, pos, len } => {
                let Some(f) = self.file_mut(file) else { return DiskResult::Failed("read of a removed file".into()) };
                let start = (pos as usize).min(f.written.len());
                let end = (start + len as usize).min(f.written.len());
                DiskResult::Read(Bytes::copy_from_slice(&f.written[start..end]))
            }
            DiskOp::Truncate { file, len } => {
                if let Some(f) = self.file_mut(file) {
                    f.written.resize(len as usize, 0);
                }
                DiskResult::Done
            }
            DiskOp::Close { file } => {
                self.handles.remove(&file);
                DiskResult::Done
            }
            DiskOp::Rename { from, to } => match self.files.remove(&from) {
                Some(f) => {
                    self.files.insert(to, f);
                    DiskResult::Done
                }
                None => DiskResult::Failed(format!("{from}: not found")),
            },
            DiskOp::Remove { path } => {
                let prefix = format!("{path}/");
                self.files.retain(|p, _| p != &path && !p.starts_with(&prefix));
                DiskResult::Done
            }
            DiskOp::ListDir { path } => {
                // Files directly in `path`, and directories implied by deeper paths.
                let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
                let mut entries: BTreeMap<String, DirEntry> = BTreeMap::new();
                for (p, f) in &self.files {
                    let Some(rest) = p.strip_prefix(&prefix) else { continue };
                    let entry = match rest.split_once('/') {
                        Some((dir, _)) => DirEntry { name: dir.to_string(), is_dir: true, len: 0 },
                        None => DirEntry { name: rest.to_string(), is_dir: false, len: f.written.len() as u64 },
                    };
                    entries.insert(entry.name.clone(), entry);
                }
                DiskResult::Listing(entries.into_values().collect())
            }
            DiskOp::CreateDir { .. } => DiskResult::Done,
            DiskOp::ReplaceFile { path, data } => {
                self.files.insert(path, FileState { synced: data.to_vec(), written: data.to_vec() });
                DiskResult::Done
            }
            DiskOp::ReadFile { path } => match self.files.get(&path) {
                Some(f) => DiskResult::Read(Bytes::copy_from_slice(&f.written)),
                None => DiskResult::Failed(format!("{path}: not found")),
            },
        }
    }

    fn file_mut(&mut self, file: FileId) -> Option<&mut FileState> {
        let path = self.handles.get(&file)?;
        self.files.get_mut(path)
    }

    /// Execute and deliver every queued request (and the ones that follow) in order.
    pub fn run(&mut self, q: &mut DiskQueue, log: &mut PartitionLog, now: Millis) -> Vec<LogEvent> {
        let mut events = Vec::new();
        while let Some(ev) = self.step(q, log, now) {
            events.extend(ev);
        }
        events
    }

    /// Execute and deliver the oldest queued request; `None` when none is left.
    pub fn step(&mut self, q: &mut DiskQueue, log: &mut PartitionLog, now: Millis) -> Option<Vec<LogEvent>> {
        let req = q.pending.pop_front()?;
        let result = self.exec(req.op);
        Some(deliver(q, log, req.id, result, now))
    }

    /// Power loss: every file keeps its synced bytes plus `keep(path, unsynced)`
    /// bytes of what was written after them; handles are gone.
    pub fn crash(&mut self, keep: impl Fn(&str, usize) -> usize) {
        self.handles.clear();
        for (path, f) in self.files.iter_mut() {
            let synced_prefix = f.written.len() >= f.synced.len() && f.written[..f.synced.len()] == f.synced[..];
            let mut now = f.synced.clone();
            if synced_prefix {
                let extra = &f.written[f.synced.len()..];
                let n = keep(path, extra.len()).min(extra.len());
                now.extend_from_slice(&extra[..n]);
            }
            f.written = now.clone();
            f.synced = now;
        }
    }

    /// Flip a byte of a file (latent corruption), in both views.
    pub fn corrupt(&mut self, path: &str, pos: usize) {
        let f = self.files.get_mut(path).expect("file exists");
        f.written[pos] ^= 0xff;
        if pos < f.synced.len() {
            f.synced[pos] ^= 0xff;
        }
    }

    pub fn len(&self, path: &str) -> usize {
        self.files.get(path).map_or(0, |f| f.written.len())
    }
}

pub(crate) fn deliver(q: &mut DiskQueue, log: &mut PartitionLog, id: IoId, result: DiskResult, now: Millis) -> Vec<LogEvent> {
    assert_eq!(q.complete(id), Some(1), "completion routed to the log");
    let mut io = IoScope { queue: q, owner: 1 };
    log.on_disk_done(id, result, now, &mut io)
}
