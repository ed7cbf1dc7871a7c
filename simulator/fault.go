package simulator

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/pitwall/pitwall/telemetry"
)

// Faults the simulator can inject (Config.Faults, pitwall sim --fault).
const (
	// FaultOverheat: from the start of the lap, the water temperature
	// climbs 2 degC a second (to 135), the oil runs hotter and the oil
	// pressure sags to 30% of healthy over 25 s: a blocked radiator or a
	// failing pump. The pit stop's mechanics fix it; the engine then cools.
	FaultOverheat = "overheat"
	// FaultPuncture: from the start of the lap, one tyre (Fault.Wheel)
	// loses 0.015 bar a second (to 0.6 bar), runs 10-15 degC hotter as it flexes,
	// and the car has 4% less grip, so it is a little slower. The pit
	// stop's new tyres fix it.
	FaultPuncture = "puncture"
)

// Fault is a fault injected into one car.
type Fault struct {
	// Car is the car's id (car01, ...).
	Car string
	// Kind is FaultOverheat or FaultPuncture.
	Kind string
	// Lap is the lap at whose start (the car's start/finish crossing) it
	// begins, from 1.
	Lap int
	// Wheel is the punctured tyre's index in telemetry.Wheels. Default 0
	// (fl).
	Wheel int
}

func (f Fault) String() string {
	kind := f.Kind
	if f.Kind == FaultPuncture {
		kind += "-" + telemetry.Wheels[f.Wheel]
	}
	return fmt.Sprintf("%s:%s@lap%d", f.Car, kind, f.Lap)
}

var faultRE = regexp.MustCompile(`^([A-Za-z0-9._-]+):(overheat|puncture)(?:-(fl|fr|rl|rr))?@lap([0-9]{1,6})$`)

// ParseFault parses --fault: CAR:overheat@lapN or CAR:puncture[-WHEEL]@lapN
// (WHEEL fl, fr, rl or rr; default fl), e.g. car02:overheat@lap3,
// car03:puncture-rr@lap2.
func ParseFault(s string) (Fault, error) {
	m := faultRE.FindStringSubmatch(s)
	if m == nil || (m[2] == FaultOverheat && m[3] != "") {
		return Fault{}, fmt.Errorf("%w: fault %q: want CAR:overheat@lapN or CAR:puncture[-fl|-fr|-rl|-rr]@lapN (e.g. car02:overheat@lap3)", ErrConfig, s)
	}
	lap, _ := strconv.Atoi(m[4])
	f := Fault{Car: m[1], Kind: m[2], Lap: lap}
	if m[3] != "" {
		f.Wheel = slices.Index(telemetry.Wheels[:], m[3])
	}
	if lap < 1 {
		return Fault{}, fmt.Errorf("%w: fault %q: laps count from 1", ErrConfig, s)
	}
	return f, nil
}

// FaultEvent is a fault beginning or being fixed, as the fault truth file
// (Config.FaultTruth) records it.
type FaultEvent struct {
	Fault
	// Event is "begin" or "fixed" (at the pit stop).
	Event string
	// TimeNs is the sensor time: the start/finish crossing it began at,
	// or when the car stopped at the box to have it fixed.
	TimeNs int64
}

// The fault truth CSV, one row per event in the order they happen:
//
//	car,fault,wheel,lap,event,time_ns
//	car02,overheat,,3,begin,1704067318211004000
//	car03,puncture,rr,2,begin,1704067265100000000
//	car02,overheat,,3,fixed,1704067420000000000

// WriteFaultTruthHeader writes the fault truth CSV's header line.
func WriteFaultTruthHeader(w io.Writer) error {
	_, err := io.WriteString(w, "car,fault,wheel,lap,event,time_ns\n")
	return err
}

// WriteFaultTruthRow writes one event.
func WriteFaultTruthRow(w io.Writer, e *FaultEvent) error {
	wheel := ""
	if e.Kind == FaultPuncture {
		wheel = telemetry.Wheels[e.Wheel]
	}
	_, err := fmt.Fprintf(w, "%s,%s,%s,%d,%s,%d\n", e.Car, e.Kind, wheel, e.Lap, e.Event, e.TimeNs)
	return err
}

