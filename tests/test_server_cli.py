"""chronik-server's command line and process behaviour: flags, data-dir lock."""

from __future__ import annotations

import subprocess
import time

from confluent_kafka import KafkaError, TopicPartition

from clients import (Delivery, admin, consume_partition, consumer, create_topic, producer,
                     unique_topic, wait_for_partitions)
from conftest import free_port


def test_num_partitions_flag_sets_auto_created_partition_count(broker_factory):
    """With --num-partitions 3, a topic auto-created by a producer has 3 partitions."""
    b = broker_factory("--num-partitions", "3")
    topic = unique_topic("np")
    d = Delivery()
    p = producer(b.bootstrap, acks="all")
    p.produce(topic, value=b"x", partition=0, on_delivery=d.callback)
    assert p.flush(30) == 0
    assert not d.failed, d.failed
    wait_for_partitions(admin(b.bootstrap), topic, 3)


def test_auto_create_disabled(broker_factory):
    """With --auto-create-topics false, producing to a missing topic fails and creates
    nothing, while explicitly created topics still work."""
    b = broker_factory("--auto-create-topics", "false")
    topic = unique_topic("noauto")
    d = Delivery()
    p = producer(b.bootstrap, acks="all", **{"message.timeout.ms": 4000})
    p.produce(topic, value=b"x", on_delivery=d.callback)
    p.flush(15)
    assert not d.acked, d.acked
    assert len(d.failed) == 1, d.failed
    assert d.failed[0][0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                                     KafkaError._MSG_TIMED_OUT), d.failed
    assert topic not in admin(b.bootstrap).list_topics(timeout=10).topics

    other = unique_topic("explicit")
    create_topic(b.bootstrap, other)
    d2 = Delivery()
    p.produce(other, value=b"y", partition=0, on_delivery=d2.callback)
    assert p.flush(30) == 0 and not d2.failed


def test_second_server_on_same_data_dir_refuses_to_start(broker):
    """A second chronik-server pointed at a data dir that a running server holds exits
    non-zero promptly (the dir is locked), and the first server keeps serving."""
    create_topic(broker.bootstrap, "lock-check")
    port = free_port()
    args = [str(broker.binary), "--data-dir", str(broker.data_dir), "--bind-addr", "127.0.0.1",
            "--kafka-port", str(port), "--advertised-addr", "127.0.0.1", "standalone"]
    second = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        out, _ = second.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        second.kill()
        out, _ = second.communicate(timeout=15)
        raise AssertionError("second server on the same data dir was still running after 15 s: "
                             + out.decode(errors="replace")[-2000:])
    assert second.returncode != 0, out.decode(errors="replace")[-2000:]
    assert broker.alive()
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    p.produce("lock-check", value=b"still-here", partition=0, on_delivery=d.callback)
    assert p.flush(30) == 0 and not d.failed
    assert [m.value() for m in consume_partition(broker.bootstrap, "lock-check")] == [b"still-here"]


def test_fetch_out_of_range_resets_to_earliest(broker):
    """A consumer assigned past the end of the log gets OFFSET_OUT_OF_RANGE from the broker
    and, with auto.offset.reset=earliest, restarts from offset 0."""
    topic = unique_topic("oor")
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap, acks="all")
    for i in range(10):
        p.produce(topic, value=f"r{i}".encode(), partition=0)
    assert p.flush(30) == 0
    c = consumer(broker.bootstrap, **{"enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, 0, 500)])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 10 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got.append((m.offset(), m.value()))
        assert got == [(i, f"r{i}".encode()) for i in range(10)]
    finally:
        c.close()
