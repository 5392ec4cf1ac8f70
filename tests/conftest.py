"""Fixtures that run a real chronik-server for the integration tests.

`broker` starts `chronik-server ... standalone` on a free 127.0.0.1 port with a fresh data
directory, waits (bounded) until the port accepts, and yields a `Broker` handle. On
teardown it sends SIGTERM to the PID it started, waits, and SIGKILLs it if needed. The
server's stderr goes to a file that is attached to the report of any failing test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_BYTES = 64 * 1024


def server_binary() -> Path:
    """The chronik-server to test: $CHRONIK_SERVER_BIN, else <target dir>/release/chronik-server."""
    explicit = os.environ.get("CHRONIK_SERVER_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "release" / "chronik-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """One chronik-server process under test (and its restarts on the same dir and port).

    Unpacks as `bootstrap, data_dir, proc, restart = broker`.
    """

    def __init__(self, binary: Path, data_dir: Path, log_dir: Path, extra_args: list[str]):
        self.binary = binary
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.bootstrap = f"{HOST}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.generation = 0
        self.log_paths: list[Path] = []
        self.exit_codes: list[int] = []

    def __iter__(self):
        return iter((self.bootstrap, self.data_dir, self.proc, self.restart))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def common_args(self) -> list[str]:
        """The binary and the flags every server of the tests gets (data dir, listener)."""
        return [
            str(self.binary),
            "--data-dir", str(self.data_dir),
            "--bind-addr", HOST,
            "--kafka-port", str(self.port),
            "--advertised-addr", HOST,
        ]

    def args(self) -> list[str]:
        return [*self.common_args(), *self.extra_args, "standalone"]

    def start(self) -> None:
        """Start the server and wait (bounded) until its Kafka port accepts connections."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if not self.binary.exists():
            pytest.fail(f"chronik-server binary not found at {self.binary}; "
                        "build it (cargo build --release -p runtime-tokio) or set CHRONIK_SERVER_BIN")
        self.generation += 1
        log_path = self.log_dir / f"chronik-server.{self.generation}.stderr"
        self.log_paths.append(log_path)
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        env.setdefault("RUST_BACKTRACE", "1")
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chronik-server exited with {self.proc.returncode} during start-up\n"
                            f"{self.log_tail()}")
            if port_accepts(self.port):
                return
            time.sleep(0.05)
        pytest.fail(f"chronik-server did not accept on {self.bootstrap} within {START_TIMEOUT_S}s\n"
                    f"{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the server (a crash: no shutdown code runs) and reap it."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.exit_codes.append(self.proc.returncode)

    def stop(self) -> int | None:
        """SIGTERM the PID we started, wait, SIGKILL if it does not exit. Returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.exit_codes.append(self.proc.returncode)
        return self.proc.returncode

    def restart(self, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL if kill=True) and start again on the same data dir and port."""
        if self.alive():
            if kill:
                self.kill9()
            else:
                self.stop()
        self.start()

    def log_text(self) -> str:
        parts = []
        for path in self.log_paths:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) > LOG_TAIL_BYTES:
                data = b"...[truncated]...\n" + data[-LOG_TAIL_BYTES:]
            parts.append(f"----- {path.name} -----\n" + data.decode("utf-8", "replace"))
        return "\n".join(parts)

    def log_tail(self) -> str:
        return "chronik-server stderr:\n" + self.log_text()


def _make_broker(request, tmp_path_factory, extra_args):
    base = tmp_path_factory.mktemp("chronik")
    data_dir = base / "data"
    data_dir.mkdir()
    b = Broker(server_binary(), data_dir, base, extra_args)
    request.node._chronik_brokers = getattr(request.node, "_chronik_brokers", []) + [b]
    b.start()
    return b


@pytest.fixture
def broker(request, tmp_path_factory):
    """A fresh standalone chronik-server (auto-create on) for one test."""
    b = _make_broker(request, tmp_path_factory, [])
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def broker_factory(request, tmp_path_factory):
    """Start chronik-servers with extra CLI arguments: broker_factory("--num-partitions", "3")."""
    started = []

    def make(*extra_args: str) -> Broker:
        b = _make_broker(request, tmp_path_factory, list(extra_args))
        started.append(b)
        return b

    try:
        yield make
    finally:
        for b in started:
            b.stop()


class ClusterNode(Broker):
    """One voter of a test cluster; restarts keep its ports, data dir and flags.
    `cluster_args` are its cluster flags beyond the node id, peer port and voters."""

    def __init__(self, binary: Path, base: Path, node_id: int, peer_port: int, cluster_args: list[str]):
        data_dir = base / "data"
        data_dir.mkdir()
        super().__init__(binary, data_dir, base, [])
        self.node_id = node_id
        self.peer_port = peer_port
        self.cluster_args = cluster_args
        self.voters = ""  # set by start_cluster once every node has its ports

    def args(self) -> list[str]:
        return [
            *self.common_args(),
            "--node-id", str(self.node_id),
            "--peer-port", str(self.peer_port),
            "--voters", self.voters,
            *self.cluster_args,
            *self.extra_args,
        ]


def start_cluster(request, tmp_path_factory, node_ids, cluster_args: list[str], name: str):
    """Starts one ClusterNode per id, each with its own Kafka and peer port; a generator
    for a fixture: yields the nodes in id order and stops them afterwards."""
    binary = server_binary()
    nodes: list[ClusterNode] = []
    used: set[int] = set()
    for node_id in node_ids:
        base = tmp_path_factory.mktemp(f"chronik-{name}{node_id}")
        peer_port = free_port()
        while peer_port in used:
            peer_port = free_port()
        node = ClusterNode(binary, base, node_id, peer_port, cluster_args)
        while node.port in used or node.port == peer_port:
            node.port = free_port()
            node.bootstrap = f"{HOST}:{node.port}"
        used |= {node.port, peer_port}
        nodes.append(node)
    voters = ",".join(f"{n.node_id}@{HOST}:{n.peer_port}" for n in nodes)
    for n in nodes:
        n.voters = voters
    request.node._chronik_brokers = getattr(request.node, "_chronik_brokers", []) + nodes
    try:
        for n in nodes:
            n.start()
        yield nodes
    finally:
        for n in nodes:
            n.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach every broker's stderr to the report of a failed test (any phase)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, b in enumerate(getattr(item, "_chronik_brokers", [])):
            report.sections.append((f"chronik-server #{i} ({b.bootstrap}) stderr", b.log_text()))
