package udp

import (
	"fmt"
	"math"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// Forza "Data Out" (Forza Motorsport 7 and 2023, Forza Horizon 4 and 5):
// one car, the player's, one little-endian packet per datagram, its
// format told by its length:
const (
	ForzaSledLen   = 232 // "Sled": motion only (FM7's first format)
	ForzaDashLen   = 311 // "Car Dash", FM7: Sled + position, speed, laps, inputs
	ForzaHorizon   = 324 // FH4/FH5: Sled, 12 bytes of Horizon fields, then the dash
	ForzaFM2023Len = 331 // Forza Motorsport (2023): Dash + tyre wear and track id
)

// ForzaPacket is the fields read from a Data Out packet.
type ForzaPacket struct {
	IsRaceOn    bool   // false in menus: nothing to record
	TimestampMs uint32 // the game's clock, ms; wraps, arbitrary epoch
	RPM         float32
	AccelX      float32 // m/s², car space: x right, y up, z forward
	AccelZ      float32
	VelX        float32 // m/s, car space
	VelY        float32
	VelZ        float32

	Dash        bool // the fields below are set (not a Sled packet)
	X, Y, Z     float32
	SpeedMs     float32
	Fuel        float32 // 0-1
	LastLapS    float32
	CurrentLapS float32
	LapNumber   uint16 // 0 on the first lap
	Position    uint8
	Accel       uint8 // throttle 0-255
	Brake       uint8 // 0-255
	Gear        uint8 // 0 reverse
	Steer       int8  // -127..127
}

// ParseForza reads a Data Out packet of any of the four lengths; other
// lengths wrap ErrShort.
func ParseForza(b []byte) (ForzaPacket, error) {
	var dash int
	switch len(b) {
	case ForzaSledLen:
	case ForzaDashLen, ForzaFM2023Len:
		dash = 232
	case ForzaHorizon:
		dash = 244
	default:
		return ForzaPacket{}, fmt.Errorf("%w: forza packet of %d bytes: want %d (Sled), %d (Dash), %d (Horizon) or %d (Motorsport 2023)",
			ErrShort, len(b), ForzaSledLen, ForzaDashLen, ForzaHorizon, ForzaFM2023Len)
	}
	p := ForzaPacket{IsRaceOn: int32(le32(b, 0)) != 0, TimestampMs: le32(b, 4), RPM: lef32(b, 16),
		AccelX: lef32(b, 20), AccelZ: lef32(b, 28), VelX: lef32(b, 32), VelY: lef32(b, 36), VelZ: lef32(b, 40)}
	if dash > 0 {
		d := dash
		p.Dash = true
		p.X, p.Y, p.Z, p.SpeedMs = lef32(b, d), lef32(b, d+4), lef32(b, d+8), lef32(b, d+12)
		p.Fuel, p.LastLapS, p.CurrentLapS = lef32(b, d+44), lef32(b, d+56), lef32(b, d+60)
		p.LapNumber, p.Position = le16(b, d+68), b[d+70]
		p.Accel, p.Brake, p.Gear, p.Steer = b[d+71], b[d+72], b[d+75], int8(b[d+76])
	}
	return p, nil
}

// Channels of the Forza car, by id.
const (
	fzSpeed int32 = iota
	fzRPM
	fzThrottle
	fzBrake
	fzGear
	fzSteer
	fzGLat
	fzGLong
	fzPosX
	fzPosY
	fzPosZ
	fzFuel
	fzLapNumber
	fzLastLap
	fzDeviceLap
	fzPosition
)

// ChanFuelFraction is Forza's fuel: the fraction of a full tank.
const ChanFuelFraction = "fuel_fraction"

// ForzaCatalog is the channel catalog of the Forza car.
func ForzaCatalog(car, session string, rateHz float64, timeNs int64) telemetry.ChannelCatalog {
	c := func(id int32, name, unit string, lo, hi float64) telemetry.Channel {
		return telemetry.Channel{ID: id, Name: name, Unit: unit, RateHz: rateHz, Min: lo, Max: hi}
	}
	return telemetry.ChannelCatalog{Car: car, Session: session, TimeNs: timeNs, Channels: []telemetry.Channel{
		c(fzSpeed, telemetry.ChanSpeed, "km/h", 0, 600),
		c(fzRPM, telemetry.ChanRPM, "1/min", 0, 20000),
		c(fzThrottle, telemetry.ChanThrottle, "%", 0, 100),
		c(fzBrake, ChanBrake, "%", 0, 100),
		c(fzGear, telemetry.ChanGear, "", -1, 10),
		c(fzSteer, ChanSteer, "", -1, 1),
		c(fzGLat, telemetry.ChanGLat, "g", -10, 10),
		c(fzGLong, telemetry.ChanGLong, "g", -10, 10),
		c(fzPosX, telemetry.ChanPosX, "m", -1e5, 1e5),
		c(fzPosY, ChanPosY, "m", -1e5, 1e5),
		c(fzPosZ, telemetry.ChanPosZ, "m", -1e5, 1e5),
		c(fzFuel, ChanFuelFraction, "", 0, 1),
		c(fzLapNumber, ChanLapNumber, "", 0, 65535),
		c(fzLastLap, ChanLastLapTime, "s", 0, 1e6),
		c(fzDeviceLap, telemetry.ChanDeviceLap, "", 0, 65536),
		c(fzPosition, ChanPosition, "", 0, 255),
	}}
}

const gravity = 9.80665

// forzaStream turns Forza packets into the frames of one car.
type forzaStream struct {
	car, session string
	rateHz       float64
	sink         source.Sink
	announced    bool

	anchorNs int64 // wall time of game timestamp 0; 0: not anchored
	lastTs   uint32
	haveLap  bool
	lapNum   uint16
	lastNs   int64
	seq      int64
	samples  []telemetry.Sample
	rec      *recorder // nil: not recording
}

func newForzaStream(car, session string, rateHz float64, sink source.Sink) *forzaStream {
	return &forzaStream{car: car, session: session, rateHz: rateHz, sink: sink, seq: time.Now().UnixMicro()}
}

func (st *forzaStream) idle(time.Time) { st.rec.flush() }

// packet handles one datagram.
func (st *forzaStream) packet(b []byte, recv time.Time) {
	p, err := ParseForza(b)
	if err != nil {
		st.sink.Bad(source.ReasonMalformed, b, err, recv)
		return
	}
	if !p.IsRaceOn {
		return // menus, pause: the game sends zeros
	}
	// The game's clock restarts with the game: re-anchor when it goes
	// back, or jumps more than a minute ahead.
	if st.anchorNs == 0 || p.TimestampMs < st.lastTs || p.TimestampMs-st.lastTs > 60_000 {
		st.anchorNs = recv.UnixNano() - int64(p.TimestampMs)*int64(time.Millisecond)
		st.haveLap = false
	} else if p.TimestampMs == st.lastTs {
		return // the same instant again
	}
	st.lastTs = p.TimestampMs
	ns := st.anchorNs + int64(p.TimestampMs)*int64(time.Millisecond)
	if !st.announced {
		cat := ForzaCatalog(st.car, st.session, st.rateHz, ns)
		if err := st.sink.Catalog(&cat, recv); err != nil {
			st.sink.Bad(source.ReasonBadCatalog, nil, err, recv)
			return
		}
		st.announced = true
	}
	s := st.samples[:0]
	put := func(id int32, v float64) { s = append(s, telemetry.Sample{ID: id, Value: v}) }
	put(fzRPM, f(p.RPM))
	put(fzGLat, -f(p.AccelX)/gravity) // x points right: turning left pushes the car's mass right
	put(fzGLong, f(p.AccelZ)/gravity)
	if p.Dash {
		gear := float64(p.Gear)
		if p.Gear == 0 {
			gear = -1
		}
		put(fzSpeed, f(p.SpeedMs)*3.6)
		put(fzThrottle, float64(p.Accel)*100/255)
		put(fzBrake, float64(p.Brake)*100/255)
		put(fzGear, gear)
		put(fzSteer, float64(p.Steer)/127)
		put(fzPosX, f(p.X))
		put(fzPosY, f(p.Y))
		put(fzPosZ, f(p.Z))
		put(fzFuel, f(p.Fuel))
		put(fzLapNumber, float64(p.LapNumber))
		put(fzPosition, float64(p.Position))
	} else {
		put(fzSpeed, math.Sqrt(f(p.VelX)*f(p.VelX)+f(p.VelY)*f(p.VelY)+f(p.VelZ)*f(p.VelZ))*3.6)
	}
	for _, v := range s {
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			st.sink.Bad(source.ReasonInvalid, b, fmt.Errorf("udp: forza packet with a value that is not finite"), recv)
			st.samples = s
			return
		}
	}
	if p.Dash {
		if st.haveLap && p.LapNumber > st.lapNum { // not back: a restarted race crosses no line
			// Forza counts laps from 0: the lap that starts is LapNumber+1.
			mark := []telemetry.Sample{{ID: fzLastLap, Value: f(p.LastLapS)}, {ID: fzDeviceLap, Value: float64(p.LapNumber) + 1}}
			at := ns - int64(math.Round(f(p.CurrentLapS)*1e6))*int64(time.Microsecond) // float32 seconds: good to the µs
			if at > st.lastNs && at < ns && p.CurrentLapS >= 0 {
				st.frame(at, mark, recv)
			} else {
				s = append(s, mark...)
			}
		}
		st.haveLap, st.lapNum = true, p.LapNumber
	}
	st.frame(ns, s, recv)
	st.samples = s[:0]
}

func (st *forzaStream) frame(ns int64, samples []telemetry.Sample, recv time.Time) {
	fr := telemetry.Frame{Car: st.car, Session: st.session, Seq: st.seq, TimeNs: ns, Samples: samples}
	fr.SortSamples()
	st.seq++
	st.lastNs = ns
	if err := st.sink.Frame(&fr, recv); err != nil {
		st.sink.Bad(source.ReasonInvalid, nil, err, recv)
		return
	}
	st.rec.frame(&fr)
}
