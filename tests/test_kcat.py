"""kcat (Debian's, librdkafka 2.0.2) against chronik-server."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from clients import create_topic, unique_topic

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(
    KCAT is None and not __import__("os").environ.get("CI"),
    reason="kcat not installed (ci/test installs it; under CI=true its absence fails)")

N = 10_000


def kcat(bootstrap: str, *args: str, input_path=None, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    assert KCAT is not None, "kcat is not installed (ci/test installs it with apt-get)"
    stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
    try:
        cp = subprocess.run([KCAT, "-b", bootstrap, "-X", "broker.address.family=v4", *args],
                            stdin=stdin, capture_output=True, timeout=timeout_s)
    finally:
        if input_path:
            stdin.close()
    assert cp.returncode == 0, (f"kcat {' '.join(args)} exited {cp.returncode}\n"
                                f"stderr:\n{cp.stderr.decode(errors='replace')[-4000:]}")
    return cp


def test_kcat_metadata_lists_broker_and_topics(broker):
    """`kcat -L` (and -J -L) shows this broker at its advertised 127.0.0.1 address and the
    topics that exist, with their partition counts."""
    t1, t2 = unique_topic("meta"), unique_topic("meta")
    create_topic(broker.bootstrap, t1, partitions=1)
    create_topic(broker.bootstrap, t2, partitions=3)

    text = kcat(broker.bootstrap, "-L", timeout_s=30).stdout.decode()
    assert f"at 127.0.0.1:{broker.port}" in text, text
    assert f'topic "{t1}" with 1 partitions' in text, text
    assert f'topic "{t2}" with 3 partitions' in text, text

    md = json.loads(kcat(broker.bootstrap, "-J", "-L", timeout_s=30).stdout)
    assert [(b["name"]) for b in md["brokers"]] == [f"127.0.0.1:{broker.port}"], md["brokers"]
    topics = {t["topic"]: t for t in md["topics"]}
    assert len(topics[t1]["partitions"]) == 1
    assert sorted(p["partition"] for p in topics[t2]["partitions"]) == [0, 1, 2]
    broker_ids = {b["id"] for b in md["brokers"]}
    for t in (t1, t2):
        for p in topics[t]["partitions"]:
            assert p["leader"] in broker_ids, p


def test_kcat_produce_consume_10000_in_order(broker, tmp_path):
    """10,000 distinct messages produced by kcat with acks=all come back from kcat's consumer
    byte-identical, in order, at offsets 0..9999, and nothing else is in the partition."""
    topic = unique_topic("kcat")
    create_topic(broker.bootstrap, topic)
    values = [f"kcat-message-{i:05d}-{(i * 7919) % 100003:06d}" for i in range(N)]
    src = tmp_path / "in.txt"
    src.write_text("".join(v + "\n" for v in values))

    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", "-X", "acks=all",
         "-X", "linger.ms=5", input_path=src)

    out = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
               "-f", "%o %s\n").stdout.decode()
    lines = out.splitlines()
    assert len(lines) == N, f"consumed {len(lines)} messages, expected {N}"
    offsets, got = zip(*(line.split(" ", 1) for line in lines))
    assert [int(o) for o in offsets] == list(range(N))
    assert list(got) == values

    tail = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "-5", "-e", "-q",
                "-f", "%o %s\n").stdout.decode().splitlines()
    assert tail == [f"{N - 5 + i} {values[N - 5 + i]}" for i in range(5)], tail
    middle = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "5000", "-c", "3", "-q",
                  "-f", "%o %s\n").stdout.decode().splitlines()
    assert middle == [f"{5000 + i} {values[5000 + i]}" for i in range(3)], middle


def test_kcat_auto_creates_topic_on_produce(broker, tmp_path):
    """Producing with kcat to a topic that does not exist auto-creates it (auto-create is on
    by default) and the messages are readable."""
    topic = unique_topic("auto")
    src = tmp_path / "in.txt"
    src.write_text("a\nb\nc\n")
    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", "-X", "acks=all", input_path=src, timeout_s=60)
    out = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
               "-f", "%o %s\n", timeout_s=60).stdout.decode()
    assert out.splitlines() == ["0 a", "1 b", "2 c"]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_kcat_compressed_produce(broker, tmp_path, codec):
    """librdkafka 2.0.2 (kcat) producing compressed batches: all values come back in order."""
    topic = unique_topic(f"kcat-{codec}")
    create_topic(broker.bootstrap, topic)
    values = [f"{codec}-{i}-" + "x" * (i % 50) for i in range(2000)]
    src = tmp_path / "in.txt"
    src.write_text("".join(v + "\n" for v in values))
    kcat(broker.bootstrap, "-P", "-t", topic, "-p", "0", "-z", codec, "-X", "acks=all", input_path=src)
    out = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
               "-f", "%o %s\n").stdout.decode()
    lines = out.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == values
    assert [int(line.split(" ", 1)[0]) for line in lines] == list(range(len(values)))
