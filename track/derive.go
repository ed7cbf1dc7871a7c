package track

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Fix is one position of a recorded session, for Derive: WGS84, or on a
// planar track (DeriveConfig.Planar) a Point.
type Fix struct {
	// TimeNs is the fix's time, ns (any epoch: only differences count).
	TimeNs int64
	// LatLon is the position on a WGS84 log.
	LatLon LatLon
	// Point is the position on a planar log.
	Point Point
}

// DeriveConfig configures Derive. Zero fields take the defaults.
type DeriveConfig struct {
	// Name is the track's name. Default "derived".
	Name string
	// Planar says the fixes are Points (a game's x/z), not WGS84.
	Planar bool
	// Width is the timing lines' width in metres, centred on the car's
	// path; start/finish is widened to reach any crossing beside it (the
	// pit lane). Default 30.
	Width float64
	// Sectors is how many sectors a lap is cut into, at equal distances.
	// Default 3.
	Sectors int
}

// ErrDerive reports a log a track cannot be derived from.
var ErrDerive = errors.New("track: cannot derive a track")

// Derive writes a Timing from a recorded session: fixes in time order
// and, when the device timed laps, its lap markers (the times it crossed
// its start/finish line, in order).
//
// With two markers or more, start/finish goes where the car was at the
// markers (the median point, across the mean direction of travel), the
// length is the median distance driven between consecutive markers, and
// the sector lines cut the fastest lap of about that length at equal
// distances. Crossings far beside the others (through the pit lane) widen
// the line to reach them and become its pit part (PitFrom..PitTo). With
// fewer markers, Derive looks for the first closed lap (the path coming
// back to where it was, going the same way, at least 300 m later) and
// puts start/finish at its straightest point.
//
// Every line is then checked against the log: a line the car crossed more
// than once per lap (another part of the circuit within its reach) is
// narrowed until it is not, or refused.
func Derive(fixes []Fix, markers []int64, cfg DeriveConfig) (*Timing, error) {
	if cfg.Name == "" {
		cfg.Name = "derived"
	}
	cfg.Width = orDefault(cfg.Width, 30)
	if cfg.Sectors == 0 {
		cfg.Sectors = 3
	}
	if !(cfg.Width >= 1 && cfg.Width <= maxLine) || cfg.Sectors < 1 || cfg.Sectors > MaxSectors {
		return nil, fmt.Errorf("%w: width %v m, %d sectors: want 1 to %d m, 1 to %d sectors", ErrDerive, cfg.Width, cfg.Sectors, maxLine, MaxSectors)
	}
	p, err := newPath(fixes, cfg.Planar)
	if err != nil {
		return nil, err
	}
	var lapStart, lapEnd float64 // the reference lap, as path distances
	var sf lineAt
	if len(markers) >= 2 {
		sf, lapStart, lapEnd, err = p.fromMarkers(markers, cfg.Width)
	} else {
		sf, lapStart, lapEnd, err = p.closedLap(cfg.Width)
	}
	if err != nil {
		return nil, err
	}
	t := &Timing{Name: cfg.Name, Length: math.Round((lapEnd-lapStart)*10) / 10, Planar: cfg.Planar}
	t.PitFrom, t.PitTo = sf.pitFrom, sf.pitTo
	t.StartFinish = p.timingLine("start_finish", sf)
	for k := 1; k < cfg.Sectors; k++ {
		s := lapStart + (lapEnd-lapStart)*float64(k)/float64(cfg.Sectors)
		at, dir := p.at(s)
		l := lineAt{at: at, dir: dir, left: cfg.Width / 2, right: cfg.Width / 2}
		t.Sectors = append(t.Sectors, p.timingLine(fmt.Sprintf("sector%d", k), l))
	}
	if err := p.narrow(t, lapEnd-lapStart); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDerive, err)
	}
	return t, nil
}

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// path is the log projected on a plane (metres), with the distance
// driven up to each fix.
type path struct {
	planar bool
	origin LatLon
	kx, ky float64 // metres per degree of longitude, latitude
	ns     []int64
	x, y   []float64
	s      []float64 // distance driven from the first fix
}

// maxPathGap is the longest gap between fixes the path joins with a
// straight line; a longer one (the car in the garage, the receiver off)
// is not driven distance.
const maxPathGap = 10e9

