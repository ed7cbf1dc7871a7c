package udp

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// Channels of an F1 car, by id in its catalog.
const (
	f1Speed int32 = iota
	f1Throttle
	f1Brake
	f1Steer
	f1Gear
	f1RPM
	f1DRS
	f1PosX
	f1PosY
	f1PosZ
	f1GLat
	f1GLong
	f1GVert
	f1LapDistance
	f1LapNumber
	f1LastLap
	f1DeviceLap
	f1PitLimiter
	f1PitStatus
	f1Position
	f1Fuel
	f1LapInvalid
	f1Channels
)

// Names of the channels the game sources add to telemetry/channels.go's.
const (
	ChanBrake       = "brake"         // %, pedal (the games give no pressure)
	ChanSteer       = "steer"         // -1 full left to 1 full right (F1), -1..1 (Forza)
	ChanDRS         = "drs"           // 1 while DRS is open
	ChanPosY        = "pos_y"         // m, the game world's up axis
	ChanLapDistance = "lap_distance"  // m along the lap, the game's own
	ChanLapNumber   = "lap_number"    // the game's current lap number
	ChanLastLapTime = "last_lap_time" // s, the game's time of the lap just ended (with device_lap)
	ChanPitStatus   = "pit_status"    // F1: 0 none, 1 pitting, 2 in the pit area
	ChanPosition    = "race_position" // position in the race
	ChanFuelMass    = "fuel_mass"     // kg (F1)
	ChanLapInvalid  = "lap_invalid"   // 1 once the game has invalidated the lap
)

// F1Catalog is the channel catalog of one car of an F1 24 session whose
// packets come at rateHz.
func F1Catalog(car, session string, rateHz float64, timeNs int64) telemetry.ChannelCatalog {
	c := func(id int32, name, unit string, lo, hi float64) telemetry.Channel {
		return telemetry.Channel{ID: id, Name: name, Unit: unit, RateHz: rateHz, Min: lo, Max: hi}
	}
	return telemetry.ChannelCatalog{Car: car, Session: session, TimeNs: timeNs, Channels: []telemetry.Channel{
		c(f1Speed, telemetry.ChanSpeed, "km/h", 0, 400),
		c(f1Throttle, telemetry.ChanThrottle, "%", 0, 100),
		c(f1Brake, ChanBrake, "%", 0, 100),
		c(f1Steer, ChanSteer, "", -1, 1),
		c(f1Gear, telemetry.ChanGear, "", -1, 8),
		c(f1RPM, telemetry.ChanRPM, "1/min", 0, 20000),
		c(f1DRS, ChanDRS, "", 0, 1),
		c(f1PosX, telemetry.ChanPosX, "m", -1e5, 1e5),
		c(f1PosY, ChanPosY, "m", -1e5, 1e5),
		c(f1PosZ, telemetry.ChanPosZ, "m", -1e5, 1e5),
		c(f1GLat, telemetry.ChanGLat, "g", -10, 10),
		c(f1GLong, telemetry.ChanGLong, "g", -10, 10),
		c(f1GVert, telemetry.ChanGVert, "g", -10, 10),
		c(f1LapDistance, ChanLapDistance, "m", -1e5, 1e5),
		c(f1LapNumber, ChanLapNumber, "", 0, 255),
		c(f1LastLap, ChanLastLapTime, "s", 0, 1e6),
		c(f1DeviceLap, telemetry.ChanDeviceLap, "", 0, 255),
		c(f1PitLimiter, telemetry.ChanPitLimiter, "", 0, 1),
		c(f1PitStatus, ChanPitStatus, "", 0, 2),
		c(f1Position, ChanPosition, "", 0, F1Cars),
		c(f1Fuel, ChanFuelMass, "kg", 0, 200),
		c(f1LapInvalid, ChanLapInvalid, "", 0, 1),
	}}
}

// EventNoParticipants counts car packets that came before the session's
// first participants packet: until it comes, no car has an id
// (edge_source_events_total{event="no_participants"}).
const EventNoParticipants = "no_participants"

