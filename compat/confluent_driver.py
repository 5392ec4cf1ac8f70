#!/usr/bin/env python3
"""Compatibility scenarios with confluent-kafka (librdkafka). See compat/README.md.

Each scenario's docstring says what it proves; it returns its normalised observable result.
Error codes are librdkafka's names (KafkaError.name()), the same naming on both brokers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer,  # noqa: E402
                             TopicPartition)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,  # noqa: E402
                                   ConfigResource, NewPartitions, NewTopic, OffsetSpec)

from common import (ACKS, CLIENT_MAX_REQUEST, COMPRESSIONS, INVALID_TOPIC_NAMES,  # noqa: E402
                    NEAR_LIMIT_VALUE, OVER_LIMIT_VALUE, b2s, headers_norm, main_guard,
                    needs_no_autocreate)

CLIENT = "confluent"
T = 15.0  # per-call timeout, seconds


def base(ctx, bootstrap=None):
    return {"bootstrap.servers": bootstrap or ctx.bootstrap, "broker.address.family": "v4"}


def admin(ctx, bootstrap=None):
    return AdminClient(base(ctx, bootstrap))


def ename(err):
    if err is None:
        return "NONE"
    if isinstance(err, KafkaException):
        err = err.args[0]
    return err.name() if isinstance(err, KafkaError) else type(err).__name__


def create(ctx, a, names, partitions=1, config=None):
    fs = a.create_topics([NewTopic(n, partitions, 1, config=config or {}) for n in names],
                         operation_timeout=T, request_timeout=T)
    out = {}
    for n, f in fs.items():
        try:
            f.result(timeout=T)
            out[n] = "NONE"
        except Exception as e:  # noqa: BLE001
            out[n] = ename(e)
    # wait (bounded) until every created topic is in the metadata with all its partitions
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        md = a.list_topics(timeout=T)
        if all(n in md.topics and md.topics[n].error is None and len(md.topics[n].partitions) == partitions
               for n, r in out.items() if r == "NONE"):
            break
        time.sleep(0.1)
    return out


def produce(ctx, topic, records, extra=None, partition=None):
    """Produce (key, value, headers, ts) tuples; return the delivery reports [partition, offset, error]."""
    conf = base(ctx)
    conf.update({"linger.ms": 5})
    conf.update(extra or {})
    p = Producer(conf)
    reports = []

    def cb(err, msg):
        reports.append([msg.partition(), msg.offset(), ename(err)])

    for key, value, headers, ts in records:
        kw = {"key": key, "value": value, "on_delivery": cb}
        if headers is not None:
            kw["headers"] = headers
        if ts is not None:
            kw["timestamp"] = ts
        if partition is not None:
            kw["partition"] = partition
        p.produce(topic, **kw)
    left = p.flush(T * 2)
    ctx.check(left == 0, f"{left} messages not delivered within {T * 2}s")
    return reports


def wait_writable(ctx, topic, partition=0):
    """Bounded wait until the partition's leader answers ListOffsets (a new topic is ready)."""
    c = Consumer({**base(ctx), "group.id": "compat-unused"})
    try:
        deadline = time.monotonic() + T
        while time.monotonic() < deadline:
            try:
                c.get_watermark_offsets(TopicPartition(topic, partition), timeout=2)
                return
            except KafkaException:
                time.sleep(0.1)
    finally:
        c.close()


def msg_dict(ctx, m):
    tstype, ts = m.timestamp()
    return {"p": m.partition(), "offset": m.offset(), "key": b2s(m.key()), "value": b2s(m.value()),
            "headers": headers_norm(m.headers()), "ts_type": tstype,
            "ts": ctx.rel_ts(ts) if tstype == 1 else "log-append"}


