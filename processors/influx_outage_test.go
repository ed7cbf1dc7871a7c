package processors_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/telemetry"
)

// InfluxDB is down when the processor starts and while it times every
// lap (a proxy in front of a real influxd answers 503), and it is a fresh
// install (no database). The laps reach telemetry.laps all the same; when
// InfluxDB comes back the processor creates the database and writes the
// points it held, so InfluxDB has every lap too. A processor stopped
// during the outage committed no offset past the points InfluxDB did
// not accept (none past the first record).
func TestInfluxOutage(t *testing.T) {
	t.Parallel() // own broker and influxd
	b := brokertest.Start(t)
	srv := influxtest.StartWith(t, influxtest.Options{NoDatabase: true})
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "influxdb is down", http.StatusServiceUnavailable)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	truth := simulate(t, b.Addr)
	stopped := config(t, b.Addr, "outage-stopped", nil)
	stopped.Influx = &influx.Config{URL: proxy.URL, Bucket: srv.Database}
	stop := startProcessor(t, stopped)
	checkTruth(t, waitLaps(t, b.Addr, "outage-stopped", len(truth)), truth)
	stop() // a clean stop commits every offset marked
	for part, off := range committedOffsets(t, b.Addr, "outage-stopped") {
		if off > 0 {
			t.Errorf("partition %d: offset %d committed while InfluxDB accepted no point", part, off)
		}
	}

	cfg := config(t, b.Addr, "outage", nil)
	cfg.Influx = &influx.Config{URL: proxy.URL, Bucket: srv.Database}
	startProcessor(t, cfg)
	checkTruth(t, waitLaps(t, b.Addr, "outage", len(truth)), truth)

	up.Store(true)
	waitInfluxLapCount(t, srv, len(truth))
	checkTruth(t, influxLaps(t, srv), truth)
}

// waitInfluxLapCount waits until InfluxDB's database exists and holds n
// lap points.
func waitInfluxLapCount(t *testing.T, srv *influxtest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		body, err := srv.Query(`SELECT count("lap_time") FROM "lap"`)
		last = string(body)
		if err != nil {
			last = err.Error()
		}
		var resp struct {
			Results []struct{ Series []struct{ Values [][]any } }
		}
		if err == nil && json.Unmarshal(body, &resp) == nil && len(resp.Results) == 1 && len(resp.Results[0].Series) == 1 {
			if v := resp.Results[0].Series[0].Values; len(v) == 1 && v[0][1] == float64(n) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("InfluxDB does not hold %d laps a minute after it came back: %s", n, last)
}

// committedOffsets returns the offsets group committed on the frames
// topic, by partition (-1: none).
func committedOffsets(t *testing.T, addr, group string) map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions(telemetry.TopicFrames)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{telemetry.TopicFrames: parts})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range parts {
		out[p] = -1
		if b := resp.GetBlock(telemetry.TopicFrames, p); b != nil && b.Err == sarama.ErrNoError {
			out[p] = b.Offset
		}
	}
	return out
}
