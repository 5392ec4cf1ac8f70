#!/usr/bin/env node
// The compatibility scenarios (compat/README.md) with kafkajs 2.2.4 (pure JavaScript).
// Same scenario names and normalisation as compat/confluent_driver.py; errors are kafkajs error
// types (Kafka's names, e.g. TOPIC_ALREADY_EXISTS) or the error class name. kafkajs has no
// built-in snappy/lz4/zstd codec and no assign(): reads use a fresh group per read, from the start.
'use strict';
const fs = require('fs');
const path = require('path');
const { Kafka, CompressionTypes, logLevel, ConfigResourceTypes } = require('kafkajs');

const T = 15000;
const INVALID = ['', '.', '..', 'a'.repeat(250), 'bad/name', 'bad name', 'bad*name', 'ok.name-1_x'];

function args() {
  const a = { scenario: [] };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i++) {
    const k = v[i].replace(/^--/, '');
    if (k === 'scenario') a.scenario.push(v[++i]); else a[k] = v[++i];
  }
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const withTimeout = (p, ms, what) => Promise.race([p, sleep(ms).then(() => { throw new Error(`timeout: ${what}`); })]);
const ename = (e) => (e == null ? 'NONE' : (e.type || (e.errors && e.errors[0] && e.errors[0].type) || e.name || String(e)));
function b2s(b) {
  if (b == null) return null;
  if (b.length > 64) return `<${b.length} bytes>`;
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : 'hex:' + b.toString('hex');
}

class Ctx {
  constructor(boot, noAuto) {
    this.boot = boot; this.noAuto = noAuto; this.checks = []; this.info = {};
    this.t0 = (Math.floor(Date.now() / 1000) - 3600) * 1000; this.seq = 0;
  }
  topic(n) { return 'compat-kafkajs-' + n; }
  check(ok, what) { if (!ok) this.checks.push(what); }
  kafka(boot) {
    return new Kafka({ clientId: 'compat', brokers: [boot || this.boot], logLevel: logLevel.NOTHING,
      connectionTimeout: 5000, requestTimeout: T, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } });
  }
  async admin(boot) { const a = this.kafka(boot).admin(); await withTimeout(a.connect(), T, 'admin connect'); return a; }
}

async function create(ctx, a, names, partitions, configs, rf, validateOnly) {
  const out = {};
  for (const n of names) {
    try {
      const created = await withTimeout(a.createTopics({ validateOnly: !!validateOnly, waitForLeaders: !validateOnly, timeout: T,
        topics: [{ topic: n, numPartitions: partitions, replicationFactor: rf || 1,
          configEntries: Object.entries(configs || {}).map(([name, value]) => ({ name, value })) }] }), T * 2, 'createTopics');
      out[n] = created || validateOnly ? 'NONE' : 'returned-false';
    } catch (e) { out[n] = ename(e); }
  }
  return out;
}

async function produce(ctx, topic, records, opts = {}) {
  const p = ctx.kafka(opts.boot).producer({ idempotent: !!opts.idempotent, allowAutoTopicCreation: opts.autoCreate !== false,
    maxInFlightRequests: opts.idempotent ? 1 : undefined, retry: { retries: opts.retries === undefined ? 3 : opts.retries } });
  await withTimeout(p.connect(), T, 'producer connect');
  const out = [];
  try {
    for (const r of records) {
      const m = { key: r.key, value: r.value };
      if (r.headers) m.headers = r.headers;
      if (r.ts != null) m.timestamp = String(r.ts);
      if (r.partition != null) m.partition = r.partition; else m.partition = 0;
      try {
        const res = await withTimeout(p.send({ topic, acks: opts.acks === undefined ? -1 : opts.acks,
          compression: opts.compression || CompressionTypes.None, timeout: T, messages: [m] }), opts.wait || T * 2, 'send');
        const x = res && res[0];
        out.push(opts.acks === 0 ? [null, null, 'NONE'] : [x.partition, Number(x.baseOffset), ename(x.errorCode ? { type: String(x.errorCode) } : null)]);
      } catch (e) { out.push([null, null, ename(e)]); }
    }
  } finally { await p.disconnect(); }
  return out;
}

