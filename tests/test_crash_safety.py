"""Durability across crashes (SIGKILL) and clean restarts (SIGTERM) of chronik-server."""

from __future__ import annotations

import os
import time
from pathlib import Path

from confluent_kafka.admin import ConfigResource, ResourceType

from clients import (Delivery, admin, consume_partition, create_topic, flush_bounded, producer,
                     unique_topic, wait_for_partitions, wait_high_watermark)

ACKS_BEFORE_KILL = 2000
ROUNDS = 2


class AckLog:
    """Every acknowledged (offset, value), and every offset acknowledged twice."""

    def __init__(self):
        self.by_offset: dict[int, bytes] = {}
        self.reused: list = []
        self.order: list[tuple[int, int]] = []  # (production index, offset)
        self.errors = 0

    def callback(self, err, msg):
        if err is not None:
            self.errors += 1
            return
        off, val = msg.offset(), msg.value()
        if off in self.by_offset and self.by_offset[off] != val:
            self.reused.append((off, self.by_offset[off], val))
        self.by_offset[off] = val
        self.order.append((int(val.split(b"-")[1]), off))


def check_log_against_acks(bootstrap: str, topic: str, acks: AckLog, produced: int) -> None:
    assert not acks.reused, f"offsets acknowledged for two different values: {acks.reused[:5]}"
    top = max(acks.by_offset) + 1
    wait_high_watermark(bootstrap, topic, 0, top, timeout_s=60)
    msgs = consume_partition(bootstrap, topic, max_messages=produced + 10, timeout_s=120)
    offsets = [m.offset() for m in msgs]
    assert offsets == list(range(len(msgs))), "consumed offsets are not dense from 0"
    log = {m.offset(): m.value() for m in msgs}
    missing = [(o, v) for o, v in sorted(acks.by_offset.items()) if log.get(o) != v]
    assert not missing, (f"{len(missing)} acknowledged records lost or changed, first: "
                         f"{[(o, v, log.get(o)) for o, v in missing[:5]]}")
    values = [m.value() for m in msgs]
    assert len(values) == len(set(values)), "a value appears at two offsets (no retries were enabled)"
    order = sorted(acks.order)
    assert [o for _, o in order] == sorted(o for _, o in order), \
        "acknowledged records are not in production order"


def test_acks_all_survive_kill9_mid_stream(broker):
    """Producing with acks=all (no retries, so each value is sent at most once) while the
    server is SIGKILLed mid-stream, twice, and restarted on the same data dir and port:
    afterwards every acknowledged value is at its acknowledged offset, in production order,
    exactly once; offsets are dense; no offset was acknowledged for two values."""
    topic = unique_topic("crash")
    create_topic(broker.bootstrap, topic)
    acks = AckLog()
    p = producer(broker.bootstrap, acks="all", retries=0, **{
        "linger.ms": 2, "message.timeout.ms": 60000, "reconnect.backoff.max.ms": 500,
        "queue.buffering.max.messages": 200000})
    produced = 0

    def produce_some(count: int) -> None:
        nonlocal produced
        for _ in range(count):
            value = f"v-{produced:07d}".encode()
            try:
                p.produce(topic, value=value, partition=0, on_delivery=acks.callback)
            except BufferError:
                p.poll(0.05)
                continue
            produced += 1
        p.poll(0)

    for round_no in range(ROUNDS):
        target = len(acks.by_offset) + ACKS_BEFORE_KILL
        deadline = time.monotonic() + 90
        while len(acks.by_offset) < target:
            assert time.monotonic() < deadline, f"round {round_no}: only {len(acks.by_offset)} acks"
            assert produced < 2_000_000
            produce_some(50)
            p.poll(0.001)
        assert broker.alive()
        broker.kill9()              # crash while requests are in flight
        produce_some(300)           # keep producing into the outage
        time.sleep(0.3)
        p.poll(0)
        broker.start()              # same data dir, same port
        produce_some(300)
        flush_bounded(p, 90)
        check_log_against_acks(broker.bootstrap, topic, acks, produced)
    assert len(acks.by_offset) >= ROUNDS * ACKS_BEFORE_KILL


def test_sigterm_exits_zero_and_keeps_acks1_data(broker):
    """SIGTERM makes the server sync and exit 0 promptly; records acknowledged with acks=1
    (answered before fsync) are all there after the restart."""
    topic = unique_topic("term")
    create_topic(broker.bootstrap, topic)
    d = Delivery()
    p = producer(broker.bootstrap, acks="1")
    for i in range(3000):
        p.produce(topic, value=f"t-{i}".encode(), partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed and len(d.acked) == 3000
    t0 = time.monotonic()
    code = broker.stop()
    assert code == 0, f"exit code {code} after SIGTERM"
    assert time.monotonic() - t0 < 10, "shutdown took longer than 10 s"
    broker.start()
    wait_high_watermark(broker.bootstrap, topic, 0, 3000)
    msgs = consume_partition(broker.bootstrap, topic)
    assert [m.value() for m in msgs] == [f"t-{i}".encode() for i in range(3000)]


def test_restart_keeps_topics_partitions_and_configs(broker):
    """Topics, partition counts (including ones added later) and config overrides survive a
    restart."""
    a = admin(broker.bootstrap)
    name = unique_topic("persist")
    create_topic(broker.bootstrap, name, partitions=3, config={"retention.ms": "4242424"})
    from confluent_kafka.admin import NewPartitions
    a.create_partitions([NewPartitions(name, 4)], operation_timeout=30)[name].result(timeout=30)
    wait_for_partitions(a, name, 4)
    broker.restart()
    a = admin(broker.bootstrap)
    wait_for_partitions(a, name, 4)
    res = ConfigResource(ResourceType.TOPIC, name)
    configs = a.describe_configs([res], request_timeout=30)[res].result(timeout=30)
    assert configs["retention.ms"].value == "4242424"


def test_torn_tail_is_truncated_on_restart(broker):
    """Garbage appended to the end of the active segment (a torn write) is cut off on
    restart: every acknowledged record is still readable and new records continue at the
    next offset."""
    topic = unique_topic("torn")
    create_topic(broker.bootstrap, topic)
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    for i in range(500):
        p.produce(topic, value=f"torn-{i}".encode(), partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed
    assert broker.stop() == 0

    part_dirs = [d_ for d_ in Path(broker.data_dir).rglob("*") if d_.is_dir() and topic in d_.name]
    segments = sorted((f for pd in part_dirs for f in pd.glob("*.log")), key=lambda f: f.name)
    assert segments, (f"no *.log segment under a directory named after {topic}; data dir: "
                      f"{sorted(str(x.relative_to(broker.data_dir)) for x in Path(broker.data_dir).rglob('*'))[:50]}")
    with open(segments[-1], "ab") as f:
        f.write(os.urandom(37) + b"\x00\x00\x00\x00\x00\x00\x01\xf4\x00\x00\x10\x00" + os.urandom(100))

    broker.start()
    msgs = consume_partition(broker.bootstrap, topic)
    assert [m.value() for m in msgs] == [f"torn-{i}".encode() for i in range(500)]
    d2 = Delivery()
    p2 = producer(broker.bootstrap, acks="all")
    p2.produce(topic, value=b"after-torn", partition=0, on_delivery=d2.callback)
    flush_bounded(p2)
    assert not d2.failed and d2.acked[0][0] == 500