def read_all(ctx, topic, partitions, expect, timeout=T, extra=None):
    """Read `expect` records from the start of the given partitions (assign, no group)."""
    conf = base(ctx)
    conf.update({"group.id": "compat-unused", "enable.auto.commit": False,
                 "auto.offset.reset": "earliest", "enable.partition.eof": False})
    conf.update(extra or {})
    c = Consumer(conf)
    try:
        c.assign([TopicPartition(topic, p, 0) for p in partitions])
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                out.append({"error": ename(m.error())})
                continue
            out.append(msg_dict(ctx, m))
        ctx.check(len(out) == expect, f"read {len(out)} of {expect} records from {topic}")
        return sorted(out, key=lambda d: (d.get("p", -1), d.get("offset", -1)))
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
def produce_fetch(ctx):
    """Produce 5 keyed records with CreateTime timestamps for every acks (0, 1, all) x compression
    (none, gzip, snappy, lz4, zstd) and read them back: same offsets, keys, values, timestamps,
    and the same delivery reports (offsets for acks 1/all)."""
    a = admin(ctx)
    obs = {}
    # acks=0 last, and only once the partition answers ListOffsets: an acks=0 record sent before
    # the new partition's leader is ready is silently lost (on Kafka), which is not what we compare.
    names = {(acks, comp): ctx.topic(f"pf-{acks}-{comp}") for acks in ["1", "all", "0"] for comp in COMPRESSIONS}
    create(ctx, a, list(names.values()))
    for (acks, comp), t in names.items():
        if acks == "0":
            wait_writable(ctx, t)
        recs = [(f"k{i}".encode(), (f"value-{i}-{comp}-" * 20).encode(), None, ctx.t0 + 10 * i)
                for i in range(5)]
        rep = produce(ctx, t, recs, {"acks": acks, "compression.type": comp})
        if acks == "0":
            ctx.check(all(r[2] == "NONE" for r in rep), f"acks=0 {comp}: delivery errors {rep}")
            rep = "acks=0"
        else:
            ctx.check([r[1] for r in rep] == list(range(5)), f"acks={acks} {comp}: offsets {rep}")
        got = read_all(ctx, t, [0], 5)
        ctx.check([g.get("value") for g in got] == [b2s(r[1]) for r in recs], f"acks={acks} {comp}: values")
        obs[f"acks={acks} {comp}"] = {"delivery": rep, "records": got}
    return obs


def headers(ctx):
    """Record headers survive a round trip: order, duplicate keys, empty and null values, and a
    record without headers."""
    a = admin(ctx)
    t = ctx.topic("headers")
    create(ctx, a, [t])
    hs = [("h1", b"a"), ("h1", b"b"), ("empty", b""), ("nullv", None), ("bin", b"\x00\xff")]
    rep = produce(ctx, t, [(b"k", b"v", hs, ctx.t0), (b"k2", b"v2", None, ctx.t0 + 1)], {"acks": "all"})
    got = read_all(ctx, t, [0], 2)
    ctx.check(got and got[0].get("headers") == headers_norm(hs), f"headers: {got and got[0].get('headers')}")
    return {"delivery": rep, "records": got}


def null_key_value(ctx):
    """Null keys, null values (tombstones) and empty keys/values are kept distinct on a round trip."""
    a = admin(ctx)
    t = ctx.topic("nulls")
    create(ctx, a, [t])
    recs = [(None, b"v", None, ctx.t0), (b"k", None, None, ctx.t0 + 1), (b"", b"", None, ctx.t0 + 2),
            (None, None, None, ctx.t0 + 3)]
    rep = produce(ctx, t, recs, {"acks": "all"})
    got = read_all(ctx, t, [0], 4)
    ctx.check([(g.get("key"), g.get("value")) for g in got] == [(None, "v"), ("k", None), ("", ""), (None, None)],
              f"null/empty: {[(g.get('key'), g.get('value')) for g in got]}")
    return {"delivery": rep, "records": got}


def message_size(ctx):
    """A 1,000,000-byte value (under the default max.message.bytes 1048588) is accepted and read
    back; a 1,100,000-byte one is refused by the broker with MESSAGE_TOO_LARGE (client limits raised)."""
    a = admin(ctx)
    t = ctx.topic("size")
    create(ctx, a, [t])
    extra = {"acks": "all", "message.max.bytes": CLIENT_MAX_REQUEST, "compression.type": "none",
             "message.timeout.ms": 20000}
    near = produce(ctx, t, [(b"near", b"n" * NEAR_LIMIT_VALUE, None, ctx.t0)], extra)
    over = produce(ctx, t, [(b"over", b"o" * OVER_LIMIT_VALUE, None, ctx.t0)], extra)
    ctx.check(near == [[0, 0, "NONE"]], f"near-limit delivery {near}")
    ctx.check(over and over[0][2] == "MSG_SIZE_TOO_LARGE", f"over-limit delivery {over}")
    got = read_all(ctx, t, [0], 1, extra={"fetch.max.bytes": 4 * 1024 * 1024})
    return {"near": near, "over": over, "read": got}


