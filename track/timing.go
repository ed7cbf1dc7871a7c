package track

import (
	"fmt"
	"math"
	"time"
)

// MaxSectors is the most sectors a Timing may define (its sector lines
// plus one): as many as a telemetry.Lap carries, so a track file is
// refused when it is read, not when its first lap is timed. It repeats
// telemetry.MaxSectors because track imports no other Pitwall package;
// package lap's TestMaxSectors holds the two equal.
const MaxSectors = 64

// Timing is what lap timing needs to know about a circuit: the timing
// lines and where the pit lane crosses start/finish. It comes from a
// built-in track (Track.Timing) or a track file (LoadTiming).
type Timing struct {
	// Name is the track's name, e.g. "monza".
	Name string
	// Length is the lap length in metres; it bounds the shortest lap
	// (lap.Config.MinLapFraction) and sizes the live-delta grid.
	Length float64
	// StartFinish is the start/finish line. It must span the pit lane, so
	// a car driving through the pit lane still crosses it.
	StartFinish TimingLine
	// Sectors are the lines ending sector 1..n-1 in lap order; the last
	// sector ends at start/finish. May be empty.
	Sectors []TimingLine
	// PitFrom and PitTo bound, as fractions of the way from StartFinish.A
	// to StartFinish.B, the part of the start/finish line that lies in the
	// pit lane. Crossing there marks both laps it separates as pit laps.
	// Both 0: no pit lane on the line (pit laps are then known only from
	// the pit_limiter channel).
	PitFrom, PitTo float64
	// Planar says positions are metres on a plane (a racing game's world
	// x and z, channels pos_x and pos_z), not WGS84: the lines' ends are
	// then PA and PB, and A and B are unused.
	Planar bool
	// Detection are lap-detection settings for this track (a track file's
	// detection section); zero fields leave the detector's defaults,
	// which follow the measured GPS rate.
	Detection Detection
}

// Detection are the lap detector's settings a track file may carry
// (package processors/lap documents each; `pitwall process` flags
// override them). Zero means the detector's default.
type Detection struct {
	// MaxGap is the longest GPS gap a line may be crossed in for the lap
	// to stay valid.
	MaxGap time.Duration
	// Debounce is the shortest time between two crossings of one line.
	Debounce time.Duration
	// ReArm is how far, in metres, a car must get from a line before it
	// counts again.
	ReArm float64
}

// Point is a position on a planar track (Timing.Planar): metres on a
// game world's horizontal plane, X its x and Z its z (y is up). Headings
// on such a track are degrees clockwise from +Z, as if +Z were north and
// +X east.
type Point struct {
	X, Z float64
}

// LineLength is l's length in metres on t (planar or WGS84).
func (t Timing) LineLength(l TimingLine) float64 {
	if t.Planar {
		return math.Hypot(l.PB.X-l.PA.X, l.PB.Z-l.PA.Z)
	}
	return l.Length()
}

// maxTrackLength bounds a lap's length in metres; it sizes the live-delta
// grid, so a bad track file must not make it huge.
const maxTrackLength = 100_000

// Validate reports, wrapping ErrInvalid, a Timing no lap can be timed on.
func (t Timing) Validate() error {
	if !(t.Length > 0 && t.Length <= maxTrackLength) {
		return fmt.Errorf("%w: %q: length %v m: want more than 0, at most %v (the Snaefell Mountain Course is 60.7 km)", ErrInvalid, t.Name, t.Length, maxTrackLength)
	}
	if len(t.Sectors)+1 > MaxSectors {
		return fmt.Errorf("%w: %q: %d sector lines", ErrInvalid, t.Name, len(t.Sectors))
	}
	if !(t.LineLength(t.StartFinish) > 0) {
		return fmt.Errorf("%w: %q: start/finish line has no length", ErrInvalid, t.Name)
	}
	if d := t.Detection; d.MaxGap < 0 || d.Debounce < 0 || !(d.ReArm >= 0 && d.ReArm <= maxTrackLength) {
		return fmt.Errorf("%w: %q: negative or huge detection setting", ErrInvalid, t.Name)
	}
	return nil
}

// Timing returns the track's timing definition: the very lines the
// simulator's truth is timed on.
func (t *Track) Timing() Timing {
	reach, pit := t.startFinishReach()
	total := reach + pit
	edge := t.Def.Width/2 + 1 // beyond this from the centreline: pit lane
	tm := Timing{Name: t.Def.Name, Length: t.Length, StartFinish: t.StartFinish(), Sectors: t.SectorLines()}
	if t.Def.PitSide > 0 { // pit lane on the left: towards A
		tm.PitFrom, tm.PitTo = 0, (pit-edge)/total
	} else {
		tm.PitFrom, tm.PitTo = (reach+edge)/total, 1
	}
	return tm
}

// LookupTiming returns the Timing of the built-in track called name: what
// `pitwall process --track NAME` times laps on.
func LookupTiming(name string) (Timing, error) {
	t, err := Lookup(name)
	if err != nil {
		return Timing{}, err
	}
	return t.Timing(), nil
}
