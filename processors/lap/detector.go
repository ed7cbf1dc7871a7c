package lap

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// ErrConfig reports a Config a Detector cannot run with. A bad Track is
// reported by track.Timing.Validate, wrapping track.ErrInvalid.
var ErrConfig = errors.New("lap: bad config")

// Config configures a Detector.
type Config struct {
	// Track is the circuit's timing definition (package track: a built-in
	// track's Timing, or a track file). Required.
	Track track.Timing
	// Debounce is the shortest time between two crossings of one line that
	// both count. Default: Track.Detection.Debounce, else the larger of
	// 500ms and 1.5 GPS periods (see Period), so that it follows the
	// receiver.
	Debounce time.Duration
	// ReArm is how far, in metres, a car must get from a line's midpoint
	// after crossing it before the line counts again, so a car creeping
	// over the line with a noisy GPS crosses it once. Default:
	// Track.Detection.ReArm, else 25. It is a distance checked at every
	// fix, so it holds at any GPS rate as it is.
	ReArm float64
	// MinLapFraction is the shortest lap, as a fraction of Track.Length of
	// GPS distance; a start/finish crossing sooner is ignored. Default 0.5.
	MinLapFraction float64
	// MaxGap is the longest gap between GPS fixes across which a line
	// crossing is trusted; a lap with a line crossed in a longer gap is
	// still timed (interpolated across the gap) but not valid. Default:
	// Track.Detection.MaxGap, else the larger of 1s and 2.5 GPS periods
	// of the lap (2.5 s at 1 Hz, where every interval is a second).
	MaxGap time.Duration
	// Beacon names the lap beacon channel. When set and the car's catalog
	// has it, a rising edge of that channel (above 0.5) is the
	// start/finish crossing and GPS times only the sectors. Default "":
	// start/finish from GPS.
	Beacon string
	// DeltaStep is the grid, in metres along the lap, on which the live
	// delta compares the lap in progress with the car's best. Default 5.
	DeltaStep float64
	// FullThrottle is the throttle (%) that counts as full. Default 98.
	FullThrottle float64
	// BrakeOn is the front brake pressure (bar) that counts as braking.
	// Default 5.
	BrakeOn float64
}

func (c Config) withDefaults() (Config, error) {
	if err := c.Track.Validate(); err != nil {
		return c, err
	}
	det := c.Track.Detection
	if c.Debounce == 0 {
		c.Debounce = det.Debounce // 0: follows the GPS rate
	}
	if c.MaxGap == 0 {
		c.MaxGap = det.MaxGap // 0: follows the GPS rate
	}
	c.ReArm = orF(orF(c.ReArm, det.ReArm), 25)
	c.MinLapFraction = orF(c.MinLapFraction, 0.5)
	c.DeltaStep = orF(c.DeltaStep, 5)
	c.FullThrottle = orF(c.FullThrottle, 98)
	c.BrakeOn = orF(c.BrakeOn, 5)
	if c.Debounce < 0 || c.ReArm < 0 || c.MinLapFraction < 0 || c.MaxGap < 0 || c.DeltaStep <= 0 {
		return c, fmt.Errorf("%w: negative setting", ErrConfig)
	}
	return c, nil
}

func orF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// Known is a lap already published, which a Detector restarted in the
// middle of a session needs to number its laps and compute deltas exactly
// as an uninterrupted one would.
type Known struct {
	Lap            int32
	StartNs, EndNs int64
	Valid          bool
}

// KnownFrom returns what a Detector needs to know about a published lap.
func KnownFrom(l *telemetry.Lap) Known {
	k := Known{Lap: l.Lap, StartNs: l.StartNs, EndNs: l.EndNs}
	for _, m := range l.Metrics {
		if m.Name == MValid {
			k.Valid = m.Value == 1
		}
	}
	return k
}

