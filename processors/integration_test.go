package processors_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/pipelinetest"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

const (
	testTrack = "brands-indy"
	testCars  = 3
	testLaps  = 3
)

// testRates caps every standard channel at 100 Hz (pipelinetest.Rates).
var testRates = pipelinetest.Rates()

// simulate runs the simulator at --speed max into the broker (its kafka://
// output, as the edge would produce) and returns the truth laps.
func simulate(t *testing.T, addr string) []telemetry.Lap {
	t.Helper()
	truth := filepath.Join(t.TempDir(), "truth.csv")
	err := simulator.Run(context.Background(), simulator.Config{
		Track: testTrack, Cars: testCars, Laps: testLaps, PitEvery: 2, Seed: 21, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1, Out: "kafka://" + addr + "/" + telemetry.TopicFrames, Truth: truth,
	})
	if err != nil {
		t.Fatal(err)
	}
	return readTruth(t, truth)
}

// The pipeline's shared test helpers (internal/pipelinetest), by the
// names this package's tests call them.
var (
	readTruth      = pipelinetest.ReadTruth
	lapsUpTo       = pipelinetest.LapsUpTo
	checkTruth     = pipelinetest.CheckTruth
	summary        = pipelinetest.Summary
	waitEdgeSource = pipelinetest.WaitEdgeSource
)

func config(t *testing.T, addr, group string, srv *influxtest.Server) processors.Config {
	tr, err := track.LookupTiming(testTrack)
	if err != nil {
		t.Fatal(err)
	}
	cfg := processors.Config{Brokers: []string{addr}, Group: group, Lap: lap.Config{Track: tr}, SessionTimeout: 6 * time.Second}
	if srv != nil {
		cfg.Influx = &influx.Config{URL: srv.URL, Bucket: srv.Database}
	}
	return cfg
}

