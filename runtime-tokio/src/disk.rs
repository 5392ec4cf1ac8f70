//! The disk executor: carries out the core's [`DiskOp`]s under a data directory.
//!
//! Ordering (the contract in `chronik_core::io`): operations on one [`FileId`] run in
//! issue order; different files run in parallel. Each file has a *lane*: a queue of
//! pending operations plus at most one runner on tokio's blocking pool, which takes
//! everything queued in one go and executes it, so a burst of writes and a sync cost
//! one thread hop, not one per operation. Path operations (rename, remove, list,
//! create, replace, read whole file) share one more lane; the contract does not
//! order them, but running them in issue order is free and removes a class of races.
//!
//! **Inline writes.** A write to a file whose lane is idle (nothing queued, no runner)
//! and no larger than [`INLINE_WRITE_BYTES_MAX`] is carried out at once on the calling
//! task: a `pwrite` into the page cache takes microseconds, while a hop to the blocking
//! pool and back costs two thread wake-ups, which dominated the `acks=1` produce path on a
//! small machine. Its completion is returned to the caller instead of sent. Order is kept:
//! the lane was idle, and the file handle is taken under the lane's lock. Syncs and every
//! other operation still run on the blocking pool.
//!
//! **Writes during a sync.** A sync that ends a runner's batch, with nothing queued
//! behind it, runs with the lane open to inline writes: the next appends go to the
//! page cache while `fdatasync` writes back the earlier ones, instead of waiting
//! for it. With the core's 100 ms background sync of `acks=1` data, each sync writes
//! back ~100 ms of appends, which took the lane away from the producers for
//! milliseconds at a time. Safe for the contract: the core counts a sync as covering
//! only the writes issued before it, and all of those ran before the sync started; a
//! write during the sync marks the file dirty again, so the next sync covers it.
//! Anything else issued meanwhile is queued, and closes the lane to inline writes
//! until the runner has caught up, so issue order holds for everything but writes
//! overtaking a sync issued before them.
//!
//! Every failure becomes [`DiskResult::Failed`] with a message; nothing here panics
//! on what the disk or the core hands it. Paths are relative to the data directory;
//! an absolute path or one with `..` is refused.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chronik_core::io::{DirEntry, DiskOp, DiskRequest, DiskResult};
use chronik_core::types::{FileId, IoId};
use tokio::sync::mpsc::UnboundedSender;

/// Completions of one executed batch, in execution order.
pub type DiskCompletions = Vec<(IoId, DiskResult)>;

/// Largest write carried out inline (see the module docs).
pub const INLINE_WRITE_BYTES_MAX: usize = 256 << 10;

/// Operations a runner takes from its lane in one blocking-pool hop, at most.
const BATCH_OPS_MAX: usize = 256;

/// Runs disk operations rooted at one directory. Owned by the driver task.
pub struct DiskExecutor {
    root: Arc<PathBuf>,
    done: UnboundedSender<DiskCompletions>,
    files: HashMap<FileId, Arc<Lane>>,
    paths: Arc<Lane>,
}

impl DiskExecutor {
    /// An executor over `root` (which must exist) that reports completions on `done`.
    /// Must be used from within a tokio runtime.
    pub fn new(root: PathBuf, done: UnboundedSender<DiskCompletions>) -> DiskExecutor {
        DiskExecutor { root: Arc::new(root), done, files: HashMap::new(), paths: Arc::new(Lane::default()) }
    }

    /// Files with a lane (opened and not yet closed).
    pub fn open_files(&self) -> usize {
        self.files.len()
    }

    /// Start one operation. Its completion arrives on the `done` channel, or — for a
    /// write carried out inline — is returned.
    pub fn submit(&mut self, req: DiskRequest) -> Option<(IoId, DiskResult)> {
        if matches!(&req.op, DiskOp::Write { data, .. } if data.len() <= INLINE_WRITE_BYTES_MAX) {
            if let Some(result) = self.write_run_inline(std::slice::from_ref(&req)) {
                return Some((req.id, result));
            }
        }
        self.submit_to_lane(req);
        None
    }

    /// Start every operation of one drain pass, in order. Writes that continue one
    /// another on the same file go out as one inline `pwritev` when the file's lane is
    /// idle: a pass over one socket read typically appends several produce requests'
    /// batches back to back, and one syscall for all of them costs less than one each.
    /// Inline completions are appended to `inline`, in issue order.
    pub fn submit_all(&mut self, reqs: &mut VecDeque<DiskRequest>, inline: &mut DiskCompletions) {
        while !reqs.is_empty() {
            let run = contiguous_writes(reqs.make_contiguous(), INLINE_WRITE_BYTES_MAX);
            if run >= 2 {
                if let Some(result) = self.write_run_inline(&reqs.make_contiguous()[..run]) {
                    inline.extend(reqs.drain(..run).map(|req| (req.id, result.clone())));
                    continue;
                }
            }
            // A single write, or a lane that is busy: one by one (a busy lane's runner
            // coalesces what is queued on it anyway).
            for req in reqs.drain(..run.max(1)) {
                if let Some(done) = self.submit(req) {
                    inline.push(done);
                }
            }
        }
    }

