package simulator

import (
	"math"

	"github.com/pitwall/pitwall/telemetry"
)

// advance moves the car from the previous tick to s.tick: speed towards
// the profile (or the pit lane's limits), distance, line crossings, and the
// systems that follow from them.
func (c *car) advance(s *Sim) {
	if c.doneTick >= 0 && s.tick-c.doneTick >= parkAfter {
		c.parked = true
		return
	}
	m := &gtCar
	v0 := c.v
	if c.pit == pitStopped {
		c.serviceStep(s)
	} else {
		vt := math.Min(profileAt(c.prof, s.track, c.s), c.pitCap(s))
		if v0 < vt {
			c.v = math.Min(vt, v0+m.accel(v0, c.power)*dt)
		} else {
			c.v = math.Max(vt, v0-m.brake(v0, c.grip)*dt)
		}
		c.move(s, c.s, c.s+0.5*(v0+c.v)*dt)
	}
	c.systems(s, v0)
	if s.tick%10 == 0 {
		c.heat(s, 10*dt)
	}
}

// pitCap is the speed the pit stop allows at the car's position: braking
// for the pit entry, the pit speed limit, and stopping at the box.
func (c *car) pitCap(s *Sim) float64 {
	t := s.track
	limit := t.Def.PitLimit / 3.6
	switch c.pit {
	case pitPlanned:
		if d := t.Length - t.Def.PitIn - c.s; d >= 0 && d < 2000 {
			return math.Sqrt(limit*limit + 2*8*d) // a gentle 8 m/s^2
		}
	case pitEntering:
		if d := t.Length - t.Def.PitBox - c.s; d >= 0 {
			return math.Min(limit, math.Sqrt(2*4*d))
		}
		return limit
	case pitLeaving, pitExiting:
		return limit
	}
	return math.Inf(1)
}

// move takes the car from distance s0 to s1 (s1 may pass the lap's end)
// during the tick, handling every line and pit point passed on the way.
func (c *car) move(s *Sim, s0, s1 float64) {
	t := s.track
	if c.pit == pitPlanned && s0 < t.Length-t.Def.PitIn && s1 >= t.Length-t.Def.PitIn {
		c.pit, c.limiter = pitEntering, true
		c.lap.PitLane = true
	}
	if box := t.Length - t.Def.PitBox; c.pit == pitEntering && s1 >= box-0.01 {
		s1 = math.Min(s1, box)
		c.v = 0
		c.startService(s)
	}
	for i, at := range t.SectorAt {
		if s0 < at && s1 >= at && i == len(c.sectorNs) && c.crossings > 0 {
			c.sectorNs = append(c.sectorNs, s.crossNs(s0, s1, at))
		}
	}
	if s1 >= t.Length {
		c.crossStartFinish(s, s.crossNs(s0, s1, t.Length))
		s1 -= t.Length
	}
	if c.pit == pitExiting && s1 >= t.Def.PitOut {
		c.pit, c.limiter = pitNone, false
	}
	c.s = s1
}

// crossNs interpolates the time, in ns, at which the car passed distance
// at, going from s0 at the previous tick to s1 now.
func (s *Sim) crossNs(s0, s1, at float64) int64 {
	frac := (at - s0) / (s1 - s0)
	return s.tickNs(s.tick-1) + int64(math.Round(frac*float64(1e9/TickHz)))
}

// crossStartFinish ends the current lap (recording its truth) and starts
// the next.
func (c *car) crossStartFinish(s *Sim, ns int64) {
	c.crossings++
	if c.crossings > 1 {
		lap := c.lap
		lap.EndNs = ns
		prev := lap.StartNs
		lap.SectorsNs = make([]int64, 0, len(c.sectorNs)+1)
		for _, at := range append(c.sectorNs, ns) {
			lap.SectorsNs = append(lap.SectorsNs, at-prev)
			prev = at
		}
		s.laps = append(s.laps, lap)
		if s.cfg.Laps > 0 && int(lap.Lap) >= s.cfg.Laps {
			c.doneTick = s.tick
		}
	}
	if c.pit == pitLeaving {
		c.pit = pitExiting
	}
	c.lap = telemetry.Lap{Car: c.id, Session: s.cfg.Session, Lap: int32(c.crossings), StartNs: ns, PitLane: c.pit != pitNone}
	c.faultsAt(s, c.crossings, ns)
	c.sectorNs = c.sectorNs[:0]
	if s.cfg.PitEvery > 0 && c.crossings%s.cfg.PitEvery == 0 && c.pit == pitNone {
		c.pit = pitPlanned
	}
	c.newLapFactors(s)
}