func newPath(fixes []Fix, planar bool) (*path, error) {
	if len(fixes) < 10 {
		return nil, fmt.Errorf("%w: %d position fixes, want a lap's worth", ErrDerive, len(fixes))
	}
	p := &path{planar: planar}
	if !planar {
		const rad = math.Pi / 180
		p.origin = fixes[0].LatLon
		p.kx, p.ky = rad*EarthRadius*math.Cos(p.origin.Lat*rad), rad*EarthRadius
	}
	for _, f := range fixes {
		x, y := f.Point.X, f.Point.Z
		if !planar {
			if !(f.LatLon.Lat >= -90 && f.LatLon.Lat <= 90 && f.LatLon.Lon >= -180 && f.LatLon.Lon <= 180) {
				return nil, fmt.Errorf("%w: lat %v lon %v is not a position", ErrDerive, f.LatLon.Lat, f.LatLon.Lon)
			}
			x, y = (f.LatLon.Lon-p.origin.Lon)*p.kx, (f.LatLon.Lat-p.origin.Lat)*p.ky
		}
		if !(math.Abs(x) <= maxPlanar && math.Abs(y) <= maxPlanar) {
			return nil, fmt.Errorf("%w: a fix %.0f m from the first one", ErrDerive, math.Hypot(x, y))
		}
		n := len(p.ns)
		if n > 0 && f.TimeNs <= p.ns[n-1] {
			if f.TimeNs < p.ns[n-1] {
				return nil, fmt.Errorf("%w: fixes out of time order", ErrDerive)
			}
			continue // a repeated fix
		}
		s := 0.0
		if n > 0 {
			s = p.s[n-1]
			if f.TimeNs-p.ns[n-1] <= maxPathGap {
				s += math.Hypot(x-p.x[n-1], y-p.y[n-1])
			}
		}
		p.ns, p.x, p.y, p.s = append(p.ns, f.TimeNs), append(p.x, x), append(p.y, y), append(p.s, s)
	}
	return p, nil
}

// lineAt is a line across the path: its middle, the direction of travel
// there (a unit vector), how far it reaches left and right of the
// middle, and its pit part (fractions from the left end, A).
type lineAt struct {
	at, dir        [2]float64
	left, right    float64
	pitFrom, pitTo float64
}

// timingLine converts l to a TimingLine on the log's plane or globe.
func (p *path) timingLine(name string, l lineAt) TimingLine {
	lx, ly := -l.dir[1], l.dir[0] // the driver's left
	ax, ay := l.at[0]+lx*l.left, l.at[1]+ly*l.left
	bx, by := l.at[0]-lx*l.right, l.at[1]-ly*l.right
	if p.planar {
		return TimingLine{Name: name, PA: Point{X: ax, Z: ay}, PB: Point{X: bx, Z: by}}
	}
	return TimingLine{Name: name, A: p.latLon(ax, ay), B: p.latLon(bx, by)}
}

func (p *path) latLon(x, y float64) LatLon {
	return LatLon{Lat: p.origin.Lat + y/p.ky, Lon: p.origin.Lon + x/p.kx}
}

// index returns the fix at or before time ns (-1 before the first).
func (p *path) index(ns int64) int {
	i, found := slices.BinarySearch(p.ns, ns)
	if found {
		return i
	}
	return i - 1
}

// atTime returns the position, the distance driven and the direction of
// travel at time ns, interpolated between the fixes around it; ok is
// false outside the log or in a gap.
func (p *path) atTime(ns int64) (pos [2]float64, s float64, dir [2]float64, ok bool) {
	i := p.index(ns)
	if i < 0 || i+1 >= len(p.ns) || p.ns[i+1]-p.ns[i] > maxPathGap {
		return pos, 0, dir, false
	}
	f := float64(ns-p.ns[i]) / float64(p.ns[i+1]-p.ns[i])
	pos = [2]float64{p.x[i] + (p.x[i+1]-p.x[i])*f, p.y[i] + (p.y[i+1]-p.y[i])*f}
	dir, ok = p.direction(i)
	return pos, p.s[i] + (p.s[i+1]-p.s[i])*f, dir, ok
}

// direction is the unit direction of travel from fix i to the first fix
// at least 2 m further (so that GPS noise at low speed does not turn
// it), false if the car did not move.
func (p *path) direction(i int) ([2]float64, bool) {
	for j := i + 1; j < len(p.s) && p.ns[j]-p.ns[j-1] <= maxPathGap; j++ {
		dx, dy := p.x[j]-p.x[i], p.y[j]-p.y[i]
		if d := math.Hypot(dx, dy); d >= 2 {
			return [2]float64{dx / d, dy / d}, true
		}
		if p.s[j]-p.s[i] >= 50 {
			break // wandering about: no direction
		}
	}
	return [2]float64{}, false
}