    /// A run from [`contiguous_writes`] (a lone write is a run of one) carried out now
    /// if its file's lane is idle. A failure is logged once, for the whole run.
    fn write_run_inline(&self, run: &[DiskRequest]) -> Option<DiskResult> {
        let DiskOp::Write { file, .. } = &run.first()?.op else {
            return None;
        };
        let result = self.files.get(file)?.write_run_if_idle(run)?;
        if let DiskResult::Failed(message) = &result {
            tracing::warn!(io = run[0].id.0, ops = run.len(), %message, "disk write failed");
        }
        Some(result)
    }

    fn submit_to_lane(&mut self, req: DiskRequest) {
        let lane = match &req.op {
            DiskOp::Open { file, .. } => {
                let lane = self.files.entry(*file).or_default();
                Arc::clone(lane)
            }
            DiskOp::Write { file, .. } | DiskOp::Sync { file } | DiskOp::Read { file, .. } | DiskOp::Truncate { file, .. } => {
                match self.files.get(file) {
                    Some(lane) => Arc::clone(lane),
                    None => return self.fail_now(req.id, format!("file {} is not open", file.0)),
                }
            }
            DiskOp::Close { file } => match self.files.remove(file) {
                // The lane still runs the close after everything queued before it.
                Some(lane) => lane,
                None => return self.fail_now(req.id, format!("file {} is not open", file.0)),
            },
            DiskOp::Rename { .. }
            | DiskOp::Remove { .. }
            | DiskOp::ListDir { .. }
            | DiskOp::CreateDir { .. }
            | DiskOp::ReplaceFile { .. }
            | DiskOp::ReadFile { .. } => Arc::clone(&self.paths),
        };
        if lane.push(req) {
            let root = Arc::clone(&self.root);
            let done = self.done.clone();
            tokio::task::spawn_blocking(move || run_lane(&lane, &root, &done));
        }
    }

    fn fail_now(&self, id: IoId, message: String) {
        tracing::warn!(io = id.0, %message, "disk operation refused");
        let _ = self.done.send(vec![(id, DiskResult::Failed(message))]);
    }
}

/// One file's (or the path operations') queue and its handle.
#[derive(Default)]
struct Lane {
    state: Mutex<LaneState>,
}

#[derive(Default)]
struct LaneState {
    queue: VecDeque<DiskRequest>,
    /// A runner is on the blocking pool (or about to be).
    running: bool,
    /// Shared with the runner, so that a write may use it while a sync runs.
    file: Option<Arc<File>>,
    /// Written or truncated since the last successful sync (or never synced).
    dirty: bool,
    /// The runner is syncing with nothing else queued: inline writes may go ahead.
    syncing: bool,
}

impl Lane {
    /// Writes a run from [`contiguous_writes`] (a single write is a run of one) at once
    /// if the lane is idle, or only running a lone sync (see the module docs); `None`
    /// if it is busy (the caller queues). One result for the whole run: a failed
    /// `pwritev` may have written part of it, and none of its writes is reported done.
    fn write_run_if_idle(&self, run: &[DiskRequest]) -> Option<DiskResult> {
        let mut state = lock(&self.state);
        if !state.queue.is_empty() || (state.running && !state.syncing) {
            return None;
        }
        let result = match state.file.as_ref() {
            None => DiskResult::Failed("file is not open".into()),
            Some(f) => match write_run_at(f, run) {
                Ok(()) => DiskResult::Done,
                Err(e) => DiskResult::Failed(e.to_string()),
            },
        };
        state.dirty = true;
        Some(result)
    }

    /// Queue an operation; true when the caller must start a runner.
    fn push(&self, req: DiskRequest) -> bool {
        let mut state = lock(&self.state);
        state.queue.push_back(req);
        if state.running {
            false
        } else {
            state.running = true;
            true
        }
    }
}

fn lock(m: &Mutex<LaneState>) -> std::sync::MutexGuard<'_, LaneState> {
    // A panic while holding the lock would be a bug here; keep serving regardless.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Execute what is queued on `lane` until it is empty, reporting each batch.
