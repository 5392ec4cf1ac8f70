"""Consumer groups (classic protocol) and the idempotent producer with real clients.

confluent-kafka (librdkafka), kafka-python and kcat join groups on chronik-server: partitions
are shared, handed over on leave and on crash (session timeout), committed offsets survive a
broker SIGKILL, cooperative-sticky moves only what it must, static members get their
partitions back; kafka-python's admin client lists/describes/deletes groups; the idempotent
producer writes every number exactly once through a proxy that cuts connections; the group
error codes clients act on come back for hand-built requests.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from clients import (Delivery, base_conf, consume_partition, create_topic, flush_bounded,
                     producer, unique_topic)
from group_helpers import (DroppingProxy, Member, RawClient, assert_partitioned, partitioned,
                           wait_until)

SESSION_MS = 6000            # the broker's minimum (group.min.session.timeout.ms, Kafka's default)
JOIN_TIMEOUT_S = 30.0        # initial rebalance delay (3 s) + joins, with a wide margin
KCAT = shutil.which("kcat") or shutil.which("kafkacat")

# Error codes (Kafka's protocol/Errors.java).
UNKNOWN_TOPIC_OR_PARTITION = 3
ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79


def unique_group(prefix: str = "g") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def member_conf(bootstrap: str, group: str, **extra) -> dict:
    conf = base_conf(bootstrap)
    conf.update({
        "group.id": group,
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 20000,   # also the JoinGroup rebalance timeout
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 500,
        "fetch.wait.max.ms": 100,
        "reconnect.backoff.max.ms": 500,
    })
    conf.update(extra)
    return conf


def produce_numbered(bootstrap: str, topic: str, prefix: str, n: int, partitions: int) -> list[str]:
    """n values "<prefix>-<i>" to partition i % partitions, acks=all; returns the values."""
    values = [f"{prefix}-{i}" for i in range(n)]
    d = Delivery()
    p = producer(bootstrap, acks="all")
    for i, v in enumerate(values):
        p.produce(topic, value=v.encode(), partition=i % partitions, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed, d.failed[:3]
    assert len(d.acked) == n
    return values


def consumed_values(members: list[Member]) -> list[str]:
    return [e["v"] for m in members for e in m.messages()]


@pytest.fixture
def spawn(tmp_path):
    """Start group_member.py subprocesses; teardown kills any still running and prints their
    events (shown in the report of a failing test)."""
    made: list[Member] = []

    def make(name: str, conf: dict, topics: list[str]) -> Member:
        m = Member(name, conf, topics, tmp_path)
        made.append(m)
        return m

    yield make
    for m in made:
        m.cleanup()
        print(m.describe())


# ---------------------------------------------------------------- 1. share, leave, crash


def test_three_members_share_then_leave_then_crash(broker, spawn):
    """Three librdkafka consumers (subprocesses) in one group over six partitions each get
    two, disjoint and covering all six, and consume 600 messages exactly once between them,
    each only from its own partitions. One closes (LeaveGroup): the other two take over all
    six (three each) and resume from the committed offsets, so nothing is consumed twice.
    One is then SIGKILLed: after the session timeout the survivor owns all six partitions and
    consumes what was produced meanwhile; still nothing twice, nothing missing."""
    topic, group = unique_topic("g3"), unique_group()
    create_topic(broker.bootstrap, topic, partitions=6)
    conf = member_conf(broker.bootstrap, group)
    a, b, c = (spawn(name, conf, [topic]) for name in "abc")

    wait_until(lambda: partitioned([a, b, c], 6, 2), JOIN_TIMEOUT_S, "two partitions each")
    produced = produce_numbered(broker.bootstrap, topic, "one", 600, 6)
    wait_until(lambda: len(consumed_values([a, b, c])) >= 600, 30, "600 consumed")
    for m in (a, b, c):
        assert {e["p"] for e in m.messages()} <= m.assignment(), f"{m.name} read a foreign partition"
    assert Counter(consumed_values([a, b, c])) == Counter(produced)

    # a leaves cleanly; b and c take over its partitions from its committed offsets.
    assert a.close() == 0
    assert a.of("closed"), "a did not close"
    wait_until(lambda: partitioned([b, c], 6, 3), JOIN_TIMEOUT_S, "b and c with three each")
    produced += produce_numbered(broker.bootstrap, topic, "two", 600, 6)
    wait_until(lambda: len(consumed_values([a, b, c])) >= 1200, 30, "1200 consumed")
    assert Counter(consumed_values([a, b, c])) == Counter(produced), \
        "after the leave, messages were consumed twice or not at all"

    # b crashes (SIGKILL: no LeaveGroup); c gets everything after the session timeout.
    time.sleep(2.0)   # let b's auto-commit (every 0.5 s) cover what it consumed
    b.kill9()
    killed_at = time.monotonic()
    produced += produce_numbered(broker.bootstrap, topic, "three", 600, 6)
    wait_until(lambda: c.assignment() == set(range(6)), SESSION_MS / 1000 + JOIN_TIMEOUT_S,
               "c owning all six partitions after b's session timed out")
    took_over_after = time.monotonic() - killed_at
    wait_until(lambda: len(consumed_values([a, b, c])) >= 1800, 30, "1800 consumed")
    time.sleep(0.5)
    assert Counter(consumed_values([a, b, c])) == Counter(produced), \
        "after the crash, messages were consumed twice or not at all"
    assert took_over_after >= 2.0, f"b's partitions moved {took_over_after:.1f}s after SIGKILL"
    for m in (a, b, c):
        assert not m.errors(), f"{m.name}: {m.errors()[:3]}"
    assert c.close() == 0


# ---------------------------------------------------------------- 2. commits survive kill -9


def test_committed_offsets_survive_broker_kill9(broker):
    """A group consumer reads three partitions, commits offsets 7/13/21 synchronously; the
    broker is SIGKILLed right after the commit returns and restarted on the same data dir. A
    new consumer in the group starts exactly at the committed offsets (its first message in
    each partition is the one at the committed offset) and committed() returns them."""
    topic, group = unique_topic("gk"), unique_group()
    create_topic(broker.bootstrap, topic, partitions=3)
    per_partition = 30
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    for part in range(3):
        for i in range(per_partition):
            p.produce(topic, value=f"p{part}-{i}".encode(), partition=part, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed and len(d.acked) == 3 * per_partition
    targets = {0: 7, 1: 13, 2: 21}

    conf = member_conf(broker.bootstrap, group, **{"enable.auto.commit": False})
    c1 = Consumer(conf)
    c1.subscribe([topic])
    seen = defaultdict(list)
    deadline = time.monotonic() + 60
    for _ in range(10_000):
        if time.monotonic() > deadline or all(len(seen[q]) >= t for q, t in targets.items()):
            break
        msg = c1.poll(0.2)
        if msg is None or msg.error():
            assert msg is None or msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
            continue
        seen[msg.partition()].append((msg.offset(), msg.value().decode()))
    for q, t in targets.items():
        assert seen[q][:t] == [(i, f"p{q}-{i}") for i in range(t)], f"partition {q}: {seen[q][:t]}"
    result = c1.commit(offsets=[TopicPartition(topic, q, t) for q, t in targets.items()],
                       asynchronous=False)
    assert all(tp.error is None for tp in result), result
    assert {tp.partition: tp.offset for tp in result} == targets

    broker.kill9()
    broker.start()
    c1.close()

    c2 = Consumer(conf)
    try:
        c2.subscribe([topic])
        first = {}
        deadline = time.monotonic() + 60
        for _ in range(10_000):
            if time.monotonic() > deadline or len(first) == 3:
                break
            msg = c2.poll(0.2)
            if msg is None or msg.error():
                continue
            first.setdefault(msg.partition(), (msg.offset(), msg.value().decode()))
        assert first == {q: (t, f"p{q}-{t}") for q, t in targets.items()}
        committed = c2.committed([TopicPartition(topic, q) for q in targets], timeout=15)
        assert {tp.partition: tp.offset for tp in committed} == targets
    finally:
        c2.close()


# ---------------------------------------------------------------- 3. cooperative-sticky


def test_cooperative_sticky_incremental_rebalance(broker, spawn):
    """With partition.assignment.strategy=cooperative-sticky, a first member owns all six
    partitions; when a second joins, the first is asked to give up exactly three (its revoke
    callbacks name only those, never all six), keeps the other three throughout, and the
    second gets exactly the three that moved: disjoint and complete."""
    topic, group = unique_topic("gc"), unique_group()
    create_topic(broker.bootstrap, topic, partitions=6)
    conf = member_conf(broker.bootstrap, group, **{"partition.assignment.strategy": "cooperative-sticky"})
    a = spawn("a", conf, [topic])
    wait_until(lambda: a.assignment() == set(range(6)), JOIN_TIMEOUT_S, "a owning all six")
    b = spawn("b", conf, [topic])
    wait_until(lambda: partitioned([a, b], 6, 3), JOIN_TIMEOUT_S, "three each")
    time.sleep(2.0)   # any further (wrong) rebalance would show up here
    assert_partitioned([a, b], 6, 3)

    revoked = [{p for _, p in e["parts"]} for e in a.of("revoke")]
    moved = set().union(*revoked) if revoked else set()
    assert moved == b.assignment(), f"a revoked {revoked}, b owns {b.assignment()}"
    assert all(len(r) < 6 for r in revoked), f"a had everything revoked: {revoked}"
    assert not (moved & a.assignment()), "a revoked a partition it still owns"
    assigned_a = [{p for _, p in e["parts"]} for e in a.of("assign")]
    assert assigned_a[0] == set(range(6)) and not set().union(*assigned_a[1:]), \
        f"a's incremental assigns: {assigned_a}"
    assert not b.of("revoke") and not a.of("lost") and not b.of("lost")
    for m in (a, b):
        assert not m.errors(), f"{m.name}: {m.errors()[:3]}"

    # Data flows to the right owners after the incremental rebalance.
    produced = produce_numbered(broker.bootstrap, topic, "coop", 300, 6)
    wait_until(lambda: len(consumed_values([a, b])) >= 300, 30, "300 consumed")
    assert Counter(consumed_values([a, b])) == Counter(produced)
    for m in (a, b):
        assert {e["p"] for e in m.messages()} <= m.assignment()


# ---------------------------------------------------------------- 4. static membership


def test_static_member_restart_keeps_partitions(broker, spawn):
    """Two static members (group.instance.id). One is SIGKILLed and restarted with the same
    instance id well within its session timeout: it gets the same partitions back, and the
    other member sees no rebalance at all (no revoke, no new assignment)."""
    topic, group = unique_topic("gs"), unique_group()
    create_topic(broker.bootstrap, topic, partitions=4)
    conf_a = member_conf(broker.bootstrap, group, **{"session.timeout.ms": 10000,
                                                     "group.instance.id": f"{group}-a"})
    conf_b = dict(conf_a, **{"group.instance.id": f"{group}-b"})
    a = spawn("a", conf_a, [topic])
    time.sleep(1.0)   # a joins first and leads; b (the one restarted) follows
    b = spawn("b", conf_b, [topic])
    wait_until(lambda: partitioned([a, b], 4, 2), JOIN_TIMEOUT_S, "two partitions each")
    time.sleep(1.0)
    a_parts, b_parts = a.assignment(), b.assignment()
    a_rebalance_events = len(a.of("assign")) + len(a.of("revoke"))

    b.kill9()
    killed_at = time.monotonic()
    b2 = spawn("b2", conf_b, [topic])
    wait_until(lambda: b2.assignment(), 20, "the restarted b getting an assignment")
    back_after = time.monotonic() - killed_at
    assert b2.assignment() == b_parts
    assert back_after < 10, f"b came back only after {back_after:.1f}s (session timeout 10 s)"
    time.sleep(3.0)   # heartbeats every second: a rebalance would reach a here
    assert a.assignment() == a_parts and b2.assignment() == b_parts
    assert len(a.of("assign")) + len(a.of("revoke")) == a_rebalance_events, \
        f"a went through a rebalance: {a.of('revoke')} {a.of('assign')}"

    produced = produce_numbered(broker.bootstrap, topic, "static", 200, 4)
    wait_until(lambda: sum(1 for e in b2.messages() if e["v"].startswith("static-")) >= 100, 30,
               "b2 consuming its partitions")
    assert {e["p"] for e in b2.messages()} <= b_parts
    # a consumes its two partitions at its own pace: wait (bounded) until both members together
    # have seen as many records as were produced, then compare them exactly.
    wait_until(lambda: sum(1 for m in (a, b2) for e in m.messages() if e["v"].startswith("static-")) >= len(produced),
               30, "both members consuming every record")
    assert Counter(e["v"] for m in (a, b2) for e in m.messages() if e["v"].startswith("static-")) \
        == Counter(produced)


# ---------------------------------------------------------------- 5. kafka-python


def test_kafka_python_group_commit_resume_and_admin(broker):
    """kafka-python: a group consumer commits offset 12 and leaves; a second consumer in the
    group resumes at 12. KafkaAdminClient lists the group, describes it (Stable, one member,
    the consumer protocol), lists its committed offset, refuses to delete it while it has a
    member (NON_EMPTY_GROUP) and deletes it once empty (its offsets go with it)."""
    from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata
    from kafka import TopicPartition as KTP
    from kafka.admin import KafkaAdminClient

    topic, group = unique_topic("gkp"), unique_group()
    create_topic(broker.bootstrap, topic)
    prod = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False)
    try:
        futures = [prod.send(topic, value=f"kp-{i}".encode(), partition=0) for i in range(30)]
        prod.flush(timeout=30)
        assert [f.get(timeout=30).offset for f in futures] == list(range(30))
    finally:
        prod.close(timeout=10)
    tp = KTP(topic, 0)

    def group_consumer():
        return KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=SESSION_MS, heartbeat_interval_ms=1000,
                             request_timeout_ms=30000)

    def poll_records(c, want: int) -> list:
        got = []
        deadline = time.monotonic() + 40
        for _ in range(1000):
            if len(got) >= want or time.monotonic() > deadline:
                break
            for records in c.poll(timeout_ms=300, max_records=5).values():
                got.extend(records)
        return got

    c1 = group_consumer()
    try:
        got = poll_records(c1, 12)
        assert [r.offset for r in got[:12]] == list(range(12))
        c1.commit({tp: OffsetAndMetadata(12, "", -1)})
        assert c1.committed(tp) == 12
    finally:
        c1.close()

    c2 = group_consumer()
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        got = poll_records(c2, 1)
        assert got and got[0].offset == 12 and got[0].value == b"kp-12", got[:1]

        listed = admin.list_groups()
        assert group in [g["group_id"] for g in listed], listed
        described = admin.describe_groups([group])[group]
        assert described["error"] is None, described
        assert described["group_state"] == "Stable", described
        assert described["protocol_type"] == "consumer"
        assert len(described["members"]) == 1, described["members"]
        offsets = admin.list_group_offsets({group: None})[group]
        assert {k: v.offset for k, v in offsets.items()} == {tp: 12}, offsets

        assert admin.delete_groups([group]) == {group: "NonEmptyGroupError"}
    finally:
        c2.close()
    try:
        assert admin.delete_groups([group]) == {group: "OK"}
        assert group not in [g["group_id"] for g in admin.list_groups()]
        assert admin.list_group_offsets({group: None})[group] == {}
    finally:
        admin.close()


# ---------------------------------------------------------------- 6. kcat -G


@pytest.mark.skipif(KCAT is None and not __import__("os").environ.get("CI"), reason="kcat not installed")
def test_kcat_balanced_consumer(broker):
    """`kcat -G <group> <topic>` (librdkafka 2.0.2's balanced consumer) joins a group and
    consumes every one of 300 messages on three partitions exactly once."""
    assert KCAT is not None
    topic, group = unique_topic("gkc"), unique_group()
    create_topic(broker.bootstrap, topic, partitions=3)
    produced = produce_numbered(broker.bootstrap, topic, "kcat", 300, 3)
    cp = subprocess.run([KCAT, "-b", broker.bootstrap, "-X", "broker.address.family=v4",
                         "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
                         "-G", group, "-c", "300", "-q", "-f", "%p %o %s\n", topic],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert cp.returncode == 0, cp.stderr.decode(errors="replace")[-3000:]
    lines = cp.stdout.decode().splitlines()
    assert Counter(line.split(" ", 2)[2] for line in lines) == Counter(produced)
    by_partition = defaultdict(list)
    for line in lines:
        part, off, _ = line.split(" ", 2)
        by_partition[int(part)].append(int(off))
    assert {q: sorted(o) for q, o in by_partition.items()} == {q: list(range(100)) for q in range(3)}


# ---------------------------------------------------------------- 7. idempotent producer


def test_idempotent_producer_through_dropping_proxy(broker_factory):
    """An idempotent librdkafka producer (acks=all, 5 in flight) sends 2000 numbered values to
    one partition through a proxy that cuts its connections mid-request several times (so
    requests are retried, some of which the broker had already appended). The partition then
    holds every number exactly once, in order, at offsets 0..1999."""
    proxy = DroppingProxy(seed=20240611, min_bytes=500, max_bytes=12000, max_drops=8)
    broker = broker_factory("--advertised-port", str(proxy.port))
    proxy.start(broker.port)
    try:
        via_proxy = f"127.0.0.1:{proxy.port}"
        topic = unique_topic("idem")
        create_topic(via_proxy, topic)
        d = Delivery()
        p = producer(via_proxy, **{"enable.idempotence": True, "acks": "all",
                                   "linger.ms": 2, "batch.num.messages": 40,
                                   "message.timeout.ms": 60000, "reconnect.backoff.ms": 50,
                                   "reconnect.backoff.max.ms": 300, "retry.backoff.ms": 50})
        n = 2000
        proxy.armed = True
        for i in range(n):
            for _ in range(1000):
                try:
                    p.produce(topic, value=f"n-{i:05d}".encode(), partition=0, on_delivery=d.callback)
                    break
                except BufferError:
                    p.poll(0.05)
            if i % 50 == 49:
                p.poll(0.01)
        flush_bounded(p, 90)
        proxy.armed = False
        drops, connections = proxy.drops, proxy.connections
        assert not d.failed, f"{len(d.failed)} failed deliveries, first: {d.failed[:3]}"
        assert len(d.acked) == n
        msgs = consume_partition(via_proxy, topic, max_messages=n + 100, timeout_s=60)
        values = [m.value().decode() for m in msgs]
        assert values == [f"n-{i:05d}" for i in range(n)], \
            (f"{len(values)} values; duplicates {[v for v, k in Counter(values).items() if k > 1][:5]}; "
             f"missing {sorted(set(f'n-{i:05d}' for i in range(n)) - set(values))[:5]}")
        assert [m.offset() for m in msgs] == list(range(n))
        assert sorted(a[0] for a in d.acked) == list(range(n))
        print(f"proxy: {drops} drops, {connections} connections")
        assert drops >= 3, f"the proxy only cut {drops} connections ({connections} opened)"
    finally:
        proxy.stop()


# ---------------------------------------------------------------- 8. error codes


def test_group_error_codes(broker):
    """Hand-built classic requests get the error codes clients act on: JoinGroup with a
    session timeout below the minimum -> INVALID_SESSION_TIMEOUT; Heartbeat from an unknown
    member -> UNKNOWN_MEMBER_ID; SyncGroup with a wrong generation -> ILLEGAL_GENERATION;
    OffsetCommit to an unknown topic or partition -> UNKNOWN_TOPIC_OR_PARTITION (and the
    well-formed versions of the same requests succeed)."""
    topic, group = unique_topic("ge"), unique_group()
    create_topic(broker.bootstrap, topic)
    rc = RawClient(broker.port)
    try:
        # The first FindCoordinator creates __consumer_offsets; until its partitions are
        # loaded the answer is COORDINATOR_NOT_AVAILABLE (15), as on Kafka.
        found = wait_until(lambda: rc.find_coordinator(group)[0] == 0 or None, 30,
                           "FindCoordinator without error")
        assert found

        bad = rc.join_group(group, session_ms=1000, topic=topic)
        assert bad["error"] == INVALID_SESSION_TIMEOUT, bad

        joined = rc.join_group(group, session_ms=SESSION_MS, topic=topic)
        assert joined["error"] == 0, joined
        member, gen = joined["member_id"], joined["generation"]
        assert member and joined["leader"] == member and gen >= 1

        assert rc.heartbeat(group, gen, "no-such-member") == UNKNOWN_MEMBER_ID
        err, _ = rc.sync_group(group, gen + 1, member, [(member, b"")])
        assert err == ILLEGAL_GENERATION
        err, _ = rc.sync_group(group, gen, member, [(member, b"")])
        assert err == 0
        assert rc.heartbeat(group, gen, member) == 0

        # JoinGroup v4+ without a member id: MEMBER_ID_REQUIRED with the id to rejoin with.
        rc2 = RawClient(broker.port)
        try:
            first = rc2.join_group(group, session_ms=SESSION_MS, topic=topic, version=4)
            assert first["error"] == MEMBER_ID_REQUIRED and first["member_id"], first
            # Joining with it starts a rebalance: the stable member's heartbeat is told
            # REBALANCE_IN_PROGRESS and its rejoin completes the round for both.
            box: dict = {}
            t = threading.Thread(target=lambda: box.update(rc2.join_group(
                group, session_ms=SESSION_MS, member_id=first["member_id"], topic=topic,
                version=4)), daemon=True)
            t.start()
            wait_until(lambda: rc.heartbeat(group, gen, member) == REBALANCE_IN_PROGRESS, 15,
                       "REBALANCE_IN_PROGRESS on the stable member's heartbeat")
            rejoined = rc.join_group(group, session_ms=SESSION_MS, member_id=member, topic=topic)
            t.join(timeout=30)
            assert not t.is_alive(), "the second member's JoinGroup never completed"
            assert rejoined["error"] == 0 and box["error"] == 0, (rejoined, box)
            assert rejoined["generation"] == box["generation"] == gen + 1
            assert rejoined["leader"] == member and len(rejoined["members"]) == 2
            assert rc.heartbeat(group, gen, member) == ILLEGAL_GENERATION
            assert rc2.leave_group(group, first["member_id"]) == 0
        finally:
            rc2.close()
        gen += 1

        missing = unique_topic("missing")
        result = rc.offset_commit(group, {topic: [(0, 5), (7, 5)], missing: [(0, 5)]},
                                  generation=gen, member_id=member)
        assert result == {(topic, 0): 0, (topic, 7): UNKNOWN_TOPIC_OR_PARTITION,
                          (missing, 0): UNKNOWN_TOPIC_OR_PARTITION}, result
        simple = rc.offset_commit(unique_group("simple"), {missing: [(0, 1)]})
        assert simple == {(missing, 0): UNKNOWN_TOPIC_OR_PARTITION}, simple
        assert rc.leave_group(group, member) == 0
    finally:
        rc.close()
