package lap_test

import (
	"math"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// fixesOf runs the simulator and returns the first car's GPS fixes and
// the truth (whose crossing times are what a device's lap markers say).
func fixesOf(t *testing.T, cfg simulator.Config) ([]track.Fix, []telemetry.Lap) {
	s0, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := s0.Catalog(0)
	lat, _ := cat.ByName(telemetry.ChanGPSLat)
	lon, _ := cat.ByName(telemetry.ChanGPSLon)
	var fixes []track.Fix
	_, truth := simRun(t, cfg, func(f *telemetry.Frame) {
		var fx track.Fix
		n := 0
		for _, s := range f.Samples {
			switch s.ID {
			case lat.ID:
				fx.LatLon.Lat, n = s.Value, n+1
			case lon.ID:
				fx.LatLon.Lon, n = s.Value, n+1
			}
		}
		if n == 2 {
			fx.TimeNs = f.TimeNs
			fixes = append(fixes, fx)
		}
	})
	return fixes, truth
}

// A track derived from a log and the device's lap markers times the
// same laps as the device: every lap, the pit laps marked (the pit lane
// found from the crossings beside the others), within 10 ms.
func TestDeriveFromMarkers(t *testing.T) {
	for _, hz := range []int{1, 10, 25} {
		cfg := simulator.Config{Track: "brands-indy", Laps: 5, PitEvery: 2, Seed: 5, GPSRateHz: hz, DropoutsPerHour: -1,
			Rates: map[string]int{"g_vert": 100}}
		fixes, truth := fixesOf(t, cfg)
		var markers []int64
		for _, l := range truth {
			markers = append(markers, l.StartNs)
		}
		markers = append(markers, truth[len(truth)-1].EndNs)
		tr, err := track.Derive(fixes, markers, track.DeriveConfig{Name: "brands-derived"})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(tr.Length-1929) > 40 || len(tr.Sectors) != 2 || !(tr.PitTo > tr.PitFrom) {
			t.Errorf("%d Hz: derived length %v m, %d sector lines, pit part %v..%v", hz, tr.Length, len(tr.Sectors), tr.PitFrom, tr.PitTo)
		}
		got, _ := detectAll(t, cfg, lap.Config{Track: *tr}, nil)
		ls := got["car01"]
		if len(ls) != len(truth) {
			t.Fatalf("%d Hz: %d laps on the derived track, truth %d", hz, len(ls), len(truth))
		}
		tol := 10 * time.Millisecond
		if hz == 1 {
			tol = 300 * time.Millisecond
		}
		var worst time.Duration
		for i, l := range ls {
			w := truth[i]
			worst = max(worst, (l.LapTime() - w.LapTime()).Abs())
			if l.PitLane != w.PitLane || (l.LapTime()-w.LapTime()).Abs() > tol {
				t.Errorf("%d Hz lap %d: %v pit %v, truth %v pit %v", hz, l.Lap, l.LapTime(), l.PitLane, w.LapTime(), w.PitLane)
			}
		}
		t.Logf("%d Hz: worst lap time error %v over %d laps", hz, worst, len(ls))
	}
}

// Without markers, a track is derived from the first closed lap: laps
// of the right length, timed at a line on the straightest part.
func TestDeriveClosedLap(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Laps: 4, PitEvery: -1, Seed: 5, GPSRateHz: 10, DropoutsPerHour: -1,
		Rates: map[string]int{"g_vert": 100}}
	fixes, truth := fixesOf(t, cfg)
	tr, err := track.Derive(fixes, nil, track.DeriveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tr.Length-1929) > 40 {
		t.Errorf("derived length %v m", tr.Length)
	}
	got, _ := detectAll(t, cfg, lap.Config{Track: *tr}, nil)
	ls := got["car01"]
	if len(ls) < len(truth)-1 {
		t.Fatalf("%d laps on the derived track, truth %d", len(ls), len(truth))
	}
	var mean time.Duration
	for _, l := range truth[1:] {
		mean += l.LapTime() / time.Duration(len(truth)-1)
	}
	for _, l := range ls[1:] {
		if (l.LapTime() - mean).Abs() > time.Second {
			t.Errorf("lap %d: %v, the truth's laps average %v", l.Lap, l.LapTime(), mean)
		}
	}
}
