package simulator

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// run steps a simulation to its end, handing every frame to fn.
func run(t testing.TB, cfg Config, fn func(f *telemetry.Frame)) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for {
		more, err := s.Step(func(f *telemetry.Frame) error {
			if fn != nil {
				fn(f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return s
		}
	}
}

func lines(t testing.TB, cfg Config) []byte {
	var buf []byte
	run(t, cfg, func(f *telemetry.Frame) {
		var err error
		if buf, err = telemetry.AppendFrameLine(buf, f); err != nil {
			t.Fatal(err)
		}
	})
	return buf
}

func TestSameSeedSameBytes(t *testing.T) {
	cfg := Config{Track: "brands-indy", Cars: 2, Seed: 42, Duration: 20 * time.Second, DropoutsPerHour: 2000, GlitchesPerHour: 2000}
	a, b := lines(t, cfg), lines(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
	cfg.Seed = 43
	if bytes.Equal(a, lines(t, cfg)) {
		t.Fatal("another seed gives the same bytes")
	}
}

func TestLapsAndSectors(t *testing.T) {
	s := run(t, Config{Track: "brands-indy", Cars: 3, Laps: 3, PitEvery: 2, Seed: 1}, nil)
	laps := s.DrainLaps(nil)
	if len(laps) != 9 {
		t.Fatalf("%d laps, want 3 cars x 3", len(laps))
	}
	last := map[string]telemetry.Lap{}
	pits := 0
	for _, l := range laps {
		if err := l.Validate(); err != nil { // includes: sectors sum to the lap time
			t.Fatal(err)
		}
		if len(l.SectorsNs) != 3 {
			t.Fatalf("lap %+v has %d sectors", l, len(l.SectorsNs))
		}
		if prev, ok := last[l.Car]; ok {
			if l.Lap != prev.Lap+1 || l.StartNs != prev.EndNs {
				t.Fatalf("lap %d of %s does not follow lap %d", l.Lap, l.Car, prev.Lap)
			}
		} else if l.Lap != 1 {
			t.Fatalf("%s starts at lap %d", l.Car, l.Lap)
		}
		if l.PitLane {
			pits++
		}
		last[l.Car] = l
		if secs := l.LapTime().Seconds(); secs < 40 || secs > 120 {
			t.Fatalf("lap time %v on a 1.9 km club circuit", l.LapTime())
		}
	}
	// Lap 2 ends in the pit lane and lap 3 starts in it.
	if pits != 6 {
		t.Fatalf("%d laps through the pit lane, want 6", pits)
	}
	if !s.Done() {
		t.Fatal("simulation not done after every car's laps")
	}
}

func TestDuration(t *testing.T) {
	start := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	var first, lastNs int64 = -1, 0
	run(t, Config{Duration: 3 * time.Second, Start: start}, func(f *telemetry.Frame) {
		if first < 0 {
			first = f.TimeNs
		}
		lastNs = f.TimeNs
	})
	if first != start.UnixNano() || lastNs != start.Add(3*time.Second).UnixNano() {
		t.Fatalf("frames from %d to %d", first, lastNs)
	}
}

// gpsFix is one GPS position of one car.
type gpsFix struct {
	ns int64
	p  track.LatLon
}

// fixes collects each car's GPS fixes (a fix needs both coordinates).
func fixes(cat *telemetry.ChannelCatalog) (map[string][]gpsFix, func(*telemetry.Frame)) {
	lat, _ := cat.ByName(telemetry.ChanGPSLat)
	lon, _ := cat.ByName(telemetry.ChanGPSLon)
	out := map[string][]gpsFix{}
	return out, func(f *telemetry.Frame) {
		la, ok1 := f.Value(lat.ID)
		lo, ok2 := f.Value(lon.ID)
		if ok1 && ok2 {
			out[f.Car] = append(out[f.Car], gpsFix{f.TimeNs, track.LatLon{Lat: la, Lon: lo}})
		}
	}
}

// crossings detects line crossings from GPS fixes the way a lap processor
// does: intersect the segment between consecutive fixes with the line and
// interpolate the time.
func crossings(fx []gpsFix, line track.TimingLine) []int64 {
	var out []int64
	for i := 1; i < len(fx); i++ {
		frac, fwd, ok := line.Crossing(fx[i-1].p, fx[i].p)
		if ok && fwd {
			out = append(out, fx[i-1].ns+int64(frac*float64(fx[i].ns-fx[i-1].ns)))
		}
	}
	return out
}

// The truth is what GPS lap detection sees: start/finish and sector lines
// crossed where and when the truth says, also through the pit lane.
func TestTruthMatchesGPSCrossings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		tol  time.Duration
	}{
		// Linear interpolation between fixes 40 ms apart is off by a*T^2/8v:
		// ~0.2 ms for the first crossing, accelerating hard from the grid.
		{"quiet", Config{Quiet: true}, 500 * time.Microsecond},
		{"noisy", Config{DropoutsPerHour: -1}, 15 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Track, cfg.Cars, cfg.Laps, cfg.PitEvery, cfg.Seed = "brands-indy", 2, 3, 2, 5
			s0, _ := New(cfg)
			got, collect := fixes(s0.Catalog(0))
			s := run(t, cfg, collect)
			laps := s.DrainLaps(nil)
			lines := append([]track.TimingLine{s.Track().StartFinish()}, s.Track().SectorLines()...)
			for _, car := range s.Cars() {
				var want [3][]int64 // per line: truth crossing times
				for _, l := range laps {
					if l.Car != car {
						continue
					}
					if len(want[0]) == 0 {
						want[0] = append(want[0], l.StartNs)
					}
					at := l.StartNs
					for k, sec := range l.SectorsNs {
						at += sec
						want[(k+1)%3] = append(want[(k+1)%3], at)
					}
				}
				for k, line := range lines {
					seen := crossings(got[car], line)
					if len(seen) != len(want[k]) {
						t.Fatalf("%s %s: GPS crosses %d times, truth %d", car, line.Name, len(seen), len(want[k]))
					}
					for i := range seen {
						if d := time.Duration(seen[i] - want[k][i]); d.Abs() > tc.tol {
							t.Errorf("%s %s crossing %d: GPS %v off the truth", car, line.Name, i, d)
						}
					}
				}
			}
		})
	}
}

