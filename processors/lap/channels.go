package lap

import (
	"github.com/pitwall/pitwall/telemetry"
)

// role is what a channel means to the detector.
type role uint8

const (
	rNone role = iota
	rLat
	rLon
	rSpeed
	rThrottle
	rBrake
	rGear
	rFuel
	rGLat
	rPit
	rBeacon
	rPosX      // a game's world x: a planar track's first coordinate
	rPosZ      // a game's world z
	rDeviceLap // the source device's own lap marker
	rTyre      // + wheel index in roleWheel
)

// Channels maps a car's channel ids to the roles lap detection and the
// metrics read, from its ChannelCatalog.
type Channels struct {
	roles []role  // by channel id
	wheel []uint8 // by channel id, for rTyre
	lo    []float64
	hi    []float64
}

// NewChannels reads the roles from cat. beacon names the lap beacon
// channel ("" for none): a rising edge above 0.5 is a start/finish crossing.
// The car's speed is its speed channel or, when it has none (a GPS-only
// logger), gps_speed.
func NewChannels(cat *telemetry.ChannelCatalog, beacon string) Channels {
	var max int32 = -1
	for _, c := range cat.Channels {
		max = c.ID
	}
	ch := Channels{
		roles: make([]role, max+1), wheel: make([]uint8, max+1),
		lo: make([]float64, max+1), hi: make([]float64, max+1),
	}
	byName := map[string]role{
		telemetry.ChanGPSLat: rLat, telemetry.ChanGPSLon: rLon, telemetry.ChanSpeed: rSpeed,
		telemetry.ChanThrottle: rThrottle, telemetry.ChanBrakeFront: rBrake, telemetry.ChanGear: rGear,
		telemetry.ChanFuel: rFuel, telemetry.ChanGLat: rGLat, telemetry.ChanPitLimiter: rPit,
		telemetry.ChanPosX: rPosX, telemetry.ChanPosZ: rPosZ, telemetry.ChanDeviceLap: rDeviceLap,
	}
	if _, ok := cat.ByName(telemetry.ChanSpeed); !ok {
		byName[telemetry.ChanGPSSpeed] = rSpeed
	}
	for w, wheel := range telemetry.Wheels {
		for _, zone := range []string{"inner", "mid", "outer"} {
			byName[telemetry.ChanTyreTemp+"_"+wheel+"_"+zone] = rTyre + role(w)
		}
	}
	if beacon != "" {
		byName[beacon] = rBeacon
	}
	for _, c := range cat.Channels {
		r, ok := byName[c.Name]
		if !ok {
			continue
		}
		if r >= rTyre {
			ch.wheel[c.ID] = uint8(r - rTyre)
			r = rTyre
		}
		ch.roles[c.ID], ch.lo[c.ID], ch.hi[c.ID] = r, c.Min, c.Max
	}
	return ch
}

func (c *Channels) role(id int32) role {
	if id < 0 || int(id) >= len(c.roles) {
		return rNone
	}
	return c.roles[id]
}

// railed reports a value at the channel's range limit: how a glitching
// sensor reads, so it is left out of maxima and minima.
func (c *Channels) railed(id int32, v float64) bool {
	return v >= c.hi[id] || v <= c.lo[id]
}
