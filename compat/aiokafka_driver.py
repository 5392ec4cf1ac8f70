#!/usr/bin/env python3
"""Compatibility scenarios with aiokafka (asyncio). See compat/README.md.

Same scenarios as compat/confluent_driver.py, written with aiokafka's API. Every await is bounded
by asyncio.wait_for. Errors are aiokafka exception class names or Kafka error names (admin codes).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic  # noqa: E402
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType  # noqa: E402

from common import (CLIENT_MAX_REQUEST, COMPRESSIONS, INVALID_TOPIC_NAMES,  # noqa: E402
                    NEAR_LIMIT_VALUE, OVER_LIMIT_VALUE, b2s, err_name, headers_norm, main_guard,
                    needs_no_autocreate)

CLIENT = "aiokafka"
T = 15.0
TMS = int(T * 1000)


def ename(e):
    return "NONE" if e is None else type(e).__name__


def w(coro, timeout=T):
    return asyncio.wait_for(coro, timeout)


def sync(fn):
    """Run an async scenario in a fresh event loop; keep the docstring and flags."""
    def run(ctx):
        return asyncio.run(fn(ctx))
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    run.__dict__.update(fn.__dict__)
    return run


async def admin(ctx, bootstrap=None):
    a = AIOKafkaAdminClient(bootstrap_servers=bootstrap or ctx.bootstrap, request_timeout_ms=TMS)
    await w(a.start())
    return a


async def create(ctx, a, names, partitions=1, configs=None, rf=1, validate_only=False):
    r = await w(a.create_topics([NewTopic(n, partitions, rf, topic_configs=configs or {}) for n in names],
                                timeout_ms=TMS, validate_only=validate_only))
    out = {t["topic"]: err_name(t["error_code"]) for t in r.to_object()["topic_errors"]}
    ok = [n for n, e in out.items() if e == "NONE"]
    if ok and not validate_only:
        await wait_topics(a, ok, partitions)
    return out


async def wait_topics(a, names, partitions):
    deadline = time.monotonic() + T
    while time.monotonic() < deadline:
        try:
            d = {t["topic"]: t for t in await w(a.describe_topics(names))}
            if all(n in d and d[n]["error_code"] == 0 and len(d[n]["partitions"]) == partitions
                   and all(p["leader"] >= 0 for p in d[n]["partitions"]) for n in names):
                return
        except Exception:  # noqa: BLE001
            pass
        await asyncio.sleep(0.1)


async def produce(ctx, topic, records, partition=None, bootstrap=None, **kw):
    p = AIOKafkaProducer(bootstrap_servers=bootstrap or ctx.bootstrap, request_timeout_ms=TMS, linger_ms=5, **kw)
    await w(p.start())
    try:
        futs = [await w(p.send(topic, key=k, value=v, headers=h, timestamp_ms=ts, partition=partition))
                for k, v, h, ts in records]
        out = []
        for f in futs:
            try:
                md = await w(f, T * 2)
                # acks=0: aiokafka resolves the future with None (no broker answer)
                out.append([None, None, "NONE"] if md is None else [md.partition, md.offset, "NONE"])
            except Exception as e:  # noqa: BLE001
                out.append([None, None, ename(e)])
        return out
    finally:
        await w(p.stop())


def rec_dict(ctx, m):
    return {"p": m.partition, "offset": m.offset, "key": b2s(m.key), "value": b2s(m.value),
            "headers": headers_norm(m.headers), "ts_type": m.timestamp_type,
            "ts": ctx.rel_ts(m.timestamp) if m.timestamp_type == 0 else "log-append"}


def consumer(ctx, **kw):
    conf = dict(bootstrap_servers=ctx.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                request_timeout_ms=TMS + 5000)
    conf.update(kw)
    return AIOKafkaConsumer(**conf)


async def read_all(ctx, topic, partitions, expect, timeout=T, **kw):
    c = consumer(ctx, **kw)
    await w(c.start())
    try:
        c.assign([TopicPartition(topic, p) for p in partitions])
        await w(c.seek_to_beginning())
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            for recs in (await w(c.getmany(timeout_ms=500))).values():
                out.extend(rec_dict(ctx, m) for m in recs)
        ctx.check(len(out) == expect, f"read {len(out)} of {expect} records from {topic}")
        return sorted(out, key=lambda d: (d["p"], d["offset"]))
    finally:
        await w(c.stop())


async def wait_writable(ctx, topic):
    c = consumer(ctx)
    await w(c.start())
    try:
        deadline = time.monotonic() + T
        while time.monotonic() < deadline:
            try:
                await w(c.end_offsets([TopicPartition(topic, 0)]), 3)
                return
            except Exception:  # noqa: BLE001
                await asyncio.sleep(0.1)
    finally:
        await w(c.stop())


# --------------------------------------------------------------------------------------------
@sync
async def produce_fetch(ctx):
    """Produce 5 keyed records with CreateTime timestamps for every acks (0, 1, all) x compression
    (none, gzip, snappy, lz4, zstd) and read them back: same offsets, keys, values, timestamps,
    and the same produce results (offsets for acks 1/all)."""
    a = await admin(ctx)
    try:
        obs = {}
        names = {(acks, comp): ctx.topic(f"pf-{acks}-{comp}") for acks in ["1", "all", "0"] for comp in COMPRESSIONS}
        await create(ctx, a, list(names.values()))
        for (acks, comp), t in names.items():
            if acks == "0":
                await wait_writable(ctx, t)
            recs = [(f"k{i}".encode(), (f"value-{i}-{comp}-" * 20).encode(), None, ctx.t0 + 10 * i) for i in range(5)]
            rep = await produce(ctx, t, recs, acks=int(acks) if acks != "all" else "all",
                                compression_type=None if comp == "none" else comp)
            if acks == "0":
                ctx.check(all(r[2] == "NONE" for r in rep), f"acks=0 {comp}: errors {rep}")
                rep = "acks=0"
            else:
                ctx.check([r[1] for r in rep] == list(range(5)), f"acks={acks} {comp}: offsets {rep}")
            got = await read_all(ctx, t, [0], 5)
            ctx.check([g["value"] for g in got] == [b2s(r[1]) for r in recs], f"acks={acks} {comp}: values")
            obs[f"acks={acks} {comp}"] = {"delivery": rep, "records": got}
        return obs
    finally:
        await w(a.close())


@sync
async def headers(ctx):
    """Record headers survive a round trip: order, duplicate keys, empty and binary values, and a
    record without headers."""
    a = await admin(ctx)
    try:
        t = ctx.topic("headers")
        await create(ctx, a, [t])
        hs = [("h1", b"a"), ("h1", b"b"), ("empty", b""), ("bin", b"\x00\xff")]
        rep = await produce(ctx, t, [(b"k", b"v", hs, ctx.t0), (b"k2", b"v2", None, ctx.t0 + 1)], acks="all")
        got = await read_all(ctx, t, [0], 2)
        ctx.check(got and got[0]["headers"] == headers_norm(hs), "headers round trip")
        return {"delivery": rep, "records": got}
    finally:
        await w(a.close())


@sync
async def null_key_value(ctx):
    """Null keys, null values (tombstones) and empty keys/values are kept distinct on a round trip."""
    a = await admin(ctx)
    try:
        t = ctx.topic("nulls")
        await create(ctx, a, [t])
        # (aiokafka refuses a record whose key and value are both None, so that one is not sent)
        recs = [(None, b"v", None, ctx.t0), (b"k", None, None, ctx.t0 + 1), (b"", b"", None, ctx.t0 + 2)]
        rep = await produce(ctx, t, recs, acks="all")
        got = await read_all(ctx, t, [0], 3)
        ctx.check([(g["key"], g["value"]) for g in got] == [(None, "v"), ("k", None), ("", "")],
                  "null/empty round trip")
        return {"delivery": rep, "records": got}
    finally:
        await w(a.close())


@sync
async def message_size(ctx):
    """A 1,000,000-byte value (under the default max.message.bytes 1048588) is accepted and read
    back; a 1,100,000-byte one is refused by the broker with MESSAGE_TOO_LARGE (client limit raised)."""
    a = await admin(ctx)
    try:
        t = ctx.topic("size")
        await create(ctx, a, [t])
        kw = dict(acks="all", max_request_size=CLIENT_MAX_REQUEST)
        near = await produce(ctx, t, [(b"near", b"n" * NEAR_LIMIT_VALUE, None, ctx.t0)], **kw)
        over = await produce(ctx, t, [(b"over", b"o" * OVER_LIMIT_VALUE, None, ctx.t0)], **kw)
        ctx.check(near == [[0, 0, "NONE"]], f"near-limit {near}")
        ctx.check(over[0][2] == "MessageSizeTooLargeError", f"over-limit {over}")
        got = await read_all(ctx, t, [0], 1, fetch_max_bytes=4 * 1024 * 1024,
                             max_partition_fetch_bytes=4 * 1024 * 1024)
        return {"near": near, "over": over, "read": got}
    finally:
        await w(a.close())


@sync
async def list_offsets(ctx):
    """ListOffsets: beginning/end offsets and offsets_for_times before, at, between and after the
    records' CreateTime timestamps."""
    a = await admin(ctx)
    try:
        t = ctx.topic("listoff")
        await create(ctx, a, [t])
        await produce(ctx, t, [(b"k", f"v{i}".encode(), None, ctx.t0 + 1000 * (i + 1)) for i in range(3)], acks="all")
    finally:
        await w(a.close())
    tp = TopicPartition(t, 0)
    c = consumer(ctx)
    await w(c.start())
    try:
        lo, hi = (await w(c.beginning_offsets([tp])))[tp], (await w(c.end_offsets([tp])))[tp]
        oft = {}
        for name, ts in {"before": ctx.t0, "exact-2nd": ctx.t0 + 2000, "between": ctx.t0 + 2500,
                         "after": ctx.t0 + 9000}.items():
            r = (await w(c.offsets_for_times({tp: ts})))[tp]
            oft[name] = None if r is None else [r.offset, ctx.rel_ts(r.timestamp)]
    finally:
        await w(c.stop())
    ctx.check([lo, hi] == [0, 3], f"watermarks {lo} {hi}")
    ctx.check(oft["between"] and oft["between"][0] == 2, f"between {oft['between']}")
    return {"watermarks": [lo, hi], "offsets_for_times": oft}