// Reads `expect` records from the start of the topic with a fresh group (kafkajs has no assign()).
async function readAll(ctx, topic, expect, extra = {}) {
  const c = ctx.kafka().consumer({ groupId: `compat-kafkajs-read-${process.pid}-${ctx.seq++}-${Date.now()}`,
    maxBytesPerPartition: extra.maxBytes || 1048576, maxBytes: extra.maxBytes || 10485760, sessionTimeout: 10000, heartbeatInterval: 500,
    maxWaitTimeInMs: 500 });
  const out = [];
  await withTimeout(c.connect(), T, 'consumer connect');
  try {
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ autoCommit: false, eachMessage: async ({ partition, message }) => {
      const hs = [];
      for (const [k, v] of Object.entries(message.headers || {})) for (const x of (Array.isArray(v) ? v : [v])) hs.push([k, b2s(x)]);
      out.push({ p: partition, offset: Number(message.offset), key: b2s(message.key), value: b2s(message.value), headers: hs,
        ts: extra.logAppend ? 'log-append' : Number(message.timestamp) - ctx.t0 });
    } });
    const deadline = Date.now() + T;
    while (out.length < expect && Date.now() < deadline) await sleep(100);
  } finally { await c.disconnect(); }
  ctx.check(out.length === expect, `read ${out.length} of ${expect} records from ${topic}`);
  return out.sort((x, y) => x.p - y.p || x.offset - y.offset);
}

const rng = (n) => [...Array(n).keys()];

// ------------------------------------------------------------------------------------ scenarios
const S = {};

S.produce_fetch = async (ctx) => {
  const a = await ctx.admin();
  const obs = {};
  try {
    const comps = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: null, lz4: null, zstd: null };
    for (const acks of ['1', 'all', '0']) {
      for (const [comp, codec] of Object.entries(comps)) {
        if (codec === null) { obs[`acks=${acks} ${comp}`] = 'kafkajs: no built-in codec (needs a plugin package)'; continue; }
        const t = ctx.topic(`pf-${acks}-${comp}`);
        await create(ctx, a, [t], 1);
        if (acks === '0') await withTimeout(a.fetchTopicOffsets(t), T, 'offsets');
        const recs = rng(5).map((i) => ({ key: `k${i}`, value: `value-${i}-${comp}-`.repeat(20), ts: ctx.t0 + 10 * i }));
        const rep = await produce(ctx, t, recs, { acks: acks === 'all' ? -1 : Number(acks), compression: codec });
        if (acks !== '0') ctx.check(JSON.stringify(rep.map((r) => r[1])) === '[0,1,2,3,4]', `acks=${acks} ${comp}: offsets ${JSON.stringify(rep)}`);
        obs[`acks=${acks} ${comp}`] = { delivery: acks === '0' ? 'acks=0' : rep, records: await readAll(ctx, t, 5) };
      }
    }
  } finally { await a.disconnect(); }
  return obs;
};

S.headers = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('headers');
  try { await create(ctx, a, [t], 1); } finally { await a.disconnect(); }
  const hs = { h1: ['a', 'b'], empty: '', bin: Buffer.from([0, 0xff]) };
  const rep = await produce(ctx, t, [{ key: 'k', value: 'v', headers: hs, ts: ctx.t0 }, { key: 'k2', value: 'v2', ts: ctx.t0 + 1 }]);
  return { delivery: rep, records: await readAll(ctx, t, 2) };
};

S.null_key_value = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('nulls');
  try { await create(ctx, a, [t], 1); } finally { await a.disconnect(); }
  const rep = await produce(ctx, t, [{ key: null, value: 'v', ts: ctx.t0 }, { key: 'k', value: null, ts: ctx.t0 + 1 },
    { key: '', value: '', ts: ctx.t0 + 2 }, { key: null, value: null, ts: ctx.t0 + 3 }]);
  return { delivery: rep, records: await readAll(ctx, t, 4) };
};

S.message_size = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('size');
  try { await create(ctx, a, [t], 1); } finally { await a.disconnect(); }
  const near = await produce(ctx, t, [{ key: 'near', value: Buffer.alloc(1000000), ts: ctx.t0 }], { retries: 0 });
  const over = await produce(ctx, t, [{ key: 'over', value: Buffer.alloc(1100000), ts: ctx.t0 }], { retries: 0 });
  ctx.check(over[0][2] === 'MESSAGE_TOO_LARGE', `over-limit ${JSON.stringify(over)}`);
  return { near, over, read: await readAll(ctx, t, 1, { maxBytes: 4 << 20 }) };
};

