//! Fuzzer bytes to a simulator run: the input format of the coverage-guided
//! schedule fuzz target (`fuzz/fuzz_targets/cluster_schedule.rs`).
//!
//! [`run_from_bytes`] reads, through `arbitrary`'s [`Unstructured`], the run's
//! seed (it still drives the network, the disks' torn writes and the clients),
//! the cluster size (1, 3 or 5), a short safety phase ([`DURATION_S`]), a
//! BUGGIFY seed or none, the workload and an explicit fault schedule: a length
//! byte capped at [`EVENTS_MAX`], then each event's time and fault. (A derived
//! `Vec` would nearly always come out empty; here the fuzzer controls the count
//! with one byte.) Every number is read within a range the harness accepts, so
//! any bytes make a valid run, and the checks are the swarm's: a cluster run
//! takes the swarm base scenario's checks plus `leader_failover`, a single
//! broker the single-node set with the group checks when a group runs.
//!
//! Fault kinds left out, and why: latent corruption (it damages synced data,
//! so acknowledged writes may rightly be lost) and the stale-follower
//! re-election (tens of simulated seconds, against a short run per input).
//! A wipe of a replica is kept to one per run and to RF 3: two wipes of an RF 2
//! partition can leave no in-sync replica's disk intact, the checks' premise.

use arbitrary::{Result, Unstructured};

use crate::cluster::faults::{ChurnStep, ClusterFault, ClusterSchedule};
use crate::faults::{Fault, FaultSchedule, MEMBER_SESSION_TIMEOUT_MS};
use crate::scenario::{Checks, ClusterSpec, ClusterWorkload, DataSpec, Scenario, WorkloadSpec};

/// Most fault events one input may carry.
pub const EVENTS_MAX: u8 = 16;
/// Simulated seconds of the safety phase: short, so that libFuzzer gets many
/// executions (healing, liveness and read-back come on top).
pub const DURATION_S: std::ops::RangeInclusive<u64> = 2..=5;

/// The run the bytes describe, built on the swarm base scenario `base`:
/// (seed, scenario, BUGGIFY seed). Runs out of bytes gracefully (`arbitrary`
/// gives the smallest values then), so it fails only on a base without a cluster.
pub fn run_from_bytes(data: &[u8], base: &Scenario) -> Result<(u64, Scenario, Option<u64>)> {
    let mut u = Unstructured::new(data);
    let seed: u64 = u.arbitrary()?;
    let nodes = [1, 3, 5][u.choose_index(3)?];
    let duration_s = u.int_in_range(DURATION_S)?;
    let buggify = if u.arbitrary()? { Some(u.arbitrary()?) } else { None };
    let events = usize::from(u.arbitrary::<u8>()? % (EVENTS_MAX + 1));
    let duration_ms = duration_s * 1000;
    let name = format!("fuzz-{seed}");
    let scenario = if nodes == 1 {
        let workload = single_workload(&mut u)?;
        let mut schedule = FaultSchedule::default();
        for _ in 0..events {
            let at = u.int_in_range(0..=duration_ms - 1)?;
            schedule.events.push((at, single_fault(&mut u, workload.group_members)?));
        }
        schedule.events.sort_by_key(|(at, _)| *at);
        let group = workload.group_members > 0;
        Scenario {
            name,
            description: "a single broker from fuzzer bytes".into(),
            duration_s,
            nodes: 1,
            workload,
            cluster: None,
            faults: Default::default(),
            checks: crate::swarm::single_node_checks(group),
            topic_configs: Default::default(),
            default_run: false,
            schedule: Some(schedule),
        }
    } else {
        let data = cluster_data(&mut u, nodes)?;
        let per_mille = |u: &mut Unstructured| -> Result<f64> { Ok(f64::from(u.int_in_range(0..=30u32)?) / 1000.0) };
        let (loss, duplicate, reorder) = (per_mille(&mut u)?, per_mille(&mut u)?, per_mille(&mut u)?);
        let mut schedule = ClusterSchedule::default();
        let mut wiped = false;
        for _ in 0..events {
            let at = u.int_in_range(0..=duration_ms - 1)?;
            let mut fault = cluster_fault(&mut u, nodes)?;
            if let ClusterFault::WipeReplica { pick, restart_after_ms } = fault {
                if wiped || data.replication_factor < 3 {
                    fault = ClusterFault::CrashPartitionFollower { pick, restart_after_ms };
                }
                wiped = true;
            }
            schedule.events.push((at, fault));
        }
        schedule.events.sort_by_key(|(at, _)| *at);
        let base_cluster = base.cluster.clone().unwrap_or_default();
        Scenario {
            name,
            description: format!("a cluster of {nodes} from fuzzer bytes, checked as {}", base.name),
            duration_s,
            cluster: Some(ClusterSpec {
                nodes,
                workload: ClusterWorkload::Data,
                loss,
                duplicate,
                reorder,
                data,
                schedule: Some(schedule),
                ..base_cluster
            }),
            checks: Checks { leader_failover: true, ..base.checks.clone() },
            default_run: false,
            ..base.clone()
        }
    };
    Ok((seed, scenario, buggify))
}

