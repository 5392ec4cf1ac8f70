//! Within one generation of a group, the assignments its members received from
//! SyncGroup (with NONE) are pairwise disjoint: no partition is owned by two
//! members of the same generation. (A member that received its assignment twice
//! in one generation, after a lost answer, counts once, with its last one.)

use std::collections::BTreeMap;

use crate::ledger::Ledger;

pub const NAME: &str = "group_assignment";

pub fn check(ledger: &Ledger) -> Vec<String> {
    // (group, generation) -> member -> partitions (the last one received).
    let mut by_gen: BTreeMap<(&str, i32), BTreeMap<&str, &[i32]>> = BTreeMap::new();
    for a in &ledger.groups.assignments {
        by_gen.entry((a.group.as_str(), a.generation)).or_default().insert(a.member_id.as_str(), a.partitions.as_slice());
    }
    let mut out = Vec::new();
    for ((group, generation), members) in &by_gen {
        let members: Vec<(&&str, &&[i32])> = members.iter().collect();
        for (i, (m1, p1)) in members.iter().enumerate() {
            for (m2, p2) in &members[i + 1..] {
                let shared: Vec<i32> = p1.iter().copied().filter(|p| p2.contains(p)).collect();
                if !shared.is_empty() {
                    out.push(format!(
                        "group {group} generation {generation}: members {m1} and {m2} were both assigned partitions {shared:?}"
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assignment, clean_ledger};
    use super::*;

    // Proves: disjoint assignments pass, overlaps across generations and a member re-synced in one generation are fine.
    #[test]
    fn passes_on_disjoint_assignments() {
        let mut l = clean_ledger();
        l.groups.assignments.push(assignment(1, "a", &[0, 2]));
        l.groups.assignments.push(assignment(1, "b", &[1, 3]));
        l.groups.assignments.push(assignment(2, "a", &[0, 1, 2, 3]));
        l.groups.assignments.push(assignment(2, "a", &[0, 1, 2, 3]));
        assert_eq!(check(&l), Vec::<String>::new());
    }

    // Proves: two members of one generation sharing a partition are reported.
    #[test]
    fn fails_on_overlap() {
        let mut l = clean_ledger();
        l.groups.assignments.push(assignment(3, "a", &[0, 2]));
        l.groups.assignments.push(assignment(3, "b", &[2, 3]));
        l.groups.assignments.push(assignment(3, "c", &[1]));
        let v = check(&l);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("generation 3") && v[0].contains("[2]"), "{v:?}");
    }
}
