package simulator

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/url"

	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// udpOutput plays a racing game that streams telemetry over UDP, for the
// edge's udp input: format=f1-24 sends the F1 24 game's packets (every car
// of the session in each: Motion, Lap Data, Car Telemetry and Car Status
// at every GPS fix, Session twice a second and Participants every 5 s, as
// the game does), format=forza sends Forza Motorsport 7 "Car Dash"
// packets (311 bytes, one car). The packets are laid out field by field as
// the games' published specifications say, from the simulated channels;
// positions are the car's GPS fixes in metres east (x) and north (z) of
// the track's start/finish (PlanarTiming is the track in that world), and
// the game's lap counter and lap times come from the car's start/finish
// crossings between fixes, interpolated as a lap processor would. The lap
// counter (F1's m_currentLapNum, Forza's LapNumber) counts the crossings,
// so the first one, from the grid, moves it too and is a lap marker.
type udpOutput struct {
	conn    *net.UDPConn
	format  string
	tr      *track.Track
	sf      track.TimingLine // start/finish, planar
	startNs int64
	cars    []*gameCar
	byCar   map[string]*gameCar
	curNs   int64 // time of the fixes gathered so far
	fixed   bool  // some car has a fix at curNs not sent yet
	nextSes int64 // time of the next session packet
	nextPar int64 // time of the next participants packet
	frameID uint32
	uid     uint64
}

// gameCar is what the game knows of one car.
type gameCar struct {
	idx, raceNumber  int
	ids              map[string]int32
	vals             map[string]float64
	x, z, prevX      float64
	prevZ            float64
	prevNs           int64
	hasPrev          bool
	laps             int   // start/finish crossings so far
	crossNs, lastLap int64 // time of the last crossing, duration of the last lap
}

// parseUDPTarget parses udp://HOST:PORT?format=f1-24|forza.
func parseUDPTarget(s string) (Target, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return Target{}, fmt.Errorf("%w: output %q: want udp://HOST:PORT?format=f1-24|forza", ErrConfig, s)
	}
	v := u.Query()
	for k := range v {
		if k != "format" {
			return Target{}, fmt.Errorf("%w: output %q: unknown parameter %q (want format)", ErrConfig, s, k)
		}
	}
	f := v.Get("format")
	if f != "f1-24" && f != "forza" {
		return Target{}, fmt.Errorf("%w: output %q: format %q: want f1-24 or forza", ErrConfig, s, f)
	}
	return Target{Scheme: "udp", Addr: u.Host, Format: f}, nil
}

// PlanarTiming is the built-in track name in the world of the simulator's
// game outputs: metres east (x) and north (z) of its start/finish, the
// lines where the WGS84 Timing has them. `pitwall process --track-file`
// times the udp output's laps with it written out by track.MarshalTiming.
func PlanarTiming(name string) (track.Timing, error) {
	tr, err := track.Lookup(name)
	if err != nil {
		return track.Timing{}, err
	}
	return planar(tr), nil
}

func planar(tr *track.Track) track.Timing {
	t := tr.Timing()
	conv := func(l track.TimingLine) track.TimingLine {
		ax, az := tr.FromLatLon(l.A)
		bx, bz := tr.FromLatLon(l.B)
		return track.TimingLine{Name: l.Name, PA: track.Point{X: ax, Z: az}, PB: track.Point{X: bx, Z: bz}}
	}
	t.Planar = true
	t.StartFinish = conv(t.StartFinish)
	for i := range t.Sectors {
		t.Sectors[i] = conv(t.Sectors[i])
	}
	return t
}

