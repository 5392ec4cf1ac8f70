"""Shared plumbing for the differential compatibility drivers (one driver per client).

A scenario is a function `fn(ctx) -> dict` written once per client. The dict it returns is the
scenario's *observable result*, already normalised: nothing broker-specific (node ids, cluster ids,
member ids, LogAppendTime timestamps, hosts/ports) is put in it, CreateTime timestamps are stored
relative to `ctx.t0`, error codes are stored as Kafka's error names. The same dict from Kafka and
from Chronik must be equal for the scenario to count as "same".

A scenario also states its own expectations with `ctx.check(cond, what)`; a failed check is
recorded in the result (so it is compared too) and makes the scenario fail in chronik-only mode.

Each driver is run as
    python compat/<client>_driver.py --bootstrap HOST:PORT --broker chronik|kafka --out DIR
        [--scenario NAME ...] [--no-autocreate-bootstrap HOST:PORT]
and writes DIR/<client>/<scenario>.<broker>.json:
    {"client", "scenario", "broker", "status": "ok"|"error", "doc", "observed", "checks_failed",
     "error", "seconds"}
Every scenario runs under a wall-clock alarm (SCENARIO_TIMEOUT_S), every client call has a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

SCENARIO_TIMEOUT_S = int(os.environ.get("COMPAT_SCENARIO_TIMEOUT_S", "90"))

ACKS = ["0", "1", "all"]
COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"]
# The broker default max.message.bytes (Kafka's 1048588). "near" fits in one batch under it,
# "over" does not; the clients' own request limits are raised so the broker decides.
NEAR_LIMIT_VALUE = 1_000_000
OVER_LIMIT_VALUE = 1_100_000
CLIENT_MAX_REQUEST = 4 * 1024 * 1024
INVALID_TOPIC_NAMES = ["", ".", "..", "a" * 250, "bad/name", "bad name", "bad*name", "ok.name-1_x"]

# Kafka error codes we may observe, by number (the drivers store names).
ERROR_NAMES = {
    -1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE",
    3: "UNKNOWN_TOPIC_OR_PARTITION", 4: "INVALID_FETCH_SIZE", 5: "LEADER_NOT_AVAILABLE",
    6: "NOT_LEADER_OR_FOLLOWER", 7: "REQUEST_TIMED_OUT", 10: "MESSAGE_TOO_LARGE",
    17: "INVALID_TOPIC_EXCEPTION", 18: "RECORD_LIST_TOO_LARGE", 22: "ILLEGAL_GENERATION",
    25: "UNKNOWN_MEMBER_ID", 27: "REBALANCE_IN_PROGRESS", 32: "INVALID_TIMESTAMP",
    36: "TOPIC_ALREADY_EXISTS", 37: "INVALID_PARTITIONS", 38: "INVALID_REPLICATION_FACTOR",
    40: "INVALID_CONFIG", 41: "NOT_CONTROLLER", 42: "INVALID_REQUEST", 87: "INVALID_RECORD",
}


def err_name(code) -> str:
    if code is None:
        return "NONE"
    if isinstance(code, str):
        return code
    return ERROR_NAMES.get(int(code), f"ERROR_{int(code)}")


def b2s(b):
    """Bytes as a JSON-able value: None stays None, utf-8 text as is, else hex with a prefix."""
    if b is None:
        return None
    if isinstance(b, str):
        return b
    b = bytes(b)
    if len(b) > 64:
        import hashlib
        return f"<{len(b)} bytes sha256={hashlib.sha256(b).hexdigest()[:16]}>"
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + b.hex()


def headers_norm(headers):
    if not headers:
        return []
    return [[k if isinstance(k, str) else b2s(k), b2s(v)] for k, v in headers]


class ScenarioTimeout(Exception):
    pass


class Ctx:
    def __init__(self, client: str, broker: str, bootstrap: str, no_autocreate: str | None):
        self.client = client
        self.broker = broker
        self.bootstrap = bootstrap
        self.no_autocreate_bootstrap = no_autocreate
        # CreateTime base: an hour ago, whole seconds (inside every retention and timestamp bound).
        self.t0 = (int(time.time()) - 3600) * 1000
        self.checks_failed: list[str] = []
        self.info: dict = {}  # kept in the raw result for diagnosis, never compared

    def topic(self, name: str) -> str:
        """Per-client topic names, so every client can share one broker (chronik-only mode)."""
        return f"compat-{self.client}-{name}"

    def group(self, name: str) -> str:
        return f"compat-{self.client}-{name}"

    def check(self, cond, what: str) -> bool:
        if not cond:
            self.checks_failed.append(what)
        return bool(cond)

    def rel_ts(self, ts):
        return None if ts is None else ts - self.t0


def _alarm(signum, frame):
    raise ScenarioTimeout(f"scenario exceeded {SCENARIO_TIMEOUT_S}s")


def run_driver(client: str, scenarios: dict):
    """Parse the common command line and run the selected scenarios, writing one JSON each."""
    ap = argparse.ArgumentParser(description=f"compat driver for {client}")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--broker", required=True, help="label: chronik or kafka")
    ap.add_argument("--out", required=True)
    ap.add_argument("--scenario", action="append", default=[])
    ap.add_argument("--no-autocreate-bootstrap", default=None)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for name, fn in scenarios.items():
            print(name, "-", (fn.__doc__ or "").strip().splitlines()[0])
        return 0
    names = a.scenario or list(scenarios)
    out = Path(a.out) / client
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, _alarm)
    worst = 0
    for name in names:
        fn = scenarios[name]
        ctx = Ctx(client, a.broker, a.bootstrap, a.no_autocreate_bootstrap)
        rec = {"client": client, "scenario": name, "broker": a.broker,
               "doc": " ".join((fn.__doc__ or "").split()), "observed": None,
               "checks_failed": [], "error": None}
        start = time.monotonic()
        signal.alarm(SCENARIO_TIMEOUT_S)
        try:
            if fn.__dict__.get("needs_no_autocreate") and not a.no_autocreate_bootstrap:
                rec["status"] = "skipped"
                rec["error"] = "no broker with auto-create off was given"
            else:
                rec["observed"] = fn(ctx)
                rec["status"] = "ok"
        except BaseException as e:  # noqa: BLE001 - a scenario's failure is data
            if isinstance(e, KeyboardInterrupt):
                raise
            rec["status"] = "error"
            rec["error"] = f"{type(e).__name__}: {e}"[:2000]
            rec["traceback"] = traceback.format_exc()[-4000:]
        finally:
            signal.alarm(0)
        rec["checks_failed"] = ctx.checks_failed
        rec["info"] = ctx.info
        rec["seconds"] = round(time.monotonic() - start, 2)
        (out / f"{name}.{a.broker}.json").write_text(json.dumps(rec, indent=1, sort_keys=True))
        verdict = rec["status"] if not ctx.checks_failed else "checks-failed"
        if verdict not in ("ok", "skipped"):
            worst = 1
        print(f"[{client} @ {a.broker}] {name}: {verdict} ({rec['seconds']}s)"
              + (f" {rec['error']}" if rec["error"] else "")
              + (f" checks failed: {ctx.checks_failed}" if ctx.checks_failed else ""),
              flush=True)
    return worst


def needs_no_autocreate(fn):
    fn.needs_no_autocreate = True
    return fn


def main_guard(client, scenarios):
    sys.exit(run_driver(client, scenarios))
