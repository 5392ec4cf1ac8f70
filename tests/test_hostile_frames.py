"""Hostile and malformed frames on raw sockets (DESIGN §9: nothing a client sends may crash
the broker). For each: the process stays alive, the connection gets an error response or is
closed within a bounded time, and a normal client on a new connection still works.

Frames are hand-encoded from Kafka's JSON message specs (see kafka_wire.py)."""

from __future__ import annotations

import gzip
import random
import socket
import struct
import time

import pytest

import kafka_wire as w
from clients import create_topic, roundtrip_smoke, unique_topic, watermarks

REACT_S = 10.0  # bound on how long the broker may take to answer or close


def assert_error_or_close(broker, sock, corr: int | None) -> tuple[str, bytes | None]:
    try:
        kind, payload = w.response_or_close(sock, REACT_S)
    except TimeoutError as e:
        pytest.fail(f"broker neither answered nor closed within {REACT_S}s: {e}")
    if kind == "response" and corr is not None:
        (got_corr,) = struct.unpack_from(">i", payload, 0)
        assert got_corr == corr, f"response correlation id {got_corr}, expected {corr}"
    return kind, payload


def assert_healthy(broker):
    time.sleep(0.2)
    assert broker.alive(), f"chronik-server died (exit {broker.proc.poll()})"
    roundtrip_smoke(broker.bootstrap)
    assert broker.alive()


# ---------------------------------------------------------------- declared lengths

def metadata_v12_huge_topics(corr):
    # header v2 (client id "x", no tags) + topics compact array length uvarint(2^32-2).
    return w.frame(w.header_v2(3, 12, corr, "x") + bytes.fromhex("feffffff0f"))


def produce_v9_huge_topic_array(corr):
    body = w.compact_string(None) + struct.pack(">hi", 1, 5000) + w.uvarint(0x7FFFFFFF)
    return w.frame(w.header_v2(0, 9, corr) + body)


def produce_v9_huge_records_length(corr):
    body = w.compact_string(None) + struct.pack(">hi", 1, 5000) + w.uvarint(2) + w.compact_string("t")
    body += w.uvarint(2) + struct.pack(">i", 0) + w.uvarint(0x7FFFFFFF) + b"\x00" * 16
    return w.frame(w.header_v2(0, 9, corr) + body)


def header_huge_client_id(corr):
    # classic int16 client id length 32767 with 2 bytes present
    return w.frame(struct.pack(">hhih", 3, 1, corr, 0x7FFF) + b"ab")


def api_versions_v3_huge_software_name(corr):
    body = w.uvarint(0xFFFFFFFF) + b"abc"
    return w.frame(w.header_v2(18, 3, corr) + body)


def metadata_v12_huge_topic_name(corr):
    # one topic: uuid (16 zero bytes), name compact string claiming 2^31 bytes
    body = w.uvarint(2) + b"\x00" * 16 + w.uvarint(0x80000000) + b"abc"
    return w.frame(w.header_v2(3, 12, corr, "x") + body)


@pytest.mark.parametrize("make", [metadata_v12_huge_topics, produce_v9_huge_topic_array,
                                  produce_v9_huge_records_length, header_huge_client_id,
                                  api_versions_v3_huge_software_name, metadata_v12_huge_topic_name],
                         ids=lambda f: f.__name__)
def test_huge_declared_length(broker, make):
    """A small request whose array/string/bytes length field claims gigabytes (the
    kafka-protocol 0.18 allocation abort) is answered with an error or closed; no crash."""
    corr = 4242
    data = make(corr)
    assert len(data) < 100
    with w.connect(broker.port) as s:
        w.send_all(s, data)
        assert_error_or_close(broker, s, corr)
    assert_healthy(broker)


def test_metadata_v12_huge_topics_is_about_20_bytes(broker):
    """The exact frame from the brief is ~20 bytes: 4-byte length, api key 3, version 12,
    correlation id, client id "x", no tagged fields, then fe ff ff ff 0f."""
    data = metadata_v12_huge_topics(7)
    assert data.hex() == "00000011" "0003" "000c" "00000007" "0001" "78" "00" "feffffff0f"
    with w.connect(broker.port) as s:
        w.send_all(s, data)
        assert_error_or_close(broker, s, 7)
    assert_healthy(broker)