// carFault is a fault of one car and where it is.
type carFault struct {
	Fault
	on      bool
	startNs int64
}

// Fault effects.
const (
	overheatRate   = 2.0   // degC/s the water climbs
	overheatMax    = 135.0 // degC
	oilSagSeconds  = 25.0  // to the lowest oil pressure
	oilSagLowest   = 0.3   // of healthy
	punctureRate   = 0.015 // bar/s
	punctureLowest = 0.6   // bar
	punctureGrip   = 0.96  // of the grip with four good tyres
)

// checkFaults refuses faults of cars the simulation does not have.
func checkFaults(fs []Fault, cars int) error {
	for _, f := range fs {
		found := false
		for i := range cars {
			found = found || CarID(i, cars) == f.Car
		}
		if !found {
			return fmt.Errorf("%w: fault %s: no car %s (cars %s..%s)", ErrConfig, f, f.Car, CarID(0, cars), CarID(cars-1, cars))
		}
		if f.Wheel < 0 || f.Wheel > 3 || (f.Kind != FaultOverheat && f.Kind != FaultPuncture) || f.Lap < 1 {
			return fmt.Errorf("%w: fault %+v", ErrConfig, f)
		}
	}
	return nil
}

// faultsAt begins the car's faults due at the start of lap (the crossing
// at ns); the lap's factors, drawn next, take a puncture's grip.
func (c *car) faultsAt(s *Sim, lap int, ns int64) {
	for _, f := range c.faults {
		if f.Lap == lap && !f.on && f.startNs == 0 {
			f.on, f.startNs = true, ns
			s.faultEvents = append(s.faultEvents, FaultEvent{Fault: f.Fault, Event: "begin", TimeNs: ns})
		}
	}
}

// fixFaults ends the car's faults at a pit stop.
func (c *car) fixFaults(s *Sim) {
	for _, f := range c.faults {
		if f.on {
			f.on = false
			s.faultEvents = append(s.faultEvents, FaultEvent{Fault: f.Fault, Event: "fixed", TimeNs: s.tickNs(s.tick)})
		}
	}
	c.oilFactor, c.pressLoss = 1, [4]float64{}
}

// faulty reports whether the car has a fault of kind on now (and the
// wheel of a puncture).
func (c *car) faulty(kind string) (bool, int) {
	for _, f := range c.faults {
		if f.on && f.Kind == kind {
			return true, f.Wheel
		}
	}
	return false, 0
}

// faultHeat moves the faults' effects on by h seconds, after heat.
func (c *car) faultHeat(s *Sim, h float64) {
	if len(c.faults) == 0 {
		return
	}
	if on, _ := c.faulty(FaultOverheat); on {
		c.waterT = math.Min(overheatMax, c.waterT+overheatRate*h)
		c.oilT = math.Min(150, c.oilT+0.5*overheatRate*h)
		for _, f := range c.faults {
			if f.on && f.Kind == FaultOverheat {
				since := float64(s.tickNs(s.tick)-f.startNs) / 1e9
				c.oilFactor = math.Max(oilSagLowest, 1-(1-oilSagLowest)*since/oilSagSeconds)
			}
		}
	}
	if on, w := c.faulty(FaultPuncture); on {
		c.pressLoss[w] = math.Min(c.pressLoss[w]+punctureRate*h, 10)
		// A soft tyre flexes and heats: it sheds less of its heat, down
		// to a fifth less once 0.2 bar is gone (some 10-15 degC hotter).
		c.tyreT[w] += math.Min(0.2, c.pressLoss[w]) * 0.02 * (c.tyreT[w] - ambient) * (0.5 + c.v/40) * h
	}
}

// tyrePress is wheel w's pressure: hot gas at 1.45 bar cold (25 degC),
// less what a puncture lost, never under punctureLowest once punctured.
func (c *car) tyrePress(w int) float64 {
	p := 1.45 * (c.tyreT[w] + 273.15) / (25 + 273.15)
	if c.pressLoss[w] > 0 {
		p = math.Max(punctureLowest, p-c.pressLoss[w])
	}
	return p
}
