package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactedTopic: a topic created with cleanup.policy=compact keeps
// the latest value of every key once compaction has run, offsets kept; a
// consumer reading from the start sees each key's latest value last.
func TestCompactedTopic(t *testing.T) {
	s := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.topics.Create("channels", 1, map[string]string{
		"cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01",
	}, false); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr()), kgo.DefaultProduceTopic("channels"), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const keys, rounds = 10, 30
	for r := 0; r < rounds; r++ {
		for k := 0; k < keys; k++ {
			rec := &kgo.Record{Key: []byte(fmt.Sprint("car", k)), Value: []byte(fmt.Sprintf("catalog-v%02d", r))}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	l := s.topics.Lookup("channels").Partitions()[0].Log()
	before := l.Size()
	s.topics.Compact()
	after := l.Size()
	if after >= before {
		t.Fatalf("compaction did not shrink the log: %d -> %d bytes", before, after)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(s.Addr()), kgo.ConsumeTopics("channels"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	latest := map[string]string{}
	lastOffset, n := int64(-1), 0
	for lastOffset < keys*rounds-1 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset <= lastOffset {
				t.Fatalf("offset %d after %d", r.Offset, lastOffset)
			}
			lastOffset = r.Offset
			latest[string(r.Key)] = string(r.Value)
			n++
		})
	}
	for k := 0; k < keys; k++ {
		if got := latest[fmt.Sprint("car", k)]; got != fmt.Sprintf("catalog-v%02d", rounds-1) {
			t.Errorf("car%d: latest %q", k, got)
		}
	}
	if n >= keys*rounds {
		t.Errorf("read %d records, compaction removed none", n)
	}
	t.Logf("log %d -> %d bytes; %d of %d records remain", before, after, n, keys*rounds)
}