def list_offsets(ctx):
    """ListOffsets: earliest, latest, max timestamp, and by timestamp (before, between, exact and
    after the records) through both offsets_for_times and AdminClient.list_offsets."""
    a = admin(ctx)
    t = ctx.topic("listoff")
    create(ctx, a, [t])
    produce(ctx, t, [(b"k", f"v{i}".encode(), None, ctx.t0 + 1000 * (i + 1)) for i in range(3)], {"acks": "all"})
    probes = {"before": ctx.t0, "exact-2nd": ctx.t0 + 2000, "between": ctx.t0 + 2500, "after": ctx.t0 + 9000}
    c = Consumer({**base(ctx), "group.id": "compat-unused", "enable.auto.commit": False})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=T)
        oft = {}
        for name, ts in probes.items():
            r = c.offsets_for_times([TopicPartition(t, 0, ts)], timeout=T)[0]
            oft[name] = [r.offset, ename(r.error)]
    finally:
        c.close()
    specs = {"earliest": OffsetSpec.earliest(), "latest": OffsetSpec.latest(),
             "max_timestamp": OffsetSpec.max_timestamp()}
    specs.update({f"ts-{n}": OffsetSpec.for_timestamp(ts) for n, ts in probes.items()})
    adm = {}
    for name, spec in specs.items():
        tp = TopicPartition(t, 0)
        try:
            r = a.list_offsets({tp: spec}, request_timeout=T)[tp].result(timeout=T)
            ts = r.timestamp
            adm[name] = [r.offset, ctx.rel_ts(ts) if ts is not None and ts >= 0 else ts]
        except Exception as e:  # noqa: BLE001
            adm[name] = ename(e)
    ctx.check([lo, hi] == [0, 3], f"watermarks {lo} {hi}")
    ctx.check(oft["between"][0] == 2, f"offsets_for_times between -> {oft['between']}")
    return {"watermarks": [lo, hi], "offsets_for_times": oft, "list_offsets": adm}


def admin_topics(ctx):
    """CreateTopics (with a config, duplicate -> TOPIC_ALREADY_EXISTS, validate_only, bad partition
    count), CreatePartitions, DeleteTopics (and of an unknown topic), and the topic's absence after."""
    a = admin(ctx)
    t = ctx.topic("adm")
    obs = {"create": create(ctx, a, [t], 3, {"retention.ms": "123456"})}
    obs["create-dup"] = create(ctx, a, [t], 3)
    fs = a.create_topics([NewTopic(ctx.topic("adm-validate"), 2, 1)], validate_only=True, request_timeout=T)
    obs["validate-only"] = {k: _res(f) for k, f in fs.items()}
    fs = a.create_topics([NewTopic(ctx.topic("adm-zero"), 0, 1)], request_timeout=T)
    obs["zero-partitions"] = {k: _res(f) for k, f in fs.items()}
    fs = a.create_topics([NewTopic(ctx.topic("adm-rf3"), 1, 3)], request_timeout=T)
    obs["replication-factor-3"] = {k: _res(f) for k, f in fs.items()}
    md = a.list_topics(timeout=T)
    obs["validate-only-exists"] = ctx.topic("adm-validate") in md.topics
    obs["partitions"] = len(md.topics[t].partitions) if t in md.topics else None
    fs = a.create_partitions([NewPartitions(t, 5)], request_timeout=T)
    obs["create-partitions-5"] = {k: _res(f) for k, f in fs.items()}
    fs = a.create_partitions([NewPartitions(t, 2)], request_timeout=T)
    obs["create-partitions-shrink"] = {k: _res(f) for k, f in fs.items()}
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        md = a.list_topics(topic=t, timeout=T)
        if len(md.topics[t].partitions) == 5:
            break
        time.sleep(0.1)
    obs["partitions-after"] = len(md.topics[t].partitions)
    fs = a.delete_topics([t], operation_timeout=T, request_timeout=T)
    obs["delete"] = {k: _res(f) for k, f in fs.items()}
    fs = a.delete_topics([ctx.topic("never-created")], operation_timeout=T, request_timeout=T)
    obs["delete-unknown"] = {k: _res(f) for k, f in fs.items()}
    deadline = time.monotonic() + T
    gone = False
    while time.monotonic() < deadline and not gone:
        gone = t not in a.list_topics(timeout=T).topics
        time.sleep(0.1)
    obs["gone-after-delete"] = gone
    ctx.check(obs["create"][t] == "NONE" and obs["create-dup"][t] == "TOPIC_ALREADY_EXISTS", "create/dup")
    ctx.check(gone, "topic still listed after delete")
    return {k: ({ctx.topic("X") if kk.startswith(ctx.topic("")) else kk: vv for kk, vv in v.items()}
                if isinstance(v, dict) else v) for k, v in obs.items()}