// Detector finds one car's laps and sectors in its frames and computes
// each lap's metrics. Feed it the car's frames in order with Frame. It is
// pure (no I/O, no clock) and deterministic: the same frames after the
// same Restore give the same laps. Not safe for concurrent use.
type Detector struct {
	cfg     Config
	ch      Channels
	car     string
	session string
	plane   plane
	gates   []gate // 0: start/finish, then the sector lines
	armed   []bool
	lastNs  []int64
	beacon  bool // start/finish from the beacon channel
	planar  bool // positions from pos_x/pos_z, not gps_lat/gps_lon

	ivals   []int64 // GPS intervals since the last start/finish crossing, for Period
	scratch []int64
	checks  []lineCheck // by gate
	coarse  coarseOdo
	markers [8]int64 // the latest device lap markers, a ring
	nMarker int

	ignored  []Ignored    // in the last Frame call
	problems []*LineError // in the last Frame call

	havePrev bool
	jumps    int // fixes skipped in a row as impossible jumps (IgnoredGPSJump)
	prev     vec
	prevNs   int64
	beaconHi bool
	odo      odo

	started   bool
	crossings int
	lapNo     int32
	cur       current
	history   []Known
	best      []float64 // elapsed seconds at each DeltaStep of the best lap
	bestNs    int64
	live      float64
	liveOK    bool
}

// current is the lap in progress.
type current struct {
	startNs    int64
	sectors    []int64 // sector line crossing times
	dist       float64
	maxGap     int64 // longest GPS gap a line was crossed in
	pitCross   bool  // started through the pit lane
	cursorNs   int64 // time the distance was last advanced to
	sectorMiss bool  // a sector line was not seen
	acc        acc
	trace      []float64
}

// NewDetector returns a detector for one car whose catalog gave ch.
func NewDetector(cfg Config, ch Channels, car, session string) (*Detector, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg, ch: ch, car: car, session: session, plane: newPlane(cfg.Track), planar: cfg.Track.Planar}
	d.gates = append(d.gates, newGate(d.plane, cfg.Track.StartFinish))
	for _, l := range cfg.Track.Sectors {
		d.gates = append(d.gates, newGate(d.plane, l))
	}
	d.checks = make([]lineCheck, len(d.gates))
	for i := range d.checks {
		d.checks[i].backAt = math.Inf(-1)
	}
	d.armed = make([]bool, len(d.gates))
	d.lastNs = make([]int64, len(d.gates))
	for i := range d.armed {
		d.armed[i], d.lastNs[i] = true, math.MinInt64/2
	}
	if cfg.Beacon != "" {
		for _, r := range ch.roles {
			d.beacon = d.beacon || r == rBeacon
		}
	}
	return d, nil
}

// Restore tells a detector that starts in the middle of a session which
// laps were already published: its first start/finish crossing takes the
// number of the known lap starting (or, failing that, ending) there, and
// the car's best counts the known laps.
func (d *Detector) Restore(known []Known) {
	d.history = append(d.history[:0], known...)
}

// Live returns the live delta, in seconds, of the lap in progress to the
// car's best lap at the same distance along the lap (negative: faster),
// as of the last GPS fix; ok is false before a best lap with a distance
// trace exists.
func (d *Detector) Live() (delta float64, ok bool) { return d.live, d.liveOK }

// Distance returns how far the car has gone along the lap in progress, in
// metres of GPS distance from the start/finish crossing, as of the last
// GPS fix; ok is false before the first crossing.
func (d *Detector) Distance() (m float64, ok bool) { return d.cur.dist, d.started }

// Progress is the lap in progress, for live timing (telemetry.Live).
type Progress struct {
	// Lap is the number of the lap in progress; StartNs its start
	// crossing.
	Lap     int32
	StartNs int64
	// Sector is the sector in progress, from 1.
	Sector int
	// Distance is metres driven since the crossing, as of the last fix.
	Distance float64
	// Delta is the live delta to the car's best lap (see Live); DeltaOK
	// is false before a best lap.
	Delta   float64
	DeltaOK bool
}

