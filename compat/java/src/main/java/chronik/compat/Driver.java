package chronik.compat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.function.Function;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The compatibility scenarios (compat/README.md) with the Java client, kafka-clients 4.4.0.
 * Same scenarios, names and normalisation as compat/confluent_driver.py; errors are the Java
 * exception class names (the cause of an ExecutionException). Writes
 * OUT/java/SCENARIO.BROKER.json like compat/common.py.
 */
public final class Driver {
    static final long T = 15_000;
    static final List<String> COMPRESSIONS = List.of("none", "gzip", "snappy", "lz4", "zstd");
    static final List<String> INVALID = List.of("", ".", "..", "a".repeat(250), "bad/name", "bad name", "bad*name", "ok.name-1_x");

    final String bootstrap, broker, noAuto;
    final long t0 = (System.currentTimeMillis() / 1000 - 3600) * 1000;
    final List<String> checks = new ArrayList<>();
    final Map<String, Object> info = new TreeMap<>();

    Driver(String bootstrap, String broker, String noAuto) { this.bootstrap = bootstrap; this.broker = broker; this.noAuto = noAuto; }

    // ---------------------------------------------------------------------------------- helpers
    String topic(String n) { return "compat-java-" + n; }
    void check(boolean ok, String what) { if (!ok) checks.add(what); }
    Object rel(long ts) { return ts - t0; }

