// The compatibility scenarios (compat/README.md) with franz-go (github.com/twmb/franz-go, kgo + kadm).
// Same scenarios, names and normalisation as compat/confluent_driver.py; errors are Kafka's error
// names (kerr) or the Go error's text for client-side errors. Writes OUT/franz-go/SCENARIO.BROKER.json.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const T = 15 * time.Second

var compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}
var invalidNames = []string{"", ".", "..", strings.Repeat("a", 250), "bad/name", "bad name", "bad*name", "ok.name-1_x"}

type M = map[string]any
type L = []any

type ctxT struct {
	boot, noAuto string
	t0           int64
	checks       []string
	info         M
	produceWait  time.Duration
}

func (c *ctxT) topic(n string) string { return "compat-franz-go-" + n }
func (c *ctxT) check(ok bool, what string) {
	if !ok {
		c.checks = append(c.checks, what)
	}
}

func ename(err error) string {
	if err == nil {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "client:timeout"
	}
	return "client:" + err.Error()
}

func b2s(b []byte) any {
	if b == nil {
		return nil
	}
	if len(b) > 64 {
		return fmt.Sprintf("<%d bytes>", len(b))
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return fmt.Sprintf("hex:%x", b)
}

func tctx(d time.Duration) (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), d) }

func client(c *ctxT, boot string, opts ...kgo.Opt) *kgo.Client {
	if boot == "" {
		boot = c.boot
	}
	if os.Getenv("FRANZ_DEBUG") != "" {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	all := append([]kgo.Opt{kgo.SeedBrokers(boot), kgo.RequestTimeoutOverhead(5 * time.Second), kgo.ProducerLinger(5 * time.Millisecond)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		panic(err)
	}
	return cl
}

func admin(c *ctxT, boot string) (*kadm.Client, *kgo.Client) {
	cl := client(c, boot)
	return kadm.NewClient(cl), cl
}

func create(c *ctxT, a *kadm.Client, names []string, parts int32, cfg map[string]*string, rf int16, validate bool) M {
	ctx, cancel := tctx(T)
	defer cancel()
	out := M{}
	var rs kadm.CreateTopicResponses
	var err error
	if validate {
		rs, err = a.ValidateCreateTopics(ctx, parts, rf, cfg, names...)
	} else {
		rs, err = a.CreateTopics(ctx, parts, rf, cfg, names...)
	}
	ok := []string{}
	for _, n := range names {
		if err != nil {
			out[n] = ename(err)
			continue
		}
		r, found := rs[n]
		if !found {
			out[n] = "absent"
			continue
		}
		out[n] = ename(r.Err)
		if r.Err == nil {
			ok = append(ok, n)
		}
	}
	if !validate && len(ok) > 0 {
		waitTopics(a, ok, int(parts))
	}
	return out
}

func waitTopics(a *kadm.Client, names []string, parts int) {
	deadline := time.Now().Add(T)
	for time.Now().Before(deadline) {
		ctx, cancel := tctx(5 * time.Second)
		md, err := a.Metadata(ctx, names...)
		cancel()
		if err == nil {
			ok := true
			for _, n := range names {
				td, found := md.Topics[n]
				if !found || td.Err != nil || len(td.Partitions) != parts {
					ok = false
					break
				}
				for _, p := range td.Partitions {
					if p.Leader < 0 {
						ok = false
					}
				}
			}
			if ok {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type rec struct {
	key, value []byte
	headers    []kgo.RecordHeader
	ts         int64
	partition  int32
}

func produce(c *ctxT, boot, topic string, recs []rec, opts ...kgo.Opt) L {
	// No RecordDeliveryTimeout: franz-go measures it from the record's own timestamp, and these
	// records carry CreateTime an hour in the past. The context bounds the wait instead.
	// franz-go compresses with snappy by default; the other drivers send uncompressed unless told.
	opts = append([]kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression())}, opts...)
	cl := client(c, boot, opts...)
	defer cl.Close()
	out := make(L, len(recs))
	var wg sync.WaitGroup
	wait := 2 * T
	if c.produceWait > 0 {
		wait = c.produceWait
	}
	ctx, cancel := tctx(wait)
	defer cancel()
	for i, r := range recs {
		i := i
		kr := &kgo.Record{Topic: topic, Key: r.key, Value: r.value, Headers: r.headers, Partition: r.partition}
		if r.ts != 0 {
			kr.Timestamp = time.UnixMilli(r.ts)
		}
		wg.Add(1)
		cl.Produce(ctx, kr, func(kr *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				out[i] = L{nil, nil, ename(err)}
			} else {
				out[i] = L{kr.Partition, kr.Offset, "NONE"}
			}
		})
	}
	wg.Wait()
	return out
}

func recDict(c *ctxT, r *kgo.Record) M {
	hs := L{}
	for _, h := range r.Headers {
		hs = append(hs, L{h.Key, b2s(h.Value)})
	}
	var ts any = "log-append"
	tt := "LogAppendTime"
	if r.Attrs.TimestampType() == 0 {
		ts = r.Timestamp.UnixMilli() - c.t0
		tt = "CreateTime"
	}
	return M{"p": r.Partition, "offset": r.Offset, "key": b2s(r.Key), "value": b2s(r.Value), "headers": hs, "ts_type": tt, "ts": ts}
}

func readAll(c *ctxT, topic string, parts []int32, expect int, opts ...kgo.Opt) L {
	pm := map[int32]kgo.Offset{}
	for _, p := range parts {
		pm[p] = kgo.NewOffset().AtStart()
	}
	cl := client(c, "", append([]kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: pm})}, opts...)...)
	defer cl.Close()
	out := []M{}
	deadline := time.Now().Add(T)
	for len(out) < expect && time.Now().Before(deadline) {
		ctx, cancel := tctx(500 * time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { out = append(out, recDict(c, r)) })
	}
	c.check(len(out) == expect, fmt.Sprintf("read %d of %d records from %s", len(out), expect, topic))
	sort.Slice(out, func(i, j int) bool {
		if out[i]["p"].(int32) != out[j]["p"].(int32) {
			return out[i]["p"].(int32) < out[j]["p"].(int32)
		}
		return out[i]["offset"].(int64) < out[j]["offset"].(int64)
	})
	res := L{}
	for _, m := range out {
		res = append(res, m)
	}
	return res
}

