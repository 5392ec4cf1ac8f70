//! Proves the "no truncation below the high watermark" half of DESIGN §5 item
//! 4, from every node's `Truncated` events: a follower never cuts its log
//! below the committed offset it knew, and that committed offset is one some
//! leader of the partition had reported (as a `HighWatermark` event) before
//! the cut: a follower cannot know of a commit no leader made. (That the
//! committed records themselves stay identical is `replica_agreement`'s.)

use std::collections::BTreeMap;

use chronik_core::cluster::events::ClusterEvent;

use crate::cluster::TaggedEvent;

pub const NAME: &str = "truncation";

pub fn check(events: &[TaggedEvent]) -> Vec<String> {
    // (topic, partition) -> highest high watermark any leader reported so far.
    let mut reported: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in events {
        match &e.event {
            ClusterEvent::HighWatermark { topic, partition, high_watermark, .. } => {
                let m = reported.entry((topic.as_str(), *partition)).or_insert(0);
                *m = (*m).max(high_watermark.0);
            }
            ClusterEvent::Truncated { topic, partition, leader_epoch, to, high_watermark } => {
                let at = format!("{}ms node {} (run {}) {topic}-{partition} epoch {}", e.at_ms, e.node, e.incarnation, leader_epoch.0);
                if to.0 < high_watermark.0 {
                    out.push(format!("{at}: truncated to {} below its committed offset {}", to.0, high_watermark.0));
                }
                let known = reported.get(&(topic.as_str(), *partition)).copied().unwrap_or(0);
                if high_watermark.0 > known {
                    out.push(format!("{at}: knew committed offset {} but no leader had reported more than {known}", high_watermark.0));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronik_core::types::{LeaderEpoch, Offset};

    fn ev(node: usize, event: ClusterEvent) -> TaggedEvent {
        TaggedEvent { at_ms: 0, node, incarnation: 0, event }
    }

    fn hw(v: i64) -> TaggedEvent {
        ev(
            0,
            ClusterEvent::HighWatermark {
                topic: "t".into(),
                partition: 0,
                leader_epoch: LeaderEpoch(1),
                high_watermark: Offset(v),
                log_end: Offset(v),
            },
        )
    }

    fn cut(to: i64, committed: i64) -> TaggedEvent {
        ev(
            1,
            ClusterEvent::Truncated {
                topic: "t".into(),
                partition: 0,
                leader_epoch: LeaderEpoch(2),
                to: Offset(to),
                high_watermark: Offset(committed),
            },
        )
    }

    // Proves: a cut at or above a reported committed offset passes.
    #[test]
    fn passes_at_or_above_committed() {
        assert_eq!(check(&[hw(4), cut(4, 4), cut(9, 3)]), Vec::<String>::new());
    }

    // Proves: a cut below the committed offset is reported.
    #[test]
    fn fails_below_committed() {
        let v = check(&[hw(4), cut(2, 4)]);
        assert!(v.len() == 1 && v[0].contains("truncated to 2 below its committed offset 4"), "{v:?}");
    }

    // Proves: a committed offset no leader had reported is reported.
    #[test]
    fn fails_on_unreported_commit() {
        let v = check(&[hw(4), cut(7, 7)]);
        assert!(v.len() == 1 && v[0].contains("no leader had reported more than 4"), "{v:?}");
    }
}
