package edge

import (
	"context"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// Simulator → Mosquitto → edge → broker: every frame arrives, sessions
// included, in order per car, one partition per car; the retained catalogs
// reach the catalog topic.
func TestMQTTSimulatorToBroker(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	mq := startMosquitto(t)
	e, stop := startEdge(t, testConfig(t, b.Addr, "mqtt://"+mq+"/pw/+/#"))
	waitFor(t, "the MQTT source subscribed", func() bool { return e.sources[0].stats.up.Load() })

	cfg := simulator.Config{Cars: 3, Duration: 2 * time.Second, Seed: 9, Out: "mqtt://" + mq + "/pw", Logger: quietLogger()}
	want, cats := simFrames(t, cfg)
	if err := simulator.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	n := countFrames(want)
	waitFor(t, "every frame acknowledged", func() bool { return e.ackedFrames.Load() >= int64(n) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions)
	sameFrames(t, got, want, true)
	if catRecs := readTopic(t, b.Addr, telemetry.TopicChannels); len(catRecs) != len(cats) {
		t.Fatalf("%d catalog records, want %d", len(catRecs), len(cats))
	}
}