@sync
async def admin_topics(ctx):
    """CreateTopics (with a config, duplicate -> TOPIC_ALREADY_EXISTS, validate_only, 0 partitions,
    replication factor 3), describe_topics shape, CreatePartitions (grow, shrink), DeleteTopics (and
    of an unknown topic), and the topic's absence after."""
    a = await admin(ctx)
    try:
        t = ctx.topic("adm")
        x = lambda d: {("X" if k == t else k.replace(ctx.topic(""), "")): v for k, v in d.items()}  # noqa: E731
        obs = {"create": x(await create(ctx, a, [t], 3, {"retention.ms": "123456"}))}
        obs["create-dup"] = x(await create(ctx, a, [t], 3))
        obs["validate-only"] = x(await create(ctx, a, [ctx.topic("adm-validate")], 2, validate_only=True))
        obs["zero-partitions"] = x(await create(ctx, a, [ctx.topic("adm-zero")], 0))
        obs["replication-factor-3"] = x(await create(ctx, a, [ctx.topic("adm-rf3")], 1, rf=3))
        obs["validate-only-exists"] = ctx.topic("adm-validate") in await w(a.list_topics())
        d = (await w(a.describe_topics([t])))[0]
        obs["describe"] = {"error": err_name(d["error_code"]), "internal": d["is_internal"],
                           "partitions": [[p["partition"], err_name(p["error_code"]), len(p["replicas"]),
                                           len(p["isr"]), p["leader"] in p["replicas"]]
                                          for p in sorted(d["partitions"], key=lambda p: p["partition"])]}
        for name, n in (("create-partitions-5", 5), ("create-partitions-shrink", 2)):
            try:
                r = await w(a.create_partitions({t: NewPartitions(n)}, timeout_ms=TMS))
                obs[name] = [err_name(e["error_code"]) for e in r.to_object()["topic_errors"]]
            except Exception as e:  # noqa: BLE001
                obs[name] = ename(e)
        await wait_topics(a, [t], 5)
        obs["partitions-after"] = len((await w(a.describe_topics([t])))[0]["partitions"])
        r = await w(a.delete_topics([t], timeout_ms=TMS))
        obs["delete"] = [err_name(e["error_code"]) for e in r.to_object()["topic_error_codes"]]
        r = await w(a.delete_topics([ctx.topic("never-created")], timeout_ms=TMS))
        obs["delete-unknown"] = [err_name(e["error_code"]) for e in r.to_object()["topic_error_codes"]]
        deadline = time.monotonic() + T
        gone = False
        while time.monotonic() < deadline and not gone:
            gone = t not in await w(a.list_topics())
            await asyncio.sleep(0.1)
        obs["gone-after-delete"] = gone
        ctx.check(obs["create"]["X"] == "NONE" and obs["create-dup"]["X"] == "TOPIC_ALREADY_EXISTS", "create/dup")
        ctx.check(gone, "topic still listed after delete")
        return obs
    finally:
        await w(a.close())


