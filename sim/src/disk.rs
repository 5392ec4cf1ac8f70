//! The simulated disk.
//!
//! madsim's own file system ignores sync and power loss, so this one is ours. Per
//! file it keeps what the process sees and what survives a crash.
//!
//! # Model
//!
//! * A file is an inode with `data` (what the process sees: the page cache),
//!   `durable` (what is on the medium and survives power loss) and `pending`, the
//!   ordered writes and truncates issued since the last successful `Sync`.
//!   Invariant: replaying `pending` onto `durable` gives `data`.
//! * Names map to inodes, so a handle follows its file across `Rename`, and a file
//!   removed while open stays readable and writable through the handle (until the
//!   handle is closed or the power goes).
//! * `Sync` makes `durable = data` and clears `pending`. A failed sync (injected)
//!   changes nothing: its writes stay pending, a later sync may still persist them,
//!   a crash may lose them.
//! * Namespace operations (`Open` with create, `Rename`, `Remove`, `CreateDir`,
//!   `ReplaceFile`) are durable when they complete: the driver syncs the directory
//!   (and, for `Open` with create, a crash keeps the file; see below).
//! * [`SimDisk::crash`] (power loss): each file becomes its durable contents plus a
//!   random prefix of its pending modifications. If the last kept modification is a
//!   write, it may be torn: only its first whole 512-byte sectors (sector
//!   boundaries are absolute file positions, multiples of 512) land, possibly none.
//!   All handles are dropped; files that were removed but still open vanish.
//!
//!   Choice: a file created by `Open { create: true }` and never synced is *kept*
//!   after a crash (its directory entry is treated as durable on creation), with
//!   whatever length the prefix model gives it (often 0). The core must therefore
//!   cope with empty or short files it never synced, which is the harsher case.
//! * Faults draw from a seeded ChaCha8 stream; latencies draw from a second,
//!   independent stream of the same seed, so asking for latencies never changes
//!   which operations fail. Nothing depends on hash order (everything is a
//!   `BTreeMap`).
//!
//! # Paths
//!
//! Relative to the data directory, `/`-separated; empty components and `.` are
//! ignored, `..` is refused. The empty path is the data directory itself (always a
//! directory; `Remove` refuses it, like the production driver). Directories are the
//! explicit ones (`CreateDir`, parents created by `Open`/`ReplaceFile`) plus those
//! implied by file paths. Semantics follow `runtime-tokio` (POSIX): `Rename` needs
//! the target's parent to exist, replaces a file, may move a directory onto a
//! missing or empty directory; `ReplaceFile` creates missing parents.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use chronik_core::io::{DirEntry, DiskOp, DiskResult};
use chronik_core::types::FileId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Torn writes land in whole sectors of this size.
pub const SECTOR: u64 = 512;

/// Largest file the simulated disk will hold (EFBIG beyond), so a wild position
/// fails instead of exhausting memory.
pub const MAX_FILE_LEN: u64 = 1 << 32;

/// Fault rates and latencies; all draws come from the disk's seeded generator.
#[derive(Debug, Clone, Default)]
pub struct DiskFaultConfig {
    /// Probability that one Write fails (nothing written).
    pub write_error_rate: f64,
    /// Probability that one Read fails.
    pub read_error_rate: f64,
    /// Probability that one Sync fails (its unsynced writes stay unsynced and may be lost).
    pub sync_error_rate: f64,
    /// Writes fail with "no space left" once the disk holds this many bytes (0 = unlimited).
    pub capacity_bytes: u64,
}

/// One modification since the last successful sync of a file.
#[derive(Debug, Clone)]
enum Mod {
    Write { pos: u64, data: Bytes },
    Truncate { len: u64 },
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Mod>,
    /// Whether a name refers to it (false: removed or replaced, alive only through handles).
    linked: bool,
}

fn apply_write(buf: &mut Vec<u8>, pos: u64, data: &[u8]) {
    if data.is_empty() {
        return; // pwrite of nothing does not extend the file
    }
    // Callers bound pos + len by MAX_FILE_LEN, so these fit in usize.
    let pos = pos as usize;
    let end = pos + data.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[pos..end].copy_from_slice(data);
}

fn apply(buf: &mut Vec<u8>, m: &Mod) {
    match m {
        Mod::Write { pos, data } => apply_write(buf, *pos, data),
        Mod::Truncate { len } => buf.resize(*len as usize, 0),
    }
}

/// `path` normalised: `/`-separated, no empty or `.` components. `..` is refused.
fn normalize(path: &str) -> Result<String, DiskResult> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(DiskResult::Failed(format!("path {path:?} escapes the data directory"))),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The proper ancestors of a normalised path, outermost first (not the root).
fn ancestors(path: &str) -> Vec<&str> {
    path.match_indices('/').map(|(i, _)| &path[..i]).collect()
}

fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The prefix under which a directory's descendants are named.
fn dir_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    }
}

fn failed(msg: impl Into<String>) -> DiskResult {
    DiskResult::Failed(msg.into())
}

pub struct SimDisk {
    /// Fault draws and crash prefixes.
    rng: ChaCha8Rng,
    /// Latency draws (independent stream of the same seed).
    latency_rng: ChaCha8Rng,
    /// Whether writes overtake a running sync (a third stream: adding these draws
    /// changed neither the faults nor the latencies a seed gets).
    overtake_rng: ChaCha8Rng,
    /// Syncs that writes overtook, since the disk was made (crashes keep the count).
    syncs_overtaken: u64,
    faults: DiskFaultConfig,
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    /// File name → inode.
    names: BTreeMap<String, u64>,
    /// Explicit directories (never the root "").
    dirs: BTreeSet<String>,
    /// Open handles → inode.
    handles: BTreeMap<FileId, u64>,
}