func waitWritable(c *ctxT, a *kadm.Client, topic string) {
	deadline := time.Now().Add(T)
	for time.Now().Before(deadline) {
		ctx, cancel := tctx(3 * time.Second)
		lo, err := a.ListEndOffsets(ctx, topic)
		cancel()
		if err == nil {
			if o, ok := lo.Lookup(topic, 0); ok && o.Err == nil {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func compression(name string) kgo.CompressionCodec {
	switch name {
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func acksOpt(acks string) []kgo.Opt {
	switch acks {
	case "0":
		return []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}
	case "1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}
	}
	return []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite()}
}

func sp(s string) *string { return &s }

// ------------------------------------------------------------------------------------ scenarios

// Produce 5 keyed records with CreateTime timestamps for every acks (0, 1, all) x compression and read them back.
func produceFetch(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	obs := M{}
	names := []string{}
	for _, acks := range []string{"1", "all", "0"} {
		for _, comp := range compressions {
			names = append(names, c.topic("pf-"+acks+"-"+comp))
		}
	}
	create(c, a, names, 1, nil, 1, false)
	for _, acks := range []string{"1", "all", "0"} {
		for _, comp := range compressions {
			t := c.topic("pf-" + acks + "-" + comp)
			if acks == "0" {
				waitWritable(c, a, t)
			}
			recs := []rec{}
			for i := 0; i < 5; i++ {
				recs = append(recs, rec{key: []byte(fmt.Sprintf("k%d", i)), value: []byte(strings.Repeat(fmt.Sprintf("value-%d-%s-", i, comp), 20)), ts: c.t0 + int64(10*i)})
			}
			rep := produce(c, "", t, recs, append(acksOpt(acks), kgo.ProducerBatchCompression(compression(comp)))...)
			var delivery any = rep
			if acks == "0" {
				delivery = "acks=0"
			} else {
				for i, r := range rep {
					c.check(r.(L)[1] == int64(i), fmt.Sprintf("acks=%s %s: offsets %v", acks, comp, rep))
				}
			}
			obs["acks="+acks+" "+comp] = M{"delivery": delivery, "records": readAll(c, t, []int32{0}, 5)}
		}
	}
	return obs
}

// Record headers survive a round trip: order, duplicate keys, empty, null and binary values, and a record without headers.
func headers(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("headers")
	create(c, a, []string{t}, 1, nil, 1, false)
	hs := []kgo.RecordHeader{{Key: "h1", Value: []byte("a")}, {Key: "h1", Value: []byte("b")}, {Key: "empty", Value: []byte{}}, {Key: "nullv", Value: nil}, {Key: "bin", Value: []byte{0, 0xff}}}
	rep := produce(c, "", t, []rec{{key: []byte("k"), value: []byte("v"), headers: hs, ts: c.t0}, {key: []byte("k2"), value: []byte("v2"), ts: c.t0 + 1}}, acksOpt("all")...)
	return M{"delivery": rep, "records": readAll(c, t, []int32{0}, 2)}
}

// Null keys, null values (tombstones) and empty keys/values are kept distinct on a round trip.
func nullKeyValue(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("nulls")
	create(c, a, []string{t}, 1, nil, 1, false)
	rep := produce(c, "", t, []rec{{key: nil, value: []byte("v"), ts: c.t0}, {key: []byte("k"), value: nil, ts: c.t0 + 1}, {key: []byte{}, value: []byte{}, ts: c.t0 + 2}, {ts: c.t0 + 3}}, acksOpt("all")...)
	return M{"delivery": rep, "records": readAll(c, t, []int32{0}, 4)}
}

// A 1,000,000-byte value is accepted and read back; a 1,100,000-byte one is refused with MESSAGE_TOO_LARGE.
func messageSize(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("size")
	create(c, a, []string{t}, 1, nil, 1, false)
	opts := append(acksOpt("all"), kgo.ProducerBatchMaxBytes(4<<20), kgo.RecordRetries(0))
	near := produce(c, "", t, []rec{{key: []byte("near"), value: make([]byte, 1_000_000), ts: c.t0}}, opts...)
	over := produce(c, "", t, []rec{{key: []byte("over"), value: make([]byte, 1_100_000), ts: c.t0}}, opts...)
	c.check(over[0].(L)[2] == "MESSAGE_TOO_LARGE", fmt.Sprintf("over-limit %v", over))
	return M{"near": near, "over": over, "read": readAll(c, t, []int32{0}, 1, kgo.FetchMaxBytes(4<<20), kgo.FetchMaxPartitionBytes(4<<20))}
}

// ListOffsets: start, end, and the first offset at or after a timestamp (before, at, between, after the records).
func listOffsets(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("listoff")
	create(c, a, []string{t}, 1, nil, 1, false)
	recs := []rec{}
	for i := 0; i < 3; i++ {
		recs = append(recs, rec{key: []byte("k"), value: []byte(fmt.Sprintf("v%d", i)), ts: c.t0 + 1000*int64(i+1)})
	}
	produce(c, "", t, recs, acksOpt("all")...)
	ctx, cancel := tctx(T)
	defer cancel()
	one := func(lo kadm.ListedOffsets, err error) any {
		if err != nil {
			return ename(err)
		}
		o, _ := lo.Lookup(t, 0)
		if o.Err != nil {
			return ename(o.Err)
		}
		var ts any = o.Timestamp
		if o.Timestamp >= 0 {
			ts = o.Timestamp - c.t0
		}
		return L{o.Offset, ts}
	}
	obs := M{"start": one(a.ListStartOffsets(ctx, t)), "end": one(a.ListEndOffsets(ctx, t))}
	for name, ts := range map[string]int64{"before": c.t0, "exact-2nd": c.t0 + 2000, "between": c.t0 + 2500, "after": c.t0 + 9000} {
		obs["after-milli-"+name] = one(a.ListOffsetsAfterMilli(ctx, ts, t))
	}
	return obs
}

// CreateTopics (config, duplicate, validate-only, 0 partitions, rf 3), metadata shape, CreatePartitions (grow, shrink), DeleteTopics.
func adminTopics(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("adm")
	x := func(m M) M {
		o := M{}
		for k, v := range m {
			if k == t {
				k = "X"
			}
			o[strings.Replace(k, c.topic(""), "", 1)] = v
		}
		return o
	}
	obs := M{}
	obs["create"] = x(create(c, a, []string{t}, 3, map[string]*string{"retention.ms": sp("123456")}, 1, false))
	obs["create-dup"] = x(create(c, a, []string{t}, 3, nil, 1, false))
	obs["validate-only"] = x(create(c, a, []string{c.topic("adm-validate")}, 2, nil, 1, true))
	obs["zero-partitions"] = x(create(c, a, []string{c.topic("adm-zero")}, 0, nil, 1, false))
	obs["replication-factor-3"] = x(create(c, a, []string{c.topic("adm-rf3")}, 1, nil, 3, false))
	ctx, cancel := tctx(T)
	defer cancel()
	md, _ := a.Metadata(ctx, c.topic("adm-validate"), t)
	obs["validate-only-exists"] = md.Topics[c.topic("adm-validate")].Err == nil
	parts := L{}
	for _, p := range md.Topics[t].Partitions.Sorted() {
		leaderIn := false
		for _, r := range p.Replicas {
			leaderIn = leaderIn || r == p.Leader
		}
		parts = append(parts, L{p.Partition, ename(p.Err), len(p.Replicas), len(p.ISR), leaderIn})
	}
	obs["describe"] = M{"internal": md.Topics[t].IsInternal, "partitions": parts}
	pr := func(rs kadm.CreatePartitionsResponses, err error) any {
		if err != nil {
			return ename(err)
		}
		return ename(rs[t].Err)
	}
	obs["create-partitions-5"] = pr(a.UpdatePartitions(ctx, 5, t))
	obs["create-partitions-shrink"] = pr(a.UpdatePartitions(ctx, 2, t))
	waitTopics(a, []string{t}, 5)
	md, _ = a.Metadata(ctx, t)
	obs["partitions-after"] = len(md.Topics[t].Partitions)
	dr := func(name string) any {
		rs, err := a.DeleteTopics(ctx, name)
		if err != nil {
			return ename(err)
		}
		return ename(rs[name].Err)
	}
	obs["delete"] = dr(t)
	obs["delete-unknown"] = dr(c.topic("never-created"))
	gone := false
	deadline := time.Now().Add(T)
	for !gone && time.Now().Before(deadline) {
		ts, err := a.ListTopics(ctx)
		gone = err == nil && !ts.Has(t)
		time.Sleep(100 * time.Millisecond)
	}
	obs["gone-after-delete"] = gone
	return obs
}

// DescribeConfigs (common keys compared), IncrementalAlterConfigs SET/DELETE, unknown key, cleanup.policy=compact.
func describeConfigs(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("cfg")
	obs := M{}
	obs["create"] = create(c, a, []string{t}, 1, map[string]*string{"max.message.bytes": sp("500000"), "retention.ms": sp("86400000")}, 1, false)[t]
	obs["create-compact"] = create(c, a, []string{c.topic("cfg-compact")}, 1, map[string]*string{"cleanup.policy": sp("compact")}, 1, false)[c.topic("cfg-compact")]
	ctx, cancel := tctx(T)
	defer cancel()
	describe := func() M {
		rs, err := a.DescribeTopicConfigs(ctx, t)
		out := M{}
		if err != nil || len(rs) == 0 {
			return M{"error": ename(err)}
		}
		for _, cf := range rs[0].Configs {
			var v any
			if cf.Value != nil {
				v = *cf.Value
			}
			out[cf.Key] = M{"value": v, "source": cf.Source.String(), "sensitive": cf.Sensitive}
		}
		return out
	}
	obs["configs"] = describe()
	alter := func(ops []kadm.AlterConfig) any {
		rs, err := a.AlterTopicConfigs(ctx, ops, t)
		if err != nil {
			return ename(err)
		}
		return ename(rs[0].Err)
	}
	obs["alter"] = alter([]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: sp("3600000")}, {Op: kadm.DeleteConfig, Name: "max.message.bytes"}})
	after := describe()
	obs["after"] = M{"retention.ms": after["retention.ms"], "max.message.bytes": after["max.message.bytes"]}
	obs["alter-unknown-key"] = alter([]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "no.such.config", Value: sp("1")}})
	return obs
}

