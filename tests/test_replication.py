"""Partition replication in a cluster: three chronik-server processes on 127.0.0.1, topics with
replication factor 3, producers with acks=all, and the partition leader SIGKILLed mid-stream.

What these tests prove (Kafka's ISR contract, see DESIGN.md section 4):

- every record acknowledged with acks=all survives a SIGKILL of the partition leader: it is
  readable afterwards at the offset it was acknowledged with, exactly once and in order with
  the idempotent producer, at least once with first occurrences in order without it;
- the producer keeps going through the failover (a new leader from the ISR, min.insync=2 met
  by the two survivors); the killed broker restarted on its data dir rejoins the ISR;
- with fewer in-sync replicas than min.insync.replicas an acks=all produce is refused with
  NOT_ENOUGH_REPLICAS (19) or NOT_ENOUGH_REPLICAS_AFTER_APPEND (20), never acknowledged,
  while acks=1 to the leader is still accepted.

The `replicated` fixture starts its own three servers with short broker session and heartbeat
timeouts so that failover takes seconds, and stops only the processes it started, by PID.
Every wait is bounded in time and count.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire as w
from clients import OP_TIMEOUT_S, base_conf, consume_partition, unique_topic, wait_high_watermark
from conftest import Broker, server_binary, start_cluster
from group_helpers import wait_until

NODE_IDS = (1, 2, 3)
SESSION_TIMEOUT_MS = 2000
HEARTBEAT_INTERVAL_MS = 200
# Passed only if the server has the flag (it comes with replication).
REPLICA_LAG_TIME_MAX_MS = 2000
FORM_TIMEOUT_S = 30.0
# Fencing a dead broker takes the session timeout (2 s), a new controller a few election
# timeouts (1-2 s at the default tick); generous on a loaded machine.
FAILOVER_TIMEOUT_S = 30.0
ISR_TIMEOUT_S = 30.0
# A dead follower leaves the ISR after the lag time at the latest (the controller may drop a
# fenced broker at once); without the flag the server's default (Kafka's, 30 s) applies.
def lag_time_s() -> float:
    return REPLICA_LAG_TIME_MAX_MS / 1000 if "--replica-lag-time-max-ms" in server_help() else 30.0


NOT_ENOUGH_REPLICAS = 19
NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
REFUSED = (NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND)
# The numbered stream: bounded in count and time whatever happens.
MAX_NUMBERS = 60_000
PRODUCE_MAX_S = 60.0
IN_QUEUE_MAX = 100  # messages the producer thread keeps queued or in flight at most


@functools.lru_cache(maxsize=1)
def server_help() -> str:
    try:
        r = subprocess.run([str(server_binary()), "--help"], capture_output=True, text=True, timeout=10)
        return r.stdout + r.stderr
    except (OSError, subprocess.TimeoutExpired):
        return ""


@pytest.fixture
def replicated(request, tmp_path_factory):
    """Three fresh cluster-mode chronik-servers with short failover timeouts, in node id order."""
    args = ["--broker-session-timeout-ms", str(SESSION_TIMEOUT_MS), "--broker-heartbeat-interval-ms", str(HEARTBEAT_INTERVAL_MS)]
    if "--replica-lag-time-max-ms" in server_help():
        args += ["--replica-lag-time-max-ms", str(REPLICA_LAG_TIME_MAX_MS)]
    yield from start_cluster(request, tmp_path_factory, NODE_IDS, args, "repl")


# ---------------------------------------------------------------- bounded views of the cluster


def bootstrap_of(nodes) -> str:
    return ",".join(n.bootstrap for n in nodes)


def describe(node: Broker):
    """(broker ids, controller id or None) from DescribeCluster on `node` alone; None on error."""
    a = AdminClient(base_conf(node.bootstrap))
    try:
        d = a.describe_cluster(request_timeout=5).result(timeout=8)
    except Exception:  # noqa: BLE001 - a node that is not ready yet answers with errors
        return None
    controller = d.controller.id if d.controller is not None and d.controller.id >= 0 else None
    return sorted(n.id for n in d.nodes), controller


def wait_formed(nodes) -> int:
    """Wait until every node lists all `nodes` as brokers and names one controller; its id."""
    ids = sorted(n.node_id for n in nodes)

    def agreed():
        seen = set()
        for n in nodes:
            d = describe(n)
            if d is None or d[0] != ids or d[1] is None:
                return None
            seen.add(d[1])
        return seen.pop() if len(seen) == 1 else None

    return wait_until(agreed, FORM_TIMEOUT_S, f"brokers {ids} and one controller seen from every node", 0.25)


def partition0(node: Broker, topic: str):
    """Partition 0 of `topic` (confluent PartitionMetadata) in `node`'s own Metadata; None on error."""
    try:
        md = AdminClient(base_conf(node.bootstrap)).list_topics(topic=topic, timeout=5)
    except Exception:  # noqa: BLE001
        return None
    t = md.topics.get(topic)
    if t is None or t.error is not None or 0 not in t.partitions:
        return None
    return t.partitions[0]