// startProcessor runs a processor until the returned stop is called.
func startProcessor(t *testing.T, cfg processors.Config) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := processors.Run(ctx, cfg); err != nil {
			t.Errorf("processor: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// waitLaps reads telemetry.laps until it holds n laps of group (it does
// not stop early on more: the caller checks for duplicates).
func waitLaps(t *testing.T, addr, group string, n int) []telemetry.Lap {
	t.Helper()
	codec := telemetry.MustNewCodec()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		laps := readAllLaps(t, addr, codec, group)
		if len(laps) >= n || time.Now().After(deadline) {
			return laps
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readAllLaps(t *testing.T, addr string, codec *telemetry.Codec, group string) []telemetry.Lap {
	return readAllLapsWith(t, addr, sarama.NewConfig(), codec, group)
}

// readAllLapsWith is readAllLaps with a client configuration (TLS, SASL).
func readAllLapsWith(t *testing.T, addr string, cfg *sarama.Config, codec *telemetry.Codec, group string) []telemetry.Lap {
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	laps, err := pipelinetest.ReadLaps(t, client, codec, group)
	if err != nil {
		t.Fatal(err)
	}
	return laps
}

// readRecords returns every record of topic up to the end offsets its
// partitions have now, each partition's in offset order; none while the
// topic does not exist.
func readRecords(t *testing.T, client sarama.Client, topic string) []*sarama.ConsumerMessage {
	t.Helper()
	var mu sync.Mutex // fn runs on every partition's goroutine
	var out []*sarama.ConsumerMessage
	err := topicread.ReadToEnd(context.Background(), client, topic, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		mu.Lock()
		out = append(out, m)
		mu.Unlock()
	})
	if err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Fatal(err)
	}
	return out
}

// influxSeries is one series of an InfluxQL answer.
type influxSeries struct {
	Tags   map[string]string
	Values [][]any
}

// querySeries runs q and returns the series of its first result.
func querySeries(t *testing.T, srv *influxtest.Server, q string) []influxSeries {
	t.Helper()
	body, err := srv.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Results []struct{ Series []influxSeries }
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Results) == 0 {
		t.Fatalf("%q: %v\n%s", q, err, body)
	}
	return resp.Results[0].Series
}

// influxLaps reads the laps back with the dashboards' InfluxQL. InfluxDB
// 1.x keeps each field of a point apart, so a query racing a write of
// later laps can see part of a point; such a read is repeated, and a lap
// still missing a field after that fails the test.
func influxLaps(t *testing.T, srv *influxtest.Server) []telemetry.Lap {
	t.Helper()
	var partial []any
	for range 20 {
		series := querySeries(t, srv, `SELECT "lap", "lap_time", "pit_lane", "car" FROM "lap" GROUP BY "car"`)
		var out []telemetry.Lap
		partial = nil
		for _, s := range series {
			for _, v := range s.Values {
				if slices.Contains(v[:4], nil) {
					partial = v
					continue
				}
				end, _ := time.Parse(time.RFC3339Nano, v[0].(string))
				lapTime := time.Duration(v[2].(float64)*1e9 + 0.5)
				out = append(out, telemetry.Lap{Car: s.Tags["car"], Lap: int32(v[1].(float64)),
					StartNs: end.UnixNano() - int64(lapTime), EndNs: end.UnixNano(), PitLane: v[3].(bool)})
			}
		}
		if partial == nil {
			pipelinetest.SortLaps(out)
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("a lap in InfluxDB stays without some of its fields: %v", partial)
	return nil
}

// waitInfluxLaps waits (a minute at most) until InfluxDB holds n laps
// numbered up to upTo, and returns those.
func waitInfluxLaps(t *testing.T, srv *influxtest.Server, upTo int32, n int) []telemetry.Lap {
	t.Helper()
	laps := lapsUpTo(influxLaps(t, srv), upTo)
	for deadline := time.Now().Add(time.Minute); len(laps) < n && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		laps = lapsUpTo(influxLaps(t, srv), upTo)
	}
	return laps
}

// Simulator → broker → two processors in one group → InfluxDB and
// telemetry.laps: every lap of the truth, once, in both.
func TestEndToEnd(t *testing.T) {
	t.Parallel() // own broker and influxd
	b := brokertest.Start(t)
	srv := influxtest.Start(t)
	truth := simulate(t, b.Addr)
	cfg := config(t, b.Addr, "e2e", srv)
	startProcessor(t, cfg)
	startProcessor(t, cfg)
	got := waitLaps(t, b.Addr, "e2e", len(truth))
	checkTruth(t, got, truth)
	// A lap is produced to telemetry.laps before its point is written
	// (an InfluxDB that is slow or down holds back no lap): wait for it.
	checkTruth(t, waitInfluxLaps(t, srv, testLaps, len(truth)), truth)
	body, err := srv.Query(`SELECT count("speed") FROM "telemetry" WHERE "car" = 'car01'`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("telemetry points for car01: %s", body)
}

// Simulator at --speed max → a real pty serial link → edge → broker → two
// processors in one group → InfluxDB and telemetry.laps: every lap of the
// truth, once, in both. The simulator drives one lap more than is checked,
// so that the frames still in the pty when it closes carry no checked lap.
func TestEndToEndThroughEdge(t *testing.T) {
	t.Parallel() // own broker, influxd, pty and edge
	b := brokertest.Start(t)
	srv := influxtest.Start(t)
	run := pipelinetest.SimulateOverPTY(t, simulator.Config{
		Track: testTrack, Cars: testCars, Laps: testLaps + 1, PitEvery: 2, Seed: 21, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1,
	}, []string{b.Addr})
	truth := lapsUpTo(run.Truth(t), testLaps)
	e := run.Edge

	cfg := config(t, b.Addr, "e2e-edge", srv)
	cfg.EdgeMetrics = []string{e.MetricsAddr()}
	startProcessor(t, cfg)
	startProcessor(t, cfg)
	// Lap 4 may come before another car's lap 3: wait for the checked
	// laps themselves, not for a count.
	codec := telemetry.MustNewCodec()
	got := lapsUpTo(readAllLaps(t, b.Addr, codec, "e2e-edge"), testLaps)
	for deadline := time.Now().Add(2 * time.Minute); len(got) < len(truth) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		got = lapsUpTo(readAllLaps(t, b.Addr, codec, "e2e-edge"), testLaps)
	}
	checkTruth(t, got, truth)
	checkTruth(t, waitInfluxLaps(t, srv, testLaps, len(truth)), truth)
	checkPipelineCaughtUp(t, srv, "e2e-edge")
}

// checkPipelineCaughtUp waits for the pipeline measurement to show both
// members of the group caught up (consumer lag 0), with the edge's rates
// written and its spool empty.
func checkPipelineCaughtUp(t *testing.T, srv *influxtest.Server, group string) {
	t.Helper()
	q := `SELECT "consumer_lag", "spool_records", "frames_per_s", "samples_per_s" FROM "pipeline" WHERE "group"='` + group + `' GROUP BY "member"`
	var last [][]any
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		series := querySeries(t, srv, q)
		last = last[:0]
		caughtUp := 0
		for _, s := range series {
			v := s.Values[len(s.Values)-1]
			last = append(last, v)
			if s.Tags["member"] != "" && !slices.Contains(v, nil) && v[1].(float64) == 0 && v[2].(float64) == 0 {
				caughtUp++
			}
		}
		if caughtUp == 2 {
			return
		}
	}
	t.Fatalf("pipeline never showed both members caught up with an empty spool; last points (time, lag, spool records, frames/s, samples/s) %v", last)
}
