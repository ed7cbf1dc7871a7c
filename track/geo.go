package track

import "math"

// EarthRadius is the mean Earth radius in metres used by every local
// projection: timing lines, built tracks and the lap detector's plane.
const EarthRadius = 6371008.8

// LatLon is a WGS84 position in degrees.
type LatLon struct {
	Lat float64
	Lon float64
}

// TimingLine is a timing line across the track: start/finish or a sector
// line. It is wide enough to span the track and, for start/finish, the pit
// lane. Standing on the track facing the direction of the lap, A is on the
// left and B on the right.
type TimingLine struct {
	// Name is "start_finish", or "sector1", "sector2", ... for the line
	// that ends that sector.
	Name string
	// A and B are the ends on a WGS84 track.
	A, B LatLon
	// PA and PB are the ends on a planar track (Timing.Planar).
	PA, PB Point
}

// Crossing intersects the path from p1 to p2 (two consecutive GPS fixes)
// with the line. It returns the fraction of the way from p1 to p2 at which
// the path crosses, and whether it crosses in the lap direction. ok is false
// when the path does not cross the line. Positions are projected onto a
// plane tangent at A, which is exact enough over a few hundred metres.
func (l TimingLine) Crossing(p1, p2 LatLon) (frac float64, forward, ok bool) {
	bx, by := l.local(l.B)
	x1, y1 := l.local(p1)
	x2, y2 := l.local(p2)
	dx, dy := x2-x1, y2-y1
	den := bx*dy - by*dx // cross(AB, P1P2): > 0 when moving in lap direction
	if den == 0 {
		return 0, false, false
	}
	// Solve P1 + t*D = u*AB for t (along the path) and u (along the line)
	// by crossing both sides with AB and with D.
	t := (x1*by - y1*bx) / den
	u := (x1*dy - y1*dx) / den
	if t < 0 || t > 1 || u < 0 || u > 1 {
		return 0, false, false
	}
	return t, den > 0, true
}

// Length is the line's length in metres, on the plane Crossing uses.
func (l TimingLine) Length() float64 {
	x, y := l.local(l.B)
	return math.Hypot(x, y)
}

// local returns p in metres east and north of A.
func (l TimingLine) local(p LatLon) (x, y float64) {
	const rad = math.Pi / 180
	x = (p.Lon - l.A.Lon) * rad * EarthRadius * math.Cos(l.A.Lat*rad)
	y = (p.Lat - l.A.Lat) * rad * EarthRadius
	return x, y
}

// LineAcross returns the ends of a timing line centred on at, across the
// lap direction heading (degrees clockwise from north), width metres
// long: A on the left of a driver going that way, B on the right.
func LineAcross(at LatLon, heading, width float64) (a, b LatLon) {
	const rad = math.Pi / 180
	// The driver's left, in metres east and north.
	lx, ly := -math.Cos(heading*rad)*width/2, math.Sin(heading*rad)*width/2
	dLat := ly / EarthRadius / rad
	dLon := lx / (EarthRadius * math.Cos(at.Lat*rad)) / rad
	return LatLon{Lat: at.Lat + dLat, Lon: at.Lon + dLon}, LatLon{Lat: at.Lat - dLat, Lon: at.Lon - dLon}
}

// LineAcrossPlanar is LineAcross on a planar track (heading clockwise
// from +Z towards +X).
func LineAcrossPlanar(at Point, heading, width float64) (a, b Point) {
	const rad = math.Pi / 180
	lx, lz := -math.Cos(heading*rad)*width/2, math.Sin(heading*rad)*width/2
	return Point{X: at.X + lx, Z: at.Z + lz}, Point{X: at.X - lx, Z: at.Z - lz}
}
