//! Proves DESIGN §5 item 4 at the end of a run, from the replicas' own files:
//! committed is immutable and the same everywhere. The runner reads every
//! replica's segment files of the data topic from its simulated disk (what the
//! process sees; every node up, clients stopped, the ISR regrown) and the final
//! leader's high watermark from the read-back. Then, per partition:
//!
//! - the final leader holds every offset below its high watermark (batches
//!   contiguous from offset 0);
//! - every batch any replica holds that starts below the high watermark is,
//!   byte for byte, the leader's batch at that base offset (replicated batches
//!   are copied whole, leader epoch stamp included, so any difference — another
//!   value, another epoch, other batch boundaries — is a divergence of
//!   committed data);
//! - every member of the final ISR holds every offset below the high watermark.

use std::collections::BTreeMap;

use chronik_core::records;

pub const NAME: &str = "replica_agreement";

/// What the check reads.
#[derive(Debug, Clone, Default)]
pub struct ReplicaLogs {
    /// (partition, node) -> the node's segment files of that partition, each
    /// file's bytes, in base-offset (file name) order.
    pub segments: BTreeMap<(i32, usize), Vec<Vec<u8>>>,
    /// partition -> (final high watermark, final leader).
    pub ends: BTreeMap<i32, (i64, usize)>,
    /// partition -> the final ISR.
    pub isr: BTreeMap<i32, Vec<usize>>,
}

/// A replica's batches: base offset -> (last offset, bytes).
type Batches<'a> = BTreeMap<i64, (i64, &'a [u8])>;

fn batches(files: &[Vec<u8>]) -> Batches<'_> {
    let mut out = BTreeMap::new();
    for data in files {
        let scan = records::scan(data, true);
        for (pos, h) in &scan.batches {
            out.insert(h.base_offset, (h.last_offset().0, &data[*pos..*pos + h.total_len()]));
        }
    }
    out
}

/// The first offset below `hw` not covered by contiguous batches from 0, if any.
fn first_hole(b: &Batches<'_>, hw: i64) -> Option<i64> {
    let mut next = 0;
    for (base, (last, _)) in b {
        if next >= hw {
            break;
        }
        if *base > next {
            return Some(next);
        }
        next = next.max(last + 1);
    }
    (next < hw).then_some(next)
}

/// A batch in a message: its epoch and values.
fn describe(batch: &[u8]) -> String {
    match records::decode_batch(batch, 1 << 24) {
        Ok((h, recs)) => {
            let values: Vec<String> = recs.iter().map(|r| crate::workload::unpad_value(r.value.as_deref().unwrap_or_default())).collect();
            format!("epoch {} [{}]", h.partition_leader_epoch, values.join(","))
        }
        Err(e) => format!("undecodable: {e}"),
    }
}