func newUDPOutput(t Target, cfg Config) (*udpOutput, error) {
	if t.Format == "forza" && cfg.Cars != 1 {
		return nil, fmt.Errorf("%w: Forza's Data Out carries one car; run with --cars 1", ErrConfig)
	}
	if t.Format == "f1-24" && cfg.Cars > 22 {
		return nil, fmt.Errorf("%w: an F1 24 session has at most 22 cars", ErrConfig)
	}
	tr, err := track.Lookup(cfg.Track)
	if err != nil {
		return nil, err
	}
	raddr, err := net.ResolveUDPAddr("udp", t.Addr)
	if err != nil {
		return nil, fmt.Errorf("simulator: udp output: %w", err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("simulator: udp output: %w", err)
	}
	return &udpOutput{conn: conn, format: t.Format, tr: tr, sf: planar(tr).StartFinish, startNs: cfg.Start.UnixNano(),
		byCar: map[string]*gameCar{}, uid: uint64(cfg.Seed)*0x9E3779B97F4A7C15 + 1}, nil
}

func (o *udpOutput) Catalog(cat *telemetry.ChannelCatalog) error {
	c := &gameCar{idx: len(o.cars), raceNumber: len(o.cars) + 1, ids: map[string]int32{}, vals: map[string]float64{}}
	for _, ch := range cat.Channels {
		c.ids[ch.Name] = ch.ID
	}
	if _, ok := c.ids[telemetry.ChanGPSLat]; !ok {
		return fmt.Errorf("%w: udp output needs the gps_lat and gps_lon channels", ErrConfig)
	}
	o.cars = append(o.cars, c)
	o.byCar[cat.Car] = c
	return nil
}

// gameChannels are the channels the games' packets carry.
var gameChannels = []string{telemetry.ChanSpeed, telemetry.ChanThrottle, telemetry.ChanBrakeFront, telemetry.ChanGear,
	telemetry.ChanRPM, telemetry.ChanGLat, telemetry.ChanGLong, telemetry.ChanPitLimiter, telemetry.ChanFuel, telemetry.ChanSteering}

func (o *udpOutput) Frame(f *telemetry.Frame) error {
	if f.TimeNs != o.curNs && o.fixed {
		if err := o.send(); err != nil {
			return err
		}
	}
	o.curNs = f.TimeNs
	c := o.byCar[f.Car]
	for _, name := range gameChannels {
		if id, ok := c.ids[name]; ok {
			if v, ok := f.Value(id); ok {
				c.vals[name] = v
			}
		}
	}
	lat, ok1 := f.Value(c.ids[telemetry.ChanGPSLat])
	lon, ok2 := f.Value(c.ids[telemetry.ChanGPSLon])
	if !ok1 || !ok2 {
		return nil
	}
	c.x, c.z = o.tr.FromLatLon(track.LatLon{Lat: lat, Lon: lon})
	if c.hasPrev {
		if at, ok := crossAt(o.sf, c.prevX, c.prevZ, c.x, c.z); ok {
			ns := c.prevNs + int64(math.Round(at*float64(f.TimeNs-c.prevNs)))
			if c.laps > 0 {
				c.lastLap = ns - c.crossNs
			}
			c.laps, c.crossNs = c.laps+1, ns
		}
	}
	c.prevX, c.prevZ, c.prevNs, c.hasPrev = c.x, c.z, f.TimeNs, true
	o.fixed = true
	return nil
}

// crossAt is where, as a fraction of the way from (x1,z1) to (x2,z2),
// the path crosses l forwards (from the right of A→B to its left).
func crossAt(l track.TimingLine, x1, z1, x2, z2 float64) (float64, bool) {
	dx, dz := l.PB.X-l.PA.X, l.PB.Z-l.PA.Z
	// Headings count clockwise from +z (north) towards +x (east), so the
	// plane is (x east, z north) and "left" is the positive cross product.
	s1 := dx*(z1-l.PA.Z) - dz*(x1-l.PA.X)
	s2 := dx*(z2-l.PA.Z) - dz*(x2-l.PA.X)
	if !(s1 < 0 && s2 >= 0) {
		return 0, false
	}
	fr := s1 / (s1 - s2)
	px, pz := x1+fr*(x2-x1), z1+fr*(z2-z1)
	u := ((px-l.PA.X)*dx + (pz-l.PA.Z)*dz) / (dx*dx + dz*dz)
	return fr, u >= 0 && u <= 1
}

// send sends the packets of the game frame at curNs.
func (o *udpOutput) send() error {
	o.fixed = false
	if o.format == "forza" {
		return o.write(o.forzaDash(o.cars[0]))
	}
	o.frameID++
	if o.curNs >= o.nextPar {
		o.nextPar = o.curNs + 5e9
		if err := o.write(o.f1Participants()); err != nil {
			return err
		}
	}
	if o.curNs >= o.nextSes {
		o.nextSes = o.curNs + 5e8
		if err := o.write(o.f1Session()); err != nil {
			return err
		}
	}
	for _, id := range []uint8{0, 2, 6, 7} {
		if err := o.write(o.f1Packet(id)); err != nil {
			return err
		}
	}
	return nil
}

func (o *udpOutput) write(b []byte) error {
	_, err := o.conn.Write(b)
	return err
}

func (o *udpOutput) Flush() error {
	if o.fixed {
		return o.send()
	}
	return nil
}

func (o *udpOutput) Close() error {
	err := o.Flush()
	if cerr := o.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// f1Header starts a packet of the given id and size: the 29-byte
// PacketHeader of the F1 24 specification.
func (o *udpOutput) f1Header(id uint8, size int) []byte {
	b := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint16(b[0:], 2024)                                                       // m_packetFormat
	b[2], b[3], b[4], b[5], b[6] = 24, 1, 10, 1, id                                 // m_gameYear, major, minor, m_packetVersion, m_packetId
	le.PutUint64(b[7:], o.uid)                                                      // m_sessionUID
	le.PutUint32(b[15:], math.Float32bits(float32(float64(o.curNs-o.startNs)/1e9))) // m_sessionTime
	le.PutUint32(b[19:], o.frameID)                                                 // m_frameIdentifier
	le.PutUint32(b[23:], o.frameID)                                                 // m_overallFrameIdentifier
	b[27], b[28] = 0, 255                                                           // m_playerCarIndex, m_secondaryPlayerCarIndex
	return b
}

func putF32(b []byte, o int, v float64) {
	binary.LittleEndian.PutUint32(b[o:], math.Float32bits(float32(v)))
}

// f1Packet builds one of the per-car packets: Motion (0), Lap Data (2),
// Car Telemetry (6), Car Status (7).
func (o *udpOutput) f1Packet(id uint8) []byte {
	sizes := map[uint8][2]int{0: {1349, 60}, 2: {1285, 57}, 6: {1352, 60}, 7: {1239, 55}}
	b := o.f1Header(id, sizes[id][0])
	le := binary.LittleEndian
	for _, c := range o.cars {
		p := 29 + c.idx*sizes[id][1]
		v := c.vals
		switch id {
		case 0: // CarMotionData
			putF32(b, p, c.x)                       // m_worldPositionX
			putF32(b, p+8, c.z)                     // m_worldPositionZ
			putF32(b, p+36, v[telemetry.ChanGLat])  // m_gForceLateral
			putF32(b, p+40, v[telemetry.ChanGLong]) // m_gForceLongitudinal
			putF32(b, p+44, 1)                      // m_gForceVertical
		case 2: // LapData
			cur := int64(0)
			if c.laps > 0 {
				cur = (o.curNs - c.crossNs + 5e5) / 1e6
			}
			le.PutUint32(b[p:], uint32((c.lastLap+5e5)/1e6)) // m_lastLapTimeInMS
			le.PutUint32(b[p+4:], uint32(cur))               // m_currentLapTimeInMS
			b[p+32] = uint8(c.idx + 1)                       // m_carPosition
			b[p+33] = uint8(c.laps)                          // m_currentLapNum
			if v[telemetry.ChanPitLimiter] > 0.5 {
				b[p+34] = 1 // m_pitStatus: pitting
			}
			b[p+45] = 2 // m_resultStatus: active
		case 6: // CarTelemetryData
			le.PutUint16(b[p:], uint16(math.Round(v[telemetry.ChanSpeed])))  // m_speed
			putF32(b, p+2, v[telemetry.ChanThrottle]/100)                    // m_throttle
			putF32(b, p+6, -v[telemetry.ChanSteering]/540)                   // m_steer (positive right)
			putF32(b, p+10, math.Min(v[telemetry.ChanBrakeFront]/150, 1))    // m_brake
			b[p+15] = uint8(int8(v[telemetry.ChanGear]))                     // m_gear
			le.PutUint16(b[p+16:], uint16(math.Round(v[telemetry.ChanRPM]))) // m_engineRPM
		case 7: // CarStatusData
			if v[telemetry.ChanPitLimiter] > 0.5 {
				b[p+4] = 1 // m_pitLimiterStatus
			}
			putF32(b, p+5, v[telemetry.ChanFuel]*0.75) // m_fuelInTank, kg
		}
	}
	return b
}

// f1Participants builds the Participants packet: m_numActiveCars, then a
// ParticipantData per car with its race number and name.
func (o *udpOutput) f1Participants() []byte {
	b := o.f1Header(4, 1350)
	b[29] = uint8(len(o.cars))
	for _, c := range o.cars {
		p := 30 + c.idx*60
		b[p] = 1                     // m_aiControlled
		b[p+5] = uint8(c.raceNumber) // m_raceNumber
		copy(b[p+7:p+55], fmt.Sprintf("SIM DRIVER %d", c.raceNumber))
		b[p+55] = 1 // m_yourTelemetry: public
	}
	return b
}

// f1Session builds the Session packet, of which the track's length is set.
func (o *udpOutput) f1Session() []byte {
	b := o.f1Header(1, 753)
	b[29] = 0                                                              // m_weather: clear
	b[30], b[31] = 30, 22                                                  // track and air temperature
	binary.LittleEndian.PutUint16(b[33:], uint16(math.Round(o.tr.Length))) // m_trackLength
	b[35] = 10                                                             // m_sessionType: race
	b[36] = 0xff                                                           // m_trackId: -1, unknown (not a game circuit)
	return b
}

// forzaDash builds a Forza Motorsport 7 "Car Dash" packet (311 bytes).
func (o *udpOutput) forzaDash(c *gameCar) []byte {
	b := make([]byte, 311)
	le := binary.LittleEndian
	v := c.vals
	le.PutUint32(b[0:], 1)                                 // IsRaceOn
	le.PutUint32(b[4:], uint32((o.curNs-o.startNs)/1e6)+1) // TimestampMS
	putF32(b, 8, 9000)                                     // EngineMaxRpm
	putF32(b, 16, v[telemetry.ChanRPM])                    // CurrentEngineRpm
	putF32(b, 20, -v[telemetry.ChanGLat]*9.80665)          // AccelerationX (right)
	putF32(b, 28, v[telemetry.ChanGLong]*9.80665)          // AccelerationZ (forward)
	putF32(b, 232, c.x)                                    // PositionX
	putF32(b, 240, c.z)                                    // PositionZ
	putF32(b, 244, v[telemetry.ChanSpeed]/3.6)             // Speed, m/s
	putF32(b, 276, v[telemetry.ChanFuel]/120)              // Fuel, fraction
	if c.laps > 1 {
		putF32(b, 288, float64(c.lastLap)/1e9) // LastLap
	}
	if c.laps > 0 {
		putF32(b, 292, float64(o.curNs-c.crossNs)/1e9) // CurrentLap
		le.PutUint16(b[300:], uint16(c.laps))          // LapNumber: start/finish crossings so far
	}
	b[302] = 1                                                   // RacePosition
	b[303] = uint8(math.Round(v[telemetry.ChanThrottle] * 2.55)) // Accel
	b[304] = uint8(math.Round(math.Min(v[telemetry.ChanBrakeFront]/150, 1) * 255))
	gear := v[telemetry.ChanGear]
	if gear < 0 {
		gear = 0
	}
	b[307] = uint8(gear)
	b[308] = uint8(int8(math.Max(-127, math.Min(127, -v[telemetry.ChanSteering]/540*127))))
	return b
}
