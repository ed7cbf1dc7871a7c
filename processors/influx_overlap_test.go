package processors_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
)

// A write InfluxDB has not answered does not hold its partition back:
// while every write hangs (a proxy in front of a real influxd holds them
// without answering, and the writer's timeout is longer than the test),
// the processor goes on consuming and timing, and every lap reaches
// telemetry.laps. Once the writes are let through, InfluxDB has every
// lap. (A partition that wrote synchronously would sit in its first
// write until the end.) The processor has one write of points in flight
// at a time: its partitions' batches share a request.
func TestInfluxWriteDoesNotHoldLaps(t *testing.T) {
	t.Parallel() // own broker and influxd
	b := brokertest.Start(t)
	srv := influxtest.Start(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	var held, inFlight atomic.Int64
	var mu sync.Mutex
	var most int64 // writes in flight at once, at most
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/write" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if !bytes.HasPrefix(body, []byte("pipeline,")) { // not the pipeline stats
				held.Add(1)
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				mu.Lock()
				most = max(most, n)
				mu.Unlock()
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	defer let() // before the proxy closes: it waits for the held requests

	truth := simulate(t, b.Addr)
	cfg := config(t, b.Addr, "overlap", srv)
	cfg.Influx.URL = proxy.URL
	cfg.Influx.Timeout = 10 * time.Minute
	cfg.FlushBytes = 1 << 30 // no partition waits for its writer on a full batch
	startProcessor(t, cfg)
	checkTruth(t, waitLaps(t, b.Addr, "overlap", len(truth)), truth)
	if held.Load() == 0 {
		t.Fatal("no write reached InfluxDB's proxy while the laps were timed")
	}
	mu.Lock()
	m := most
	mu.Unlock()
	if m != 1 {
		t.Errorf("%d writes of points in flight at once, want 1 (the processor's one writer)", m)
	}

	let()
	waitInfluxLapCount(t, srv, len(truth))
	checkTruth(t, influxLaps(t, srv), truth)
}