// CreateTopics with invalid names is refused with the same error per name; a valid one is accepted.
func invalidTopicNames(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	out := M{}
	for _, n := range invalidNames {
		key := n
		if len(n) >= 20 {
			key = fmt.Sprintf("<%d chars>", len(n))
		}
		out[key] = create(c, a, []string{n}, 1, nil, 1, false)[n]
	}
	return out
}

// With auto-create on, producing to an unknown topic creates it with 1 partition; the record lands at offset 0.
func unknownTopicAutocreate(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("auto")
	ctx, cancel := tctx(T)
	defer cancel()
	ts, _ := a.ListTopics(ctx)
	before := ts.Has(t)
	rep := produce(c, "", t, []rec{{key: []byte("k"), value: []byte("v"), ts: c.t0}}, append(acksOpt("all"), kgo.AllowAutoTopicCreation())...)
	waitTopics(a, []string{t}, 1)
	md, _ := a.Metadata(ctx, t)
	return M{"listed-before": before, "delivery": rep, "partitions": len(md.Topics[t].Partitions), "read": readAll(c, t, []int32{0}, 1)}
}

// With auto-create off, producing to an unknown topic fails and the topic stays unknown.
func unknownTopicNoAutocreate(c *ctxT) any {
	t := c.topic("noauto")
	c.produceWait = 4 * time.Second
	rep := produce(c, c.noAuto, t, []rec{{value: []byte("v")}}, append(acksOpt("all"), kgo.AllowAutoTopicCreation())...)
	c.produceWait = 0
	a, acl := admin(c, c.noAuto)
	defer acl.Close()
	ctx, cancel := tctx(T)
	defer cancel()
	ts, _ := a.ListTopics(ctx)
	c.check(rep[0].(L)[2] != "NONE", "produce to an unknown topic succeeded")
	return M{"produce": rep[0].(L)[2], "listed-after": ts.Has(t)}
}

