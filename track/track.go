package track

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalid reports a track that cannot be built, looked up or read:
// a bad definition, an unknown name, a bad track file.
var ErrInvalid = errors.New("track: bad track")

// Segment is one piece of a track's centreline: a straight (Radius 0) of
// Length metres, or a corner of Radius metres turning Angle degrees,
// positive to the left.
type Segment struct {
	Length float64
	Radius float64
	Angle  float64
}

// S is a straight of length metres.
func S(length float64) Segment { return Segment{Length: length} }

// L is a left-hand corner of the given radius and angle (degrees).
func L(radius, angle float64) Segment { return Segment{Radius: radius, Angle: angle} }

// R is a right-hand corner of the given radius and angle (degrees).
func R(radius, angle float64) Segment { return Segment{Radius: radius, Angle: -angle} }

// Def describes a track: its real length and location, and a layout of
// segments that Build closes into a loop of exactly that length.
type Def struct {
	// Name is what --track takes.
	Name string
	// Title is a human name.
	Title string
	// Length is the real lap length in metres.
	Length float64
	// Origin is the start/finish line on the track's centreline.
	Origin LatLon
	// Heading is the compass direction of travel at start/finish, degrees.
	Heading float64
	// Width is the track width in metres.
	Width float64
	// Segments start at the beginning of the start/finish straight, which
	// must be the first segment, and run in the lap direction. Their angles
	// must sum to about +360 (anticlockwise) or -360 (clockwise): Build
	// scales them to exactly that and adjusts the straights' lengths
	// (least squares) so the loop closes.
	Segments []Segment
	// StartAt is where start/finish lies on the first straight, as a
	// fraction of its length.
	StartAt float64
	// Sectors are the distances from start/finish of the lines ending
	// sector 1, 2, ..., as fractions of the lap; the last sector ends at
	// start/finish.
	Sectors []float64
	// PitIn and PitOut are the pit lane's entry before start/finish and
	// exit after it, in metres; both must lie on the first straight.
	PitIn, PitOut float64
	// PitBox is where cars stop, metres before start/finish.
	PitBox float64
	// PitSide is +1 when the pit lane is left of the track, -1 right.
	PitSide float64
	// PitLimit is the pit lane speed limit in km/h.
	PitLimit float64
}

// Track is a built track: its centreline sampled every metre or so, with
// curvature, timing lines and pit lane, projected to latitude/longitude.
type Track struct {
	Def Def
	// Length is the lap length in metres (Def.Length).
	Length float64
	// Step is the spacing of the samples in metres (about 1).
	Step float64
	// X, Y are metres east and north of start/finish; Heading is the
	// direction of travel (radians, anticlockwise from east); Kappa the
	// signed curvature (1/m, positive turning left), smoothed over ±10 m
	// the way a driver eases into a corner.
	X, Y, Heading, Kappa []float64
	// Bump is the road's vertical profile in metres, for g_vert and the
	// dampers.
	Bump []float64
	// SectorAt holds the distances from start/finish of the sector lines.
	SectorAt []float64
	// PitOffset is how far the pit lane runs beside the centreline.
	PitOffset float64
}

const (
	pitRamp   = 60.0 // metres over which the pit lane leaves/joins the track
	pitOffset = 20.0 // metres between the centreline and the pit lane
)

// Build closes the layout into a loop of the real length and samples it.
func (d Def) Build() (*Track, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	segs, err := closeLoop(d.Segments)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, d.Name, err)
	}
	built := 0.0
	for _, s := range segs {
		built += s.length()
	}
	scale := d.Length / built
	for i := range segs {
		segs[i].Length *= scale
		segs[i].Radius *= scale
	}
	n := int(math.Round(d.Length))
	t := &Track{Def: d, Length: d.Length, Step: d.Length / float64(n), PitOffset: pitOffset}
	t.sample(segs, n, segs[0].Length*d.StartAt)
	t.smoothCurvature(10)
	t.makeBumps(d.Name)
	for _, f := range d.Sectors {
		t.SectorAt = append(t.SectorAt, f*d.Length)
	}
	if d.PitIn+pitRamp > segs[0].Length*d.StartAt || d.PitOut+pitRamp > segs[0].Length*(1-d.StartAt) {
		return nil, fmt.Errorf("%w: %s: pit lane runs off the start/finish straight (%.0f m long)", ErrInvalid, d.Name, segs[0].Length)
	}
	return t, nil
}

func (d Def) check() error {
	switch {
	case d.Length < 500 || d.Width <= 0 || len(d.Segments) < 3 || d.Segments[0].Radius != 0:
		return fmt.Errorf("%w: %s: length, width or segments", ErrInvalid, d.Name)
	case d.StartAt <= 0 || d.StartAt >= 1 || d.PitBox <= 0 || d.PitBox > d.PitIn-pitRamp || d.PitLimit <= 0:
		return fmt.Errorf("%w: %s: start or pit positions", ErrInvalid, d.Name)
	case d.PitSide != 1 && d.PitSide != -1:
		return fmt.Errorf("%w: %s: pit side must be +1 or -1", ErrInvalid, d.Name)
	}
	prev := 0.0
	for _, f := range d.Sectors {
		if f <= prev+0.05 || f >= 0.95 {
			return fmt.Errorf("%w: %s: sector lines must ascend within the lap", ErrInvalid, d.Name)
		}
		prev = f
	}
	return nil
}

