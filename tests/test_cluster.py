"""Cluster mode: three chronik-server processes on 127.0.0.1 agree on metadata through Raft.

The `cluster` fixture starts three servers with `--node-id N --peer-port P --voters
1@127.0.0.1:P1,2@127.0.0.1:P2,3@127.0.0.1:P3` (each with its own Kafka port and data dir)
and stops only the processes it started, by PID. Every wait is bounded.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire as w
from clients import (OP_TIMEOUT_S, Delivery, base_conf, consume_partition, flush_bounded, producer,
                     unique_topic)
from conftest import Broker, start_cluster
from group_helpers import wait_until

NODE_IDS = (1, 2, 3)
SESSION_TIMEOUT_MS = 3000
HEARTBEAT_INTERVAL_MS = 300
# Forming the quorum, registering brokers, electing: seconds, not minutes.
FORM_TIMEOUT_S = 60.0
# Fencing a dead broker takes the session timeout; a new Raft leader a few election timeouts.
FAILOVER_TIMEOUT_S = 60.0
NOT_LEADER_OR_FOLLOWER = 6


@pytest.fixture
def cluster(request, tmp_path_factory):
    """Three fresh cluster-mode chronik-servers; yields them in node id order."""
    args = ["--broker-session-timeout-ms", str(SESSION_TIMEOUT_MS), "--broker-heartbeat-interval-ms", str(HEARTBEAT_INTERVAL_MS)]
    yield from start_cluster(request, tmp_path_factory, NODE_IDS, args, "node")


# ---------------------------------------------------------------- bounded views of the cluster


def admin_of(node: Broker) -> AdminClient:
    """An AdminClient talking to `node` first. Keep it referenced until its futures are
    done: a collected client fails them with _DESTROY."""
    return AdminClient(base_conf(node.bootstrap))


def describe(node: Broker):
    """(broker ids, controller id or None) from DescribeCluster on `node`; None on error."""
    a = admin_of(node)
    try:
        d = a.describe_cluster(request_timeout=10).result(timeout=15)
    except Exception:  # noqa: BLE001 - a node that is not ready yet answers with errors
        return None
    controller = d.controller.id if d.controller is not None and d.controller.id >= 0 else None
    return sorted(n.id for n in d.nodes), controller


def metadata(node: Broker):
    """Metadata (confluent ClusterMetadata) from `node` alone; None on error."""
    try:
        return admin_of(node).list_topics(timeout=10)
    except Exception:  # noqa: BLE001
        return None


def partitions_of(md, topic: str) -> dict | None:
    t = md.topics.get(topic) if md is not None else None
    if t is None or t.error is not None:
        return None
    return {p.id: p for p in t.partitions.values()}


def leaders(md, topic: str) -> dict[int, int] | None:
    parts = partitions_of(md, topic)
    return None if parts is None else {i: p.leader for i, p in parts.items()}


def agreed_controller(nodes: list[Broker], live_ids: list[int], exclude: int | None = None) -> int | None:
    """The controller every node in `nodes` names, if they all list exactly `live_ids`."""
    seen = set()
    for n in nodes:
        d = describe(n)
        if d is None or d[0] != sorted(live_ids) or d[1] is None or d[1] == exclude:
            return None
        seen.add(d[1])
    return seen.pop() if len(seen) == 1 else None


def topic_ids(node: Broker, names: list[str]) -> dict[str, str]:
    a = admin_of(node)
    futures = a.describe_topics(TopicCollection(names), request_timeout=10)
    return {name: str(f.result(timeout=15).topic_id) for name, f in futures.items()}


def create_topics(node: Broker, specs: list[tuple[str, int, int]]) -> None:
    """Create (name, partitions, replication factor) topics through `node` only."""
    new = [NewTopic(name, num_partitions=p, replication_factor=rf) for name, p, rf in specs]
    a = admin_of(node)
    futures = a.create_topics(new, operation_timeout=OP_TIMEOUT_S, request_timeout=OP_TIMEOUT_S)
    for name, f in futures.items():
        f.result(timeout=OP_TIMEOUT_S)


def consistent_metadata(nodes: list[Broker], live_ids: list[int], topics: dict[str, int]) -> dict | None:
    """If every node's Metadata lists exactly `live_ids` as brokers and every topic with its
    partition count and one leader per partition agreed by all: {topic: {partition: metadata}}
    from the first node. Else None."""
    first = None
    for n in nodes:
        md = metadata(n)
        if md is None or sorted(md.brokers) != sorted(live_ids):
            return None
        view = {}
        for topic, count in topics.items():
            parts = partitions_of(md, topic)
            if parts is None or len(parts) != count:
                return None
            view[topic] = parts
        if first is None:
            first = view
        elif any(leaders(md, t) != {i: p.leader for i, p in first[t].items()} for t in topics):
            return None
    return first


def wait_formed(nodes: list[Broker]) -> int:
    """Wait until every node lists all three brokers and they agree on a controller; its id."""
    return wait_until(lambda: agreed_controller(nodes, list(NODE_IDS)), FORM_TIMEOUT_S,
                      "three brokers and one controller seen from every node", interval_s=0.25)


def produce_numbered(bootstrap: str, topic: str, partitions: int, per_partition: int) -> dict[int, list[bytes]]:
    """acks=all, numbered values per partition; returns what each partition must hold, in order."""
    d = Delivery()
    p = producer(bootstrap, acks="all")
    expected = {i: [] for i in range(partitions)}
    for n in range(per_partition):
        for part in range(partitions):
            value = f"p{part}-m{n}".encode()
            expected[part].append(value)
            p.produce(topic, value=value, partition=part, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed, d.failed
    assert len(d.acked) == partitions * per_partition
    for part in range(partitions):
        offsets = sorted(a[0] for a in d.acked if a[1] == part)
        assert offsets == list(range(per_partition)), f"partition {part} offsets {offsets}"
    return expected


def assert_readable(bootstrap: str, topic: str, expected: dict[int, list[bytes]]) -> None:
    for part, values in expected.items():
        got = [m.value() for m in consume_partition(bootstrap, topic, part, timeout_s=OP_TIMEOUT_S)]
        assert got == values, f"{topic}/{part}: {got[:5]}... != {values[:5]}..."


# ---------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_cluster_forms_serves_and_survives_controller_kill(cluster):
    """Proves three nodes started from the documented command line form one cluster: every
    node sees three brokers and one controller; topics created through one broker appear
    identically on every broker with leaders spread and RF=3 replicas and ISR complete; a
    producer bootstrapped at one node follows metadata to each leader and the data reads
    back in order; after the controller is SIGKILLed another node takes over, RF=3
    partitions move within their ISR and RF=1 partitions of the dead node show no leader;
    and after the dead node restarts on its data dir it is live again, the metadata (topics,
    partition counts, topic ids) is intact and its partitions serve all earlier messages."""
    nodes = cluster
    by_id = {n.node_id: n for n in nodes}
    wait_formed(nodes)

    rf1, rf3 = unique_topic("rf1"), unique_topic("rf3")
    topics = {rf1: 3, rf3: 3}
    create_topics(nodes[0], [(rf1, 3, 1), (rf3, 3, 3)])

    def settled():
        view = consistent_metadata(nodes, list(NODE_IDS), topics)
        if view is None:
            return None
        if any(p.leader not in NODE_IDS for t in topics for p in view[t].values()):
            return None
        if any(sorted(p.isrs) != sorted(p.replicas) for p in view[rf3].values()):
            return None  # ISR not complete yet
        return view

    view = wait_until(settled, OP_TIMEOUT_S, "both topics with led partitions on every broker", 0.25)
    assert sorted(p.leader for p in view[rf1].values()) == list(NODE_IDS), \
        f"RF=1 leaders spread over the three brokers: {leaders_text(view[rf1])}"
    for i, p in view[rf1].items():
        assert p.replicas == [p.leader] and p.isrs == [p.leader], f"{rf1}/{i}: {p.replicas} {p.isrs}"
    for i, p in view[rf3].items():
        assert sorted(p.replicas) == list(NODE_IDS), f"{rf3}/{i} replicas {p.replicas}"
        assert sorted(p.isrs) == list(NODE_IDS), f"{rf3}/{i} isr {p.isrs}"
        assert p.leader in p.isrs
    ids_before = topic_ids(nodes[1], list(topics))
    assert all(v and v != "AAAAAAAAAAAAAAAAAAAAAA" for v in ids_before.values()), ids_before
    assert topic_ids(nodes[2], list(topics)) == ids_before, "every broker reports the same topic ids"

    # One bootstrap address: the producer must learn the other leaders from Metadata.
    expected = produce_numbered(nodes[0].bootstrap, rf1, 3, 50)
    assert_readable(nodes[1].bootstrap, rf1, expected)

    # Kill the controller (a crash: no shutdown code runs).
    old_controller = agreed_controller(nodes, list(NODE_IDS))
    assert old_controller in NODE_IDS
    victim = by_id[old_controller]
    victim.kill9()
    survivors = [n for n in nodes if n is not victim]
    survivor_ids = [n.node_id for n in survivors]
    new_controller = wait_until(lambda: agreed_controller(survivors, survivor_ids, exclude=old_controller),
                                FAILOVER_TIMEOUT_S, "a new controller on the survivors", 0.25)
    assert new_controller in survivor_ids

    def failed_over():
        v = consistent_metadata(survivors, survivor_ids, topics)
        if v is None:
            return None
        for i, p in v[rf3].items():
            if p.leader not in survivor_ids:
                return None
        for i, p in v[rf1].items():
            if view[rf1][i].leader == old_controller and p.leader != -1:
                return None
        return v

    after = wait_until(failed_over, FAILOVER_TIMEOUT_S, "leaders moved off the killed node", 0.25)
    for i, p in after[rf3].items():
        assert p.leader in view[rf3][i].isrs and p.leader != old_controller, f"{rf3}/{i} leader {p.leader}"
        assert p.leader in p.isrs
    for i, p in after[rf1].items():
        if view[rf1][i].leader == old_controller:
            assert p.leader == -1, f"{rf1}/{i}: the only replica is dead, so no leader ({p.leader})"
            assert p.error is not None and p.error.code() == KafkaError.LEADER_NOT_AVAILABLE, p.error
        else:
            assert p.leader == view[rf1][i].leader, f"{rf1}/{i}: a live leader keeps its partition"

    # Restart the killed node on the same data dir, ports and flags.
    victim.start()
    wait_until(lambda: agreed_controller(nodes, list(NODE_IDS)), FAILOVER_TIMEOUT_S,
               "the restarted node live again, seen from every node", 0.25)

    def healed():
        v = consistent_metadata(nodes, list(NODE_IDS), topics)
        if v is None or any(p.leader not in NODE_IDS for t in topics for p in v[t].values()):
            return None
        return v

    healed_view = wait_until(healed, FAILOVER_TIMEOUT_S, "every partition led again after the restart", 0.25)
    for i, p in healed_view[rf1].items():
        assert p.leader == view[rf1][i].leader, f"{rf1}/{i}: its only replica leads it again"
    assert topic_ids(victim, list(topics)) == ids_before, "topic ids survive the crash and restart"
    assert topic_ids(nodes[0] if victim is not nodes[0] else nodes[1], list(topics)) == ids_before
    assert_readable(victim.bootstrap, rf1, expected)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_produce_to_a_non_leader_is_refused(cluster):
    """Proves a produce sent straight to a broker that does not lead the partition is
    answered NOT_LEADER_OR_FOLLOWER (6) and nothing is appended, while the leader accepts."""
    nodes = cluster
    by_id = {n.node_id: n for n in nodes}
    wait_formed(nodes)
    topic = unique_topic("nl")
    create_topics(nodes[0], [(topic, 1, 1)])
    view = wait_until(lambda: (lambda v: v if v and v[topic][0].leader in NODE_IDS else None)(
        consistent_metadata(nodes, list(NODE_IDS), {topic: 1})), OP_TIMEOUT_S, "the topic led", 0.25)
    leader = view[topic][0].leader
    batch = w.record_batch(w.record(0, b"raw"), 1, 0)

    def raw_produce(node: Broker) -> int:
        s = w.connect(node.port)
        try:
            assert w.send_all(s, w.produce_v9(7, topic, 0, batch, acks=1))
            kind, payload = w.response_or_close(s, timeout_s=OP_TIMEOUT_S)
            assert kind == "response", f"node {node.node_id} closed the connection"
            [(name, index, error)] = w.parse_produce_v9_response(payload)
            assert (name, index) == (topic, 0)
            return error
        finally:
            s.close()

    for node in nodes:
        if node.node_id != leader:
            assert raw_produce(node) == NOT_LEADER_OR_FOLLOWER, f"node {node.node_id} is not the leader"
    assert raw_produce(by_id[leader]) == 0
    msgs = consume_partition(nodes[0].bootstrap, topic, 0, timeout_s=OP_TIMEOUT_S)
    assert [m.value() for m in msgs] == [b"raw"], "only the leader appended"


def leaders_text(parts: dict) -> str:
    return ", ".join(f"{i}->{p.leader}" for i, p in sorted(parts.items()))


def test_consumer_group_in_a_cluster(cluster):
    """A consumer group works in a cluster: FindCoordinator names the broker that leads the
    group's `__consumer_offsets` partition (created through the controller on first use),
    a subscribed consumer gets every partition of an RF=1 topic spread over the brokers,
    commits, and a second consumer of the group resumes after the committed offsets."""
    from confluent_kafka import Consumer, TopicPartition

    nodes = cluster
    wait_formed(nodes)
    topic = unique_topic("cgroup")
    create_topics(nodes[0], [(topic, 3, 1)])
    wait_until(lambda: consistent_metadata(nodes, list(NODE_IDS), {topic: 3}), FORM_TIMEOUT_S,
               "the topic's leaders agreed on every node")
    produce_numbered(nodes[1].bootstrap, topic, 3, 10)
    group = unique_topic("group")

    def group_consumer() -> Consumer:
        conf = base_conf(nodes[2].bootstrap)
        conf.update({"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "session.timeout.ms": 10000})
        return Consumer(conf)

    c = group_consumer()
    got = []
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 90
        while len(got) < 30 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append((m.partition(), m.offset()))
        assert len(got) == 30, f"the group consumer read {len(got)} of 30 records"
        assert sorted({p for p, _ in got}) == [0, 1, 2]
        # Commit up to 5 on every partition, then leave.
        c.commit(offsets=[TopicPartition(topic, p, 5) for p in range(3)], asynchronous=False)
        committed = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
        assert [tp.offset for tp in committed] == [5, 5, 5]
    finally:
        c.close()

    c2 = group_consumer()
    again = []
    try:
        c2.subscribe([topic])
        deadline = time.monotonic() + 90
        while len(again) < 15 and time.monotonic() < deadline:
            m = c2.poll(0.5)
            if m is None or m.error():
                continue
            again.append((m.partition(), m.offset()))
        assert sorted(again) == [(p, o) for p in range(3) for o in range(5, 10)], again
    finally:
        c2.close()