def agreed_partition(nodes, topic: str, pred):
    """Partition 0 if every node in `nodes` reports the same leader and ISR and pred(p) holds."""
    first = None
    for n in nodes:
        p = partition0(n, topic)
        if p is None or not pred(p):
            return None
        if first is None:
            first = p
        elif (p.leader, sorted(p.isrs)) != (first.leader, sorted(first.isrs)):
            return None
    return first


def wait_partition(nodes, topic: str, pred, what: str, timeout_s: float = FAILOVER_TIMEOUT_S):
    return wait_until(lambda: agreed_partition(nodes, topic, pred), timeout_s, f"{topic}/0: {what}", 0.25)


def wait_full_isr_stable(nodes, topic: str, hold_s: float = 1.5, timeout_s: float = ISR_TIMEOUT_S):
    """Wait until every node shows the ISR [1, 2, 3] and it stays so for `hold_s` (bounded).

    Returns the number of times the full ISR was seen and then lost (a restarted follower
    dropped again right after joining: FAILURES.md 2)."""
    flaps = 0
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / 0.1) + 10):
        wait_partition(nodes, topic, lambda p: sorted(p.isrs) == list(NODE_IDS),
                       "the ISR regrown to [1, 2, 3]", max(1.0, deadline - time.monotonic()))
        held_until = time.monotonic() + hold_s
        while time.monotonic() < held_until:
            if agreed_partition(nodes, topic, lambda p: sorted(p.isrs) == list(NODE_IDS)) is None:
                flaps += 1
                break
            time.sleep(0.05)
        else:
            return flaps
        assert time.monotonic() < deadline, f"{topic}/0: the ISR never stayed [1, 2, 3] for {hold_s} s"
    raise AssertionError(f"{topic}/0: the ISR never stayed [1, 2, 3] for {hold_s} s")


def isr_text(p) -> str:
    return f"leader {p.leader} replicas {sorted(p.replicas)} isr {sorted(p.isrs)}"


def create_rf3(nodes, topic: str, min_insync: int):
    """Create `topic` (1 partition, RF=3, min.insync.replicas) and wait until every node shows it
    led with the full ISR; its partition 0."""
    a = AdminClient(base_conf(bootstrap_of(nodes)))
    futures = a.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=3,
                  config={"min.insync.replicas": str(min_insync)})],
        operation_timeout=OP_TIMEOUT_S, request_timeout=OP_TIMEOUT_S)
    futures[topic].result(timeout=OP_TIMEOUT_S)
    p = wait_partition(nodes, topic, lambda p: p.leader in NODE_IDS and sorted(p.isrs) == list(NODE_IDS),
                       "led, with ISR [1, 2, 3] on every node", ISR_TIMEOUT_S)
    assert sorted(p.replicas) == list(NODE_IDS), isr_text(p)
    return p


# ---------------------------------------------------------------- the numbered producer


