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

// simRun runs the simulator in process and hands every frame to fn; it
// returns the truth laps.
func simRun(t testing.TB, cfg simulator.Config, fn func(f *telemetry.Frame)) (*simulator.Sim, []telemetry.Lap) {
	t.Helper()
	s, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		more, err := s.Step(func(f *telemetry.Frame) error { fn(f); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return s, s.DrainLaps(nil)
		}
	}
}

// detectAll runs one detector per car over the simulation; drop, when set,
// removes a frame's GPS fix.
func detectAll(t testing.TB, cfg simulator.Config, lc lap.Config, drop func(f *telemetry.Frame) bool) (got map[string][]telemetry.Lap, truth []telemetry.Lap) {
	t.Helper()
	var mod func(f *telemetry.Frame, lat, lon int32) *telemetry.Frame
	if drop != nil {
		mod = func(f *telemetry.Frame, lat, lon int32) *telemetry.Frame {
			if drop(f) {
				return withoutGPS(f, lat, lon)
			}
			return f
		}
	}
	return detectMod(t, cfg, lc, mod)
}

// detectMod runs one detector per car over the simulation, each frame
// through mod when set (lat and lon are the GPS channels' ids).
func detectMod(t testing.TB, cfg simulator.Config, lc lap.Config, mod func(f *telemetry.Frame, lat, lon int32) *telemetry.Frame) (got map[string][]telemetry.Lap, truth []telemetry.Lap) {
	t.Helper()
	s0, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat := s0.Catalog(0)
	ch := lap.NewChannels(cat, lc.Beacon)
	lat, _ := cat.ByName(telemetry.ChanGPSLat)
	lon, _ := cat.ByName(telemetry.ChanGPSLon)
	dets := map[string]*lap.Detector{}
	got = map[string][]telemetry.Lap{}
	_, truth = simRun(t, cfg, func(f *telemetry.Frame) {
		d := dets[f.Car]
		if d == nil {
			if d, err = lap.NewDetector(lc, ch, f.Car, f.Session); err != nil {
				t.Fatal(err)
			}
			dets[f.Car] = d
		}
		if mod != nil {
			f = mod(f, lat.ID, lon.ID)
		}
		got[f.Car] = d.Frame(f, got[f.Car])
	})
	return got, truth
}

func withoutGPS(f *telemetry.Frame, ids ...int32) *telemetry.Frame {
	g := *f
	g.Samples = nil
	for _, s := range f.Samples {
		if s.ID != ids[0] && s.ID != ids[1] {
			g.Samples = append(g.Samples, s)
		}
	}
	return &g
}

