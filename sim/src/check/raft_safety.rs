//! Proves DESIGN §5 item 8 (metadata Raft safety) over the events of every node
//! of a cluster run, across restarts:
//!
//! - **Election safety**: at most one node is leader of a term. A node counts as
//!   leader of term T when it reports `RaftState { role: Leader, term: T }`, or
//!   when another node reports T with `leader: Some(it)` (raft-rs learns a leader
//!   only from that leader's own messages of the term, so a follower naming a
//!   different leader is as bad as two nodes claiming it).
//! - **Terms only grow**: within one incarnation of a node its term (and its
//!   commit index) never decreases. Across a restart the term may fall back only
//!   to a term the node never acted on as leader: a term reported before its hard
//!   state was synced can be lost with the power, harmlessly, but a node that led
//!   a term had synced it (its self-vote) and must come back at least there.
//! - **Committed entries never change**: one global map index -> (term, digest)
//!   built from every node's `Applied` events; two different entries applied at
//!   one index, by any nodes at any times, are a violation.
//! - **One history**: within an incarnation a node applies strictly increasing
//!   indexes and never skips an index some node applied (a new leader's empty
//!   entries are not reported, so gaps are allowed only where no command was
//!   ever applied), except across a `SnapshotInstalled`, which must not go back.

use std::collections::BTreeMap;

use chronik_core::cluster::events::ClusterEvent;
use chronik_core::cluster::raft::Role;

use crate::cluster::TaggedEvent;

pub const NAME: &str = "raft_safety";

pub fn check(events: &[TaggedEvent]) -> Vec<String> {
    let mut out = election_safety(events);
    out.extend(terms_grow(events));
    let (history, conflicts) = committed_history(events);
    out.extend(conflicts);
    out.extend(one_history(events, &history));
    out
}

