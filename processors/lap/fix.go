package lap

import (
	"math"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// maxBridge is the longest GPS gap the detector bridges with a straight
// chord. Longer gaps (a car in the garage, a receiver that lost its fix
// for a long time) could cut across the circuit and cross lines the car
// never crossed, so their segment is not searched for crossings.
const maxBridge = 10 * time.Second

// A fix that would have the car faster than maxFixSpeed (plus
// fixJumpSlack metres of receiver error) since the last one is no
// position: it is skipped. After maxJumps such fixes in a row the last
// good one was the odd one out (a receiver that came back somewhere else
// after a long loss): the detector starts again from the new fix.
const (
	maxFixSpeed  = 150.0 // m/s: 540 km/h
	fixJumpSlack = 50.0  // m
	maxJumps     = 3
)

// hit is a line crossed between two fixes.
type hit struct {
	t, u float64
	gate int
}

// fix feeds one position fix, p on the detector's plane.
func (d *Detector) fix(ns int64, p vec, out []telemetry.Lap) []telemetry.Lap {
	if !d.havePrev {
		d.prev, d.prevNs, d.havePrev = p, ns, true
		d.odo.reset(ns)
		d.coarse.fix(p)
		return out
	}
	if ns <= d.prevNs {
		return out // a duplicate or out-of-order fix carries no new motion
	}
	gap := ns - d.prevNs
	segLen := p.sub(d.prev).len()
	if segLen > maxFixSpeed*float64(gap)/1e9+fixJumpSlack {
		if d.jumps++; d.jumps < maxJumps {
			d.ignored = append(d.ignored, Ignored{Line: "gps", AtNs: ns, Reason: IgnoredGPSJump})
			return out
		}
		d.jumps = 0
		d.prev, d.prevNs = p, ns // the position before was the odd one: go on from here
		d.odo.reset(ns)
		d.coarse.have = false
		if d.started {
			d.cur.maxGap = max(d.cur.maxGap, gap)
		}
		return out
	}
	d.jumps = 0
	d.interval(gap)
	var hits [4]hit
	found := hits[:0]
	if gap <= int64(maxBridge) {
		found = d.lines(p, gap, found)
		d.coarse.fix(p)
	} else {
		if d.started {
			d.cur.maxGap = max(d.cur.maxGap, gap)
		}
		d.coarse.have = false // not bridged: the distance is unknown
	}
	pos := 0.0
	for _, h := range found {
		tc := d.prevNs + int64(math.Round(h.t*float64(gap)))
		if gap > odoMinGap {
			if at, ok := d.odo.at(h.t, gap); ok {
				tc = at
			}
		}
		d.advance(segLen*(h.t-pos), tc)
		d.armed[h.gate], d.lastNs[h.gate] = false, tc
		if h.gate == 0 {
			out = d.startFinish(tc, h.u, gap, out)
		} else {
			d.sector(h.gate, tc, gap)
		}
		pos = h.t
	}
	d.advance(segLen*(1-pos), ns)
	for i, g := range d.gates {
		if !d.armed[i] && p.sub(g.mid).len() > d.cfg.ReArm {
			d.armed[i] = true
		}
	}
	d.prev, d.prevNs = p, ns
	d.odo.reset(ns)
	d.updateLive(ns)
	d.checkLines()
	return out
}

// lines finds the armed lines crossed forwards between the previous
// fix and p, in the order they were crossed; the crossings it ignores go
// to d.ignored.
func (d *Detector) lines(p vec, gap int64, found []hit) []hit {
	for i, g := range d.gates {
		if i == 0 && d.beacon {
			continue
		}
		t, u, fwd, ok := g.cross(d.prev, p)
		if !ok {
			continue
		}
		at := d.prevNs + int64(t*float64(gap))
		switch {
		case !fwd:
			d.backwards(i, at)
			continue
		case !d.armed[i]:
			d.checks[i].forward++
			d.ignore(i, at, IgnoredNotReArmed)
			continue
		case at-d.lastNs[i] < d.debounce():
			d.checks[i].forward++
			d.ignore(i, at, IgnoredDebounce)
			continue
		}
		d.checks[i].forward++
		found = append(found, hit{t: t, u: u, gate: i})
		for j := len(found) - 1; j > 0 && found[j].t < found[j-1].t; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	return found
}

// advance adds dd metres travelled, ending at time endNs, to the lap in
// progress and its distance trace.
func (d *Detector) advance(dd float64, endNs int64) {
	if !d.started || dd <= 0 {
		return
	}
	c := &d.cur
	step := d.cfg.DeltaStep
	d0, d1 := c.dist, c.dist+dd
	t0 := float64(c.cursorNs-c.startNs) / 1e9
	t1 := float64(endNs-c.startNs) / 1e9
	for k := len(c.trace); float64(k)*step <= d1; k++ {
		at := float64(k) * step
		if at < d0 {
			at = d0
		}
		c.trace = append(c.trace, t0+(at-d0)/(d1-d0)*(t1-t0))
		if len(c.trace) > maxTrace {
			break
		}
	}
	c.dist = d1
	c.cursorNs = endNs
}

// maxTrace bounds a lap's distance trace (200 km at 5 m), so a car that
// never crosses start/finish cannot grow it without end.
const maxTrace = 40000

func (d *Detector) updateLive(ns int64) {
	d.liveOK = false
	if !d.started || len(d.best) < 2 {
		return
	}
	f := d.cur.dist / d.cfg.DeltaStep
	k := int(f)
	ref := float64(d.bestNs) / 1e9 // past the best lap's distance (a pit lane, a wide line): its finish
	if k+1 < len(d.best) {
		ref = min(ref, d.best[k]+(d.best[k+1]-d.best[k])*(f-float64(k)))
	}
	d.live, d.liveOK = float64(ns-d.cur.startNs)/1e9-ref, true
}

// startFinish handles a start/finish crossing at tc; u is where on the line
// (0 at A, 1 at B), gap the GPS gap it was crossed in (0 for the beacon).
func (d *Detector) startFinish(tc int64, u float64, gap int64, out []telemetry.Lap) []telemetry.Lap {
	tr := &d.cfg.Track
	pit := gap > 0 && tr.PitTo > tr.PitFrom && u >= tr.PitFrom && u <= tr.PitTo
	if !d.started {
		d.crossings++
		d.started, d.lapNo = true, d.number(tc)
		d.newLap(tc, pit, gap)
		return out
	}
	if d.cur.dist > 0 && d.cur.dist < d.cfg.MinLapFraction*tr.Length {
		d.ignore(0, tc, IgnoredTooShort) // not a real crossing
		return out
	}
	d.crossings++
	out = append(out, d.finish(tc, pit, gap))
	d.lapNo++
	d.newLap(tc, pit, gap)
	return out
}

func (d *Detector) newLap(tc int64, pit bool, gap int64) {
	d.ivals = d.ivals[:0]
	if gap > 0 {
		d.ivals = append(d.ivals, gap) // the period counts from the crossing's interval
	}
	trace := d.cur.trace[:0] // nil when finish kept it as the best
	d.cur = current{startNs: tc, pitCross: pit, maxGap: gap, acc: newAcc(), trace: trace, cursorNs: tc}
}

// number returns the number of the lap starting at tc for a detector that
// has not seen a crossing yet.
func (d *Detector) number(tc int64) int32 {
	var last int32
	for _, k := range d.history {
		switch {
		case k.StartNs == tc:
			return k.Lap
		case k.EndNs == tc:
			return k.Lap + 1
		}
		last = max(last, k.Lap)
	}
	return last + 1
}

func (d *Detector) sector(g int, tc, gap int64) {
	if !d.started {
		d.ignore(g, tc, IgnoredBeforeStart)
		return
	}
	c := &d.cur
	idx := g - 1
	switch {
	case idx < len(c.sectors):
		return // already crossed this lap
	case idx > len(c.sectors):
		c.sectorMiss = true
		for len(c.sectors) < idx {
			c.sectors = append(c.sectors, -1)
		}
	}
	c.sectors = append(c.sectors, tc)
	c.maxGap = max(c.maxGap, gap)
}