// Progress returns the lap in progress; ok is false before the first
// start/finish crossing.
func (d *Detector) Progress() (p Progress, ok bool) {
	if !d.started {
		return Progress{}, false
	}
	return Progress{Lap: d.lapNo, StartNs: d.cur.startNs, Sector: len(d.cur.sectors) + 1,
		Distance: d.cur.dist, Delta: d.live, DeltaOK: d.liveOK}, true
}

// Frame feeds the car's next frame and appends the laps it completes to
// out. Ignored and Problems then say what else it found.
func (d *Detector) Frame(f *telemetry.Frame, out []telemetry.Lap) []telemetry.Lap {
	d.ignored, d.problems = d.ignored[:0], d.problems[:0]
	for _, s := range f.Samples {
		// The device's lap marker first: a crossing this frame's fix
		// completes takes the device's time of a marker in the same frame.
		if d.ch.role(s.ID) == rDeviceLap {
			d.markers[d.nMarker%len(d.markers)] = f.TimeNs
			d.nMarker++
		}
	}
	if p, ok := d.position(f); ok {
		out = d.fix(f.TimeNs, p, out)
	}
	for _, s := range f.Samples {
		r := d.ch.role(s.ID)
		switch r {
		case rNone, rLat, rLon, rPosX, rPosZ, rDeviceLap:
		case rBeacon:
			out = d.beaconSample(f.TimeNs, s.Value, out)
		case rSpeed:
			if s.Value < d.ch.hi[s.ID] {
				d.odo.speed(f.TimeNs, s.Value)
			}
			fallthrough
		default:
			if d.started {
				d.cur.acc.sample(&d.ch, s.ID, r, s.Value, &d.cfg)
			}
		}
	}
	return out
}

func (d *Detector) beaconSample(ns int64, v float64, out []telemetry.Lap) []telemetry.Lap {
	hi := v > 0.5
	rising := hi && !d.beaconHi
	d.beaconHi = hi
	if !d.beacon || !rising {
		return out
	}
	if ns-d.lastNs[0] < d.debounce() {
		d.ignore(0, ns, IgnoredDebounce)
		return out
	}
	d.lastNs[0] = ns
	return d.startFinish(ns, 0, 0, out)
}

// Crossings counts the start/finish crossings the detector has acted on
// (the first one, which starts lap timing, included).
func (d *Detector) Crossings() int { return d.crossings }

// Started reports whether the detector has seen its first start/finish
// crossing.
func (d *Detector) Started() bool { return d.started }

// position returns f's position on the detector's plane: from gps_lat
// and gps_lon, or on a planar track from pos_x and pos_z; ok is false
// when f carries no whole fix.
func (d *Detector) position(f *telemetry.Frame) (p vec, ok bool) {
	var a, b float64
	var na, nb bool
	ra, rb := rLat, rLon
	if d.planar {
		ra, rb = rPosX, rPosZ
	}
	for _, s := range f.Samples {
		switch d.ch.role(s.ID) {
		case ra:
			a, na = s.Value, true
		case rb:
			b, nb = s.Value, true
		}
	}
	switch {
	case !na || !nb:
		return vec{}, false
	case d.planar:
		return vec{a, b}, true
	}
	return d.plane.xy(track.LatLon{Lat: a, Lon: b}), true
}

// HasFix reports whether f carries a position fix: both latitude and
// longitude, or both pos_x and pos_z.
func (c *Channels) HasFix(f *telemetry.Frame) bool {
	var lat, lon, x, z bool
	for _, s := range f.Samples {
		switch c.role(s.ID) {
		case rLat:
			lat = true
		case rLon:
			lon = true
		case rPosX:
			x = true
		case rPosZ:
			z = true
		}
	}
	return lat && lon || x && z
}
