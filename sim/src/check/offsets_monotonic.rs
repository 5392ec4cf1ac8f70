//! Committed offsets never go backwards: an OffsetFetch (the starting position
//! of a member that was just assigned a partition, or of a restarted one) never
//! returns less than an offset whose commit was acknowledged (NONE) before the
//! OffsetFetch was sent, unless a client deliberately committed a lower offset
//! since (a reset, recorded as such). "Before" is strict causality in simulated
//! time: the commit's answer arrived no later than the fetch was sent. A commit
//! still in flight when the fetch was sent does not count either way.

use std::collections::BTreeMap;

use crate::group_ledger::CommitRecord;
use crate::ledger::Ledger;

pub const NAME: &str = "offsets_monotonic";

pub fn check(ledger: &Ledger) -> Vec<String> {
    let h = &ledger.groups;
    let mut commits: BTreeMap<(&str, &str, i32), Vec<&CommitRecord>> = BTreeMap::new();
    for c in &h.commits {
        commits.entry((c.group.as_str(), c.topic.as_str(), c.partition)).or_default().push(c);
    }
    for list in commits.values_mut() {
        list.sort_by_key(|c| c.answered_ns);
    }
    let mut out = Vec::new();
    for r in &h.offset_reads {
        let Some(list) = commits.get(&(r.group.as_str(), r.topic.as_str(), r.partition)) else { continue };
        // Acknowledged before the fetch was sent, from the last reset on.
        let before: Vec<&CommitRecord> = list.iter().copied().take_while(|c| c.answered_ns <= r.sent_ns).collect();
        let from = before.iter().rposition(|c| c.reset).unwrap_or(0);
        let Some(floor) = before[from..].iter().max_by_key(|c| c.offset) else { continue };
        if r.offset < floor.offset {
            out.push(format!(
                "group {} {}/{}: OffsetFetch by slot {} sent at {} ns returned {}, but slot {} (member {}, generation {}) had a commit of {} acknowledged at {} ns",
                r.group, r.topic, r.partition, r.slot, r.sent_ns, r.offset, floor.slot, floor.member_id, floor.generation, floor.offset, floor.answered_ns
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{clean_ledger, commit, read};
    use super::*;

    // Proves: reads at or above every earlier acknowledged commit pass, and commits acknowledged after the read was sent do not count.
    #[test]
    fn passes_on_monotonic_history() {
        let mut l = clean_ledger();
        l.groups.commits.push(commit(0, 0, 10, false, 100));
        l.groups.offset_reads.push(read(1, 0, 10, 150));
        l.groups.commits.push(commit(1, 0, 20, false, 200));
        // Sent before the commit of 20 was acknowledged: 10 is fine.
        l.groups.offset_reads.push(read(2, 0, 10, 199));
        l.groups.offset_reads.push(read(2, 0, 25, 300));
        assert_eq!(check(&l), Vec::<String>::new());
    }

    // Proves: an OffsetFetch returning less than an acknowledged commit (or nothing at all) is reported.
    #[test]
    fn fails_on_offset_going_back() {
        let mut l = clean_ledger();
        l.groups.commits.push(commit(0, 0, 10, false, 100));
        l.groups.commits.push(commit(1, 0, 20, false, 200));
        l.groups.offset_reads.push(read(2, 0, 10, 250));
        l.groups.offset_reads.push(read(2, 0, -1, 260));
        let v = check(&l);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].contains("returned 10") && v[0].contains("commit of 20"), "{v:?}");
    }

    // Proves: a deliberate reset lowers the floor, but later commits raise it again; other partitions are independent.
    #[test]
    fn reset_lowers_the_floor() {
        let mut l = clean_ledger();
        l.groups.commits.push(commit(0, 0, 50, false, 100));
        l.groups.commits.push(commit(0, 0, 0, true, 200));
        l.groups.offset_reads.push(read(1, 0, 0, 250));
        l.groups.offset_reads.push(read(1, 1, -1, 250));
        assert_eq!(check(&l), Vec::<String>::new());
        l.groups.commits.push(commit(0, 0, 5, false, 300));
        l.groups.offset_reads.push(read(1, 0, 4, 400));
        assert_eq!(check(&l).len(), 1);
    }
}
