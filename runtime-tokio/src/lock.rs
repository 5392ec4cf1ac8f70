//! An exclusive lock on the data directory, so that two servers never share one.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

/// Held for the life of the process; the kernel releases it when the file closes.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Lock file name inside the data directory.
pub const LOCK_FILE: &str = ".lock";

impl DirLock {
    /// Take the lock on `dir` (which must exist), or say who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, String> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
        // SAFETY: flock on a valid, open descriptor owned by `file`.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(format!(
                    "data directory {} is in use by another chronik-server (pid {}); \
                     stop it or choose another --data-dir",
                    dir.display(),
                    holder.trim()
                ));
            }
            return Err(format!("cannot lock {}: {err}", path.display()));
        }
        // Record our pid for operators; failure to do so is harmless.
        let _ = file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id()));
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves a second lock on the same directory is refused while the first is held, and allowed after.
    #[test]
    fn second_lock_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(err.contains("in use"), "{err}");
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
