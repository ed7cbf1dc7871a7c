package edge

import (
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// SIGTERM right after the frames arrive: the edge process waits for the
// broker to acknowledge everything it took, exits with status 0, and the
// topic holds every frame.
func TestSIGTERMFlushesAndExits(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	master, slavePath := openPTY(t)
	cfg := testConfig(t, b.Addr, "serial:"+slavePath)
	cfg.Producer.Linger = 200 * time.Millisecond // records still wait in the producer at SIGTERM
	c := startChild(t, cfg)
	c.waitMetric(t, `edge_source_up{source="serial:`+slavePath+`"}`, 1)

	want, _ := simFrames(t, simulator.Config{Cars: 2, Duration: 500 * time.Millisecond, Seed: 4})
	var lines [][]byte
	for _, car := range []string{"car01", "car02"} {
		for i := range want[car] {
			l, _ := telemetry.AppendFrameLine(nil, &want[car][i])
			lines = append(lines, l)
		}
	}
	writeLines(t, master, lines)
	c.waitMetric(t, `edge_frames_received_total{source="serial:`+slavePath+`"}`, float64(len(lines)))
	c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.done
	if code := c.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	got := framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions)
	for car := range want { // the serial lines carried no catalog: no session
		for i := range want[car] {
			want[car][i].Session = ""
		}
	}
	sameFrames(t, got, want, true)
}

// The status line comes every StatusEvery and says what an operator needs:
// frames/s per source and whether it is up, acknowledgements, latency,
// spool depth, the last error.
func TestStatusLine(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	a, _, _ := socatPair(t)
	logs := &logCounter{msgs: map[string]int{}}
	cfg := testConfig(t, b.Addr, "serial:"+a, "serial:/nonexistent/tty")
	cfg.StatusEvery = 20 * time.Millisecond
	cfg.Logger = slog.New(logs)
	e, _ := startEdge(t, cfg)
	waitFor(t, "a status line with both sources", func() bool {
		return logs.count("edge: serial:"+a+" up:") > 0
	})
	waitFor(t, "the broker connected", func() bool { return e.brokerUp.Load() })
	line := e.statusLine(&statusState{at: time.Now().Add(-time.Second), frames: map[string][3]int64{}})
	for _, want := range []string{"serial:" + a + " up: read 0 spooled 0 dropped 0 fr/s (bad 0)", "serial:/nonexistent/tty down", "broker up: acked 0 fr/s 0 samples/s p99", "spool 0 records unacked, 0.0 MiB on disk", "last error: serial:/nonexistent/tty: "} {
		if !strings.Contains(line, want) {
			t.Fatalf("status line %q lacks %q", line, want)
		}
	}
}