fn run_lane(lane: &Lane, root: &Path, done: &UnboundedSender<DiskCompletions>) {
    let mut batch: Vec<DiskRequest> = Vec::new();
    loop {
        let (mut file, mut dirty) = {
            let mut state = lock(&lane.state);
            if state.queue.is_empty() {
                state.running = false;
                return;
            }
            let n = state.queue.len().min(BATCH_OPS_MAX);
            batch.extend(state.queue.drain(..n));
            (state.file.clone(), state.dirty)
        };
        let mut results = Vec::with_capacity(batch.len());
        // Whether the lane's state already holds this batch's file and dirty flag.
        let mut published = false;
        let mut i = 0;
        while i < batch.len() {
            if i + 1 == batch.len() && matches!(batch[i].op, DiskOp::Sync { .. }) {
                let result = sync_with_lane_open(lane, &file, dirty);
                report(&mut results, batch[i].id, result);
                published = true;
                break;
            }
            let run = contiguous_writes(&batch[i..], usize::MAX);
            if run >= 2 {
                // Appends queued back to back: one pwritev instead of `run` pwrites.
                let outcome = with_file(&file).and_then(|f| write_run_at(f, &batch[i..i + run]));
                dirty = true;
                let result = outcome.map(|()| DiskResult::Done).unwrap_or_else(|e| DiskResult::Failed(e.to_string()));
                for req in &batch[i..i + run] {
                    report(&mut results, req.id, result.clone());
                }
                i += run;
                continue;
            }
            let result = execute(root, &mut file, &mut dirty, &batch[i].op);
            report(&mut results, batch[i].id, result);
            i += 1;
        }
        batch.clear();
        if !published {
            let mut state = lock(&lane.state);
            state.file = file;
            state.dirty = dirty;
        }
        if done.send(results).is_err() {
            // The driver is gone (process exiting); keep executing what was queued so
            // writes issued before exit still reach the file.
            tracing::debug!("disk completion dropped: driver gone");
        }
    }
}

/// Run a sync that ends the runner's batch with the lane open to inline writes
/// (see the module docs): publish the batch's file and clear the dirty flag
/// under the lock (everything written so far is what the sync covers), sync
/// without the lock, then close the lane again; a failed sync leaves the file
/// dirty.
fn sync_with_lane_open(lane: &Lane, file: &Option<Arc<File>>, dirty: bool) -> DiskResult {
    {
        let mut state = lock(&lane.state);
        state.file = file.clone();
        state.dirty = false;
        state.syncing = true;
    }
    // fdatasync: the data and the metadata needed to read it (the length).
    let outcome = if dirty { with_file(file).and_then(|f| f.sync_data()) } else { Ok(()) };
    let mut state = lock(&lane.state);
    state.syncing = false;
    if outcome.is_err() {
        state.dirty = true;
    }
    outcome.map(|()| DiskResult::Done).unwrap_or_else(|e| DiskResult::Failed(e.to_string()))
}

fn report(results: &mut DiskCompletions, id: IoId, result: DiskResult) {
    if let DiskResult::Failed(message) = &result {
        tracing::warn!(io = id.0, %message, "disk operation failed");
    }
    results.push((id, result));
}

/// Writes coalesced into one `pwritev`, at most (below every platform's IOV_MAX).
const WRITE_RUN_MAX: usize = 512;

/// How many requests at the front of `reqs` are writes to one file, each starting where
/// the previous one ended, together at most `bytes_max` (the first counts regardless).
fn contiguous_writes(reqs: &[DiskRequest], bytes_max: usize) -> usize {
    let mut run: Option<(FileId, u64)> = None; // file, end of the run so far
    let mut bytes = 0usize;
    let mut n = 0;
    for req in reqs.iter().take(WRITE_RUN_MAX) {
        let DiskOp::Write { file, pos, data } = &req.op else { break };
        let end = pos + data.len() as u64;
        match run {
            None => {}
            Some((f, e)) if f == *file && *pos == e && bytes + data.len() <= bytes_max => {}
            Some(_) => break,
        }
        run = Some((*file, end));
        bytes += data.len();
        n += 1;
    }
    n
}

