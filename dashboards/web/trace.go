package web

import (
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// traceStep is the spacing, in metres along the lap, of the points kept
// for the map's outline.
const traceStep = 5

// Map is the circuit as the page draws it: an outline from the cars' own
// GPS (a whole lap once a car drove one outside the pit lane, the
// longest part so far before that) and the timing lines. Points are
// [x, y]: longitude and latitude, or metres on a planar track.
type Map struct {
	Planar   bool         `json:"planar"`
	Outline  [][2]float64 `json:"outline"`
	Complete bool         `json:"complete"`
	Lines    []MapLine    `json:"lines"`
}

// MapLine is a timing line: start_finish or sectorN.
type MapLine struct {
	Name string     `json:"name"`
	A    [2]float64 `json:"a"`
	B    [2]float64 `json:"b"`
}

// traces builds the map from live records.
type traces struct {
	timing   track.Timing
	lines    []MapLine
	cars     map[string]*carTrace
	best     *carTrace // longest trace so far, before complete
	complete [][2]float64
	ver      uint64
}

type carTrace struct {
	lap    int32
	pit    bool
	dist   float64 // of the last point kept
	maxD   float64
	points [][2]float64
}

func newTraces(t track.Timing) *traces {
	tr := &traces{timing: t, cars: map[string]*carTrace{}, ver: 1}
	for _, l := range append([]track.TimingLine{t.StartFinish}, t.Sectors...) {
		ml := MapLine{Name: l.Name, A: [2]float64{l.A.Lon, l.A.Lat}, B: [2]float64{l.B.Lon, l.B.Lat}}
		if t.Planar {
			ml.A, ml.B = [2]float64{l.PA.X, l.PA.Z}, [2]float64{l.PB.X, l.PB.Z}
		}
		tr.lines = append(tr.lines, ml)
	}
	return tr
}

// add takes one live record's position.
func (t *traces) add(l *telemetry.Live) {
	if t.complete != nil || l.Lap == 0 || (l.X == 0 && l.Y == 0) {
		return
	}
	c := t.cars[l.Car]
	if c == nil || c.lap != l.Lap {
		if c != nil && !c.pit && c.lap+1 == l.Lap && c.maxD >= 0.9*t.timing.Length {
			t.complete = c.points
			t.best = nil
			t.ver++
			return
		}
		c = &carTrace{lap: l.Lap, dist: -traceStep}
		t.cars[l.Car] = c
	}
	c.pit = c.pit || l.InPit
	if l.DistanceM < c.dist+traceStep {
		return
	}
	c.dist, c.maxD = l.DistanceM, max(c.maxD, l.DistanceM)
	c.points = append(c.points, [2]float64{l.X, l.Y})
	if t.best == nil || c.maxD > t.best.maxD || t.best == c {
		if t.best != c || len(c.points)%10 == 0 {
			t.ver++ // a growing outline is redrawn every 10 points
		}
		t.best = c
	}
}

// outline returns the map as it stands.
func (t *traces) outline() *Map {
	m := &Map{Planar: t.timing.Planar, Lines: t.lines, Outline: t.complete, Complete: t.complete != nil}
	if m.Outline == nil && t.best != nil {
		m.Outline = t.best.points
	}
	if m.Outline == nil {
		m.Outline = [][2]float64{}
	}
	return m
}
