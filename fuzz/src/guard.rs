//! Panics: a bug unless the core catches them itself.
//!
//! libfuzzer-sys installs a panic hook that aborts at once, before unwinding. The
//! core deliberately wraps third-party decompressors in `catch_unwind` (DESIGN §9:
//! hostile bytes must not take the broker down), so that hook would report a panic
//! the core handles as a crash. [`run`] replaces the hook with one that only records
//! the message, location and backtrace, runs the body under `catch_unwind`, and
//! aborts (printing the record) only when a panic escapes the body — that is, one
//! the core did not handle.

use std::backtrace::Backtrace;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};

static INSTALL: Once = Once::new();
/// The last panic's message and (unresolved: symbolizing is slow) backtrace.
static LAST: Mutex<Option<(String, Backtrace)>> = Mutex::new(None);

fn install() {
    INSTALL.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let record = (info.to_string(), Backtrace::force_capture());
            if let Ok(mut last) = LAST.lock() {
                *last = Some(record);
            }
        }));
    });
}

/// Run `f`; a panic that escapes it is printed and aborts the process (libFuzzer
/// then saves the input as a crash).
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    install();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            match LAST.lock().ok().and_then(|mut l| l.take()) {
                Some((msg, bt)) => eprintln!("==== chronik-fuzz: panic escaped ====\n{msg}\nbacktrace:\n{bt}"),
                None => eprintln!("==== chronik-fuzz: panic escaped (no record) ===="),
            }
            std::process::abort();
        }
    }
}
