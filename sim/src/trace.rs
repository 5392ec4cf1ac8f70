//! The trace of one run: one line per notable event, and a stable hash of it.
//!
//! The hash is FNV-1a (64 bit) over the lines, chosen because it is fixed by its
//! definition: `DefaultHasher` may change between toolchains, and the same seed
//! must give the same hash on every machine and every day.

use std::sync::{Arc, Mutex};

/// Shared, cheap to clone; every task of a run records into the same trace.
#[derive(Clone, Default)]
pub struct Trace {
    inner: Arc<Mutex<TraceLog>>,
}

#[derive(Default)]
struct TraceLog {
    hash: u64,
    lines: u64,
    /// The last lines, for printing when a seed fails.
    tail: std::collections::VecDeque<String>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const TAIL_LINES_MAX: usize = 200;

/// FNV-1a over bytes, continuing from `hash`.
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= *b as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

impl Trace {
    pub fn new() -> Trace {
        Trace { inner: Arc::new(Mutex::new(TraceLog { hash: FNV_OFFSET, ..Default::default() })) }
    }

    /// Record one event. Callers prefix the simulated time themselves when it matters.
    pub fn record(&self, line: impl std::fmt::Display) {
        let line = line.to_string();
        let mut t = self.inner.lock().expect("trace lock");
        t.hash = fnv1a(t.hash, line.as_bytes());
        t.hash = fnv1a(t.hash, b"\n");
        t.lines += 1;
        if t.tail.len() == TAIL_LINES_MAX {
            t.tail.pop_front();
        }
        t.tail.push_back(line);
    }

    /// Fold an event into the hash without keeping a line: every input handed to
    /// a node's core and every output it produced (with their bytes) goes through
    /// here, so two runs with equal hashes saw the same core behaviour.
    pub fn mix(&self, tag: &str, bytes: &[u8]) {
        let mut t = self.inner.lock().expect("trace lock");
        t.hash = fnv1a(t.hash, tag.as_bytes());
        t.hash = fnv1a(t.hash, &(bytes.len() as u64).to_le_bytes());
        t.hash = fnv1a(t.hash, bytes);
    }

    pub fn hash(&self) -> u64 {
        self.inner.lock().expect("trace lock").hash
    }

    pub fn lines(&self) -> u64 {
        self.inner.lock().expect("trace lock").lines
    }

    pub fn tail(&self) -> Vec<String> {
        self.inner.lock().expect("trace lock").tail.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash is fixed by its definition (FNV-1a test vector) and depends on order.
    #[test]
    fn stable_hash() {
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        let (a, b) = (Trace::new(), Trace::new());
        a.record("x");
        a.record("y");
        b.record("y");
        b.record("x");
        assert_ne!(a.hash(), b.hash());
    }
}