// Metadata: one broker at the bootstrap address that is the controller, a cluster id; every partition led by it.
func metadataShape(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("md")
	create(c, a, []string{t}, 3, nil, 1, false)
	ctx, cancel := tctx(T)
	defer cancel()
	md, err := a.Metadata(ctx, t)
	if err != nil {
		return M{"error": ename(err)}
	}
	b := md.Brokers[0]
	hp := strings.Split(c.boot, ":")
	port, _ := strconv.Atoi(hp[1])
	parts := M{}
	for _, p := range md.Topics[t].Partitions.Sorted() {
		reps, isr := L{}, L{}
		for _, r := range p.Replicas {
			reps = append(reps, r == b.NodeID)
		}
		for _, r := range p.ISR {
			isr = append(isr, r == b.NodeID)
		}
		parts[strconv.Itoa(int(p.Partition))] = M{"leader-is-broker": p.Leader == b.NodeID, "replicas": reps, "isr": isr, "error": ename(p.Err)}
	}
	return M{"brokers": len(md.Brokers), "broker-address-is-bootstrap": b.Host == hp[0] && int(b.Port) == port,
		"controller-is-broker": md.Controller == b.NodeID, "has-cluster-id": md.Cluster != "", "partitions": parts}
}

// CreateTime 3 days in the past accepted; 2 h in the future against message.timestamp.after.max.ms; LogAppendTime topic.
func timestamps(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t, tl := c.topic("ts"), c.topic("ts-logappend")
	create(c, a, []string{t}, 1, nil, 1, false)
	create(c, a, []string{tl}, 1, map[string]*string{"message.timestamp.type": sp("LogAppendTime")}, 1, false)
	now := time.Now().UnixMilli()
	past := produce(c, "", t, []rec{{key: []byte("past"), value: []byte("v"), ts: now - 3*86400_000}}, acksOpt("all")...)
	future := produce(c, "", t, []rec{{key: []byte("future"), value: []byte("v"), ts: now + 2*3600_000}}, append(acksOpt("all"), kgo.RecordRetries(0))...)
	la := produce(c, "", tl, []rec{{key: []byte("k"), value: []byte("v"), ts: c.t0}}, acksOpt("all")...)
	return M{"past": past, "future": future, "log-append-delivery": la, "log-append-read": readAll(c, tl, []int32{0}, 1)}
}

