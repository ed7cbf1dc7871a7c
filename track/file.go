package track

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// A track file (`pitwall process --track-file FILE`) is a Timing in YAML,
// for circuits the simulator does not know and for moving timing lines:
// laps are recomputed by running a new consumer group with the edited file
// over the retained log. `pitwall process --track NAME --print-track`
// writes a built-in track in this form, as a starting point:
//
//	name: monza
//	length_m: 5793
//	start_finish: {a: {lat: 45.6189, lon: 9.2811}, b: {lat: 45.6188, lon: 9.2813}}
//	sectors:                 # the lines ending sectors 1..n-1, in lap order
//	  - {a: {lat: ..., lon: ...}, b: {lat: ..., lon: ...}}
//	pit_lane: {from: 0, to: 0.4}   # optional
//
// A line's direction matters: looking from a to b, a car going the lap
// direction crosses from the right to the left (as on the built-in
// tracks; a line the other way round times nothing). pit_lane is the part of the
// start/finish line, as fractions of the way from a to b, that lies in the
// pit lane.
type trackFile struct {
	Name        string     `yaml:"name"`
	LengthM     float64    `yaml:"length_m"`
	StartFinish *lineFile  `yaml:"start_finish"`
	Sectors     []lineFile `yaml:"sectors,omitempty"`
	PitLane     *pitFile   `yaml:"pit_lane,omitempty"`
}

type lineFile struct {
	A *pointFile `yaml:"a"`
	B *pointFile `yaml:"b"`
}

type pointFile struct {
	Lat float64 `yaml:"lat"`
	Lon float64 `yaml:"lon"`
}

type pitFile struct {
	From float64 `yaml:"from"`
	To   float64 `yaml:"to"`
}

// maxTrackFile bounds what LoadTiming reads: a track file is a few lines.
const maxTrackFile = 1 << 20

// LoadTiming reads a track file. Every error wraps ErrInvalid and names
// the file and what is wrong.
func LoadTiming(path string) (Timing, error) {
	f, err := os.Open(path)
	if err != nil {
		return Timing{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if n, err := buf.ReadFrom(io.LimitReader(f, maxTrackFile+1)); err != nil {
		return Timing{}, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	} else if n > maxTrackFile {
		return Timing{}, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, path, maxTrackFile)
	}
	t, err := ParseTiming(buf.Bytes())
	if err != nil {
		return Timing{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTiming parses a track file's contents; unknown keys are errors.
func ParseTiming(b []byte) (Timing, error) {
	var f trackFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Timing{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if f.Name == "" {
		return Timing{}, fmt.Errorf("%w: no name", ErrInvalid)
	}
	t := Timing{Name: f.Name, Length: f.LengthM}
	var err error
	if f.StartFinish == nil {
		return Timing{}, fmt.Errorf("%w: %q: no start_finish line", ErrInvalid, f.Name)
	}
	if t.StartFinish, err = f.StartFinish.line("start_finish"); err != nil {
		return Timing{}, fmt.Errorf("%w: %q: %w", ErrInvalid, f.Name, err)
	}
	for i, l := range f.Sectors {
		tl, err := l.line(fmt.Sprintf("sector%d", i+1))
		if err != nil {
			return Timing{}, fmt.Errorf("%w: %q: %w", ErrInvalid, f.Name, err)
		}
		t.Sectors = append(t.Sectors, tl)
	}
	if p := f.PitLane; p != nil {
		if !(p.From >= 0 && p.From < p.To && p.To <= 1) {
			return Timing{}, fmt.Errorf("%w: %q: pit_lane from %v to %v: want 0 <= from < to <= 1", ErrInvalid, f.Name, p.From, p.To)
		}
		t.PitFrom, t.PitTo = p.From, p.To
	}
	if err := t.Validate(); err != nil {
		return Timing{}, err
	}
	return t, nil
}

func (l lineFile) line(name string) (TimingLine, error) {
	if l.A == nil || l.B == nil {
		return TimingLine{}, fmt.Errorf("%s: needs both ends, a and b", name)
	}
	for _, p := range []*pointFile{l.A, l.B} {
		if !(p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180) {
			return TimingLine{}, fmt.Errorf("%s: lat %v lon %v is not a position", name, p.Lat, p.Lon)
		}
	}
	tl := TimingLine{Name: name, A: LatLon{Lat: l.A.Lat, Lon: l.A.Lon}, B: LatLon{Lat: l.B.Lat, Lon: l.B.Lon}}
	if d := tl.Length(); !(d >= 1 && d <= 500) {
		return TimingLine{}, fmt.Errorf("%s: %.1f m long: want a line across the track, 1 to 500 m", name, d)
	}
	return tl, nil
}

// MarshalTiming writes t as a track file.
func MarshalTiming(t Timing) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	pt := func(p LatLon) *pointFile { return &pointFile{Lat: p.Lat, Lon: p.Lon} }
	f := trackFile{Name: t.Name, LengthM: t.Length,
		StartFinish: &lineFile{A: pt(t.StartFinish.A), B: pt(t.StartFinish.B)}}
	for _, s := range t.Sectors {
		f.Sectors = append(f.Sectors, lineFile{A: pt(s.A), B: pt(s.B)})
	}
	if t.PitFrom != 0 || t.PitTo != 0 {
		f.PitLane = &pitFile{From: t.PitFrom, To: t.PitTo}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
