"""confluent-kafka (librdkafka 2.16) data path against chronik-server: produce with every
acks level and compression codec, consume with assign(), offsets by time, watermarks."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (OFFSET_END, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME,
                             KafkaError, TopicPartition)
from confluent_kafka.admin import OffsetSpec

from clients import (Delivery, admin, consume_partition, consumer, create_topic, flush_bounded,
                     producer, unique_topic, wait_high_watermark, watermarks)

N = 2000
SPIKE = 1234  # the record with the largest timestamp


def reference_records(n: int, base_ts: int) -> list[dict]:
    """Records exercising null keys, null and empty values, headers (incl. null/empty header
    values), sizes from 0 to ~12 KB, and explicit, mostly increasing timestamps with one spike."""
    out = []
    for i in range(n):
        key = None if i % 10 == 0 else f"key-{i % 37}".encode()
        if i % 97 == 0:
            value = None
        elif i % 89 == 0:
            value = b""
        else:
            value = (f"value-{i:05d}-" + "abcdefghij" * (i % 1200 if i % 250 == 0 else i % 13)).encode()
        headers = None
        if i % 3 == 0:
            headers = [("h-index", str(i).encode()), ("h-empty", b""), ("h-dup", b"1"), ("h-dup", b"2")]
        if i % 5 == 0:
            headers = (headers or []) + [("h-null", None)]
        ts = base_ts + 10 * n if i == SPIKE else base_ts + i
        out.append({"key": key, "value": value, "headers": headers, "timestamp": ts})
    return out


def produce_records(bootstrap: str, topic: str, records: list[dict], **conf) -> Delivery:
    d = Delivery()
    p = producer(bootstrap, **conf)
    for r in records:
        kwargs = {"key": r["key"], "value": r["value"], "partition": 0,
                  "timestamp": r["timestamp"], "on_delivery": d.callback}
        if r["headers"] is not None:
            kwargs["headers"] = r["headers"]
        for _ in range(100):  # bounded back-off on a full local queue
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        else:
            raise AssertionError("producer queue stayed full")
        p.poll(0)
    flush_bounded(p)
    return d


def assert_consumed_identical(msgs, records, base_ts_type=TIMESTAMP_CREATE_TIME):
    assert len(msgs) == len(records), f"consumed {len(msgs)}, expected {len(records)}"
    for i, (m, r) in enumerate(zip(msgs, records)):
        assert m.offset() == i, f"message {i} at offset {m.offset()}"
        assert m.key() == r["key"], f"offset {i}: key {m.key()!r} != {r['key']!r}"
        assert m.value() == r["value"], f"offset {i}: value differs ({m.value()!r:.80} vs {r['value']!r:.80})"
        assert (m.headers() or None) == r["headers"], f"offset {i}: headers {m.headers()!r} != {r['headers']!r}"
        assert m.timestamp() == (base_ts_type, r["timestamp"]), f"offset {i}: timestamp {m.timestamp()}"


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("acks", ["all", "1"])
def test_produce_consume_roundtrip(broker, acks, compression):
    """2000 records produced with acks=<acks> and compression.type=<compression> are all
    acknowledged at offsets 0..1999 in produce order, and an assign()ed consumer reads back
    identical keys, values (incl. null and empty), headers (incl. null, empty, repeated
    names) and CreateTime timestamps."""
    topic = unique_topic(f"rt-{compression}")
    create_topic(broker.bootstrap, topic)
    base_ts = int(time.time() * 1000) - 600_000
    records = reference_records(N, base_ts)

    d = produce_records(broker.bootstrap, topic, records, acks=acks, **{"compression.type": compression})

    assert not d.failed, f"{len(d.failed)} deliveries failed, first: {d.failed[:3]}"
    assert len(d.acked) == N
    by_value_order = [a for a in d.acked]
    assert [a[0] for a in by_value_order] == list(range(N)), "acknowledged offsets are not 0..N-1 in order"
    for (offset, partition, key, value, ts), r in zip(d.acked, records):
        assert partition == 0 and key == r["key"] and value == r["value"]
        assert ts == (TIMESTAMP_CREATE_TIME, r["timestamp"]), f"offset {offset}: DR timestamp {ts}"

    wait_high_watermark(broker.bootstrap, topic, 0, N)
    msgs = consume_partition(broker.bootstrap, topic)
    assert_consumed_identical(msgs, records)


def test_acks_zero_records_arrive(broker):
    """acks=0 produces get no offsets back (the broker sends no response) but every record
    lands, in order."""
    topic = unique_topic("acks0")
    create_topic(broker.bootstrap, topic)
    values = [f"fire-and-forget-{i}".encode() for i in range(500)]
    d = Delivery()
    p = producer(broker.bootstrap, acks="0")
    for v in values:
        p.produce(topic, value=v, partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed
    wait_high_watermark(broker.bootstrap, topic, 0, len(values))
    msgs = consume_partition(broker.bootstrap, topic)
    assert [m.value() for m in msgs] == values
    assert [m.offset() for m in msgs] == list(range(len(values)))


def _produce_reference(broker, topic):
    create_topic(broker.bootstrap, topic)
    base_ts = int(time.time() * 1000) - 600_000
    records = reference_records(N, base_ts)
    d = produce_records(broker.bootstrap, topic, records, acks="all")
    assert not d.failed and len(d.acked) == N
    return base_ts, records


def test_offsets_for_times(broker):
    """Consumer.offsets_for_times returns, per Kafka, the first offset whose timestamp is >=
    the target: exact hits, a target before everything (offset 0), a target answered by the
    out-of-order spike record, and -1 (end) for a target after every timestamp."""
    topic = unique_topic("oft")
    base_ts, _ = _produce_reference(broker, topic)
    c = consumer(broker.bootstrap)
    try:
        cases = {
            base_ts + 500: 500,
            base_ts: 0,
            base_ts - 86_400_000: 0,
            base_ts + 1500: SPIKE,          # offset 1234 carries base+10N >= base+1500
            base_ts + 10 * N: SPIKE,
            base_ts + 10 * N + 1: OFFSET_END,  # nothing at or after: -1
        }
        for target, expected in cases.items():
            res = c.offsets_for_times([TopicPartition(topic, 0, target)], timeout=15)
            assert len(res) == 1 and res[0].error is None, res
            assert res[0].offset == expected, f"timestamp {target - base_ts:+}: offset {res[0].offset}, expected {expected}"
    finally:
        c.close()


def test_list_offsets_and_watermarks(broker):
    """AdminClient.list_offsets answers earliest (0), latest (N), max_timestamp (the spike's
    offset and timestamp) and for_timestamp; get_watermark_offsets answers (0, N)."""
    topic = unique_topic("lo")
    base_ts, records = _produce_reference(broker, topic)
    a = admin(broker.bootstrap)
    tp = TopicPartition(topic, 0)
    specs = {
        "earliest": (OffsetSpec.earliest(), 0),
        "latest": (OffsetSpec.latest(), N),
        "max_timestamp": (OffsetSpec.max_timestamp(), SPIKE),
        "for_timestamp": (OffsetSpec.for_timestamp(base_ts + 700), 700),
    }
    for name, (spec, expected) in specs.items():
        fut = a.list_offsets({tp: spec}, request_timeout=15)
        info = list(fut.values())[0].result(timeout=30)
        assert info.offset == expected, f"{name}: offset {info.offset}, expected {expected}"
        if name == "max_timestamp":
            assert info.timestamp == records[SPIKE]["timestamp"], f"max_timestamp: ts {info.timestamp}"
        if name == "for_timestamp":
            assert info.timestamp == records[700]["timestamp"], f"for_timestamp: ts {info.timestamp}"
    assert watermarks(broker.bootstrap, topic) == (0, N)


def test_log_append_time_topic_stamps_broker_time(broker):
    """On a topic with message.timestamp.type=LogAppendTime the broker overwrites the
    producer's timestamps: consumers see TIMESTAMP_LOG_APPEND_TIME with the broker's clock
    at append (not the hour-old producer timestamp), and delivery reports carry it too."""
    topic = unique_topic("lat")
    create_topic(broker.bootstrap, topic, config={"message.timestamp.type": "LogAppendTime"})
    old_ts = int(time.time() * 1000) - 3_600_000
    before = int(time.time() * 1000)
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    for i in range(50):
        p.produce(topic, value=f"lat-{i}".encode(), partition=0, timestamp=old_ts, on_delivery=d.callback)
    flush_bounded(p)
    after = int(time.time() * 1000)
    assert not d.failed
    slack = 2000
    msgs = consume_partition(broker.bootstrap, topic)
    assert [m.value() for m in msgs] == [f"lat-{i}".encode() for i in range(50)]
    for m in msgs:
        ts_type, ts = m.timestamp()
        assert ts_type == TIMESTAMP_LOG_APPEND_TIME, f"offset {m.offset()}: timestamp type {ts_type}"
        assert before - slack <= ts <= after + slack, f"offset {m.offset()}: {ts} not in [{before}, {after}]"
    for offset, _, _, _, (ts_type, ts) in d.acked:
        assert ts_type == TIMESTAMP_LOG_APPEND_TIME, f"delivery report for {offset}: type {ts_type}"
        assert before - slack <= ts <= after + slack


def test_message_larger_than_topic_max_message_bytes_rejected(broker):
    """A batch larger than the topic's max.message.bytes fails with MSG_SIZE_TOO_LARGE and
    appends nothing; a small message afterwards still lands at offset 0."""
    topic = unique_topic("big")
    create_topic(broker.bootstrap, topic, config={"max.message.bytes": "10000"})
    p = producer(broker.bootstrap, acks="all", **{"compression.type": "none"})
    d = Delivery()
    p.produce(topic, value=b"x" * 20_000, partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.acked, d.acked
    assert len(d.failed) == 1 and d.failed[0][0].code() == KafkaError.MSG_SIZE_TOO_LARGE, d.failed

    d2 = Delivery()
    p.produce(topic, value=b"small", partition=0, on_delivery=d2.callback)
    flush_bounded(p)
    assert not d2.failed and [a[0] for a in d2.acked] == [0]


def test_message_larger_than_broker_default_rejected(broker):
    """With no topic override, a ~2 MB record exceeds Kafka's default message.max.bytes
    (1048588) and fails with MSG_SIZE_TOO_LARGE; a 900 KB record is accepted and read back."""
    topic = unique_topic("big-default")
    create_topic(broker.bootstrap, topic)
    p = producer(broker.bootstrap, acks="all", **{"compression.type": "none", "message.max.bytes": 10_000_000})
    d = Delivery()
    p.produce(topic, value=b"y" * 2_000_000, partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert len(d.failed) == 1 and d.failed[0][0].code() == KafkaError.MSG_SIZE_TOO_LARGE, (d.failed, d.acked)
    d2 = Delivery()
    big = bytes(range(256)) * (900_000 // 256)
    p.produce(topic, value=big, partition=0, on_delivery=d2.callback)
    flush_bounded(p)
    assert not d2.failed and [a[0] for a in d2.acked] == [0]
    msgs = consume_partition(broker.bootstrap, topic, **{"fetch.max.bytes": 5_000_000})
    assert len(msgs) == 1 and msgs[0].value() == big


def test_delete_records_moves_low_watermark(broker):
    """DeleteRecords up to offset 40 makes 40 the low watermark: list_offsets(earliest) and
    get_watermark_offsets say 40, a consumer from the beginning starts at 40, and deleting
    past the high watermark fails with OFFSET_OUT_OF_RANGE."""
    topic = unique_topic("dr")
    create_topic(broker.bootstrap, topic)
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    for i in range(100):
        p.produce(topic, value=f"dr-{i}".encode(), partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed
    a = admin(broker.bootstrap)
    fut = a.delete_records([TopicPartition(topic, 0, 40)], request_timeout=15)
    res = list(fut.values())[0].result(timeout=30)
    assert res.low_watermark == 40, res

    assert watermarks(broker.bootstrap, topic) == (40, 100)
    info = list(a.list_offsets({TopicPartition(topic, 0): OffsetSpec.earliest()}).values())[0].result(timeout=30)
    assert info.offset == 40
    msgs = consume_partition(broker.bootstrap, topic)
    assert [m.offset() for m in msgs] == list(range(40, 100))
    assert msgs[0].value() == b"dr-40"

    fut = a.delete_records([TopicPartition(topic, 0, 500)], request_timeout=15)
    with pytest.raises(Exception) as excinfo:
        list(fut.values())[0].result(timeout=30)
    err = excinfo.value.args[0]
    assert getattr(err, "code", lambda: None)() == KafkaError.OFFSET_OUT_OF_RANGE, repr(excinfo.value)


def test_fetch_long_poll_delivers_new_records_promptly(broker):
    """A consumer waiting at the end of a partition receives a record produced later within
    a bounded time (fetch long-poll wakes on append), and nothing before it."""
    topic = unique_topic("lp")
    create_topic(broker.bootstrap, topic)
    c = consumer(broker.bootstrap, **{"fetch.wait.max.ms": 5000, "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_END)])
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert c.poll(0.2) is None
        p = producer(broker.bootstrap, acks="all")
        p.produce(topic, value=b"wake-up", partition=0)
        flush_bounded(p)
        sent_at = time.monotonic()
        msg = None
        while time.monotonic() < sent_at + 10 and msg is None:
            msg = c.poll(0.2)
        assert msg is not None and msg.error() is None, msg and msg.error()
        assert msg.value() == b"wake-up" and msg.offset() == 0
        assert time.monotonic() - sent_at < 4.5, "long poll did not wake on append"
    finally:
        c.close()


def test_multi_partition_keyed_produce(broker):
    """Keyed records spread over 4 partitions by librdkafka's partitioner all arrive, each
    key on one partition in produce order."""
    topic = unique_topic("mp")
    create_topic(broker.bootstrap, topic, partitions=4)
    d = Delivery()
    p = producer(broker.bootstrap, acks="all")
    for i in range(2000):
        p.produce(topic, key=f"k{i % 50}".encode(), value=f"{i}".encode(), on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed and len(d.acked) == 2000
    seen = {}
    for part in range(4):
        acked_here = sorted(a[0] for a in d.acked if a[1] == part)
        assert acked_here == list(range(len(acked_here))), f"partition {part}: offsets not dense"
        msgs = consume_partition(broker.bootstrap, topic, part)
        assert len(msgs) == len(acked_here)
        for m in msgs:
            seen.setdefault(m.key(), []).append((part, int(m.value())))
    assert sum(len(v) for v in seen.values()) == 2000
    for key, items in seen.items():
        assert len({pp for pp, _ in items}) == 1, f"key {key} on several partitions"
        vals = [v for _, v in items]
        assert vals == sorted(vals), f"key {key} out of order"