func groupClient(c *ctxT, g, t string) *kgo.Client {
	return client(c, "", kgo.ConsumerGroup(g), kgo.ConsumeTopics(t), kgo.Balancers(kgo.RangeBalancer()),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(500*time.Millisecond))
}

// A group member reads everything and commits; a new member resumes from the committed offsets.
func consumerGroup(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t, g := c.topic("grp"), "compat-franz-go-grp"
	create(c, a, []string{t}, 4, nil, 1, false)
	for p := int32(0); p < 4; p++ {
		recs := []rec{}
		for i := 0; i < 5; i++ {
			recs = append(recs, rec{key: []byte(fmt.Sprintf("k%d-%d", p, i)), value: []byte(fmt.Sprintf("v%d-%d", p, i)), ts: c.t0 + int64(i), partition: p})
		}
		produce(c, "", t, recs, acksOpt("all")...)
	}
	poll := func(cl *kgo.Client, want int, d time.Duration) []L {
		out := []L{}
		deadline := time.Now().Add(d)
		for len(out) < want && time.Now().Before(deadline) {
			ctx, cancel := tctx(500 * time.Millisecond)
			fs := cl.PollFetches(ctx)
			cancel()
			fs.EachRecord(func(r *kgo.Record) { out = append(out, L{r.Partition, r.Offset, b2s(r.Value)}) })
		}
		return out
	}
	c1 := groupClient(c, g, t)
	first := poll(c1, 20, 45*time.Second)
	ctx, cancel := tctx(T)
	defer cancel()
	cerr := c1.CommitUncommittedOffsets(ctx)
	c1.LeaveGroup()
	c1.Close()
	for p := int32(0); p < 4; p++ {
		produce(c, "", t, []rec{{key: []byte("new"), value: []byte(fmt.Sprintf("new-%d", p)), ts: c.t0 + 100, partition: p}}, acksOpt("all")...)
	}
	c2 := groupClient(c, g, t)
	second := poll(c2, 4, 45*time.Second)
	second = append(second, poll(c2, 1000, time.Second)...)
	c2.LeaveGroup()
	c2.Close()
	offs, err := a.FetchOffsets(ctx, g)
	committed := L{}
	if err != nil {
		committed = append(committed, ename(err))
	}
	for p := int32(0); p < 4; p++ {
		if o, ok := offs.Lookup(t, p); ok {
			committed = append(committed, L{p, o.At})
		}
	}
	less := func(s []L) func(i, j int) bool {
		return func(i, j int) bool {
			if s[i][0].(int32) != s[j][0].(int32) {
				return s[i][0].(int32) < s[j][0].(int32)
			}
			return s[i][1].(int64) < s[j][1].(int64)
		}
	}
	sort.Slice(first, less(first))
	sort.Slice(second, less(second))
	c.check(len(first) == 20, fmt.Sprintf("first member read %d of 20", len(first)))
	c.check(len(second) == 4, fmt.Sprintf("resumed read %v", second))
	return M{"first": first, "commit": ename(cerr), "committed": committed, "second": second}
}