def _res(f):
    try:
        f.result(timeout=T)
        return "NONE"
    except Exception as e:  # noqa: BLE001
        return ename(e)


def describe_configs(ctx):
    """DescribeConfigs of a topic created with two overrides: every reported key with its value,
    default flag and read-only flag (keys one broker lacks are flagged, only common keys compared);
    IncrementalAlterConfigs (SET, DELETE) then DescribeConfigs shows the new values; AlterConfigs
    with an unknown key is refused; CreateTopics with cleanup.policy=compact."""
    a = admin(ctx)
    t = ctx.topic("cfg")
    created = create(ctx, a, [t], 1, {"max.message.bytes": "500000", "retention.ms": "86400000"})
    compact = create(ctx, a, [ctx.topic("cfg-compact")], 1, {"cleanup.policy": "compact"})

    def describe():
        r = ConfigResource(ConfigResource.Type.TOPIC, t)
        entries = a.describe_configs([r], request_timeout=T)[r].result(timeout=T)
        return {k: {"value": e.value, "default": e.is_default, "read_only": e.is_read_only,
                    "sensitive": e.is_sensitive} for k, e in sorted(entries.items())}

    before = describe()
    r = ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", None, incremental_operation=AlterConfigOpType.DELETE)])
    alter = _res(a.incremental_alter_configs([r], request_timeout=T)[r])
    after = describe()
    bad = ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[
        ConfigEntry("no.such.config", "1", incremental_operation=AlterConfigOpType.SET)])
    alter_bad = _res(a.incremental_alter_configs([bad], request_timeout=T)[bad])
    ctx.check(before.get("max.message.bytes", {}).get("value") == "500000", "max.message.bytes override")
    ctx.check(after.get("retention.ms", {}).get("value") == "3600000", "incremental alter")
    return {"create": list(created.values()), "create-compact": list(compact.values()),
            "configs": before, "alter": alter,
            "after": {k: after.get(k) for k in ("retention.ms", "max.message.bytes")},
            "alter-unknown-key": alter_bad}


def invalid_topic_names(ctx):
    """CreateTopics with invalid names (empty, '.', '..', 250 chars, '/', space, '*') is refused
    with the same error per name; a valid name with '.', '-', '_' is accepted."""
    a = admin(ctx)
    out = {}
    for n in INVALID_TOPIC_NAMES:
        try:
            fs = a.create_topics([NewTopic(n, 1, 1)], request_timeout=T)
            out[n if len(n) < 20 else f"<{len(n)} chars>"] = _res(fs[n])
        except Exception as e:  # noqa: BLE001 - client-side refusal
            out[n if len(n) < 20 else f"<{len(n)} chars>"] = "client:" + type(e).__name__
    return out


def unknown_topic_autocreate(ctx):
    """With auto-create on: Metadata for an unknown topic from the admin client does not create it;
    a producer's Metadata does, with 1 partition, and the first record lands at offset 0."""
    a = admin(ctx)
    t = ctx.topic("auto")
    md = a.list_topics(topic=t, timeout=T)
    # librdkafka's admin handle sends Metadata with allow_auto_topic_creation=true
    before = ([ename(md.topics[t].error), len(md.topics[t].partitions)] if t in md.topics else "absent")
    rep = produce(ctx, t, [(b"k", b"v", None, ctx.t0)], {"acks": "all", "message.timeout.ms": 20000})
    md = a.list_topics(topic=t, timeout=T)
    got = read_all(ctx, t, [0], 1)
    return {"admin-metadata-before": before, "delivery": rep,
            "partitions": len(md.topics[t].partitions), "error": ename(md.topics[t].error), "read": got}