// f1Stream turns an F1 24 packet stream into frames: one key per car,
// one frame per car per game frame (all the packets that carry one
// m_frameIdentifier).
type f1Stream struct {
	prefix  string // car id prefix; the id is prefix + race number
	session string // fixed session id; "" takes the session UID
	rateHz  float64
	sink    source.Sink
	log     *slog.Logger

	live     bool // a session has been seen
	uid      uint64
	sessID   string
	anchorNs int64 // wall time of session time 0
	logged   bool  // the session packet was logged

	pending bool
	frameID uint32
	timeS   float32

	rec *recorder // nil: not recording

	active int // cars in the session; -1 until the participants packet
	cars   [F1Cars]f1Car
	seq    int64
}

// f1Car is one car's state within a session.
type f1Car struct {
	id        string // key; "" until the participants packet names it
	announced bool   // its catalog was handed to the sink
	samples   []telemetry.Sample
	haveLap   bool
	lapNum    uint8
	markNs    int64 // a lap marker for the pending frame; 0: none
	markLap   uint8
	markTime  float64 // the ended lap's time, s
	lastNs    int64
}

func newF1Stream(prefix, session string, rateHz float64, sink source.Sink, log *slog.Logger) *f1Stream {
	return &f1Stream{prefix: prefix, session: session, rateHz: rateHz, sink: sink, log: log, active: -1,
		seq: time.Now().UnixMicro()}
}

// packet handles one datagram.
func (st *f1Stream) packet(b []byte, recv time.Time) {
	h, err := ParseF1Header(b)
	switch {
	case errors.Is(err, ErrIgnored):
		return
	case errors.Is(err, ErrFormat):
		st.sink.Bad(source.ReasonUnknownFormat, b, err, recv)
		return
	case err != nil:
		st.sink.Bad(source.ReasonMalformed, b, err, recv)
		return
	}
	if !st.live || h.SessionUID != st.uid {
		st.emit(recv)
		st.newSession(h, recv)
	}
	if st.pending && h.FrameID != st.frameID {
		st.emit(recv)
	}
	st.pending, st.frameID, st.timeS = true, h.FrameID, h.SessionTime
	switch h.PacketID {
	case F1PacketParticipants:
		st.participants(b)
		return
	case F1PacketSession:
		if !st.logged {
			st.logged = true
			s := ParseF1Session(b)
			st.log.Info("f1: session", "uid", st.sessID, "track_id", s.TrackID, "track_length_m", s.TrackLength, "session_type", s.SessionType, "total_laps", s.TotalLaps)
		}
		return
	}
	if st.active < 0 {
		st.sink.Note(EventNoParticipants, nil)
		return
	}
	if err := st.carData(h, b); err != nil {
		st.sink.Bad(source.ReasonInvalid, b, err, recv)
	}
}

func (st *f1Stream) newSession(h F1Header, recv time.Time) {
	st.live, st.uid, st.logged, st.active, st.pending = true, h.SessionUID, false, -1, false
	st.anchorNs = recv.UnixNano() - int64(float64(h.SessionTime)*1e9)
	st.sessID = st.session
	if st.sessID == "" {
		st.sessID = fmt.Sprintf("f1-%016x", h.SessionUID)
	}
	st.cars = [F1Cars]f1Car{}
}

func (st *f1Stream) participants(b []byte) {
	active, ps := F1Participants(b)
	st.active = active
	for i := range active {
		id := fmt.Sprintf("%s%02d", st.prefix, ps[i].RaceNumber)
		if c := &st.cars[i]; c.id != id {
			c.id, c.announced = id, false
		}
	}
}

// carData adds one car packet's values to the pending frame of every
// active car; a non-finite float refuses the whole packet.
func (st *f1Stream) carData(h F1Header, b []byte) error {
	var vals [8]float64
	for i := range st.active {
		c := &st.cars[i]
		if c.id == "" {
			continue
		}
		ids, vs := st.values(h.PacketID, b, i, c, vals[:0])
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("udp: f1 packet %d: car %d has a value that is not finite", h.PacketID, i)
			}
		}
		for k, id := range ids {
			c.samples = append(c.samples, telemetry.Sample{ID: id, Value: vs[k]})
		}
	}
	return nil
}