// at returns the position and direction at distance s along the path.
func (p *path) at(s float64) (pos, dir [2]float64) {
	i, _ := slices.BinarySearch(p.s, s)
	i = max(min(i, len(p.s)-1), 1) - 1
	f := 0.0
	if d := p.s[i+1] - p.s[i]; d > 0 {
		f = (s - p.s[i]) / d
	}
	pos = [2]float64{p.x[i] + (p.x[i+1]-p.x[i])*f, p.y[i] + (p.y[i+1]-p.y[i])*f}
	dir, _ = p.direction(i)
	return pos, dir
}

// fromMarkers places start/finish at the device's lap markers and
// returns the reference lap's start and end distances.
func (p *path) fromMarkers(markers []int64, width float64) (lineAt, float64, float64, error) {
	type mark struct {
		pos, dir [2]float64
		s        float64
		ns       int64
	}
	var ms []mark
	for _, m := range markers {
		if pos, s, dir, ok := p.atTime(m); ok {
			ms = append(ms, mark{pos, dir, s, m})
		}
	}
	if len(ms) < 2 {
		return lineAt{}, 0, 0, fmt.Errorf("%w: %d of %d lap markers fall within the log's fixes, want 2 or more", ErrDerive, len(ms), len(markers))
	}
	var xs, ys []float64
	var dx, dy float64
	for _, m := range ms {
		xs, ys = append(xs, m.pos[0]), append(ys, m.pos[1])
		dx, dy = dx+m.dir[0], dy+m.dir[1]
	}
	d := math.Hypot(dx, dy)
	if d < 0.5*float64(len(ms)) {
		return lineAt{}, 0, 0, fmt.Errorf("%w: the car went different ways at its lap markers", ErrDerive)
	}
	sf := lineAt{at: [2]float64{median(xs), median(ys)}, dir: [2]float64{dx / d, dy / d}}
	pos := func(i int) [2]float64 { return ms[i].pos }
	if fit, ok := fitLine(xs, ys, sf); ok {
		sf = fit
	}
	sf.widen(ms2offsets(len(ms), pos, sf), width)

	// The reference lap: the fastest of those about the median length.
	var lens []float64
	for i := 1; i < len(ms); i++ {
		lens = append(lens, ms[i].s-ms[i-1].s)
	}
	med := median(lens)
	if !(med >= 100) {
		return lineAt{}, 0, 0, fmt.Errorf("%w: %.0f m driven between lap markers, want a lap of a circuit", ErrDerive, med)
	}
	best := -1
	for i := 1; i < len(ms); i++ {
		if math.Abs(lens[i-1]-med) <= 0.05*med && (best < 0 || ms[i].ns-ms[i-1].ns < ms[best].ns-ms[best-1].ns) {
			best = i
		}
	}
	if best < 0 { // no lap near the median (two kinds of lap): the nearest
		best = 1
		for i := 2; i < len(ms); i++ {
			if math.Abs(lens[i-1]-med) < math.Abs(lens[best-1]-med) {
				best = i
			}
		}
	}
	return sf, ms[best-1].s, ms[best].s, nil
}

// fitLine fits a line through the markers' positions when they spread
// across the track (crossings through the pit lane as well as on the
// track): the device's line is a line through all of them, which the
// perpendicular to the direction of travel is only near. ok is false
// when they do not spread (the fit would be noise) or the fit is more
// than 45° from across the track.
func fitLine(xs, ys []float64, across lineAt) (lineAt, bool) {
	lx, ly := -across.dir[1], across.dir[0]
	var spread, cx, cy float64
	for i := range xs {
		o := (xs[i]-across.at[0])*lx + (ys[i]-across.at[1])*ly
		spread = max(spread, math.Abs(o))
		cx, cy = cx+xs[i]/float64(len(xs)), cy+ys[i]/float64(len(ys))
	}
	if spread < 5 {
		return across, false
	}
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-cx, ys[i]-cy
		sxx, sxy, syy = sxx+dx*dx, sxy+dx*dy, syy+dy*dy
	}
	a := 0.5 * math.Atan2(2*sxy, sxx-syy)
	ex, ey := math.Cos(a), math.Sin(a) // along the fitted line
	if ex*lx+ey*ly < 0 {
		ex, ey = -ex, -ey // towards the driver's left, A's end
	}
	if ex*lx+ey*ly < math.Sqrt2/2 {
		return across, false
	}
	// The middle: the median crossing, moved onto the fitted line.
	t := (across.at[0]-cx)*ex + (across.at[1]-cy)*ey
	return lineAt{at: [2]float64{cx + t*ex, cy + t*ey}, dir: [2]float64{ey, -ex}}, true
}

