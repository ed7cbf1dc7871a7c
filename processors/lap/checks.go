package lap

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Ignored is a line crossing a Detector did not act on, and why.
type Ignored struct {
	// Line is the line's name: "start_finish", "sector1", ...
	Line string
	// AtNs is when the line was crossed (interpolated), ns since the
	// Unix epoch.
	AtNs int64
	// Reason is one of the Ignored* constants.
	Reason string
}

// Why a crossing is ignored (Ignored.Reason).
const (
	// IgnoredBackwards: crossed against the lap direction.
	IgnoredBackwards = "backwards"
	// IgnoredNotReArmed: the car had not got Config.ReArm metres from
	// the line since it last crossed it.
	IgnoredNotReArmed = "not_rearmed"
	// IgnoredDebounce: within the debounce of the line's last crossing.
	IgnoredDebounce = "debounce"
	// IgnoredTooShort: start/finish less than Config.MinLapFraction of a
	// lap (GPS distance) after the last crossing.
	IgnoredTooShort = "too_short"
	// IgnoredBeforeStart: a sector line before the car's first
	// start/finish crossing.
	IgnoredBeforeStart = "before_first_lap"
	// IgnoredGPSJump: a position fix further from the last one than any
	// car can go in the time between them (a receiver's glitch, a
	// corrupt value); no line is searched on the way to it.
	IgnoredGPSJump = "gps_jump"
)

// Ignored returns the crossings the last Frame call ignored. The slice
// is reused by the next call.
func (d *Detector) Ignored() []Ignored { return d.ignored }

func (d *Detector) ignore(gate int, ns int64, reason string) {
	d.ignored = append(d.ignored, Ignored{Line: d.gates[gate].name, AtNs: ns, Reason: reason})
}

// What is wrong with a track's line, from how a car crosses it (Problems).
var (
	// ErrLineBackwards: the line was crossed only against the lap
	// direction, at least twice and half a lap apart: its ends are
	// swapped. Nothing can be timed on it.
	ErrLineBackwards = errors.New("lap: line crossed only backwards")
	// ErrLineNotCrossed: the car drove one and a half laps' distance
	// without crossing the line: it is not across this circuit's track.
	ErrLineNotCrossed = errors.New("lap: line never crossed")
)

// LineError is a problem with one of the track's lines (Problems).
type LineError struct {
	// Line is the line's name: "start_finish", "sector1", ...
	Line string
	// Err is ErrLineBackwards or ErrLineNotCrossed.
	Err error
	msg string
}

func (e *LineError) Error() string { return e.Err.Error() + ": " + e.msg }
func (e *LineError) Unwrap() error { return e.Err }

// Problems returns what the last Frame call found wrong with the track's
// lines: *LineError wrapping ErrLineBackwards or ErrLineNotCrossed, whose
// message names the line and what to do. Each line's problem is reported
// once per Detector, and never for a line the car has crossed forwards.
// The slice is reused by the next call.
func (d *Detector) Problems() []*LineError { return d.problems }

// lineCheck is what the detector has seen of one line, for Problems.
type lineCheck struct {
	forward  int     // crossings in the lap direction, counted or not
	back     int     // backward crossings at least MinLapFraction of a lap apart
	backAt   float64 // coarse distance at the last counted backward crossing
	reported bool
}

// backwards notes a backward crossing of gate at ns.
func (d *Detector) backwards(gate int, ns int64) {
	d.ignore(gate, ns, IgnoredBackwards)
	c := &d.checks[gate]
	if d.coarse.total-c.backAt >= d.cfg.MinLapFraction*d.cfg.Track.Length {
		c.back++
		c.backAt = d.coarse.total
	}
}