/// A single broker's clients: acks mix, idempotence, a group of 0-2 members.
fn single_workload(u: &mut Unstructured) -> Result<WorkloadSpec> {
    Ok(crate::swarm::paced_acks_0(WorkloadSpec {
        partitions: u.int_in_range(1..=3)?,
        producers_acks_all: u.int_in_range(1..=2)?,
        producers_acks_1: u.int_in_range(0..=1)?,
        producers_acks_0: u.int_in_range(0..=1)?,
        batch_records: u.int_in_range(1..=4)?,
        value_bytes: u.int_in_range(16..=64)?,
        consumers: u.int_in_range(0..=1)?,
        produce_interval_ms: [0, 5, 20][u.choose_index(3)?],
        group_members: u.int_in_range(0..=2)?,
        idempotent: u.arbitrary()?,
        plant_unsequenced_retries: false,
    }))
}

/// One single-node fault, with the durations `FaultSchedule::generate` uses;
/// member faults only with a group (otherwise a crash).
fn single_fault(u: &mut Unstructured, members: usize) -> Result<Fault> {
    let node = 0;
    let per_mille = |u: &mut Unstructured| u.int_in_range(100..=1_000u32);
    Ok(match u.int_in_range(0..=9u8)? {
        0 => Fault::Crash { node, restart_after_ms: u.int_in_range(200..=3_000)? },
        1 => Fault::Pause { node, resume_after_ms: u.int_in_range(100..=2_000)? },
        2 => Fault::Clog { node, duration_ms: u.int_in_range(200..=3_000)? },
        3 => Fault::ClogOneWay { node, inbound: u.arbitrary()?, duration_ms: u.int_in_range(200..=3_000)? },
        4 => Fault::DiskWriteErrors { node, per_mille: per_mille(u)?, duration_ms: u.int_in_range(200..=2_000)? },
        5 => Fault::DiskSyncErrors { node, per_mille: per_mille(u)?, duration_ms: u.int_in_range(200..=2_000)? },
        6 => Fault::DiskReadErrors { node, per_mille: per_mille(u)?, duration_ms: u.int_in_range(200..=2_000)? },
        7 => Fault::DiskFull { node, duration_ms: u.int_in_range(200..=2_000)? },
        8 if members > 0 => Fault::MemberCrash { member: u.choose_index(members)?, restart_after_ms: u.int_in_range(200..=3_000)? },
        9 if members > 0 => Fault::MemberPause {
            member: u.choose_index(members)?,
            resume_after_ms: MEMBER_SESSION_TIMEOUT_MS + u.int_in_range(500..=3_000)?,
        },
        _ => Fault::Crash { node, restart_after_ms: u.int_in_range(200..=3_000)? },
    })
}

