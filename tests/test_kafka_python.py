"""kafka-python (a pure-Python client, independent of librdkafka) against chronik-server."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from clients import create_topic, unique_topic

N = 1000


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_kafka_python_roundtrip(broker, compression):
    """1000 keyed records with headers sent by KafkaProducer (acks=all) are acknowledged at
    offsets 0..999 and read back identical, in order, by an assign()ed KafkaConsumer."""
    topic = unique_topic("kp")
    create_topic(broker.bootstrap, topic)
    base_ts = int(time.time() * 1000) - 60_000
    # kafka-python 3 turns idempotence on by default; these tests turn it off so they cover
    # plain produce (test_kafka_python_default_idempotent_producer covers the default).
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                             compression_type=compression, request_timeout_ms=30000,
                             enable_idempotence=False)
    try:
        futures = [producer.send(topic, key=f"k{i}".encode(), value=f"kafka-python-{i}".encode(),
                                 headers=[("i", str(i).encode())], partition=0,
                                 timestamp_ms=base_ts + i)
                   for i in range(N)]
        producer.flush(timeout=30)
        metas = [f.get(timeout=30) for f in futures]
    finally:
        producer.close(timeout=10)
    assert [m.offset for m in metas] == list(range(N))
    assert all(m.partition == 0 and m.topic == topic for m in metas)

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000, request_timeout_ms=30000)
    got = []
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + 60
        while len(got) < N and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=500).values():
                got.extend(records)
    finally:
        consumer.close()
    assert len(got) == N, f"consumed {len(got)} of {N}"
    for i, r in enumerate(got):
        assert r.offset == i
        assert r.key == f"k{i}".encode() and r.value == f"kafka-python-{i}".encode()
        assert list(r.headers) == [("i", str(i).encode())]
        assert r.timestamp == base_ts + i and r.timestamp_type == 0


def test_kafka_python_end_offsets(broker):
    """KafkaConsumer.beginning_offsets / end_offsets / offsets_for_times (ListOffsets through
    kafka-python's own encoder) agree with what was produced."""
    topic = unique_topic("kp-lo")
    create_topic(broker.bootstrap, topic)
    base_ts = int(time.time() * 1000) - 60_000
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False)
    try:
        futures = [producer.send(topic, value=b"v", partition=0, timestamp_ms=base_ts + 10 * i)
                   for i in range(100)]
        producer.flush(timeout=30)
        assert [f.get(timeout=30).offset for f in futures] == list(range(100))
    finally:
        producer.close(timeout=10)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        assert consumer.beginning_offsets([tp], timeout_ms=30000) == {tp: 0}
        assert consumer.end_offsets([tp], timeout_ms=30000) == {tp: 100}
        found = consumer.offsets_for_times({tp: base_ts + 10 * 42 - 5}, timeout_ms=30000)[tp]
        assert found is not None and found.offset == 42 and found.timestamp == base_ts + 420
    finally:
        consumer.close()


def test_kafka_python_default_idempotent_producer(broker):
    """kafka-python's KafkaProducer with its defaults (idempotence on since 3.0) can produce:
    it needs InitProducerId and producer-id/sequence handling on the broker."""
    topic = unique_topic("kp-idem")
    create_topic(broker.bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000,
                             max_block_ms=10000)
    try:
        futures = [producer.send(topic, value=f"i{i}".encode(), partition=0) for i in range(10)]
        producer.flush(timeout=20)
        assert [f.get(timeout=20).offset for f in futures] == list(range(10))
    finally:
        producer.close(timeout=10)
