package lap

import (
	"math"

	"github.com/pitwall/pitwall/telemetry"
)

// Metric names a Lap carries, in this order (those without data are left
// out). Speeds are km/h, temperatures degC, fuel litres, times seconds.
const (
	MTopSpeed     = "top_speed"
	MMinSpeed     = "min_speed"
	MAvgSpeed     = "avg_speed"
	MFullThrottle = "full_throttle_pct"
	MBraking      = "braking_pct"
	MGearShifts   = "gear_shifts"
	MFuelUsed     = "fuel_used"
	MMaxGLat      = "max_g_lat"
	MDistance     = "distance_m"
	MValid        = "valid"
	MMaxGPSGap    = "max_gps_gap_s"
	MGPSPeriod    = "gps_period_s" // the lap's median GPS interval (Detector.Period)
	MDeltaBest    = "delta_car_best_s"
	// Tyre temperatures: tyre_temp_<wheel>_avg and tyre_temp_<wheel>_max.
)

// acc accumulates one lap's metrics from its frames.
type acc struct {
	top, min        float64
	speedSum        float64
	speedN          int
	throttleN, full int
	brakeN, braking int
	gear, gearCand  float64
	gearSet         bool
	shifts          int
	fuelPrev        float64
	fuelSet         bool
	fuelUsed        float64
	gLat            float64
	gLatSet         bool
	tyreSum         [4]float64
	tyreN           [4]int
	tyreMax         [4]float64
	pit             bool
}

func newAcc() acc {
	a := acc{top: math.Inf(-1), min: math.Inf(1)}
	for i := range a.tyreMax {
		a.tyreMax[i] = math.Inf(-1)
	}
	return a
}

// sample adds one non-GPS sample.
func (a *acc) sample(ch *Channels, id int32, r role, v float64, cfg *Config) {
	switch r {
	case rSpeed:
		if v >= ch.hi[id] {
			return // railed high: a glitch
		}
		a.top, a.min = math.Max(a.top, v), math.Min(a.min, v)
		a.speedSum += v
		a.speedN++
	case rThrottle:
		a.throttleN++
		if v >= cfg.FullThrottle {
			a.full++
		}
	case rBrake:
		a.brakeN++
		if v >= cfg.BrakeOn && v < ch.hi[id] {
			a.braking++
		}
	case rGear:
		a.gearSample(v)
	case rFuel:
		if a.fuelSet && v < a.fuelPrev {
			a.fuelUsed += a.fuelPrev - v // rises (refuelling) are not use
		}
		a.fuelPrev, a.fuelSet = v, true
	case rGLat:
		if !ch.railed(id, v) {
			a.gLat, a.gLatSet = math.Max(a.gLat, math.Abs(v)), true
		}
	case rPit:
		a.pit = a.pit || v >= 0.5
	case rTyre:
		if ch.railed(id, v) {
			return
		}
		w := ch.wheel[id]
		a.tyreSum[w] += v
		a.tyreN[w]++
		a.tyreMax[w] = math.Max(a.tyreMax[w], v)
	}
}

// gearSample counts a shift when a new gear is read twice in a row, so a
// one-sample glitch is not two shifts.
func (a *acc) gearSample(v float64) {
	switch {
	case !a.gearSet:
		a.gear, a.gearCand, a.gearSet = v, v, true
	case v == a.gear:
		a.gearCand = v
	case v == a.gearCand:
		a.gear = v
		a.shifts++
	default:
		a.gearCand = v
	}
}

// metrics appends the lap's metrics in the documented order.
func (a *acc) metrics(out []telemetry.Metric, dist float64) []telemetry.Metric {
	add := func(name string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, telemetry.Metric{Name: name, Value: v})
		}
	}
	if a.speedN > 0 {
		add(MTopSpeed, a.top)
		add(MMinSpeed, a.min)
		add(MAvgSpeed, a.speedSum/float64(a.speedN))
	}
	if a.throttleN > 0 {
		add(MFullThrottle, 100*float64(a.full)/float64(a.throttleN))
	}
	if a.brakeN > 0 {
		add(MBraking, 100*float64(a.braking)/float64(a.brakeN))
	}
	if a.gearSet {
		add(MGearShifts, float64(a.shifts))
	}
	if a.fuelSet {
		add(MFuelUsed, a.fuelUsed)
	}
	if a.gLatSet {
		add(MMaxGLat, a.gLat)
	}
	for w, wheel := range telemetry.Wheels {
		if a.tyreN[w] > 0 {
			add(telemetry.ChanTyreTemp+"_"+wheel+"_avg", a.tyreSum[w]/float64(a.tyreN[w]))
			add(telemetry.ChanTyreTemp+"_"+wheel+"_max", a.tyreMax[w])
		}
	}
	if dist > 0 {
		add(MDistance, dist)
	}
	return out
}
