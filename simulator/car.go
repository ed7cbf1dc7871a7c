package simulator

import (
	"math"
	"math/rand/v2"

	"github.com/pitwall/pitwall/track"
)

const (
	gravity = 9.80665
	dt      = 1.0 / TickHz // seconds per tick
)

// carModel is the physics of the simulated car, a GT-class racer: grip,
// power and braking limits, gearing, fuel and heat. Every car shares it;
// drivers differ (see driver).
type carModel struct {
	Mu        float64    // lateral grip without downforce, g
	MuBrake   float64    // braking grip without downforce, g
	Aero      float64    // extra grip per (m/s)^2 from downforce, g
	Accel0    float64    // drive acceleration from standstill, m/s^2
	VTop      float64    // top speed, m/s, where drag eats all the power
	GearTop   [6]float64 // speed at the redline in each gear, m/s
	Redline   float64    // rpm
	Idle      float64    // rpm
	FuelFull  float64    // l, tank size
	FuelRate  float64    // l/s at full throttle and redline
	Wheelbase float64    // m
	Track     float64    // m between left and right wheels
	Steer     float64    // steering ratio
	Mass      float64    // kg
}

var gtCar = carModel{
	Mu: 1.45, MuBrake: 1.55, Aero: 9e-5, Accel0: 9.5, VTop: 80,
	GearTop: [6]float64{26.5, 37.5, 47.2, 56.9, 68.0, 82.0},
	Redline: 8500, Idle: 1500, FuelFull: 110, FuelRate: 0.055,
	Wheelbase: 2.7, Track: 1.6, Steer: 12, Mass: 1300,
}

// accel is the drive acceleration available at speed v (power minus drag).
func (m *carModel) accel(v, power float64) float64 {
	r := v / (m.VTop * power)
	return math.Max(0, m.Accel0*power*(1-r*r))
}

// brake is the braking deceleration available at speed v.
func (m *carModel) brake(v, grip float64) float64 {
	return gravity * (m.MuBrake*grip + m.Aero*v*v)
}

// cornerSpeed is the fastest speed through curvature k (1/m).
func (m *carModel) cornerSpeed(k, grip float64) float64 {
	k = math.Abs(k)
	down := gravity * m.Aero
	if k <= down {
		return math.Inf(1)
	}
	return math.Sqrt(gravity * m.Mu * grip / (k - down))
}

// driver is what makes one car differ from the next: how much of the
// grip, braking and power the driver uses, and how much that varies from
// lap to lap.
type driver struct {
	grip, power float64 // this driver's mean, around 0.98
	lapSpread   float64 // standard deviation of the per-lap factor
}

func newDriver(rng *rand.Rand) driver {
	clamp := func(v float64) float64 { return math.Max(0.95, math.Min(1.0, v)) }
	return driver{
		grip:      clamp(0.985 + 0.008*rng.NormFloat64()),
		power:     clamp(0.99 + 0.005*rng.NormFloat64()),
		lapSpread: 0.002 + 0.002*rng.Float64(),
	}
}

// lapFactors draws the grip and power the driver uses on the next lap.
func (d driver) lapFactors(rng *rand.Rand) (grip, power float64) {
	return math.Min(1, d.grip*(1+d.lapSpread*rng.NormFloat64())),
		math.Min(1, d.power*(1+d.lapSpread/2*rng.NormFloat64()))
}

// speedProfile fills p with the fastest speed at each track sample that
// the car can reach and still brake for every corner ahead: corner limits,
// then a forward pass (acceleration) and a backward pass (braking), each
// twice round because the lap is a loop.
func speedProfile(p []float64, t *track.Track, m *carModel, grip, power float64) {
	n := len(p)
	for i := range p {
		p[i] = math.Min(m.VTop*power, m.cornerSpeed(t.Kappa[i], grip))
	}
	ds := t.Step
	for j := 0; j < 2*n; j++ {
		i, next := j%n, (j+1)%n
		if v := math.Sqrt(p[i]*p[i] + 2*m.accel(p[i], power)*ds); v < p[next] {
			p[next] = v
		}
	}
	for j := 2 * n; j > 0; j-- {
		i, prev := j%n, (j-1)%n
		if v := math.Sqrt(p[i]*p[i] + 2*m.brake(p[i], grip)*ds); v < p[prev] {
			p[prev] = v
		}
	}
}

// profileAt interpolates the profile at distance s.
func profileAt(p []float64, t *track.Track, s float64) float64 {
	i, f := t.Index(s)
	return p[i] + (p[(i+1)%len(p)]-p[i])*f
}
