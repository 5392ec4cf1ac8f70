"""Small, bounded helpers around confluent-kafka (librdkafka) for the tests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

OP_TIMEOUT_S = 30.0


def unique_topic(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def base_conf(bootstrap: str) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "broker.address.family": "v4",
        "socket.timeout.ms": 20000,
        "log_level": 4,  # warnings and worse; librdkafka info lines flood failure reports
    }


def admin(bootstrap: str) -> AdminClient:
    return AdminClient(base_conf(bootstrap))


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict | None = None) -> None:
    """Create a topic with the AdminClient and wait until metadata shows all its partitions."""
    a = admin(bootstrap)
    futures = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                        config=config or {})], operation_timeout=OP_TIMEOUT_S)
    futures[name].result(timeout=OP_TIMEOUT_S)
    wait_for_partitions(a, name, partitions)


def wait_for_partitions(a: AdminClient, name: str, partitions: int, timeout_s: float = OP_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        md = a.list_topics(timeout=10)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions \
                and all(p.leader >= 0 for p in t.partitions.values()):
            return md
        last = t
        time.sleep(0.1)
    raise AssertionError(f"topic {name} never showed {partitions} led partitions; last: {last!r}")


@dataclass
class Delivery:
    acked: list = field(default_factory=list)    # (offset, partition, key, value, timestamp) per success
    failed: list = field(default_factory=list)   # (KafkaError, key, value)

    def callback(self, err, msg):
        if err is not None:
            self.failed.append((err, msg.key(), msg.value()))
        else:
            self.acked.append((msg.offset(), msg.partition(), msg.key(), msg.value(), msg.timestamp()))


def producer(bootstrap: str, **conf) -> Producer:
    c = base_conf(bootstrap)
    c.update({"linger.ms": 5, "message.timeout.ms": 30000})
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(c)


def flush_bounded(p: Producer, timeout_s: float = OP_TIMEOUT_S) -> None:
    remaining = p.flush(timeout_s)
    assert remaining == 0, f"{remaining} messages still undelivered after {timeout_s}s"


def consumer(bootstrap: str, **conf) -> Consumer:
    """A Consumer used with assign() only (the broker has no consumer groups yet)."""
    c = base_conf(bootstrap)
    c.update({
        "group.id": f"unused-{uuid.uuid4().hex[:8]}",  # required by the client; never used
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 100,
    })
    c.update({k.replace("_", "."): v for k, v in conf.items()})
    return Consumer(c)


def consume_partition(bootstrap: str, topic: str, partition: int = 0, start: int = -2,
                      max_messages: int = 1_000_000, timeout_s: float = 60.0, **conf) -> list:
    """Read `topic`/`partition` from `start` (default: beginning) until EOF at the high
    watermark; returns the list of Messages. Bounded in messages and time."""
    c = consumer(bootstrap, **conf)
    out = []
    try:
        c.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(out) < max_messages:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    return out
                raise KafkaException(msg.error())
            out.append(msg)
        raise AssertionError(f"no EOF on {topic}/{partition} within {timeout_s}s "
                             f"after {len(out)} messages")
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partition: int = 0) -> tuple[int, int]:
    c = consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        c.close()


def roundtrip_smoke(bootstrap: str, n: int = 20) -> None:
    """Prove the broker still serves normal clients: new topic, produce n with acks=all, read them back."""
    topic = unique_topic("smoke")
    create_topic(bootstrap, topic)
    d = Delivery()
    p = producer(bootstrap, acks="all")
    for i in range(n):
        p.produce(topic, value=f"smoke-{i}".encode(), partition=0, on_delivery=d.callback)
    flush_bounded(p)
    assert not d.failed, d.failed
    assert sorted(a[0] for a in d.acked) == list(range(n))
    msgs = consume_partition(bootstrap, topic)
    assert [m.value() for m in msgs] == [f"smoke-{i}".encode() for i in range(n)]


def wait_high_watermark(bootstrap: str, topic: str, partition: int, at_least: int,
                        timeout_s: float = OP_TIMEOUT_S) -> tuple[int, int]:
    """Wait (bounded) until the partition's high watermark reaches `at_least`; the HW is the
    durable offset, so after acks=0/1 it may trail the log end briefly."""
    c = consumer(bootstrap)
    try:
        deadline = time.monotonic() + timeout_s
        wm = None
        while time.monotonic() < deadline:
            wm = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
            if wm is not None and wm[1] >= at_least:
                return wm
            time.sleep(0.1)
        raise AssertionError(f"{topic}/{partition} high watermark {wm} never reached {at_least}")
    finally:
        c.close()


def kafka_error_of(excinfo) -> KafkaError:
    """The KafkaError inside a KafkaException raised by a future or a call."""
    err = excinfo.value.args[0]
    assert isinstance(err, KafkaError), f"not a KafkaError: {err!r}"
    return err
