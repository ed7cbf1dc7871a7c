package udp

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/source/sourcetest"
	"github.com/pitwall/pitwall/telemetry"
)

// lockedSink lets the test read what the source's goroutine records.
type lockedSink struct {
	mu sync.Mutex
	s  *sourcetest.Sink
}

func (l *lockedSink) Frame(f *telemetry.Frame, recv time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Frame(f, recv)
}
func (l *lockedSink) Catalog(c *telemetry.ChannelCatalog, recv time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Catalog(c, recv)
}
func (l *lockedSink) Bad(r string, raw []byte, err error, recv time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Bad(r, raw, err, recv)
}
func (l *lockedSink) Note(e string, err error) { l.mu.Lock(); defer l.mu.Unlock(); l.s.Note(e, err) }
func (l *lockedSink) Up(up bool, err error)    { l.mu.Lock(); defer l.mu.Unlock(); l.s.Up(up, err) }
func (l *lockedSink) Flush() error             { l.mu.Lock(); defer l.mu.Unlock(); return l.s.Flush() }

func (l *lockedSink) check(f func(s *sourcetest.Sink) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f(l.s)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An address that is taken (another program on the game's port) is
// reported down and retried; once free, the source binds it and decodes
// what arrives there. Run returns when ctx ends.
func TestBindRetry(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := taken.LocalAddr().String()
	src, err := New(Config{Addr: addr, Format: FormatForza, Car: "car01", Reopen: 20 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	sink := &lockedSink{s: sourcetest.New()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, sink) }()
	waitUntil(t, "the bind refused", func() bool {
		return sink.check(func(s *sourcetest.Sink) bool { return len(s.Ups) > 0 && !s.Ups[0].Up && s.Ups[0].Err != nil })
	})
	taken.Close()
	waitUntil(t, "the socket bound", func() bool {
		return sink.check(func(s *sourcetest.Sink) bool { return len(s.Ups) > 1 && s.Ups[len(s.Ups)-1].Up })
	})
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(forzaPacket(ForzaDashLen, 1000, 0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a frame", func() bool { return sink.check(func(s *sourcetest.Sink) bool { return len(s.Frames) == 1 }) })
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if !sink.check(func(s *sourcetest.Sink) bool { return !s.Ups[len(s.Ups)-1].Up }) {
		t.Fatal("not reported down after Run returned")
	}
}