/// Write a run from [`contiguous_writes`] with positional vectored writes.
fn write_run_at(f: &File, run: &[DiskRequest]) -> io::Result<()> {
    let Some(DiskOp::Write { pos, .. }) = run.first().map(|r| &r.op) else {
        return Ok(());
    };
    let mut pos = *pos;
    let mut iov: Vec<IoSlice<'_>> = run
        .iter()
        .filter_map(|r| match &r.op {
            DiskOp::Write { data, .. } if !data.is_empty() => Some(IoSlice::new(data)),
            _ => None,
        })
        .collect();
    let mut slices = &mut iov[..];
    while !slices.is_empty() {
        let count = libc::c_int::try_from(slices.len()).map_err(io::Error::other)?;
        let offset = libc::off_t::try_from(pos).map_err(io::Error::other)?;
        // SAFETY: IoSlice is ABI-compatible with iovec on Unix; the slices borrow
        // live buffers for the duration of the call; the fd is open.
        let n = unsafe { libc::pwritev(f.as_raw_fd(), slices.as_ptr().cast::<libc::iovec>(), count, offset) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let n = n as usize; // n > 0 here
        pos += n as u64;
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}

fn execute(root: &Path, file: &mut Option<Arc<File>>, dirty: &mut bool, op: &DiskOp) -> DiskResult {
    let outcome = match op {
        DiskOp::Open { path, create, .. } => open(root, path, *create).map(|(f, len)| {
            *file = Some(Arc::new(f));
            *dirty = true;
            DiskResult::Opened { len }
        }),
        DiskOp::Write { pos, data, .. } => with_file(file).and_then(|f| {
            *dirty = true;
            f.write_all_at(data, *pos).map(|()| DiskResult::Done)
        }),
        DiskOp::Sync { .. } => with_file(file).and_then(|f| {
            if *dirty {
                // fdatasync: the data and the metadata needed to read it (the length).
                f.sync_data()?;
                *dirty = false;
            }
            Ok(DiskResult::Done)
        }),
        DiskOp::Read { pos, len, .. } => with_file(file).and_then(|f| read_at(f, *pos, *len)),
        DiskOp::Truncate { len, .. } => with_file(file).and_then(|f| {
            *dirty = true;
            f.set_len(*len).map(|()| DiskResult::Done)
        }),
        DiskOp::Close { .. } => {
            *file = None;
            Ok(DiskResult::Done)
        }
        DiskOp::Rename { from, to } => rename(root, from, to),
        DiskOp::Remove { path } => remove(root, path),
        DiskOp::ListDir { path } => list_dir(root, path),
        DiskOp::CreateDir { path } => create_dir(root, path),
        DiskOp::ReplaceFile { path, data } => replace_file(root, path, data),
        DiskOp::ReadFile { path } => resolve(root, path).and_then(fs::read).map(|v| DiskResult::Read(Bytes::from(v))),
    };
    outcome.unwrap_or_else(|e| DiskResult::Failed(e.to_string()))
}

fn with_file(file: &Option<Arc<File>>) -> io::Result<&File> {
    file.as_deref().ok_or_else(|| io::Error::other("file is not open (open failed or closed)"))
}

/// `root` joined with a relative path that stays inside it; `""` and `.` are the root.
pub fn resolve(root: &Path, rel: &str) -> io::Result<PathBuf> {
    let mut out = root.to_path_buf();
    for component in Path::new(rel).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("path {rel:?} escapes the data directory")));
            }
        }
    }
    Ok(out)
}

fn open(root: &Path, rel: &str, create: bool) -> io::Result<(File, u64)> {
    let path = resolve(root, rel)?;
    if create {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
    }
    let f = OpenOptions::new().read(true).write(true).create(create).open(&path)?;
    let len = f.metadata()?.len();
    Ok((f, len))
}

fn read_at(f: &File, pos: u64, len: u32) -> io::Result<DiskResult> {
    let file_len = f.metadata()?.len();
    let want = file_len.saturating_sub(pos).min(u64::from(len));
    let want = usize::try_from(want).map_err(io::Error::other)?;
    // Read into uninitialised capacity: zeroing a buffer the kernel overwrites at
    // once cost as much as the copy itself on fetch-heavy loads.
    let mut buf: Vec<u8> = Vec::with_capacity(want);
    let mut got = 0;
    while got < want {
        let offset = libc::off_t::try_from(pos + got as u64).map_err(io::Error::other)?;
        // SAFETY: the pointer and length stay inside `buf`'s allocation past its
        // initialised length `got`; pread writes at most `want - got` bytes there.
        let n = unsafe { libc::pread(f.as_raw_fd(), buf.as_mut_ptr().add(got).cast(), want - got, offset) };
        match n {
            0 => break, // shrank underneath us: EOF
            n if n > 0 => {
                got += n as usize;
                // SAFETY: pread initialised the `n` bytes after `got - n`.
                unsafe { buf.set_len(got) };
            }
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(DiskResult::Read(Bytes::from(buf)))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

fn rename(root: &Path, from: &str, to: &str) -> io::Result<DiskResult> {
    let from = resolve(root, from)?;
    let to = resolve(root, to)?;
    fs::rename(&from, &to)?;
    sync_parent(&to)?;
    if from.parent() != to.parent() {
        sync_parent(&from)?;
    }
    Ok(DiskResult::Done)
}

fn remove(root: &Path, rel: &str) -> io::Result<DiskResult> {
    let path = resolve(root, rel)?;
    if path == root {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "refusing to remove the data directory"));
    }
    let removed = match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DiskResult::Done),
        Err(e) => return Err(e),
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path),
        Ok(_) => fs::remove_file(&path),
    };
    match removed {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => other?,
    }
    sync_parent(&path)?;
    Ok(DiskResult::Done)
}

