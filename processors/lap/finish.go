package lap

import (
	"github.com/pitwall/pitwall/telemetry"
)

// finish closes the lap in progress at the start/finish crossing endNs.
func (d *Detector) finish(endNs int64, pitEnd bool, gap int64) telemetry.Lap {
	c := &d.cur
	lap := telemetry.Lap{
		Car: d.car, Session: d.session, Lap: d.lapNo, StartNs: c.startNs, EndNs: endNs,
		PitLane: c.pitCross || pitEnd || c.acc.pit,
	}
	maxGap := max(c.maxGap, gap)
	complete := !c.sectorMiss && len(c.sectors) == len(d.gates)-1
	if complete {
		prev := c.startNs
		for _, at := range append(c.sectors, endNs) {
			if at <= prev {
				complete = false
				break
			}
			lap.SectorsNs = append(lap.SectorsNs, at-prev)
			prev = at
		}
		if !complete {
			lap.SectorsNs = nil
		}
	}
	limit := d.maxGap()
	valid := complete && !lap.PitLane && maxGap <= limit
	lap.Metrics = c.acc.metrics(make([]telemetry.Metric, 0, 24), c.dist)
	lap.Metrics = append(lap.Metrics,
		telemetry.Metric{Name: MValid, Value: b2f(valid)},
		telemetry.Metric{Name: MMaxGPSGap, Value: float64(maxGap) / 1e9},
		telemetry.Metric{Name: MGPSPeriod, Value: d.Period().Seconds()})
	if dev, ok := d.deviceTime(c.startNs, endNs, limit); ok {
		lap.DeviceNs = &dev
	}
	lapNs := endNs - c.startNs
	if best, ok := d.carBest(d.lapNo); ok {
		lap.Metrics = append(lap.Metrics, telemetry.Metric{Name: MDeltaBest, Value: float64(lapNs-best) / 1e9})
	}
	d.history = append(d.history, Known{Lap: d.lapNo, StartNs: c.startNs, EndNs: endNs, Valid: valid})
	if valid && len(c.trace) > 1 && (d.bestNs == 0 || lapNs < d.bestNs) {
		d.best, d.bestNs = c.trace, lapNs
		c.trace = nil
	}
	return lap
}

// carBest returns the car's best valid lap time before lap n.
func (d *Detector) carBest(n int32) (int64, bool) {
	var best int64
	ok := false
	for _, k := range d.history {
		if k.Lap < n && k.Valid && (!ok || k.EndNs-k.StartNs < best) {
			best, ok = k.EndNs-k.StartNs, true
		}
	}
	return best, ok
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
