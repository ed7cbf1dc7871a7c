package udp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The F1 24 game's UDP telemetry ("F1 24 UDP Specification", EA/
// Codemasters): packed little-endian structs, one packet per datagram,
// each opening with a 29-byte header. The packets read here, their ids
// and their sizes (header included):
const (
	F1Format = 2024 // m_packetFormat of F1 24

	F1HeaderLen = 29

	F1PacketMotion       = 0 // CarMotionData[22], 60 bytes each
	F1PacketSession      = 1
	F1PacketLapData      = 2 // LapData[22], 57 bytes each, + 2 time-trial indices
	F1PacketParticipants = 4 // m_numActiveCars + ParticipantData[22], 60 bytes each
	F1PacketCarTelemetry = 6 // CarTelemetryData[22], 60 bytes each, + 3
	F1PacketCarStatus    = 7 // CarStatusData[22], 55 bytes each

	F1Cars = 22 // every car array has 22 entries

	f1MotionLen       = F1HeaderLen + F1Cars*60     // 1349
	f1SessionLen      = 753                         // the session packet, of which the first fields are read
	f1LapDataLen      = F1HeaderLen + F1Cars*57 + 2 // 1285
	f1ParticipantsLen = F1HeaderLen + 1 + F1Cars*60 // 1350
	f1TelemetryLen    = F1HeaderLen + F1Cars*60 + 3 // 1352
	f1StatusLen       = F1HeaderLen + F1Cars*55     // 1239

	f1MaxPacketID = 14 // F1 24's last packet type (time trial)
)

// f1Sizes are the sizes of the packets read, by id.
var f1Sizes = map[uint8]int{
	F1PacketMotion: f1MotionLen, F1PacketSession: f1SessionLen, F1PacketLapData: f1LapDataLen,
	F1PacketParticipants: f1ParticipantsLen, F1PacketCarTelemetry: f1TelemetryLen, F1PacketCarStatus: f1StatusLen,
}

// Errors of the packet decoders; the source maps them to dead-letter
// reasons.
var (
	// ErrShort: fewer (or more) bytes than the packet's type has.
	ErrShort = errors.New("udp: packet size does not match its type")
	// ErrFormat: not a packet of the game the input expects (another
	// F1 year, another game, garbage).
	ErrFormat = errors.New("udp: not a packet of this format")
	// ErrIgnored: a well-formed packet of a type the source does not read.
	ErrIgnored = errors.New("udp: packet type not read")
)

// F1Header is a packet's header.
type F1Header struct {
	Format        uint16
	GameYear      uint8
	PacketVersion uint8
	PacketID      uint8
	SessionUID    uint64
	SessionTime   float32 // seconds since the session started
	FrameID       uint32
	PlayerCar     uint8
}

// ParseF1Header reads the header of an F1 24 packet and checks the
// packet's size against its type. Errors wrap ErrFormat, ErrShort or
// ErrIgnored.
func ParseF1Header(b []byte) (F1Header, error) {
	if len(b) < F1HeaderLen {
		return F1Header{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrShort, len(b), F1HeaderLen)
	}
	h := F1Header{
		Format: le16(b, 0), GameYear: b[2], PacketVersion: b[5], PacketID: b[6],
		SessionUID: binary.LittleEndian.Uint64(b[7:]), SessionTime: lef32(b, 15),
		FrameID: le32(b, 19), PlayerCar: b[27],
	}
	if h.Format != F1Format {
		return h, fmt.Errorf("%w: packet format %d, want %d (F1 24)", ErrFormat, h.Format, F1Format)
	}
	if h.PacketID > f1MaxPacketID {
		return h, fmt.Errorf("%w: packet id %d", ErrFormat, h.PacketID)
	}
	if !finite32(h.SessionTime) || h.SessionTime < 0 {
		return h, fmt.Errorf("%w: session time %v", ErrFormat, h.SessionTime)
	}
	want, ok := f1Sizes[h.PacketID]
	if !ok {
		return h, fmt.Errorf("%w: id %d", ErrIgnored, h.PacketID)
	}
	if len(b) != want {
		return h, fmt.Errorf("%w: packet id %d of %d bytes, want %d", ErrShort, h.PacketID, len(b), want)
	}
	return h, nil
}

// F1PacketMotion is one car's CarMotionData, the fields read.
type F1CarMotion struct {
	X, Y, Z            float32 // world position, metres (y is up)
	GLat, GLong, GVert float32
}

