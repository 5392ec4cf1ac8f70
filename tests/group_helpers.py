"""Helpers for test_groups.py: group members as subprocesses, bounded waits, a connection-
dropping TCP proxy and a few classic (non-flexible) group requests on raw sockets."""

from __future__ import annotations

import json
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import kafka_wire as w

MEMBER_SCRIPT = Path(__file__).resolve().parent / "group_member.py"


def wait_until(pred, timeout_s: float, what: str, interval_s: float = 0.1):
    """Poll pred() (bounded in time and count) until it returns a truthy value; return it."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / interval_s) + 10):
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


# ---------------------------------------------------------------- group members as processes


class Member:
    """One group_member.py subprocess and the JSON events it printed (collected by a thread)."""

    def __init__(self, name: str, conf: dict, topics: list[str], log_dir: Path,
                 max_runtime_s: float = 150.0):
        self.name = name
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self.stderr_path = log_dir / f"member-{name}-{time.monotonic_ns()}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(MEMBER_SCRIPT), json.dumps(conf), json.dumps(topics),
             str(max_runtime_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"ev": "garbage", "line": line}
            event["at"] = time.monotonic()
            with self._lock:
                self.events.append(event)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.events)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.snapshot() if e["ev"] == kind]

    def assignment(self) -> set[int]:
        """Partitions of the last full assignment reported (empty before the first)."""
        a = self.of("assignment")
        return {p for _, p in a[-1]["parts"]} if a else set()

    def messages(self) -> list[dict]:
        return self.of("msg")

    def errors(self) -> list[dict]:
        return self.of("error")

    def close(self, timeout_s: float = 30.0) -> int:
        """Ask it to close() its consumer (leaves the group) and wait for it to exit."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("close\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
        rc = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return rc

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._reader.join(timeout=5)
        self._stderr.close()

    def describe(self) -> str:
        try:
            err = self.stderr_path.read_bytes()[-3000:].decode(errors="replace")
        except OSError:
            err = ""
        evs = [e for e in self.snapshot() if e["ev"] != "msg"]
        return (f"member {self.name} rc={self.proc.poll()} events(non-msg)={evs[-30:]} "
                f"messages={len(self.messages())}\nstderr tail:\n{err}")


def assert_partitioned(members: list[Member], partitions: int, per_member: int | None = None) -> None:
    """Every partition is assigned to exactly one of `members` (and each has per_member)."""
    sets = [m.assignment() for m in members]
    seen: dict[int, str] = {}
    for m, s in zip(members, sets):
        for p in s:
            assert p not in seen, f"partition {p} assigned to both {seen[p]} and {m.name}: {sets}"
            seen[p] = m.name
    assert set(seen) == set(range(partitions)), f"assignments {sets} do not cover {partitions}"
    if per_member is not None:
        assert all(len(s) == per_member for s in sets), f"unbalanced: {sets}"


def partitioned(members: list[Member], partitions: int, per_member: int | None = None) -> bool:
    try:
        assert_partitioned(members, partitions, per_member)
        return True
    except AssertionError:
        return False


# ---------------------------------------------------------------- a connection-dropping proxy


class DroppingProxy:
    """A 127.0.0.1 TCP proxy to 127.0.0.1:<upstream>. While armed, each connection is cut
    (both sides closed) after forwarding a random number of client->broker bytes, possibly in
    the middle of a request, at most max_drops times. Seeded; every wait is bounded."""

    def __init__(self, seed: int, min_bytes: int, max_bytes: int, max_drops: int):
        self.rng = random.Random(seed)
        self.min_bytes, self.max_bytes, self.max_drops = min_bytes, max_bytes, max_drops
        self.lock = threading.Lock()
        self.armed = False
        self.drops = 0
        self.connections = 0
        self.upstream_port: int | None = None
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]

    def start(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._spawn(self._accept_loop)

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept_loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += 1
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(0.2)
            closed = threading.Event()
            self._spawn(self._pump, client, upstream, closed, True)
            self._spawn(self._pump, upstream, client, closed, False)

    def _close_both(self, a: socket.socket, b: socket.socket, closed: threading.Event) -> None:
        closed.set()
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _pump(self, src: socket.socket, dst: socket.socket, closed: threading.Event,
              client_to_broker: bool) -> None:
        forwarded = 0
        limit: int | None = None
        while not self.stop_event.is_set() and not closed.is_set():
            try:
                chunk = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            if client_to_broker:
                with self.lock:
                    if limit is None and self.armed and self.drops < self.max_drops:
                        limit = forwarded + self.rng.randint(self.min_bytes, self.max_bytes)
                    cut = (limit is not None and forwarded + len(chunk) >= limit
                           and self.armed and self.drops < self.max_drops)
                    if cut:
                        self.drops += 1
                if cut:
                    try:
                        dst.sendall(chunk[:limit - forwarded])
                    except OSError:
                        pass
                    break
            try:
                dst.sendall(chunk)
            except OSError:
                break
            forwarded += len(chunk)
        self._close_both(src, dst, closed)

    def stop(self) -> None:
        self.stop_event.set()
        self.listener.close()
        for t in self.threads:
            t.join(timeout=5)


# ---------------------------------------------------------------- classic group requests, raw


class Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        size = struct.calcsize(">" + fmt)
        vals = struct.unpack_from(">" + fmt, self.buf, self.pos)
        self.pos += size
        return vals[0] if len(vals) == 1 else vals

    def string(self) -> str | None:
        n = self.take("h")
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self) -> bytes | None:
        n = self.take("i")
        if n < 0:
            return None
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b


