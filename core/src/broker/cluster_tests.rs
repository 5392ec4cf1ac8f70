//! Cluster mode end to end inside the core: three brokers on in-memory disks, peer
//! messages delivered by the test, time advanced by the test. What the simulator checks
//! under faults, these tests show on the happy path and on one crash, step by step.

use std::collections::BTreeMap;

use crate::cluster::events::ClusterEvent;
use crate::cluster::raft::Role;
use crate::config::{BrokerConfig, ClusterConfig};
use crate::io::Input;
use crate::protocol::error_code as ec;
use crate::protocol::messages::{create_topics, delete_topics, describe_cluster, init_producer_id, metadata, produce, Request, Response};
use crate::testdisk::TestDisk;
use crate::types::{Millis, NodeId};

use super::testkit::Harness;
use super::tests::{batch, produce_req};

const NODES: i32 = 3;
const STEP_MS: i64 = 50;

fn config(id: i32) -> BrokerConfig {
    let mut c = BrokerConfig {
        node_id: NodeId(id),
        advertised_port: 9092 + id,
        seed: 7 + id as u64,
        cluster_id: "test-cluster".into(),
        ..Default::default()
    };
    let mut cc = ClusterConfig::new((0..NODES).map(NodeId).collect());
    cc.broker_session_timeout_ms = 2_000;
    cc.broker_heartbeat_interval_ms = 200;
    c.cluster = Some(cc);
    c
}

struct Cluster {
    nodes: BTreeMap<i32, Harness>,
    /// Disks of stopped nodes.
    stopped: BTreeMap<i32, TestDisk>,
    now: Millis,
    /// A node cut off from the others: messages from and to it are dropped.
    isolated: Option<i32>,
}

impl Cluster {
    fn start() -> Cluster {
        let now = Millis(1_700_000_000_000);
        let nodes = (0..NODES).map(|i| (i, Harness::at(config(i), TestDisk::default(), now))).collect();
        Cluster { nodes, stopped: BTreeMap::new(), now, isolated: None }
    }

    /// Delivers peer messages until none are left (bounded).
    fn deliver(&mut self) {
        for _ in 0..1_000 {
            let mut msgs = Vec::new();
            for (id, h) in self.nodes.iter_mut() {
                for (to, data) in h.peer_out.drain(..) {
                    msgs.push((*id, to, data));
                }
            }
            if msgs.is_empty() {
                return;
            }
            for (from, to, data) in msgs {
                if self.isolated.is_some_and(|i| i == from || i == to.0) {
                    continue;
                }
                if let Some(h) = self.nodes.get_mut(&to.0) {
                    h.broker.handle(h.now, Input::PeerReceived { from: NodeId(from), data });
                    h.settle();
                }
            }
        }
        panic!("peer messages did not quiesce");
    }

    fn run(&mut self, ms: i64) {
        let steps = ms / STEP_MS;
        for _ in 0..steps {
            self.now = self.now.plus_ms(STEP_MS);
            for h in self.nodes.values_mut() {
                h.now = self.now;
                h.advance(0);
            }
            self.deliver();
        }
    }

    /// Runs until `cond` holds, at most `ms`.
    fn run_until(&mut self, ms: i64, what: &str, cond: impl Fn(&Cluster) -> bool) {
        for _ in 0..ms / STEP_MS {
            if cond(self) {
                return;
            }
            self.run(STEP_MS);
        }
        assert!(cond(self), "not within {ms} ms: {what}");
    }

    fn leaders(&self) -> Vec<i32> {
        self.nodes
            .iter()
            .filter(|(_, h)| h.broker.cluster.as_ref().and_then(|c| c.raft.as_ref()).is_some_and(|r| r.role() == Role::Leader))
            .map(|(i, _)| *i)
            .collect()
    }

    fn live_brokers(&self, node: i32) -> Vec<i32> {
        self.nodes[&node].broker.cluster_brokers().into_iter().map(|(id, _)| id.0).collect()
    }

