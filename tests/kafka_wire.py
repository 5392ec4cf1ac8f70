"""Hand-written Kafka wire encoding for raw-socket tests (from Kafka's JSON message specs).

Only what the hostile-frame tests need: request headers v1/v2, unsigned varints,
compact strings, a v2 record batch with a correct CRC-32C, and bounded socket reads.
"""

from __future__ import annotations

import socket
import struct
import time

# ---------------------------------------------------------------- primitives


def uvarint(n: int) -> bytes:
    assert n >= 0
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n: int) -> bytes:
    """Zig-zag signed varint (record fields)."""
    return uvarint((n << 1) ^ (n >> 63))


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    value = 0
    for _ in range(5):
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise ValueError("uvarint longer than 5 bytes")


def string(s: str | None) -> bytes:
    """Classic nullable string: int16 length + bytes."""
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def compact_string(s: str | None) -> bytes:
    """Compact nullable string: uvarint(len + 1) + bytes, 0 = null."""
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def compact_bytes(b: bytes) -> bytes:
    return uvarint(len(b) + 1) + b


EMPTY_TAGS = uvarint(0)


def header_v1(api_key: int, api_version: int, correlation_id: int, client_id: str | None = "hostile") -> bytes:
    return struct.pack(">hhi", api_key, api_version, correlation_id) + string(client_id)


def header_v2(api_key: int, api_version: int, correlation_id: int, client_id: str | None = "hostile") -> bytes:
    # Flexible request header: v1 fields + tagged fields. client_id stays a classic string.
    return header_v1(api_key, api_version, correlation_id, client_id) + EMPTY_TAGS


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


# ---------------------------------------------------------------- CRC-32C (Castagnoli)

def _crc32c_table() -> list[int]:
    poly = 0x82F63B78
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


# ---------------------------------------------------------------- record batches (magic 2)

def record(offset_delta: int, value: bytes, key: bytes | None = None, timestamp_delta: int = 0) -> bytes:
    body = bytes([0])  # attributes
    body += varint(timestamp_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(len(value)) + value
    body += varint(0)  # headers count
    return varint(len(body)) + body


def record_batch(records_payload: bytes, records_count: int, last_offset_delta: int,
                 attributes: int = 0, base_timestamp: int = 0, max_timestamp: int = 0,
                 base_offset: int = 0) -> bytes:
    """A v2 record batch with a *correct* CRC over whatever header values are given, so a
    broker gets past the checksum and has to judge the claimed counts themselves."""
    after_crc = struct.pack(">hiqqqhii", attributes, last_offset_delta, base_timestamp,
                            max_timestamp, -1, -1, -1, records_count) + records_payload
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", 0, 2, crc) + after_crc  # partition leader epoch, magic, crc
    return struct.pack(">qi", base_offset, len(after_length)) + after_length


def produce_v9(correlation_id: int, topic: str, partition: int, records: bytes, acks: int = 1,
               timeout_ms: int = 5000) -> bytes:
    body = compact_string(None)  # transactional_id
    body += struct.pack(">hi", acks, timeout_ms)
    body += uvarint(1 + 1)  # topic_data: 1 topic
    body += compact_string(topic)
    body += uvarint(1 + 1)  # partition_data: 1 partition
    body += struct.pack(">i", partition) + compact_bytes(records) + EMPTY_TAGS
    body += EMPTY_TAGS  # topic tags
    body += EMPTY_TAGS  # request tags
    return frame(header_v2(0, 9, correlation_id) + body)


def parse_produce_v9_response(payload: bytes) -> list[tuple[str, int, int]]:
    """[(topic, partition, error_code)] from a ProduceResponse v9 (response header v1)."""
    pos = 4  # correlation id
    ntags, pos = read_uvarint(payload, pos)
    assert ntags == 0, "unexpected tagged fields in response header"
    out = []
    ntopics, pos = read_uvarint(payload, pos)
    for _ in range(ntopics - 1):
        n, pos = read_uvarint(payload, pos)
        name = payload[pos:pos + n - 1].decode()
        pos += n - 1
        nparts, pos = read_uvarint(payload, pos)
        for _ in range(nparts - 1):
            index, error_code = struct.unpack_from(">ih", payload, pos)
            out.append((name, index, error_code))
            pos += 4 + 2 + 8 + 8 + 8  # index, error, base offset, log append time, log start
            nerr, pos = read_uvarint(payload, pos)
            for _ in range(max(nerr - 1, 0)):
                pos += 4
                n, pos = read_uvarint(payload, pos)
                pos += max(n - 1, 0)
                _, pos = _skip_tags(payload, pos)
            n, pos = read_uvarint(payload, pos)  # error message
            pos += max(n - 1, 0)
            _, pos = _skip_tags(payload, pos)
        _, pos = _skip_tags(payload, pos)
    return out


def _skip_tags(buf: bytes, pos: int) -> tuple[int, int]:
    n, pos = read_uvarint(buf, pos)
    for _ in range(n):
        _tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
    return n, pos


# ---------------------------------------------------------------- bounded socket IO

def connect(port: int, timeout_s: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s: socket.socket, n: int, deadline: float) -> bytes | None:
    """n bytes, or None if the peer closed/reset first. Raises TimeoutError at the deadline."""
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"got {len(buf)} of {n} bytes before the deadline")
        s.settimeout(remaining)
        try:
            chunk = s.recv(n - len(buf))
        except socket.timeout as e:
            raise TimeoutError(f"got {len(buf)} of {n} bytes before the deadline") from e
        except (ConnectionResetError, BrokenPipeError):
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def response_or_close(s: socket.socket, timeout_s: float = 10.0) -> tuple[str, bytes | None]:
    """Wait (bounded) for one response frame or the connection closing.

    Returns ("response", payload) or ("closed", None); raises TimeoutError if neither
    happens within timeout_s."""
    deadline = time.monotonic() + timeout_s
    head = recv_exact(s, 4, deadline)
    if head is None:
        return "closed", None
    (length,) = struct.unpack(">i", head)
    assert 4 <= length <= 64 * 1024 * 1024, f"implausible response length {length}"
    payload = recv_exact(s, length, deadline)
    if payload is None:
        return "closed", None
    return "response", payload


def wait_closed(s: socket.socket, timeout_s: float = 10.0, max_bytes: int = 1 << 20) -> bool:
    """Drain until the peer closes (True) or the deadline passes (False). Bounded in bytes."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline and seen <= max_bytes:
        s.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not chunk:
            return True
        seen += len(chunk)
    return False


def send_all(s: socket.socket, data: bytes) -> bool:
    """Send; False if the peer already closed/reset (which the tests accept as a close)."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False
