package simulator

import (
	"math"
	"testing"

	"github.com/pitwall/pitwall/track"
)

// Lateral grip limits the corners of every built-in track: the slowest is
// between 40 and 120 km/h.
func TestSpeedProfileCorners(t *testing.T) {
	ts, err := track.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range ts {
		p := make([]float64, len(tr.X))
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
