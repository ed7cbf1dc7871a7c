package slcan

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/can"
	"github.com/pitwall/pitwall/edge/serial"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/source/sourcetest"
	"github.com/pitwall/pitwall/simulator"
)

func TestParseFrame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want can.Frame
	}{
		{"t1230", can.Frame{ID: 0x123, Stamp: -1}},
		{"t12320102", can.Frame{ID: 0x123, Len: 2, Data: [8]byte{1, 2}, Stamp: -1}},
		{"t7FF8DEADBEEF01020304EA5F", can.Frame{ID: 0x7FF, Len: 8, Data: [8]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}, Stamp: 59999}},
		{"t1001ab0010", can.Frame{ID: 0x100, Len: 1, Data: [8]byte{0xab}, Stamp: 16}},
		{"T1FFFFFFF3AABBCC", can.Frame{ID: 0x1FFFFFFF, Extended: true, Len: 3, Data: [8]byte{0xaa, 0xbb, 0xcc}, Stamp: -1}},
		{"r1238", can.Frame{ID: 0x123, Remote: true, Len: 8, Stamp: -1}},
		{"r12380001", can.Frame{ID: 0x123, Remote: true, Len: 8, Stamp: 1}},
		{"R000001000", can.Frame{ID: 0x100, Extended: true, Remote: true, Stamp: -1}},
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

func simDecoder(t testing.TB) *can.Decoder {
	t.Helper()
	dec, err := can.NewDecoder("pitwall.dbc", simulator.DBC, 100)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestStream(t testing.TB, sk source.Sink) *stream {
	src, err := New(Config{Port: serial.Port{Path: "x"}, Decoder: simDecoder(t), Car: "car44", Logger: quiet()})
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
	sk := sourcetest.New()
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
	if len(sk.Frames) != 2 {
		t.Fatalf("%d frames, want 2: %+v", len(sk.Frames), sk.Frames)
	}
	f0, f1 := sk.Frames[0], sk.Frames[1]
	if len(f0.Samples) != 8 || f0.TimeNs != recv.UnixNano() || f0.Car != "car44" {
		t.Fatalf("first frame: %+v", f0)
	}
	if len(f1.Samples) != 4 || f1.TimeNs != recv.Add(time.Millisecond).UnixNano() || f1.Seq != f0.Seq+1 || f1.Samples[0].Value != 10 {
		t.Fatalf("second frame: %+v", f1)
	}
	if sk.Reasons[source.ReasonShortFrame] != 1 || sk.Reasons[source.ReasonMalformed] != 1 || len(sk.Reasons) != 2 {
		t.Fatalf("bad input: %v", sk.Reasons)
	}
	if sk.Events[source.EventErrorReply] != 1 || sk.Events[source.EventUnknownID] != 1 || sk.Events[source.EventStatus] != 1 || sk.Events[source.EventResync] != 1 {
		t.Fatalf("notes: %v", sk.Events)
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
		{Port: serial.Port{Path: "x"}, Decoder: dec},
		{Port: serial.Port{Path: "x"}, Car: "c"},
		{Decoder: dec, Car: "c"},
		{Port: serial.Port{Path: "x"}, Decoder: dec, Car: "c", Bitrate: 33000},
		{Port: serial.Port{Path: "x", Baud: -1}, Decoder: dec, Car: "c"},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}
