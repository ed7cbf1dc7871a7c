package telemetry

import (
	"os"
	"reflect"
	"testing"

	"github.com/hamba/avro/v2"
)

// Every decoder of outside bytes is fuzzed: it must not panic, and whatever
// it accepts must encode back to something that decodes to the same value.

func FuzzDecodeFrame(f *testing.F) {
	c := MustNewCodec()
	good, _ := c.AppendFrame(nil, testFrame())
	f.Add(good)
	f.Add(good[:HeaderLen+3])
	f.Add(frameV2Record(f))
	f.Add([]byte{0xC3, 0x01})
	if _, err := c.Register(readFile(f, "testdata/frame_v2.avsc")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr Frame
		if err := c.DecodeFrame(data, &fr); err != nil {
			return
		}
		again, err := c.AppendFrame(nil, &fr)
		if err != nil {
			t.Fatalf("decoded frame does not encode: %v", err)
		}
		var back Frame
		if err := c.DecodeFrame(again, &back); err != nil || !framesEqual(&back, &fr) {
			t.Fatalf("re-decode: %v, %+v vs %+v", err, back, fr)
		}
	})
}

func FuzzDecodeCatalog(f *testing.F) {
	c := MustNewCodec()
	good, _ := c.AppendCatalog(nil, testCatalog())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		var cat ChannelCatalog
		if err := c.DecodeCatalog(data, &cat); err != nil {
			return
		}
		again, err := c.AppendCatalog(nil, &cat)
		if err != nil {
			t.Fatalf("decoded catalog does not encode: %v", err)
		}
		var back ChannelCatalog
		if err := c.DecodeCatalog(again, &back); err != nil || !reflect.DeepEqual(back, cat) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func FuzzDecodeLap(f *testing.F) {
	c := MustNewCodec()
	good, _ := c.AppendLap(nil, testLap())
	f.Add(good)
	f.Add(good[:len(good)-1])
	if _, err := c.Register(readFile(f, "testdata/lap_v0.avsc")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var lap Lap
		if err := c.DecodeLap(data, &lap); err != nil {
			return
		}
		again, err := c.AppendLap(nil, &lap)
		if err != nil {
			t.Fatalf("decoded lap does not encode: %v", err)
		}
		var back Lap
		if err := c.DecodeLap(again, &back); err != nil || back.EndNs != lap.EndNs || len(back.Metrics) != len(lap.Metrics) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func FuzzParseLine(f *testing.F) {
	frameLine, _ := AppendFrameLine(nil, testFrame())
	chanLine, _ := AppendChannelLine(nil, &ChannelLine{Car: "c", Session: "s", Index: 1, Count: 1,
		Channel: Channel{ID: 1, Name: "speed", Unit: "km/h", RateHz: 50, Max: 400}})
	f.Add(frameLine)
	f.Add(chanLine)
	f.Add(withCRC("PWF,car1,1,2,1=-0,7=1.5E+3,9=2e-5"))
	f.Add([]byte("$PWF,x*0000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr Frame
		var ch ChannelLine
		kind, err := ParseLine(data, &fr, &ch)
		if err != nil {
			return
		}
		var again []byte
		switch kind {
		case LineFrame:
			again, err = AppendFrameLine(nil, &fr)
		case LineChannel:
			again, err = AppendChannelLine(nil, &ch)
		}
		if err != nil {
			t.Fatalf("accepted line does not encode: %v", err)
		}
		var fr2 Frame
		var ch2 ChannelLine
		if _, err := ParseLine(again, &fr2, &ch2); err != nil {
			t.Fatalf("re-encoded line does not parse: %v", err)
		}
		if kind == LineFrame && !framesEqual(&fr, &fr2) || kind == LineChannel && ch != ch2 {
			t.Fatalf("round trip changed the value: %q vs %q", data, again)
		}
	})
}

func readFile(tb testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func frameV2Record(tb testing.TB) []byte {
	s, err := parseSchema(readFile(tb, "testdata/frame_v2.avsc"))
	if err != nil {
		tb.Fatal(err)
	}
	fp, _ := fingerprint(s)
	body, err := avro.Marshal(s, frameV2{Car: "a", Samples: []sampleV2{{1, 2, 3}}, Source: "x"})
	if err != nil {
		tb.Fatal(err)
	}
	return append(AppendHeader(nil, fp), body...)
}
