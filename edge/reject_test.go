package edge

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// A record the broker refuses outright (here: a frames topic whose
// max.message.bytes no frame fits) is tried three times, then goes to the
// dead-letter topic with its bytes, the topic it was for and the reason,
// and holds nothing up: the catalog records behind it are delivered and
// the spool empties.
func TestRefusedRecordGoesToDeadLetter(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := telemetry.Topic(telemetry.TopicFrames)
	spec.Partitions = 1
	spec.Configs = map[string]string{"max.message.bytes": "200"}
	if err := admin.EnsureTopicsKgo(context.Background(), cl, spec); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	a, bEnd, _ := socatPair(t)
	cfg := testConfig(t, b.Addr, "serial:"+a)
	e, stop := startEdge(t, cfg)

	want, cats := simFrames(t, simulator.Config{Cars: 1, Duration: 50 * time.Millisecond, Seed: 3})
	frames := want["car01"]
	var out bytes.Buffer
	for i, ch := range cats[0].Channels {
		l, _ := telemetry.AppendChannelLine(nil, &telemetry.ChannelLine{Car: cats[0].Car, Session: cats[0].Session, Index: i + 1, Count: len(cats[0].Channels), Channel: ch})
		out.Write(l)
	}
	for i := range frames {
		l, _ := telemetry.AppendFrameLine(nil, &frames[i])
		out.Write(l)
	}
	port, err := os.OpenFile(bEnd, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if _, err := port.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}

	dl := e.metrics.acked.WithLabelValues(telemetry.TopicDeadLetter)
	waitFor(t, "a dead letter per frame", func() bool { return testutil.ToFloat64(dl) >= float64(len(frames)) })
	waitFor(t, "the catalog acknowledged", func() bool {
		return testutil.ToFloat64(e.metrics.acked.WithLabelValues(telemetry.TopicChannels)) >= 1
	})
	waitFor(t, "an empty spool", func() bool { return e.spool.Stats().Depth == 0 })
	if n := testutil.ToFloat64(e.metrics.bad.WithLabelValues("edge", source.ReasonProduceRejected)); n != float64(len(frames)) {
		t.Errorf("edge_bad_input_total{reason=%s} = %v, want %d", source.ReasonProduceRejected, n, len(frames))
	}
	// Each frame was refused at least three times before it was given up.
	if n := testutil.ToFloat64(e.metrics.produceErrs.WithLabelValues("MESSAGE_TOO_LARGE")); n < float64(3*len(frames)) {
		t.Errorf("edge_produce_errors_total{error=MESSAGE_TOO_LARGE} = %v, want >= %d", n, 3*len(frames))
	}
	if e.ackedFrames.Load() != 0 {
		t.Errorf("%d frames acknowledged on a topic that refuses them", e.ackedFrames.Load())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	dead := readTopic(t, b.Addr, telemetry.TopicDeadLetter)
	if len(dead) != len(frames) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(frames))
	}
	codec := telemetry.MustNewCodec()
	seen := map[int64]bool{}
	for _, r := range dead {
		if r.headers[telemetry.HeaderReason] != source.ReasonProduceRejected || r.headers["topic"] != telemetry.TopicFrames ||
			r.headers["key"] != "car01" || r.headers["error"] == "" {
			t.Fatalf("dead letter headers %v", r.headers)
		}
		var f telemetry.Frame
		if err := codec.DecodeFrame(r.value, &f); err != nil {
			t.Fatalf("a dead letter's value is not the frame: %v", err)
		}
		seen[f.Seq] = true
	}
	for _, f := range frames {
		if !seen[f.Seq] {
			t.Errorf("frame %d has no dead letter", f.Seq)
		}
	}
}