// F1CarMotionAt reads car i's entry of a motion packet.
func F1CarMotionAt(b []byte, i int) F1CarMotion {
	o := F1HeaderLen + i*60
	return F1CarMotion{X: lef32(b, o), Y: lef32(b, o+4), Z: lef32(b, o+8),
		GLat: lef32(b, o+36), GLong: lef32(b, o+40), GVert: lef32(b, o+44)}
}

// F1CarLap is one car's LapData, the fields read.
type F1CarLap struct {
	LastLapMs    uint32
	CurrentLapMs uint32
	LapDistance  float32
	CarPosition  uint8
	LapNum       uint8
	PitStatus    uint8 // 0 none, 1 pitting, 2 in the pit area
	Sector       uint8
	LapInvalid   uint8
	ResultStatus uint8 // 0 invalid, 1 inactive, 2 active, 3 finished...
}

// F1CarLapAt reads car i's entry of a lap data packet.
func F1CarLapAt(b []byte, i int) F1CarLap {
	o := F1HeaderLen + i*57
	return F1CarLap{LastLapMs: le32(b, o), CurrentLapMs: le32(b, o+4), LapDistance: lef32(b, o+20),
		CarPosition: b[o+32], LapNum: b[o+33], PitStatus: b[o+34], Sector: b[o+36], LapInvalid: b[o+37],
		ResultStatus: b[o+45]}
}

// F1CarTelemetry is one car's CarTelemetryData, the fields read.
type F1CarTelemetry struct {
	SpeedKmh uint16
	Throttle float32 // 0-1
	Steer    float32 // -1 (full left) to 1
	Brake    float32 // 0-1
	Gear     int8    // -1 reverse, 0 neutral
	RPM      uint16
	DRS      uint8
}

// F1CarTelemetryAt reads car i's entry of a car telemetry packet.
func F1CarTelemetryAt(b []byte, i int) F1CarTelemetry {
	o := F1HeaderLen + i*60
	return F1CarTelemetry{SpeedKmh: le16(b, o), Throttle: lef32(b, o+2), Steer: lef32(b, o+6), Brake: lef32(b, o+10),
		Gear: int8(b[o+15]), RPM: le16(b, o+16), DRS: b[o+18]}
}

// F1CarStatus is one car's CarStatusData, the fields read.
type F1CarStatus struct {
	PitLimiter uint8
	FuelKg     float32
}

// F1CarStatusAt reads car i's entry of a car status packet.
func F1CarStatusAt(b []byte, i int) F1CarStatus {
	o := F1HeaderLen + i*55
	return F1CarStatus{PitLimiter: b[o+4], FuelKg: lef32(b, o+5)}
}

// F1Participant is one car's ParticipantData, the fields read.
type F1Participant struct {
	AI         uint8
	TeamID     uint8
	RaceNumber uint8
	Name       string
}

// F1Participants reads a participants packet: how many cars are active
// and each one's entry.
func F1Participants(b []byte) (active int, cars [F1Cars]F1Participant) {
	active = min(int(b[F1HeaderLen]), F1Cars)
	for i := range cars {
		o := F1HeaderLen + 1 + i*60
		name := b[o+7 : o+55]
		n := 0
		for n < len(name) && name[n] != 0 {
			n++
		}
		cars[i] = F1Participant{AI: b[o], TeamID: b[o+3], RaceNumber: b[o+5], Name: string(name[:n])}
	}
	return active, cars
}

// F1SessionInfo is the first fields of a session packet.
type F1SessionInfo struct {
	TotalLaps   uint8
	TrackLength uint16 // metres
	SessionType uint8
	TrackID     int8 // -1 unknown; 11 Monza, 7 Silverstone...
}

// ParseF1Session reads a session packet's first fields.
func ParseF1Session(b []byte) F1SessionInfo {
	return F1SessionInfo{TotalLaps: b[32], TrackLength: le16(b, 33), SessionType: b[35], TrackID: int8(b[36])}
}

func le16(b []byte, o int) uint16   { return binary.LittleEndian.Uint16(b[o:]) }
func le32(b []byte, o int) uint32   { return binary.LittleEndian.Uint32(b[o:]) }
func lef32(b []byte, o int) float32 { return math.Float32frombits(le32(b, o)) }

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
