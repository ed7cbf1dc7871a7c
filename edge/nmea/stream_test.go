package nmea

import (
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/source/sourcetest"
	"github.com/pitwall/pitwall/telemetry"
)

func sentences(bodies ...string) []byte {
	var b []byte
	for _, s := range bodies {
		b = append(b, AppendChecksum([]byte("$"+s))...)
	}
	return b
}

// feedAll feeds b in chunks of step bytes, as reads would.
func feedAll(st *stream, b []byte, step int, recv time.Time) {
	for i := 0; i < len(b); i += step {
		st.feed(b[i:min(i+step, len(b))], recv)
	}
}

// One epoch (RMC, VTG, GGA with one time) is one frame at the receiver's
// time with every channel; the next epoch's first sentence, or a quiet
// read, hands it on; after midnight a GGA-only epoch takes the next day.
func TestStreamEpochs(t *testing.T) {
	for _, step := range []int{1, 7, 1000} {
		sk := sourcetest.New()
		st := newStream("car01", "", sk)
		st.opened()
		recv := time.Date(2026, 12, 31, 23, 59, 50, 0, time.UTC)
		in := append([]byte("9,E,1,08*00\r\n"), // the tail of a sentence sent before the port opened
			sentences(
				"GPRMC,235959.900,A,3352.12800,S,15112.55800,W,10.000,180.00,311226,,,A",
				"GPVTG,180.00,T,,M,10.000,N,18.520,K,A",
				"GPGGA,235959.900,3352.12800,S,15112.55800,W,2,14,0.6,12.0,M,0.0,M,,",
				"GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00",
				"GNGGA,000000.000,3352.12900,S,15112.55800,W,1,13,0.7,12.1,M,0.0,M,,",
			)...)
		feedAll(st, in, step, recv)
		st.idle(recv)
		if len(sk.Frames) != 2 || sk.Events[source.EventResync] != 1 || len(sk.Reasons) != 0 {
			t.Fatalf("step %d: %d frames, events %v, bad %v", step, len(sk.Frames), sk.Events, sk.Reasons)
		}
		f0, f1 := sk.Frames[0], sk.Frames[1]
		if want := time.Date(2026, 12, 31, 23, 59, 59, 900e6, time.UTC); !f0.Time().Equal(want) || len(f0.Samples) != 8 {
			t.Fatalf("first frame at %v with %d samples, want %v with 8", f0.Time(), len(f0.Samples), want)
		}
		if want := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); !f1.Time().Equal(want) {
			t.Fatalf("second frame at %v, want %v (past midnight)", f1.Time(), want)
		}
		if f1.Seq != f0.Seq+1 || f0.Car != "car01" {
			t.Fatalf("frames %+v %+v", f0, f1)
		}
		if v, _ := f0.Value(idSpeed); v != 18.52 {
			t.Fatalf("speed %v km/h, want VTG's 18.52", v)
		}
		if v, _ := f0.Value(idLat); v != -(33 + 52.128/60) {
			t.Fatalf("latitude %v", v)
		}
		if _, ok := f1.Value(idSpeed); ok || len(f1.Samples) != 6 {
			t.Fatalf("a GGA-only epoch has %v", f1.Samples)
		}
	}
}

// A GGA-only receiver (no RMC, so no date) is dated by the receive time;
// a fix-less epoch carries fix quality and satellites, no position.
func TestStreamNoDate(t *testing.T) {
	sk := sourcetest.New()
	st := newStream("car01", "s1", sk)
	st.opened()
	recv := time.Date(2026, 6, 1, 0, 0, 5, 0, time.UTC) // the receiver is a few seconds behind, across midnight
	feedAll(st, sentences("GPGGA,235958.000,,,,,0,03,,,,,,,"), 1000, recv)
	st.idle(recv)
	if len(sk.Frames) != 1 {
		t.Fatalf("%d frames", len(sk.Frames))
	}
	f := sk.Frames[0]
	if want := time.Date(2026, 5, 31, 23, 59, 58, 0, time.UTC); !f.Time().Equal(want) || f.Session != "s1" {
		t.Fatalf("frame at %v, want %v", f.Time(), want)
	}
	if _, ok := f.Value(idLat); ok {
		t.Fatal("a position without a fix")
	}
	if q, _ := f.Value(idFix); q != 0 {
		t.Fatalf("fix quality %v", q)
	}
	if n, _ := f.Value(idSats); n != 3 {
		t.Fatalf("satellites %v", n)
	}
}

// Bad input is reported by reason and skipped; the sentences around it
// still make frames.
func TestStreamBadInput(t *testing.T) {
	sk := sourcetest.New()
	st := newStream("car01", "", sk)
	st.opened()
	recv := time.Now()
	good := sentences("GPGGA,120000.000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
	in := string(good) +
		"$GPGGA,120001.000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*00\r\n" + // checksum
		string(sentences("GPGGA,120002.000,4807.038,N,01131.000,E,1,08")) + // fields missing
		"$GPGGA," + strings.Repeat("9", 400) + "\r\n" + // too long
		string(sentences("GPGGA,120003.000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"))
	feedAll(st, []byte(in), 13, recv)
	st.idle(recv)
	if len(sk.Frames) != 2 {
		t.Fatalf("%d frames, want 2", len(sk.Frames))
	}
	want := map[string]int{source.ReasonChecksum: 1, source.ReasonMalformed: 1, source.ReasonTooLong: 1}
	for k, v := range want {
		if sk.Reasons[k] != v {
			t.Fatalf("bad input %v, want %v", sk.Reasons, want)
		}
	}
}

// The catalog is valid and names the standard GPS channels.
func TestCatalog(t *testing.T) {
	c := Catalog("car01", "", 25, 1)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{telemetry.ChanGPSLat, telemetry.ChanGPSLon, telemetry.ChanGPSSpeed, telemetry.ChanGPSHeading} {
		if _, ok := c.ByName(n); !ok {
			t.Fatalf("no %s", n)
		}
	}
}

// FuzzStream: whatever a port delivers, in whatever chunks, no panic and
// only valid frames are handed on.
func FuzzStream(f *testing.F) {
	f.Add(sentences("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W", "GPVTG,77.52,T,,M,0.004,N,0.008,K,A",
		"GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"), 5)
	f.Add([]byte("garbage\n$GPGGA,1*00\r\n$$$\n\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, step int) {
		if step < 0 {
			step = -step
		}
		step = 1 + step%97
		sk := sourcetest.New()
		st := newStream("car01", "", sk)
		st.opened()
		recv := time.Unix(1714564830, 0)
		feedAll(st, in, step, recv)
		st.idle(recv)
		if sk.Reasons[source.ReasonInvalid] != 0 {
			t.Fatalf("an invalid frame was built from %q", in)
		}
	})
}