// Physical sanity: speeds and accelerations within the car's limits, fuel
// falling except at a pit stop, GPS on the track (or in the pit lane).
func TestPhysicalSanity(t *testing.T) {
	for _, name := range []string{"monza", "spa", "brands-indy"} {
		t.Run(name, func(t *testing.T) {
			cfg := Config{Track: name, Cars: 2, Laps: 1, PitEvery: 1, Seed: 9, Quiet: true}
			s0, _ := New(cfg)
			cat := s0.Catalog(0)
			tr := s0.Track()
			id := func(name string) int32 { c, _ := cat.ByName(name); return c.ID }
			speed, gLat, gLong, fuel, limiter := id("speed"), id("g_lat"), id("g_long"), id("fuel_level"), id("pit_limiter")
			lat, lon := id("gps_lat"), id("gps_lon")
			type carState struct {
				fuel     float64
				speed    float64
				inPit    bool
				refuels  int
				lastNear int
			}
			state := map[string]*carState{}
			m := gtCar
			run(t, cfg, func(f *telemetry.Frame) {
				st := state[f.Car]
				if st == nil {
					st = &carState{fuel: math.Inf(1)}
					state[f.Car] = st
				}
				lim, limOK := f.Value(limiter)
				if limOK {
					st.inPit = lim == 1
				}
				if v, ok := f.Value(speed); ok {
					if v < 0 || v > m.VTop*3.6+0.05 {
						t.Fatalf("speed %v km/h", v)
					}
					st.speed = v / 3.6
				}
				if v, ok := f.Value(speed); ok && limOK && lim == 1 && v > tr.Def.PitLimit+0.05 {
					t.Fatalf("%v km/h in a %v km/h pit lane", v, tr.Def.PitLimit)
				}
				if g, ok := f.Value(gLat); ok {
					// The speed sampled at 50 Hz lags up to 20 ms behind.
					v := st.speed + 0.02*m.Accel0
					if limit := m.Mu + m.Aero*v*v; math.Abs(g) > limit*1.05+0.01 {
						t.Fatalf("%v g lateral at %v m/s, grip %v g", g, v, limit)
					}
				}
				if g, ok := f.Value(gLong); ok && (g > m.Accel0/gravity+0.01 || g < -(m.MuBrake+m.Aero*m.VTop*m.VTop)-0.01) {
					t.Fatalf("%v g longitudinal", g)
				}
				if v, ok := f.Value(fuel); ok {
					if v > st.fuel {
						if !st.inPit {
							t.Fatalf("%s fuel rose from %v to %v outside the pit lane", f.Car, st.fuel, v)
						}
						st.refuels++
					}
					st.fuel = v
				}
				la, ok1 := f.Value(lat)
				lo, ok2 := f.Value(lon)
				if ok1 && ok2 {
					x, y := tr.FromLatLon(track.LatLon{Lat: la, Lon: lo})
					d := distanceToCentreline(tr, x, y, &st.lastNear)
					if limit := tr.Def.Width / 2; d > limit && !(st.inPit && d < tr.PitOffset+0.5) {
						t.Fatalf("%s GPS fix %.1f m off the centreline (pit %v)", f.Car, d, st.inPit)
					}
				}
			})
			for car, st := range state {
				if st.refuels == 0 {
					t.Errorf("%s never refuelled", car)
				}
			}
		})
	}
}