    fn call(&mut self, node: i32, version: i16, req: Request) -> Response {
        let h = self.nodes.get_mut(&node).expect("running node");
        let conn = h.connect();
        let c = h.send(conn, version, &req);
        // Forwarded requests need the other nodes: run until the answer arrives.
        for _ in 0..400 {
            self.deliver();
            let h = self.nodes.get_mut(&node).expect("running node");
            if let Some((corr, resp)) = h.take_response(conn, req.api_key(), version) {
                assert_eq!(corr, c);
                return resp;
            }
            self.run(STEP_MS);
        }
        panic!("no answer from node {node}");
    }

    fn metadata(&mut self, node: i32, topics: &[&str]) -> metadata::MetadataResponse {
        let req = Request::Metadata(metadata::MetadataRequest {
            topics: Some(
                topics.iter().map(|t| metadata::MetadataRequestTopic { name: Some(t.to_string()), ..Default::default() }).collect(),
            ),
            allow_auto_topic_creation: false,
            ..Default::default()
        });
        match self.call(node, 12, req) {
            Response::Metadata(m) => m,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn create(&mut self, node: i32, name: &str, partitions: i32, rf: i16) -> i16 {
        self.create_topic(node, name, partitions, rf, &[])
    }

    fn create_topic(&mut self, node: i32, name: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> i16 {
        let req = Request::CreateTopics(create_topics::CreateTopicsRequest {
            topics: vec![create_topics::CreatableTopic {
                name: name.into(),
                num_partitions: partitions,
                replication_factor: rf,
                configs: configs
                    .iter()
                    .map(|(k, v)| create_topics::CreatableTopicConfig { name: k.to_string(), value: Some(v.to_string()) })
                    .collect(),
                ..Default::default()
            }],
            timeout_ms: 30_000,
            ..Default::default()
        });
        match self.call(node, 7, req) {
            Response::CreateTopics(r) => r.topics[0].error_code,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn produce(&mut self, node: i32, topic: &str, partition: i32, value: &str) -> produce::PartitionProduceResponse {
        match self.call(node, 9, produce_req(topic, partition, -1, batch(&[value], 1_700_000_000_000))) {
            Response::Produce(r) => r.responses[0].partition_responses[0].clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Power loss: the node's unsynced writes are lost.
    fn crash(&mut self, node: i32) {
        let mut h = self.nodes.remove(&node).expect("running node");
        h.disk.crash(|_, _| 0);
        self.stopped.insert(node, h.disk);
    }

    fn restart(&mut self, node: i32) {
        let disk = self.stopped.remove(&node).expect("stopped node");
        self.nodes.insert(node, Harness::at(config(node), disk, self.now));
    }

    fn partition_leaders(&mut self, node: i32, topic: &str) -> Vec<(i32, i32, i16)> {
        let m = self.metadata(node, &[topic]);
        m.topics[0].partitions.iter().map(|p| (p.leader_id, p.leader_epoch, p.error_code)).collect()
    }
}

/// Three brokers elect one controller, register with it, and every broker lists all
/// three as live with the same controller.
#[test]
fn three_brokers_form_a_cluster() {
    let mut c = Cluster::start();
    c.run_until(10_000, "one leader and three live brokers everywhere", |c| {
        c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n) == vec![0, 1, 2])
    });
    let leader = c.leaders()[0];
    for n in 0..NODES {
        let Response::DescribeCluster(d) =
            c.call(n, 1, Request::DescribeCluster(describe_cluster::DescribeClusterRequest { endpoint_type: 1, ..Default::default() }))
        else {
            panic!()
        };
        assert_eq!(d.controller_id, leader);
        assert_eq!(d.brokers.iter().map(|b| (b.broker_id, b.port)).collect::<Vec<_>>(), vec![(0, 9092), (1, 9093), (2, 9094)]);
    }
    // Every node reported the same Raft leader, and applied the same entries.
    let applied: Vec<Vec<(u64, u64)>> = c
        .nodes
        .values()
        .map(|h| {
            h.events
                .iter()
                .filter_map(|e| if let ClusterEvent::Applied { index, digest, .. } = e { Some((*index, *digest)) } else { None })
                .collect()
        })
        .collect();
    let shortest = applied.iter().map(Vec::len).min().unwrap();
    assert!(shortest >= 3, "registrations applied: {applied:?}");
    assert!(applied.iter().all(|a| a[..shortest] == applied[0][..shortest]), "histories diverge: {applied:?}");
}

/// A topic created through a follower is placed by the controller across the live
/// brokers, every broker answers Metadata with the same leaders, only the leader
/// takes records (others answer NOT_LEADER_OR_FOLLOWER), and the replication factor
/// is bounded by the live brokers.
#[test]
fn topics_are_created_through_the_controller_and_served_by_their_leaders() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    let follower = (0..NODES).find(|n| !c.leaders().contains(n)).unwrap();
    assert_eq!(c.create(follower, "one", 3, 1), ec::NONE);
    assert_eq!(c.create(follower, "three", 3, 3), ec::NONE);
    assert_eq!(c.create(follower, "one", 1, 1), ec::TOPIC_ALREADY_EXISTS);
    assert_eq!(c.create(follower, "four", 1, 4), ec::INVALID_REPLICATION_FACTOR);
    c.run(1_000);
    let one = c.partition_leaders(0, "one");
    for n in 1..NODES {
        assert_eq!(c.partition_leaders(n, "one"), one, "node {n} disagrees");
    }
    let mut leaders: Vec<i32> = one.iter().map(|p| p.0).collect();
    leaders.sort_unstable();
    assert_eq!(leaders, vec![0, 1, 2], "leaders spread over the brokers");
    let m = c.metadata(2, &["three"]);
    for p in &m.topics[0].partitions {
        assert_eq!(p.replica_nodes.len(), 3);
        assert_eq!(p.isr_nodes.len(), 3);
        assert!(p.replica_nodes.contains(&p.leader_id));
    }
    // Records go to the leader only.
    for (partition, (leader, _, _)) in one.iter().enumerate() {
        let r = c.produce(*leader, "one", partition as i32, "v");
        assert_eq!(r.error_code, ec::NONE, "leader {leader} partition {partition}");
        let other = (leader + 1) % NODES;
        assert_eq!(c.produce(other, "one", partition as i32, "v").error_code, ec::NOT_LEADER_OR_FOLLOWER);
    }
    // A replicated partition takes records at its leader (acks=all: once the
    // followers hold them durably).
    let lead3 = m.topics[0].partitions[0].leader_id;
    assert_eq!(c.produce(lead3, "three", 0, "v").error_code, ec::NONE);
    assert_eq!(c.produce((lead3 + 1) % NODES, "three", 0, "v").error_code, ec::NOT_LEADER_OR_FOLLOWER);
}

/// The controller crashes: another node takes over, fences it after the session
/// timeout and moves the leadership of its replicated partitions to a live ISR
/// member with a higher leader epoch; its single-replica partitions go offline. When
/// it returns it re-registers, and its partitions come back with their records.
#[test]
fn controller_crash_fails_over_and_the_node_returns() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    let first = c.leaders()[0];
    let other = (first + 1) % NODES;
    assert_eq!(c.create(other, "one", 3, 1), ec::NONE);
    assert_eq!(c.create(other, "three", 3, 3), ec::NONE);
    c.run(500);
    let one_before = c.partition_leaders(other, "one");
    let three_before = c.partition_leaders(other, "three");
    let (p_one, _) = one_before.iter().enumerate().find(|(_, l)| l.0 == first).unwrap();
    assert_eq!(c.produce(first, "one", p_one as i32, "kept").error_code, ec::NONE);

    c.crash(first);
    c.run_until(15_000, "a new controller fenced the old one", |c| {
        c.leaders().len() == 1 && c.leaders()[0] != first && c.nodes.keys().all(|n| !c.live_brokers(*n).contains(&first))
    });
    c.run(1_000);
    let three_after = c.partition_leaders(other, "three");
    for (before, after) in three_before.iter().zip(&three_after) {
        assert_ne!(after.0, first, "a fenced broker leads nothing");
        assert_eq!(after.2, ec::NONE);
        if before.0 == first {
            assert!(after.1 > before.1, "leader epoch bumped: {before:?} -> {after:?}");
        }
    }
    let one_after = c.partition_leaders(other, "one");
    assert_eq!(one_after[p_one], (-1, one_before[p_one].1 + 1, ec::LEADER_NOT_AVAILABLE));

    c.restart(first);
    c.run_until(15_000, "the node is live again and leads its partition", |c| {
        c.nodes.keys().all(|n| c.live_brokers(*n).contains(&first))
            && c.nodes[&other].broker.cluster.as_ref().unwrap().metadata().unwrap().partition("one", p_one as i32).unwrap().leader
                == Some(NodeId(first))
    });
    c.run(500);
    let one_back = c.partition_leaders(other, "one");
    assert_eq!(one_back[p_one].0, first);
    assert!(one_back[p_one].1 > one_after[p_one].1);
    // The record written before the crash is still there (it was synced: acks=all).
    let r = c.produce(first, "one", p_one as i32, "after");
    assert_eq!(r.error_code, ec::NONE);
    assert_eq!(r.base_offset, 1, "the earlier record kept offset 0");
}

/// Idempotent producers on different brokers never share a producer id: blocks come
/// from the metadata quorum, not from each broker's own counter.
#[test]
fn producer_ids_are_unique_across_brokers() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    let mut ids = Vec::new();
    for round in 0..2 {
        for n in 0..NODES {
            let req =
                Request::InitProducerId(init_producer_id::InitProducerIdRequest { transaction_timeout_ms: 60_000, ..Default::default() });
            let Response::InitProducerId(r) = c.call(n, 4, req) else { panic!() };
            assert_eq!(r.error_code, ec::NONE, "node {n} round {round}");
            ids.push(r.producer_id);
        }
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate producer ids: {ids:?}");
}

/// DeleteTopics through any broker removes the topic from the metadata and from every
/// broker's disk; the name can then be created again, under a new id.
#[test]
fn topics_are_deleted_everywhere_and_the_name_reused() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    assert_eq!(c.create(1, "gone", 2, 1), ec::NONE);
    c.run(500);
    let first_id = c.metadata(0, &["gone"]).topics[0].topic_id;
    assert!((0..NODES).all(|n| c.nodes[&n].broker.live_topic("gone").is_some()), "every broker holds the topic");
    let req = Request::DeleteTopics(delete_topics::DeleteTopicsRequest {
        topic_names: vec!["gone".into()],
        timeout_ms: 30_000,
        ..Default::default()
    });
    let Response::DeleteTopics(r) = c.call(2, 5, req) else { panic!() };
    assert_eq!(r.responses[0].error_code, ec::NONE);
    c.run(500);
    for n in 0..NODES {
        assert_eq!(c.metadata(n, &["gone"]).topics[0].error_code, ec::UNKNOWN_TOPIC_OR_PARTITION, "node {n}");
        assert!(!c.nodes[&n].broker.topics.contains_key("gone"), "node {n} still holds the topic");
        assert_eq!(c.nodes[&n].disk.len("gone-0/00000000000000000000.log"), 0, "node {n} kept the log");
    }
    assert_eq!(c.create(0, "gone", 1, 1), ec::NONE);
    c.run(500);
    let again = c.metadata(1, &["gone"]);
    assert_eq!(again.topics[0].partitions.len(), 1);
    assert_ne!(again.topics[0].topic_id, first_id);
}

impl Cluster {
    /// A one-partition topic with `configs`.
    fn create_with(&mut self, node: i32, name: &str, rf: i16, configs: &[(&str, &str)]) -> i16 {
        self.create_topic(node, name, 1, rf, configs)
    }

    /// The synced bytes of partition 0's first segment on `node`.
    fn segment(&self, node: i32, topic: &str) -> Vec<u8> {
        let disk = self.nodes.get(&node).map(|h| &h.disk).or_else(|| self.stopped.get(&node)).expect("known node");
        disk.files.get(&format!("{topic}-0/00000000000000000000.log")).map(|f| f.synced.clone()).unwrap_or_default()
    }

    fn isr(&self, node: i32, topic: &str) -> Vec<NodeId> {
        self.nodes[&node].broker.cluster.as_ref().unwrap().metadata().unwrap().partition(topic, 0).unwrap().isr.clone()
    }
}

/// Replication end to end: acks=all records reach every replica byte for byte; the
/// leader crashes (power loss) and a follower takes over with every acknowledged
/// record; the old leader returns as a follower, catches up and rejoins the ISR.
#[test]
fn acknowledged_records_survive_the_leaders_crash() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    assert_eq!(c.create_with(0, "r", 3, &[("min.insync.replicas", "2")]), ec::NONE);
    c.run(500);
    let (leader, epoch, _) = c.partition_leaders(0, "r")[0];
    for (i, v) in ["a", "b", "c"].iter().enumerate() {
        let r = c.produce(leader, "r", 0, v);
        assert_eq!((r.error_code, r.base_offset), (ec::NONE, i as i64), "acks=all produce {v}");
    }
    c.run(500);
    let on_leader = c.segment(leader, "r");
    assert!(!on_leader.is_empty());
    for n in 0..NODES {
        assert_eq!(c.segment(n, "r"), on_leader, "node {n} holds the leader's bytes, synced");
    }
    c.crash(leader);
    c.run_until(15_000, "a new partition leader", |c| {
        let n = (leader + 1) % NODES;
        c.nodes[&n].broker.cluster.as_ref().unwrap().metadata().unwrap().partition("r", 0).unwrap().leader.is_some_and(|l| l.0 != leader)
    });
    let (new_leader, new_epoch, _) = c.partition_leaders((leader + 1) % NODES, "r")[0];
    assert!(new_epoch > epoch);
    let r = c.produce(new_leader, "r", 0, "d");
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 3), "the new leader kept a, b, c");
    c.restart(leader);
    c.run_until(20_000, "the old leader rejoins the ISR", |c| c.isr(new_leader, "r").len() == 3);
    c.run(1_000);
    let on_new = c.segment(new_leader, "r");
    for n in 0..NODES {
        assert_eq!(c.segment(n, "r"), on_new, "node {n} caught up");
    }
}

