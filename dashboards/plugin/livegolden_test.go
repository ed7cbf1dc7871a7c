package plugin

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/pitwall/pitwall/telemetry"
)

var update = flag.Bool("update", false, "rewrite testdata/live-all-packets.json")

// goldenLive is two cars' live records over 0.4 s, car02 without a best
// lap yet, car01 in the pit lane at the end.
func goldenLive() []telemetry.Live {
	const t0 = int64(1_750_000_000_000_000_000)
	var out []telemetry.Live
	for i := range int64(4) {
		d1, d2 := -0.25+0.01*float64(i), 0.125*float64(i)
		one := telemetry.Live{Car: "car01", TimeNs: t0 + i*100_000_000, Lap: 3, LapStartNs: t0 - 20_000_000_000, Sector: 2,
			DistanceM: 1000 + 5*float64(i), DeltaBestS: &d1, Speed: 180, Throttle: 100, Gear: 5, RPM: 8000, X: 0.26, Y: 51.36, InPit: i == 3}
		two := telemetry.Live{Car: "car02", TimeNs: t0 + i*100_000_000 + 40_000_000, Lap: 1, LapStartNs: t0 - 5_000_000_000,
			Sector: 1, DistanceM: 300 + 4*float64(i), Speed: 150, Brake: 20, Gear: 3, RPM: 6000, X: 0.25, Y: 51.35}
		if i >= 2 {
			two.DeltaBestS = &d2
		}
		out = append(out, one, two)
	}
	return out
}

// TestLiveFramesGolden holds the every-car stream's packets (the long
// frame: labels, time, fields) to testdata/live-all-packets.json, which
// src/live.test.ts feeds to Grafana's own StreamingDataFrame to check it
// makes one series per car of them. -update rewrites the file.
func TestLiveFramesGolden(t *testing.T) {
	b := newLiveBuilder("", []string{"delta_best_s", "lap", "lap_time_s", "sector", "distance_m", "in_pit"}, true)
	var packets []json.RawMessage
	for i, l := range goldenLive() {
		b.add(&l)
		if i != 3 && i != 7 { // two packets: four records, then four
			continue
		}
		fs := b.frames()
		if len(fs) != 1 || fs[0].Rows() != 4 {
			t.Fatalf("packet %d: %d frames", len(packets), len(fs))
		}
		inc := data.IncludeAll
		if len(packets) > 0 {
			inc = data.IncludeDataOnly // as Grafana Live sends an unchanged schema
		}
		js, err := data.FrameToJSON(fs[0], inc)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, js)
	}
	got, err := json.MarshalIndent(packets, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "live-all-packets.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("live packets differ from %s (go test -run TestLiveFramesGolden -update rewrites it):\n%s", path, got)
	}
}

func TestParseLiveQuery(t *testing.T) {
	q, err := parseQuery(json.RawMessage(`{"kind":"live"}`))
	if err != nil || q.Car != "" || len(q.Fields) != len(LiveFields) || q.WindowSeconds != 30 {
		t.Errorf("defaults: %+v %v", q, err)
	}
	q, err = parseQuery(json.RawMessage(`{"kind":"live","car":"car02","fields":["lap","delta_best_s"]}`))
	if err != nil || q.Car != "car02" || len(q.Fields) != 2 {
		t.Errorf("one car: %+v %v", q, err)
	}
	for _, bad := range []string{`{"kind":"laps","car":"car01","channels":["speed"]}`, `{"kind":"live","car":"c a r"}`,
		`{"kind":"live","fields":["warp"]}`, `{"kind":"live","fields":["lap","lap"]}`, `{"kind":"live","channels":["speed"]}`,
		`{"kind":"live","windowSeconds":601}`, `{"car":"car01","channels":["speed"],"fields":["lap"]}`} {
		if _, err := parseQuery(json.RawMessage(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	for _, car := range []string{"", "car01"} {
		got, fields, err := parseLivePath(livePath(car, []string{"delta_best_s", "lap"}))
		if err != nil || got != car || len(fields) != 2 {
			t.Errorf("path round trip %q: %q %v %v", car, got, fields, err)
		}
	}
}

func FuzzParseLivePath(f *testing.F) {
	f.Add("live/all/delta_best_s/lap")
	f.Add("live/car/car01/delta_best_s")
	f.Add("live/car//lap")
	f.Add("live/all/")
	f.Fuzz(func(t *testing.T, s string) {
		car, fields, err := parseLivePath(s)
		if err == nil && livePath(car, fields) != s {
			t.Errorf("%q parsed as %q %v, which is not the same path", s, car, fields)
		}
	})
}