// Two members on a 6-partition topic (range): 3 + 3, disjoint, complete; when one leaves the other gets all 6.
func groupRebalance(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t, g := c.topic("rebal"), "compat-franz-go-rebal"
	create(c, a, []string{t}, 6, nil, 1, false)
	var mu sync.Mutex
	assigns := [2][]int32{}
	stops := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	done := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	for i := 0; i < 2; i++ {
		i := i
		go func() {
			defer close(done[i])
			cl := client(c, "", kgo.ConsumerGroup(g), kgo.ConsumeTopics(t), kgo.Balancers(kgo.RangeBalancer()),
				kgo.DisableAutoCommit(), kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
				kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
					mu.Lock()
					assigns[i] = append(assigns[i], m[t]...)
					mu.Unlock()
				}),
				kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
					mu.Lock()
					assigns[i] = nil
					mu.Unlock()
				}))
			defer cl.Close()
			deadline := time.Now().Add(80 * time.Second)
			for time.Now().Before(deadline) {
				select {
				case <-stops[i]:
					cl.LeaveGroup()
					return
				default:
				}
				ctx, cancel := tctx(100 * time.Millisecond)
				cl.PollFetches(ctx)
				cancel()
			}
		}()
	}
	snapshot := func() ([]int32, []int32) {
		mu.Lock()
		defer mu.Unlock()
		a0 := append([]int32{}, assigns[0]...)
		a1 := append([]int32{}, assigns[1]...)
		return a0, a1
	}
	start := time.Now()
	var a0, a1 []int32
	stable := time.Time{}
	for time.Since(start) < 40*time.Second {
		a0, a1 = snapshot()
		set := map[int32]bool{}
		for _, p := range append(append([]int32{}, a0...), a1...) {
			set[p] = true
		}
		if len(a0) > 0 && len(a1) > 0 && len(set) == 6 && len(a0)+len(a1) == 6 {
			if stable.IsZero() {
				stable = time.Now()
			}
			if time.Since(stable) > time.Second {
				break
			}
		} else {
			stable = time.Time{}
		}
		time.Sleep(100 * time.Millisecond)
	}
	set := map[int32]bool{}
	for _, p := range append(append([]int32{}, a0...), a1...) {
		set[p] = true
	}
	counts := []int{len(a0), len(a1)}
	sort.Ints(counts)
	two := M{"counts": counts, "disjoint": len(set) == len(a0)+len(a1), "complete": len(set) == 6}
	c.info["two-members-after-ms"] = time.Since(start).Milliseconds()
	close(stops[1])
	<-done[1]
	var alone []int32
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		alone, _ = snapshot()
		if len(alone) == 6 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stops[0])
	<-done[0]
	sort.Slice(alone, func(i, j int) bool { return alone[i] < alone[j] })
	c.check(counts[0] == 3 && counts[1] == 3, fmt.Sprintf("two members: %v", two))
	return M{"two-members": two, "after-leave": alone}
}

