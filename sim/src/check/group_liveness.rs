//! Group liveness: after the faults stop, within a bounded simulated time, the
//! group reaches a stable generation — the last generation of the run has every
//! running member (one per workload slot), each of which received its
//! assignment, and together they cover every partition of the topic.
//!
//! "Last" is by time, not by number: a coordinator that restarts reloads the
//! last generation it persisted (Kafka writes the group at SyncGroup), so
//! generations that formed while its offsets partition could not be written
//! are forgotten and their numbers come again (swarm seed 592).

use std::collections::BTreeSet;

use crate::ledger::Ledger;

pub const NAME: &str = "group_liveness";

pub fn check(ledger: &Ledger) -> Vec<String> {
    let h = &ledger.groups;
    let Some(e) = &h.expected else { return vec![] };
    // The generation of the latest answer (the later record on a tie).
    let last_gen = h
        .assignments
        .iter()
        .filter(|a| a.group == e.group)
        .map(|a| (a.answered_ns, a.generation))
        .chain(h.generations.iter().filter(|g| g.group == e.group).map(|g| (g.answered_ns, g.generation)))
        .fold(None, |last: Option<(u64, i32)>, x| if last.is_some_and(|l| l.0 > x.0) { last } else { Some(x) })
        .map(|(_, generation)| generation);
    let Some(generation) = last_gen else { return vec![format!("group {} never completed a generation", e.group)] };
    let Some(g) = h.generations.iter().rev().find(|g| g.group == e.group && g.generation == generation) else {
        return vec![format!("group {}: no leader recorded the member list of its last generation {generation}", e.group)];
    };
    let mut out = Vec::new();
    if g.members.len() != e.members {
        out.push(format!("group {} generation {generation} has {} member(s), expected {}", e.group, g.members.len(), e.members));
    }
    let mut covered = BTreeSet::new();
    let mut last_ns = g.answered_ns;
    for m in &g.members {
        // Only assignments of this incarnation of the number: answered after its member list.
        match h
            .assignments
            .iter()
            .rev()
            .find(|a| a.group == e.group && a.generation == generation && &a.member_id == m && a.answered_ns >= g.answered_ns)
        {
            Some(a) => {
                covered.extend(a.partitions.iter().copied());
                last_ns = last_ns.max(a.answered_ns);
            }
            None => out.push(format!("group {} generation {generation}: member {m} never received its assignment", e.group)),
        }
    }
    let missing: Vec<i32> = (0..e.partitions).filter(|p| !covered.contains(p)).collect();
    if !missing.is_empty() {
        out.push(format!("group {} generation {generation}: partitions {missing:?} assigned to nobody", e.group));
    }
    if last_ns > e.stable_by_ns {
        out.push(format!("group {} generation {generation} became stable at {last_ns} ns, after the bound {} ns", e.group, e.stable_by_ns));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assignment, clean_ledger, generation};
    use super::*;
    use crate::group_ledger::GroupExpectation;

    fn expecting(members: usize) -> Ledger {
        let mut l = clean_ledger();
        l.groups.expected = Some(GroupExpectation { group: "g".into(), members, partitions: 4, stable_by_ns: 1_000 });
        l
    }

    // Proves: a last generation with every member assigned and every partition covered passes; no expectation passes trivially.
    #[test]
    fn passes_when_stable() {
        let mut l = expecting(2);
        l.groups.generations.push(generation(1, &["a"]));
        l.groups.assignments.push(assignment(1, "a", &[0, 1, 2, 3]));
        l.groups.generations.push(generation(2, &["a", "b"]));
        l.groups.assignments.push(assignment(2, "a", &[0, 2]));
        l.groups.assignments.push(assignment(2, "b", &[1, 3]));
        assert_eq!(check(&l), Vec::<String>::new());
        assert_eq!(check(&clean_ledger()), Vec::<String>::new());
    }

    // Proves: the last generation is the latest in time: after a coordinator
    // restart forgot generations 5-6, a stable generation 2 formed later passes,
    // and an unfinished later generation 2 fails even though generation 2 was
    // once complete before the restart.
    #[test]
    fn last_generation_is_the_latest_in_time() {
        let at = |mut g: crate::group_ledger::GenerationRecord, ns: u64| {
            g.answered_ns = ns;
            g
        };
        let at_a = |mut a: crate::group_ledger::AssignmentRecord, ns: u64| {
            a.answered_ns = ns;
            a
        };
        let before_restart = || {
            let mut l = expecting(1);
            l.groups.expected.as_mut().unwrap().stable_by_ns = 10_000;
            l.groups.generations.push(at(generation(2, &["a"]), 10));
            l.groups.assignments.push(at_a(assignment(2, "a", &[0, 1, 2, 3]), 20));
            l.groups.generations.push(at(generation(5, &["b"]), 100));
            l.groups.generations.push(at(generation(6, &["b"]), 200));
            l
        };
        let l = before_restart();
        let mut restarted = before_restart();
        restarted.groups.generations.push(at(generation(2, &["c"]), 300));
        restarted.groups.assignments.push(at_a(assignment(2, "c", &[0, 1, 2, 3]), 310));
        assert_eq!(check(&restarted), Vec::<String>::new());
        let mut unfinished = before_restart();
        unfinished.groups.generations.push(at(generation(2, &["a"]), 300));
        let v = check(&unfinished);
        assert!(v.iter().any(|m| m.contains("generation 2: member a never")), "an old assignment of the number does not count: {v:?}");
        assert!(check(&l).iter().any(|m| m.contains("generation 6")), "without the restart, generation 6 is the last");
    }

    // Proves: an unfinished last generation, a missing member, an unassigned partition or no generation at all are reported.
    #[test]
    fn fails_when_not_stable() {
        let l = expecting(2);
        assert!(check(&l)[0].contains("never completed"));
        let mut l = expecting(2);
        l.groups.generations.push(generation(1, &["a", "b"]));
        l.groups.assignments.push(assignment(1, "a", &[0, 2]));
        let v = check(&l);
        assert!(v.iter().any(|m| m.contains("member b never")) && v.iter().any(|m| m.contains("[1, 3]")), "{v:?}");
        let mut l = expecting(3);
        l.groups.generations.push(generation(1, &["a", "b"]));
        l.groups.assignments.push(assignment(1, "a", &[0, 2]));
        l.groups.assignments.push(assignment(1, "b", &[1, 3]));
        // Generation 2 formed after generation 1's assignments were answered.
        l.groups.generations.push(crate::group_ledger::GenerationRecord { answered_ns: 20, ..generation(2, &["a", "b", "c"]) });
        let v = check(&l);
        assert!(v.len() == 4 && v[0].contains("a never") && v[3].contains("nobody"), "{v:?}");
    }
}