@needs_no_autocreate
def unknown_topic_no_autocreate(ctx):
    """With auto-create off: producing to an unknown topic fails (no delivery) and the topic is
    still unknown afterwards."""
    a = admin(ctx, ctx.no_autocreate_bootstrap)
    t = ctx.topic("noauto")
    conf = {"bootstrap.servers": ctx.no_autocreate_bootstrap, "broker.address.family": "v4",
            "message.timeout.ms": 4000, "acks": "all"}
    p = Producer(conf)
    reports = []
    p.produce(t, b"v", on_delivery=lambda e, m: reports.append(ename(e)))
    p.flush(T)
    md = a.list_topics(topic=t, timeout=T)
    after = ename(md.topics[t].error) if t in md.topics else "absent"
    ctx.check(reports and reports[0] != "NONE", f"produce to unknown topic was delivered: {reports}")
    return {"delivery": reports, "metadata-after": after}


def metadata_shape(ctx):
    """Metadata: one broker at the bootstrap address, a controller, a cluster id; a 3-partition
    topic whose every partition is led by that broker with replicas = isr = [broker]."""
    a = admin(ctx)
    t = ctx.topic("md")
    create(ctx, a, [t], 3)
    md = a.list_topics(timeout=T)
    brokers = list(md.brokers.values())
    bid = brokers[0].id if brokers else None
    host, port = ctx.bootstrap.rsplit(":", 1)
    parts = md.topics[t].partitions
    return {"brokers": len(brokers),
            "broker-address-is-bootstrap": bool(brokers) and (brokers[0].host, brokers[0].port) == (host, int(port)),
            "controller-is-broker": md.controller_id == bid, "has-cluster-id": bool(md.cluster_id),
            "topic-error": ename(md.topics[t].error),
            "partitions": {p: {"leader-is-broker": pm.leader == bid, "replicas": [r == bid for r in pm.replicas],
                               "isr": [r == bid for r in pm.isrs], "error": ename(pm.error)}
                           for p, pm in sorted(parts.items())}}


def _group_consumer(ctx, group, extra=None):
    conf = base(ctx)
    conf.update({"group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                 "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
                 "partition.assignment.strategy": "range"})
    conf.update(extra or {})
    return Consumer(conf)


def consumer_group(ctx):
    """A subscribed consumer group reads everything, commits synchronously, committed() returns the
    commit; a new member of the group resumes from the committed offsets (sees only newer records)."""
    a = admin(ctx)
    t = ctx.topic("grp")
    g = ctx.group("grp")
    create(ctx, a, [t], 4)
    for p in range(4):
        produce(ctx, t, [(f"k{p}-{i}".encode(), f"v{p}-{i}".encode(), None, ctx.t0 + i) for i in range(5)],
                {"acks": "all"}, partition=p)
    c = _group_consumer(ctx, g)
    first = []
    try:
        c.subscribe([t])
        deadline = time.monotonic() + 45
        while len(first) < 20 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                first.append((m.partition(), m.offset(), b2s(m.value())))
        commit = c.commit(asynchronous=False)
        commit = sorted([tp.partition, tp.offset, ename(tp.error)] for tp in commit)
        committed = sorted([tp.partition, tp.offset] for tp in
                           c.committed([TopicPartition(t, p) for p in range(4)], timeout=T))
    finally:
        c.close()
    for p in range(4):
        produce(ctx, t, [(b"new", f"new-{p}".encode(), None, ctx.t0 + 100)], {"acks": "all"}, partition=p)
    c2 = _group_consumer(ctx, g)
    second = []
    try:
        c2.subscribe([t])
        deadline = time.monotonic() + 45
        while len(second) < 4 and time.monotonic() < deadline:
            m = c2.poll(0.5)
            if m is not None and not m.error():
                second.append((m.partition(), m.offset(), b2s(m.value())))
        extra_deadline = time.monotonic() + 1.0
        while time.monotonic() < extra_deadline:
            m = c2.poll(0.2)
            if m is not None and not m.error():
                second.append((m.partition(), m.offset(), b2s(m.value())))
    finally:
        c2.close()
    ctx.check(len(first) == 20, f"first member read {len(first)} of 20")
    ctx.check(committed == [[p, 5] for p in range(4)], f"committed {committed}")
    ctx.check(sorted(second) == [(p, 5, f"new-{p}") for p in range(4)], f"resumed read {second}")
    return {"first": sorted(first), "commit": commit, "committed": committed, "second": sorted(second)}


