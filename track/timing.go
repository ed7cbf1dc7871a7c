package track

import "fmt"

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
	if t.StartFinish.A == t.StartFinish.B {
		return fmt.Errorf("%w: %q: start/finish line has no length", ErrInvalid, t.Name)
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