/// The data topic and its clients: RF up to 3 (at most the nodes), min.insync up to RF.
fn cluster_data(u: &mut Unstructured, nodes: usize) -> Result<DataSpec> {
    let replication_factor = u.int_in_range(1..=(nodes.min(3) as i16))?;
    Ok(DataSpec {
        partitions: u.int_in_range(1..=2)?,
        replication_factor,
        min_insync_replicas: u.int_in_range(1..=i64::from(replication_factor))?,
        producers_acks_all: u.int_in_range(1..=2)?,
        producers_acks_1: u.int_in_range(0..=1)?,
        consumers: u.int_in_range(0..=1)?,
        idempotent: u.arbitrary()?,
        ..DataSpec::default()
    })
}

/// A non-empty list of distinct nodes below `n`, from a bit mask (never all of them).
fn some_nodes(u: &mut Unstructured, n: usize) -> Result<Vec<usize>> {
    let mask: u8 = u.arbitrary()?;
    let mut v: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
    if v.is_empty() || v.len() == n {
        v = vec![usize::from(mask) % n];
    }
    Ok(v)
}

/// One cluster fault, with durations like `ClusterSchedule::generate`'s
/// (crashes restart after 0.2-4 s, cuts 0.5-5 s, partition-leader cuts 1-9 s).
fn cluster_fault(u: &mut Unstructured, n: usize) -> Result<ClusterFault> {
    let node = u.choose_index(n)?;
    let restart = |u: &mut Unstructured| u.int_in_range(200..=4_000u64);
    let cut = |u: &mut Unstructured| u.int_in_range(500..=5_000u64);
    Ok(match u.int_in_range(0..=13u8)? {
        0 => ClusterFault::Crash { node, restart_after_ms: restart(u)? },
        1 => ClusterFault::CrashLeader { fallback: node, restart_after_ms: restart(u)? },
        2 => ClusterFault::IsolateLeader { fallback: node, duration_ms: cut(u)? },
        3 => {
            // Two or three sides by a per-node byte; one side only is no cut, so
            // then `node` alone against the rest.
            let sides = u.int_in_range(2..=3usize)?;
            let mut groups = vec![Vec::new(); sides];
            for i in 0..n {
                groups[usize::from(u.arbitrary::<u8>()?) % sides].push(i);
            }
            groups.retain(|g| !g.is_empty());
            if groups.len() < 2 {
                groups = vec![vec![node], (0..n).filter(|o| *o != node).collect()];
            }
            ClusterFault::Partition { groups, duration_ms: cut(u)? }
        }
        4 => {
            let from = some_nodes(u, n)?;
            let mut to: Vec<usize> = (0..n).filter(|o| !from.contains(o)).collect();
            if u.arbitrary()? {
                to.truncate(1);
            }
            ClusterFault::OneWay { from, to, duration_ms: cut(u)? }
        }
        5 => ClusterFault::Lossy {
            loss_per_mille: u.int_in_range(0..=400)?,
            duplicate_per_mille: u.int_in_range(0..=200)?,
            reorder_per_mille: u.int_in_range(0..=300)?,
            duration_ms: cut(u)?,
        },
        6 => ClusterFault::CrashPartitionLeader { fallback: node, restart_after_ms: restart(u)? },
        7 => ClusterFault::CrashPartitionFollower { pick: u.choose_index(2)?, restart_after_ms: restart(u)? },
        8 => ClusterFault::IsolatePartitionLeader { fallback: node, duration_ms: u.int_in_range(1_000..=9_000)?, zombie: u.arbitrary()? },
        9 => ClusterFault::OneWayPartitionLeader { fallback: node, outbound: u.arbitrary()?, duration_ms: u.int_in_range(1_000..=9_000)? },
        10 => {
            let steps = u.int_in_range(1..=4usize)?;
            let steps = (0..steps)
                .map(|_| {
                    Ok(ChurnStep { gap_ms: u.int_in_range(100..=1_500)?, crash: u.arbitrary()?, down_ms: u.int_in_range(300..=3_000)? })
                })
                .collect::<Result<Vec<_>>>()?;
            ClusterFault::LeaderChurn { fallback: node, steps }
        }
        11 => ClusterFault::WipeReplica { pick: u.choose_index(2)?, restart_after_ms: restart(u)? },
        12 => {
            let leader_after_ms = u.int_in_range(1_000..=6_000)?;
            let leader_down_ms = u.int_in_range(300..=3_000)?;
            let followers_down_ms = leader_after_ms + u.int_in_range(200..=leader_down_ms + 3_000)?;
            ClusterFault::IsrShrinkCrash { fallback: node, followers_down_ms, leader_after_ms, leader_down_ms }
        }
        _ => ClusterFault::CrashAll { restart_after_ms: u.int_in_range(300..=3_000)? },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::cli::repo_root;
    use crate::scenario::load_dir;

    fn base() -> Scenario {
        load_dir(&repo_root().join("scenarios")).unwrap().into_iter().find(|s| s.name == crate::swarm::SWARM_BASE).unwrap()
    }

    /// Bytes from a fixed generator, for inputs of every shape.
    fn inputs() -> impl Iterator<Item = Vec<u8>> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        (0..400).map(move |i| {
            let len = [0, 3, 17, 64, 300, 2_000][i % 6];
            (0..len).map(|_| rng.gen()).collect()
        })
    }

    /// Proves: any bytes (empty, short, long) give a run the harness accepts:
    /// at most 16 events, within the safety phase, on existing nodes, sorted; RF
    /// within the cluster; at most one wipe and only at RF 3; all three sizes,
    /// idempotent producers and groups show up, and schedules are not all empty.
    #[test]
    fn any_bytes_make_a_valid_run() {
        let base = base();
        let (mut sizes, mut idempotent, mut groups, mut events_seen) = (std::collections::BTreeSet::new(), false, false, 0);
        for data in inputs() {
            let (_, s, _) = run_from_bytes(&data, &base).unwrap();
            assert!(DURATION_S.contains(&s.duration_s));
            let ms = s.duration_s * 1000;
            match &s.cluster {
                Some(c) => {
                    sizes.insert(c.nodes);
                    assert!(
                        c.data.replication_factor as usize <= c.nodes && c.data.min_insync_replicas <= i64::from(c.data.replication_factor)
                    );
                    let sch = c.schedule.as_ref().unwrap();
                    assert!(sch.events.len() <= usize::from(EVENTS_MAX));
                    assert!(sch.events.windows(2).all(|w| w[0].0 <= w[1].0) && sch.events.iter().all(|(at, _)| *at < ms));
                    sch.fits(c.nodes).unwrap();
                    let wipes = sch.events.iter().filter(|(_, f)| matches!(f, ClusterFault::WipeReplica { .. })).count();
                    assert!(wipes <= 1 && (wipes == 0 || c.data.replication_factor == 3));
                    events_seen += sch.events.len();
                }
                None => {
                    sizes.insert(s.nodes);
                    crate::scenario::validate(&s).unwrap();
                    let sch = s.schedule.as_ref().unwrap();
                    assert!(sch.events.len() <= usize::from(EVENTS_MAX));
                    assert!(sch.events.iter().all(|(at, f)| *at < ms && (f.node() == 0 || f.node() == usize::MAX)));
                    assert!(!sch.events.iter().any(|(_, f)| matches!(f, Fault::LatentCorruption { .. })));
                    idempotent |= s.workload.idempotent;
                    groups |= s.workload.group_members > 0 && s.checks.group_liveness;
                    events_seen += sch.events.len();
                }
            }
        }
        assert_eq!(sizes, [1, 3, 5].into());
        assert!(idempotent && groups && events_seen > 100);
    }

    /// Proves: the same bytes give the same run, and one fixed input of each
    /// size runs through the harness and passes (so a fuzzer crash is the input's,
    /// not the harness's).
    #[test]
    fn fixed_inputs_run_and_pass() {
        let base = base();
        let bytes: [&[u8]; 2] = [&[7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x10, 0x20], &[9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 3, 0x30]];
        for data in bytes {
            let (seed, s, buggify) = run_from_bytes(data, &base).unwrap();
            assert_eq!(run_from_bytes(data, &base).unwrap(), (seed, s.clone(), buggify));
            let r = crate::runner::run_seed(seed, &s, &chronik_core::config::Knobs { buggify_seed: buggify, ..Default::default() });
            assert!(r.violations.is_empty(), "{}: {:?}", s.name, r.violations);
        }
    }
}
