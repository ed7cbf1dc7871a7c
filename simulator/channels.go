package simulator

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/telemetry"
)

// TickHz is the simulator's base rate: every channel rate divides it.
const TickHz = 1000

// chanKind says which part of the car's state a channel reads.
type chanKind uint8

const (
	kGPSLat chanKind = iota
	kGPSLon
	kGPSSpeed
	kGPSHeading
	kSpeed
	kRPM
	kGear
	kThrottle
	kBrakeFront
	kBrakeRear
	kSteering
	kGLat
	kGLong
	kGVert
	kWheelSpeed // per wheel
	kDamper     // per wheel
	kTyreTemp   // per wheel and zone
	kTyrePress  // per wheel
	kBrakeTemp  // per wheel
	kOilTemp
	kOilPress
	kWaterTemp
	kFuel
	kBattery
	kPitLimiter
	kAux
)

// chanDef is one channel: its catalog entry and how the car produces it.
type chanDef struct {
	telemetry.Channel
	kind     chanKind
	wheel    int     // 0..3 for per-wheel kinds; source channel for aux
	zone     int     // 0 inner, 1 mid, 2 outer for tyre temperatures
	decimals int     // resolution: values are rounded to 10^-decimals
	noise    float64 // standard deviation of the sensor noise
	glitch   bool    // may glitch (GPS and fuel never do: see doc.go)
	gps      bool    // drops out with the GPS receiver
}

// standardChannels returns the standard channel set at its default rates,
// in id order. GPS comes first, so --channels N keeps it for any N >= 4.
func standardChannels(gpsHz int) []chanDef {
	var out []chanDef
	add := func(name, unit string, hz int, lo, hi float64, k chanKind, dec int, noise float64) *chanDef {
		out = append(out, chanDef{
			Channel: telemetry.Channel{Name: name, Unit: unit, RateHz: float64(hz), Min: lo, Max: hi},
			kind:    k, decimals: dec, noise: noise, glitch: true,
		})
		return &out[len(out)-1]
	}
	add(telemetry.ChanGPSLat, "deg", gpsHz, -90, 90, kGPSLat, 7, 0)
	add(telemetry.ChanGPSLon, "deg", gpsHz, -180, 180, kGPSLon, 7, 0)
	add(telemetry.ChanGPSSpeed, "km/h", gpsHz, 0, 400, kGPSSpeed, 2, 0.3)
	add(telemetry.ChanGPSHeading, "deg", gpsHz, 0, 360, kGPSHeading, 1, 0)
	// The receiver's channels, by index: a pointer add returned before
	// the slice grew points into the old array (where the flags were once
	// set, so latitude and longitude glitched to ±90/±180 and kept coming
	// through the receiver's dropouts).
	for i := range out {
		out[i].gps, out[i].glitch = true, false
	}
	add(telemetry.ChanSpeed, "km/h", 50, 0, 400, kSpeed, 1, 0.2)
	add(telemetry.ChanRPM, "rpm", 50, 0, 10000, kRPM, 0, 15)
	add(telemetry.ChanGear, "", 20, 0, 6, kGear, 0, 0)
	add(telemetry.ChanThrottle, "%", 50, 0, 100, kThrottle, 1, 0.3)
	add(telemetry.ChanBrakeFront, "bar", 100, 0, 150, kBrakeFront, 1, 0.4)
	add(telemetry.ChanBrakeRear, "bar", 100, 0, 150, kBrakeRear, 1, 0.4)
	add(telemetry.ChanSteering, "deg", 50, -540, 540, kSteering, 1, 0.5)
	add(telemetry.ChanGLat, "g", 100, -5, 5, kGLat, 3, 0.02)
	add(telemetry.ChanGLong, "g", 100, -5, 5, kGLong, 3, 0.02)
	add(telemetry.ChanGVert, "g", 1000, -5, 5, kGVert, 3, 0.03)
	for w, wheel := range telemetry.Wheels {
		add(telemetry.ChanWheelSpeed+"_"+wheel, "km/h", 100, 0, 400, kWheelSpeed, 1, 0.2).wheel = w
	}
	for w, wheel := range telemetry.Wheels {
		add(telemetry.ChanDamper+"_"+wheel, "mm", 500, 0, 120, kDamper, 2, 0.05).wheel = w
	}
	for w, wheel := range telemetry.Wheels {
		for z, zone := range []string{"inner", "mid", "outer"} {
			c := add(telemetry.ChanTyreTemp+"_"+wheel+"_"+zone, "degC", 10, -20, 200, kTyreTemp, 1, 0.3)
			c.wheel, c.zone = w, z
		}
	}
	for w, wheel := range telemetry.Wheels {
		add(telemetry.ChanTyrePress+"_"+wheel, "bar", 2, 0, 4, kTyrePress, 3, 0.003).wheel = w
	}
	for w, wheel := range telemetry.Wheels {
		add(telemetry.ChanBrakeTemp+"_"+wheel, "degC", 10, -20, 1200, kBrakeTemp, 0, 2).wheel = w
	}
	add(telemetry.ChanOilTemp, "degC", 2, -20, 160, kOilTemp, 1, 0.1)
	add(telemetry.ChanOilPress, "bar", 20, 0, 10, kOilPress, 2, 0.03)
	add(telemetry.ChanWaterTemp, "degC", 2, -20, 140, kWaterTemp, 1, 0.1)
	fuel := add(telemetry.ChanFuel, "l", 1, 0, 120, kFuel, 2, 0)
	fuel.glitch = false // a logger's fuel level is filtered; the tests hold it monotonic
	add(telemetry.ChanBattery, "V", 1, 0, 16, kBattery, 2, 0.02)
	add(telemetry.ChanPitLimiter, "", 10, 0, 1, kPitLimiter, 0, 0).glitch = false
	return out
}

