package edge

import (
	"context"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// Simulator → socat pty → edge → broker: every frame arrives, in order per
// car, each car on the one partition murmur2 gives it; the catalogs are on
// the catalog topic.
func TestSerialSimulatorToBroker(t *testing.T) {
	t.Parallel()
	start := time.Now()
	b := brokertest.Start(t)
	a, bEnd, _ := socatPair(t)
	e, stop := startEdge(t, testConfig(t, b.Addr, "serial:"+a+"?baud=115200"))

	cfg := simulator.Config{Cars: 3, Duration: 2 * time.Second, Seed: 7, Out: "serial:" + bEnd, Logger: quietLogger()}
	want, cats := simFrames(t, cfg)
	if err := simulator.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	n := countFrames(want)
	waitFor(t, "every frame acknowledged", func() bool { return e.ackedFrames.Load() >= int64(n) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	recs := readTopic(t, b.Addr, telemetry.TopicFrames)
	got := framesByCar(t, recs, telemetry.DefaultPartitions)
	sameFrames(t, got, want, true)
	for _, r := range recs { // the record timestamp is when the edge received the frame
		if r.ts.Before(start.Truncate(time.Millisecond)) || r.ts.After(time.Now()) {
			t.Fatalf("record %d/%d has timestamp %v, not a receive time within the test", r.partition, r.offset, r.ts)
		}
	}

	codec := telemetry.MustNewCodec()
	catRecs := readTopic(t, b.Addr, telemetry.TopicChannels)
	if len(catRecs) != len(cats) {
		t.Fatalf("%d catalog records, want %d (one per car; repeats are not republished)", len(catRecs), len(cats))
	}
	for _, r := range catRecs {
		var c telemetry.ChannelCatalog
		if err := codec.DecodeCatalog(r.value, &c); err != nil {
			t.Fatal(err)
		}
		if c.Car != r.key || len(c.Channels) != len(cats[0].Channels) || c.Session != cats[0].Session {
			t.Fatalf("catalog %+v under key %s", c, r.key)
		}
	}
}