// Idempotent producer (franz-go's default): 10 records at offsets 0..9, read back once each.
func idempotentProducer(c *ctxT) any {
	a, acl := admin(c, "")
	defer acl.Close()
	t := c.topic("idem")
	create(c, a, []string{t}, 1, nil, 1, false)
	recs := []rec{}
	for i := 0; i < 10; i++ {
		recs = append(recs, rec{key: []byte(fmt.Sprintf("k%d", i)), value: []byte(fmt.Sprintf("v%d", i)), ts: c.t0 + int64(i)})
	}
	rep := produce(c, "", t, recs, kgo.RequiredAcks(kgo.AllISRAcks()))
	return M{"delivery": rep, "records": readAll(c, t, []int32{0}, 10)}
}

var _ = kmsg.ConfigSourceDefaultConfig

type scenario struct {
	name string
	fn   func(*ctxT) any
}

var scenarios = []scenario{
	{"produce_fetch", produceFetch}, {"headers", headers}, {"null_key_value", nullKeyValue}, {"message_size", messageSize},
	{"list_offsets", listOffsets}, {"admin_topics", adminTopics}, {"describe_configs", describeConfigs},
	{"invalid_topic_names", invalidTopicNames}, {"unknown_topic_autocreate", unknownTopicAutocreate},
	{"unknown_topic_no_autocreate", unknownTopicNoAutocreate}, {"metadata_shape", metadataShape}, {"timestamps", timestamps},
	{"consumer_group", consumerGroup}, {"group_rebalance", groupRebalance}, {"idempotent_producer", idempotentProducer},
}

