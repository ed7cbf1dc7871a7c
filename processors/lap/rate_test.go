package lap_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// Lap detection follows the receiver: at 1, 10 and 25 Hz every lap of
// the simulator's truth is found, pit laps marked, the clean laps valid
// (at 1 Hz they all used to be invalid: MaxGap was 1 s, exactly the
// period), and the times within what interpolation at that rate gives.
func TestGPSRates(t *testing.T) {
	for _, tc := range []struct {
		hz  int
		tol time.Duration
	}{
		{1, 150 * time.Millisecond},
		{10, 5 * time.Millisecond},
		{25, 5 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%dHz", tc.hz), func(t *testing.T) {
			cfg := simulator.Config{Track: "brands-indy", Cars: 2, Laps: 4, PitEvery: 2, Seed: 9, GPSRateHz: tc.hz,
				DropoutsPerHour: -1, GPSNoise: -1, Rates: map[string]int{"g_vert": 100}}
			got, truth := detectAll(t, cfg, lap.Config{Track: timing(t, "brands-indy")}, nil)
			compare(t, got, truth, tc.tol, tc.tol)
			for car, ls := range got {
				for _, l := range ls {
					want := map[bool]float64{true: 0, false: 1}[l.PitLane]
					if v := metric(l, lap.MValid); v != want {
						t.Errorf("%s lap %d (pit %v): valid %v, max GPS gap %vs", car, l.Lap, l.PitLane, v, metric(l, lap.MMaxGPSGap))
					}
					if p := metric(l, lap.MGPSPeriod); math.Abs(p-1/float64(tc.hz)) > 1e-9 {
						t.Errorf("%s lap %d: GPS period %v s at %d Hz", car, l.Lap, p, tc.hz)
					}
				}
			}
		})
	}
}

// A phone's 1 Hz receiver: fix times off the second by up to 20 ms and
// one fix in 15 lost (a 2 s gap). Clean laps stay valid (with MaxGap
// fixed at 1 s every lap was invalid) and within a few tenths.
func TestPhoneAtOneHz(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Cars: 2, Laps: 4, PitEvery: 2, Seed: 9, GPSRateHz: 1,
		DropoutsPerHour: -1, GPSNoise: -1, Rates: map[string]int{"g_vert": 100}}
	n := 0
	mod := func(f *telemetry.Frame, lat, lon int32) *telemetry.Frame {
		if !hasSample(f, lat) {
			return f
		}
		n++
		if n%15 == 0 {
			return withoutGPS(f, lat, lon)
		}
		g := *f
		g.TimeNs += int64(20 * time.Millisecond * time.Duration(n%3-1)) // -20, 0, +20 ms
		return &g
	}
	got, truth := detectMod(t, cfg, lap.Config{Track: timing(t, "brands-indy")}, mod)
	compare(t, got, truth, 300*time.Millisecond, 300*time.Millisecond)
	for car, ls := range got {
		for _, l := range ls {
			if v := metric(l, lap.MValid); v != map[bool]float64{true: 0, false: 1}[l.PitLane] {
				t.Errorf("%s lap %d (pit %v): valid %v, max GPS gap %vs, period %vs", car, l.Lap, l.PitLane, v,
					metric(l, lap.MMaxGPSGap), metric(l, lap.MGPSPeriod))
			}
		}
	}
}

func hasSample(f *telemetry.Frame, id int32) bool {
	for _, s := range f.Samples {
		if s.ID == id {
			return true
		}
	}
	return false
}

// A GPS-only logger has gps_speed and no speed channel: the detector
// reads gps_speed instead (top, minimum and average speed, and the
// odometer that times crossings in GPS gaps); it used to read nothing.
func TestGPSSpeedWithoutSpeed(t *testing.T) {
	cfg := simulator.Config{Track: "brands-indy", Laps: 2, Seed: 9, GPSRateHz: 10, DropoutsPerHour: -1, GPSNoise: -1,
		Rates: map[string]int{"g_vert": 100}}
	s0, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	full := s0.Catalog(0)
	gpsOnly := *full
	gpsOnly.Channels = nil
	for _, c := range full.Channels {
		if c.Name == telemetry.ChanSpeed {
			c.Name = "speed_unused"
		}
		gpsOnly.Channels = append(gpsOnly.Channels, c)
	}
	tr := timing(t, "brands-indy")
	var laps []telemetry.Lap
	var d *lap.Detector
	simRun(t, cfg, func(f *telemetry.Frame) {
		if d == nil {
			if d, err = lap.NewDetector(lap.Config{Track: tr}, lap.NewChannels(&gpsOnly, ""), f.Car, f.Session); err != nil {
				t.Fatal(err)
			}
		}
		laps = d.Frame(f, laps)
	})
	if len(laps) != 2 {
		t.Fatalf("%d laps, want 2", len(laps))
	}
	for _, l := range laps {
		top, avg := metric(l, lap.MTopSpeed), metric(l, lap.MAvgSpeed)
		if !(top > 150 && top < 330) || !(avg > 80 && avg < top) {
			t.Errorf("lap %d: top speed %v, average %v km/h from gps_speed", l.Lap, top, avg)
		}
	}
}