/// min.insync.replicas: with a follower fenced, acks=all is refused with
/// NOT_ENOUGH_REPLICAS and nothing is acknowledged; acks=1 still works. The fenced
/// follower stays in the ISR (it is at min.insync.replicas), so it is still eligible
/// to lead: the leader just does not count it.
#[test]
fn acks_all_needs_min_insync_replicas() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    assert_eq!(c.create_with(0, "m", 3, &[("min.insync.replicas", "3")]), ec::NONE);
    c.run(500);
    let (leader, _, _) = c.partition_leaders(0, "m")[0];
    assert_eq!(c.produce(leader, "m", 0, "a").error_code, ec::NONE);
    let controller = c.leaders()[0];
    let victim = (0..NODES).find(|n| *n != leader && *n != controller).unwrap_or((leader + 1) % NODES);
    c.crash(victim);
    c.run_until(15_000, "the follower fenced", |c| c.live_brokers(leader).len() == 2);
    c.run(500);
    assert_eq!(c.isr(leader, "m").len(), 3, "the fenced follower stays in the ISR");
    let r = c.produce(leader, "m", 0, "b");
    assert_eq!(r.error_code, ec::NOT_ENOUGH_REPLICAS);
    let r = match c.call(leader, 9, produce_req("m", 0, 1, batch(&["c"], 1_700_000_000_000))) {
        Response::Produce(r) => r.responses[0].partition_responses[0].clone(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 1), "acks=1 is taken");
}

