//! Proves DESIGN §5 item 3 for replicated partitions, from every node's
//! `HighWatermark` events: within one run (incarnation) of a node, the high
//! watermark it reports for one (topic, partition, leader epoch) never
//! decreases, and it never exceeds the leader's log end offset reported with
//! it. A leader whose high watermark went back had counted as committed
//! something it then forgot (or answered acks=all too early).

use std::collections::BTreeMap;

use chronik_core::cluster::events::ClusterEvent;

use crate::cluster::TaggedEvent;

pub const NAME: &str = "replica_hw";

pub fn check(events: &[TaggedEvent]) -> Vec<String> {
    // (node, incarnation, topic, partition, leader epoch) -> highest so far.
    let mut max: BTreeMap<(usize, u32, &str, i32, i32), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in events {
        let ClusterEvent::HighWatermark { topic, partition, leader_epoch, high_watermark, log_end } = &e.event else { continue };
        let (hw, end) = (high_watermark.0, log_end.0);
        let at = format!("{}ms node {} (run {}) {topic}-{partition} epoch {}", e.at_ms, e.node, e.incarnation, leader_epoch.0);
        if hw > end {
            out.push(format!("{at}: high watermark {hw} above log end {end}"));
        }
        let m = max.entry((e.node, e.incarnation, topic.as_str(), *partition, leader_epoch.0)).or_insert(i64::MIN);
        if hw < *m {
            out.push(format!("{at}: high watermark went from {} back to {hw}", *m));
        }
        *m = (*m).max(hw);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronik_core::types::{LeaderEpoch, Offset};

    fn hw(node: usize, incarnation: u32, epoch: i32, hw: i64, end: i64) -> TaggedEvent {
        TaggedEvent {
            at_ms: 0,
            node,
            incarnation,
            event: ClusterEvent::HighWatermark {
                topic: "t".into(),
                partition: 0,
                leader_epoch: LeaderEpoch(epoch),
                high_watermark: Offset(hw),
                log_end: Offset(end),
            },
        }
    }

    // Proves: rising high watermarks pass; a new epoch, node or run may start lower.
    #[test]
    fn passes_when_rising_per_epoch() {
        let h = vec![hw(0, 0, 1, 0, 0), hw(0, 0, 1, 3, 5), hw(0, 0, 1, 3, 6), hw(1, 0, 2, 2, 6), hw(0, 1, 1, 1, 4), hw(1, 0, 2, 6, 6)];
        assert_eq!(check(&h), Vec::<String>::new());
    }

    // Proves: a high watermark that goes back within one epoch and run is reported.
    #[test]
    fn fails_when_it_goes_back() {
        let v = check(&[hw(0, 0, 1, 5, 5), hw(0, 0, 1, 4, 7)]);
        assert!(v.len() == 1 && v[0].contains("from 5 back to 4"), "{v:?}");
    }

    // Proves: a high watermark above the log end is reported.
    #[test]
    fn fails_above_log_end() {
        let v = check(&[hw(2, 0, 3, 8, 7)]);
        assert!(v.len() == 1 && v[0].contains("above log end 7"), "{v:?}");
    }
}