class NumberedProducer:
    """A producer thread writing "0", "1", "2", ... to partition 0 of `topic` with acks=all
    until stopped (bounded in count and time), keeping at most IN_QUEUE_MAX messages queued
    so the stream is spread over the whole test. Delivery callbacks record what was
    acknowledged at which offset, and what failed."""

    def __init__(self, bootstrap: str, topic: str, idempotent: bool):
        self.topic = topic
        self.conf = base_conf(bootstrap)
        self.conf.update({
            "acks": "all",
            "enable.idempotence": idempotent,
            "linger.ms": 1,
            "message.timeout.ms": 45000,
            "request.timeout.ms": 10000,
            "retry.backoff.ms": 50,
            "retry.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000,
        })
        if not idempotent:
            # Retries without idempotence may duplicate; one request in flight keeps the order.
            self.conf["max.in.flight.requests.per.connection"] = 1
        self.acked: dict[int, int] = {}          # number -> offset
        self.failed: list[tuple[int, str]] = []  # (number, error)
        self.produced = 0
        self.unflushed = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"produce-{topic}", daemon=True)

    def _callback(self, err, msg):
        n = int(msg.value())
        if err is not None:
            self.failed.append((n, str(err)))
        else:
            assert n not in self.acked, f"{n} acknowledged twice"
            self.acked[n] = msg.offset()

    def _run(self):
        try:
            p = Producer(self.conf)
            deadline = time.monotonic() + PRODUCE_MAX_S
            for _ in range(MAX_NUMBERS * 10):
                if self._stop.is_set() or self.produced >= MAX_NUMBERS or time.monotonic() >= deadline:
                    break
                if len(p) < IN_QUEUE_MAX:
                    p.produce(self.topic, value=str(self.produced).encode(), partition=0,
                              on_delivery=self._callback)
                    self.produced += 1
                p.poll(0.002)
            self.unflushed = p.flush(60)
        except BaseException as e:  # noqa: BLE001 - reported by finish()
            self.error = e

    def start(self):
        self._thread.start()

    def wait_acked(self, at_least: int, timeout_s: float, what: str):
        def enough():
            assert self.error is None, f"producer thread failed: {self.error!r}"
            return len(self.acked) >= at_least
        try:
            wait_until(enough, timeout_s, f"{at_least} acknowledged numbers ({what})", 0.05)
        except AssertionError as e:
            raise AssertionError(f"{e}; acknowledged {len(self.acked)} of {self.produced} produced, "
                                 f"failed {len(self.failed)}: {self.failed[:5]}") from None

    def finish(self):
        self._stop.set()
        self._thread.join(timeout=90)
        assert not self._thread.is_alive(), "the producer thread did not finish flushing within 90 s"
        assert self.error is None, f"producer thread failed: {self.error!r}"
        assert self.unflushed == 0, f"{self.unflushed} messages undelivered after the flush"


def read_log(bootstrap: str, topic: str) -> list[tuple[int, int]]:
    """(offset, number) of every record of partition 0, from the start to the high watermark."""
    msgs = consume_partition(bootstrap, topic, 0, timeout_s=60)
    return [(m.offset(), int(m.value())) for m in msgs]


def check_log(log: list[tuple[int, int]], prod: NumberedProducer, idempotent: bool) -> None:
    offsets = [o for o, _ in log]
    assert offsets == list(range(len(log))), f"offsets not contiguous from 0: {offsets[:20]}..."
    at = dict(log)
    wrong = [(n, off, at.get(off)) for n, off in sorted(prod.acked.items()) if at.get(off) != n]
    assert not wrong, (f"{len(wrong)} acknowledged numbers not at their acknowledged offset "
                       f"(number, acked offset, found there): {wrong[:10]}")
    values = [v for _, v in log]
    # No delivery failed, so every number produced was acknowledged and must be in the log.
    assert sorted(prod.acked) == list(range(prod.produced))
    if idempotent:
        dups = len(values) - len(set(values))
        assert dups == 0, f"{dups} duplicated numbers in the log of an idempotent producer"
        assert values == list(range(prod.produced)), \
            f"the log is not exactly 0..{prod.produced - 1} in order: first differences " \
            f"{[(o, v) for o, v in log if v != o][:10]}"
    else:
        first = []
        seen = set()
        for v in values:
            if v not in seen:
                seen.add(v)
                first.append(v)
        assert first == list(range(prod.produced)), \
            f"first occurrences are not 0..{prod.produced - 1} in order: {first[:20]}..."
        # Duplicates are allowed (a retried request that had been appended), but only right
        # after a failover, not everywhere.
        assert len(values) - len(first) <= IN_QUEUE_MAX * 4, \
            f"{len(values) - len(first)} duplicates: more than the failovers' in-flight messages"


