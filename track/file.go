package track

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// A track file (`pitwall process --track-file FILE`) is a Timing in YAML,
// for circuits the simulator does not know and for moving timing lines:
// laps are recomputed by running a new consumer group with the edited file
// over the retained log. `pitwall process --track NAME --print-track`
// writes a built-in track in this form, as a starting point, and
// `pitwall track derive LOG` writes one from a recorded session:
//
//	name: monza
//	length_m: 5793
//	start_finish: {a: {lat: 45.6189, lon: 9.2811}, b: {lat: 45.6188, lon: 9.2813}}
//	sectors:                 # the lines ending sectors 1..n-1, in lap order
//	  - {a: {lat: ..., lon: ...}, b: {lat: ..., lon: ...}}
//	pit_lane: {from: 0, to: 0.4}   # optional
//	detection: {max_gap_s: 2.5, debounce_s: 1.5, rearm_m: 25}   # optional
//
// A line's direction matters: looking from a to b, a car going the lap
// direction crosses from the right to the left (a is on the driver's
// left, as on the built-in tracks). A line the other way round is
// crossed only backwards, which the lap processor refuses with an error
// once it has seen it. A line may instead be given by its middle, the
// lap direction there and its width, which leaves no direction to get
// wrong:
//
//	start_finish: {at: {lat: 45.6189, lon: 9.2812}, heading: 120, width: 30}
//
// heading is the lap direction in degrees clockwise from north, width
// the line's length in metres (the track and, for start/finish, the pit
// lane); the file is written back in the a/b form. pit_lane is the part
// of the start/finish line, as fractions of the way from a to b, that
// lies in the pit lane. detection overrides the lap detector's defaults,
// which follow the measured GPS rate (package processors/lap).
//
// A planar track (a racing game's world, positions in metres from the
// channels pos_x and pos_z) says `planar: true` and gives points as
// {x: ..., z: ...}; headings count clockwise from +z towards +x.
type trackFile struct {
	Name        string         `yaml:"name"`
	Planar      bool           `yaml:"planar,omitempty"`
	LengthM     float64        `yaml:"length_m"`
	StartFinish *lineFile      `yaml:"start_finish"`
	Sectors     []lineFile     `yaml:"sectors,omitempty"`
	PitLane     *pitFile       `yaml:"pit_lane,omitempty"`
	Detection   *detectionFile `yaml:"detection,omitempty"`
}

type lineFile struct {
	A       *pointFile `yaml:"a,omitempty"`
	B       *pointFile `yaml:"b,omitempty"`
	At      *pointFile `yaml:"at,omitempty"`
	Heading *float64   `yaml:"heading,omitempty"`
	Width   *float64   `yaml:"width,omitempty"`
}

// pointFile is {lat, lon} or, on a planar track, {x, z}.
type pointFile struct {
	Lat *float64 `yaml:"lat,omitempty"`
	Lon *float64 `yaml:"lon,omitempty"`
	X   *float64 `yaml:"x,omitempty"`
	Z   *float64 `yaml:"z,omitempty"`
}

type pitFile struct {
	From float64 `yaml:"from"`
	To   float64 `yaml:"to"`
}