# ---------------------------------------------------------------- record batch lies

def batch_huge_count():
    return w.record_batch(w.record(0, b"x"), records_count=0x7FFFFFFF, last_offset_delta=0)


def batch_huge_count_gzip():
    inner = gzip.compress(w.record(0, b"x"))
    return w.record_batch(inner, records_count=0x7FFFFFFF, last_offset_delta=0, attributes=1)


def batch_huge_count_gzip_bomb():
    inner = gzip.compress(b"\x00" * (64 * 1024 * 1024))  # ~64 KiB on the wire, 64 MiB inflated
    return w.record_batch(inner, records_count=0x7FFFFFFF, last_offset_delta=0x7FFFFFFE, attributes=1)


def batch_negative_count():
    return w.record_batch(w.record(0, b"x"), records_count=-1, last_offset_delta=0)


def batch_huge_offset_delta():
    return w.record_batch(w.record(0, b"x"), records_count=1, last_offset_delta=0x7FFFFFFF)


def batch_bad_crc():
    b = bytearray(w.record_batch(w.record(0, b"x"), records_count=1, last_offset_delta=0))
    b[-2] ^= 0xFF  # flip a byte of the record value after the CRC was computed
    return bytes(b)


def batch_length_beyond_data():
    b = bytearray(w.record_batch(w.record(0, b"x"), records_count=1, last_offset_delta=0))
    struct.pack_into(">i", b, 8, 0x7FFFFFF0)  # batchLength
    return bytes(b)


def batch_wrong_magic():
    b = bytearray(w.record_batch(w.record(0, b"x"), records_count=1, last_offset_delta=0))
    b[16] = 7
    return bytes(b)


@pytest.mark.parametrize("make", [batch_huge_count, batch_huge_count_gzip, batch_huge_count_gzip_bomb,
                                  batch_negative_count, batch_huge_offset_delta, batch_bad_crc,
                                  batch_length_beyond_data, batch_wrong_magic],
                         ids=lambda f: f.__name__)
def test_produce_v9_lying_record_batch(broker, make):
    """A Produce v9 whose record batch lies (records_count 0x7fffffff or -1 with a tiny body,
    a decompression bomb, lastOffsetDelta 2^31-1, bad CRC, length past the data, magic 7) is
    rejected with a partition error code (or the connection is closed), nothing is appended
    (high watermark stays 0), and the broker keeps serving."""
    topic = unique_topic("hostile")
    create_topic(broker.bootstrap, topic)
    corr = 99
    with w.connect(broker.port) as s:
        w.send_all(s, w.produce_v9(corr, topic, 0, make(), acks=1))
        kind, payload = assert_error_or_close(broker, s, corr)
    if kind == "response":
        results = w.parse_produce_v9_response(payload)
        assert [(t, p) for t, p, _ in results] == [(topic, 0)], results
        assert results[0][2] != 0, "a lying record batch was accepted (error code 0)"
    assert watermarks(broker.bootstrap, topic) == (0, 0), "the lying batch was appended"
    assert_healthy(broker)


def test_produce_v9_valid_raw_batch_is_accepted(broker):
    """Control for the lying-batch tests: the same hand-built Produce v9 with an honest batch
    (2 records) is accepted with error 0 and the records are readable, so the encoder above
    is right and the rejections are for the lies."""
    topic = unique_topic("honest")
    create_topic(broker.bootstrap, topic)
    batch = w.record_batch(w.record(0, b"one", key=b"k") + w.record(1, b"two"), records_count=2,
                           last_offset_delta=1, base_timestamp=int(time.time() * 1000),
                           max_timestamp=int(time.time() * 1000))
    with w.connect(broker.port) as s:
        w.send_all(s, w.produce_v9(5, topic, 0, batch, acks=-1))
        kind, payload = assert_error_or_close(broker, s, 5)
    assert kind == "response"
    assert w.parse_produce_v9_response(payload) == [(topic, 0, 0)]
    assert watermarks(broker.bootstrap, topic) == (0, 2)