// auxChannels returns n extra channels (strain gauges, temperatures,
// pressures of a data-heavy car) for load tests. Each follows one of the
// standard channels, scaled, so it moves like a real signal.
func auxChannels(n, hz int) []chanDef {
	sources := []chanKind{kGLat, kGLong, kGVert, kSpeed, kRPM, kThrottle, kBrakeFront, kSteering}
	out := make([]chanDef, n)
	for i := range out {
		out[i] = chanDef{
			Channel: telemetry.Channel{Name: fmt.Sprintf("aux_%03d", i+1), RateHz: float64(hz), Min: -1e6, Max: 1e6},
			kind:    kAux, wheel: int(sources[i%len(sources)]), decimals: 3, noise: 0.01, glitch: true,
		}
	}
	return out
}

// validRate reports whether hz divides the tick rate.
func validRate(hz int) bool { return hz >= 1 && hz <= TickHz && TickHz%hz == 0 }

// buildChannels returns the channels of every car: the standard set,
// truncated or extended with aux channels to n (0 = standard set only),
// with rates overridden by name. Ids are 1..len in order.
func buildChannels(n, gpsHz, auxHz int, rates map[string]int) ([]chanDef, error) {
	if !validRate(gpsHz) || !validRate(auxHz) {
		return nil, fmt.Errorf("%w: rates must divide %d Hz (gps %d, aux %d)", ErrConfig, TickHz, gpsHz, auxHz)
	}
	chans := standardChannels(gpsHz)
	switch {
	case n < 0:
		return nil, fmt.Errorf("%w: channels %d", ErrConfig, n)
	case n > telemetry.MaxChannels:
		return nil, fmt.Errorf("%w: at most %d channels", ErrConfig, telemetry.MaxChannels)
	case n > len(chans):
		chans = append(chans, auxChannels(n-len(chans), auxHz)...)
	case n > 0:
		chans = chans[:n]
	}
	names := make([]string, 0, len(rates))
	for name := range rates {
		names = append(names, name)
	}
	slices.Sort(names) // report the first bad name deterministically
	for _, name := range names {
		hz := rates[name]
		i := slices.IndexFunc(chans, func(c chanDef) bool { return c.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w: no channel %q to set the rate of", ErrConfig, name)
		}
		if !validRate(hz) {
			return nil, fmt.Errorf("%w: rate of %s: %d Hz does not divide %d Hz", ErrConfig, name, hz, TickHz)
		}
		chans[i].RateHz = float64(hz)
	}
	for i := range chans {
		chans[i].ID = int32(i + 1)
	}
	return chans, nil
}

// ParseRates parses "name=hz,name=hz" as --rate takes it.
func ParseRates(s string) (map[string]int, error) {
	out := make(map[string]int)
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, hz, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(hz)
		if !ok || err != nil || n <= 0 || strconv.Itoa(n) != hz || !telemetry.ValidName(name) {
			return nil, fmt.Errorf("%w: rate %q is not name=hz", ErrConfig, kv)
		}
		out[name] = n
	}
	return out, nil
}

// schedule lists, for each tick of a second, the indexes of the channels
// due at that tick, in id order. Channel rates divide TickHz, so the
// pattern repeats every second.
func schedule(chans []chanDef) [][]int32 {
	due := make([][]int32, TickHz)
	for i, c := range chans {
		period := TickHz / int(c.RateHz)
		for t := 0; t < TickHz; t += period {
			due[t] = append(due[t], int32(i))
		}
	}
	return due
}
