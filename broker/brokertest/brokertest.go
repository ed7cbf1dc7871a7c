// Package brokertest starts real Pitwall brokers for tests, the way
// net/http/httptest starts real HTTP servers: on 127.0.0.1 with a random
// port and a temporary data directory, stopped when the test ends.
//
//	b := brokertest.Start(t)
//	client, _ := sarama.NewClient([]string{b.Addr}, cfg)
//
// StartSecure starts one with TLS, SASL users and (optionally) the ACL
// authorizer, its TLS material made by a throwaway CA in the test's temp
// directory:
//
//	b := brokertest.StartSecure(t, brokertest.Secure{
//		Users:      map[string]string{"admin": "admin-secret", "edge": "edge-secret"},
//		ClientCA:   true, // mutual TLS on the SSL listener
//		Authorizer: true, SuperUsers: []string{"User:admin"},
//	})
//	b.Addrs["SASL_SSL"]          // "127.0.0.1:port"; also PLAINTEXT, SSL, SASL_PLAINTEXT
//	b.CA.File, b.CA.Pool         // what clients trust
//	b.CA.ClientTLS(t, "edge")    // a client tls.Config with a certificate for CN=edge
package brokertest

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pitwall/pitwall/broker"
)

// Broker is a running test broker.
type Broker struct {
	// Addr is the broker's "127.0.0.1:port" (its first listener's).
	Addr string
	// Addrs are its listeners' addresses by protocol ("PLAINTEXT",
	// "SSL", "SASL_PLAINTEXT", "SASL_SSL").
	Addrs map[string]string
	// CA signed the broker's certificate (StartSecure only).
	CA *CA
	// Dir is its data directory; it survives Restart.
	Dir string
	// Server is the running server (replaced by Restart).
	Server *broker.Server

	cfg  broker.Config
	done chan error
	once *sync.Once
}

// Start starts a broker with broker.Config's defaults (broker.DefaultPartitions
// for auto-created topics, fsync batch, auto-create on).
func Start(t testing.TB) *Broker {
	t.Helper()
	return StartConfig(t, broker.Config{})
}

// StartConfig starts a broker with cfg. Empty Listen and DataDir become
// "127.0.0.1:0" and a fresh t.TempDir(); an empty Logger logs warnings and
// errors to the test's output.
func StartConfig(t testing.TB, cfg broker.Config) *Broker {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter(t), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	b := &Broker{Dir: cfg.DataDir, cfg: cfg}
	b.start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *Broker) start(t testing.TB) {
	t.Helper()
	srv, err := broker.New(b.cfg)
	if err != nil {
		t.Fatalf("brokertest: start: %v", err)
	}
	b.Server, b.Addr = srv, srv.Addr()
	b.Addrs = map[string]string{}
	for _, p := range []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"} {
		if a := srv.ListenerAddr(p); a != "" {
			b.Addrs[p] = a
		}
	}
	b.done, b.once = make(chan error, 1), &sync.Once{}
	go func() { b.done <- srv.Serve(context.Background()) }()
}

// Config is the configuration the broker runs with (Listen as given, so
// ports may be 0; Addrs has the bound addresses).
func (b *Broker) Config() broker.Config { return b.cfg }

// Stop shuts the broker down gracefully (fsync, clean-shutdown markers) and
// waits for it. Stopping twice is harmless.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	b.once.Do(func() {
		if err := b.Server.Close(); err != nil {
			t.Errorf("brokertest: close: %v", err)
		}
		if err := <-b.done; err != nil {
			t.Errorf("brokertest: serve: %v", err)
		}
	})
}

// Restart stops the broker and starts it again on the same data directory
// and the same address, as an operator's restart would.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	var l []string
	for p, a := range b.Addrs {
		l = append(l, p+"://"+a)
	}
	b.cfg.Listen = strings.Join(l, ",")
	b.start(t)
}

// testWriter sends log output to the test's output until the test ends,
// then drops it (a log line from a goroutine finishing late must not fail
// the run).
func testWriter(t testing.TB) io.Writer {
	w := &guardedWriter{w: t.Output()}
	t.Cleanup(func() { w.mu.Lock(); w.w = nil; w.mu.Unlock() })
	return w
}

type guardedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w == nil {
		return len(p), nil
	}
	return g.w.Write(p)
}
