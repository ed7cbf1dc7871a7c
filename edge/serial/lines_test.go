package serial

import (
	"bytes"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/source/sourcetest"
	"github.com/pitwall/pitwall/telemetry"
)

func frameLine(t testing.TB, car string, seq int64) []byte {
	f := telemetry.Frame{Car: car, Seq: seq, TimeNs: 1e18 + seq, Samples: []telemetry.Sample{{ID: 0, Value: float64(seq)}, {ID: 2, Value: 1.5}}}
	l, err := telemetry.AppendFrameLine(nil, &f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func channelLines(t testing.TB, car, session string) []byte {
	var out []byte
	for i, name := range []string{"speed", "rpm"} {
		l, err := telemetry.AppendChannelLine(nil, &telemetry.ChannelLine{Car: car, Session: session, Index: i + 1, Count: 2,
			Channel: telemetry.Channel{ID: int32(2 * i), Name: name, RateHz: 100, Max: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l...)
	}
	return out
}

// Lines split across reads, a resync after opening, catalogs assembled
// and stamped on frames, repeats not handed on twice, every kind of bad
// line counted once.
func TestLineDecoder(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("F,car01,3,4*1234\r\n")      // the tail of a line from before we opened
	in.Write(frameLine(t, "car01", 1))          // before the catalog: no session
	in.Write(channelLines(t, "car01", "s1"))    // the catalog
	in.Write(frameLine(t, "car01", 2))          // session s1
	in.Write(channelLines(t, "car01", "s1"))    // announced again: handed on again (the edge drops repeats)
	in.WriteString("$PWF,car01,1,2,3=4*0000\n") // checksum
	in.WriteString("not a line\n")              // malformed
	in.Write(frameLine(t, "car02", 1))          // another car, accepted without car=
	in.WriteString("\r\n\n")                    // empty lines: nothing
	in.Write(frameLine(t, "car01", 3))

	for _, step := range []int{1, 7, 4096} {
		d, sk := newLineDecoder(""), sourcetest.New()
		b := in.Bytes()
		for i := 0; i < len(b); i += step {
			d.feed(b[i:min(i+step, len(b))], time.Unix(0, 0), sk)
		}
		if len(sk.Frames) != 4 || sk.Frames[0].Session != "" || sk.Frames[1].Session != "s1" || sk.Frames[3].Seq != 3 || sk.Frames[2].Car != "car02" {
			t.Fatalf("step %d: frames %+v", step, sk.Frames)
		}
		if len(sk.Catalogs) != 2 || len(sk.Catalogs[0].Channels) != 2 || sk.Catalogs[0].Session != "s1" {
			t.Fatalf("step %d: catalogs %+v", step, sk.Catalogs)
		}
		if sk.Reasons[source.ReasonChecksum] != 1 || sk.Reasons[source.ReasonMalformed] != 1 || len(sk.Reasons) != 2 || sk.Events[source.EventResync] != 1 {
			t.Fatalf("step %d: bad %v notes %v", step, sk.Reasons, sk.Events)
		}
	}
}

func TestLineDecoderWrongCarAndLongLines(t *testing.T) {
	d, sk := newLineDecoder("car01"), sourcetest.New()
	var in []byte
	in = append(in, frameLine(t, "car02", 1)...)
	in = append(in, channelLines(t, "car02", "")...)
	in = append(in, bytes.Repeat([]byte{'x'}, telemetry.MaxLineLen+1)...)
	in = append(in, "tail\n"...)
	in = append(in, frameLine(t, "car01", 1)...)
	d.resync()
	d.feed(frameLine(t, "car01", 0), time.Unix(0, 0), sk) // starts at '$': no resync
	for i := 0; i < len(in); i += 1000 {
		d.feed(in[i:min(i+1000, len(in))], time.Unix(0, 0), sk)
	}
	if len(sk.Frames) != 2 || sk.Reasons[source.ReasonWrongCar] != 3 || sk.Reasons[source.ReasonTooLong] != 1 || sk.Events[source.EventResync] != 0 {
		t.Fatalf("frames %d, bad %v, notes %v", len(sk.Frames), sk.Reasons, sk.Events)
	}
}

// FuzzLines: whatever arrives on the port, in whatever pieces, the decoder
// neither panics nor hands on an invalid frame or catalog.
func FuzzLines(f *testing.F) {
	var seed []byte
	seed = append(seed, channelLines(f, "car01", "s")...)
	seed = append(seed, frameLine(f, "car01", 1)...)
	seed = append(seed, "$PWF,car01,1,2,3=4*0000\r\ngarbage\n"...)
	f.Add(seed, 13)
	f.Add([]byte("$PWC,a,,1,1,0,x,,1,0,1*0000\n$$$\n\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, step int) {
		if step <= 0 || step > len(in) {
			step = len(in) + 1
		}
		d, sk := newLineDecoder(""), sourcetest.New()
		for i := 0; i < len(in); i += step {
			d.feed(in[i:min(i+step, len(in))], time.Unix(0, 0), sk)
		}
		for _, fr := range sk.Frames {
			if fr.Validate() != nil || len(fr.Samples) == 0 {
				t.Fatalf("invalid frame: %+v", fr)
			}
		}
	})
}