impl SimDisk {
    /// An empty disk whose faults and latencies draw from `seed`.
    pub fn new(seed: u64) -> SimDisk {
        let rng = ChaCha8Rng::seed_from_u64(seed);
        let mut latency_rng = ChaCha8Rng::seed_from_u64(seed);
        latency_rng.set_stream(1);
        let mut overtake_rng = ChaCha8Rng::seed_from_u64(seed);
        overtake_rng.set_stream(2);
        SimDisk {
            rng,
            latency_rng,
            overtake_rng,
            syncs_overtaken: 0,
            faults: DiskFaultConfig::default(),
            inodes: BTreeMap::new(),
            next_inode: 1,
            names: BTreeMap::new(),
            dirs: BTreeSet::new(),
            handles: BTreeMap::new(),
        }
    }

    pub fn set_faults(&mut self, faults: DiskFaultConfig) {
        self.faults = faults;
    }

    /// Carry out one operation (no time passes here), honouring the contract in
    /// `chronik_core::io`.
    pub fn execute(&mut self, op: &DiskOp) -> DiskResult {
        match op {
            DiskOp::Open { file, path, create } => self.open(*file, path, *create),
            DiskOp::Write { file, pos, data } => self.write(*file, *pos, data),
            DiskOp::Sync { file } => self.sync(*file),
            DiskOp::Read { file, pos, len } => self.read(*file, *pos, *len),
            DiskOp::Truncate { file, len } => self.truncate(*file, *len),
            DiskOp::Close { file } => self.close(*file),
            DiskOp::Rename { from, to } => self.rename(from, to),
            DiskOp::Remove { path } => self.remove(path),
            DiskOp::ListDir { path } => self.list_dir(path),
            DiskOp::CreateDir { path } => self.create_dir(path),
            DiskOp::ReplaceFile { path, data } => self.replace_file(path, data),
            DiskOp::ReadFile { path } => self.read_file(path),
        }
        .unwrap_or_else(|e| e)
    }

    /// How long this operation takes (seeded; syncs take longer).
    ///
    /// Reads and writes: 20–200 µs plus 1 µs per KiB; syncs and `ReplaceFile`
    /// (which syncs): 0.5–5 ms; `Rename` and `CreateDir` (a directory sync):
    /// 50–500 µs; everything else: 2–20 µs.
    pub fn latency(&mut self, op: &DiskOp) -> Duration {
        let rng = &mut self.latency_rng;
        let micros = match op {
            DiskOp::Write { data, .. } => rng.gen_range(20..=200) + data.len() as u64 / 1024,
            DiskOp::Read { len, .. } => rng.gen_range(20..=200) + u64::from(*len) / 1024,
            DiskOp::Sync { .. } => rng.gen_range(500..=5_000),
            DiskOp::ReplaceFile { data, .. } => rng.gen_range(500..=5_000) + data.len() as u64 / 1024,
            DiskOp::Rename { .. } | DiskOp::CreateDir { .. } => rng.gen_range(50..=500),
            DiskOp::Open { .. }
            | DiskOp::Truncate { .. }
            | DiskOp::Close { .. }
            | DiskOp::Remove { .. }
            | DiskOp::ListDir { .. }
            | DiskOp::ReadFile { .. } => rng.gen_range(2..=20),
        };
        Duration::from_micros(micros)
    }

    /// Whether the writes to a file that were issued while its sync ran overtake that
    /// sync (half the time): the io contract in `chronik_core::io` lets such a write
    /// run and complete before the sync does, and the sync need not cover it. The
    /// production driver does exactly that with `acks=1` appends during a background
    /// sync; the node's disk task (`sim/src/node.rs`) makes the harsher version of it
    /// happen here.
    pub fn writes_overtake_sync(&mut self) -> bool {
        let overtake = self.overtake_rng.gen_bool(0.5);
        self.syncs_overtaken += u64::from(overtake);
        overtake
    }

    /// How many syncs writes overtook (see [`SimDisk::writes_overtake_sync`]).
    pub fn syncs_overtaken(&self) -> u64 {
        self.syncs_overtaken
    }

    /// Power loss: each file keeps its synced contents plus a random prefix of the
    /// writes since, the last kept write possibly torn at a 512-byte sector
    /// boundary; open handles are gone.
    pub fn crash(&mut self) {
        self.handles.clear();
        self.inodes.retain(|_, inode| inode.linked);
        // Draw per file in name order (deterministic).
        let order: Vec<u64> = self.names.values().copied().collect();
        for ino in order {
            let Some(inode) = self.inodes.get_mut(&ino) else {
                continue;
            };
            let pending = std::mem::take(&mut inode.pending);
            let mut kept = std::mem::take(&mut inode.durable);
            if !pending.is_empty() {
                let k = self.rng.gen_range(0..=pending.len());
                if k > 0 {
                    for m in &pending[..k - 1] {
                        apply(&mut kept, m);
                    }
                    match &pending[k - 1] {
                        Mod::Write { pos, data } => {
                            let landed = Self::torn_len(&mut self.rng, *pos, data.len() as u64);
                            apply_write(&mut kept, *pos, &data[..landed as usize]);
                        }
                        m => apply(&mut kept, m),
                    }
                }
            }
            inode.data = kept.clone();
            inode.durable = kept;
        }
    }

    /// How many bytes of a write at `pos` of `len` bytes land: all of it half the
    /// time, else a whole number of sectors (absolute 512-byte boundaries) short of
    /// the whole, possibly none.
    fn torn_len(rng: &mut ChaCha8Rng, pos: u64, len: u64) -> u64 {
        if len == 0 || rng.gen_bool(0.5) {
            return len;
        }
        let end = pos + len;
        // Boundaries strictly inside the write: candidate tear points.
        let first = (pos / SECTOR + 1) * SECTOR;
        let inside = if first < end { (end - 1 - first) / SECTOR + 1 } else { 0 };
        // Tear at `pos` (nothing lands) or at one of the inside boundaries.
        let choice = rng.gen_range(0..=inside);
        if choice == 0 {
            0
        } else {
            first + (choice - 1) * SECTOR - pos
        }
    }