S.list_offsets = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('listoff');
  try {
    await create(ctx, a, [t], 1);
    await produce(ctx, t, rng(3).map((i) => ({ key: 'k', value: `v${i}`, ts: ctx.t0 + 1000 * (i + 1) })));
    const offs = (await a.fetchTopicOffsets(t)).map((o) => [o.partition, Number(o.low), Number(o.high)]);
    const byTs = {};
    for (const [n, ts] of Object.entries({ before: ctx.t0, 'exact-2nd': ctx.t0 + 2000, between: ctx.t0 + 2500, after: ctx.t0 + 9000 })) {
      byTs[n] = (await a.fetchTopicOffsetsByTimestamp(t, ts)).map((o) => [o.partition, Number(o.offset)]);
    }
    ctx.check(JSON.stringify(offs) === '[[0,0,3]]', `watermarks ${JSON.stringify(offs)}`);
    return { watermarks: offs, by_timestamp: byTs };
  } finally { await a.disconnect(); }
};

S.admin_topics = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('adm');
  const x = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k === t ? 'X' : k.replace(ctx.topic(''), ''), v]));
  const obs = {};
  try {
    obs.create = x(await create(ctx, a, [t], 3, { 'retention.ms': '123456' }));
    obs['create-dup'] = x(await create(ctx, a, [t], 3));
    obs['validate-only'] = x(await create(ctx, a, [ctx.topic('adm-validate')], 2, null, 1, true));
    obs['zero-partitions'] = x(await create(ctx, a, [ctx.topic('adm-zero')], 0));
    obs['replication-factor-3'] = x(await create(ctx, a, [ctx.topic('adm-rf3')], 1, null, 3));
    obs['validate-only-exists'] = (await a.listTopics()).includes(ctx.topic('adm-validate'));
    const md = (await a.fetchTopicMetadata({ topics: [t] })).topics[0];
    obs.describe = md.partitions.sort((p, q) => p.partitionId - q.partitionId)
      .map((p) => [p.partitionId, p.partitionErrorCode, p.replicas.length, p.isr.length, p.replicas.includes(p.leader)]);
    for (const [name, n] of [['create-partitions-5', 5], ['create-partitions-shrink', 2]]) {
      try { await a.createPartitions({ timeout: T, topicPartitions: [{ topic: t, count: n }] }); obs[name] = 'NONE'; } catch (e) { obs[name] = ename(e); }
    }
    const deadline = Date.now() + T;
    let parts = 0;
    while (Date.now() < deadline) {
      parts = (await a.fetchTopicMetadata({ topics: [t] })).topics[0].partitions.length;
      if (parts === 5) break;
      await sleep(100);
    }
    obs['partitions-after'] = parts;
    for (const [name, topic] of [['delete', t], ['delete-unknown', ctx.topic('never-created')]]) {
      try { await a.deleteTopics({ topics: [topic], timeout: T }); obs[name] = 'NONE'; } catch (e) { obs[name] = ename(e); }
    }
    let gone = false;
    const d2 = Date.now() + T;
    while (!gone && Date.now() < d2) { gone = !(await a.listTopics()).includes(t); if (!gone) await sleep(100); }
    obs['gone-after-delete'] = gone;
  } finally { await a.disconnect(); }
  return obs;
};

S.describe_configs = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('cfg');
  const obs = {};
  try {
    obs.create = Object.values(await create(ctx, a, [t], 1, { 'max.message.bytes': '500000', 'retention.ms': '86400000' }));
    obs['create-compact'] = Object.values(await create(ctx, a, [ctx.topic('cfg-compact')], 1, { 'cleanup.policy': 'compact' }));
    const describe = async () => {
      const r = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t }] });
      const out = {};
      for (const e of r.resources[0].configEntries) {
        out[e.configName] = { value: e.configValue, default: e.isDefault, source: e.configSource, read_only: e.readOnly, sensitive: e.isSensitive };
      }
      return out;
    };
    obs.configs = await describe();
    try {
      await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
      obs.alter = 'NONE';
    } catch (e) { obs.alter = ename(e); }
    const after = await describe();
    obs.after = { 'retention.ms': after['retention.ms'], 'max.message.bytes': after['max.message.bytes'] };
    try {
      await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'no.such.config', value: '1' }] }] });
      obs['alter-unknown-key'] = 'NONE';
    } catch (e) { obs['alter-unknown-key'] = ename(e); }
  } finally { await a.disconnect(); }
  return obs;
};

S.invalid_topic_names = async (ctx) => {
  const a = await ctx.admin();
  const out = {};
  try {
    for (const n of INVALID) out[n.length < 20 ? n : `<${n.length} chars>`] = (await create(ctx, a, [n], 1))[n];
  } finally { await a.disconnect(); }
  return out;
};