/// A leader cut off from the cluster takes an acks=1 record no follower ever sees; a
/// new leader takes other records; when the old leader returns it finds where its log
/// diverges, truncates its own record away and copies the new leader's log.
#[test]
fn a_returning_leader_truncates_what_it_alone_wrote() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    let controller = c.leaders()[0];
    assert_eq!(c.create_with(controller, "z", 3, &[]), ec::NONE);
    c.run(500);
    let (old, _, _) = c.partition_leaders(controller, "z")[0];
    assert_eq!(c.produce(old, "z", 0, "kept").error_code, ec::NONE, "acks=all before the cut");
    c.isolated = Some(old);
    let r = match c.call(old, 9, produce_req("z", 0, 1, batch(&["lost"], 1_700_000_000_000))) {
        Response::Produce(r) => r.responses[0].partition_responses[0].clone(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 1), "acks=1 on the isolated leader");
    let witness = (0..NODES).find(|n| *n != old).unwrap();
    c.run_until(15_000, "a new partition leader", |c| {
        c.nodes[&witness].broker.cluster.as_ref().unwrap().metadata().unwrap().partition("z", 0).unwrap().leader.is_some_and(|l| l.0 != old)
    });
    let (new, _, _) = c.partition_leaders(witness, "z")[0];
    let r = c.produce(new, "z", 0, "other");
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 1), "offset 1 again, on the new leader");
    c.isolated = None;
    c.run_until(20_000, "the old leader rejoins the ISR", |c| c.isr(new, "z").len() == 3);
    c.run(1_000);
    assert_eq!(c.segment(old, "z"), c.segment(new, "z"), "the old leader holds the new leader's log");
    let truncated = c.nodes[&old].events.iter().any(|e| matches!(e, ClusterEvent::Truncated { to, .. } if to.0 == 1));
    assert!(truncated, "the old leader cut its log at 1");
}