@sync
async def describe_configs(ctx):
    """DescribeConfigs reports every topic config with value, source, read-only (only keys both
    report are compared, the rest flagged); AlterConfigs then DescribeConfigs shows the new value;
    CreateTopics with cleanup.policy=compact."""
    a = await admin(ctx)
    try:
        t = ctx.topic("cfg")
        created = await create(ctx, a, [t], 1, {"max.message.bytes": "500000", "retention.ms": "86400000"})
        compact = await create(ctx, a, [ctx.topic("cfg-compact")], 1, {"cleanup.policy": "compact"})

        async def describe():
            r = (await w(a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)])))[0].to_object()
            res = r["resources"][0]
            return err_name(res["error_code"]), {
                e["config_names"]: {"value": e["config_value"], "source": e.get("config_source"),
                                    "read_only": e["read_only"], "sensitive": e["is_sensitive"]}
                for e in sorted(res["config_entries"], key=lambda e: e["config_names"])}

        err, before = await describe()
        # AlterConfigs (not incremental) replaces the topic's whole set of overrides.
        r = await w(a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, {"retention.ms": "3600000"})]))
        alter = [err_name(x["error_code"]) for resp in r for x in resp.to_object()["resources"]]
        _, after = await describe()
        ctx.check(before.get("max.message.bytes", {}).get("value") == "500000", "max.message.bytes override")
        ctx.check(after.get("retention.ms", {}).get("value") == "3600000", "alter")
        return {"create": list(created.values()), "create-compact": list(compact.values()), "error": err,
                "configs": before, "alter": alter,
                "after": {k: after.get(k) for k in ("retention.ms", "max.message.bytes")}}
    finally:
        await w(a.close())


