package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

func testCtx(t *testing.T) context.Context {
	// A hang guard only, far beyond what any test here needs.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	// Like Kafka, the broker auto-creates topics only when a Metadata
	// request allows it, which kgo does only when asked to.
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestKgoProduceConsumeKeyed produces keyed records with franz-go (its
// default sticky-key partitioner is murmur2, like Java's) and reads them
// back: each key lands on one partition, in the order produced.
func TestKgoProduceConsumeKeyed(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	prod := newKgo(t, b.Addr, kgo.DefaultProduceTopic("cars"), kgo.RequiredAcks(kgo.AllISRAcks()))
	const cars, perCar = 8, 200
	want := map[string][]string{}
	for i := 0; i < perCar; i++ {
		for c := 0; c < cars; c++ {
			key, val := fmt.Sprintf("car-%d", c), fmt.Sprintf("frame-%d", i)
			want[key] = append(want[key], val)
			prod.Produce(ctx, &kgo.Record{Key: []byte(key), Value: []byte(val)}, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce: %v", err)
				}
			})
		}
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	cons := newKgo(t, b.Addr, kgo.ConsumeTopics("cars"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string][]string{}
	partOf := map[string]int32{}
	lastOffset := map[int32]int64{}
	for n := 0; n < cars*perCar; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			key := string(r.Key)
			if p, ok := partOf[key]; ok && p != r.Partition {
				t.Errorf("key %s on partitions %d and %d", key, p, r.Partition)
			}
			partOf[key] = r.Partition
			if last, ok := lastOffset[r.Partition]; ok && r.Offset != last+1 {
				t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, last)
			}
			lastOffset[r.Partition] = r.Offset
			got[key] = append(got[key], string(r.Value))
		})
	}
	for key, vals := range want {
		if fmt.Sprint(got[key]) != fmt.Sprint(vals) {
			t.Errorf("key %s: got %d values out of order or missing", key, len(got[key]))
		}
	}
}

// TestKgoAcksAndCompression covers acks 0, 1 and all and every compression
// codec: batches are stored as received, so whatever the producer
// compressed the consumer decompresses.
func TestKgoAcksAndCompression(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	acks := map[string]kgo.Acks{"0": kgo.NoAck(), "1": kgo.LeaderAck(), "all": kgo.AllISRAcks()}
	for cname, codec := range codecs {
		for aname, ack := range acks {
			topic := "t-" + cname + "-" + aname
			opts := []kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(codec), kgo.RequiredAcks(ack)}
			if aname != "all" {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			prod := newKgo(t, b.Addr, opts...)
			for i := 0; i < 50; i++ {
				prod.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("v%03d-%s", i, topic))}, nil)
			}
			if err := prod.Flush(ctx); err != nil {
				t.Fatalf("%s: %v", topic, err)
			}
			cons := newKgo(t, b.Addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			seen := map[string]bool{}
			for len(seen) < 50 {
				fs := cons.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatalf("%s: %v", topic, err)
				}
				fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			}
			for i := 0; i < 50; i++ {
				if v := fmt.Sprintf("v%03d-%s", i, topic); !seen[v] {
					t.Errorf("%s: missing %s", topic, v)
				}
			}
		}
	}
}

