package lap

import (
	"math"

	"github.com/pitwall/pitwall/track"
)

// plane projects WGS84 positions onto a plane tangent at the track's
// start/finish, in metres east and north. Over a circuit's few kilometres
// the projection is locally affine to far better than a millimetre per
// metre, so crossing fractions computed in it are those on the ground.
type plane struct {
	planar     bool // a planar track: positions are on the plane already
	lat0, lon0 float64
	kx, ky     float64 // metres per degree of longitude, latitude
}

func newPlane(t track.Timing) plane {
	if t.Planar {
		return plane{planar: true}
	}
	const rad = math.Pi / 180
	origin := t.StartFinish.A
	return plane{
		lat0: origin.Lat, lon0: origin.Lon,
		kx: rad * track.EarthRadius * math.Cos(origin.Lat*rad),
		ky: rad * track.EarthRadius,
	}
}

func (p plane) xy(ll track.LatLon) vec {
	return vec{(ll.Lon - p.lon0) * p.kx, (ll.Lat - p.lat0) * p.ky}
}

type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec             { return vec{a.x - b.x, a.y - b.y} }
func (a vec) cross(b vec) float64       { return a.x*b.y - a.y*b.x }
func (a vec) len() float64              { return math.Hypot(a.x, a.y) }
func (a vec) lerp(b vec, t float64) vec { return vec{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t} }

// gate is a timing line projected onto the plane.
type gate struct {
	name  string
	a, ab vec // A, and B - A
	mid   vec
	len   float64
}

func newGate(p plane, l track.TimingLine) gate {
	a, b := p.xy(l.A), p.xy(l.B)
	if p.planar {
		a, b = vec{l.PA.X, l.PA.Z}, vec{l.PB.X, l.PB.Z}
	}
	return gate{name: l.Name, a: a, ab: b.sub(a), mid: a.lerp(b, 0.5), len: b.sub(a).len()}
}

// cross intersects the path p1→p2 with the gate. It returns the fraction t
// of the way along the path, the fraction u along the line from A to B,
// and whether the path crosses in the lap direction (A on the left). The
// line is lengthened at both ends by half the path's length: fixes far
// apart (a GPS gap) cut a corner, and their chord can pass the line's end
// even though the car crossed the line itself.
func (g gate) cross(p1, p2 vec) (t, u float64, forward, ok bool) {
	d := p2.sub(p1)
	den := g.ab.cross(d)
	if den == 0 {
		return 0, 0, false, false
	}
	r := p1.sub(g.a)
	t = r.cross(g.ab) / den
	u = r.cross(d) / den
	slack := d.len() / 2 / g.len
	if t < 0 || t > 1 || u < -slack || u > 1+slack {
		return 0, 0, false, false
	}
	return t, u, den > 0, true
}