S.unknown_topic_autocreate = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('auto');
  try {
    const before = (await a.listTopics()).includes(t);
    const rep = await produce(ctx, t, [{ key: 'k', value: 'v', ts: ctx.t0 }]);
    const md = (await a.fetchTopicMetadata({ topics: [t] })).topics[0];
    return { 'listed-before': before, delivery: rep, partitions: md.partitions.length, read: await readAll(ctx, t, 1) };
  } finally { await a.disconnect(); }
};

S.unknown_topic_no_autocreate = async (ctx) => {
  const t = ctx.topic('noauto');
  const rep = await produce(ctx, t, [{ value: 'v' }], { boot: ctx.noAuto, retries: 1, wait: 10000 });
  const a = await ctx.admin(ctx.noAuto);
  try {
    const listed = (await a.listTopics()).includes(t);
    ctx.check(rep[0][2] !== 'NONE', 'produce to an unknown topic succeeded');
    return { produce: rep[0][2], 'listed-after': listed };
  } finally { await a.disconnect(); }
};

S.metadata_shape = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('md');
  try {
    await create(ctx, a, [t], 3);
    const cl = await a.describeCluster();
    const b = cl.brokers[0];
    const [host, port] = ctx.boot.split(':');
    const md = (await a.fetchTopicMetadata({ topics: [t] })).topics[0];
    const parts = {};
    for (const p of md.partitions) {
      parts[p.partitionId] = { 'leader-is-broker': p.leader === b.nodeId, replicas: p.replicas.map((r) => r === b.nodeId),
        isr: p.isr.map((r) => r === b.nodeId), error: p.partitionErrorCode };
    }
    return { brokers: cl.brokers.length, 'broker-address-is-bootstrap': b.host === host && b.port === Number(port),
      'controller-is-broker': cl.controller === b.nodeId, 'has-cluster-id': !!cl.clusterId, partitions: parts };
  } finally { await a.disconnect(); }
};

S.timestamps = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('ts');
  const tl = ctx.topic('ts-logappend');
  try {
    await create(ctx, a, [t], 1);
    await create(ctx, a, [tl], 1, { 'message.timestamp.type': 'LogAppendTime' });
  } finally { await a.disconnect(); }
  const now = Date.now();
  const past = await produce(ctx, t, [{ key: 'past', value: 'v', ts: now - 3 * 86400000 }]);
  const future = await produce(ctx, t, [{ key: 'future', value: 'v', ts: now + 2 * 3600000 }], { retries: 0 });
  const la = await produce(ctx, tl, [{ key: 'k', value: 'v', ts: ctx.t0 }]);
  return { past, future, 'log-append-delivery': la, 'log-append-read': await readAll(ctx, tl, 1, { logAppend: true }) };
};

function member(ctx, group, onAssign) {
  const c = ctx.kafka().consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 20000, maxWaitTimeInMs: 500 });
  if (onAssign) c.on(c.events.GROUP_JOIN, (e) => onAssign(e.payload.memberAssignment));
  return c;
}

S.consumer_group = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('grp');
  const g = 'compat-kafkajs-grp';
  try {
    await create(ctx, a, [t], 4);
    for (const p of rng(4)) await produce(ctx, t, rng(5).map((i) => ({ key: `k${p}-${i}`, value: `v${p}-${i}`, ts: ctx.t0 + i, partition: p })));
    const consume = async (want, commit) => {
      const c = member(ctx, g);
      const got = [];
      await c.connect();
      try {
        await c.subscribe({ topic: t, fromBeginning: true });
        await c.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { got.push([partition, Number(message.offset), b2s(message.value)]); } });
        const deadline = Date.now() + 45000;
        while (got.length < want && Date.now() < deadline) await sleep(100);
        await sleep(1000);
        if (commit) {
          const last = {};
          for (const [p, o] of got) last[p] = Math.max(last[p] === undefined ? -1 : last[p], o);
          await c.commitOffsets(Object.entries(last).map(([p, o]) => ({ topic: t, partition: Number(p), offset: String(o + 1) })));
        }
      } finally { await c.disconnect(); }
      return got.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    };
    const first = await consume(20, true);
    const committed = (await a.fetchOffsets({ groupId: g, topics: [t] }))[0].partitions
      .map((p) => [p.partition, Number(p.offset)]).sort((x, y) => x[0] - y[0]);
    for (const p of rng(4)) await produce(ctx, t, [{ key: 'new', value: `new-${p}`, ts: ctx.t0 + 100, partition: p }]);
    const second = await consume(4, false);
    ctx.check(first.length === 20, `first member read ${first.length} of 20`);
    ctx.check(JSON.stringify(committed) === '[[0,5],[1,5],[2,5],[3,5]]', `committed ${JSON.stringify(committed)}`);
    ctx.check(second.length === 4, `resumed read ${JSON.stringify(second)}`);
    return { first, committed, second };
  } finally { await a.disconnect(); }
};

