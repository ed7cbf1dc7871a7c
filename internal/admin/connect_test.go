package admin_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pitwall/pitwall/internal/admin"
)

// A "broker" that accepts connections and never answers: Dial gives up as
// soon as its context ends (Ctrl-C), not after sarama's minutes of
// read timeouts and retries.
func TestDialSilentBrokerStopsOnCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		c, err := admin.Dial(ctx, l.Addr().String(), "test")
		if c != nil {
			c.Close()
		}
		errc <- err
	}()
	select {
	case c := <-accepted: // the client is connected and waiting for an answer
		accepted <- c
	case <-time.After(time.Minute):
		t.Fatal("the client never connected")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second): // generous for a busy CI machine; sarama alone waits 30 s per read
		t.Fatal("Dial did not give up after its context ended")
	}
}