def group_rebalance(ctx):
    """Two members subscribe to a 6-partition topic (range assignor): after the rebalance each gets
    3 partitions, disjoint and together complete; when one leaves, the other gets all 6."""
    a = admin(ctx)
    t = ctx.topic("rebal")
    g = ctx.group("rebal")
    create(ctx, a, [t], 6)
    c1, c2 = _group_consumer(ctx, g), _group_consumer(ctx, g)
    try:
        c1.subscribe([t])
        c2.subscribe([t])
        deadline = time.monotonic() + 60
        stable_since = None
        assigns = ([], [])
        while time.monotonic() < deadline:
            c1.poll(0.1)
            c2.poll(0.1)
            assigns = (sorted(tp.partition for tp in c1.assignment()),
                       sorted(tp.partition for tp in c2.assignment()))
            if assigns[0] and assigns[1] and sorted(assigns[0] + assigns[1]) == list(range(6)):
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since > 1.0:
                    break
            else:
                stable_since = None
        two = {"counts": sorted([len(assigns[0]), len(assigns[1])]),
               "disjoint": not set(assigns[0]) & set(assigns[1]),
               "complete": sorted(assigns[0] + assigns[1]) == list(range(6))}
        c2.close()
        c2 = None
        deadline = time.monotonic() + 60
        alone = []
        while time.monotonic() < deadline:
            c1.poll(0.2)
            alone = sorted(tp.partition for tp in c1.assignment())
            if alone == list(range(6)):
                break
    finally:
        c1.close()
        if c2 is not None:
            c2.close()
    ctx.check(two == {"counts": [3, 3], "disjoint": True, "complete": True}, f"two members: {two}")
    ctx.check(alone == list(range(6)), f"after leave: {alone}")
    return {"two-members": two, "after-leave": alone}


def idempotent_producer(ctx):
    """enable.idempotence=true (InitProducerId, sequence numbers): 10 records are acknowledged at
    offsets 0..9 and read back once each, in order."""
    a = admin(ctx)
    t = ctx.topic("idem")
    create(ctx, a, [t])
    rep = produce(ctx, t, [(f"k{i}".encode(), f"v{i}".encode(), None, ctx.t0 + i) for i in range(10)],
                  {"enable.idempotence": True, "acks": "all"})
    got = read_all(ctx, t, [0], 10)
    ctx.check([r[1] for r in rep] == list(range(10)), f"idempotent offsets {rep}")
    return {"delivery": rep, "records": got}


def timestamps(ctx):
    """CreateTime timestamps: 3 days in the past is accepted; 2 hours in the future is checked
    against message.timestamp.after.max.ms (Kafka 4.x default 3600000 -> INVALID_TIMESTAMP); a topic
    with message.timestamp.type=LogAppendTime returns records stamped by the broker (compared: the
    timestamp type only, the time is normalised away)."""
    a = admin(ctx)
    t, tl = ctx.topic("ts"), ctx.topic("ts-logappend")
    create(ctx, a, [t])
    create(ctx, a, [tl], 1, {"message.timestamp.type": "LogAppendTime"})
    now = int(time.time() * 1000)
    past = produce(ctx, t, [(b"past", b"v", None, now - 3 * 86400 * 1000)], {"acks": "all"})
    future = produce(ctx, t, [(b"future", b"v", None, now + 2 * 3600 * 1000)],
                     {"acks": "all", "message.timeout.ms": 10000, "retries": 0})
    la = produce(ctx, tl, [(b"k", b"v", None, ctx.t0)], {"acks": "all"})
    got = read_all(ctx, tl, [0], 1)
    ctx.check(past == [[0, 0, "NONE"]], f"past timestamp {past}")
    return {"past": past, "future": future, "log-append-delivery": la, "log-append-read": got}


SCENARIOS = {f.__name__: f for f in [
    produce_fetch, headers, null_key_value, message_size, list_offsets, admin_topics, describe_configs,
    invalid_topic_names, unknown_topic_autocreate, unknown_topic_no_autocreate, metadata_shape,
    timestamps, consumer_group, group_rebalance, idempotent_producer]}

if __name__ == "__main__":
    main_guard(CLIENT, SCENARIOS)