S.group_rebalance = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('rebal');
  const g = 'compat-kafkajs-rebal';
  try { await create(ctx, a, [t], 6); } finally { await a.disconnect(); }
  const assigns = [[], []];
  const cs = [0, 1].map((i) => member(ctx, g, (ma) => { assigns[i] = (ma[t] || []).slice().sort(); }));
  const start = Date.now();
  let two;
  let alone = [];
  try {
    for (const c of cs) { await c.connect(); await c.subscribe({ topic: t }); await c.run({ eachMessage: async () => {} }); }
    let stable = 0;
    while (Date.now() - start < 40000) {
      const all = new Set([...assigns[0], ...assigns[1]]);
      if (assigns[0].length && assigns[1].length && all.size === 6 && assigns[0].length + assigns[1].length === 6) {
        stable = stable || Date.now();
        if (Date.now() - stable > 1000) break;
      } else stable = 0;
      await sleep(100);
    }
    const all = new Set([...assigns[0], ...assigns[1]]);
    two = { counts: [assigns[0].length, assigns[1].length].sort(), disjoint: all.size === assigns[0].length + assigns[1].length, complete: all.size === 6 };
    ctx.info['two-members-after-ms'] = Date.now() - start;
    await cs[1].disconnect();
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && assigns[0].length !== 6) await sleep(100);
    alone = assigns[0].slice().sort((x, y) => x - y);
  } finally { for (const c of cs) await c.disconnect().catch(() => {}); }
  ctx.check(JSON.stringify(two.counts) === '[3,3]', `two members ${JSON.stringify(two)}`);
  return { 'two-members': two, 'after-leave': alone };
};

S.idempotent_producer = async (ctx) => {
  const a = await ctx.admin();
  const t = ctx.topic('idem');
  try { await create(ctx, a, [t], 1); } finally { await a.disconnect(); }
  const rep = await produce(ctx, t, rng(10).map((i) => ({ key: `k${i}`, value: `v${i}`, ts: ctx.t0 + i })), { idempotent: true });
  return { delivery: rep, records: await readAll(ctx, t, 10) };
};

const ORDER = ['produce_fetch', 'headers', 'null_key_value', 'message_size', 'list_offsets', 'admin_topics', 'describe_configs',
  'invalid_topic_names', 'unknown_topic_autocreate', 'unknown_topic_no_autocreate', 'metadata_shape', 'timestamps',
  'consumer_group', 'group_rebalance', 'idempotent_producer'];

(async () => {
  const a = args();
  const timeoutS = Number(process.env.COMPAT_SCENARIO_TIMEOUT_S || 90);
  const dir = path.join(a.out, 'kafkajs');
  fs.mkdirSync(dir, { recursive: true });
  let worst = 0;
  for (const name of ORDER) {
    if (a.scenario.length && !a.scenario.includes(name)) continue;
    const ctx = new Ctx(a.bootstrap, a['no-autocreate-bootstrap']);
    const rec = { client: 'kafkajs', scenario: name, broker: a.broker, doc: '', observed: null, error: null };
    const start = Date.now();
    if (name === 'unknown_topic_no_autocreate' && !ctx.noAuto) { rec.status = 'skipped'; rec.error = 'no broker with auto-create off was given'; }
    else {
      try { rec.observed = await withTimeout(S[name](ctx), timeoutS * 1000, `scenario exceeded ${timeoutS}s`); rec.status = 'ok'; }
      catch (e) { rec.status = 'error'; rec.error = `${e.name}: ${e.message}`.slice(0, 2000); rec.traceback = String(e.stack).slice(0, 4000); }
    }
    rec.checks_failed = ctx.checks; rec.info = ctx.info; rec.seconds = (Date.now() - start) / 1000;
    fs.writeFileSync(path.join(dir, `${name}.${a.broker}.json`), JSON.stringify(rec, null, 1));
    const verdict = ctx.checks.length ? 'checks-failed' : rec.status;
    if (verdict !== 'ok' && verdict !== 'skipped') worst = 1;
    console.log(`[kafkajs @ ${a.broker}] ${name}: ${verdict} (${rec.seconds}s)${rec.error ? ' ' + rec.error : ''}${ctx.checks.length ? ' checks failed: ' + JSON.stringify(ctx.checks) : ''}`);
  }
  process.exit(worst);
})();
