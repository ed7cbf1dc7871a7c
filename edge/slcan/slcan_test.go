package slcan

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.einride.tech/can"

	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Frame
	}{
		{"t1230", Frame{ID: 0x123, Stamp: -1}},
		{"t12320102", Frame{ID: 0x123, Len: 2, Data: [8]byte{1, 2}, Stamp: -1}},
		{"t7FF8DEADBEEF01020304EA5F", Frame{ID: 0x7FF, Len: 8, Data: [8]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}, Stamp: 59999}},
		{"t1001ab0010", Frame{ID: 0x100, Len: 1, Data: [8]byte{0xab}, Stamp: 16}},
		{"T1FFFFFFF3AABBCC", Frame{ID: 0x1FFFFFFF, Extended: true, Len: 3, Data: [8]byte{0xaa, 0xbb, 0xcc}, Stamp: -1}},
		{"r1238", Frame{ID: 0x123, Remote: true, Len: 8, Stamp: -1}},
		{"r12380001", Frame{ID: 0x123, Remote: true, Len: 8, Stamp: 1}},
		{"R000001000", Frame{ID: 0x100, Extended: true, Remote: true, Stamp: -1}},
	} {
		got, err := ParseFrame([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("ParseFrame(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back := string(AppendFrame(nil, &got)); !strings.EqualFold(back, tc.in+"\r") {
			t.Errorf("AppendFrame(ParseFrame(%q)) = %q", tc.in, back)
		}
	}
	for _, bad := range []string{
		"", "x123", "t12", "t123", "t8001", "t1239", "t1232010", "t123201020", "t12320102EA60", "t12G0",
		"t1231zz", "T200000000", "T1FFFFFFF", "r1231FF", "R00000100800010", "t12320102030",
	} {
		if f, err := ParseFrame([]byte(bad)); !errors.Is(err, ErrBadFrame) {
			t.Errorf("ParseFrame(%q) = %+v, %v; want ErrBadFrame", bad, f, err)
		}
	}
}

func simDecoder(t testing.TB) *Decoder {
	t.Helper()
	dec, err := NewDecoder("pitwall.dbc", simulator.DBC, 100)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

// The simulator's DBC decodes what its encoder would put on the bus.
func TestDecoderWithSimulatorDBC(t *testing.T) {
	dec := simDecoder(t)
	cat := dec.Catalog("car44", "s1", 1)
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	speed, ok := cat.ByName(telemetry.ChanSpeed)
	if !ok || speed.Unit != "km/h" || speed.Max != 400 {
		t.Fatalf("speed channel: %+v %v", speed, ok)
	}
	steer, _ := cat.ByName(telemetry.ChanSteering)
	lat, _ := cat.ByName(telemetry.ChanGPSLat)
	lon, _ := cat.ByName(telemetry.ChanGPSLon)

	// ENGINE (0x100): rpm 0|16 unsigned, throttle 16|16 ×0.1, speed 32|16 ×0.1, steering 48|16 signed ×0.1.
	var d can.Data
	d.SetUnsignedBitsLittleEndian(0, 16, 7250)
	d.SetUnsignedBitsLittleEndian(16, 16, 873)
	d.SetUnsignedBitsLittleEndian(32, 16, 2518)
	d.SetSignedBitsLittleEndian(48, 16, -1234)
	got, err := dec.Decode(&Frame{ID: 0x100, Len: 8, Data: d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := map[int32]float64{}
	for _, s := range got {
		v[s.ID] = s.Value
	}
	if len(got) != 4 || math.Abs(v[speed.ID]-251.8) > 1e-9 || math.Abs(v[steer.ID]+123.4) > 1e-9 {
		t.Fatalf("ENGINE decoded to %v", got)
	}
	// GPS_POS (0x1A0): two signed 32-bit signals ×1e-7.
	d = can.Data{}
	d.SetSignedBitsLittleEndian(0, 32, 456201234)
	d.SetSignedBitsLittleEndian(32, 32, 92812345)
	got, _ = dec.Decode(&Frame{ID: 0x1A0, Len: 8, Data: d}, nil)
	if len(got) != 2 || got[0].ID != lat.ID || math.Abs(got[0].Value-45.6201234) > 1e-9 || got[1].ID != lon.ID || math.Abs(got[1].Value-9.2812345) > 1e-9 {
		t.Fatalf("GPS_POS decoded to %v", got)
	}
	if _, err := dec.Decode(&Frame{ID: 0x7AB, Len: 8}, nil); !errors.Is(err, ErrUnknownID) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := dec.Decode(&Frame{ID: 0x100, Len: 4}, nil); !errors.Is(err, ErrShortFrame) {
		t.Fatalf("short frame: %v", err)
	}
	if got, err := dec.Decode(&Frame{ID: 0x100, Remote: true, Len: 8}, nil); err != nil || len(got) != 0 {
		t.Fatalf("remote frame: %v %v", got, err)
	}
}

const muxDBC = `VERSION ""
NS_ :
BS_:
BU_: ECU
BO_ 500 MUXED: 8 ECU
 SG_ page M : 0|8@1+ (1,0) [0|3] "" Vector__XXX
 SG_ temp m0 : 8|16@1- (0.1,-40) [-40|200] "deg C" Vector__XXX
 SG_ press m1 : 8|16@1+ (0.01,0) [0|10] "bar" Vector__XXX
 SG_ be_val : 31|12@0+ (1,0) [0|0] "" Vector__XXX
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 10000;
BA_ "GenMsgCycleTime" BO_ 500 20;
`

// Multiplexed signals appear only for their page; big-endian signals,
// offsets, cycle times and unit clean-up work.
func TestDecoderMultiplexAndBigEndian(t *testing.T) {
	dec, err := NewDecoder("mux.dbc", []byte(muxDBC), 100)
	if err != nil {
		t.Fatal(err)
	}
	cat := dec.Catalog("c", "", 1)
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	temp, _ := cat.ByName("temp")
	be, _ := cat.ByName("be_val")
	if temp.RateHz != 50 || temp.Unit != "deg_C" || be.Max != 4095 {
		t.Fatalf("catalog: temp %+v, be_val %+v", temp, be)
	}
	var d can.Data
	d.SetUnsignedBitsLittleEndian(0, 8, 0) // page 0: temp
	d.SetSignedBitsLittleEndian(8, 16, 1000)
	d.SetUnsignedBitsBigEndian(31, 12, 0xABC)
	got, err := dec.Decode(&Frame{ID: 500, Len: 8, Data: d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []telemetry.Sample{{ID: 0, Value: 0}, {ID: temp.ID, Value: 60}, {ID: be.ID, Value: 0xABC}}
	if len(got) != 3 || got[0] != want[0] || math.Abs(got[1].Value-60) > 1e-9 || got[2] != want[2] {
		t.Fatalf("page 0 decoded to %v, want %v", got, want)
	}
	d.SetUnsignedBitsLittleEndian(0, 8, 1) // page 1: press
	got, _ = dec.Decode(&Frame{ID: 500, Len: 8, Data: d}, nil)
	press, _ := cat.ByName("press")
	if len(got) != 3 || got[1].ID != press.ID || math.Abs(got[1].Value-10) > 1e-9 {
		t.Fatalf("page 1 decoded to %v", got)
	}
}

func TestBadDBC(t *testing.T) {
	for name, src := range map[string]string{
		"syntax":    "BO_ x",
		"empty":     `VERSION ""`,
		"fd":        "BO_ 1 BIG: 64 ECU\n SG_ a : 0|8@1+ (1,0) [0|1] \"\" Vector__XXX\n",
		"overflow":  "BO_ 1 M: 8 ECU\n SG_ a : 60|8@1+ (1,0) [0|1] \"\" Vector__XXX\n",
		"no factor": "BO_ 1 M: 8 ECU\n SG_ a : 0|8@1+ (0,0) [0|1] \"\" Vector__XXX\n",
	} {
		if _, err := NewDecoder(name, []byte(src), 100); !errors.Is(err, ErrDBC) {
			t.Errorf("%s: %v, want ErrDBC", name, err)
		}
	}
}

// sink records what a stream hands on.
type sink struct {
	frames   []telemetry.Frame
	catalogs int
	bad      map[string]int
	notes    map[string]int
	flushes  int
}

func newSink() *sink { return &sink{bad: map[string]int{}, notes: map[string]int{}} }

func (s *sink) Frame(f *telemetry.Frame, _ time.Time) error {
	if err := f.Validate(); err != nil {
		return err
	}
	cp := *f
	cp.Samples = slices.Clone(f.Samples)
	s.frames = append(s.frames, cp)
	return nil
}
func (s *sink) Catalog(*telemetry.ChannelCatalog, time.Time) error { s.catalogs++; return nil }
func (s *sink) Bad(reason string, _ []byte, _ error, _ time.Time)  { s.bad[reason]++ }
func (s *sink) Note(event string, _ error)                         { s.notes[event]++ }
func (s *sink) Up(bool, error)                                     {}
func (s *sink) Flush() error                                       { s.flushes++; return nil }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestStream(t testing.TB, sk Sink) *stream {
	src, err := New(Config{Path: "x", Decoder: simDecoder(t), Car: "car44", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	st := newStream(src.cfg, sk, quiet())
	st.opened()
	return st
}

// The stream merges frames with one timestamp, matches replies to the
// open sequence, counts error replies, unknown ids and garbage, and goes
// on decoding after each.
func TestStream(t *testing.T) {
	sk := newSink()
	st := newTestStream(t, sk)
	recv := time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC) // 30 000 ms into the minute
	input := "0203040506077530\r" +                       // tail of a record sent before we opened: resync
		"\r\r\a\r" + // C ok, S ok, Z refused, O ok
		"t10080100000000000000" + "7530\r" + // ENGINE at 30 000 ms
		"t11080000000000000000" + "7530\r" + // BRAKES_IMU, same stamp: same frame
		"t7AB0" + "7530\r" + // unknown id
		"t1004000000007531\r" + // ENGINE, 4 bytes: short frame
		"garbage\r" + // not SLCAN
		"F04\r" + "F00\r" + // status: an error flag, then none
		"t1308E803E803E803E803" + "7531\r" // DAMPERS at 30 001 ms: next frame
	// Feed in awkward pieces.
	for i := 0; i < len(input); i += 7 {
		st.feed([]byte(input[i:min(i+7, len(input))]), recv)
	}
	st.idle(recv)
	if len(sk.frames) != 2 {
		t.Fatalf("%d frames, want 2: %+v", len(sk.frames), sk.frames)
	}
	f0, f1 := sk.frames[0], sk.frames[1]
	if len(f0.Samples) != 8 || f0.TimeNs != recv.UnixNano() || f0.Car != "car44" {
		t.Fatalf("first frame: %+v", f0)
	}
	if len(f1.Samples) != 4 || f1.TimeNs != recv.Add(time.Millisecond).UnixNano() || f1.Seq != f0.Seq+1 || f1.Samples[0].Value != 10 {
		t.Fatalf("second frame: %+v", f1)
	}
	if sk.bad[ReasonShortFrame] != 1 || sk.bad[ReasonMalformed] != 1 || len(sk.bad) != 2 {
		t.Fatalf("bad input: %v", sk.bad)
	}
	if sk.notes[EventErrorReply] != 1 || sk.notes[EventUnknownID] != 1 || sk.notes[EventStatus] != 1 || sk.notes[EventResync] != 1 {
		t.Fatalf("notes: %v", sk.notes)
	}
	if len(st.pending) != 0 {
		t.Fatalf("unanswered commands: %v", st.pending)
	}
}

func TestSensorTimeWraps(t *testing.T) {
	recv := time.Date(2024, 5, 1, 12, 0, 59, 900e6, time.UTC) // 59 900 ms
	for stamp, want := range map[int32]time.Time{
		59890: recv.Add(-10 * time.Millisecond),
		50:    recv.Add(150 * time.Millisecond), // wrapped into the next minute
		30000: recv.Add(-29900 * time.Millisecond),
	} {
		if got := sensorTime(stamp, recv); got != want.UnixNano() {
			t.Errorf("stamp %d: %v, want %v", stamp, time.Unix(0, got).UTC(), want)
		}
	}
	if got := sensorTime(-1, recv); got != recv.UnixNano() {
		t.Errorf("no stamp: %v", got)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	dec := simDecoder(t)
	for _, cfg := range []Config{
		{Path: "x", Decoder: dec},
		{Path: "x", Car: "c"},
		{Decoder: dec, Car: "c"},
		{Path: "x", Decoder: dec, Car: "c", Bitrate: 33000},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}
