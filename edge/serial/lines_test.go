package serial

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// sink records what the decoder hands on.
type sink struct {
	frames   []telemetry.Frame
	catalogs []telemetry.ChannelCatalog
	bad      map[string]int
	notes    map[string]int
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

func (s *sink) Catalog(c *telemetry.ChannelCatalog, _ time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	s.catalogs = append(s.catalogs, *c)
	return nil
}
func (s *sink) Bad(reason string, _ []byte, _ error, _ time.Time) { s.bad[reason]++ }
func (s *sink) Note(event string, _ error)                        { s.notes[event]++ }
func (s *sink) Up(bool, error)                                    {}
func (s *sink) Flush() error                                      { return nil }

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
		d, sk := newLineDecoder(""), newSink()
		b := in.Bytes()
		for i := 0; i < len(b); i += step {
			d.feed(b[i:min(i+step, len(b))], time.Unix(0, 0), sk)
		}
		if len(sk.frames) != 4 || sk.frames[0].Session != "" || sk.frames[1].Session != "s1" || sk.frames[3].Seq != 3 || sk.frames[2].Car != "car02" {
			t.Fatalf("step %d: frames %+v", step, sk.frames)
		}
		if len(sk.catalogs) != 2 || len(sk.catalogs[0].Channels) != 2 || sk.catalogs[0].Session != "s1" {
			t.Fatalf("step %d: catalogs %+v", step, sk.catalogs)
		}
		if sk.bad[ReasonChecksum] != 1 || sk.bad[ReasonMalformed] != 1 || len(sk.bad) != 2 || sk.notes["resync"] != 1 {
			t.Fatalf("step %d: bad %v notes %v", step, sk.bad, sk.notes)
		}
	}
}

func TestLineDecoderWrongCarAndLongLines(t *testing.T) {
	d, sk := newLineDecoder("car01"), newSink()
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
	if len(sk.frames) != 2 || sk.bad[ReasonWrongCar] != 3 || sk.bad[ReasonTooLong] != 1 || sk.notes["resync"] != 0 {
		t.Fatalf("frames %d, bad %v, notes %v", len(sk.frames), sk.bad, sk.notes)
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
		d, sk := newLineDecoder(""), newSink()
		for i := 0; i < len(in); i += step {
			d.feed(in[i:min(i+step, len(in))], time.Unix(0, 0), sk)
		}
		for _, fr := range sk.frames {
			if fr.Validate() != nil || len(fr.Samples) == 0 {
				t.Fatalf("invalid frame: %+v", fr)
			}
		}
	})
}