fn list_dir(root: &Path, rel: &str) -> io::Result<DiskResult> {
    let path = resolve(root, rel)?;
    let entries = match fs::read_dir(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DiskResult::Listing(Vec::new())),
        other => other?,
    };
    let mut listing = Vec::new();
    for entry in entries {
        let entry = entry?;
        let meta = match entry.metadata() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // removed meanwhile
            other => other?,
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        listing.push(DirEntry { name, is_dir: meta.is_dir(), len: if meta.is_dir() { 0 } else { meta.len() } });
    }
    listing.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(DiskResult::Listing(listing))
}

fn create_dir(root: &Path, rel: &str) -> io::Result<DiskResult> {
    let path = resolve(root, rel)?;
    fs::create_dir_all(&path)?;
    sync_parent(&path)?;
    Ok(DiskResult::Done)
}

fn replace_file(root: &Path, rel: &str, data: &[u8]) -> io::Result<DiskResult> {
    let path = resolve(root, rel)?;
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{rel:?} names no file")))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    sync_parent(&path)?;
    Ok(DiskResult::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn req(id: u64, op: DiskOp) -> DiskRequest {
        DiskRequest { id: IoId(id), op }
    }

    /// Submits like the driver does: an inline completion is delivered after every
    /// completion already on the channel (kept in `INLINE`, per test thread).
    fn submit(exec: &mut DiskExecutor, rx: &mut mpsc::UnboundedReceiver<DiskCompletions>, r: DiskRequest) {
        if let Some(done) = exec.submit(r) {
            INLINE.with(|i| {
                let mut i = i.borrow_mut();
                while let Ok(batch) = rx.try_recv() {
                    i.extend(batch);
                }
                i.push(done);
            });
        }
    }

    thread_local! {
        static INLINE: std::cell::RefCell<Vec<(IoId, DiskResult)>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Collects completions until `n` arrived (bounded in time), those delivered by
    /// [`submit`] first.
    async fn collect(rx: &mut mpsc::UnboundedReceiver<DiskCompletions>, n: usize) -> Vec<(IoId, DiskResult)> {
        let mut out = INLINE.with(|i| std::mem::take(&mut *i.borrow_mut()));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while out.len() < n {
            let batch = tokio::time::timeout_at(deadline, rx.recv()).await.expect("completions in time").expect("open");
            out.extend(batch);
        }
        out
    }

    /// Waits (bounded) until `file`'s runner has finished: it sends its completions
    /// just before it marks the lane idle, so a test that wants the inline path waits.
    async fn lane_idle(exec: &DiskExecutor, file: FileId) {
        let lane = Arc::clone(exec.files.get(&file).expect("lane"));
        for _ in 0..2000 {
            if !lock(&lane.state).running {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        panic!("lane {} still running after 2 s", file.0);
    }

    fn setup() -> (tempfile::TempDir, DiskExecutor, mpsc::UnboundedReceiver<DiskCompletions>) {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let exec = DiskExecutor::new(dir.path().to_path_buf(), tx);
        (dir, exec, rx)
    }

    /// Proves ops on one file run and complete in issue order, and overlapping writes land last-writer-wins.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_file_runs_in_issue_order() {
        let (dir, mut exec, mut rx) = setup();
        let f = FileId(7);
        submit(&mut exec, &mut rx, req(0, DiskOp::Open { file: f, path: "t-0/00000.log".into(), create: true }));
        let writes = 200u64;
        for i in 0..writes {
            // Each write overwrites bytes 0..8 and appends its own 8 bytes.
            let data = Bytes::copy_from_slice(&i.to_be_bytes());
            submit(&mut exec, &mut rx, req(1 + 2 * i, DiskOp::Write { file: f, pos: 0, data: data.clone() }));
            submit(&mut exec, &mut rx, req(2 + 2 * i, DiskOp::Write { file: f, pos: 8 * (i + 1), data }));
        }
        let sync_id = 1 + 2 * writes;
        submit(&mut exec, &mut rx, req(sync_id, DiskOp::Sync { file: f }));
        submit(&mut exec, &mut rx, req(sync_id + 1, DiskOp::Read { file: f, pos: 0, len: 8 }));
        submit(&mut exec, &mut rx, req(sync_id + 2, DiskOp::Read { file: f, pos: 8 * writes, len: 1000 }));
        submit(&mut exec, &mut rx, req(sync_id + 3, DiskOp::Close { file: f }));
        let results = collect(&mut rx, (sync_id + 4) as usize).await;
        let ids: Vec<u64> = results.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, (0..sync_id + 4).collect::<Vec<_>>(), "completions in issue order");
        assert!(matches!(results[0].1, DiskResult::Opened { len: 0 }));
        match &results[(sync_id + 1) as usize].1 {
            DiskResult::Read(b) => assert_eq!(&b[..], &(writes - 1).to_be_bytes()),
            other => panic!("read: {other:?}"),
        }
        match &results[(sync_id + 2) as usize].1 {
            DiskResult::Read(b) => {
                assert_eq!(&b[..], &(writes - 1).to_be_bytes(), "short read at EOF")
            }
            other => panic!("read: {other:?}"),
        }
        let on_disk = fs::read(dir.path().join("t-0/00000.log")).unwrap();
        assert_eq!(on_disk.len() as u64, 8 * (writes + 1));
        assert_eq!(exec.open_files(), 0);
    }

    /// Proves a write goes ahead inline while the lane's runner syncs with nothing
    /// queued (marking the file dirty again, so the next sync covers it), and waits
    /// in the queue while the runner does anything else or something is queued.
    #[test]
    fn writes_go_ahead_only_during_a_lone_sync() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(OpenOptions::new().read(true).write(true).create(true).truncate(true).open(dir.path().join("seg")).unwrap());
        let lane = Lane::default();
        {
            let mut st = lock(&lane.state);
            st.file = Some(Arc::clone(&file));
            st.running = true;
        }
        let write = |pos, data: &'static [u8]| req(1, DiskOp::Write { file: FileId(1), pos, data: Bytes::from_static(data) });
        assert!(lane.write_run_if_idle(&[write(0, b"busy")]).is_none(), "runner busy with other work: queue");
        lock(&lane.state).syncing = true;
        assert!(matches!(lane.write_run_if_idle(&[write(0, b"abc")]), Some(DiskResult::Done)), "lone sync: write goes ahead");
        assert!(lock(&lane.state).dirty, "the write is not covered by the running sync");
        lock(&lane.state).queue.push_back(req(9, DiskOp::Truncate { file: FileId(1), len: 0 }));
        assert!(lane.write_run_if_idle(&[write(3, b"def")]).is_none(), "something queued: the write queues behind it");
        assert_eq!(fs::read(dir.path().join("seg")).unwrap(), b"abc");
    }

    /// Proves writes interleaved with syncs (some of them going ahead of a running
    /// sync) all land and are all answered, and a read queued after them sees them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_interleaved_with_syncs_all_land() {
        let (dir, mut exec, mut rx) = setup();
        let f = FileId(3);
        submit(&mut exec, &mut rx, req(0, DiskOp::Open { file: f, path: "seg".into(), create: true }));
        let mut want = Vec::new();
        let mut id = 1;
        for i in 0..300u64 {
            let chunk = vec![i as u8; 100 + (i as usize % 50)];
            submit(&mut exec, &mut rx, req(id, DiskOp::Write { file: f, pos: want.len() as u64, data: Bytes::from(chunk.clone()) }));
            want.extend_from_slice(&chunk);
            id += 1;
            if i % 7 == 0 {
                submit(&mut exec, &mut rx, req(id, DiskOp::Sync { file: f }));
                id += 1;
            }
        }
        submit(&mut exec, &mut rx, req(id, DiskOp::Sync { file: f }));
        submit(&mut exec, &mut rx, req(id + 1, DiskOp::Read { file: f, pos: 0, len: want.len() as u32 }));
        let mut results = collect(&mut rx, (id + 2) as usize).await;
        results.sort_by_key(|(i, _)| *i);
        assert_eq!(results.len() as u64, id + 2);
        for (i, r) in &results[..results.len() - 1] {
            assert!(matches!(r, DiskResult::Done | DiskResult::Opened { .. }), "op {}: {r:?}", i.0);
        }
        assert!(matches!(&results.last().unwrap().1, DiskResult::Read(b) if b[..] == want[..]));
        assert_eq!(fs::read(dir.path().join("seg")).unwrap(), want);
    }

    /// Proves back-to-back appends (coalesced into vectored writes) land exactly, each answered.
    #[tokio::test]
    async fn contiguous_appends_land_in_order() {
        let (dir, mut exec, mut rx) = setup();
        let f = FileId(1);
        submit(&mut exec, &mut rx, req(0, DiskOp::Open { file: f, path: "seg".into(), create: true }));
        let mut want = Vec::new();
        let n = 1500u64; // more than one run
        for i in 0..n {
            let chunk: Vec<u8> = (0..(i % 37)).map(|b| (b as u8) ^ (i as u8)).collect();
            submit(&mut exec, &mut rx, req(1 + i, DiskOp::Write { file: f, pos: want.len() as u64, data: Bytes::from(chunk.clone()) }));
            want.extend_from_slice(&chunk);
        }
        submit(&mut exec, &mut rx, req(1 + n, DiskOp::Sync { file: f }));
        submit(&mut exec, &mut rx, req(2 + n, DiskOp::Sync { file: f }));
        submit(&mut exec, &mut rx, req(3 + n, DiskOp::Truncate { file: f, len: 10 }));
        let results = collect(&mut rx, (4 + n) as usize).await;
        for (k, (id, r)) in results.iter().enumerate() {
            assert_eq!(id.0, k as u64);
            assert!(matches!(r, DiskResult::Done | DiskResult::Opened { .. }), "op {k}: {r:?}");
        }
        assert_eq!(fs::read(dir.path().join("seg")).unwrap(), &want[..10]);
    }

    /// Proves a drain pass's appends to idle files are written inline as runs (one
    /// completion per write, in issue order, none sent through the channel), runs stop
    /// at another file, a gap or another kind of operation, and the bytes land exactly.
    #[tokio::test]
    async fn submit_all_writes_runs_inline() {
        let (dir, mut exec, mut rx) = setup();
        let (a, b) = (FileId(1), FileId(2));
        submit(&mut exec, &mut rx, req(0, DiskOp::Open { file: a, path: "a".into(), create: true }));
        submit(&mut exec, &mut rx, req(1, DiskOp::Open { file: b, path: "b".into(), create: true }));
        let opened = collect(&mut rx, 2).await;
        assert!(opened.iter().all(|(_, r)| matches!(r, DiskResult::Opened { len: 0 })));
        lane_idle(&exec, a).await;
        lane_idle(&exec, b).await;
        let w = |id, file, pos, text: &'static str| req(id, DiskOp::Write { file, pos, data: Bytes::from_static(text.as_bytes()) });
        let mut pass: VecDeque<DiskRequest> = [
            w(2, a, 0, "one-"),
            w(3, a, 4, "two-"),
            w(4, a, 8, "three"),
            w(5, b, 0, "bee"), // another file ends a's run
            w(6, b, 3, "s"),
            w(7, b, 10, "gap"), // not contiguous: a run of its own
            w(8, a, 13, "!"),
        ]
        .into();
        let mut inline = Vec::new();
        exec.submit_all(&mut pass, &mut inline);
        assert!(pass.is_empty());
        let ids: Vec<u64> = inline.iter().map(|(id, _)| id.0).collect();
        assert_eq!(ids, (2..=8).collect::<Vec<_>>(), "every write inline, in issue order");
        assert!(inline.iter().all(|(_, r)| matches!(r, DiskResult::Done)), "{inline:?}");
        assert!(rx.try_recv().is_err(), "nothing went through a lane");
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"one-two-three!");
        assert_eq!(fs::read(dir.path().join("b")).unwrap(), b"bees\0\0\0\0\0\0gap");

        // A lane that is busy (here: an open queued in the same pass) takes the run
        // through its runner instead (unless the runner finished the open already),
        // still in order.
        let c = FileId(3);
        let mut pass: VecDeque<DiskRequest> =
            [req(9, DiskOp::Open { file: c, path: "c".into(), create: true }), w(10, c, 0, "x"), w(11, c, 1, "y")].into();
        let mut inline = Vec::new();
        exec.submit_all(&mut pass, &mut inline);
        let from_lane = collect(&mut rx, 3 - inline.len()).await;
        let ids: Vec<u64> = from_lane.iter().chain(&inline).map(|(id, _)| id.0).collect();
        assert_eq!(ids, vec![9, 10, 11]);
        assert_eq!(fs::read(dir.path().join("c")).unwrap(), b"xy");
    }

    /// Proves a run that cannot be written is failed as a whole: no write of it reported done.
    #[tokio::test]
    async fn failed_inline_run_fails_every_write() {
        let (dir, mut exec, mut rx) = setup();
        fs::create_dir(dir.path().join("is-a-dir")).unwrap();
        let f = FileId(4);
        submit(&mut exec, &mut rx, req(0, DiskOp::Open { file: f, path: "is-a-dir".into(), create: false }));
        let opened = collect(&mut rx, 1).await;
        assert!(matches!(opened[0].1, DiskResult::Failed(_)), "opening a directory for writing fails");
        lane_idle(&exec, f).await;
        let mut pass: VecDeque<DiskRequest> =
            (0..3u64).map(|i| req(1 + i, DiskOp::Write { file: f, pos: i, data: Bytes::from_static(b"z") })).collect();
        let mut inline = Vec::new();
        exec.submit_all(&mut pass, &mut inline);
        assert_eq!(inline.len(), 3);
        assert!(inline.iter().all(|(_, r)| matches!(r, DiskResult::Failed(_))), "{inline:?}");
    }

    /// Proves ReplaceFile leaves exactly the new content and no temporary file, and ReadFile reads it back.
    #[tokio::test]
    async fn replace_file_replaces_atomically() {
        let (dir, mut exec, mut rx) = setup();
        fs::write(dir.path().join("checkpoint"), b"old").unwrap();
        submit(&mut exec, &mut rx, req(1, DiskOp::ReplaceFile { path: "checkpoint".into(), data: Bytes::from_static(b"new!") }));
        submit(&mut exec, &mut rx, req(2, DiskOp::ReadFile { path: "checkpoint".into() }));
        submit(&mut exec, &mut rx, req(3, DiskOp::ReplaceFile { path: "sub/dir/meta".into(), data: Bytes::from_static(b"m") }));
        submit(&mut exec, &mut rx, req(4, DiskOp::ReadFile { path: "missing".into() }));
        let results = collect(&mut rx, 4).await;
        assert!(matches!(results[0].1, DiskResult::Done));
        assert!(matches!(&results[1].1, DiskResult::Read(b) if &b[..] == b"new!"));
        assert!(matches!(results[2].1, DiskResult::Done));
        assert!(matches!(results[3].1, DiskResult::Failed(_)), "missing file fails");
        assert_eq!(fs::read(dir.path().join("checkpoint")).unwrap(), b"new!");
        assert!(!dir.path().join("checkpoint.tmp").exists());
        assert_eq!(fs::read(dir.path().join("sub/dir/meta")).unwrap(), b"m");
    }

    /// Proves ListDir of a missing directory is empty, and a real listing is sorted with kinds and lengths.
    #[tokio::test]
    async fn list_dir_missing_is_empty_and_sorted() {
        let (dir, mut exec, mut rx) = setup();
        fs::create_dir(dir.path().join("b-dir")).unwrap();
        fs::write(dir.path().join("c"), b"123").unwrap();
        fs::write(dir.path().join("a"), b"1").unwrap();
        submit(&mut exec, &mut rx, req(1, DiskOp::ListDir { path: "nope/nothing".into() }));
        submit(&mut exec, &mut rx, req(2, DiskOp::ListDir { path: "".into() }));
        let results = collect(&mut rx, 2).await;
        assert!(matches!(&results[0].1, DiskResult::Listing(v) if v.is_empty()));
        let DiskResult::Listing(v) = &results[1].1 else { panic!("{:?}", results[1].1) };
        let want = vec![
            DirEntry { name: "a".into(), is_dir: false, len: 1 },
            DirEntry { name: "b-dir".into(), is_dir: true, len: 0 },
            DirEntry { name: "c".into(), is_dir: false, len: 3 },
        ];
        assert_eq!(v, &want);
    }

    /// Proves paths that are absolute or contain `..` are refused, and nothing outside the root is touched.
    #[tokio::test]
    async fn path_escape_is_rejected() {
        let (dir, mut exec, mut rx) = setup();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let abs = victim.to_string_lossy().into_owned();
        submit(&mut exec, &mut rx, req(1, DiskOp::Remove { path: abs.clone() }));
        submit(&mut exec, &mut rx, req(2, DiskOp::ReadFile { path: "../x".into() }));
        submit(&mut exec, &mut rx, req(3, DiskOp::Open { file: FileId(1), path: "a/../../x".into(), create: true }));
        submit(&mut exec, &mut rx, req(4, DiskOp::ReplaceFile { path: abs, data: Bytes::from_static(b"gone") }));
        submit(&mut exec, &mut rx, req(5, DiskOp::Rename { from: "a".into(), to: "/tmp/a".into() }));
        submit(&mut exec, &mut rx, req(6, DiskOp::Remove { path: "".into() }));
        let results = collect(&mut rx, 6).await;
        for (id, r) in &results {
            assert!(matches!(r, DiskResult::Failed(_)), "op {} must fail: {r:?}", id.0);
        }
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(dir.path().exists());
    }

    /// Proves ops on a file that is not open fail instead of panicking, and Remove/CreateDir/Rename work.
    #[tokio::test]
    async fn unopened_file_fails_and_path_ops_work() {
        let (dir, mut exec, mut rx) = setup();
        submit(&mut exec, &mut rx, req(1, DiskOp::Write { file: FileId(9), pos: 0, data: Bytes::from_static(b"x") }));
        submit(&mut exec, &mut rx, req(2, DiskOp::CreateDir { path: "t/p".into() }));
        submit(&mut exec, &mut rx, req(3, DiskOp::ReplaceFile { path: "t/p/f".into(), data: Bytes::from_static(b"x") }));
        submit(&mut exec, &mut rx, req(4, DiskOp::Rename { from: "t/p/f".into(), to: "t/g".into() }));
        submit(&mut exec, &mut rx, req(5, DiskOp::Remove { path: "t/p".into() }));
        submit(&mut exec, &mut rx, req(6, DiskOp::Remove { path: "t/never".into() }));
        let mut results = collect(&mut rx, 6).await;
        results.sort_by_key(|(id, _)| *id);
        assert!(matches!(results[0].1, DiskResult::Failed(_)));
        for (id, r) in &results[1..] {
            assert!(matches!(r, DiskResult::Done), "op {}: {r:?}", id.0);
        }
        assert!(dir.path().join("t/g").is_file());
        assert!(!dir.path().join("t/p").exists());
    }
}