var (
	f1MotionIDs    = []int32{f1PosX, f1PosY, f1PosZ, f1GLat, f1GLong, f1GVert}
	f1LapIDs       = []int32{f1LapDistance, f1LapNumber, f1PitStatus, f1Position, f1LapInvalid}
	f1TelemetryIDs = []int32{f1Speed, f1Throttle, f1Brake, f1Steer, f1Gear, f1RPM, f1DRS}
	f1StatusIDs    = []int32{f1PitLimiter, f1Fuel}
)

// values returns the channel ids and values of car i in a car packet.
func (st *f1Stream) values(id uint8, b []byte, i int, c *f1Car, vs []float64) ([]int32, []float64) {
	switch id {
	case F1PacketMotion:
		m := F1CarMotionAt(b, i)
		return f1MotionIDs, append(vs, f(m.X), f(m.Y), f(m.Z), f(m.GLat), f(m.GLong), f(m.GVert))
	case F1PacketLapData:
		l := F1CarLapAt(b, i)
		if c.haveLap && l.LapNum > c.lapNum { // not back: a flashback or a restart crosses no line
			// The game's lap counter moved on: the car crossed its line
			// CurrentLapMs ago, ending a lap of LastLapMs.
			c.markNs = st.timeNs() - int64(l.CurrentLapMs)*int64(time.Millisecond)
			c.markLap, c.markTime = l.LapNum, float64(l.LastLapMs)/1000
		}
		c.haveLap, c.lapNum = true, l.LapNum
		return f1LapIDs, append(vs, f(l.LapDistance), float64(l.LapNum), float64(l.PitStatus), float64(l.CarPosition), float64(l.LapInvalid))
	case F1PacketCarTelemetry:
		t := F1CarTelemetryAt(b, i)
		return f1TelemetryIDs, append(vs, float64(t.SpeedKmh), f(t.Throttle)*100, f(t.Brake)*100, f(t.Steer),
			float64(t.Gear), float64(t.RPM), float64(t.DRS))
	case F1PacketCarStatus:
		s := F1CarStatusAt(b, i)
		return f1StatusIDs, append(vs, float64(s.PitLimiter), f(s.FuelKg))
	}
	return nil, vs
}

func f(v float32) float64 { return float64(v) }

// timeNs is the sensor time of the pending game frame.
func (st *f1Stream) timeNs() int64 {
	return st.anchorNs + int64(math.Round(float64(st.timeS)*1e9))
}

// idle emits the pending frame: the game is quiet (paused, or between
// frames).
func (st *f1Stream) idle(recv time.Time) {
	st.emit(recv)
	st.rec.flush()
}

// emit hands every car's pending frame to the sink, after the car's
// catalog the first time and after its lap marker's own frame.
func (st *f1Stream) emit(recv time.Time) {
	if !st.pending {
		return
	}
	st.pending = false
	ns := st.timeNs()
	for i := range st.cars {
		c := &st.cars[i]
		if len(c.samples) == 0 || c.id == "" {
			c.samples, c.markNs = c.samples[:0], 0
			continue
		}
		if !c.announced {
			cat := F1Catalog(c.id, st.sessID, st.rateHz, ns)
			if err := st.sink.Catalog(&cat, recv); err != nil {
				st.sink.Bad(source.ReasonBadCatalog, nil, err, recv)
				c.samples = c.samples[:0]
				continue
			}
			c.announced = true
		}
		if c.markNs != 0 {
			mark := []telemetry.Sample{{ID: f1LastLap, Value: c.markTime}, {ID: f1DeviceLap, Value: float64(c.markLap)}}
			if c.markNs > c.lastNs && c.markNs < ns {
				st.frame(c, c.markNs, mark, recv)
			} else {
				c.samples = append(c.samples, mark...)
			}
			c.markNs = 0
		}
		st.frame(c, ns, c.samples, recv)
		c.samples = c.samples[:0]
	}
}

func (st *f1Stream) frame(c *f1Car, ns int64, samples []telemetry.Sample, recv time.Time) {
	fr := telemetry.Frame{Car: c.id, Session: st.sessID, Seq: st.seq, TimeNs: ns, Samples: samples}
	fr.SortSamples()
	st.seq++
	c.lastNs = ns
	if err := st.sink.Frame(&fr, recv); err != nil {
		st.sink.Bad(source.ReasonInvalid, nil, err, recv)
		return
	}
	st.rec.frame(&fr)
}