# ---------------------------------------------------------------- frame lengths

@pytest.mark.parametrize("length", [0x7FFFFFFF, 100 * 1024 * 1024 + 1, -1, -0x80000000, -4],
                         ids=["2^31-1", "100MiB+1", "-1", "-2^31", "-4"])
def test_bad_frame_length_closes_connection(broker, length):
    """A frame length prefix above the 100 MiB request limit, or negative, closes the
    connection within a bounded time (the broker does not wait for or allocate the bytes)."""
    with w.connect(broker.port) as s:
        w.send_all(s, struct.pack(">i", length) + b"\x00\x12\x00\x00")
        assert w.wait_closed(s, REACT_S), "connection still open"
    assert_healthy(broker)


def test_zero_length_frame(broker):
    """A zero-length frame (no request header at all) gets an error or a close."""
    with w.connect(broker.port) as s:
        w.send_all(s, struct.pack(">i", 0))
        assert_error_or_close(broker, s, None)
    assert_healthy(broker)


# ---------------------------------------------------------------- garbage

@pytest.mark.parametrize("seed", range(5))
def test_random_garbage_framed(broker, seed):
    """A correctly framed request whose body is random bytes (random api key, version,
    fields) gets an error response or a close; no crash."""
    rng = random.Random(seed)
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096)))
    with w.connect(broker.port) as s:
        w.send_all(s, w.frame(body))
        assert_error_or_close(broker, s, None)
    assert_healthy(broker)


@pytest.mark.parametrize("seed", range(5))
def test_random_garbage_unframed(broker, seed):
    """4 KiB of random bytes (the first four taken as a length), then end of input: the
    broker closes the connection within a bounded time; no crash."""
    rng = random.Random(1000 + seed)
    data = bytes(rng.getrandbits(8) for _ in range(4096))
    with w.connect(broker.port) as s:
        w.send_all(s, data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        assert w.wait_closed(s, REACT_S), "connection still open after garbage and EOF"
    assert_healthy(broker)


def test_truncated_frame_then_disconnect(broker):
    """A client that announces 100 bytes, sends 10 and disconnects leaves no trace."""
    for _ in range(20):
        with w.connect(broker.port) as s:
            w.send_all(s, struct.pack(">i", 100) + b"\x00\x03\x00\x0c" + b"\x00" * 6)
    assert_healthy(broker)


def test_many_idle_partial_connections_do_not_block_clients(broker):
    """100 connections each holding half a request do not stop a normal client."""
    socks = []
    try:
        for _ in range(100):
            s = w.connect(broker.port)
            w.send_all(s, struct.pack(">i", 64) + b"\x00\x03")
            socks.append(s)
        assert_healthy(broker)
    finally:
        for s in socks:
            s.close()
    assert_healthy(broker)


# ---------------------------------------------------------------- unknown / unsupported

@pytest.mark.parametrize("api_key,version", [(9999, 0), (-1, 0), (32767, 3), (3, 999), (0, -1)],
                         ids=["key9999", "key-1", "key32767", "metadata-v999", "produce-v-1"])
def test_unknown_api_key_or_version(broker, api_key, version):
    """A request with an unknown api key, or a known key at an unsupported version, gets an
    error response or a close; no crash."""
    corr = 31337
    with w.connect(broker.port) as s:
        w.send_all(s, w.frame(w.header_v1(api_key, version, corr) + b"\x00" * 8))
        assert_error_or_close(broker, s, corr)
    assert_healthy(broker)


# ---------------------------------------------------------------- conformance on raw sockets

def parse_api_versions(payload: bytes, flexible: bool) -> tuple[int, dict]:
    """(error_code, {api_key: (min, max)}) from an ApiVersions response (header v0)."""
    pos = 4
    (error,) = struct.unpack_from(">h", payload, pos)
    pos += 2
    keys = {}
    if flexible:
        n, pos = w.read_uvarint(payload, pos)
        n -= 1
    else:
        (n,) = struct.unpack_from(">i", payload, pos)
        pos += 4
    for _ in range(max(n, 0)):
        k, lo, hi = struct.unpack_from(">hhh", payload, pos)
        pos += 6
        if flexible:
            _, pos = w._skip_tags(payload, pos)
        keys[k] = (lo, hi)
    return error, keys


REQUIRED_APIS = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 18: "ApiVersions",
                 19: "CreateTopics", 20: "DeleteTopics", 21: "DeleteRecords",
                 23: "OffsetForLeaderEpoch", 32: "DescribeConfigs", 33: "AlterConfigs",
                 37: "CreatePartitions", 44: "IncrementalAlterConfigs", 60: "DescribeCluster"}