pub fn check(logs: &ReplicaLogs) -> Vec<String> {
    let mut out = Vec::new();
    for (partition, (hw, leader)) in &logs.ends {
        let empty = Vec::new();
        let leader_batches = batches(logs.segments.get(&(*partition, *leader)).unwrap_or(&empty));
        if let Some(hole) = first_hole(&leader_batches, *hw) {
            out.push(format!("partition {partition}: leader {leader} lacks offset {hole} below its high watermark {hw}"));
        }
        for ((p, node), files) in logs.segments.range((*partition, 0)..=(*partition, usize::MAX)) {
            debug_assert_eq!(p, partition);
            if node == leader {
                continue;
            }
            let mine = batches(files);
            let mut differing = Vec::new();
            for (base, (last, bytes)) in mine.range(..*hw) {
                match leader_batches.get(base) {
                    Some((_, theirs)) if theirs == bytes => {}
                    Some((_, theirs)) => {
                        differing.push(format!("{base}..={last} differs ({} vs the leader's {})", describe(bytes), describe(theirs)))
                    }
                    None => differing.push(format!("{base}..={last} starts where the leader has no batch")),
                }
            }
            if let Some(first) = differing.first() {
                out.push(format!(
                    "partition {partition}: replica {node} disagrees with leader {leader} below high watermark {hw} in {} batch(es), first: {first}",
                    differing.len()
                ));
            }
            if logs.isr.get(partition).is_some_and(|isr| isr.contains(node)) {
                if let Some(hole) = first_hole(&mine, *hw) {
                    out.push(format!("partition {partition}: ISR member {node} lacks offset {hole} below high watermark {hw}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use chronik_core::records::{Compression, Record};

    /// A valid batch of `values` at `base` (CRC covers what follows the epoch, so the base can be patched).
    fn batch(base: i64, values: &[&str]) -> Vec<u8> {
        let recs: Vec<Record> = values.iter().map(|v| Record { value: Some(Bytes::from(v.to_string())), ..Default::default() }).collect();
        let mut b = records::build_batch(&recs, Compression::None, -1, -1, -1).to_vec();
        b[..8].copy_from_slice(&base.to_be_bytes());
        b
    }

    fn log(batches: &[Vec<u8>]) -> Vec<Vec<u8>> {
        vec![batches.concat()]
    }

    /// Leader 0 and followers 1, 2 with the same three batches (offsets 0..=3), HW 4.
    fn agreeing() -> ReplicaLogs {
        let b = [batch(0, &["a"]), batch(1, &["b", "c"]), batch(3, &["d"])];
        let mut l = ReplicaLogs::default();
        for n in 0..3 {
            l.segments.insert((0, n), log(&b));
        }
        l.ends.insert(0, (4, 0));
        l.isr.insert(0, vec![0, 1, 2]);
        l
    }

    // Proves: identical replicas pass, as does a follower out of the ISR that lags, and one with a different uncommitted tail.
    #[test]
    fn passes_when_replicas_agree() {
        let mut l = agreeing();
        assert_eq!(check(&l), Vec::<String>::new());
        l.isr.insert(0, vec![0, 1]);
        l.segments.insert((0, 2), log(&[batch(0, &["a"])]));
        l.segments.insert((0, 1), log(&[batch(0, &["a"]), batch(1, &["b", "c"]), batch(3, &["d"]), batch(4, &["x"])]));
        assert_eq!(check(&l), Vec::<String>::new());
        // Segments split across files are read in order.
        l.segments.insert((0, 1), vec![batch(0, &["a"]), [batch(1, &["b", "c"]), batch(3, &["d"])].concat()]);
        assert_eq!(check(&l), Vec::<String>::new());
    }

    // Proves: a follower holding another value below the HW is reported.
    #[test]
    fn fails_on_different_committed_batch() {
        let mut l = agreeing();
        l.segments.insert((0, 2), log(&[batch(0, &["a"]), batch(1, &["b", "z"]), batch(3, &["d"])]));
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("replica 2") && v[0].contains("1..=2 differs"), "{v:?}");
    }

    // Proves: other batch boundaries below the HW are reported, even with the same values.
    #[test]
    fn fails_on_other_boundaries() {
        let mut l = agreeing();
        l.segments.insert((0, 1), log(&[batch(0, &["a", "b"]), batch(2, &["c"]), batch(3, &["d"])]));
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("replica 1"), "{v:?}");
    }

    // Proves: a leader lacking committed offsets, and an ISR member lacking them, are reported.
    #[test]
    fn fails_on_missing_committed_offsets() {
        let mut l = agreeing();
        l.segments.insert((0, 0), log(&[batch(0, &["a"]), batch(1, &["b", "c"])]));
        let v = check(&l);
        assert!(v.iter().any(|m| m.contains("leader 0 lacks offset 3")), "{v:?}");
        let mut l = agreeing();
        l.segments.insert((0, 2), log(&[batch(0, &["a"])]));
        let v = check(&l);
        assert!(v.len() == 1 && v[0].contains("ISR member 2 lacks offset 1"), "{v:?}");
    }
}