@sync
async def invalid_topic_names(ctx):
    """CreateTopics with invalid names (empty, '.', '..', 250 chars, '/', space, '*') is refused
    with the same error per name; a valid name with '.', '-', '_' is accepted."""
    a = await admin(ctx)
    try:
        out = {}
        for n in INVALID_TOPIC_NAMES:
            key = n if len(n) < 20 else f"<{len(n)} chars>"
            try:
                out[key] = (await create(ctx, a, [n]))[n]
            except Exception as e:  # noqa: BLE001
                out[key] = "client:" + ename(e)
        return out
    finally:
        await w(a.close())


@sync
async def unknown_topic_autocreate(ctx):
    """With auto-create on: a producer's Metadata for an unknown topic creates it with 1 partition
    and the first record lands at offset 0."""
    a = await admin(ctx)
    try:
        t = ctx.topic("auto")
        before = t in await w(a.list_topics())
        rep = await produce(ctx, t, [(b"k", b"v", None, ctx.t0)], acks="all")
        await wait_topics(a, [t], 1)
        d = (await w(a.describe_topics([t])))[0]
        got = await read_all(ctx, t, [0], 1)
        raw = await raw_metadata_autocreate(ctx, ctx.topic("auto-raw"))
        return {"listed-before": before, "delivery": rep, "partitions": len(d["partitions"]),
                "error": err_name(d["error_code"]), "read": got, "raw-metadata-allow-auto-create": raw}
    finally:
        await w(a.close())


async def raw_metadata_autocreate(ctx, topic):
    """Two Metadata requests (v5, allow_auto_topic_creation=true) for an unknown topic, 0.5 s apart:
    [error name, partition count] of the topic in each response."""
    from aiokafka.client import AIOKafkaClient
    from aiokafka.protocol.metadata import MetadataRequest
    c = AIOKafkaClient(bootstrap_servers=ctx.bootstrap, request_timeout_ms=TMS)
    await w(c.bootstrap())
    try:
        node = next(iter(c.cluster.brokers())).nodeId
        out = []
        for _ in range(2):
            r = (await w(c.send(node, MetadataRequest([topic], True)))).to_object()
            tt = [x for x in r["topics"] if x["topic"] == topic]
            out.append([err_name(tt[0]["error_code"]), len(tt[0]["partitions"])] if tt else "absent")
            await asyncio.sleep(0.5)
        return out
    finally:
        await w(c.close())


