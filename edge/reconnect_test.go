package edge

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// logCounter counts log messages by their text.
type logCounter struct {
	mu   sync.Mutex
	msgs map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[r.Message]++
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) count(prefix string) (n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for m, c := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n += c
		}
	}
	return n
}

// The pty disappears (socat exits, its links vanish) and comes back under
// the same name a few seconds later, as a USB adapter does when unplugged
// and plugged in again: the edge reopens it, logs the outage once when it
// starts and once when it ends, and every frame sent before and after
// arrives.
func TestSerialPortRecreated(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	dir := t.TempDir()
	a, bEnd := filepath.Join(dir, "A"), filepath.Join(dir, "B")
	stopSocat := startSocat(t, a, bEnd)
	logs := &logCounter{msgs: map[string]int{}}
	cfg := testConfig(t, b.Addr, "serial:"+a)
	cfg.Logger = slog.New(logs)
	e, stop := startEdge(t, cfg)
	src := e.sources[0].stats

	want, cats := simFrames(t, simulator.Config{Cars: 1, Duration: time.Second, Seed: 8})
	frames := want["car01"]
	var first, second []byte
	cat := cats[0]
	for i, ch := range cat.Channels {
		l, _ := telemetry.AppendChannelLine(nil, &telemetry.ChannelLine{Car: cat.Car, Session: cat.Session, Index: i + 1, Count: len(cat.Channels), Channel: ch})
		first = append(first, l...)
	}
	for i := range frames {
		l, _ := telemetry.AppendFrameLine(nil, &frames[i])
		if i < len(frames)/2 {
			first = append(first, l...)
		} else {
			second = append(second, l...)
		}
	}
	waitFor(t, "the port open", func() bool { return src.up.Load() })
	writeFile(t, bEnd, first)
	waitFor(t, "the first half acknowledged", func() bool { return e.ackedFrames.Load() >= int64(len(frames)/2) })

	stopSocat() // unplugged
	waitFor(t, "the port seen lost", func() bool { return !src.up.Load() })
	time.Sleep(2500 * time.Millisecond) // several reopen attempts fail meanwhile
	startSocat(t, a, bEnd)              // plugged in again, same name
	waitFor(t, "the port reopened", func() bool { return src.up.Load() })
	writeFile(t, bEnd, second)
	waitFor(t, "every frame acknowledged", func() bool { return e.ackedFrames.Load() >= int64(len(frames)) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions)
	sameFrames(t, got, want, true)
	if lost, back := logs.count("serial: port lost"), logs.count("serial: port back"); lost != 1 || back != 1 {
		t.Fatalf("outage logged %d times lost, %d times back; want once each", lost, back)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
