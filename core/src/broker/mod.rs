//! The broker state machine. STUB: the real one is being written.

use std::collections::VecDeque;

use crate::config::BrokerConfig;
use crate::io::{Input, Output};
use crate::types::Millis;

/// The broker. Contract: after every [`Broker::handle`] the driver drains
/// [`Broker::poll_output`] until `None`, then sleeps until [`Broker::poll_timeout`]
/// (or the next input) and calls `handle(now, Input::Tick)`.
pub struct Broker {
    out: VecDeque<Output>,
}

impl Broker {
    /// A broker over the data directory the driver serves. It starts by
    /// recovering what is on disk and reports `Output::Ready` when it serves.
    pub fn new(config: BrokerConfig, now: Millis) -> Broker {
        let _ = (config, now);
        Broker { out: VecDeque::from([Output::Ready]) }
    }

    pub fn handle(&mut self, now: Millis, input: Input) {
        let _ = (now, input);
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Millis> {
        None
    }
}
