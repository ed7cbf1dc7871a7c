package processors

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
)

// The partitions of a processor cut their batches on the same flush
// clock and the writer gathers them: InfluxDB gets about one write
// request per flush interval, not one per partition (influxd's CPU goes
// with requests as much as with points), and every point arrives.
func TestInfluxWriterGathersPartitions(t *testing.T) {
	t.Parallel() // own influxd
	srv := influxtest.Start(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	var mu sync.Mutex
	lines := map[string]bool{} // a point written again (after a write its session ended) is the same point
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/write" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			requests.Add(1)
			mu.Lock()
			for _, l := range bytes.Split(body, []byte("\n")) {
				if len(l) > 0 {
					lines[string(l)] = true
				}
			}
			mu.Unlock()
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	iw, err := influx.New(influx.Config{URL: proxy.URL, Bucket: srv.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer iw.Close()
	const partitions, every = 8, 250 * time.Millisecond
	w := newInfluxWriter(newInfluxHealth(iw, slog.New(slog.DiscardHandler)), Config{FlushInterval: every, InfluxHoldBytes: 64 << 20})
	defer w.close()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var points atomic.Int64
	start := time.Now()
	for i := range partitions {
		pw := w.partition(int32(i), nil)
		wg.Add(1)
		go func() { // what a claimed partition does (ConsumeClaim, flush)
			defer wg.Done()
			clock := newFlushClock(every)
			defer clock.stop()
			var batch []byte
			for k := 0; ; k++ {
				select {
				case <-ctx.Done(): // the claim ends cleanly (partition.end)
					bg := context.Background()
					pw.ready(bg, true)
					pw.submit(bg, influxJob{batch: batch})
					pw.ready(bg, true)
					pw.close()
					return
				case <-clock.C:
					clock.fired()
				}
				batch = fmt.Appendf(batch, "gather,partition=%d n=%di %d\n", i, k, time.Now().UnixNano())
				points.Add(1)
				if spare, ok := pw.ready(ctx, false); ok {
					pw.submit(ctx, influxJob{batch: batch})
					batch = spare
				}
			}
		}()
	}
	time.Sleep(3 * time.Second) // the load's length, not a wait for an outcome
	cancel()
	wg.Wait()
	elapsed := time.Since(start)

	ticks := int64(elapsed/every) + 1
	mu.Lock()
	got := len(lines)
	mu.Unlock()
	if int64(got) != points.Load() {
		t.Errorf("InfluxDB got %d points, the partitions cut %d", got, points.Load())
	}
	// One request per tick when every partition is on time; a partition
	// late past the gathering (a busy machine) goes in a request of its
	// own now and then. Without the gathering the writer took the one to
	// three batches queued when it woke: two requests or more per tick;
	// unaligned partitions made up to one per partition per tick.
	if n := requests.Load(); n > ticks*3/2 {
		t.Errorf("%d write requests for %d flush intervals of %d partitions: the batches were not gathered", n, ticks, partitions)
	} else {
		t.Logf("%d write requests for %d flush intervals of %d partitions", n, ticks, partitions)
	}
}