@needs_no_autocreate
@sync
async def unknown_topic_no_autocreate(ctx):
    """With auto-create off: producing to an unknown topic fails (metadata never has it) and the
    topic is still unknown afterwards."""
    p = AIOKafkaProducer(bootstrap_servers=ctx.no_autocreate_bootstrap, request_timeout_ms=4000)
    await w(p.start())
    try:
        try:
            await w(p.send_and_wait(ctx.topic("noauto"), b"v"), 10)
            res = "NONE"
        except Exception as e:  # noqa: BLE001
            res = ename(e)
    finally:
        await w(p.stop())
    a = await admin(ctx, ctx.no_autocreate_bootstrap)
    try:
        listed = ctx.topic("noauto") in await w(a.list_topics())
    finally:
        await w(a.close())
    ctx.check(res != "NONE", "produce to an unknown topic succeeded")
    return {"produce": res, "listed-after": listed}


@sync
async def metadata_shape(ctx):
    """Metadata (describe_cluster, describe_topics): one broker at the bootstrap address that is the
    controller, a cluster id; a 3-partition topic whose every partition is led by that broker with
    replicas = isr = [broker]."""
    a = await admin(ctx)
    try:
        t = ctx.topic("md")
        await create(ctx, a, [t], 3)
        cl = await w(a.describe_cluster())
        brokers = cl["brokers"]
        bid = brokers[0]["node_id"] if brokers else None
        host, port = ctx.bootstrap.rsplit(":", 1)
        d = (await w(a.describe_topics([t])))[0]
        return {"brokers": len(brokers),
                "broker-address-is-bootstrap": bool(brokers) and (brokers[0]["host"], brokers[0]["port"]) == (host, int(port)),
                "controller-is-broker": cl["controller_id"] == bid, "has-cluster-id": bool(cl["cluster_id"]),
                "topic-error": err_name(d["error_code"]),
                "partitions": {p["partition"]: {"leader-is-broker": p["leader"] == bid,
                                                "replicas": [r == bid for r in p["replicas"]],
                                                "isr": [r == bid for r in p["isr"]], "error": err_name(p["error_code"])}
                               for p in sorted(d["partitions"], key=lambda p: p["partition"])}}
    finally:
        await w(a.close())


def group_consumer(ctx, group):
    from aiokafka.coordinator.assignors.range import RangePartitionAssignor
    return consumer(ctx, group_id=group, session_timeout_ms=10000, heartbeat_interval_ms=500,
                    partition_assignment_strategy=(RangePartitionAssignor,))


@sync
async def consumer_group(ctx):
    """A subscribed consumer group reads everything, commits, committed() returns the commit; a new
    member of the group resumes from the committed offsets (sees only newer records)."""
    a = await admin(ctx)
    try:
        t = ctx.topic("grp")
        g = ctx.group("grp")
        await create(ctx, a, [t], 4)
        for p in range(4):
            await produce(ctx, t, [(f"k{p}-{i}".encode(), f"v{p}-{i}".encode(), None, ctx.t0 + i) for i in range(5)],
                          partition=p, acks="all")
        c = group_consumer(ctx, g)
        await w(c.start())
        first = []
        try:
            c.subscribe([t])
            deadline = time.monotonic() + 45
            while len(first) < 20 and time.monotonic() < deadline:
                for recs in (await w(c.getmany(timeout_ms=500))).values():
                    first.extend((m.partition, m.offset, b2s(m.value)) for m in recs)
            await w(c.commit())
            committed = []
            for p in range(4):
                committed.append([p, await w(c.committed(TopicPartition(t, p)))])
        finally:
            await w(c.stop())
        for p in range(4):
            await produce(ctx, t, [(b"new", f"new-{p}".encode(), None, ctx.t0 + 100)], partition=p, acks="all")
        c2 = group_consumer(ctx, g)
        await w(c2.start())
        second = []
        try:
            c2.subscribe([t])
            deadline = time.monotonic() + 45
            while len(second) < 4 and time.monotonic() < deadline:
                for recs in (await w(c2.getmany(timeout_ms=500))).values():
                    second.extend((m.partition, m.offset, b2s(m.value)) for m in recs)
            for recs in (await w(c2.getmany(timeout_ms=1000))).values():
                second.extend((m.partition, m.offset, b2s(m.value)) for m in recs)
        finally:
            await w(c2.stop())
        offs = await w(a.list_consumer_group_offsets(g))
        admin_offsets = sorted([tp.partition, om.offset] for tp, om in offs.items() if tp.topic == t)
        ctx.check(len(first) == 20, f"first member read {len(first)} of 20")
        ctx.check(committed == [[p, 5] for p in range(4)], f"committed {committed}")
        ctx.check(sorted(second) == [(p, 5, f"new-{p}") for p in range(4)], f"resumed read {second}")
        return {"first": sorted(first), "committed": committed, "second": sorted(second),
                "admin-group-offsets": admin_offsets}
    finally:
        await w(a.close())


