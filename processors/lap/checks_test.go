package lap_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// A planar circuit: a circle of 1000 m, driven anticlockwise (seen with
// +x east and +z north) at 40 m/s, so a lap takes 25 s. Start/finish is
// at (r, 0) where the car heads +z, the one sector line at (-r, 0).
const (
	circleLength = 1000.0
	circleSpeed  = 40.0
)

var circleR = circleLength / (2 * math.Pi)

func circleTiming() track.Timing {
	sfA, sfB := track.LineAcrossPlanar(track.Point{X: circleR}, 0, 20)
	s1A, s1B := track.LineAcrossPlanar(track.Point{X: -circleR}, 180, 20)
	return track.Timing{Name: "circle", Length: circleLength, Planar: true,
		StartFinish: track.TimingLine{Name: "start_finish", PA: sfA, PB: sfB},
		Sectors:     []track.TimingLine{{Name: "sector1", PA: s1A, PB: s1B}}}
}

// Channel ids of gameCatalog.
const (
	idPosX int32 = iota
	idPosZ
	idSpeed
	idDeviceLap
)

func gameCatalog() *telemetry.ChannelCatalog {
	return &telemetry.ChannelCatalog{Car: "game01", Channels: []telemetry.Channel{
		{ID: idPosX, Name: telemetry.ChanPosX, Unit: "m", RateHz: 10, Min: -1e6, Max: 1e6},
		{ID: idPosZ, Name: telemetry.ChanPosZ, Unit: "m", RateHz: 10, Min: -1e6, Max: 1e6},
		{ID: idSpeed, Name: telemetry.ChanSpeed, Unit: "km/h", RateHz: 10, Min: 0, Max: 400},
		{ID: idDeviceLap, Name: telemetry.ChanDeviceLap, RateHz: 1, Min: 0, Max: 1e6},
	}}
}

// run feeds the detector a fix every 1/hz s from t = 0 to end (seconds)
// at pos(t), and the frames extra adds, and collects what it reports.
type run struct {
	laps     []telemetry.Lap
	ignored  []lap.Ignored
	problems []*lap.LineError
}

func drive(t *testing.T, tr track.Timing, hz float64, end float64, pos func(s float64) (x, z float64), extra func(ns int64) []telemetry.Frame) run {
	t.Helper()
	d, err := lap.NewDetector(lap.Config{Track: tr}, lap.NewChannels(gameCatalog(), ""), "game01", "s")
	if err != nil {
		t.Fatal(err)
	}
	var r run
	feed := func(f *telemetry.Frame) {
		r.laps = d.Frame(f, r.laps)
		r.ignored = append(r.ignored, d.Ignored()...)
		r.problems = append(r.problems, d.Problems()...)
	}
	const t0 = int64(1e18)
	for i := 0; float64(i)/hz <= end; i++ {
		s := float64(i) / hz
		ns := t0 + int64(math.Round(s*1e9))
		if extra != nil {
			for _, f := range extra(ns) {
				f.TimeNs += t0
				feed(&f)
			}
		}
		x, z := pos(s)
		feed(&telemetry.Frame{Car: "game01", Session: "s", TimeNs: ns,
			Samples: []telemetry.Sample{{ID: idPosX, Value: x}, {ID: idPosZ, Value: z}, {ID: idSpeed, Value: circleSpeed * 3.6}}})
	}
	return r
}

// circle is the car on the circle, starting half a radian before
// start/finish; its first crossing is at 0.5 r / v seconds.
func circle(s float64) (x, z float64) {
	a := circleSpeed*s/circleR - 0.5
	return circleR * math.Cos(a), circleR * math.Sin(a)
}

var circleFirst = 0.5 * circleR / circleSpeed

// A planar track (a game's x/z) times laps like a WGS84 one: every lap
// and sector at the truth, no problem reported.
func TestPlanarTrack(t *testing.T) {
	r := drive(t, circleTiming(), 10, circleFirst+3.1*circleLength/circleSpeed, circle, nil)
	if len(r.laps) != 3 || len(r.problems) != 0 {
		t.Fatalf("%d laps, problems %v; want 3 laps, none", len(r.laps), r.problems)
	}
	for _, l := range r.laps {
		if d := (l.LapTime() - 25*time.Second).Abs(); d > 2*time.Millisecond {
			t.Errorf("lap %d: %v, want 25s", l.Lap, l.LapTime())
		}
		if len(l.SectorsNs) != 2 || time.Duration(l.SectorsNs[0]-12500*int64(time.Millisecond)).Abs() > 2*time.Millisecond {
			t.Errorf("lap %d: sectors %v", l.Lap, l.SectorsNs)
		}
		if l.DeviceNs != nil {
			t.Errorf("lap %d: device time %v without device markers", l.Lap, *l.DeviceNs)
		}
	}
}

