package source_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/source/sourcetest"
)

// device is a fake device that counts its closes.
type device struct{ closed int }

func (d *device) Close() error { d.closed++; return nil }

// logLines keeps log messages.
type logLines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

// The device is unavailable for three attempts, then open; it is lost
// once and reopened; then ctx ends. Every outage is logged once when it
// starts and once when it ends, attempts are Every apart (the first after
// a loss Every/10), and the sink sees each change of state.
func TestReopen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		errAway, errLost := errors.New("away"), errors.New("lost")
		var opens []time.Duration
		start := time.Now()
		dev := &device{}
		reads := 0
		logs := &logLines{}
		sink := sourcetest.New()
		source.Reopen(ctx, sink, source.Device[*device]{
			Kind: "test", Noun: "gadget", Every: time.Second, Log: slog.New(logs),
			Open: func() (*device, error) {
				opens = append(opens, time.Since(start))
				if len(opens) <= 3 {
					return nil, errAway
				}
				return dev, nil
			},
			Read: func(ctx context.Context, d *device) error {
				if reads++; reads == 1 {
					time.Sleep(5 * time.Second)
					return errLost
				}
				cancel()
				<-ctx.Done()
				return nil
			},
		})
		want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 8*time.Second + 100*time.Millisecond}
		if len(opens) != len(want) {
			t.Fatalf("opened at %v, want %v", opens, want)
		}
		for i := range want {
			if opens[i] != want[i] {
				t.Fatalf("opened at %v, want %v", opens, want)
			}
		}
		ups := []sourcetest.Up{{Up: false, Err: errAway}, {Up: true}, {Up: false, Err: errLost}, {Up: true}, {Up: false}}
		if len(sink.Ups) != len(ups) {
			t.Fatalf("Up calls %v, want %v", sink.Ups, ups)
		}
		for i := range ups {
			if sink.Ups[i] != ups[i] {
				t.Fatalf("Up calls %v, want %v", sink.Ups, ups)
			}
		}
		msgs := strings.Join(logs.msgs, "|")
		if msgs != "test: gadget unavailable; reopening until it is back|test: gadget back|test: gadget lost; reopening until it is back|test: gadget back" {
			t.Fatalf("logged %q", msgs)
		}
		if dev.closed != 2 {
			t.Fatalf("closed %d times, want 2", dev.closed)
		}
	})
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if !source.Sleep(t.Context(), time.Minute) || time.Since(start) != time.Minute {
			t.Fatalf("slept %v", time.Since(start))
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		if source.Sleep(ctx, time.Minute) || time.Since(start) != time.Minute+time.Second {
			t.Fatalf("cancelled sleep returned after %v", time.Since(start)-time.Minute)
		}
	})
}