func ms2offsets(n int, pos func(int) [2]float64, l lineAt) []float64 {
	lx, ly := -l.dir[1], l.dir[0]
	out := make([]float64, n)
	for i := range n {
		q := pos(i)
		out[i] = (q[0]-l.at[0])*lx + (q[1]-l.at[1])*ly
	}
	return out
}

// pitSplit is how far beside the main crossings a crossing must be to be
// taken for the pit lane, in metres.
const pitSplit = 8

// widen sizes l to width, widened to reach every crossing offset (metres
// left of its middle) with 5 m to spare; crossings more than pitSplit
// metres to one side of the middle make that side's part the pit lane.
func (l *lineAt) widen(offsets []float64, width float64) {
	l.left, l.right = width/2, width/2
	var pitLeft, pitRight bool
	for _, o := range offsets {
		l.left, l.right = max(l.left, o+5), max(l.right, -o+5)
		pitLeft = pitLeft || o > pitSplit
		pitRight = pitRight || o < -pitSplit
	}
	total := l.left + l.right
	switch {
	case pitLeft && !pitRight:
		l.pitFrom, l.pitTo = 0, (l.left-pitSplit)/total
	case pitRight && !pitLeft:
		l.pitFrom, l.pitTo = (l.left+pitSplit)/total, 1
	}
}

// minDerivedLap is the shortest closed lap the search accepts, metres.
const minDerivedLap = 300

// closedLap finds the first closed lap of the path and puts start/finish
// at its straightest point.
func (p *path) closedLap(width float64) (lineAt, float64, float64, error) {
	const near = 10 // metres: back where it was
	last, tried := math.Inf(-1), 0
	for i := 0; i < len(p.s) && tried < 500; i++ {
		di, ok := p.direction(i)
		if !ok || p.s[i]-last < 10 {
			continue // not moving, or too close to the last start tried
		}
		last, tried = p.s[i], tried+1
		for j := i + 1; j < len(p.s) && p.s[j]-p.s[i] <= maxTrackLength; j++ {
			if p.s[j]-p.s[i] < minDerivedLap || math.Hypot(p.x[j]-p.x[i], p.y[j]-p.y[i]) > near {
				continue
			}
			if dj, ok := p.direction(j); ok && dj[0]*di[0]+dj[1]*di[1] > 0.8 {
				// The lap ends where the path passes nearest fix i, so
				// that it is exactly one circuit.
				for j+1 < len(p.s) && p.dist(j+1, i) < p.dist(j, i) {
					j++
				}
				end, d := p.project(j, i)
				if j+1 < len(p.s) {
					if e, d2 := p.project(j+1, i); d2 < d {
						end = e
					}
				}
				return p.straightest(p.s[i], end, width)
			}
		}
	}
	return lineAt{}, 0, 0, fmt.Errorf("%w: no lap markers, and the car never came back to where it was, going the same way, %d m or more later: "+
		"give the device's lap markers, or a log with a whole lap", ErrDerive, minDerivedLap)
}

func (p *path) dist(j, i int) float64 { return math.Hypot(p.x[j]-p.x[i], p.y[j]-p.y[i]) }

// project returns the distance driven at the point of segment k-1..k
// nearest fix i, and how far from fix i that point is.
func (p *path) project(k, i int) (s, d float64) {
	if k == 0 {
		return p.s[0], p.dist(0, i)
	}
	sx, sy := p.x[k]-p.x[k-1], p.y[k]-p.y[k-1]
	f := 0.0
	if l2 := sx*sx + sy*sy; l2 > 0 {
		f = max(0, min(1, ((p.x[i]-p.x[k-1])*sx+(p.y[i]-p.y[k-1])*sy)/l2))
	}
	x, y := p.x[k-1]+sx*f, p.y[k-1]+sy*f
	return p.s[k-1] + (p.s[k]-p.s[k-1])*f, math.Hypot(x-p.x[i], y-p.y[i])
}

// straightest returns a start/finish line at the point of the lap from
// distance s0 to s1 where the direction turns least over ±50 m, and the
// lap from there to one lap later (or, past the log's end, before).
func (p *path) straightest(s0, s1, width float64) (lineAt, float64, float64, error) {
	lap := s1 - s0
	best, bestTurn := s0, math.Inf(1)
	for s := s0 + 50; s <= s1-50; s += 5 {
		_, d0 := p.at(s - 50)
		_, d1 := p.at(s + 50)
		if turn := math.Acos(max(-1, min(1, d0[0]*d1[0]+d0[1]*d1[1]))); turn < bestTurn {
			best, bestTurn = s, turn
		}
	}
	at, dir := p.at(best)
	l := lineAt{at: at, dir: dir}
	l.widen(nil, width)
	if best+lap <= p.s[len(p.s)-1] {
		return l, best, best + lap, nil
	}
	return l, best - lap, best, nil
}