// startService begins a pit stop: tyres and fuel, 20-odd seconds.
func (c *car) startService(s *Sim) {
	c.pit = pitStopped
	secs := 22 + 1.5*c.rng.NormFloat64()
	if refuel := (gtCar.FuelFull - c.fuel) / refuelRate; refuel > secs {
		secs = refuel
	}
	c.pitUntil = s.tick + int64(secs*TickHz)
	c.tyreT = [4]float64{60, 60, 60, 60}
	c.fixFaults(s)
}

const refuelRate = 3.0 // l/s

func (c *car) serviceStep(s *Sim) {
	c.v = 0
	c.fuel = math.Min(gtCar.FuelFull, c.fuel+refuelRate*dt)
	if s.tick >= c.pitUntil {
		c.pit = pitLeaving
	}
}

// systems derives what the driver and the car do from the motion of the
// last tick: accelerations, pedals, gear, revs, fuel.
func (c *car) systems(s *Sim, v0 float64) {
	m := &gtCar
	a := (c.v - v0) / dt
	c.aFilt += (a - c.aFilt) * dt / 0.06 // pedals and chassis take ~60 ms
	c.kappa = s.track.Curvature(c.s)
	if c.pit != pitNone && c.pit != pitPlanned {
		c.kappa = 0 // the pit lane runs straight beside the main straight
	}
	r := c.v / (m.VTop * c.power)
	thrust := c.aFilt + m.Accel0*c.power*r*r
	c.throttle, c.brake = 0, 0
	if thrust >= 0 {
		c.throttle = math.Min(1, thrust/(m.Accel0*c.power))
	} else {
		c.brake = -thrust / gravity
	}
	c.gear = len(m.GearTop)
	for g, top := range m.GearTop {
		if c.v < top*0.96 {
			c.gear = g + 1
			break
		}
	}
	if c.pit == pitStopped {
		c.gear = 0
	}
	c.rpm = m.Idle
	if c.gear > 0 {
		c.rpm = math.Max(m.Idle, m.Redline*c.v/m.GearTop[c.gear-1])
	}
	burn := m.FuelRate * (0.04 + 0.96*c.throttle) * c.rpm / m.Redline * dt
	c.fuel = math.Max(0, c.fuel-burn)
	c.load += (c.throttle - c.load) * dt / 20
}

// heat moves the temperatures on by h seconds: tyres from cornering and
// braking load, brake discs from braking power, oil and water from engine
// load; everything cools towards ambient faster at speed.
func (c *car) heat(s *Sim, h float64) {
	m := &gtCar
	gLat := c.v * c.v * c.kappa / gravity
	gLong := c.aFilt / gravity
	for w := range 4 {
		left, front := w%2 == 0, w < 2
		lat := math.Max(0, gLat)*0.6 + math.Max(0, -gLat)*1.4
		if !left {
			lat = math.Max(0, -gLat)*0.6 + math.Max(0, gLat)*1.4
		}
		long := math.Max(0, -gLong)*1.3 + math.Max(0, gLong)*0.5
		share := 0.32
		if !front {
			long = math.Max(0, gLong)*1.3 + math.Max(0, -gLong)*0.6
			share = 0.18
		}
		heatIn := 0.056 * (lat + 0.7*long) * c.v
		cool := 0.02 * (c.tyreT[w] - ambient) * (0.5 + c.v/40)
		c.tyreT[w] += (heatIn - cool) * h
		power := m.Mass * c.brake * gravity * c.v * share // W into this disc
		c.brakeT[w] += (power/2000 - 0.02*(c.brakeT[w]-ambient)*(0.3+c.v/25)) * h
	}
	c.oilT += (90 + 25*c.load - c.oilT) * h / 40
	c.waterT += (82 + 10*c.load - c.waterT) * h / 60
	c.faultHeat(s, h)
}