/// At most one leader per term, whoever reports it.
fn election_safety(events: &[TaggedEvent]) -> Vec<String> {
    let mut leaders: BTreeMap<u64, (usize, String)> = BTreeMap::new();
    let mut reported = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        let ClusterEvent::RaftState { term, role, leader, .. } = &e.event else { continue };
        let mut claims = Vec::new();
        if *role == Role::Leader {
            claims.push((e.node, format!("node {} (incarnation {}) reported itself leader at {} ms", e.node, e.incarnation, e.at_ms)));
        }
        if let Some(l) = leader {
            claims.push((l.0 as usize, format!("node {} named node {} leader at {} ms", e.node, l.0, e.at_ms)));
        }
        for (node, why) in claims {
            match leaders.get(term) {
                None => {
                    leaders.insert(*term, (node, why));
                }
                Some((first, first_why)) if *first != node => {
                    if reported.insert(*term) {
                        out.push(format!("two leaders of term {term}: {first_why}; {why}"));
                    }
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// Per node: term and commit never go back within an incarnation; after a
/// restart the term is at least the highest term the node led.
fn terms_grow(events: &[TaggedEvent]) -> Vec<String> {
    #[derive(Default)]
    struct Seen {
        incarnation: u32,
        term: u64,
        commit: u64,
        led: u64,
    }
    let mut seen: BTreeMap<usize, Seen> = BTreeMap::new();
    let mut out = Vec::new();
    for e in events {
        let ClusterEvent::RaftState { term, role, commit, .. } = &e.event else { continue };
        match seen.get_mut(&e.node) {
            Some(s) if s.incarnation == e.incarnation => {
                if *term < s.term {
                    out.push(format!(
                        "node {} term went from {} back to {term} at {} ms (incarnation {})",
                        e.node, s.term, e.at_ms, e.incarnation
                    ));
                }
                if *commit < s.commit {
                    out.push(format!(
                        "node {} commit index went from {} back to {commit} at {} ms (incarnation {})",
                        e.node, s.commit, e.at_ms, e.incarnation
                    ));
                }
            }
            Some(s) => {
                if e.incarnation < s.incarnation {
                    out.push(format!("node {} reported incarnation {} after {}", e.node, e.incarnation, s.incarnation));
                }
                if *term < s.led {
                    out.push(format!(
                        "node {} restarted (incarnation {}) at term {term}, below term {} it had led",
                        e.node, e.incarnation, s.led
                    ));
                }
                s.incarnation = e.incarnation;
                s.term = 0;
                s.commit = 0;
            }
            None => {
                seen.insert(e.node, Seen { incarnation: e.incarnation, ..Default::default() });
            }
        }
        let s = seen.get_mut(&e.node).expect("inserted above");
        s.term = s.term.max(*term);
        s.commit = s.commit.max(*commit);
        if *role == Role::Leader {
            s.led = s.led.max(*term);
        }
    }
    out
}

/// What was applied at one index, and who first reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub term: u64,
    pub digest: u64,
    pub node: usize,
    pub at_ms: u64,
}

/// The global history index -> entry from every `Applied` event, and one
/// message per index where two different entries were applied.
pub fn committed_history(events: &[TaggedEvent]) -> (BTreeMap<u64, Committed>, Vec<String>) {
    let mut history: BTreeMap<u64, Committed> = BTreeMap::new();
    let mut out = Vec::new();
    let mut reported = std::collections::BTreeSet::new();
    for e in events {
        let ClusterEvent::Applied { index, term, digest, .. } = &e.event else { continue };
        match history.get(index) {
            None => {
                history.insert(*index, Committed { term: *term, digest: *digest, node: e.node, at_ms: e.at_ms });
            }
            Some(c) if (c.term, c.digest) != (*term, *digest) => {
                if reported.insert(*index) {
                    out.push(format!(
                        "committed entry {index} changed: node {} applied term {} digest {:016x} at {} ms, node {} applied term {term} digest {digest:016x} at {} ms",
                        c.node, c.term, c.digest, c.at_ms, e.node, e.at_ms
                    ));
                }
            }
            Some(_) => {}
        }
    }
    (history, out)
}

/// Each run (node, incarnation) applies increasing indexes without skipping a
/// committed command, except across a snapshot.
fn one_history(events: &[TaggedEvent], history: &BTreeMap<u64, Committed>) -> Vec<String> {
    // (node, incarnation) -> the index applied or installed last.
    let mut last: BTreeMap<(usize, u32), u64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in events {
        let run = (e.node, e.incarnation);
        match &e.event {
            ClusterEvent::Applied { index, .. } => {
                if let Some(prev) = last.get(&run) {
                    if index <= prev {
                        out.push(format!(
                            "node {} (incarnation {}) applied index {index} after {prev} at {} ms",
                            e.node, e.incarnation, e.at_ms
                        ));
                    } else if let Some((skipped, _)) = history.range(prev + 1..*index).next() {
                        out.push(format!(
                            "node {} (incarnation {}) skipped committed entry {skipped}: applied {index} after {prev} at {} ms",
                            e.node, e.incarnation, e.at_ms
                        ));
                    }
                }
                last.insert(run, *index);
            }
            ClusterEvent::SnapshotInstalled { index, .. } => {
                if let Some(prev) = last.get(&run) {
                    if index < prev {
                        out.push(format!(
                            "node {} (incarnation {}) installed a snapshot at {index} below its applied index {prev} at {} ms",
                            e.node, e.incarnation, e.at_ms
                        ));
                    }
                }
                last.insert(run, *index);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::cluster::*;
    use super::*;

    /// Three nodes, two terms, a leader change, a crash and restart of node 2
    /// that comes back below a term it only heard of, a snapshot catch-up.
    fn good() -> Vec<TaggedEvent> {
        vec![
            follower(0, 0, 1, None),
            follower(1, 0, 1, None),
            follower(2, 0, 1, None),
            leader(0, 0, 2),
            follower(1, 0, 2, Some(0)),
            follower(2, 0, 2, Some(0)),
            applied(0, 0, 3, 2, 0xa),
            applied(1, 0, 3, 2, 0xa),
            applied(0, 0, 5, 2, 0xb), // 4 was an empty entry
            applied(1, 0, 5, 2, 0xb),
            follower(2, 0, 3, None), // heard of term 3, crashed before syncing it
            follower(2, 1, 2, Some(0)),
            leader(1, 0, 4),
            follower(0, 0, 4, Some(1)),
            applied(1, 0, 7, 4, 0xc),
            applied(0, 0, 7, 4, 0xc),
            snapshot(2, 1, 7, 4),
            applied(2, 1, 8, 4, 0xd),
            applied(1, 0, 8, 4, 0xd),
        ]
    }

    // Proves: a history that keeps every rule passes.
    #[test]
    fn passes_a_good_history() {
        assert_eq!(check(&good()), Vec::<String>::new());
    }

    // Proves: two nodes claiming one term, or a follower naming another leader of the term, are reported.
    #[test]
    fn two_leaders_in_a_term() {
        let mut h = good();
        h.push(leader(2, 1, 4));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("two leaders of term 4"), "{v:?}");
        let mut h = good();
        h.push(follower(2, 1, 2, Some(1)));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("two leaders of term 2"), "{v:?}");
    }

    // Proves: a term going back within an incarnation, or below a led term after a restart, is reported.
    #[test]
    fn term_goes_back() {
        let mut h = good();
        h.push(follower(0, 0, 3, Some(1)));
        let v = check(&h);
        assert!(v.iter().any(|m| m.contains("node 0 term went from 4 back to 3")), "{v:?}");
        let mut h = good();
        h.push(follower(1, 1, 3, None)); // node 1 led term 4, restarts at 3
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("below term 4 it had led"), "{v:?}");
    }

    // Proves: two different entries applied at one index (by different nodes) are reported.
    #[test]
    fn committed_entry_changes() {
        let mut h = good();
        h.push(applied(0, 0, 8, 4, 0xd));
        h.push(applied(2, 1, 9, 4, 0xe));
        h.push(applied(0, 0, 9, 4, 0xf));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("committed entry 9 changed"), "{v:?}");
    }

    // Proves: a node that skips a committed command, or applies an index twice, is reported; a snapshot may skip.
    #[test]
    fn applied_is_a_prefix() {
        let mut h = good();
        h.push(applied(2, 1, 10, 4, 0x10));
        h.push(applied(1, 0, 9, 4, 0x9));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("node 2 (incarnation 1) skipped committed entry 9"), "{v:?}");
        let mut h = good();
        h.push(applied(0, 0, 7, 4, 0xc));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("applied index 7 after 7"), "{v:?}");
        let mut h = good();
        h.push(snapshot(0, 0, 6, 4));
        let v = check(&h);
        assert!(v.len() == 1 && v[0].contains("snapshot at 6 below its applied index 7"), "{v:?}");
    }
}