// narrow checks every line against the log: crossed forwards at most
// once per lap's distance. A line that is (another part of the circuit
// within its reach) is narrowed, down to 6 m; then refused.
func (p *path) narrow(t *Timing, lap float64) error {
	lines := append([]*TimingLine{&t.StartFinish}, pointers(t.Sectors)...)
	for _, l := range lines {
		for {
			if p.crossedOncePerLap(*l, t.Planar, lap) {
				break
			}
			if t.LineLength(*l) <= 6 {
				return fmt.Errorf("%w: line %s is crossed more than once a lap even 6 m wide", ErrDerive, l.Name)
			}
			shrink(l, t.Planar)
			if l == &t.StartFinish {
				t.PitFrom, t.PitTo = 0, 0 // the pit part no longer fits
			}
		}
	}
	return nil
}

func pointers(ls []TimingLine) []*TimingLine {
	out := make([]*TimingLine, len(ls))
	for i := range ls {
		out[i] = &ls[i]
	}
	return out
}

// shrink makes l 20% shorter about its middle.
func shrink(l *TimingLine, planar bool) {
	if planar {
		mx, mz := (l.PA.X+l.PB.X)/2, (l.PA.Z+l.PB.Z)/2
		l.PA = Point{X: mx + (l.PA.X-mx)*0.8, Z: mz + (l.PA.Z-mz)*0.8}
		l.PB = Point{X: mx + (l.PB.X-mx)*0.8, Z: mz + (l.PB.Z-mz)*0.8}
		return
	}
	m := LatLon{Lat: (l.A.Lat + l.B.Lat) / 2, Lon: (l.A.Lon + l.B.Lon) / 2}
	l.A = LatLon{Lat: m.Lat + (l.A.Lat-m.Lat)*0.8, Lon: m.Lon + (l.A.Lon-m.Lon)*0.8}
	l.B = LatLon{Lat: m.Lat + (l.B.Lat-m.Lat)*0.8, Lon: m.Lon + (l.B.Lon-m.Lon)*0.8}
}

// crossedOncePerLap reports whether no two forward crossings of l in the
// log are less than half a lap's distance apart.
func (p *path) crossedOncePerLap(l TimingLine, planar bool, lap float64) bool {
	ax, ay, bx, by := l.PA.X, l.PA.Z, l.PB.X, l.PB.Z
	if !planar {
		ax, ay = (l.A.Lon-p.origin.Lon)*p.kx, (l.A.Lat-p.origin.Lat)*p.ky
		bx, by = (l.B.Lon-p.origin.Lon)*p.kx, (l.B.Lat-p.origin.Lat)*p.ky
	}
	last := math.Inf(-1)
	for i := 1; i < len(p.s); i++ {
		if p.ns[i]-p.ns[i-1] > maxPathGap {
			continue
		}
		ds, dt := p.s[i]-p.s[i-1], float64(p.ns[i]-p.ns[i-1])/1e9
		if ds < 2 || ds/dt < 5 {
			continue // GPS noise about a slow or parked car, not a crossing
		}
		t, fwd, ok := crossing(ax, ay, bx, by, p.x[i-1], p.y[i-1], p.x[i], p.y[i])
		if !ok || !fwd {
			continue
		}
		s := p.s[i-1] + (p.s[i]-p.s[i-1])*t
		if s-last < lap/2 {
			return false
		}
		last = s
	}
	return true
}

// crossing intersects the segment p1→p2 with the line a→b on a plane:
// the fraction along the segment, and whether it crosses from the right
// of a→b to the left (the lap direction).
func crossing(ax, ay, bx, by, x1, y1, x2, y2 float64) (t float64, forward, ok bool) {
	abx, aby := bx-ax, by-ay
	dx, dy := x2-x1, y2-y1
	den := abx*dy - aby*dx
	if den == 0 {
		return 0, false, false
	}
	rx, ry := x1-ax, y1-ay
	t = (rx*aby - ry*abx) / den
	u := (rx*dy - ry*dx) / den
	if t < 0 || t > 1 || u < 0 || u > 1 {
		return 0, false, false
	}
	return t, den > 0, true
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