class RawClient:
    """One socket; classic (header v1 / response header v0) requests, one at a time."""

    def __init__(self, port: int):
        self.sock = w.connect(port)
        self.correlation = 0

    def call(self, api_key: int, version: int, body: bytes) -> Reader:
        self.correlation += 1
        assert w.send_all(self.sock, w.frame(w.header_v1(api_key, version, self.correlation,
                                                         "chronik-tests") + body))
        kind, payload = w.response_or_close(self.sock, timeout_s=30)
        assert kind == "response", f"api {api_key} v{version}: connection closed"
        r = Reader(payload)
        assert r.take("i") == self.correlation
        return r

    def close(self) -> None:
        self.sock.close()

    def find_coordinator(self, group: str) -> tuple[int, int]:
        r = self.call(10, 0, w.string(group))           # FindCoordinator v0
        err, node = r.take("hi")
        r.string()
        return err, r.take("i")

    def join_group(self, group: str, session_ms: int, member_id: str = "",
                   topic: str = "t", version: int = 1) -> dict:
        subscription = struct.pack(">hi", 0, 1) + w.string(topic) + struct.pack(">i", 0)
        body = (w.string(group) + struct.pack(">ii", session_ms, 20000) + w.string(member_id)
                + w.string("consumer") + struct.pack(">i", 1) + w.string("range")
                + struct.pack(">i", len(subscription)) + subscription)
        r = self.call(11, version, body)                 # JoinGroup v1-v4 (same request)
        if version >= 2:
            r.take("i")                                  # throttle_time_ms
        err, gen = r.take("hi")
        protocol, leader, member = r.string(), r.string(), r.string()
        members = [(r.string(), r.bytes_()) for _ in range(r.take("i"))]
        return {"error": err, "generation": gen, "protocol": protocol, "leader": leader,
                "member_id": member, "members": members}

    def sync_group(self, group: str, generation: int, member_id: str,
                   assignments: list[tuple[str, bytes]]) -> tuple[int, bytes | None]:
        body = (w.string(group) + struct.pack(">i", generation) + w.string(member_id)
                + struct.pack(">i", len(assignments))
                + b"".join(w.string(m) + struct.pack(">i", len(a)) + a for m, a in assignments))
        r = self.call(14, 0, body)                       # SyncGroup v0
        return r.take("h"), r.bytes_()

    def heartbeat(self, group: str, generation: int, member_id: str) -> int:
        r = self.call(12, 0, w.string(group) + struct.pack(">i", generation) + w.string(member_id))
        return r.take("h")                               # Heartbeat v0

    def leave_group(self, group: str, member_id: str) -> int:
        return self.call(13, 0, w.string(group) + w.string(member_id)).take("h")  # LeaveGroup v0

    def offset_commit(self, group: str, commits: dict[str, list[tuple[int, int]]],
                      generation: int = -1, member_id: str = "") -> dict:
        body = (w.string(group) + struct.pack(">i", generation) + w.string(member_id)
                + struct.pack(">q", -1) + struct.pack(">i", len(commits)))
        for topic, parts in commits.items():
            body += w.string(topic) + struct.pack(">i", len(parts))
            for partition, offset in parts:
                body += struct.pack(">iq", partition, offset) + w.string("")
        r = self.call(8, 2, body)                        # OffsetCommit v2
        out = {}
        for _ in range(r.take("i")):
            name = r.string()
            for _ in range(r.take("i")):
                partition, err = r.take("ih")
                out[(name, partition)] = err
        return out
