//! The core's clock: wall-clock milliseconds since the Unix epoch, never going
//! backwards (a wall-clock step back holds time still until it catches up).

use std::time::{SystemTime, UNIX_EPOCH};

use chronik_core::types::Millis;

#[derive(Debug, Default)]
pub struct Clock {
    last: i64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Now, clamped to be at least the last value returned.
    pub fn now(&mut self) -> Millis {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0);
        self.last = self.last.max(wall);
        Millis(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the clock never goes backwards, even after it was ahead of the wall clock.
    #[test]
    fn never_goes_backwards() {
        let mut clock = Clock { last: i64::MAX - 1 };
        assert_eq!(clock.now(), Millis(i64::MAX - 1));
        let mut clock = Clock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a && a.0 > 1_600_000_000_000);
    }
}