// A start/finish line with its ends swapped is crossed only backwards:
// the detector times nothing, reports each backward crossing as ignored,
// and after two of them, half a lap or more apart, says the ends are
// swapped. It used to time nothing and say nothing.
func TestSwappedLine(t *testing.T) {
	tr := circleTiming()
	tr.StartFinish.PA, tr.StartFinish.PB = tr.StartFinish.PB, tr.StartFinish.PA
	r := drive(t, tr, 10, circleFirst+2.5*circleLength/circleSpeed, circle, nil)
	if len(r.laps) != 0 {
		t.Errorf("%d laps timed on a swapped line", len(r.laps))
	}
	if len(r.problems) != 1 || !errors.Is(r.problems[0], lap.ErrLineBackwards) {
		t.Fatalf("problems %v, want one ErrLineBackwards", r.problems)
	}
	t.Log(r.problems[0])
	back := 0
	for _, ig := range r.ignored {
		if ig.Line == "start_finish" && ig.Reason == lap.IgnoredBackwards {
			back++
		}
	}
	if back != 3 {
		t.Errorf("%d backward crossings of start/finish reported as ignored, want 3: %v", back, r.ignored)
	}
}

// A sector line that is not on the circuit is reported after one and a
// half laps' distance; a car standing still with a noisy GPS for a long
// time drives no distance.
func TestLineNotCrossed(t *testing.T) {
	tr := circleTiming()
	tr.Sectors[0].PA.X += 5000
	tr.Sectors[0].PB.X += 5000
	r := drive(t, tr, 10, circleFirst+1.6*circleLength/circleSpeed, circle, nil)
	if len(r.problems) != 1 || !errors.Is(r.problems[0], lap.ErrLineNotCrossed) {
		t.Fatalf("problems %v, want one ErrLineNotCrossed", r.problems)
	}
	t.Log(r.problems[0])
	rng := rand.New(rand.NewPCG(1, 2))
	parked := drive(t, circleTiming(), 25, 3600, func(float64) (x, z float64) { return rng.NormFloat64() * 2, rng.NormFloat64() * 2 }, nil)
	if len(parked.problems) != 0 {
		t.Errorf("a parked car: %v", parked.problems)
	}
}

// A start/finish crossing too soon after the last (less than
// MinLapFraction of a lap of driving) is ignored and reported.
func TestTooShortForALap(t *testing.T) {
	tr := circleTiming()
	// Up the line's +z side, 60 m out, across to x = r + 60, back down
	// past the line's level, across to the line and up through it again.
	path := []struct{ x, z float64 }{{circleR, -30}, {circleR, 60}, {circleR + 60, 60}, {circleR + 60, -30}, {circleR, -30}, {circleR, 60}}
	legs := 0.0
	var at []float64
	for i := 1; i < len(path); i++ {
		at = append(at, legs)
		legs += math.Hypot(path[i].x-path[i-1].x, path[i].z-path[i-1].z) / 20
	}
	pos := func(s float64) (x, z float64) {
		for i := len(at) - 1; i >= 0; i-- {
			if s >= at[i] {
				a, b := path[i], path[i+1]
				f := min((s-at[i])*20/math.Hypot(b.x-a.x, b.z-a.z), 1)
				return a.x + (b.x-a.x)*f, a.z + (b.z-a.z)*f
			}
		}
		return path[0].x, path[0].z
	}
	r := drive(t, tr, 10, legs, pos, nil)
	short := 0
	for _, ig := range r.ignored {
		if ig.Line == "start_finish" && ig.Reason == lap.IgnoredTooShort {
			short++
		}
	}
	if short != 1 || len(r.laps) != 0 {
		t.Errorf("%d laps, ignored %v; want the second crossing ignored as too short", len(r.laps), r.ignored)
	}
}