    /// Latent corruption: damage one sector of synced data in a random `.log`
    /// file. Returns the file and position, or `None` if there is none.
    ///
    /// The position is the start of the damaged sector (a multiple of 512). One to
    /// eight bytes inside that sector (and inside the durable length) are flipped
    /// in the durable contents, and in what the process sees wherever that byte
    /// still comes from the medium (not overwritten by an unsynced write).
    pub fn corrupt_random_sector(&mut self) -> Option<(String, u64)> {
        let candidates: Vec<(&String, u64)> = self
            .names
            .iter()
            .filter(|(name, ino)| name.ends_with(".log") && self.inodes.get(ino).is_some_and(|i| !i.durable.is_empty()))
            .map(|(name, ino)| (name, *ino))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let (name, ino) = candidates[self.rng.gen_range(0..candidates.len())];
        let name = name.clone();
        let inode = self.inodes.get_mut(&ino)?;
        let durable_len = inode.durable.len() as u64;
        let sectors = durable_len.div_ceil(SECTOR);
        let start = self.rng.gen_range(0..sectors) * SECTOR;
        let end = (start + SECTOR).min(durable_len);
        let flips = self.rng.gen_range(1..=8u32);
        for _ in 0..flips {
            let at = self.rng.gen_range(start..end);
            let mask: u8 = self.rng.gen_range(1..=255);
            inode.durable[at as usize] ^= mask;
            if Self::from_medium(&inode.pending, at, durable_len) && (at as usize) < inode.data.len() {
                inode.data[at as usize] ^= mask;
            }
        }
        Some((name, start))
    }

    /// Whether byte `at` of the current data still is the durable byte (no pending
    /// write covers it, no pending truncate cut it off).
    fn from_medium(pending: &[Mod], at: u64, durable_len: u64) -> bool {
        let mut from = at < durable_len;
        for m in pending {
            match m {
                Mod::Write { pos, data } if *pos <= at && at < pos + data.len() as u64 => from = false,
                Mod::Truncate { len } if *len <= at => from = false,
                _ => {}
            }
        }
        from
    }

    /// Kill-and-wipe of a directory (the process must be down: call [`SimDisk::crash`]
    /// first): the directory `path` and everything under it are gone, durably.
    /// Returns how many files went.
    pub fn wipe_dir(&mut self, path: &str) -> usize {
        assert!(self.handles.is_empty(), "wipe_dir with open handles: crash the node first");
        let before = self.names.len();
        let _ = self.remove(path);
        before - self.names.len()
    }

