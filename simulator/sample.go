package simulator

import (
	"math"

	"github.com/pitwall/pitwall/telemetry"
)

// sample builds the car's frame for this tick from the channels due: each
// value read from the car's state, plus sensor noise, saturated to the
// channel's range and rounded to its resolution; dropped-out channels are
// left out and a rare sample glitches.
func (c *car) sample(s *Sim, due []int32) *telemetry.Frame {
	tick := s.tick
	if tick >= c.nextDropout {
		c.startDropout(s, tick)
	}
	f := &c.frame
	f.TimeNs = s.tickNs(tick)
	samples := f.Samples[:0]
	for _, ci := range due {
		cd := &s.chans[ci]
		if c.dropUntil[ci] > tick || (cd.gps && c.gpsDropUntil > tick) {
			continue
		}
		v := c.value(s, cd)
		if cd.noise > 0 && !s.cfg.Quiet {
			v += cd.noise * c.rng.NormFloat64()
		}
		if c.glitchIn--; c.glitchIn <= 0 {
			c.glitchIn = c.drawGlitch(s)
			if cd.glitch {
				v = cd.Max
				if c.rng.IntN(2) == 0 {
					v = cd.Min
				}
			}
		}
		if v < cd.Min { // sensors saturate
			v = cd.Min
		} else if v > cd.Max {
			v = cd.Max
		}
		scale := pow10[cd.decimals]
		v = math.Round(v*scale) / scale
		samples = append(samples, telemetry.Sample{ID: cd.ID, Value: v})
	}
	f.Samples = samples
	return f
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7}

// startDropout silences one sensor, or now and then the GPS receiver, for
// a while.
func (c *car) startDropout(s *Sim, tick int64) {
	if c.rng.IntN(10) < 3 {
		c.gpsDropUntil = tick + int64((0.5+2.5*c.rng.Float64())*TickHz)
	} else {
		ci := c.rng.IntN(len(s.chans))
		c.dropUntil[ci] = tick + int64((0.2+1.8*c.rng.Float64())*TickHz)
	}
	c.nextDropout = c.drawDropout(s, tick)
}

// value returns the true value of channel cd now, before sensor effects.
func (c *car) value(s *Sim, cd *chanDef) float64 {
	m := &gtCar
	switch cd.kind {
	case kGPSLat:
		c.fix(s)
		return c.gpsLat
	case kGPSLon:
		c.fix(s)
		return c.gpsLon
	case kGPSSpeed, kSpeed:
		return c.v * 3.6
	case kGPSHeading:
		_, _, h := s.track.At(c.s)
		return math.Mod(450-h*180/math.Pi, 360)
	case kRPM:
		return c.rpm
	case kGear:
		return float64(c.gear)
	case kThrottle:
		return 100 * c.throttle
	case kBrakeFront:
		return 55 * c.brake
	case kBrakeRear:
		return 38 * c.brake
	case kSteering:
		return math.Atan(m.Wheelbase*c.kappa) * m.Steer * 180 / math.Pi
	case kGLat:
		return c.v * c.v * c.kappa / gravity
	case kGLong:
		return c.aFilt / gravity
	case kGVert:
		return 1 + c.bumpAccel(s)
	case kWheelSpeed:
		return c.wheelSpeed(cd.wheel)
	case kDamper:
		return c.damper(s, cd.wheel)
	case kTyreTemp:
		return c.tyreZone(cd.wheel, cd.zone)
	case kTyrePress:
		return c.tyrePress(cd.wheel)
	case kBrakeTemp:
		return c.brakeT[cd.wheel]
	case kOilTemp:
		return c.oilT
	case kOilPress:
		return (0.8 + 4.2*c.rpm/m.Redline) * c.oilFactor
	case kWaterTemp:
		return c.waterT
	case kFuel:
		return c.fuel
	case kBattery:
		return 13.2 + 0.8*math.Min(1, c.rpm/3000)
	case kPitLimiter:
		if c.limiter {
			return 1
		}
		return 0
	case kAux:
		src := chanDef{kind: chanKind(cd.wheel)}
		k := float64(cd.ID % 7)
		return c.value(s, &src)*(0.5+0.3*k) + float64(cd.ID%13)
	}
	return 0
}

// fix computes this tick's GPS position once for both coordinates.
func (c *car) fix(s *Sim) {
	if c.gpsTick == s.tick {
		return
	}
	c.gpsTick = s.tick
	x, y, h := s.track.At(c.s)
	if c.pit != pitNone && c.pit != pitPlanned {
		lat := s.track.PitLateral(c.s)
		x, y = x-lat*math.Sin(h), y+lat*math.Cos(h)
	}
	if n := s.cfg.GPSNoise; n > 0 {
		x += n * c.rng.NormFloat64()
		y += n * c.rng.NormFloat64()
	}
	p := s.track.ToLatLon(x, y)
	c.gpsLat, c.gpsLon = p.Lat, p.Lon
}

// bumpAccel is the vertical acceleration (g) the road's bumps give the
// body at this speed, after the suspension has filtered most of it.
func (c *car) bumpAccel(s *Sim) float64 {
	t := s.track
	i, _ := t.Index(c.s)
	n := len(t.Bump)
	curv := (t.Bump[(i+1)%n] - 2*t.Bump[i] + t.Bump[(i-1+n)%n]) / (t.Step * t.Step)
	return 0.08 * curv * c.v * c.v / gravity
}

func (c *car) wheelSpeed(w int) float64 {
	side := 1.0 // left wheels run on the inside of a left turn
	if w%2 == 1 {
		side = -1
	}
	v := c.v * (1 - side*c.kappa*gtCar.Track/2)
	if w < 2 {
		v *= 1 - 0.03*math.Min(1, c.brake/1.5) // fronts lock a little under braking
	} else {
		v *= 1 + 0.05*c.throttle*math.Max(0, 1-c.v/30) // rears spin a little when launching
	}
	return v * 3.6
}

func (c *car) damper(s *Sim, w int) float64 {
	gLat := c.v * c.v * c.kappa / gravity
	gLong := c.aFilt / gravity
	at := c.s
	pos := 45 - 9*gLong
	if w >= 2 {
		at -= gtCar.Wheelbase
		pos = 42 + 7*gLong
	}
	if w%2 == 0 {
		pos -= 6 * gLat
	} else {
		pos += 6 * gLat
	}
	return pos + 0.0015*c.v*c.v + 250*s.track.BumpAt(at)
}

func (c *car) tyreZone(w, zone int) float64 {
	mid := c.tyreT[w]
	gLat := c.v * c.v * c.kappa / gravity
	outside := 0.0 // how hard this tyre works on the outside of a turn
	if (w%2 == 0 && gLat < 0) || (w%2 == 1 && gLat > 0) {
		outside = math.Abs(gLat)
	}
	switch zone {
	case 0:
		return mid + 5 - 1.5*outside
	case 2:
		return mid - 3 + 4*outside
	}
	return mid
}
