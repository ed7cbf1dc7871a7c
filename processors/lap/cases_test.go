package lap_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// With the simulator's default GPS noise (0.15 m) a crossing's time is off
// by about noise/speed: ~2 ms at racing speed, more leaving the grid and
// in the pit lane.
func TestGoldenNoisyGPS(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Cars: 2, Laps: 3, PitEvery: 2, Seed: 4, GPSRateHz: 10, DropoutsPerHour: -1}
	got, truth := detectAll(t, cfg, lap.Config{Track: timing(t, "brands-indy")}, nil)
	compare(t, got, truth, 25*time.Millisecond, 25*time.Millisecond)
}

// GPS dropouts of 2 s across start/finish and across every sector line,
// plus the simulator's own dropouts: no lap invented or lost, times
// interpolated across the gap, and the laps with a line in a long gap are
// not valid.
func TestGoldenGPSDropouts(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Cars: 2, Laps: 4, PitEvery: -1, Seed: 6, GPSRateHz: 10,
		DropoutsPerHour: 600, GPSNoise: -1}
	// Find the truth crossings first (same seed, same run).
	_, truth := simRun(t, cfg, func(*telemetry.Frame) {})
	var cuts [][2]int64
	for i, l := range truth {
		at := l.StartNs
		if i%2 == 0 {
			at += l.SectorsNs[0] // a sector line, in a corner or not
		}
		cuts = append(cuts, [2]int64{at - int64(1200*time.Millisecond), at + int64(800*time.Millisecond)})
	}
	drop := func(f *telemetry.Frame) bool {
		for _, c := range cuts {
			if f.TimeNs > c[0] && f.TimeNs < c[1] {
				return true
			}
		}
		return false
	}
	got, truth2 := detectAll(t, cfg, lap.Config{Track: timing(t, "brands-indy")}, drop)
	compare(t, got, truth2, 5*time.Millisecond, 60*time.Millisecond)
	invalid := 0
	for _, ls := range got {
		for _, l := range ls {
			if metric(l, lap.MValid) == 0 {
				invalid++
			}
		}
	}
	if invalid == 0 {
		t.Error("no lap marked invalid after 2 s GPS gaps across its lines")
	}
}

// A log that starts in the middle of a lap: the partial lap is no lap.
// Without history the first full lap is lap 1; told the published laps,
// the detector numbers and deltas them as the uninterrupted one did, lap
// for lap, field for field.
func TestPartialFirstLapAndRestart(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Cars: 1, Laps: 4, PitEvery: 3, Seed: 8, GPSRateHz: 10, DropoutsPerHour: -1}
	lc := lap.Config{Track: timing(t, "brands-indy")}
	full, truth := detectAll(t, cfg, lc, nil)
	all := full["car01"]
	if len(all) != 4 {
		t.Fatalf("uninterrupted run: %d laps", len(all))
	}
	// Restart 20 s into lap 2 (partial) and at the last GPS fix before
	// lap 3 starts (the runner's restart point).
	for _, tc := range []struct {
		name    string
		from    int64
		known   int
		wantLap int32
	}{
		{"mid-lap, no history", truth[1].StartNs + 20e9, 0, 1},
		{"boundary", truth[2].StartNs - 100e6, 2, 3},
		{"boundary, later laps published", truth[1].StartNs - 100e6, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s0, _ := simulator.New(cfg)
			d, err := lap.NewDetector(lc, lap.NewChannels(s0.Catalog(0), ""), "car01", s0.Config().Session)
			if err != nil {
				t.Fatal(err)
			}
			var known []lap.Known
			for i := range tc.known {
				known = append(known, lap.KnownFrom(&all[i]))
			}
			d.Restore(known)
			var got []telemetry.Lap
			simRun(t, cfg, func(f *telemetry.Frame) {
				if f.TimeNs >= tc.from {
					got = d.Frame(f, got)
				}
			})
			if len(got) == 0 || got[0].Lap != tc.wantLap {
				t.Fatalf("first lap %+v, want number %d", got, tc.wantLap)
			}
			if tc.known == 0 {
				return
			}
			want := all[tc.wantLap-1:]
			if !reflect.DeepEqual(got, want) {
				t.Errorf("restarted detector:\n%+v\nuninterrupted:\n%+v", got, want)
			}
		})
	}
}

// A beacon channel times start/finish exactly; GPS times the sectors.
func TestBeacon(t *testing.T) {
	tr := timing(t, "brands-indy")
	cat := &telemetry.ChannelCatalog{Car: "b1", Channels: []telemetry.Channel{
		{ID: 0, Name: "lap_beacon", RateHz: 100, Min: 0, Max: 1},
		{ID: 1, Name: telemetry.ChanSpeed, RateHz: 100, Min: 0, Max: 400},
	}}
	d, err := lap.NewDetector(lap.Config{Track: tr, Beacon: "lap_beacon"}, lap.NewChannels(cat, "lap_beacon"), "b1", "")
	if err != nil {
		t.Fatal(err)
	}
	var laps []telemetry.Lap
	pulse := func(ns int64) {
		// AiM style: three pulses within 10 ms count once (debounce).
		for i := int64(0); i < 3; i++ {
			for _, v := range []float64{1, 0} {
				laps = d.Frame(&telemetry.Frame{Car: "b1", TimeNs: ns + i*4e6 + int64(v*0) + (1-int64(v))*2e6,
					Samples: []telemetry.Sample{{ID: 0, Value: v}, {ID: 1, Value: 200}}}, laps)
			}
		}
	}
	for _, ns := range []int64{10e9, 60e9, 111e9} {
		pulse(ns)
	}
	if len(laps) != 2 || laps[0].LapTime() != 50*time.Second || laps[1].LapTime() != 51*time.Second {
		t.Fatalf("beacon laps %+v", laps)
	}
	if laps[0].SectorsNs != nil || metric(laps[0], lap.MValid) != 0 {
		t.Errorf("lap without GPS sectors: sectors %v valid %v", laps[0].SectorsNs, metric(laps[0], lap.MValid))
	}
}