# ---------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "non-idempotent"])
def test_acked_writes_survive_leader_kill(replicated, idempotent):
    """Proves the issue's claim: with RF=3 and min.insync.replicas=2, an acks=all producer
    writing numbers while the partition leader is SIGKILLed (and later restarted on its data
    dir) keeps going through the failover, and afterwards every acknowledged number is in the
    log at its acknowledged offset, exactly once and in order (idempotent), or at least once
    with first occurrences in order (non-idempotent); the new leader came from the ISR, the
    restarted broker rejoins the ISR (3 again), and after a second failover to a broker that
    rejoined, the log reads back identical (the replicas agree)."""
    nodes = replicated
    by_id = {n.node_id: n for n in nodes}
    wait_formed(nodes)
    topic = unique_topic("repl-idem" if idempotent else "repl-plain")
    before = create_rf3(nodes, topic, min_insync=2)
    old_leader = before.leader

    prod = NumberedProducer(bootstrap_of(nodes), topic, idempotent)
    prod.start()
    try:
        prod.wait_acked(300, 30, "before the kill")

        victim = by_id[old_leader]
        victim.kill9()
        acked_at_kill = len(prod.acked)
        survivors = [n for n in nodes if n is not victim]
        survivor_ids = [n.node_id for n in survivors]
        after = wait_partition(survivors, topic, lambda p: p.leader in survivor_ids,
                               f"a new leader among the survivors {survivor_ids}")
        assert after.leader in before.isrs, f"new leader {after.leader} not from the ISR {before.isrs}"
        assert after.leader in after.isrs, isr_text(after)
        # min.insync.replicas=2 is met by the two survivors: the stream goes on.
        prod.wait_acked(acked_at_kill + 300, FAILOVER_TIMEOUT_S + lag_time_s(), "after the failover, old leader dead")

        victim.start()
        acked_at_restart = len(prod.acked)
        prod.wait_acked(acked_at_restart + 300, FAILOVER_TIMEOUT_S, "after the old leader restarted")
    finally:
        prod.finish()
    assert not prod.failed, f"{len(prod.failed)} deliveries failed: {prod.failed[:10]}"

    healed = wait_partition(nodes, topic, lambda p: p.leader in NODE_IDS and sorted(p.isrs) == list(NODE_IDS),
                            "the ISR regrown to [1, 2, 3] after the restart", ISR_TIMEOUT_S)
    log = read_log(bootstrap_of(nodes), topic)
    check_log(log, prod, idempotent)

    # A second failover: the current leader dies, a broker that was a follower through the first
    # one leads (maybe the restarted one, which had to truncate and catch up); same log.
    second = by_id[healed.leader]
    second.kill9()
    rest = [n for n in nodes if n is not second]
    rest_ids = [n.node_id for n in rest]
    moved = wait_partition(rest, topic, lambda p: p.leader in rest_ids, f"a leader among {rest_ids}")
    assert moved.leader in healed.isrs, isr_text(moved)
    # The new leader's high watermark catches up once its follower has fetched; read after that.
    wait_high_watermark(bootstrap_of(rest), topic, 0, len(log), timeout_s=FAILOVER_TIMEOUT_S + lag_time_s())
    again = read_log(bootstrap_of(rest), topic)
    assert again == log, (f"the log read from leader {moved.leader} differs from the one read from "
                          f"{healed.leader}: {len(again)} vs {len(log)} records, first difference at "
                          f"{next((i for i, (a, b) in enumerate(zip(again, log)) if a != b), min(len(again), len(log)))}")


def formed_with_rf3_topic(nodes, prefix: str, min_insync: int):
    """Wait for the cluster to form, create an RF=3 topic; (controller id, topic, leader)."""
    by_id = {n.node_id: n for n in nodes}
    controller = wait_formed(nodes)
    topic = unique_topic(prefix)
    p = create_rf3(nodes, topic, min_insync=min_insync)
    return controller, topic, by_id[p.leader]


def pick_follower(nodes, leader: Broker, controller: int) -> Broker:
    """A follower of the partition to kill: not the controller if we can help it, so that
    no Raft election is needed on top of the ISR change under test."""
    followers = [n for n in nodes if n is not leader]
    return next((n for n in followers if n.node_id != controller), followers[0])


