//! A tiny in-memory disk for the broker: a map of paths to bytes and of open file
//! ids to paths. Every operation succeeds (this fuzzes the wire, not the disk) and
//! runs in the order the driver hands it over, which honours `io.rs`'s ordering
//! contract. Sync is a no-op: nothing here crashes.

use std::collections::BTreeMap;

use bytes::Bytes;
use chronik_core::io::{DirEntry, DiskOp, DiskResult};
use chronik_core::types::FileId;

/// Refuse to grow past this (a runaway writer is a finding, not an OOM of the fuzzer).
pub const DISK_BYTES_MAX: usize = 512 << 20;

#[derive(Default)]
pub struct MemDisk {
    files: BTreeMap<String, Vec<u8>>,
    handles: BTreeMap<FileId, String>,
}

impl MemDisk {
    pub fn bytes(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }

    pub fn exec(&mut self, op: DiskOp) -> DiskResult {
        match op {
            DiskOp::Open { file, path, create } => {
                if !self.files.contains_key(&path) {
                    if !create {
                        return DiskResult::Failed(format!("{path}: not found"));
                    }
                    self.files.insert(path.clone(), Vec::new());
                }
                let len = self.files[&path].len() as u64;
                self.handles.insert(file, path);
                DiskResult::Opened { len }
            }
            DiskOp::Write { file, pos, data } => {
                // As the core's own test disk: a write to a removed file vanishes.
                let Some(f) = self.file_mut(file) else { return DiskResult::Done };
                let end = pos as usize + data.len();
                assert!(end <= DISK_BYTES_MAX, "broker wrote past {DISK_BYTES_MAX} bytes at {pos}");
                if f.len() < end {
                    f.resize(end, 0);
                }
                f[pos as usize..end].copy_from_slice(&data);
                DiskResult::Done
            }
            DiskOp::Sync { .. } => DiskResult::Done,
            DiskOp::Read { file, pos, len } => {
                let Some(f) = self.file_mut(file) else { return DiskResult::Failed("read of a closed or removed file".into()) };
                let start = (pos as usize).min(f.len());
                let end = start.saturating_add(len as usize).min(f.len());
                DiskResult::Read(Bytes::copy_from_slice(&f[start..end]))
            }
            DiskOp::Truncate { file, len } => {
                assert!(len as usize <= DISK_BYTES_MAX, "broker truncated a file to {len} bytes");
                if let Some(f) = self.file_mut(file) {
                    f.resize(len as usize, 0);
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
                let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
                let mut entries: BTreeMap<String, DirEntry> = BTreeMap::new();
                for (p, f) in &self.files {
                    let Some(rest) = p.strip_prefix(&prefix) else { continue };
                    let entry = match rest.split_once('/') {
                        Some((dir, _)) => DirEntry { name: dir.to_string(), is_dir: true, len: 0 },
                        None => DirEntry { name: rest.to_string(), is_dir: false, len: f.len() as u64 },
                    };
                    entries.insert(entry.name.clone(), entry);
                }
                DiskResult::Listing(entries.into_values().collect())
            }
            DiskOp::CreateDir { .. } => DiskResult::Done,
            DiskOp::ReplaceFile { path, data } => {
                self.files.insert(path, data.to_vec());
                DiskResult::Done
            }
            DiskOp::ReadFile { path } => match self.files.get(&path) {
                Some(f) => DiskResult::Read(Bytes::copy_from_slice(f)),
                None => DiskResult::Failed(format!("{path}: not found")),
            },
        }
    }

    fn file_mut(&mut self, file: FileId) -> Option<&mut Vec<u8>> {
        let path = self.handles.get(&file)?;
        self.files.get_mut(path)
    }
}
