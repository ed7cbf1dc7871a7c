package influx_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
	"github.com/pitwall/pitwall/telemetry"
)

// A lap and downsampled windows written to a real InfluxDB 1.8 read back
// with InfluxQL as written; writing them again changes nothing.
func TestWriteReadBack(t *testing.T) {
	srv := influxtest.Start(t)
	w, err := influx.New(influx.Config{URL: srv.URL, Bucket: srv.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	lap := telemetry.Lap{Car: "car01", Session: "s1", Lap: 3, StartNs: 1_700_000_000_123_456_789, EndNs: 1_700_000_091_000_000_000,
		SectorsNs: []int64{30e9, 30e9, 30_876_543_211}, Metrics: []telemetry.Metric{{Name: "top_speed", Value: 301.5}}}
	cat := &telemetry.ChannelCatalog{Car: "car01", Channels: []telemetry.Channel{{ID: 0, Name: "speed", RateHz: 100, Max: 400}, {ID: 2, Name: "rpm", RateHz: 100, Max: 1e4}}}
	ds := influx.NewDownsampler(cat, "s1", 50*time.Millisecond)
	var batch []byte
	batch = influx.AppendLap(batch, &lap)
	lapLines := len(batch)
	for i, v := range []float64{100, 110, 120, 200} { // windows of 50 ms: 3 samples, then 1
		batch = ds.Frame(batch, &telemetry.Frame{Car: "car01", TimeNs: 1_700_000_000_000_000_000 + int64(i)*20e6,
			Samples: []telemetry.Sample{{ID: 0, Value: v}, {ID: 2, Value: 5000}}})
		ds.Distance(float64(i)*1.5, i > 0) // a window reports the distance at its last frame
	}
	batch = ds.Flush(batch)
	var got struct {
		Results []struct {
			Series []struct {
				Columns []string
				Values  [][]any
			}
		}
	}
	// First as separate buffers in one request (as the processors'
	// writer sends its partitions' points), then again as one.
	if err := w.WriteBuffers(context.Background(), [][]byte{batch[:lapLines], nil, batch[lapLines:]}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{`SELECT lap FROM lap`: 1, `SELECT speed FROM telemetry`: 2} {
		body, err := srv.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		got.Results = nil
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Results) != 1 || len(got.Results[0].Series) != 1 || len(got.Results[0].Series[0].Values) != want {
			t.Fatalf("%s after WriteBuffers: %s, want %d rows", q, body, want)
		}
	}
	if err := w.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got.Results = nil
	body, err := srv.Query(`SELECT lap, lap_time, s3, top_speed FROM lap WHERE car = 'car01'`)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 1 || len(got.Results[0].Series) != 1 || len(got.Results[0].Series[0].Values) != 1 {
		t.Fatalf("lap query: %s", body)
	}
	row := got.Results[0].Series[0].Values[0]
	if row[1] != 3.0 || row[2] != 90.876543211 || row[3] != 30.876543211 || row[4] != 301.5 {
		t.Errorf("lap row %v", row)
	}
	body, err = srv.Query(`SELECT speed, speed_min, speed_max, rpm, lap_distance FROM telemetry WHERE car = 'car01'`)
	if err != nil {
		t.Fatal(err)
	}
	got.Results = nil
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	vals := got.Results[0].Series[0].Values
	if len(vals) != 2 || vals[0][1] != 110.0 || vals[0][2] != 100.0 || vals[0][3] != 120.0 || vals[1][1] != 200.0 || vals[0][4] != 5000.0 ||
		vals[0][5] != 3.0 || vals[1][5] != 4.5 {
		t.Errorf("telemetry rows %v", vals)
	}
}