// checkLines reports each line crossed only backwards, or not at all
// after one and a half laps' distance (two and a half when it was
// crossed backwards once, to tell the two apart).
func (d *Detector) checkLines() {
	length := d.cfg.Track.Length
	for i := range d.checks {
		c := &d.checks[i]
		if c.reported || c.forward > 0 || i == 0 && d.beacon {
			continue
		}
		e := &LineError{Line: d.gates[i].name}
		switch {
		case c.back >= 2:
			e.Err, e.msg = ErrLineBackwards, fmt.Sprintf("%s of track %q, crossed by car %s %d times against the lap direction and never with it: "+
				"its ends are swapped (looking from a to b, a car must cross from right to left); swap a and b in the track file, "+
				"or give the line as at, heading and width", e.Line, d.cfg.Track.Name, d.car, c.back)
		case c.back == 0 && d.coarse.total >= 1.5*length, d.coarse.total >= 2.5*length:
			e.Err, e.msg = ErrLineNotCrossed, fmt.Sprintf("%s of track %q, not crossed by car %s in %.0f m of driving (%.1f laps): "+
				"is it across this circuit's track, and is the car on the circuit?", e.Line, d.cfg.Track.Name, d.car,
				d.coarse.total, d.coarse.total/length)
		default:
			continue
		}
		d.problems = append(d.problems, e)
		c.reported = true
	}
}

// coarseOdo measures the distance driven in steps of coarseStep metres,
// so that GPS noise while a car stands still adds nothing.
type coarseOdo struct {
	anchor vec
	have   bool
	total  float64
}

const coarseStep = 50

func (o *coarseOdo) fix(p vec) {
	if !o.have {
		o.anchor, o.have = p, true
		return
	}
	if d := p.sub(o.anchor).len(); d >= coarseStep {
		o.total += d
		o.anchor = p
	}
}

// maxIntervals bounds the intervals a lap keeps for Period (over 5
// minutes at 25 Hz); later ones are not counted.
const maxIntervals = 8192

// interval records the GPS interval ending at the fix being handled.
func (d *Detector) interval(gap int64) {
	if len(d.ivals) < maxIntervals {
		d.ivals = append(d.ivals, gap)
	}
}

// Period returns the GPS period the detector's limits follow: the median
// interval between the fixes of the lap in progress (those since the
// last start/finish crossing, the interval across it included), 0
// before the second fix. Within a lap it depends only on that lap's
// fixes, so a restarted detector uses the same limits (see Restore).
func (d *Detector) Period() time.Duration {
	if len(d.ivals) == 0 {
		return 0
	}
	d.scratch = append(d.scratch[:0], d.ivals...)
	slices.Sort(d.scratch)
	return time.Duration(d.scratch[len(d.scratch)/2])
}

// debounce returns the debounce in ns: Config.Debounce, or by default
// the larger of 500 ms and 1.5 periods.
func (d *Detector) debounce() int64 {
	if d.cfg.Debounce > 0 {
		return int64(d.cfg.Debounce)
	}
	return int64(max(500*time.Millisecond, d.Period()*3/2))
}

// maxGap returns the longest GPS gap a line of the lap in progress may
// be crossed in for it to stay valid: Config.MaxGap, or by default the
// larger of 1 s and 2.5 periods.
func (d *Detector) maxGap() int64 {
	if d.cfg.MaxGap > 0 {
		return int64(d.cfg.MaxGap)
	}
	return int64(max(time.Second, d.Period()*5/2))
}

// deviceTime returns the device's own time for the lap from startNs to
// endNs: between the device lap markers nearest each end, if both are
// within tol of it.
func (d *Detector) deviceTime(startNs, endNs, tol int64) (int64, bool) {
	s, okS := d.nearestMarker(startNs, tol)
	e, okE := d.nearestMarker(endNs, tol)
	if !okS || !okE || e <= s {
		return 0, false
	}
	return e - s, true
}

func (d *Detector) nearestMarker(ns, tol int64) (int64, bool) {
	best, ok := int64(0), false
	for i := range min(d.nMarker, len(d.markers)) {
		m := d.markers[i]
		if dist := abs(m - ns); dist <= tol && (!ok || dist < abs(best-ns)) {
			best, ok = m, true
		}
	}
	return best, ok
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
