package udp

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/source/sourcetest"
	"github.com/pitwall/pitwall/telemetry"
)

// A Lap Data packet assembled byte by byte from the F1 24 specification's
// tables (not by the simulator's encoder): the header's fields and car
// 1's LapData entry decode to what was written where the spec puts them.
func TestF1LapDataByteLayout(t *testing.T) {
	b := make([]byte, 1285) // "Size: 1285 bytes"
	copy(b, []byte{
		0xE8, 0x07, // m_packetFormat 2024
		24, 1, 7, // m_gameYear, m_gameMajorVersion, m_gameMinorVersion
		1, 2, // m_packetVersion, m_packetId (Lap Data)
		0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01, // m_sessionUID
		0x00, 0x00, 0x48, 0x41, // m_sessionTime 12.5 (float32)
		0x04, 0x03, 0x02, 0x01, // m_frameIdentifier
		0x05, 0x03, 0x02, 0x01, // m_overallFrameIdentifier
		3, 255, // m_playerCarIndex, m_secondaryPlayerCarIndex
	})
	car := b[29+57 : 29+2*57] // LapData[1]
	copy(car, []byte{
		0x00, 0x46, 0x01, 0x00, // m_lastLapTimeInMS 83456
		0xD2, 0x04, 0x00, 0x00, // m_currentLapTimeInMS 1234
		0x10, 0x27, 0, // sector 1: 10000 ms, 0 min
		0x20, 0x4E, 0, // sector 2: 20000 ms, 0 min
		0, 0, 0, 0, 0, 0, // deltas to the car in front and the leader
		0x00, 0x00, 0xC9, 0x42, // m_lapDistance 100.5
		0x00, 0x00, 0x7A, 0x44, // m_totalDistance 1000
		0, 0, 0, 0, // m_safetyCarDelta
		7, 3, 2, 1, 1, 1, // m_carPosition, m_currentLapNum, m_pitStatus, m_numPitStops, m_sector, m_currentLapInvalid
		0, 0, 0, 0, 0, 4, 1, 2, // penalties, warnings, corner cutting, unserved x2, m_gridPosition, m_driverStatus, m_resultStatus
	})
	h, err := ParseF1Header(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != 2024 || h.GameYear != 24 || h.PacketID != F1PacketLapData || h.SessionUID != 0x0123456789ABCDEF ||
		h.SessionTime != 12.5 || h.FrameID != 0x01020304 || h.PlayerCar != 3 {
		t.Fatalf("header %+v", h)
	}
	l := F1CarLapAt(b, 1)
	want := F1CarLap{LastLapMs: 83456, CurrentLapMs: 1234, LapDistance: 100.5, CarPosition: 7, LapNum: 3, PitStatus: 2,
		Sector: 1, LapInvalid: 1, ResultStatus: 2}
	if l != want {
		t.Fatalf("car 1's lap data %+v, want %+v", l, want)
	}
	if l0 := F1CarLapAt(b, 0); l0 != (F1CarLap{}) {
		t.Fatalf("car 0's lap data %+v, want zeros", l0)
	}
}

// The other packets' sizes and a field of each, at the spec's offsets.
func TestF1PacketLayouts(t *testing.T) {
	hdr := func(id uint8, size int) []byte {
		b := make([]byte, size)
		binary.LittleEndian.PutUint16(b, 2024)
		b[6] = id
		return b
	}
	m := hdr(F1PacketMotion, 1349)
	binary.LittleEndian.PutUint32(m[29+2*60+8:], math.Float32bits(-321.25)) // car 2's m_worldPositionZ
	binary.LittleEndian.PutUint32(m[29+2*60+36:], math.Float32bits(1.5))    // its m_gForceLateral
	if _, err := ParseF1Header(m); err != nil {
		t.Fatal(err)
	}
	if mo := F1CarMotionAt(m, 2); mo.Z != -321.25 || mo.GLat != 1.5 {
		t.Fatalf("motion %+v", mo)
	}
	ct := hdr(F1PacketCarTelemetry, 1352)
	c := ct[29+60*5:]
	binary.LittleEndian.PutUint16(c, 312)                     // m_speed
	binary.LittleEndian.PutUint32(c[2:], math.Float32bits(1)) // m_throttle
	c[15] = 0xFF                                              // m_gear -1
	binary.LittleEndian.PutUint16(c[16:], 11800)              // m_engineRPM
	c[18] = 1                                                 // m_drs
	if te := F1CarTelemetryAt(ct, 5); te.SpeedKmh != 312 || te.Throttle != 1 || te.Gear != -1 || te.RPM != 11800 || te.DRS != 1 {
		t.Fatalf("telemetry %+v", te)
	}
	st := hdr(F1PacketCarStatus, 1239)
	st[29+55*21+4] = 1 // car 21's m_pitLimiterStatus
	binary.LittleEndian.PutUint32(st[29+55*21+5:], math.Float32bits(42.5))
	if s := F1CarStatusAt(st, 21); s.PitLimiter != 1 || s.FuelKg != 42.5 {
		t.Fatalf("status %+v", s)
	}
	p := hdr(F1PacketParticipants, 1350)
	p[29] = 2
	p[30+60+5] = 44 // car 1's m_raceNumber
	copy(p[30+60+7:], "HAMILTON")
	n, ps := F1Participants(p)
	if n != 2 || ps[1].RaceNumber != 44 || ps[1].Name != "HAMILTON" {
		t.Fatalf("participants %d %+v", n, ps[1])
	}
	s := hdr(F1PacketSession, 753)
	binary.LittleEndian.PutUint16(s[33:], 5793) // m_trackLength
	s[36] = 11                                  // m_trackId: Monza
	if si := ParseF1Session(s); si.TrackLength != 5793 || si.TrackID != 11 {
		t.Fatalf("session %+v", si)
	}
	for _, bad := range [][]byte{m[:1348], ct[:100], append(st, 0)} {
		if _, err := ParseF1Header(bad); err == nil {
			t.Fatalf("a %d-byte packet of id %d was taken", len(bad), bad[6])
		}
	}
}

// f1Packet is a packet of the given type at session time ts and frame
// id, for the stream tests.
func f1Packet(id uint8, ts float32, frame uint32) []byte {
	sizes := map[uint8]int{0: 1349, 1: 753, 2: 1285, 3: 45, 4: 1350, 6: 1352, 7: 1239}
	b := make([]byte, sizes[id])
	binary.LittleEndian.PutUint16(b, 2024)
	b[2], b[6] = 24, id
	binary.LittleEndian.PutUint64(b[7:], 77)
	binary.LittleEndian.PutUint32(b[15:], math.Float32bits(ts))
	binary.LittleEndian.PutUint32(b[19:], frame)
	return b
}

// Two cars: each is its own key (prefix + race number) with its own
// catalog; a game frame's packets make one frame per car at the
// session's time; a lap counter that moves on makes a frame at the
// crossing (the packet's time less the current lap time) with the
// game's lap time; car packets before the participants are counted and
// skipped; bad packets are reported by reason.
func TestF1Stream(t *testing.T) {
	sk := sourcetest.New()
	st := newF1Stream("car", "", 20, sk, quiet())
	recv := time.Unix(1_800_000_000, 0)
	st.packet(f1Packet(F1PacketMotion, 10, 200), recv) // before the participants
	if sk.Events[EventNoParticipants] != 1 {
		t.Fatalf("events %v", sk.Events)
	}
	p := f1Packet(F1PacketParticipants, 10, 200)
	p[29] = 2
	p[30+5], p[30+60+5] = 16, 55
	st.packet(p, recv)
	for frame, ts := range []float32{10, 10.05, 10.1} {
		lap := f1Packet(F1PacketLapData, ts, 201+uint32(frame))
		binary.LittleEndian.PutUint32(lap[29+57+4:], 1200+50*uint32(frame))
		lap[29+33], lap[29+57+33] = 1, 4 // car 1 on lap 4...
		if frame == 2 {
			lap[29+57+33] = 5                                 // ...then lap 5, crossed 20 ms ago
			binary.LittleEndian.PutUint32(lap[29+57:], 90123) // m_lastLapTimeInMS
			binary.LittleEndian.PutUint32(lap[29+57+4:], 20)  // m_currentLapTimeInMS
		}
		mo := f1Packet(F1PacketMotion, ts, 201+uint32(frame))
		binary.LittleEndian.PutUint32(mo[29:], math.Float32bits(float32(frame))) // car 0's x
		st.packet(lap, recv)
		st.packet(mo, recv)
	}
	st.idle(recv)
	anchor := recv.UnixNano() - 10e9
	var keys []string
	for _, c := range sk.Catalogs {
		keys = append(keys, c.Car)
	}
	if len(keys) != 2 || keys[0] != "car16" || keys[1] != "car55" {
		t.Fatalf("catalogs of %v", keys)
	}
	byCar := map[string][]telemetry.Frame{}
	for _, f := range sk.Frames {
		byCar[f.Car] = append(byCar[f.Car], f)
	}
	if len(byCar["car16"]) != 3 || len(byCar["car55"]) != 4 {
		t.Fatalf("frames: car16 %d, car55 %d; want 3 and 4 (one a lap marker)", len(byCar["car16"]), len(byCar["car55"]))
	}
	for i, f := range byCar["car16"] {
		if want := anchor + int64(math.Round(float64([]float32{10, 10.05, 10.1}[i])*1e9)); f.TimeNs != want {
			t.Fatalf("car16 frame %d at %d, want %d", i, f.TimeNs, want)
		}
		if x, _ := f.Value(f1PosX); x != float64(i) {
			t.Fatalf("car16 frame %d x %v", i, x)
		}
	}
	mark := byCar["car55"][2]
	dl, ok1 := mark.Value(f1DeviceLap)
	ll, ok2 := mark.Value(f1LastLap)
	wantNs := anchor + int64(math.Round(float64(float32(10.1))*1e9)) - 20e6
	if !ok1 || !ok2 || dl != 5 || ll != 90.123 || mark.TimeNs != wantNs || len(mark.Samples) != 2 {
		t.Fatalf("lap marker %+v, want device_lap 5, last_lap_time 90.123 at %d", mark, wantNs)
	}
	if mark.Session != "f1-000000000000004d" {
		t.Fatalf("session %q", mark.Session)
	}

	// Bad packets.
	nan := f1Packet(F1PacketMotion, 11, 300)
	binary.LittleEndian.PutUint32(nan[29:], math.Float32bits(float32(math.NaN())))
	other := f1Packet(F1PacketMotion, 11, 300)
	binary.LittleEndian.PutUint16(other, 2023)
	for _, b := range [][]byte{nan, other, f1Packet(F1PacketLapData, 11, 300)[:900], []byte("hello"), f1Packet(3, 11, 300)} {
		st.packet(b, recv)
	}
	want := map[string]int{source.ReasonInvalid: 1, source.ReasonUnknownFormat: 1, source.ReasonMalformed: 2}
	for k, v := range want {
		if sk.Reasons[k] != v {
			t.Fatalf("bad input %v, want %v (an event packet is ignored)", sk.Reasons, want)
		}
	}
}

// FuzzF1: whatever datagrams arrive, no panic and only valid frames.
func FuzzF1(f *testing.F) {
	p := f1Packet(F1PacketParticipants, 1, 1)
	p[29] = 22
	f.Add(p, f1Packet(F1PacketLapData, 1, 1), f1Packet(F1PacketMotion, 2, 2))
	f.Add([]byte{0xE8, 0x07}, []byte("x"), f1Packet(F1PacketCarTelemetry, 1, 1))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		sk := sourcetest.New()
		st := newF1Stream("car", "", 20, sk, quiet())
		recv := time.Unix(1_800_000_000, 0)
		for _, d := range [][]byte{a, b, c, b, a} {
			st.packet(d, recv)
		}
		st.idle(recv)
		if len(sk.Frames) > 0 && len(sk.Catalogs) == 0 {
			t.Fatal("frames without a catalog")
		}
	})
}
