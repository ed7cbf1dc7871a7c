package track

import (
	"math"
	"testing"
)

func TestTimingLineCrossing(t *testing.T) {
	// A line from west (A) to east (B): A is on the left of a driver facing
	// north, so the lap goes north.
	l := TimingLine{A: LatLon{45, 9}, B: LatLon{45, 9.0004}}
	north := LatLon{45.0001, 9.0002}
	south := LatLon{44.9999, 9.0002}
	frac, fwd, ok := l.Crossing(south, north)
	if !ok || !fwd || math.Abs(frac-0.5) > 1e-6 {
		t.Fatalf("northbound: frac %v forward %v ok %v", frac, fwd, ok)
	}
	if _, fwd, ok := l.Crossing(north, south); !ok || fwd {
		t.Fatalf("southbound: forward %v ok %v, want a backward crossing", fwd, ok)
	}
	if _, _, ok := l.Crossing(LatLon{45.0001, 9.001}, LatLon{44.9999, 9.001}); ok {
		t.Fatal("a path beside the line crossed it")
	}
	if _, _, ok := l.Crossing(north, LatLon{45.00005, 9.0002}); ok {
		t.Fatal("a path that stops short crossed the line")
	}
	// A quarter of the way.
	frac, _, ok = l.Crossing(LatLon{44.9999, 9.0001}, LatLon{45.0003, 9.0001})
	if !ok || math.Abs(frac-0.25) > 1e-6 {
		t.Fatalf("frac %v, want 0.25", frac)
	}
}