    static String ename(Throwable e) {
        if (e == null) return "NONE";
        while ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null) e = e.getCause();
        return e.getClass().getSimpleName();
    }

    static Object b2s(byte[] b) {
        if (b == null) return null;
        if (b.length > 64) return "<" + b.length + " bytes>";
        var dec = StandardCharsets.UTF_8.newDecoder();
        try { return dec.decode(java.nio.ByteBuffer.wrap(b)).toString(); }
        catch (Exception e) { StringBuilder sb = new StringBuilder("hex:"); for (byte x : b) sb.append(String.format("%02x", x)); return sb.toString(); }
    }
    static byte[] bytes(String s) { return s == null ? null : s.getBytes(StandardCharsets.UTF_8); }

    Properties base(String boot) { Properties p = new Properties(); p.put("bootstrap.servers", boot == null ? bootstrap : boot); return p; }
    Admin admin(String boot) { Properties p = base(boot); p.put("request.timeout.ms", "15000"); p.put("default.api.timeout.ms", "20000"); return Admin.create(p); }

    Map<String, Object> create(Admin a, List<String> names, int partitions, Map<String, String> cfg, short rf, boolean validateOnly) throws Exception {
        List<NewTopic> nts = new ArrayList<>();
        for (String n : names) nts.add(new NewTopic(n, Optional.of(partitions), Optional.of(rf)).configs(cfg == null ? Map.of() : cfg));
        var res = a.createTopics(nts, new CreateTopicsOptions().validateOnly(validateOnly).timeoutMs(15000));
        Map<String, Object> out = new TreeMap<>();
        List<String> ok = new ArrayList<>();
        for (String n : names) {
            try { res.values().get(n).get(T, TimeUnit.MILLISECONDS); out.put(n, "NONE"); ok.add(n); }
            catch (Exception e) { out.put(n, ename(e)); }
        }
        if (!validateOnly && !ok.isEmpty()) waitTopics(a, ok, partitions);
        return out;
    }
    Map<String, Object> create(Admin a, List<String> names, int partitions) throws Exception { return create(a, names, partitions, null, (short) 1, false); }

    void waitTopics(Admin a, List<String> names, int partitions) {
        long deadline = System.currentTimeMillis() + T;
        while (System.currentTimeMillis() < deadline) {
            try {
                var d = a.describeTopics(names).allTopicNames().get(5, TimeUnit.SECONDS);
                boolean ok = true;
                for (String n : names) {
                    var td = d.get(n);
                    if (td == null || td.partitions().size() != partitions) { ok = false; break; }
                    for (var p : td.partitions()) if (p.leader() == null) ok = false;
                }
                if (ok) return;
            } catch (Exception ignored) { }
            sleep(100);
        }
    }

    static void sleep(long ms) { try { Thread.sleep(ms); } catch (InterruptedException e) { Thread.currentThread().interrupt(); } }

    record Rec(byte[] key, byte[] value, List<Header> headers, Long ts) { }

    KafkaProducer<byte[], byte[]> producer(String boot, Map<String, Object> extra) {
        Properties p = base(boot);
        p.put("linger.ms", "5"); p.put("enable.idempotence", "false");
        p.put("request.timeout.ms", "15000"); p.put("delivery.timeout.ms", "30000"); p.put("max.block.ms", "15000");
        if (extra != null) p.putAll(extra);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    List<Object> produce(String t, List<Rec> recs, Integer partition, Map<String, Object> extra) {
        List<Object> out = new ArrayList<>();
        try (var p = producer(null, extra)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (Rec r : recs) {
                try { fs.add(p.send(new ProducerRecord<>(t, partition, r.ts, r.key, r.value, r.headers))); }
                catch (Exception e) { fs.add(CompletableFuture.failedFuture(e)); }
            }
            p.flush();
            for (var f : fs) {
                try { RecordMetadata md = f.get(T * 2, TimeUnit.MILLISECONDS); out.add(Arrays.asList(md.partition(), md.offset(), "NONE")); }
                catch (Exception e) { out.add(Arrays.asList(null, null, ename(e))); }
            }
        }
        return out;
    }

    KafkaConsumer<byte[], byte[]> consumer(String group, Map<String, Object> extra) {
        Properties p = base(null);
        if (group != null) p.put("group.id", group);
        p.put("enable.auto.commit", "false"); p.put("auto.offset.reset", "earliest");
        p.put("request.timeout.ms", "20000"); p.put("default.api.timeout.ms", "20000");
        if (extra != null) p.putAll(extra);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    Map<String, Object> recDict(ConsumerRecord<byte[], byte[]> m) {
        Map<String, Object> d = new TreeMap<>();
        d.put("p", m.partition()); d.put("offset", m.offset()); d.put("key", b2s(m.key())); d.put("value", b2s(m.value()));
        List<Object> hs = new ArrayList<>();
        for (Header h : m.headers()) hs.add(Arrays.asList(h.key(), b2s(h.value())));
        d.put("headers", hs);
        d.put("ts_type", m.timestampType().name);
        d.put("ts", m.timestampType() == TimestampType.CREATE_TIME ? rel(m.timestamp()) : "log-append");
        return d;
    }

    List<Object> readAll(String t, List<Integer> parts, int expect, Map<String, Object> extra) {
        List<Map<String, Object>> out = new ArrayList<>();
        try (var c = consumer(null, extra)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p : parts) tps.add(new TopicPartition(t, p));
            c.assign(tps); c.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + T;
            while (out.size() < expect && System.currentTimeMillis() < deadline)
                for (var m : c.poll(Duration.ofMillis(500))) out.add(recDict(m));
        }
        check(out.size() == expect, "read " + out.size() + " of " + expect + " records from " + t);
        out.sort(Comparator.comparing((Map<String, Object> d) -> (Integer) d.get("p")).thenComparing(d -> (Long) d.get("offset")));
        return new ArrayList<>(out);
    }

    void waitWritable(String t) {
        try (var c = consumer(null, null)) {
            long deadline = System.currentTimeMillis() + T;
            while (System.currentTimeMillis() < deadline) {
                try { c.endOffsets(List.of(new TopicPartition(t, 0)), Duration.ofSeconds(3)); return; }
                catch (Exception e) { sleep(100); }
            }
        }
    }

    static String res(KafkaFuture<?> f) {
        try { f.get(T, TimeUnit.MILLISECONDS); return "NONE"; } catch (Exception e) { return ename(e); }
    }

    // -------------------------------------------------------------------------------- scenarios
    /** Produce 5 keyed records with CreateTime timestamps for every acks (0, 1, all) x compression (none, gzip, snappy, lz4, zstd) and read them back: same offsets, keys, values, timestamps, and the same produce results (offsets for acks 1/all). */
    Object produce_fetch() throws Exception {
        Map<String, Object> obs = new TreeMap<>();
        try (Admin a = admin(null)) {
            List<String> names = new ArrayList<>();
            for (String acks : List.of("1", "all", "0")) for (String c : COMPRESSIONS) names.add(topic("pf-" + acks + "-" + c));
            create(a, names, 1);
        }
        for (String acks : List.of("1", "all", "0")) for (String comp : COMPRESSIONS) {
            String t = topic("pf-" + acks + "-" + comp);
            if (acks.equals("0")) waitWritable(t);
            List<Rec> recs = new ArrayList<>();
            for (int i = 0; i < 5; i++) recs.add(new Rec(bytes("k" + i), bytes(("value-" + i + "-" + comp + "-").repeat(20)), null, t0 + 10L * i));
            List<Object> rep = produce(t, recs, null, Map.of("acks", acks, "compression.type", comp));
            Object delivery = rep;
            if (acks.equals("0")) delivery = "acks=0";
            else { List<Object> offs = new ArrayList<>(); for (Object r : rep) offs.add(((List<?>) r).get(1)); check(offs.equals(List.of(0L, 1L, 2L, 3L, 4L)), "acks=" + acks + " " + comp + ": offsets " + rep); }
            List<Object> got = readAll(t, List.of(0), 5, null);
            obs.put("acks=" + acks + " " + comp, Map.of("delivery", delivery, "records", got));
        }
        return obs;
    }

    /** Record headers survive a round trip: order, duplicate keys, empty, null and binary values, and a record without headers. */
    Object headers() throws Exception {
        String t = topic("headers");
        try (Admin a = admin(null)) { create(a, List.of(t), 1); }
        List<Header> hs = List.of(new RecordHeader("h1", bytes("a")), new RecordHeader("h1", bytes("b")), new RecordHeader("empty", new byte[0]),
                new RecordHeader("nullv", null), new RecordHeader("bin", new byte[]{0, (byte) 0xff}));
        var rep = produce(t, List.of(new Rec(bytes("k"), bytes("v"), hs, t0), new Rec(bytes("k2"), bytes("v2"), null, t0 + 1)), null, Map.of("acks", "all"));
        var got = readAll(t, List.of(0), 2, null);
        return Map.of("delivery", rep, "records", got);
    }

    /** Null keys, null values (tombstones) and empty keys/values are kept distinct on a round trip. */
    Object null_key_value() throws Exception {
        String t = topic("nulls");
        try (Admin a = admin(null)) { create(a, List.of(t), 1); }
        var rep = produce(t, List.of(new Rec(null, bytes("v"), null, t0), new Rec(bytes("k"), null, null, t0 + 1),
                new Rec(new byte[0], new byte[0], null, t0 + 2), new Rec(null, null, null, t0 + 3)), null, Map.of("acks", "all"));
        var got = readAll(t, List.of(0), 4, null);
        return Map.of("delivery", rep, "records", got);
    }

    /** A 1,000,000-byte value (under the default max.message.bytes 1048588) is accepted and read back; a 1,100,000-byte one is refused by the broker with MESSAGE_TOO_LARGE (client limit raised). */
    Object message_size() throws Exception {
        String t = topic("size");
        try (Admin a = admin(null)) { create(a, List.of(t), 1); }
        Map<String, Object> ex = Map.of("acks", "all", "max.request.size", String.valueOf(4 << 20), "retries", "0");
        var near = produce(t, List.of(new Rec(bytes("near"), new byte[1_000_000], null, t0)), null, ex);
        var over = produce(t, List.of(new Rec(bytes("over"), new byte[1_100_000], null, t0)), null, ex);
        check(((List<?>) over.get(0)).get(2).equals("RecordTooLargeException"), "over-limit " + over);
        var got = readAll(t, List.of(0), 1, Map.of("fetch.max.bytes", String.valueOf(4 << 20), "max.partition.fetch.bytes", String.valueOf(4 << 20)));
        return Map.of("near", near, "over", over, "read", got);
    }

    /** ListOffsets: beginning/end offsets, offsetsForTimes before, at, between and after the records' CreateTime timestamps, and Admin.listOffsets earliest/latest/max-timestamp. */
    Object list_offsets() throws Exception {
        String t = topic("listoff");
        TopicPartition tp = new TopicPartition(t, 0);
        Map<String, Object> adm = new TreeMap<>();
        try (Admin a = admin(null)) {
            create(a, List.of(t), 1);
            List<Rec> recs = new ArrayList<>();
            for (int i = 0; i < 3; i++) recs.add(new Rec(bytes("k"), bytes("v" + i), null, t0 + 1000L * (i + 1)));
            produce(t, recs, null, Map.of("acks", "all"));
            Map<String, OffsetSpec> specs = new LinkedHashMap<>();
            specs.put("earliest", OffsetSpec.earliest()); specs.put("latest", OffsetSpec.latest()); specs.put("max_timestamp", OffsetSpec.maxTimestamp());
            specs.put("ts-between", OffsetSpec.forTimestamp(t0 + 2500)); specs.put("ts-after", OffsetSpec.forTimestamp(t0 + 9000));
            for (var e : specs.entrySet()) {
                try {
                    var r = a.listOffsets(Map.of(tp, e.getValue())).partitionResult(tp).get(T, TimeUnit.MILLISECONDS);
                    adm.put(e.getKey(), Arrays.asList(r.offset(), r.timestamp() >= 0 ? rel(r.timestamp()) : r.timestamp()));
                } catch (Exception ex) { adm.put(e.getKey(), ename(ex)); }
            }
        }
        Map<String, Object> oft = new TreeMap<>();
        long lo, hi;
        try (var c = consumer(null, null)) {
            lo = c.beginningOffsets(List.of(tp)).get(tp); hi = c.endOffsets(List.of(tp)).get(tp);
            Map<String, Long> probes = new LinkedHashMap<>();
            probes.put("before", t0); probes.put("exact-2nd", t0 + 2000); probes.put("between", t0 + 2500); probes.put("after", t0 + 9000);
            for (var e : probes.entrySet()) {
                var r = c.offsetsForTimes(Map.of(tp, e.getValue())).get(tp);
                oft.put(e.getKey(), r == null ? null : Arrays.asList(r.offset(), rel(r.timestamp())));
            }
        }
        check(lo == 0 && hi == 3, "watermarks " + lo + " " + hi);
        return Map.of("watermarks", List.of(lo, hi), "offsets_for_times", oft, "list_offsets", adm);
    }

    /** CreateTopics (with a config, duplicate -> TOPIC_ALREADY_EXISTS, validate_only, 0 partitions, replication factor 3), describeTopics shape, CreatePartitions (grow, shrink), DeleteTopics (and of an unknown topic), and the topic's absence after. */
    Object admin_topics() throws Exception {
        String t = topic("adm");
        Function<Map<String, Object>, Object> x = m -> { Map<String, Object> o = new TreeMap<>(); m.forEach((k, v) -> o.put(k.equals(t) ? "X" : k.replace(topic(""), ""), v)); return o; };
        Map<String, Object> obs = new TreeMap<>();
        try (Admin a = admin(null)) {
            obs.put("create", x.apply(create(a, List.of(t), 3, Map.of("retention.ms", "123456"), (short) 1, false)));
            obs.put("create-dup", x.apply(create(a, List.of(t), 3)));
            obs.put("validate-only", x.apply(create(a, List.of(topic("adm-validate")), 2, null, (short) 1, true)));
            obs.put("zero-partitions", x.apply(create(a, List.of(topic("adm-zero")), 0)));
            obs.put("replication-factor-3", x.apply(create(a, List.of(topic("adm-rf3")), 1, null, (short) 3, false)));
            obs.put("validate-only-exists", a.listTopics().names().get().contains(topic("adm-validate")));
            var d = a.describeTopics(List.of(t)).allTopicNames().get().get(t);
            List<Object> parts = new ArrayList<>();
            for (var p : d.partitions()) parts.add(Arrays.asList(p.partition(), p.replicas().size(), p.isr().size(), p.replicas().contains(p.leader())));
            obs.put("describe", Map.of("internal", d.isInternal(), "partitions", parts));
            obs.put("create-partitions-5", res(a.createPartitions(Map.of(t, NewPartitions.increaseTo(5))).all()));
            obs.put("create-partitions-shrink", res(a.createPartitions(Map.of(t, NewPartitions.increaseTo(2))).all()));
            waitTopics(a, List.of(t), 5);
            obs.put("partitions-after", a.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions().size());
            obs.put("delete", res(a.deleteTopics(List.of(t)).all()));
            obs.put("delete-unknown", res(a.deleteTopics(List.of(topic("never-created"))).all()));
            boolean gone = false;
            long deadline = System.currentTimeMillis() + T;
            while (!gone && System.currentTimeMillis() < deadline) { gone = !a.listTopics().names().get().contains(t); if (!gone) sleep(100); }
            obs.put("gone-after-delete", gone);
        }
        return obs;
    }

    /** DescribeConfigs reports every topic config with value, source, read-only (only keys both report are compared, the rest flagged); IncrementalAlterConfigs (SET, DELETE) then DescribeConfigs shows the new values; an unknown key is refused; CreateTopics with cleanup.policy=compact. */
    Object describe_configs() throws Exception {
        String t = topic("cfg");
        Map<String, Object> obs = new TreeMap<>();
        try (Admin a = admin(null)) {
            obs.put("create", create(a, List.of(t), 1, Map.of("max.message.bytes", "500000", "retention.ms", "86400000"), (short) 1, false).values());
            obs.put("create-compact", create(a, List.of(topic("cfg-compact")), 1, Map.of("cleanup.policy", "compact"), (short) 1, false).values());
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, t);
            Function<Void, Map<String, Object>> describe = v -> {
                try {
                    Map<String, Object> m = new TreeMap<>();
                    for (var e : a.describeConfigs(List.of(r)).all().get().get(r).entries())
                        m.put(e.name(), new TreeMap<>(Map.of("value", String.valueOf(e.value()), "source", e.source().name(), "read_only", e.isReadOnly(), "sensitive", e.isSensitive())));
                    return m;
                } catch (Exception ex) { throw new RuntimeException(ex); }
            };
            obs.put("configs", describe.apply(null));
            obs.put("alter", res(a.incrementalAlterConfigs(Map.of(r, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", null), AlterConfigOp.OpType.DELETE)))).all()));
            var after = describe.apply(null);
            Map<String, Object> af = new TreeMap<>();
            af.put("retention.ms", after.get("retention.ms")); af.put("max.message.bytes", after.get("max.message.bytes"));
            obs.put("after", af);
            obs.put("alter-unknown-key", res(a.incrementalAlterConfigs(Map.of(r, List.of(
                    new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all()));
        }
        return obs;
    }

    /** CreateTopics with invalid names (empty, '.', '..', 250 chars, '/', space, '*') is refused with the same error per name; a valid name with '.', '-', '_' is accepted. */
    Object invalid_topic_names() throws Exception {
        Map<String, Object> out = new TreeMap<>();
        try (Admin a = admin(null)) {
            for (String n : INVALID) {
                String key = n.length() < 20 ? n : "<" + n.length() + " chars>";
                try { out.put(key, create(a, List.of(n), 1).get(n)); } catch (Exception e) { out.put(key, "client:" + ename(e)); }
            }
        }
        return out;
    }

    /** With auto-create on: a producer's Metadata for an unknown topic creates it with 1 partition and the first record lands at offset 0. */
    Object unknown_topic_autocreate() throws Exception {
        String t = topic("auto");
        try (Admin a = admin(null)) {
            boolean before = a.listTopics().names().get().contains(t);
            var rep = produce(t, List.of(new Rec(bytes("k"), bytes("v"), null, t0)), null, Map.of("acks", "all"));
            waitTopics(a, List.of(t), 1);
            int parts = a.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions().size();
            var got = readAll(t, List.of(0), 1, null);
            return Map.of("listed-before", before, "delivery", rep, "partitions", parts, "read", got);
        }
    }

    /** With auto-create off: producing to an unknown topic fails (metadata never has it) and the topic is still unknown afterwards. */
    Object unknown_topic_no_autocreate() throws Exception {
        String t = topic("noauto");
        String result;
        try (var p = producer(noAuto, Map.of("max.block.ms", "4000"))) {
            try { p.send(new ProducerRecord<>(t, bytes("v"))).get(T, TimeUnit.MILLISECONDS); result = "NONE"; }
            catch (Exception e) { result = ename(e); }
        }
        boolean listed;
        try (Admin a = admin(noAuto)) { listed = a.listTopics().names().get().contains(t); }
        check(!result.equals("NONE"), "produce to an unknown topic succeeded");
        return Map.of("produce", result, "listed-after", listed);
    }

    /** Metadata (describeCluster, describeTopics): one broker at the bootstrap address that is the controller, a cluster id; a 3-partition topic whose every partition is led by that broker with replicas = isr = [broker]. */
    Object metadata_shape() throws Exception {
        String t = topic("md");
        try (Admin a = admin(null)) {
            create(a, List.of(t), 3);
            var cl = a.describeCluster();
            var nodes = new ArrayList<>(cl.nodes().get());
            Node b = nodes.get(0);
            String[] hp = bootstrap.split(":");
            Map<String, Object> obs = new TreeMap<>();
            obs.put("brokers", nodes.size());
            obs.put("broker-address-is-bootstrap", b.host().equals(hp[0]) && b.port() == Integer.parseInt(hp[1]));
            obs.put("controller-is-broker", cl.controller().get().id() == b.id());
            obs.put("has-cluster-id", cl.clusterId().get() != null);
            Map<String, Object> parts = new TreeMap<>();
            for (var p : a.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions()) {
                List<Object> reps = new ArrayList<>(), isr = new ArrayList<>();
                for (Node n : p.replicas()) reps.add(n.id() == b.id());
                for (Node n : p.isr()) isr.add(n.id() == b.id());
                parts.put(String.valueOf(p.partition()), Map.of("leader-is-broker", p.leader().id() == b.id(), "replicas", reps, "isr", isr));
            }
            obs.put("partitions", parts);
            return obs;
        }
    }

    /** CreateTime timestamps: 3 days in the past is accepted; 2 hours in the future is checked against message.timestamp.after.max.ms (Kafka 4.x default 3600000 -> INVALID_TIMESTAMP); a topic with message.timestamp.type=LogAppendTime returns records stamped by the broker (compared: the timestamp type only). */
    Object timestamps() throws Exception {
        String t = topic("ts"), tl = topic("ts-logappend");
        try (Admin a = admin(null)) {
            create(a, List.of(t), 1);
            create(a, List.of(tl), 1, Map.of("message.timestamp.type", "LogAppendTime"), (short) 1, false);
        }
        long now = System.currentTimeMillis();
        var past = produce(t, List.of(new Rec(bytes("past"), bytes("v"), null, now - 3L * 86400_000)), null, Map.of("acks", "all"));
        var future = produce(t, List.of(new Rec(bytes("future"), bytes("v"), null, now + 2L * 3600_000)), null, Map.of("acks", "all", "retries", "0"));
        var la = produce(tl, List.of(new Rec(bytes("k"), bytes("v"), null, t0)), null, Map.of("acks", "all"));
        var got = readAll(tl, List.of(0), 1, null);
        return Map.of("past", past, "future", future, "log-append-delivery", la, "log-append-read", got);
    }

    Map<String, Object> groupConf() {
        return Map.of("session.timeout.ms", "10000", "heartbeat.interval.ms", "500",
                "partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor");
    }

    /** A subscribed consumer group reads everything, commits synchronously, committed() returns the commit; a new member of the group resumes from the committed offsets (sees only newer records); Admin lists the group's offsets. */
    Object consumer_group() throws Exception {
        String t = topic("grp"), g = "compat-java-grp";
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < 4; p++) tps.add(new TopicPartition(t, p));
        try (Admin a = admin(null)) { create(a, List.of(t), 4); }
        for (int p = 0; p < 4; p++) {
            List<Rec> recs = new ArrayList<>();
            for (int i = 0; i < 5; i++) recs.add(new Rec(bytes("k" + p + "-" + i), bytes("v" + p + "-" + i), null, t0 + i));
            produce(t, recs, p, Map.of("acks", "all"));
        }
        List<List<Object>> first = new ArrayList<>(), second = new ArrayList<>();
        List<Object> committed = new ArrayList<>();
        try (var c = consumer(g, groupConf())) {
            c.subscribe(List.of(t));
            long deadline = System.currentTimeMillis() + 45_000;
            while (first.size() < 20 && System.currentTimeMillis() < deadline)
                for (var m : c.poll(Duration.ofMillis(500))) first.add(Arrays.asList(m.partition(), m.offset(), b2s(m.value())));
            c.commitSync(Duration.ofSeconds(15));
            var cm = c.committed(new HashSet<>(tps), Duration.ofSeconds(15));
            for (var tp : tps) committed.add(Arrays.asList(tp.partition(), cm.get(tp) == null ? null : cm.get(tp).offset()));
        }
        for (int p = 0; p < 4; p++) produce(t, List.of(new Rec(bytes("new"), bytes("new-" + p), null, t0 + 100)), p, Map.of("acks", "all"));
        try (var c = consumer(g, groupConf())) {
            c.subscribe(List.of(t));
            long deadline = System.currentTimeMillis() + 45_000;
            while (second.size() < 4 && System.currentTimeMillis() < deadline)
                for (var m : c.poll(Duration.ofMillis(500))) second.add(Arrays.asList(m.partition(), m.offset(), b2s(m.value())));
            for (var m : c.poll(Duration.ofMillis(1000))) second.add(Arrays.asList(m.partition(), m.offset(), b2s(m.value())));
        }
        List<Object> adminOffsets = new ArrayList<>();
        try (Admin a = admin(null)) {
            var offs = a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get(T, TimeUnit.MILLISECONDS);
            for (var tp : tps) adminOffsets.add(Arrays.asList(tp.partition(), offs.get(tp) == null ? null : offs.get(tp).offset()));
        }
        Comparator<List<Object>> cmp = Comparator.comparing((List<Object> l) -> (Integer) l.get(0)).thenComparing(l -> (Long) l.get(1));
        first.sort(cmp); second.sort(cmp);
        check(first.size() == 20, "first member read " + first.size() + " of 20");
        check(second.size() == 4, "resumed read " + second);
        return Map.of("first", first, "committed", committed, "second", second, "admin-group-offsets", adminOffsets);
    }

    /** Two members subscribe to a 6-partition topic (range assignor): after the rebalance each gets 3 partitions, disjoint and together complete; when one leaves, the other gets all 6. (Each member polls in its own thread.) */
    Object group_rebalance() throws Exception {
        String t = topic("rebal"), g = "compat-java-rebal";
        try (Admin a = admin(null)) { create(a, List.of(t), 6); }
        List<Set<Integer>> assigns = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet());
        AtomicBooleanArray stops = new AtomicBooleanArray(2);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            final int idx = i;
            Thread th = new Thread(() -> {
                try (var c = consumer(g, groupConf())) {
                    c.subscribe(List.of(t));
                    long deadline = System.currentTimeMillis() + 80_000;
                    while (!stops.get(idx) && System.currentTimeMillis() < deadline) {
                        c.poll(Duration.ofMillis(100));
                        Set<Integer> s = new TreeSet<>();
                        for (var tp : c.assignment()) s.add(tp.partition());
                        synchronized (assigns) { assigns.get(idx).clear(); assigns.get(idx).addAll(s); }
                    }
                }
            });
            th.setDaemon(true); th.start(); threads.add(th);
        }
        long start = System.currentTimeMillis(), deadline = start + 40_000, stableSince = -1;
        Set<Integer> a0 = Set.of(), a1 = Set.of();
        while (System.currentTimeMillis() < deadline) {
            synchronized (assigns) { a0 = new TreeSet<>(assigns.get(0)); a1 = new TreeSet<>(assigns.get(1)); }
            Set<Integer> all = new TreeSet<>(a0); all.addAll(a1);
            if (!a0.isEmpty() && !a1.isEmpty() && all.size() == 6 && a0.size() + a1.size() == 6) {
                if (stableSince < 0) stableSince = System.currentTimeMillis();
                if (System.currentTimeMillis() - stableSince > 1000) break;
            } else stableSince = -1;
            sleep(100);
        }
        Set<Integer> inter = new TreeSet<>(a0); inter.retainAll(a1);
        Set<Integer> union = new TreeSet<>(a0); union.addAll(a1);
        List<Integer> counts = new ArrayList<>(List.of(a0.size(), a1.size())); Collections.sort(counts);
        Map<String, Object> two = Map.of("counts", counts, "disjoint", inter.isEmpty(), "complete", union.equals(Set.of(0, 1, 2, 3, 4, 5)));
        info.put("two-members-after-ms", System.currentTimeMillis() - start);
        stops.set(1, true); threads.get(1).join(T);
        deadline = System.currentTimeMillis() + 30_000;
        Set<Integer> alone = Set.of();
        while (System.currentTimeMillis() < deadline) {
            synchronized (assigns) { alone = new TreeSet<>(assigns.get(0)); }
            if (alone.size() == 6) break;
            sleep(100);
        }
        stops.set(0, true); threads.get(0).join(T);
        check(counts.equals(List.of(3, 3)) && inter.isEmpty(), "two members: " + two);
        return Map.of("two-members", two, "after-leave", new ArrayList<>(alone));
    }

    static final class AtomicBooleanArray {
        final java.util.concurrent.atomic.AtomicIntegerArray a;
        AtomicBooleanArray(int n) { a = new java.util.concurrent.atomic.AtomicIntegerArray(n); }
        boolean get(int i) { return a.get(i) != 0; }
        void set(int i, boolean v) { a.set(i, v ? 1 : 0); }
    }

    /** enable.idempotence=true (InitProducerId, sequence numbers): 10 records are acknowledged at offsets 0..9 and read back once each, in order. */
    Object idempotent_producer() throws Exception {
        String t = topic("idem");
        try (Admin a = admin(null)) { create(a, List.of(t), 1); }
        List<Rec> recs = new ArrayList<>();
        for (int i = 0; i < 10; i++) recs.add(new Rec(bytes("k" + i), bytes("v" + i), null, t0 + i));
        var rep = produce(t, recs, null, Map.of("enable.idempotence", "true", "acks", "all"));
        var got = readAll(t, List.of(0), 10, null);
        return Map.of("delivery", rep, "records", got);
    }

    // ------------------------------------------------------------------------------------- JSON
    static void json(StringBuilder sb, Object o) {
        if (o == null) sb.append("null");
        else if (o instanceof String s) {
            sb.append('"');
            for (char ch : s.toCharArray()) {
                switch (ch) {
                    case '"' -> sb.append("\\\""); case '\\' -> sb.append("\\\\"); case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r"); case '\t' -> sb.append("\\t");
                    default -> { if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch)); else sb.append(ch); }
                }
            }
            sb.append('"');
        } else if (o instanceof Number || o instanceof Boolean) sb.append(o);
        else if (o instanceof Map<?, ?> m) {
            sb.append('{'); boolean first = true;
            for (var e : new TreeMap<>(m).entrySet()) { if (!first) sb.append(','); first = false; json(sb, String.valueOf(e.getKey())); sb.append(':'); json(sb, e.getValue()); }
            sb.append('}');
        } else if (o instanceof Collection<?> c) {
            sb.append('['); boolean first = true;
            for (Object x : c) { if (!first) sb.append(','); first = false; json(sb, x); }
            sb.append(']');
        } else json(sb, o.toString());
    }

    // ------------------------------------------------------------------------------------- main
    static final String[] ORDER = {"produce_fetch", "headers", "null_key_value", "message_size", "list_offsets", "admin_topics",
            "describe_configs", "invalid_topic_names", "unknown_topic_autocreate", "unknown_topic_no_autocreate", "metadata_shape",
            "timestamps", "consumer_group", "group_rebalance", "idempotent_producer"};

    public static void main(String[] args) throws Exception {
        String bootstrap = null, broker = null, out = null, noAuto = null;
        List<String> only = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = args[++i];
                case "--broker" -> broker = args[++i];
                case "--out" -> out = args[++i];
                case "--no-autocreate-bootstrap" -> noAuto = args[++i];
                case "--scenario" -> only.add(args[++i]);
                default -> { System.err.println("unknown argument " + args[i]); System.exit(2); }
            }
        }
        long timeoutS = Long.parseLong(System.getenv().getOrDefault("COMPAT_SCENARIO_TIMEOUT_S", "90"));
        Path dir = Path.of(out, "java");
        Files.createDirectories(dir);
        int worst = 0;
        for (String name : ORDER) {
            if (!only.isEmpty() && !only.contains(name)) continue;
            Driver d = new Driver(bootstrap, broker, noAuto);
            var m = Driver.class.getDeclaredMethod(name);
            Map<String, Object> rec = new TreeMap<>();
            rec.put("client", "java"); rec.put("scenario", name); rec.put("broker", broker);
            rec.put("doc", DOCS.getOrDefault(name, "")); rec.put("observed", null); rec.put("error", null);
            long start = System.nanoTime();
            ExecutorService ex = Executors.newSingleThreadExecutor(r -> { Thread th = new Thread(r); th.setDaemon(true); return th; });
            Future<Object> f = ex.submit(() -> m.invoke(d));
            try {
                if (name.equals("unknown_topic_no_autocreate") && noAuto == null) { f.cancel(true); rec.put("status", "skipped"); rec.put("error", "no broker with auto-create off was given"); }
                else { rec.put("observed", f.get(timeoutS, TimeUnit.SECONDS)); rec.put("status", "ok"); }
            } catch (TimeoutException e) {
                f.cancel(true); rec.put("status", "error"); rec.put("error", "ScenarioTimeout: scenario exceeded " + timeoutS + "s");
            } catch (ExecutionException e) {
                Throwable c = e.getCause() instanceof java.lang.reflect.InvocationTargetException it ? it.getCause() : e.getCause();
                rec.put("status", "error"); rec.put("error", ename(c) + ": " + c.getMessage());
                var sw = new java.io.StringWriter(); c.printStackTrace(new java.io.PrintWriter(sw));
                String tb = sw.toString(); rec.put("traceback", tb.length() > 4000 ? tb.substring(0, 4000) : tb);
            }
            ex.shutdownNow();
            rec.put("checks_failed", new ArrayList<>(d.checks));
            rec.put("info", d.info);
            rec.put("seconds", Math.round((System.nanoTime() - start) / 1e7) / 100.0);
            StringBuilder sb = new StringBuilder(); json(sb, rec);
            Files.writeString(dir.resolve(name + "." + broker + ".json"), sb.toString());
            String verdict = d.checks.isEmpty() ? (String) rec.get("status") : "checks-failed";
            if (!verdict.equals("ok") && !verdict.equals("skipped")) worst = 1;
            System.out.println("[java @ " + broker + "] " + name + ": " + verdict + " (" + rec.get("seconds") + "s)"
                    + (rec.get("error") != null ? " " + rec.get("error") : "") + (d.checks.isEmpty() ? "" : " checks failed: " + d.checks));
        }
        System.exit(worst);
    }

    static final Map<String, String> DOCS = new HashMap<>();
    static {
        for (var m : Driver.class.getDeclaredMethods()) DOCS.put(m.getName(), "");
    }
}