@sync
async def group_rebalance(ctx):
    """Two members subscribe to a 6-partition topic (range assignor): after the rebalance each gets
    3 partitions, disjoint and together complete; when one leaves, the other gets all 6."""
    a = await admin(ctx)
    t = ctx.topic("rebal")
    g = ctx.group("rebal")
    try:
        await create(ctx, a, [t], 6)
    finally:
        await w(a.close())
    c1, c2 = group_consumer(ctx, g), group_consumer(ctx, g)
    await w(c1.start())
    await w(c2.start())
    stopped2 = False
    try:
        c1.subscribe([t])
        c2.subscribe([t])
        deadline = time.monotonic() + 60
        stable_since = None
        a0 = a1 = []
        while time.monotonic() < deadline:
            await asyncio.gather(w(c1.getmany(timeout_ms=100)), w(c2.getmany(timeout_ms=100)))
            a0 = sorted(tp.partition for tp in c1.assignment())
            a1 = sorted(tp.partition for tp in c2.assignment())
            if a0 and a1 and sorted(a0 + a1) == list(range(6)):
                stable_since = stable_since or time.monotonic()
                if time.monotonic() - stable_since > 1.0:
                    break
            else:
                stable_since = None
        two = {"counts": sorted([len(a0), len(a1)]), "disjoint": not set(a0) & set(a1),
               "complete": sorted(a0 + a1) == list(range(6))}
        await w(c2.stop())
        stopped2 = True
        deadline = time.monotonic() + 60
        alone = []
        while time.monotonic() < deadline:
            await w(c1.getmany(timeout_ms=200))
            alone = sorted(tp.partition for tp in c1.assignment())
            if alone == list(range(6)):
                break
    finally:
        await w(c1.stop())
        if not stopped2:
            await w(c2.stop())
    ctx.check(two == {"counts": [3, 3], "disjoint": True, "complete": True}, f"two members: {two}")
    ctx.check(alone == list(range(6)), f"after leave: {alone}")
    return {"two-members": two, "after-leave": alone}


@sync
async def idempotent_producer(ctx):
    """enable_idempotence=True (InitProducerId, sequence numbers): 10 records are acknowledged at
    offsets 0..9 and read back once each, in order."""
    a = await admin(ctx)
    try:
        t = ctx.topic("idem")
        await create(ctx, a, [t])
        rep = await produce(ctx, t, [(f"k{i}".encode(), f"v{i}".encode(), None, ctx.t0 + i) for i in range(10)],
                            enable_idempotence=True, acks="all")
        got = await read_all(ctx, t, [0], 10)
        ctx.check([r[1] for r in rep] == list(range(10)), f"idempotent offsets {rep}")
        return {"delivery": rep, "records": got}
    finally:
        await w(a.close())


@sync
async def timestamps(ctx):
    """CreateTime timestamps: 3 days in the past is accepted; 2 hours in the future is checked
    against message.timestamp.after.max.ms (Kafka 4.x default 3600000 -> INVALID_TIMESTAMP); a topic
    with message.timestamp.type=LogAppendTime returns records stamped by the broker (compared: the
    timestamp type only, the time is normalised away)."""
    a = await admin(ctx)
    try:
        t, tl = ctx.topic("ts"), ctx.topic("ts-logappend")
        await create(ctx, a, [t])
        await create(ctx, a, [tl], 1, {"message.timestamp.type": "LogAppendTime"})
    finally:
        await w(a.close())
    now = int(time.time() * 1000)
    past = await produce(ctx, t, [(b"past", b"v", None, now - 3 * 86400 * 1000)], acks="all")
    future = await produce(ctx, t, [(b"future", b"v", None, now + 2 * 3600 * 1000)], acks="all")
    la = await produce(ctx, tl, [(b"k", b"v", None, ctx.t0)], acks="all")
    got = await read_all(ctx, tl, [0], 1)
    ctx.check(past == [[0, 0, "NONE"]], f"past timestamp {past}")
    return {"past": past, "future": future, "log-append-delivery": la, "log-append-read": got}


SCENARIOS = {f.__name__: f for f in [
    produce_fetch, headers, null_key_value, message_size, list_offsets, admin_topics, describe_configs,
    invalid_topic_names, unknown_topic_autocreate, unknown_topic_no_autocreate, metadata_shape,
    timestamps, consumer_group, group_rebalance, idempotent_producer]}

if __name__ == "__main__":
    main_guard(CLIENT, SCENARIOS)