type detectionFile struct {
	MaxGapS   float64 `yaml:"max_gap_s,omitempty"`
	DebounceS float64 `yaml:"debounce_s,omitempty"`
	ReArmM    float64 `yaml:"rearm_m,omitempty"`
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
	if err := dec.Decode(&f); errors.Is(err, io.EOF) {
		return Timing{}, fmt.Errorf("%w: the file is empty (pitwall process --track NAME --print-track writes one to start from)", ErrInvalid)
	} else if err != nil {
		return Timing{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if f.Name == "" {
		return Timing{}, fmt.Errorf("%w: no name", ErrInvalid)
	}
	t := Timing{Name: f.Name, Length: f.LengthM, Planar: f.Planar}
	var err error
	if f.StartFinish == nil {
		return Timing{}, fmt.Errorf("%w: %q: no start_finish line", ErrInvalid, f.Name)
	}
	if t.StartFinish, err = f.StartFinish.line("start_finish", f.Planar); err != nil {
		return Timing{}, fmt.Errorf("%w: %q: %w", ErrInvalid, f.Name, err)
	}
	for i, l := range f.Sectors {
		tl, err := l.line(fmt.Sprintf("sector%d", i+1), f.Planar)
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
	if d := f.Detection; d != nil {
		if t.Detection, err = d.detection(); err != nil {
			return Timing{}, fmt.Errorf("%w: %q: %w", ErrInvalid, f.Name, err)
		}
	}
	if err := t.Validate(); err != nil {
		return Timing{}, err
	}
	return t, nil
}

// maxDetectionS bounds the detection times in a track file (a minute:
// far beyond any sensible gap or debounce, and far from overflowing a
// time.Duration).
const maxDetectionS = 60

func (d detectionFile) detection() (Detection, error) {
	for _, v := range []float64{d.MaxGapS, d.DebounceS} {
		if !(v >= 0 && v <= maxDetectionS) {
			return Detection{}, fmt.Errorf("detection: %v s: want 0 to %d", v, maxDetectionS)
		}
	}
	if !(d.ReArmM >= 0 && d.ReArmM <= 1000) {
		return Detection{}, fmt.Errorf("detection: rearm_m %v: want 0 to 1000", d.ReArmM)
	}
	return Detection{MaxGap: seconds(d.MaxGapS), Debounce: seconds(d.DebounceS), ReArm: d.ReArmM}, nil
}

// seconds converts to a Duration rounded to the microsecond, so that
// writing it back as seconds and reading it again gives it exactly.
func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}

// line reads one line in either form: ends a and b, or at, heading and
// width.
func (l lineFile) line(name string, planar bool) (TimingLine, error) {
	tl := TimingLine{Name: name}
	switch {
	case l.At != nil || l.Heading != nil || l.Width != nil:
		if l.A != nil || l.B != nil || l.At == nil || l.Heading == nil || l.Width == nil {
			return TimingLine{}, fmt.Errorf("%s: give ends a and b, or at, heading and width", name)
		}
		h, w := *l.Heading, *l.Width
		if !(h >= -360 && h <= 360) || !(w >= 1 && w <= maxLine) {
			return TimingLine{}, fmt.Errorf("%s: heading %v, width %v m: want -360..360 degrees and 1 to %d m", name, h, w, maxLine)
		}
		if planar {
			at, err := l.At.point(name)
			if err != nil {
				return TimingLine{}, err
			}
			tl.PA, tl.PB = LineAcrossPlanar(at, h, w)
		} else {
			at, err := l.At.latLon(name)
			if err != nil {
				return TimingLine{}, err
			}
			tl.A, tl.B = LineAcross(at, h, w)
		}
	case l.A == nil || l.B == nil:
		return TimingLine{}, fmt.Errorf("%s: needs both ends, a and b (or at, heading and width)", name)
	case planar:
		var err error
		if tl.PA, err = l.A.point(name); err != nil {
			return TimingLine{}, err
		}
		if tl.PB, err = l.B.point(name); err != nil {
			return TimingLine{}, err
		}
	default:
		var err error
		if tl.A, err = l.A.latLon(name); err != nil {
			return TimingLine{}, err
		}
		if tl.B, err = l.B.latLon(name); err != nil {
			return TimingLine{}, err
		}
	}
	if d := (Timing{Planar: planar}).LineLength(tl); !(d >= 1 && d <= maxLine) {
		return TimingLine{}, fmt.Errorf("%s: %.1f m long: want a line across the track, 1 to %d m", name, d, maxLine)
	}
	return tl, nil
}

// maxLine is the longest timing line, in metres.
const maxLine = 500

// maxPlanar bounds planar coordinates, in metres.
const maxPlanar = 1e6

func (p *pointFile) latLon(name string) (LatLon, error) {
	if p.X != nil || p.Z != nil || p.Lat == nil || p.Lon == nil {
		return LatLon{}, fmt.Errorf("%s: a point is {lat: ..., lon: ...} (x and z only on a planar track)", name)
	}
	if !(*p.Lat >= -90 && *p.Lat <= 90 && *p.Lon >= -180 && *p.Lon <= 180) {
		return LatLon{}, fmt.Errorf("%s: lat %v lon %v is not a position", name, *p.Lat, *p.Lon)
	}
	return LatLon{Lat: *p.Lat, Lon: *p.Lon}, nil
}

func (p *pointFile) point(name string) (Point, error) {
	if p.Lat != nil || p.Lon != nil || p.X == nil || p.Z == nil {
		return Point{}, fmt.Errorf("%s: a point on a planar track is {x: ..., z: ...}", name)
	}
	if !(math.Abs(*p.X) <= maxPlanar && math.Abs(*p.Z) <= maxPlanar) {
		return Point{}, fmt.Errorf("%s: x %v z %v: want at most %g m from the origin", name, *p.X, *p.Z, maxPlanar)
	}
	return Point{X: *p.X, Z: *p.Z}, nil
}
