//! A counting global allocator: live bytes, the peak of live bytes and the largest
//! single allocation since a [`Window`] was opened.
//!
//! Each fuzz target installs it with
//! `#[global_allocator] static A: chronik_fuzz::alloc::Counting = chronik_fuzz::alloc::Counting;`.
//! Counters are process-wide atomics; the targets are single-threaded, so a window
//! sees exactly the allocations of the code it brackets.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize, block: usize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live, Relaxed);
    LARGEST.fetch_max(block, Relaxed);
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size(), layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size(), layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            let old = layout.size();
            // Count the old block as live until the new one exists: a moving
            // realloc holds both for a moment.
            if new_size >= old {
                grew(new_size - old, new_size);
            } else {
                shrank(old - new_size);
            }
        }
        p
    }
}

/// Bytes currently allocated through [`Counting`].
pub fn live_bytes() -> usize {
    LIVE.load(Relaxed)
}

/// A measurement window: opened by [`Window::open`], read with its methods.
pub struct Window {
    base: usize,
}

impl Window {
    /// Start measuring: the peak restarts from the bytes live now.
    pub fn open() -> Window {
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        LARGEST.store(0, Relaxed);
        Window { base }
    }

    /// The highest live bytes reached since `open`, above what was live then.
    pub fn peak_growth(&self) -> usize {
        PEAK.load(Relaxed).saturating_sub(self.base)
    }

    /// The largest single block allocated (or reallocated to) since `open`.
    pub fn largest_block(&self) -> usize {
        LARGEST.load(Relaxed)
    }
}
