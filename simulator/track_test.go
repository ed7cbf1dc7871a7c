package simulator

import (
	"errors"
	"math"
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

func TestBuiltInTracks(t *testing.T) {
	want := map[string]float64{"monza": 5793, "spa": 7004, "brands-indy": 1929}
	ts, err := Tracks()
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
		at := func(s float64) telemetry.LatLon { x, y, _ := tr.At(s); return tr.ToLatLon(x, y) }
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
		// Lateral grip limits the corners: some corner is slower than 120 km/h.
		p := make([]float64, n)
		speedProfile(p, tr, &gtCar, 1, 1)
		slowest := math.Inf(1)
		for _, v := range p {
			slowest = math.Min(slowest, v)
		}
		if slowest*3.6 > 120 || slowest*3.6 < 40 {
			t.Errorf("%s: slowest corner %.0f km/h", tr.Def.Name, slowest*3.6)
		}
	}
}

func TestTrackDefErrors(t *testing.T) {
	good := trackDefs[2]
	for name, mut := range map[string]func(*TrackDef){
		"open loop":      func(d *TrackDef) { d.Segments = []Segment{S(100), R(10, 90), S(100)} },
		"pit off":        func(d *TrackDef) { d.PitIn = 5000 },
		"sectors":        func(d *TrackDef) { d.Sectors = []float64{0.6, 0.3} },
		"corner first":   func(d *TrackDef) { d.Segments = append([]Segment{R(10, 10)}, d.Segments...) },
		"bad pit side":   func(d *TrackDef) { d.PitSide = 0 },
		"box after exit": func(d *TrackDef) { d.PitBox = d.PitIn },
	} {
		d := good
		d.Segments = append([]Segment(nil), good.Segments...)
		mut(&d)
		if _, err := d.Build(); !errors.Is(err, ErrTrack) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := LookupTrack("nowhere"); !errors.Is(err, ErrTrack) {
		t.Errorf("unknown track: %v", err)
	}
}
