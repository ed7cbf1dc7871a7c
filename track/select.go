package track

import "fmt"

// TimingFor returns the timing lines of laps driven on the built-in track
// name: those of the track file at path when path is not empty, else the
// track's own. With a path, name "" means the track the file names. The
// file must be for that track and its road must cross each of the file's
// lines in the lap direction: a line moved off the road, or turned round,
// would never time a lap. `pitwall up --track-file` and `pitwall sim
// --track-file` check a file so before anything starts. Errors wrap
// ErrInvalid.
func TimingFor(name, path string) (Timing, error) {
	if path == "" {
		return LookupTiming(name)
	}
	t, err := LoadTiming(path)
	if err != nil {
		return Timing{}, err
	}
	road, err := Lookup(t.Name)
	if err != nil {
		return Timing{}, fmt.Errorf("%w: track file %s is for %q, which is not a built-in track: "+
			"simulated cars drive only those (pitwall sim --list-tracks); a track file holds timing lines, not a road",
			ErrInvalid, path, t.Name)
	}
	if name != "" && t.Name != name {
		return Timing{}, fmt.Errorf("%w: track file %s is for %q but the cars drive %q (give --track %s)",
			ErrInvalid, path, t.Name, name, t.Name)
	}
	if t.Planar {
		return Timing{}, fmt.Errorf("%w: track file %s is planar (game-world x, z) but %q is a GPS track", ErrInvalid, path, name)
	}
	for _, l := range append([]TimingLine{t.StartFinish}, t.Sectors...) {
		if !road.crossedForwards(l) {
			return Timing{}, fmt.Errorf("%w: track file %s: the road of %q does not cross its %s line from right to left "+
				"(end a on the driver's left): moved off the road, or its ends swapped?", ErrInvalid, path, t.Name, l.Name)
		}
	}
	return t, nil
}

// crossedForwards reports whether the centreline crosses l in the lap
// direction.
func (t *Track) crossedForwards(l TimingLine) bool {
	n := len(t.X)
	for i := range n {
		j := (i + 1) % n
		if _, fwd, ok := l.Crossing(t.ToLatLon(t.X[i], t.Y[i]), t.ToLatLon(t.X[j], t.Y[j])); ok && fwd {
			return true
		}
	}
	return false
}
