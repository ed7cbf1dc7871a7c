package lap

import "time"

// odo integrates the speed channel between two GPS fixes, so a line
// crossed during a GPS dropout is timed by distance driven, not by the
// straight-line chord at constant speed (wrong by tenths of a second when
// the car brakes or accelerates in the gap).
type odo struct {
	fixNs int64     // the fix the distances count from
	ns    []int64   // speed sample times after fixNs
	cum   []float64 // metres driven from fixNs to ns[i]
	v     float64   // last speed, m/s
}

// odoMinGap is the gap above which crossings are timed by the odometer.
const odoMinGap = int64(250 * time.Millisecond)

func (o *odo) reset(fixNs int64) {
	o.fixNs, o.ns, o.cum = fixNs, o.ns[:0], o.cum[:0]
}

// speed adds a speed sample (km/h). The first sample after a fix stands
// for the speed since that fix, so the distances depend only on samples
// after the fix (what a restarted detector also sees).
func (o *odo) speed(ns int64, kmh float64) {
	v := kmh / 3.6
	if ns <= o.fixNs || len(o.ns) > 4096 {
		return
	}
	if len(o.ns) == 0 {
		o.ns, o.cum, o.v = append(o.ns, ns), append(o.cum, v*float64(ns-o.fixNs)/1e9), v
		return
	}
	last := len(o.ns) - 1
	if ns <= o.ns[last] {
		return
	}
	o.ns = append(o.ns, ns)
	o.cum = append(o.cum, o.cum[last]+(o.v+v)/2*float64(ns-o.ns[last])/1e9)
	o.v = v
}

// at returns the time at which the car had covered fraction t of the
// distance driven from the fix to fixNs+gap, and false without speed data.
func (o *odo) at(t float64, gap int64) (int64, bool) {
	if len(o.ns) < 2 {
		return 0, false
	}
	last := len(o.ns) - 1
	end := o.fixNs + gap
	total := o.cum[last] + o.v*float64(end-o.ns[last])/1e9
	if total <= 0 || end < o.ns[last] {
		return 0, false
	}
	target := t * total
	pNs, pCum := o.fixNs, 0.0
	for i := 0; i <= last+1; i++ {
		ns, cum := end, total
		if i <= last {
			ns, cum = o.ns[i], o.cum[i]
		}
		if cum >= target && cum > pCum {
			return pNs + int64((target-pCum)/(cum-pCum)*float64(ns-pNs)), true
		}
		pNs, pCum = ns, cum
	}
	return end, true
}