/// DeleteRecords on the leader moves the followers' log start too (over committed
/// records), through the log start each fetch answer carries.
#[test]
fn followers_follow_the_leaders_log_start() {
    use crate::protocol::messages::delete_records;
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    assert_eq!(c.create_with(0, "d", 3, &[]), ec::NONE);
    c.run(500);
    let (leader, _, _) = c.partition_leaders(0, "d")[0];
    for v in ["a", "b", "c"] {
        assert_eq!(c.produce(leader, "d", 0, v).error_code, ec::NONE);
    }
    let req = Request::DeleteRecords(delete_records::DeleteRecordsRequest {
        topics: vec![delete_records::DeleteRecordsTopic {
            name: "d".into(),
            partitions: vec![delete_records::DeleteRecordsPartition { partition_index: 0, offset: 2 }],
        }],
        timeout_ms: 1000,
    });
    let Response::DeleteRecords(r) = c.call(leader, 2, req) else { panic!() };
    assert_eq!(r.topics[0].partitions[0].error_code, ec::NONE);
    c.run(1_500);
    for n in 0..NODES {
        let b = &c.nodes[&n].broker;
        let owner = b.partition_owner("d", 0).unwrap();
        assert_eq!(b.partitions[&owner].log.log_start_offset().0, 2, "node {n}");
    }
}