def test_api_versions_v3_lists_implemented_apis(broker):
    """ApiVersions v3 (flexible request, response header v0) answers error 0 and lists every
    API the broker implements, each with min <= max."""
    body = w.compact_string("chronik-tests") + w.compact_string("1.0") + w.EMPTY_TAGS
    with w.connect(broker.port) as s:
        w.send_all(s, w.frame(w.header_v2(18, 3, 11) + body))
        kind, payload = assert_error_or_close(broker, s, 11)
    assert kind == "response"
    error, keys = parse_api_versions(payload, flexible=True)
    assert error == 0
    missing = {k: n for k, n in REQUIRED_APIS.items() if k not in keys}
    assert not missing, f"ApiVersions does not list {missing}"
    assert all(lo <= hi for lo, hi in keys.values())
    assert keys[18][1] >= 3


def test_api_versions_unsupported_version_answers_35(broker):
    """ApiVersions at a version the broker does not know is answered (not closed) with
    UNSUPPORTED_VERSION (35) in a v0-format body listing the supported versions, as Kafka does
    (KIP-511), so clients can fall back."""
    with w.connect(broker.port) as s:
        w.send_all(s, w.frame(w.header_v2(18, 999, 12) + b"\x00" * 8))
        kind, payload = assert_error_or_close(broker, s, 12)
    assert kind == "response", "connection closed instead of UNSUPPORTED_VERSION"
    error, keys = parse_api_versions(payload, flexible=False)
    assert error == 35
    assert 18 in keys


def test_pipelined_requests_answered_in_order(broker):
    """50 ApiVersions v0 requests written back to back on one connection get 50 responses in
    request order (Kafka's per-connection ordering)."""
    data = b"".join(w.frame(w.header_v1(18, 0, 1000 + i)) for i in range(50))
    got = []
    with w.connect(broker.port) as s:
        w.send_all(s, data)
        for _ in range(50):
            kind, payload = w.response_or_close(s, REACT_S)
            assert kind == "response", f"closed after {len(got)} responses"
            got.append(struct.unpack_from(">i", payload, 0)[0])
    assert got == [1000 + i for i in range(50)]


@pytest.mark.parametrize("partition,acks,expected", [(7, 1, 3), (-1, 1, 3), (0, 2, 21)],
                         ids=["partition-7-of-1", "partition--1", "acks-2"])
def test_produce_v9_invalid_target_or_acks(broker, partition, acks, expected):
    """A well-formed Produce v9 to a partition the topic does not have gets
    UNKNOWN_TOPIC_OR_PARTITION (3); acks=2 gets INVALID_REQUIRED_ACKS (21); nothing is
    appended to partition 0."""
    topic = unique_topic("target")
    create_topic(broker.bootstrap, topic)
    batch = w.record_batch(w.record(0, b"x"), records_count=1, last_offset_delta=0)
    with w.connect(broker.port) as s:
        w.send_all(s, w.produce_v9(77, topic, partition, batch, acks=acks))
        kind, payload = assert_error_or_close(broker, s, 77)
    assert kind == "response", "connection closed instead of an error code"
    assert w.parse_produce_v9_response(payload) == [(topic, partition, expected)]
    assert watermarks(broker.bootstrap, topic) == (0, 0)
    assert_healthy(broker)