// TestListOffsets checks earliest, latest and by-timestamp lookups.
func TestListOffsets(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	prod := newKgo(t, b.Addr, kgo.DefaultProduceTopic("times"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 10; i++ {
		r := &kgo.Record{Value: []byte{byte(i)}, Timestamp: base.Add(time.Duration(i) * time.Second), Partition: 3}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		ts, want int64
	}{
		{-2, 0}, {-1, 10},
		{base.UnixMilli(), 0},
		{base.Add(4500 * time.Millisecond).UnixMilli(), 5},
		{base.Add(time.Hour).UnixMilli(), -1},
	}
	for _, c := range cases {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "times"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = 3, c.ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, prod)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil || p.Offset != c.want {
			t.Errorf("timestamp %d: offset %d err %v, want %d", c.ts, p.Offset, err, c.want)
		}
	}
}

// TestFetchLongPollWokenByAppend: a fetch waiting with a long MaxWait is
// answered with the record as soon as it is produced.
func TestFetchLongPollWokenByAppend(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.DefaultProduceTopic("poll"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("first"), Partition: 0}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 600_000 // longer than the hang guard: only a wake-up can answer in time
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "poll"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = 0, 1, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	type result struct {
		resp *kmsg.FetchResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := req.RequestWith(ctx, cl)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("fetch answered before anything was appended: %+v %v", r.resp, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("second"), Partition: 0}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	p := r.resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || len(p.RecordBatches) == 0 || p.HighWatermark != 2 {
		t.Fatalf("woken fetch: err %d, %d bytes, hw %d", p.ErrorCode, len(p.RecordBatches), p.HighWatermark)
	}
}

// TestFetchEmptyAndOutOfRange: an empty partition answers no records; an
// offset past the end is OFFSET_OUT_OF_RANGE. (That empty records are
// encoded as empty, not null, is checked on the wire in wire_test.go.)
func TestFetchEmptyAndOutOfRange(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr)
	mustCreate(t, cl, "empty", 2, nil)
	for _, c := range []struct {
		offset int64
		code   int16
	}{{0, 0}, {5, kerr.OffsetOutOfRange.Code}} {
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(11)
		req.MaxBytes = 1 << 20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "empty"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.FetchOffset, fp.PartitionMaxBytes = c.offset, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
		req.Topics = append(req.Topics, ft)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != c.code || len(p.RecordBatches) != 0 {
			t.Errorf("offset %d: code %d, %d record bytes; want code %d and no records", c.offset, p.ErrorCode, len(p.RecordBatches), c.code)
		}
	}
}

func mustCreate(t *testing.T, cl *kgo.Client, name string, partitions int32, configs map[string]string) {
	t.Helper()
	resp := createTopic(t, cl, name, partitions, configs)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

func createTopic(t *testing.T, cl *kgo.Client, name string, partitions int32, configs map[string]string) kmsg.CreateTopicsResponseTopic {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0]
}

// TestTopicAdmin: create with configs, describe them, refuse bad requests,
// delete; and the configs survive a restart.
func TestTopicAdmin(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.StartConfig(t, broker.Config{DisableAutoCreate: true})
	cl := newKgo(t, b.Addr)
	mustCreate(t, cl, "laps", 3, map[string]string{"retention.ms": "3600000", "cleanup.policy": "delete"})
	for _, c := range []struct {
		name       string
		partitions int32
		configs    map[string]string
		code       int16
	}{
		{"laps", 3, nil, kerr.TopicAlreadyExists.Code},
		{"bad/name", 1, nil, kerr.InvalidTopicException.Code},
		{"zero", 0, nil, kerr.InvalidPartitions.Code},
		{"typo", 1, map[string]string{"retention.mss": "1"}, kerr.InvalidConfig.Code},
		{"neg", 1, map[string]string{"segment.bytes": "-5"}, kerr.InvalidConfig.Code},
	} {
		if got := createTopic(t, cl, c.name, c.partitions, c.configs); got.ErrorCode != c.code {
			t.Errorf("create %s: code %d, want %d", c.name, got.ErrorCode, c.code)
		}
	}

	describe := func() map[string]kmsg.DescribeConfigsResponseResourceConfig {
		req := kmsg.NewPtrDescribeConfigsRequest()
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "laps"
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.Resources[0].ErrorCode != 0 {
			t.Fatalf("describe: %v %v", err, resp)
		}
		out := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
		for _, c := range resp.Resources[0].Configs {
			out[c.Name] = c
		}
		return out
	}
	check := func() {
		cfgs := describe()
		if c := cfgs["retention.ms"]; c.Value == nil || *c.Value != "3600000" || c.IsDefault {
			t.Errorf("retention.ms: %+v", c)
		}
		if c := cfgs["segment.bytes"]; c.Value == nil || *c.Value != "1073741824" || c.Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("segment.bytes: %+v", c)
		}
	}
	check()
	b.Restart(t)
	check()

	// Auto-create is off: producing to an unknown topic fails.
	prod := newKgo(t, b.Addr, kgo.DefaultProduceTopic("nope"), kgo.RecordRetries(0), kgo.ProduceRequestTimeout(2*time.Second))
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := prod.ProduceSync(short, &kgo.Record{Value: []byte("x")}).FirstErr(); err == nil {
		t.Error("produce to unknown topic with auto-create off succeeded")
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	for _, name := range []string{"laps", "missing"} {
		dt := kmsg.NewDeleteTopicsRequestTopic()
		dt.Topic = kmsg.StringPtr(name)
		del.Topics = append(del.Topics, dt)
	}
	dresp, err := del.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int16{}
	for _, tp := range dresp.Topics {
		codes[*tp.Topic] = tp.ErrorCode
	}
	if codes["laps"] != 0 || codes["missing"] != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("delete codes %v", codes)
	}
	md := kmsg.NewPtrMetadataRequest()
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range mresp.Topics {
		if *tp.Topic == "laps" {
			t.Error("laps still listed after delete")
		}
	}
}