    /// Current contents of a file as the process sees it (tests, checkers).
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        let path = normalize(path).ok()?;
        let ino = self.names.get(&path)?;
        self.inodes.get(ino).map(|i| i.data.as_slice())
    }

    /// What of a file would survive power loss for certain (tests, checkers).
    pub fn durable_contents(&self, path: &str) -> Option<&[u8]> {
        let path = normalize(path).ok()?;
        let ino = self.names.get(&path)?;
        self.inodes.get(ino).map(|i| i.durable.as_slice())
    }

    /// Length of a file's durable contents, `None` if there is no such file.
    pub fn durable_len(&self, path: &str) -> Option<u64> {
        self.durable_contents(path).map(|d| d.len() as u64)
    }

    /// Every file with its current length, sorted by path.
    pub fn files(&self) -> Vec<(String, u64)> {
        self.names.iter().filter_map(|(name, ino)| self.inodes.get(ino).map(|i| (name.clone(), i.data.len() as u64))).collect()
    }

    /// Number of open handles (tests).
    pub fn open_handles(&self) -> usize {
        self.handles.len()
    }

    /// Total bytes held (current data of every file, including removed-but-open ones).
    pub fn used_bytes(&self) -> u64 {
        self.inodes.values().map(|i| i.data.len() as u64).sum()
    }

    // --- faults ---

    fn chance(&mut self, rate: f64) -> bool {
        if rate.is_nan() || rate <= 0.0 {
            return false;
        }
        if rate >= 1.0 {
            return true;
        }
        self.rng.gen::<f64>() < rate
    }

    fn has_room(&self, grow_by: u64) -> bool {
        let cap = self.faults.capacity_bytes;
        cap == 0 || self.used_bytes().saturating_add(grow_by) <= cap
    }

    // --- namespace helpers ---

    fn is_file(&self, path: &str) -> bool {
        self.names.contains_key(path)
    }

    fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() || self.dirs.contains(path) {
            return true;
        }
        let prefix = dir_prefix(path);
        let under = |k: Option<&String>| k.is_some_and(|k| k.starts_with(&prefix));
        under(self.names.range(prefix.clone()..).next().map(|(k, _)| k)) || under(self.dirs.range(prefix.clone()..).next())
    }

    /// Whether the directory has anything in it.
    fn has_children(&self, path: &str) -> bool {
        let prefix = dir_prefix(path);
        self.names.range(prefix.clone()..).next().is_some_and(|(k, _)| k.starts_with(&prefix))
            || self.dirs.range(prefix.clone()..).next().is_some_and(|k| k.starts_with(&prefix))
    }

    /// Fails if a proper ancestor of `path` is a file.
    fn check_ancestors(&self, path: &str) -> Result<(), DiskResult> {
        match ancestors(path).into_iter().find(|a| self.is_file(a)) {
            Some(a) => Err(failed(format!("{a:?} is not a directory"))),
            None => Ok(()),
        }
    }

    fn create_parents(&mut self, path: &str) {
        for a in ancestors(path) {
            self.dirs.insert(a.to_string());
        }
    }

    /// Drop a name's inode if nothing refers to it any more.
    fn unlink(&mut self, ino: u64) {
        if let Some(inode) = self.inodes.get_mut(&ino) {
            inode.linked = false;
        }
        if !self.handles.values().any(|h| *h == ino) {
            self.inodes.remove(&ino);
        }
    }

    fn new_inode(&mut self, data: Vec<u8>) -> u64 {
        let ino = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(ino, Inode { durable: data.clone(), data, pending: Vec::new(), linked: true });
        ino
    }

    fn handle(&mut self, file: FileId) -> Result<&mut Inode, DiskResult> {
        let ino = self.handles.get(&file).ok_or_else(|| failed(format!("file {} is not open", file.0)))?;
        self.inodes.get_mut(ino).ok_or_else(|| failed(format!("file {} is not open", file.0)))
    }

    // --- operations ---

    fn open(&mut self, file: FileId, path: &str, create: bool) -> Result<DiskResult, DiskResult> {
        let path = normalize(path)?;
        if path.is_empty() || self.is_dir(&path) {
            return Err(failed(format!("{path:?} is a directory")));
        }
        let ino = match self.names.get(&path) {
            Some(ino) => *ino,
            None if create => {
                self.check_ancestors(&path)?;
                self.create_parents(&path);
                let ino = self.new_inode(Vec::new());
                self.names.insert(path, ino);
                ino
            }
            None => return Err(failed(format!("{path:?}: no such file"))),
        };
        // Re-opening a handle id rebinds it (as the production driver does).
        if let Some(old) = self.handles.insert(file, ino) {
            if old != ino && !self.inodes.get(&old).is_some_and(|i| i.linked) {
                self.unlink(old);
            }
        }
        let len = self.inodes.get(&ino).map_or(0, |i| i.data.len() as u64);
        Ok(DiskResult::Opened { len })
    }

    fn write(&mut self, file: FileId, pos: u64, data: &Bytes) -> Result<DiskResult, DiskResult> {
        let cur = self.handle(file)?.data.len() as u64;
        if self.chance(self.faults.write_error_rate) {
            return Err(failed("injected write error (EIO)"));
        }
        if data.is_empty() {
            return Ok(DiskResult::Done);
        }
        let end = match pos.checked_add(data.len() as u64) {
            Some(end) if end <= MAX_FILE_LEN => end,
            _ => return Err(failed("file too large (EFBIG)")),
        };
        if !self.has_room(end.saturating_sub(cur)) {
            return Err(failed("no space left on device"));
        }
        let inode = self.handle(file)?;
        apply_write(&mut inode.data, pos, data);
        inode.pending.push(Mod::Write { pos, data: data.clone() });
        Ok(DiskResult::Done)
    }

    fn sync(&mut self, file: FileId) -> Result<DiskResult, DiskResult> {
        self.handle(file)?;
        if self.chance(self.faults.sync_error_rate) {
            return Err(failed("injected fsync error (EIO)"));
        }
        let inode = self.handle(file)?;
        for m in std::mem::take(&mut inode.pending) {
            apply(&mut inode.durable, &m);
        }
        debug_assert_eq!(inode.durable, inode.data);
        Ok(DiskResult::Done)
    }

    fn read(&mut self, file: FileId, pos: u64, len: u32) -> Result<DiskResult, DiskResult> {
        self.handle(file)?;
        if self.chance(self.faults.read_error_rate) {
            return Err(failed("injected read error (EIO)"));
        }
        let data = &self.handle(file)?.data;
        let size = data.len() as u64;
        let start = pos.min(size);
        let end = pos.saturating_add(u64::from(len)).min(size);
        Ok(DiskResult::Read(Bytes::copy_from_slice(&data[start as usize..end as usize])))
    }

    fn truncate(&mut self, file: FileId, len: u64) -> Result<DiskResult, DiskResult> {
        if len > MAX_FILE_LEN {
            return Err(failed("file too large (EFBIG)"));
        }
        let inode = self.handle(file)?;
        inode.data.resize(len as usize, 0);
        inode.pending.push(Mod::Truncate { len });
        Ok(DiskResult::Done)
    }

    fn close(&mut self, file: FileId) -> Result<DiskResult, DiskResult> {
        let ino = self.handles.remove(&file).ok_or_else(|| failed(format!("file {} is not open", file.0)))?;
        if !self.inodes.get(&ino).is_some_and(|i| i.linked) {
            self.unlink(ino);
        }
        Ok(DiskResult::Done)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<DiskResult, DiskResult> {
        let from = normalize(from)?;
        let to = normalize(to)?;
        if from.is_empty() || to.is_empty() {
            return Err(failed("cannot rename the data directory"));
        }
        let from_is_file = self.is_file(&from);
        if !from_is_file && !self.is_dir(&from) {
            return Err(failed(format!("{from:?}: no such file or directory")));
        }
        if from == to {
            return Ok(DiskResult::Done);
        }
        if !self.is_dir(parent(&to)) {
            return Err(failed(format!("{to:?}: no such directory")));
        }
        if from_is_file {
            if self.is_dir(&to) {
                return Err(failed(format!("{to:?} is a directory")));
            }
            let ino = self.names.remove(&from).expect("checked is_file");
            if let Some(old) = self.names.insert(to, ino) {
                self.unlink(old);
            }
            return Ok(DiskResult::Done);
        }
        // A directory.
        let from_prefix = dir_prefix(&from);
        if to.starts_with(&from_prefix) {
            return Err(failed(format!("cannot move {from:?} into itself")));
        }
        if self.is_file(&to) {
            return Err(failed(format!("{to:?} is not a directory")));
        }
        if self.has_children(&to) {
            return Err(failed(format!("{to:?}: directory not empty")));
        }
        let to_prefix = dir_prefix(&to);
        let moved: Vec<String> =
            self.names.range(from_prefix.clone()..).take_while(|(k, _)| k.starts_with(&from_prefix)).map(|(k, _)| k.clone()).collect();
        for old in moved {
            let ino = self.names.remove(&old).expect("listed");
            self.names.insert(format!("{to_prefix}{}", &old[from_prefix.len()..]), ino);
        }
        let moved: Vec<String> = self.dirs.range(from_prefix.clone()..).take_while(|k| k.starts_with(&from_prefix)).cloned().collect();
        for old in moved {
            self.dirs.remove(&old);
            self.dirs.insert(format!("{to_prefix}{}", &old[from_prefix.len()..]));
        }
        self.dirs.remove(&from);
        self.dirs.insert(to);
        Ok(DiskResult::Done)
    }

    fn remove(&mut self, path: &str) -> Result<DiskResult, DiskResult> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err(failed("refusing to remove the data directory"));
        }
        if let Some(ino) = self.names.remove(&path) {
            self.unlink(ino);
            return Ok(DiskResult::Done);
        }
        let prefix = dir_prefix(&path);
        let gone: Vec<String> =
            self.names.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
        for name in gone {
            if let Some(ino) = self.names.remove(&name) {
                self.unlink(ino);
            }
        }
        let gone: Vec<String> = self.dirs.range(prefix.clone()..).take_while(|k| k.starts_with(&prefix)).cloned().collect();
        for dir in gone {
            self.dirs.remove(&dir);
        }
        self.dirs.remove(&path);
        Ok(DiskResult::Done)
    }

    fn list_dir(&mut self, path: &str) -> Result<DiskResult, DiskResult> {
        let path = normalize(path)?;
        if self.is_file(&path) {
            return Err(failed(format!("{path:?} is not a directory")));
        }
        let prefix = dir_prefix(&path);
        let mut entries: BTreeMap<String, DirEntry> = BTreeMap::new();
        for (name, ino) in self.names.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
            let rest = &name[prefix.len()..];
            let entry = match rest.find('/') {
                Some(i) => DirEntry { name: rest[..i].to_string(), is_dir: true, len: 0 },
                None => DirEntry { name: rest.to_string(), is_dir: false, len: self.inodes.get(ino).map_or(0, |i| i.data.len() as u64) },
            };
            entries.entry(entry.name.clone()).or_insert(entry);
        }
        for dir in self.dirs.range(prefix.clone()..).take_while(|k| k.starts_with(&prefix)) {
            let rest = &dir[prefix.len()..];
            let name = rest.split('/').next().unwrap_or(rest).to_string();
            entries.entry(name.clone()).or_insert(DirEntry { name, is_dir: true, len: 0 });
        }
        Ok(DiskResult::Listing(entries.into_values().collect()))
    }

    fn create_dir(&mut self, path: &str) -> Result<DiskResult, DiskResult> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Ok(DiskResult::Done);
        }
        if self.is_file(&path) {
            return Err(failed(format!("{path:?} exists and is a file")));
        }
        self.check_ancestors(&path)?;
        self.create_parents(&path);
        self.dirs.insert(path);
        Ok(DiskResult::Done)
    }

    fn replace_file(&mut self, path: &str, data: &Bytes) -> Result<DiskResult, DiskResult> {
        let path = normalize(path)?;
        if path.is_empty() || self.is_dir(&path) {
            return Err(failed(format!("{path:?} is a directory")));
        }
        self.check_ancestors(&path)?;
        if data.len() as u64 > MAX_FILE_LEN {
            return Err(failed("file too large (EFBIG)"));
        }
        // Atomic: on any failure the old file is untouched.
        if self.chance(self.faults.write_error_rate) {
            return Err(failed("injected write error (EIO)"));
        }
        if !self.has_room(data.len() as u64) {
            return Err(failed("no space left on device"));
        }
        if self.chance(self.faults.sync_error_rate) {
            return Err(failed("injected fsync error (EIO)"));
        }
        self.create_parents(&path);
        let ino = self.new_inode(data.to_vec());
        if let Some(old) = self.names.insert(path, ino) {
            self.unlink(old);
        }
        Ok(DiskResult::Done)
    }

    fn read_file(&mut self, path: &str) -> Result<DiskResult, DiskResult> {
        let path = normalize(path)?;
        let Some(ino) = self.names.get(&path).copied() else {
            return Err(failed(format!("{path:?}: no such file")));
        };
        if self.chance(self.faults.read_error_rate) {
            return Err(failed("injected read error (EIO)"));
        }
        let data = self.inodes.get(&ino).map_or(&[][..], |i| &i.data[..]);
        Ok(DiskResult::Read(Bytes::copy_from_slice(data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileId = FileId(1);

    fn open(d: &mut SimDisk, file: FileId, path: &str) -> u64 {
        match d.execute(&DiskOp::Open { file, path: path.into(), create: true }) {
            DiskResult::Opened { len } => len,
            other => panic!("open {path}: {other:?}"),
        }
    }

    fn ok(r: DiskResult) {
        assert!(matches!(r, DiskResult::Done), "{r:?}");
    }

    fn write(d: &mut SimDisk, file: FileId, pos: u64, data: &[u8]) -> DiskResult {
        d.execute(&DiskOp::Write { file, pos, data: Bytes::copy_from_slice(data) })
    }

    fn sync(d: &mut SimDisk, file: FileId) -> DiskResult {
        d.execute(&DiskOp::Sync { file })
    }

    fn read(d: &mut SimDisk, file: FileId, pos: u64, len: u32) -> Vec<u8> {
        match d.execute(&DiskOp::Read { file, pos, len }) {
            DiskResult::Read(b) => b.to_vec(),
            other => panic!("read: {other:?}"),
        }
    }

    fn listing(d: &mut SimDisk, path: &str) -> Vec<(String, bool, u64)> {
        match d.execute(&DiskOp::ListDir { path: path.into() }) {
            DiskResult::Listing(v) => v.into_iter().map(|e| (e.name, e.is_dir, e.len)).collect(),
            other => panic!("list {path}: {other:?}"),
        }
    }

    /// Proves: synced writes always survive a crash; writes after the last sync
    /// survive on some seeds and are lost on others.
    #[test]
    fn unsynced_writes_can_be_lost_synced_never() {
        let (mut lost, mut kept) = (0, 0);
        for seed in 0..200 {
            let mut d = SimDisk::new(seed);
            open(&mut d, F, "t/0.log");
            ok(write(&mut d, F, 0, &[1u8; 1000]));
            ok(sync(&mut d, F));
            ok(write(&mut d, F, 1000, &[2u8; 1000]));
            d.crash();
            assert_eq!(d.open_handles(), 0);
            let c = d.contents("t/0.log").expect("file survives");
            assert_eq!(&c[..1000], &[1u8; 1000][..], "seed {seed}: synced bytes lost");
            if c.len() == 1000 {
                lost += 1;
            } else if c.len() == 2000 {
                kept += 1;
            }
        }
        assert!(lost > 0 && kept > 0, "lost {lost} kept {kept}");
    }

    /// Proves: a crash keeps a prefix of the unsynced writes, never a later write
    /// without every earlier one (each write is one whole sector here, so no
    /// tearing blurs the picture), over many seeds; every prefix length occurs.
    #[test]
    fn crash_keeps_a_prefix() {
        let n = 8usize;
        let mut seen = vec![false; n + 1];
        for seed in 0..500 {
            let mut d = SimDisk::new(seed);
            open(&mut d, F, "p.log");
            // Write i overwrites sector 0 with i and appends sector i+1 of value i.
            for i in 0..n {
                ok(write(&mut d, F, 0, &[i as u8 + 1; 512]));
                ok(write(&mut d, F, 512 * (i as u64 + 1), &[i as u8 + 1; 512]));
            }
            d.crash();
            let c = d.contents("p.log").unwrap().to_vec();
            assert_eq!(c.len() % 512, 0, "seed {seed}");
            let appended = (c.len() / 512).saturating_sub(1);
            for k in 0..appended {
                assert_eq!(&c[512 * (k + 1)..512 * (k + 2)], &[k as u8 + 1; 512][..]);
            }
            if !c.is_empty() {
                // Sector 0 holds the value of the last write pair begun: either
                // the one whose append landed or the next one (its append lost).
                let head = c[0] as usize;
                assert!(c[..512].iter().all(|b| *b as usize == head), "seed {seed}");
                assert!(head == appended || head == appended + 1, "seed {seed}: {head} vs {appended}");
            }
            seen[appended] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    /// Proves: a torn last write lands a whole number of 512-byte sectors (at
    /// absolute sector boundaries), and tearing does happen.
    #[test]
    fn torn_write_lands_whole_sectors() {
        let mut torn = 0;
        for seed in 0..300 {
            let mut d = SimDisk::new(seed);
            open(&mut d, F, "x.log");
            ok(write(&mut d, F, 0, &[9u8; 100]));
            ok(sync(&mut d, F));
            // Unaligned start: pieces [100, 512), [512, 1024), ..., [2048, 2100).
            ok(write(&mut d, F, 100, &[7u8; 2000]));
            d.crash();
            let c = d.contents("x.log").unwrap();
            assert!(c[..100].iter().all(|b| *b == 9));
            let len = c.len() as u64;
            assert!(len == 100 || len == 2100 || len.is_multiple_of(512), "seed {seed}: {len}");
            assert!(c[100..].iter().all(|b| *b == 7));
            if len != 100 && len != 2100 {
                torn += 1;
            }
        }
        assert!(torn > 0);
    }

    /// Proves: a failed sync leaves the writes pending (not durable, still lost
    /// on some crashes), and a later successful sync makes them durable.
    #[test]
    fn sync_failure_leaves_writes_pending() {
        let mut d = SimDisk::new(3);
        open(&mut d, F, "s.log");
        ok(write(&mut d, F, 0, b"hello"));
        d.set_faults(DiskFaultConfig { sync_error_rate: 1.0, ..Default::default() });
        assert!(matches!(sync(&mut d, F), DiskResult::Failed(_)));
        assert_eq!(d.durable_len("s.log"), Some(0));
        assert_eq!(d.contents("s.log"), Some(&b"hello"[..]));
        d.set_faults(DiskFaultConfig::default());
        ok(sync(&mut d, F));
        assert_eq!(d.durable_contents("s.log"), Some(&b"hello"[..]));

        // And with the failure followed by a crash, the data can be lost.
        let mut lost = false;
        for seed in 0..50 {
            let mut d = SimDisk::new(seed);
            open(&mut d, F, "s.log");
            ok(write(&mut d, F, 0, b"hello"));
            d.set_faults(DiskFaultConfig { sync_error_rate: 1.0, ..Default::default() });
            assert!(matches!(sync(&mut d, F), DiskResult::Failed(_)));
            d.crash();
            lost |= d.contents("s.log") == Some(&[][..]);
        }
        assert!(lost);
    }

    /// Proves: write errors write nothing; writes growing the disk past its
    /// capacity fail with "no space left", overwrites inside it still succeed.
    #[test]
    fn capacity_and_write_errors() {
        let mut d = SimDisk::new(1);
        d.set_faults(DiskFaultConfig { capacity_bytes: 1000, ..Default::default() });
        open(&mut d, F, "a.log");
        ok(write(&mut d, F, 0, &[1; 600]));
        open(&mut d, FileId(2), "b.log");
        match write(&mut d, FileId(2), 0, &[2; 500]) {
            DiskResult::Failed(m) => assert!(m.contains("no space left"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(d.contents("b.log"), Some(&[][..]));
        ok(write(&mut d, FileId(2), 0, &[2; 400]));
        ok(write(&mut d, F, 0, &[3; 600])); // overwrite: no growth
        assert!(matches!(write(&mut d, F, 600, &[3; 1]), DiskResult::Failed(_)));
        assert_eq!(d.used_bytes(), 1000);

        d.set_faults(DiskFaultConfig { write_error_rate: 1.0, ..Default::default() });
        assert!(matches!(write(&mut d, F, 0, &[4; 10]), DiskResult::Failed(_)));
        assert_eq!(d.contents("a.log").unwrap()[0], 3);
        d.set_faults(DiskFaultConfig { read_error_rate: 1.0, ..Default::default() });
        assert!(matches!(d.execute(&DiskOp::Read { file: F, pos: 0, len: 1 }), DiskResult::Failed(_)));
    }

    /// Proves: ReplaceFile is atomic and durable on completion (survives any
    /// crash whole), replaces the old contents, and ReadFile fails when missing.
    #[test]
    fn replace_file_is_durable() {
        for seed in 0..50 {
            let mut d = SimDisk::new(seed);
            assert!(matches!(d.execute(&DiskOp::ReadFile { path: "meta/cp".into() }), DiskResult::Failed(_)));
            ok(d.execute(&DiskOp::ReplaceFile { path: "meta/cp".into(), data: Bytes::from_static(b"one") }));
            ok(d.execute(&DiskOp::ReplaceFile { path: "meta/cp".into(), data: Bytes::from_static(b"second") }));
            d.crash();
            match d.execute(&DiskOp::ReadFile { path: "meta/cp".into() }) {
                DiskResult::Read(b) => assert_eq!(&b[..], b"second"),
                other => panic!("{other:?}"),
            }
            assert_eq!(listing(&mut d, "meta"), vec![("cp".into(), false, 6)]);
        }
        // A failing ReplaceFile leaves the old file.
        let mut d = SimDisk::new(0);
        ok(d.execute(&DiskOp::ReplaceFile { path: "cp".into(), data: Bytes::from_static(b"old") }));
        d.set_faults(DiskFaultConfig { write_error_rate: 1.0, ..Default::default() });
        assert!(matches!(d.execute(&DiskOp::ReplaceFile { path: "cp".into(), data: Bytes::from_static(b"new") }), DiskResult::Failed(_)));
        assert_eq!(d.contents("cp"), Some(&b"old"[..]));
    }

    /// Proves: ListDir is sorted, reports lengths and directories (explicit and
    /// implied by file paths), lists a missing directory as empty, fails on a
    /// file; Remove takes whole trees and tolerates missing paths; Rename moves
    /// files (handles follow) and directories.
    #[test]
    fn list_dir_remove_rename() {
        let mut d = SimDisk::new(0);
        assert_eq!(listing(&mut d, ""), vec![]);
        assert_eq!(listing(&mut d, "nope"), vec![]);
        open(&mut d, F, "topic-1/00.log");
        ok(write(&mut d, F, 0, b"abc"));
        open(&mut d, FileId(2), "topic-0/00.index");
        ok(d.execute(&DiskOp::CreateDir { path: "empty/a".into() }));
        ok(d.execute(&DiskOp::ReplaceFile { path: "meta".into(), data: Bytes::from_static(b"12") }));
        assert_eq!(
            listing(&mut d, ""),
            vec![("empty".into(), true, 0), ("meta".into(), false, 2), ("topic-0".into(), true, 0), ("topic-1".into(), true, 0),]
        );
        assert_eq!(listing(&mut d, "/topic-1/"), vec![("00.log".into(), false, 3)]);
        assert_eq!(listing(&mut d, "empty"), vec![("a".into(), true, 0)]);
        assert!(matches!(d.execute(&DiskOp::ListDir { path: "meta".into() }), DiskResult::Failed(_)));
        // Rename a file; the open handle follows it.
        ok(d.execute(&DiskOp::Rename { from: "topic-1/00.log".into(), to: "topic-1/01.log".into() }));
        ok(write(&mut d, F, 3, b"d"));
        assert_eq!(d.contents("topic-1/01.log"), Some(&b"abcd"[..]));
        assert!(matches!(d.execute(&DiskOp::Rename { from: "missing".into(), to: "x".into() }), DiskResult::Failed(_)));
        // Rename a directory.
        ok(d.execute(&DiskOp::Rename { from: "topic-1".into(), to: "topic-1.deleted".into() }));
        assert_eq!(d.files(), vec![("meta".into(), 2), ("topic-0/00.index".into(), 0), ("topic-1.deleted/01.log".into(), 4),]);
        // Remove a tree, a file, and something missing.
        ok(d.execute(&DiskOp::Remove { path: "topic-1.deleted".into() }));
        ok(d.execute(&DiskOp::Remove { path: "meta".into() }));
        ok(d.execute(&DiskOp::Remove { path: "never/was".into() }));
        ok(d.execute(&DiskOp::Remove { path: "empty".into() }));
        assert_eq!(listing(&mut d, ""), vec![("topic-0".into(), true, 0)]);
        // The removed file's handle still works until closed.
        ok(write(&mut d, F, 0, b"z"));
        ok(d.execute(&DiskOp::Close { file: F }));
        assert!(matches!(write(&mut d, F, 0, b"z"), DiskResult::Failed(_)));
        assert_eq!(d.used_bytes(), 0);
        assert!(matches!(d.execute(&DiskOp::Remove { path: "".into() }), DiskResult::Failed(_)));
    }

    /// Proves: reads return up to `len` bytes, fewer at EOF, nothing past it;
    /// writes past EOF extend with zeros; truncate shortens; unknown handles fail;
    /// opening a missing file without create fails.
    #[test]
    fn reads_at_eof_and_handles() {
        let mut d = SimDisk::new(0);
        assert!(matches!(d.execute(&DiskOp::Open { file: F, path: "a.log".into(), create: false }), DiskResult::Failed(_)));
        assert_eq!(open(&mut d, F, "a.log"), 0);
        ok(write(&mut d, F, 4, b"xy"));
        assert_eq!(read(&mut d, F, 0, 100), b"\0\0\0\0xy");
        assert_eq!(read(&mut d, F, 5, 100), b"y");
        assert_eq!(read(&mut d, F, 6, 100), b"");
        assert_eq!(read(&mut d, F, u64::MAX, u32::MAX), b"");
        assert_eq!(read(&mut d, F, 1, 2), b"\0\0");
        ok(d.execute(&DiskOp::Truncate { file: F, len: 5 }));
        assert_eq!(read(&mut d, F, 0, 100), b"\0\0\0\0x");
        assert!(matches!(write(&mut d, F, u64::MAX, b"a"), DiskResult::Failed(_)));
        ok(d.execute(&DiskOp::Close { file: F }));
        for op in [
            DiskOp::Sync { file: F },
            DiskOp::Read { file: F, pos: 0, len: 1 },
            DiskOp::Truncate { file: F, len: 0 },
            DiskOp::Close { file: F },
        ] {
            assert!(matches!(d.execute(&op), DiskResult::Failed(_)), "{op:?}");
        }
        assert_eq!(open(&mut d, F, "a.log"), 5);
    }

    /// Proves: corrupt_random_sector damages exactly one 512-byte sector of a
    /// synced `.log` file, in both the durable and the visible contents, and
    /// never touches other files.
    #[test]
    fn corrupt_random_sector_changes_one_sector() {
        for seed in 0..100 {
            let mut d = SimDisk::new(seed);
            assert_eq!(d.corrupt_random_sector(), None);
            open(&mut d, F, "t/0.log");
            let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
            ok(write(&mut d, F, 0, &data));
            ok(sync(&mut d, F));
            open(&mut d, FileId(2), "t/0.index");
            ok(write(&mut d, FileId(2), 0, &data));
            ok(sync(&mut d, FileId(2)));
            open(&mut d, FileId(3), "t/1.log"); // unsynced: not a candidate
            ok(write(&mut d, FileId(3), 0, &data));
            let (path, pos) = d.corrupt_random_sector().expect("a candidate");
            assert_eq!(path, "t/0.log");
            assert_eq!(pos % 512, 0);
            for view in [d.contents("t/0.log").unwrap(), d.durable_contents("t/0.log").unwrap()] {
                assert_eq!(view.len(), data.len());
                let diff: Vec<usize> = (0..data.len()).filter(|&i| view[i] != data[i]).collect();
                assert!(!diff.is_empty(), "seed {seed}");
                assert!(diff.iter().all(|&i| i as u64 / 512 == pos / 512), "seed {seed}");
            }
            assert_eq!(d.contents("t/0.index"), Some(&data[..]));
            assert_eq!(d.contents("t/1.log"), Some(&data[..]));
        }
    }

    /// Proves: the same seed and the same operations give the same files,
    /// durable state, results and latencies; a different seed differs.
    #[test]
    fn deterministic() {
        type Outcome = (Vec<(String, Vec<u8>, Vec<u8>)>, Vec<Duration>, Vec<String>);
        fn run(seed: u64) -> Outcome {
            let mut d = SimDisk::new(seed);
            d.set_faults(DiskFaultConfig { write_error_rate: 0.1, read_error_rate: 0.1, sync_error_rate: 0.2, capacity_bytes: 0 });
            let mut lat = Vec::new();
            let mut results = Vec::new();
            for round in 0..5u64 {
                for f in 0..3u64 {
                    let path = format!("t-{f}/{round:05}.log");
                    let ops = vec![
                        DiskOp::Open { file: FileId(f), path, create: true },
                        DiskOp::Write { file: FileId(f), pos: 0, data: Bytes::from(vec![f as u8; 700]) },
                        DiskOp::Sync { file: FileId(f) },
                        DiskOp::Write { file: FileId(f), pos: 700, data: Bytes::from(vec![round as u8; 1500]) },
                        DiskOp::Read { file: FileId(f), pos: 0, len: 100 },
                    ];
                    for op in &ops {
                        lat.push(d.latency(op));
                        results.push(format!("{:?}", d.execute(op)));
                    }
                }
                if round % 2 == 1 {
                    d.crash();
                }
                results.push(format!("{:?}", d.corrupt_random_sector()));
            }
            let state = d
                .files()
                .into_iter()
                .map(|(p, _)| {
                    let c = d.contents(&p).unwrap().to_vec();
                    let dur = d.durable_contents(&p).unwrap().to_vec();
                    (p, c, dur)
                })
                .collect();
            (state, lat, results)
        }
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let (_, lat, _) = run(7);
        assert!(lat.iter().all(|l| *l >= Duration::from_micros(2) && *l <= Duration::from_millis(6)));
    }

    /// Proves: no sequence of operations (including garbage paths, unknown
    /// handles, crashes and corruption) panics, and the visible contents always
    /// equal the durable contents plus the pending modifications.
    #[test]
    fn random_ops_never_panic() {
        let paths = ["a", "a/b", "a/b/c.log", "../x", "", "/", "d/./e.log", "a.log", "d"];
        for seed in 0..40 {
            let mut d = SimDisk::new(seed);
            let mut r = ChaCha8Rng::seed_from_u64(seed + 1000);
            d.set_faults(DiskFaultConfig { write_error_rate: 0.05, read_error_rate: 0.05, sync_error_rate: 0.1, capacity_bytes: 20_000 });
            for _ in 0..400 {
                let file = FileId(r.gen_range(0..4));
                let path = paths[r.gen_range(0..paths.len())].to_string();
                let to = paths[r.gen_range(0..paths.len())].to_string();
                let pos = if r.gen_bool(0.05) { u64::MAX - 3 } else { r.gen_range(0..3000) };
                let data = Bytes::from(vec![r.gen::<u8>(); r.gen_range(0..1200)]);
                let op = match r.gen_range(0..14) {
                    0 => DiskOp::Open { file, path, create: r.gen() },
                    1 | 2 => DiskOp::Write { file, pos, data },
                    3 => DiskOp::Sync { file },
                    4 => DiskOp::Read { file, pos, len: r.gen_range(0..2000) },
                    5 => DiskOp::Truncate { file, len: pos },
                    6 => DiskOp::Close { file },
                    7 => DiskOp::Rename { from: path, to },
                    8 => DiskOp::Remove { path },
                    9 => DiskOp::ListDir { path },
                    10 => DiskOp::CreateDir { path },
                    11 => DiskOp::ReplaceFile { path, data },
                    12 => DiskOp::ReadFile { path },
                    _ => {
                        if r.gen_bool(0.5) {
                            d.crash();
                        } else {
                            d.corrupt_random_sector();
                        }
                        continue;
                    }
                };
                let _ = d.latency(&op);
                let _ = d.execute(&op);
                for inode in d.inodes.values() {
                    let mut replay = inode.durable.clone();
                    for m in &inode.pending {
                        apply(&mut replay, m);
                    }
                    assert_eq!(replay, inode.data, "seed {seed}");
                }
            }
        }
    }
}
