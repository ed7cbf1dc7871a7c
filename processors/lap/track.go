package lap

import (
	"errors"
	"fmt"

	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrTrack reports a track the detector cannot time laps on.
var ErrTrack = errors.New("lap: bad track")

// Track is what lap detection needs to know about a circuit: the timing
// lines and where the pit lane crosses start/finish.
type Track struct {
	// Name is the track's name, e.g. "monza".
	Name string
	// Length is the lap length in metres; it bounds the shortest lap
	// (Config.MinLapFraction) and sizes the live-delta grid.
	Length float64
	// StartFinish is the start/finish line. It must span the pit lane, so
	// a car driving through the pit lane still crosses it.
	StartFinish telemetry.TimingLine
	// Sectors are the lines ending sector 1..n-1 in lap order; the last
	// sector ends at start/finish. May be empty.
	Sectors []telemetry.TimingLine
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

func (t Track) validate() error {
	if !(t.Length > 0 && t.Length <= maxTrackLength) {
		return fmt.Errorf("%w: %q: length %v m: want more than 0, at most %v (the Snaefell Mountain Course is 60.7 km)", ErrTrack, t.Name, t.Length, maxTrackLength)
	}
	if len(t.Sectors)+1 > telemetry.MaxSectors {
		return fmt.Errorf("%w: %q: %d sector lines", ErrTrack, t.Name, len(t.Sectors))
	}
	if t.StartFinish.A == t.StartFinish.B {
		return fmt.Errorf("%w: %q: start/finish line has no length", ErrTrack, t.Name)
	}
	return nil
}

// BuiltinTrack returns the timing definition of a track built into the
// simulator (monza, spa, brands-indy): the very lines the simulator's
// truth is timed on. The track definitions live in package simulator
// today; BuiltinTrack is the one place that reads them.
func BuiltinTrack(name string) (Track, error) {
	st, err := simulator.LookupTrack(name)
	if err != nil {
		return Track{}, fmt.Errorf("%w: %w", ErrTrack, err)
	}
	sf := st.StartFinish()
	half := st.Def.Width/2 + 3
	// StartFinish spans `half` on the track side and PitOffset+5 on the pit
	// side (see simulator.Track.StartFinish).
	pitSpan := st.PitOffset + 5
	total := half + pitSpan
	edge := st.Def.Width/2 + 1 // beyond this from the centreline: pit lane
	tr := Track{Name: name, Length: st.Length, StartFinish: sf, Sectors: st.SectorLines()}
	if st.Def.PitSide > 0 { // pit lane on the left: towards A
		tr.PitFrom, tr.PitTo = 0, (pitSpan-edge)/total
	} else {
		tr.PitFrom, tr.PitTo = (half+edge)/total, 1
	}
	return tr, nil
}
