package track

import (
	"errors"
	"math"
	"testing"
)

func TestBuiltInTracks(t *testing.T) {
	want := map[string]float64{"monza": 5793, "spa": 7004, "brands-indy": 1929}
	ts, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(want) {
		t.Fatalf("%d tracks", len(ts))
	}
	for _, tr := range ts {
		if tr.Length != want[tr.Def.Name] {
			t.Errorf("%s is %v m long", tr.Def.Name, tr.Length)
		}
		// The samples are evenly spaced all the way round, back to the start.
		n := len(tr.X)
		for i := range n {
			j := (i + 1) % n
			if d := math.Hypot(tr.X[j]-tr.X[i], tr.Y[j]-tr.Y[i]); math.Abs(d-tr.Step) > 0.01 {
				t.Fatalf("%s: samples %d and %d are %.3f m apart, step %.3f", tr.Def.Name, i, j, d, tr.Step)
			}
		}
		// Start/finish is at the origin, heading as defined, on a straight.
		x, y, h := tr.At(0)
		if x != 0 || y != 0 || math.Abs(math.Mod(450-h*180/math.Pi, 360)-tr.Def.Heading) > 1e-6 || tr.Curvature(0) != 0 {
			t.Errorf("%s: start/finish at %v,%v heading %v", tr.Def.Name, x, y, h)
		}
		// Timing lines cross the track where they should.
		sf := tr.StartFinish()
		at := func(s float64) LatLon { x, y, _ := tr.At(s); return tr.ToLatLon(x, y) }
		before, after := at(-2), at(2)
		if frac, fwd, ok := sf.Crossing(before, after); !ok || !fwd || math.Abs(frac-0.5) > 0.01 {
			t.Errorf("%s: start/finish crossing %v %v %v", tr.Def.Name, frac, fwd, ok)
		}
		for i, line := range tr.SectorLines() {
			d := tr.SectorAt[i]
			if _, fwd, ok := line.Crossing(at(d-2), at(d+2)); !ok || !fwd {
				t.Errorf("%s: %s not crossed", tr.Def.Name, line.Name)
			}
		}
	}
}

func TestDefErrors(t *testing.T) {
	good := builtinDefs[2]
	for name, mut := range map[string]func(*Def){
		"open loop":      func(d *Def) { d.Segments = []Segment{S(100), R(10, 90), S(100)} },
		"pit off":        func(d *Def) { d.PitIn = 5000 },
		"sectors":        func(d *Def) { d.Sectors = []float64{0.6, 0.3} },
		"corner first":   func(d *Def) { d.Segments = append([]Segment{R(10, 10)}, d.Segments...) },
		"bad pit side":   func(d *Def) { d.PitSide = 0 },
		"box after exit": func(d *Def) { d.PitBox = d.PitIn },
	} {
		d := good
		d.Segments = append([]Segment(nil), good.Segments...)
		mut(&d)
		if _, err := d.Build(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Lookup("nowhere"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown track: %v", err)
	}
}

// A car in the pit lane crosses start/finish within Timing's pit part; one
// anywhere on the track, up to its pit-side edge, does not.
func TestTimingPitPart(t *testing.T) {
	ts, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range ts {
		tm := tr.Timing()
		sf := tm.StartFinish
		// u is where on start/finish (0 at A, 1 at B) a car that far
		// left of the centreline crosses it.
		u := func(left float64) float64 {
			x, y, h := tr.At(0)
			p := tr.ToLatLon(x-left*math.Sin(h), y+left*math.Cos(h))
			return TimingLine{A: sf.A, B: p}.Length() / sf.Length()
		}
		inPit := func(u float64) bool { return u >= tm.PitFrom && u <= tm.PitTo }
		if pit := u(tr.PitLateral(0)); !inPit(pit) {
			t.Errorf("%s: the pit lane crosses at %.3f, outside the pit part %.3f..%.3f", tr.Def.Name, pit, tm.PitFrom, tm.PitTo)
		}
		for _, left := range []float64{-tr.Def.Width / 2, 0, tr.Def.Width / 2} {
			if on := u(left); inPit(on) {
				t.Errorf("%s: the track %.0f m left of the centreline crosses at %.3f, in the pit part", tr.Def.Name, left, on)
			}
		}
	}
}