func (s Segment) length() float64 {
	if s.Radius == 0 {
		return s.Length
	}
	return s.Radius * math.Abs(s.Angle) * math.Pi / 180
}

// closeLoop scales the corner angles to a full turn and then lengthens or
// shortens the straights, each in proportion to its length, so the loop
// ends where it starts.
func closeLoop(in []Segment) ([]Segment, error) {
	segs := append([]Segment(nil), in...)
	total := 0.0
	for _, s := range segs {
		total += s.Angle
	}
	if math.Abs(math.Abs(total)-360) > 30 {
		return nil, fmt.Errorf("corners turn %.0f degrees, not ±360", total)
	}
	target := math.Copysign(360, total)
	for i := range segs {
		segs[i].Angle *= target / total
	}
	gx, gy := walkEnd(segs)
	// Minimise sum(dl_i^2 / l_i) subject to sum(dl_i * d_i) = -gap: dl_i =
	// l_i * (d_i . lambda) with M lambda = -gap, M = sum(l_i d_i d_i^T).
	var m11, m12, m22 float64
	heading := 0.0
	dirs := make([][2]float64, len(segs))
	for i, s := range segs {
		dirs[i] = [2]float64{math.Cos(heading), math.Sin(heading)}
		if s.Radius == 0 {
			m11 += s.Length * dirs[i][0] * dirs[i][0]
			m12 += s.Length * dirs[i][0] * dirs[i][1]
			m22 += s.Length * dirs[i][1] * dirs[i][1]
		}
		heading += s.Angle * math.Pi / 180
	}
	det := m11*m22 - m12*m12
	if det < 1e-6 {
		return nil, errors.New("straights all point one way")
	}
	lx := (-gx*m22 + gy*m12) / det
	ly := (-gy*m11 + gx*m12) / det
	for i := range segs {
		if segs[i].Radius != 0 {
			continue
		}
		segs[i].Length *= 1 + dirs[i][0]*lx + dirs[i][1]*ly
		if segs[i].Length < 0.5*in[i].Length {
			return nil, fmt.Errorf("straight %d shrinks to %.0f m to close the loop", i, segs[i].Length)
		}
	}
	return segs, nil
}

// walkEnd returns where the segments end, starting at the origin heading
// east.
func walkEnd(segs []Segment) (x, y float64) {
	h := 0.0
	for _, s := range segs {
		if s.Radius == 0 {
			x += s.Length * math.Cos(h)
			y += s.Length * math.Sin(h)
			continue
		}
		a := s.Angle * math.Pi / 180
		side := math.Copysign(1, a) // centre of the turn is to the left for +
		cx, cy := x-side*s.Radius*math.Sin(h), y+side*s.Radius*math.Cos(h)
		h += a
		x, y = cx+side*s.Radius*math.Sin(h), cy-side*s.Radius*math.Cos(h)
	}
	return x, y
}

// sample walks the segments and stores n points spaced Length/n apart,
// starting at start/finish (start metres into the first segment), rotated
// so the direction of travel there is the track's compass heading.
func (t *Track) sample(segs []Segment, n int, start float64) {
	t.X, t.Y = make([]float64, n), make([]float64, n)
	t.Heading, t.Kappa = make([]float64, n), make([]float64, n)
	rot := (90 - t.Def.Heading) * math.Pi / 180 // compass → maths angle
	x, y, h := 0.0, 0.0, rot
	seg, into := 0, start
	for i := range n {
		t.X[i], t.Y[i], t.Heading[i] = x, y, h
		if r := segs[seg].Radius; r != 0 {
			t.Kappa[i] = math.Copysign(1/r, segs[seg].Angle)
		}
		for left := t.Step; left > 0; {
			s := segs[seg]
			room := s.length() - into
			if room <= 0 {
				seg, into = (seg+1)%len(segs), 0
				continue
			}
			d := math.Min(left, room)
			if s.Radius == 0 {
				x += d * math.Cos(h)
				y += d * math.Sin(h)
			} else {
				k := math.Copysign(1/s.Radius, s.Angle)
				h2 := h + d*k
				x += (math.Sin(h2) - math.Sin(h)) / k
				y -= (math.Cos(h2) - math.Cos(h)) / k
				h = h2
			}
			into += d
			left -= d
		}
	}
}

func (t *Track) smoothCurvature(metres float64) {
	n := len(t.Kappa)
	w := int(math.Round(metres / t.Step))
	out := make([]float64, n)
	sum := 0.0
	for j := -w; j <= w; j++ {
		sum += t.Kappa[(j+n)%n]
	}
	for i := range n {
		out[i] = sum / float64(2*w+1)
		sum += t.Kappa[(i+w+1)%n] - t.Kappa[(i-w+n)%n]
	}
	t.Kappa = out
}