/// A follower that dies while nothing is written leaves the ISR when fenced and is
/// never proposed back while it is gone, so the high watermark moves on without it and
/// acks=all with min.insync.replicas=2 is answered by the two live replicas. When the
/// other follower dies too, an acks=all produce that cannot commit before that one is
/// fenced gets REQUEST_TIMED_OUT at its timeout, not silence.
#[test]
fn a_dead_idle_follower_does_not_hold_the_high_watermark() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    let controller = c.leaders()[0];
    assert_eq!(c.create_with(0, "i", 3, &[("min.insync.replicas", "2")]), ec::NONE);
    c.run(500);
    let (leader, _, _) = c.partition_leaders(0, "i")[0];
    assert_eq!(c.produce(leader, "i", 0, "a").error_code, ec::NONE);
    c.run(1_000);
    let followers: Vec<i32> = (0..NODES).filter(|n| *n != leader).collect();
    // The controller dies last, if it is a follower: the fencing needs it.
    let (victim, last) = if followers[0] == controller { (followers[1], followers[0]) } else { (followers[0], followers[1]) };
    c.crash(victim);
    c.run_until(15_000, "the ISR shrank", |c| c.isr(leader, "i").len() == 2);
    c.run(5_000);
    assert_eq!(c.isr(leader, "i").len(), 2, "the dead follower is not proposed back");
    let r = c.produce(leader, "i", 0, "b");
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 1), "acks=all answered by two in-sync replicas");
    // Not fenced yet (or never, if it was the controller: no quorum is left).
    c.crash(last);
    let mut req = produce_req("i", 0, -1, batch(&["timed-out"], 1_700_000_000_000));
    if let Request::Produce(p) = &mut req {
        p.timeout_ms = 300;
    }
    let r = match c.call(leader, 9, req) {
        Response::Produce(r) => r.responses[0].partition_responses[0].clone(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(r.error_code, ec::REQUEST_TIMED_OUT, "the dead follower is still in the ISR");
}

/// A follower whose partition directory is lost while it is down comes back with an
/// empty log while the metadata still counts it in the ISR. It does not stay there as
/// a holder of every record: it leaves the ISR through the controller, so when the
/// leader then dies the other follower, which holds the records, takes over. The
/// wiped replica catches up, rejoins the ISR and drops its incomplete-log marker.
#[test]
fn a_replica_that_lost_its_directory_leaves_the_isr_until_caught_up() {
    let mut c = Cluster::start();
    c.run_until(10_000, "cluster formed", |c| c.leaders().len() == 1 && (0..NODES).all(|n| c.live_brokers(n).len() == 3));
    assert_eq!(c.create_with(0, "w", 3, &[("min.insync.replicas", "2")]), ec::NONE);
    c.run(500);
    let (leader, _, _) = c.partition_leaders(0, "w")[0];
    for (i, v) in ["a", "b", "c"].iter().enumerate() {
        let r = c.produce(leader, "w", 0, v);
        assert_eq!((r.error_code, r.base_offset), (ec::NONE, i as i64), "acks=all produce {v}");
    }
    c.run(500);
    let victim = (0..NODES).find(|n| *n != leader).unwrap();
    let other = (0..NODES).find(|n| *n != leader && *n != victim).unwrap();
    c.crash(victim);
    let disk = c.stopped.get_mut(&victim).unwrap();
    disk.files.retain(|path, _| !path.starts_with("w-0/"));
    c.restart(victim);
    c.run_until(10_000, "the wiped replica is out of the ISR", |c| {
        let isr = c.isr(leader, "w");
        c.live_brokers(leader).len() == 3 && isr.len() == 2 && !isr.contains(&NodeId(victim))
    });

    c.crash(leader);
    c.run_until(15_000, "a new partition leader", |c| {
        c.nodes[&other]
            .broker
            .cluster
            .as_ref()
            .unwrap()
            .metadata()
            .unwrap()
            .partition("w", 0)
            .unwrap()
            .leader
            .is_some_and(|l| l.0 != leader)
    });
    let (new_leader, _, _) = c.partition_leaders(other, "w")[0];
    assert_eq!(new_leader, other, "the follower that kept the records leads, not the wiped one");
    // acks=1: the fenced old leader keeps its ISR place (min.insync.replicas), so
    // acks=all would be refused with NOT_ENOUGH_REPLICAS until it is back.
    let r = match c.call(new_leader, 9, produce_req("w", 0, 1, batch(&["d"], 1_700_000_000_000))) {
        Response::Produce(r) => r.responses[0].partition_responses[0].clone(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!((r.error_code, r.base_offset), (ec::NONE, 3), "a, b and c survived");

    c.restart(leader);
    c.run_until(20_000, "every replica back in the ISR", |c| c.isr(new_leader, "w").len() == 3);
    c.run(1_000);
    let on_leader = c.segment(new_leader, "w");
    assert_eq!(c.segment(victim, "w"), on_leader, "the wiped replica caught up");
    assert!(!c.nodes[&victim].disk.files.contains_key("w-0/replica-incomplete"), "the marker is gone once caught up");
}
