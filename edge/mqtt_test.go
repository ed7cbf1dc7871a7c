package edge

import (
	"context"
	"log/slog"
	"strings"
	"sync"
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

// A filter that names the wrong topics (here the README's old
// cars/+/telemetry while the simulator publishes pw/CAR/frames) is
// reported once, after the source's quiet time, instead of leaving the
// edge at 0 frames/s with no hint.
func TestMQTTWrongFilterWarns(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	mq := startMosquitto(t)
	cfg := testConfig(t, b.Addr, "mqtt://"+mq+"/cars/+/telemetry")
	logs := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, _ := startEdge(t, cfg)
	waitFor(t, "the MQTT source subscribed", func() bool { return e.sources[0].stats.up.Load() })
	sim := simulator.Config{Cars: 1, Duration: time.Second, Seed: 9, Out: "mqtt://" + mq + "/pw", Logger: quietLogger()}
	if err := simulator.Run(context.Background(), sim); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the quiet-subscription warning", func() bool {
		return strings.Contains(logs.String(), "no message matched the subscription yet")
	})
	if n := strings.Count(logs.String(), "no message matched"); n != 1 {
		t.Fatalf("warned %d times:\n%s", n, logs.String())
	}
}

// lockedBuffer is a log destination a test can read while the edge writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