func timing(t testing.TB, name string) track.Timing {
	tr, err := track.LookupTiming(name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// compare holds the detected laps to the truth: same laps, same numbers,
// pit flags, lap and sector times within tol (tolGap for laps whose lines
// fell in a GPS gap).
func compare(t *testing.T, got map[string][]telemetry.Lap, truth []telemetry.Lap, tol, tolGap time.Duration) {
	t.Helper()
	byCar := map[string][]telemetry.Lap{}
	for _, l := range truth {
		byCar[l.Car] = append(byCar[l.Car], l)
	}
	var worst time.Duration
	for car, want := range byCar {
		g := got[car]
		if len(g) != len(want) {
			t.Fatalf("%s: detected %d laps, truth has %d", car, len(g), len(want))
		}
		for i := range want {
			w, l := want[i], g[i]
			if err := l.Validate(); err != nil {
				t.Errorf("%s lap %d: %v", car, l.Lap, err)
			}
			lim := tol
			if gap := metric(l, lap.MMaxGPSGap); gap > 2.5 {
				// A line crossed in a longer gap (a forced 2 s cut merged
				// with one of the receiver's own dropouts): the chord cuts
				// the corner, and the error grows with the square of the
				// gap. The lap is marked invalid either way.
				lim = time.Duration(float64(tolGap) * (gap / 2) * (gap / 2))
			} else if gap > 0.5 {
				lim = tolGap
			}
			if l.Lap != w.Lap || l.PitLane != w.PitLane {
				t.Errorf("%s lap %d (pit %v): truth lap %d (pit %v)", car, l.Lap, l.PitLane, w.Lap, w.PitLane)
			}
			d := (l.LapTime() - w.LapTime()).Abs()
			worst = max(worst, d)
			if d > lim || time.Duration(l.StartNs-w.StartNs).Abs() > lim {
				t.Errorf("%s lap %d: time %v start %d, truth %v start %d", car, l.Lap, l.LapTime(), l.StartNs, w.LapTime(), w.StartNs)
			}
			if len(l.SectorsNs) != len(w.SectorsNs) {
				t.Errorf("%s lap %d: %d sectors, truth %d", car, l.Lap, len(l.SectorsNs), len(w.SectorsNs))
				continue
			}
			for k := range w.SectorsNs {
				if d := time.Duration(l.SectorsNs[k] - w.SectorsNs[k]).Abs(); d > lim {
					t.Errorf("%s lap %d sector %d: off by %v (longest GPS gap in the lap %.1f s)", car, l.Lap, k+1, d, metric(l, lap.MMaxGPSGap))
				}
			}
		}
	}
	t.Logf("worst lap time error %v over %d laps", worst, len(truth))
}

func metric(l telemetry.Lap, name string) float64 {
	for _, m := range l.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	return math.NaN()
}

// 10 Hz GPS with the simulator's noise and glitches: every lap, pit laps
// included, within 5 ms of the truth.
func TestGoldenTenHz(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Cars: 2, Laps: 4, PitEvery: 2, Seed: 3, GPSRateHz: 10, DropoutsPerHour: -1, GPSNoise: -1}
	got, truth := detectAll(t, cfg, lap.Config{Track: timing(t, "brands-indy")}, nil)
	compare(t, got, truth, 5*time.Millisecond, 5*time.Millisecond)
	pits := 0
	for _, l := range truth {
		if l.PitLane {
			pits++
		}
	}
	if pits == 0 {
		t.Fatal("no pit laps in the run: the test proves nothing about the pit lane")
	}
	for _, l := range got["car01"] {
		if v := metric(l, lap.MValid); v != map[bool]float64{true: 0, false: 1}[l.PitLane] {
			t.Errorf("lap %d pit %v valid %v", l.Lap, l.PitLane, v)
		}
		for _, m := range []string{lap.MTopSpeed, lap.MMinSpeed, lap.MAvgSpeed, lap.MFullThrottle, lap.MBraking,
			lap.MGearShifts, lap.MFuelUsed, lap.MMaxGLat, "tyre_temp_fl_avg", "tyre_temp_rr_max", lap.MDistance} {
			if math.IsNaN(metric(l, m)) {
				t.Errorf("lap %d has no %s", l.Lap, m)
			}
		}
		if top := metric(l, lap.MTopSpeed); top < 150 || top > 330 {
			t.Errorf("lap %d top speed %v km/h", l.Lap, top)
		}
		if dist := metric(l, lap.MDistance); math.Abs(dist-1929) > 60 {
			t.Errorf("lap %d GPS distance %v m, track is 1929 m", l.Lap, dist)
		}
		if l.Lap >= 2 && math.IsNaN(metric(l, lap.MDeltaBest)) && !l.PitLane {
			t.Errorf("lap %d has no delta to the car's best", l.Lap)
		}
	}
}

// The other tracks at 10 Hz, one car, two laps.
func TestGoldenTracks(t *testing.T) {
	for _, name := range []string{"monza", "spa"} {
		t.Run(name, func(t *testing.T) {
			cfg := simulator.Config{Track: name, Laps: 2, Seed: 11, GPSRateHz: 10, DropoutsPerHour: -1, GPSNoise: -1,
				Rates: map[string]int{"g_vert": 100}}
			got, truth := detectAll(t, cfg, lap.Config{Track: timing(t, name)}, nil)
			compare(t, got, truth, 5*time.Millisecond, 5*time.Millisecond)
		})
	}
}
