package processors_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// logBuffer collects a processor's log lines for a test to wait on.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// waitFor waits until a logged line contains s.
func (l *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		found := strings.Contains(l.buf.String(), s)
		l.mu.Unlock()
		if found {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("no log line with %q:\n%s", s, l.buf.String())
}

// A processor started while the broker is down waits for it, as the edge
// does, and times every lap once the broker is back.
func TestProcessorWaitsForBroker(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	truth := simulate(t, b.Addr)
	b.Stop(t)
	logs := &logBuffer{}
	cfg := config(t, b.Addr, "late-broker", nil)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	startProcessor(t, cfg)
	logs.waitFor(t, "no broker reachable yet")
	b.Restart(t)
	checkTruth(t, waitLaps(t, b.Addr, "late-broker", len(truth)), truth)
}