func main() {
	boot := flag.String("bootstrap", "", "")
	broker := flag.String("broker", "", "")
	out := flag.String("out", "", "")
	noAuto := flag.String("no-autocreate-bootstrap", "", "")
	var only multi
	flag.Var(&only, "scenario", "")
	flag.Parse()
	timeoutS := 90
	if v, err := strconv.Atoi(os.Getenv("COMPAT_SCENARIO_TIMEOUT_S")); err == nil {
		timeoutS = v
	}
	dir := filepath.Join(*out, "franz-go")
	os.MkdirAll(dir, 0o755)
	worst := 0
	for _, s := range scenarios {
		if len(only) > 0 && !only.has(s.name) {
			continue
		}
		c := &ctxT{boot: *boot, noAuto: *noAuto, t0: (time.Now().Unix() - 3600) * 1000, info: M{}}
		rec := M{"client": "franz-go", "scenario": s.name, "broker": *broker, "doc": "", "observed": nil, "error": nil}
		start := time.Now()
		if s.name == "unknown_topic_no_autocreate" && *noAuto == "" {
			rec["status"], rec["error"] = "skipped", "no broker with auto-create off was given"
		} else {
			type res struct {
				v   any
				err any
			}
			ch := make(chan res, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						ch <- res{nil, fmt.Sprintf("panic: %v", r)}
					}
				}()
				ch <- res{s.fn(c), nil}
			}()
			select {
			case r := <-ch:
				if r.err != nil {
					rec["status"], rec["error"] = "error", r.err
				} else {
					rec["status"], rec["observed"] = "ok", r.v
				}
			case <-time.After(time.Duration(timeoutS) * time.Second):
				rec["status"], rec["error"] = "error", fmt.Sprintf("ScenarioTimeout: scenario exceeded %ds", timeoutS)
			}
		}
		checks := append([]string{}, c.checks...)
		rec["checks_failed"] = checks
		rec["info"] = c.info
		rec["seconds"] = float64(time.Since(start).Milliseconds()) / 1000
		b, err := json.MarshalIndent(rec, "", " ")
		if err != nil {
			b, _ = json.Marshal(M{"client": "franz-go", "scenario": s.name, "broker": *broker, "status": "error", "error": "json: " + err.Error(), "checks_failed": L{}, "doc": ""})
		}
		os.WriteFile(filepath.Join(dir, s.name+"."+*broker+".json"), b, 0o644)
		verdict := rec["status"].(string)
		if len(checks) > 0 {
			verdict = "checks-failed"
		}
		if verdict != "ok" && verdict != "skipped" {
			worst = 1
		}
		fmt.Printf("[franz-go @ %s] %s: %s (%.2fs) %v %v\n", *broker, s.name, verdict, rec["seconds"], rec["error"], checks)
	}
	os.Exit(worst)
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
func (m multi) has(v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}