def raw_produce(node: Broker, topic: str, value: bytes, acks: int, wait_s: float = OP_TIMEOUT_S) -> int:
    """One record produced with a hand-made request (no client retries, produce timeout 5 s);
    the error code. Fails if no answer comes within `wait_s`."""
    batch = w.record_batch(w.record(0, value), 1, 0)
    s = w.connect(node.port)
    try:
        assert w.send_all(s, w.produce_v9(11, topic, 0, batch, acks=acks, timeout_ms=5000))
        try:
            kind, payload = w.response_or_close(s, timeout_s=wait_s)
        except TimeoutError:
            raise AssertionError(f"node {node.node_id} did not answer a produce (acks={acks}, "
                                 f"timeout_ms=5000) within {wait_s} s") from None
        assert kind == "response", f"node {node.node_id} closed the connection on a produce"
        [(name, index, error)] = w.parse_produce_v9_response(payload)
        assert (name, index) == (topic, 0)
        return error
    finally:
        s.close()


def produce_one(bootstrap: str, topic: str, value: bytes, acks: str):
    """One record through librdkafka with no retries: (error code or None, offset or None)."""
    conf = base_conf(bootstrap)
    conf.update({"acks": acks, "enable.idempotence": False, "retries": 0,
                 "message.timeout.ms": 15000, "request.timeout.ms": 10000})
    p = Producer(conf)
    got = []
    p.produce(topic, value=value, partition=0,
              on_delivery=lambda err, msg: got.append((err.code() if err else None, msg.offset())))
    assert p.flush(30) == 0, "the record was neither acknowledged nor refused within 30 s"
    assert len(got) == 1
    return got[0]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_not_enough_replicas(replicated):
    """Proves min.insync.replicas is enforced: with RF=3 and min.insync.replicas=3, acks=all
    is acknowledged while the ISR is full; after a follower is SIGKILLed and dropped from the
    ISR, acks=all is refused with NOT_ENOUGH_REPLICAS (19) or NOT_ENOUGH_REPLICAS_AFTER_APPEND
    (20) by the leader (raw request and librdkafka alike), never acknowledged, while acks=1 to
    the leader is accepted and readable; once the follower is back in the ISR, acks=all is
    acknowledged again."""
    nodes = replicated
    controller, topic, leader = formed_with_rf3_topic(nodes, "repl-nerr", min_insync=3)

    err, off = produce_one(bootstrap_of(nodes), topic, b"full-isr", "all")
    assert (err, off) == (None, 0), f"acks=all with the ISR full: error {err}, offset {off}"

    victim = pick_follower(nodes, leader, controller)
    victim.kill9()
    live = [n for n in nodes if n is not victim]
    live_ids = sorted(n.node_id for n in live)
    shrunk = wait_partition(live, topic, lambda q: sorted(q.isrs) == live_ids,
                            f"the ISR shrunk to the live brokers {live_ids}", ISR_TIMEOUT_S + lag_time_s())
    assert shrunk.leader == leader.node_id, f"the leader stays: {isr_text(shrunk)}"

    raw_err = raw_produce(leader, topic, b"refused-raw", acks=-1)
    assert raw_err in REFUSED, f"acks=all with ISR {live_ids} < min.insync.replicas 3 answered {raw_err}"
    client_err, off = produce_one(bootstrap_of(live), topic, b"refused-client", "all")
    assert client_err in REFUSED, f"librdkafka acks=all with a short ISR: error {client_err}, offset {off}"

    assert raw_produce(leader, topic, b"acks1-raw", acks=1) == 0
    err, off = produce_one(bootstrap_of(live), topic, b"acks1-client", "1")
    assert err is None and off is not None and off >= 1, f"acks=1 with a short ISR: error {err}, offset {off}"

    # (Whether the acks=1 records become readable while the follower is still dead is
    # test_writes_with_an_idle_follower_dead's question; here they are read once it is back.)
    victim.start()
    flaps = wait_full_isr_stable(nodes, topic)
    assert flaps == 0, f"the ISR showed [1, 2, 3] and then lost it again {flaps} times (FAILURES.md 2)"
    err, last = produce_one(bootstrap_of(nodes), topic, b"full-again", "all")
    assert err is None and last is not None and last > off, \
        f"acks=all with the ISR full again: error {err}, offset {last}"
    wait_high_watermark(bootstrap_of(nodes), topic, 0, last + 1, timeout_s=ISR_TIMEOUT_S)
    log = [(m.offset(), m.value()) for m in consume_partition(bootstrap_of(nodes), topic, 0, timeout_s=30)]
    values = [v for _, v in log]
    assert log[0] == (0, b"full-isr") and log[-1] == (last, b"full-again"), log
    assert (off, b"acks1-client") in log, log
    assert b"acks1-raw" in values and values.index(b"acks1-raw") < values.index(b"acks1-client"), values
    if raw_err == NOT_ENOUGH_REPLICAS:
        assert b"refused-raw" not in values, "refused before append, yet in the log"
    if client_err == NOT_ENOUGH_REPLICAS:
        assert b"refused-client" not in values, "refused before append, yet in the log"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_writes_with_an_idle_follower_dead(replicated):
    """Proves RF=3 with min.insync.replicas=2 keeps taking writes when a follower dies while
    the partition is idle: once the ISR has shrunk to the two live brokers, an acks=all
    produce is acknowledged (within its 5 s timeout) and an acks=1 record becomes readable
    (the high watermark moves on without the dead follower)."""
    nodes = replicated
    controller, topic, leader = formed_with_rf3_topic(nodes, "repl-idle", min_insync=2)
    err, off = produce_one(bootstrap_of(nodes), topic, b"full-isr", "all")
    assert (err, off) == (None, 0), f"acks=all with the ISR full: error {err}, offset {off}"

    victim = pick_follower(nodes, leader, controller)
    victim.kill9()  # nothing is being produced: it had fetched everything
    live = [n for n in nodes if n is not victim]
    live_ids = sorted(n.node_id for n in live)
    wait_partition(live, topic, lambda q: sorted(q.isrs) == live_ids,
                   f"the ISR shrunk to the live brokers {live_ids}", ISR_TIMEOUT_S + lag_time_s())

    try:
        assert raw_produce(leader, topic, b"acks1", acks=1) == 0
        assert raw_produce(leader, topic, b"acks-all", acks=-1, wait_s=10) == 0, \
            "acks=all with 2 in-sync replicas and min.insync.replicas=2 refused"
        wait_high_watermark(bootstrap_of(live), topic, 0, 3, timeout_s=10)
        values = [m.value() for m in consume_partition(bootstrap_of(live), topic, 0, timeout_s=30)]
        assert values == [b"full-isr", b"acks1", b"acks-all"], values
    finally:
        # A leader holding an unanswered acks=all produce makes a SIGTERM wait for it (20 s
        # in the fixture; FAILURES.md 1): crash-stop the servers we started instead.
        for n in live:
            if n.alive():
                n.kill9()


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_wiped_follower_rejoins_without_loss(replicated):
    """Proves a follower whose partition directory is deleted while it is down (a disk
    replaced, a directory wiped) comes back safely: it logs that its log lost the records it
    held (it does not lead and leaves the ISR until caught up), copies the leader's log and
    rejoins the ISR; after that the leader is SIGKILLed, and every record acknowledged with
    acks=all before the wipe is read back, in order, from the new leader."""
    nodes = replicated
    controller, topic, leader = formed_with_rf3_topic(nodes, "repl-wipe", min_insync=2)
    acked = [f"wiped-{i}".encode() for i in range(30)]
    for v in acked:
        assert raw_produce(leader, topic, v, acks=-1) == 0, f"acks=all of {v!r} refused"

    victim = pick_follower(nodes, leader, controller)
    victim.kill9()
    partition_dir = victim.data_dir / f"{topic}-0"
    assert partition_dir.is_dir(), f"no partition directory at {partition_dir}"
    shutil.rmtree(partition_dir)
    victim.start()
    wait_until(lambda: "came back without the records it held" in victim.log_text(), FAILOVER_TIMEOUT_S,
               f"node {victim.node_id} noticing its wiped log", 0.25)
    wait_full_isr_stable(nodes, topic)

    leader.kill9()
    live = [n for n in nodes if n is not leader]
    live_ids = [n.node_id for n in live]
    wait_partition(live, topic, lambda q: q.leader in live_ids, f"a new leader among {live_ids}")
    values = [m.value() for m in consume_partition(bootstrap_of(live), topic, 0, timeout_s=30)]
    assert values == acked, f"read back {len(values)} records: {values[:5]}..."