// makeBumps gives the road a deterministic vertical profile: a few long
// undulations and short ripples, a few centimetres high.
func (t *Track) makeBumps(name string) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	phase := func(k uint64) float64 { return float64((h>>(k*8))&0xff) / 256 * 2 * math.Pi }
	t.Bump = make([]float64, len(t.X))
	for i := range t.Bump {
		s := float64(i) * t.Step
		t.Bump[i] = 0.02*math.Sin(2*math.Pi*s/97+phase(0)) + 0.008*math.Sin(2*math.Pi*s/13.3+phase(1)) +
			0.004*math.Sin(2*math.Pi*s/3.1+phase(2))
	}
}

// Index returns the sample at or before distance s and the fraction to the
// next one; s may be any real number (it wraps).
func (t *Track) Index(s float64) (int, float64) {
	if s < 0 || s >= t.Length {
		s = math.Mod(s, t.Length)
		if s < 0 {
			s += t.Length
		}
	}
	f := s / t.Step
	i := int(f)
	if i >= len(t.X) {
		i = len(t.X) - 1
	}
	return i, f - float64(i)
}

// At returns the centreline position (metres east, north of start/finish)
// and the direction of travel (radians from east) at distance s.
func (t *Track) At(s float64) (x, y, heading float64) {
	i, f := t.Index(s)
	j := (i + 1) % len(t.X)
	x = t.X[i] + (t.X[j]-t.X[i])*f
	y = t.Y[i] + (t.Y[j]-t.Y[i])*f
	return x, y, t.Heading[i]
}

// Curvature returns the smoothed curvature at distance s.
func (t *Track) Curvature(s float64) float64 {
	i, f := t.Index(s)
	return t.Kappa[i] + (t.Kappa[(i+1)%len(t.Kappa)]-t.Kappa[i])*f
}

// BumpAt returns the road height at distance s.
func (t *Track) BumpAt(s float64) float64 {
	i, _ := t.Index(s)
	return t.Bump[i]
}

// ToLatLon projects metres east and north of start/finish to WGS84.
func (t *Track) ToLatLon(x, y float64) LatLon {
	const deg = 180 / math.Pi
	lat0 := t.Def.Origin.Lat / deg
	return LatLon{
		Lat: t.Def.Origin.Lat + y/EarthRadius*deg,
		Lon: t.Def.Origin.Lon + x/(EarthRadius*math.Cos(lat0))*deg,
	}
}

// FromLatLon is the inverse of ToLatLon.
func (t *Track) FromLatLon(p LatLon) (x, y float64) {
	const deg = 180 / math.Pi
	lat0 := t.Def.Origin.Lat / deg
	return (p.Lon - t.Def.Origin.Lon) / deg * EarthRadius * math.Cos(lat0),
		(p.Lat - t.Def.Origin.Lat) / deg * EarthRadius
}

// line returns a timing line across the track at distance s, reaching
// left and right metres from the centreline.
func (t *Track) line(name string, s, left, right float64) TimingLine {
	x, y, h := t.At(s)
	nx, ny := -math.Sin(h), math.Cos(h) // left normal
	return TimingLine{
		Name: name,
		A:    t.ToLatLon(x+nx*left, y+ny*left),
		B:    t.ToLatLon(x-nx*right, y-ny*right),
	}
}

// StartFinish returns the start/finish line; it spans the pit lane too, so
// a car driving through the pit lane crosses it.
func (t *Track) StartFinish() TimingLine {
	reach, pit := t.startFinishReach()
	if t.Def.PitSide > 0 {
		return t.line("start_finish", 0, pit, reach)
	}
	return t.line("start_finish", 0, reach, pit)
}

// startFinishReach is how far the start/finish line reaches from the
// centreline on the track side (past the edge) and on the pit side (past
// the pit lane). Timing needs the same figures to find the pit part.
func (t *Track) startFinishReach() (track, pit float64) {
	return t.Def.Width/2 + 3, t.PitOffset + 5
}

// SectorLines returns the lines that end sectors 1..n-1 (the last sector
// ends at start/finish).
func (t *Track) SectorLines() []TimingLine {
	half := t.Def.Width/2 + 3
	out := make([]TimingLine, len(t.SectorAt))
	for i, s := range t.SectorAt {
		out[i] = t.line(fmt.Sprintf("sector%d", i+1), s, half, half)
	}
	return out
}

// PitLateral returns how far a car in the pit lane is beside the
// centreline (positive left) at distance s: ramping out after the entry,
// back in before the exit.
func (t *Track) PitLateral(s float64) float64 {
	var f float64
	if s > t.Length/2 {
		f = (s - (t.Length - t.Def.PitIn)) / pitRamp
	} else {
		f = (t.Def.PitOut - s) / pitRamp
	}
	return t.Def.PitSide * t.PitOffset * math.Max(0, math.Min(1, f))
}