// distanceToCentreline searches near the last match first, so following a
// car round the lap stays cheap.
func distanceToCentreline(tr *track.Track, x, y float64, near *int) float64 {
	n := len(tr.X)
	best, bestI := math.Inf(1), *near
	for k := -200; k <= 200; k++ {
		i := (*near + k + n) % n
		if d := math.Hypot(tr.X[i]-x, tr.Y[i]-y); d < best {
			best, bestI = d, i
		}
	}
	if best > 50 { // lost (e.g. the first fix): search everything
		for i := range n {
			if d := math.Hypot(tr.X[i]-x, tr.Y[i]-y); d < best {
				best, bestI = d, i
			}
		}
	}
	*near = bestI
	return math.Max(0, best-tr.Step/2) // samples are a metre apart
}

func TestChannelsRatesAndScaling(t *testing.T) {
	s, err := New(Config{Channels: 320, AuxRateHz: 250, Rates: map[string]int{"rpm": 500}, Quiet: true, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cat := s.Catalog(0)
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cat.Channels) != 320 {
		t.Fatalf("%d channels", len(cat.Channels))
	}
	counts := map[int32]int{}
	run(t, s.cfg, func(f *telemetry.Frame) {
		for _, smp := range f.Samples {
			counts[smp.ID]++
		}
	})
	for _, c := range cat.Channels {
		// Two seconds, both ends included.
		if want := 2*int(c.RateHz) + 1; counts[c.ID] != want {
			t.Errorf("%s at %v Hz: %d samples in 2 s, want %d", c.Name, c.RateHz, counts[c.ID], want)
		}
	}
	if rpm, _ := cat.ByName("rpm"); rpm.RateHz != 500 {
		t.Errorf("rpm rate %v", rpm.RateHz)
	}
	if aux, ok := cat.ByName("aux_001"); !ok || aux.RateHz != 250 {
		t.Errorf("aux_001: %+v", aux)
	}
	small, err := New(Config{Channels: 4})
	if err != nil {
		t.Fatal(err)
	}
	if c := small.Catalog(0); len(c.Channels) != 4 || c.Channels[0].Name != telemetry.ChanGPSLat {
		t.Errorf("4 channels: %+v", c.Channels)
	}
	for _, bad := range []Config{
		{Rates: map[string]int{"rpm": 7}},
		{Rates: map[string]int{"nope": 10}},
		{GPSRateHz: 3},
		{Cars: 1000},
		{Track: "nurburgring"},
		{Channels: -1},
		{Speed: -1},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// Dropouts leave gaps, glitches rail a sensor at its range; Quiet has
// neither, and a frame's samples always keep the model's rules.
func TestDropoutsAndGlitches(t *testing.T) {
	count := func(cfg Config) (gaps, rails int) {
		s0, _ := New(cfg)
		cat := s0.Catalog(0)
		last := map[int32]int64{}
		run(t, cfg, func(f *telemetry.Frame) {
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, smp := range f.Samples {
				c, _ := cat.ByID(smp.ID)
				period := int64(time.Second) / int64(c.RateHz)
				if prev, ok := last[smp.ID]; ok && f.TimeNs-prev > period {
					gaps++
				}
				last[smp.ID] = f.TimeNs
				if c.Name != "gear" && c.Name != "pit_limiter" && c.Name != "throttle" && (smp.Value == c.Max || smp.Value == c.Min && c.Min != 0) {
					rails++
				}
			}
		})
		return gaps, rails
	}
	cfg := Config{Duration: 60 * time.Second, DropoutsPerHour: 600, GlitchesPerHour: 600, Seed: 3}
	if gaps, rails := count(cfg); gaps < 3 || rails < 3 {
		t.Fatalf("%d gaps and %d rails in a minute at 600/h", gaps, rails)
	}
	cfg.Quiet = true
	if gaps, rails := count(cfg); gaps != 0 || rails != 0 {
		t.Fatalf("quiet run has %d gaps and %d rails", gaps, rails)
	}
}

func TestEmitErrorStops(t *testing.T) {
	s, _ := New(Config{})
	boom := errors.New("boom")
	if _, err := s.Step(func(*telemetry.Frame) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Step returned %v", err)
	}
}