// The source device's own lap markers (channel device_lap) near both of
// a lap's crossings give the lap its device time; markers far from them
// (a device line elsewhere) give none.
func TestDeviceLapTime(t *testing.T) {
	lapNs := int64(circleLength / circleSpeed * 1e9)
	first := int64(circleFirst * 1e9)
	markers := func(offset int64, jitter func(n int64) int64) func(ns int64) []telemetry.Frame {
		next := first + offset
		n := int64(0)
		return func(ns int64) []telemetry.Frame {
			rel := ns - 1e18
			if rel < next+jitter(n) {
				return nil
			}
			f := telemetry.Frame{Car: "game01", Session: "s", TimeNs: next + jitter(n), Samples: []telemetry.Sample{{ID: idDeviceLap, Value: float64(n + 1)}}}
			n++
			next += lapNs
			return []telemetry.Frame{f}
		}
	}
	end := circleFirst + 3.1*circleLength/circleSpeed
	near := drive(t, circleTiming(), 10, end, circle, markers(0, func(n int64) int64 { return n * int64(3*time.Millisecond) }))
	if len(near.laps) != 3 {
		t.Fatalf("%d laps", len(near.laps))
	}
	for _, l := range near.laps {
		if l.DeviceNs == nil || time.Duration(*l.DeviceNs-(lapNs+int64(3*time.Millisecond))).Abs() > time.Microsecond {
			t.Errorf("lap %d: device time %v, want %v", l.Lap, l.DeviceNs, time.Duration(lapNs)+3*time.Millisecond)
		}
	}
	far := drive(t, circleTiming(), 10, end, circle, markers(int64(5*time.Second), func(int64) int64 { return 0 }))
	for _, l := range far.laps {
		if l.DeviceNs != nil {
			t.Errorf("lap %d: device time %v from markers 5 s away", l.Lap, *l.DeviceNs)
		}
	}
}

// A device lap marker in the very frame whose fix completes the crossing
// (a logger that writes its lap column on the first row past the line)
// gives the lap its device time: the detector takes the marker before
// the fix.
func TestDeviceMarkerInCrossingFrame(t *testing.T) {
	d, err := lap.NewDetector(lap.Config{Track: circleTiming()}, lap.NewChannels(gameCatalog(), ""), "game01", "s")
	if err != nil {
		t.Fatal(err)
	}
	const hz, t0 = 10.0, int64(1e18)
	lapS := circleLength / circleSpeed
	var laps []telemetry.Lap
	var marks []int64
	n := 0
	for i := 0; float64(i)/hz <= circleFirst+3.1*lapS; i++ {
		s := float64(i) / hz
		ns := t0 + int64(math.Round(s*1e9))
		x, z := circle(s)
		f := telemetry.Frame{Car: "game01", Session: "s", TimeNs: ns,
			Samples: []telemetry.Sample{{ID: idPosX, Value: x}, {ID: idPosZ, Value: z}, {ID: idSpeed, Value: circleSpeed * 3.6}}}
		if s >= circleFirst+float64(n)*lapS { // the first row past the line
			n++
			f.Samples = append(f.Samples, telemetry.Sample{ID: idDeviceLap, Value: float64(n)})
			f.SortSamples()
			marks = append(marks, ns)
		}
		laps = d.Frame(&f, laps)
	}
	if len(laps) != 3 {
		t.Fatalf("%d laps", len(laps))
	}
	for i, l := range laps {
		if l.DeviceNs == nil || *l.DeviceNs != marks[i+1]-marks[i] {
			t.Errorf("lap %d: device time %v, want %v (the markers' difference)", l.Lap, l.DeviceNs, time.Duration(marks[i+1]-marks[i]))
		}
	}
}

// A fix no car could have driven to (a receiver's glitch: longitude
// railed at 180°) is skipped and reported, and times nothing: the laps
// are those of the clean run. A first fix that was the glitch is given
// up after a few good fixes disagree with it.
func TestGPSJumpIgnored(t *testing.T) {
	const maxJumpsBefore = 2
	end := circleFirst + 3.1*circleLength/circleSpeed
	clean := drive(t, circleTiming(), 10, end, circle, nil)
	glitchAt := func(at float64) func(s float64) (x, z float64) {
		return func(s float64) (x, z float64) {
			if math.Abs(s-at) < 1e-9 {
				return 1e7, -3e6 // thousands of km away
			}
			return circle(s)
		}
	}
	for _, at := range []float64{0, circleFirst + 0.4*circleLength/circleSpeed, circleFirst + 1.95*circleLength/circleSpeed} {
		r := drive(t, circleTiming(), 10, end, glitchAt(math.Round(at*10)/10), nil)
		if len(r.laps) != len(clean.laps) {
			t.Fatalf("glitch at %.1f s: %d laps, clean run %d", at, len(r.laps), len(clean.laps))
		}
		for i, l := range r.laps {
			if l.StartNs != clean.laps[i].StartNs || l.EndNs != clean.laps[i].EndNs || !slices.Equal(l.SectorsNs, clean.laps[i].SectorsNs) {
				t.Errorf("glitch at %.1f s: lap %d %v, clean %v", at, l.Lap, l.LapTime(), clean.laps[i].LapTime())
			}
		}
		jumps := 0
		for _, ig := range r.ignored {
			if ig.Reason == lap.IgnoredGPSJump {
				jumps++
			}
		}
		want := 1
		if at == 0 {
			want = maxJumpsBefore // the good fixes that disagree with it, before the detector gives it up
		}
		if jumps != want {
			t.Errorf("glitch at %.1f s: %d fixes ignored as jumps, want %d", at, jumps, want)
		}
	}
}
