package telemetry

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestCRC16CheckValue(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("CRC16 check value = %04X, want 29B1", got)
	}
}

func TestFrameLineRoundTrip(t *testing.T) {
	f := testFrame()
	line, err := AppendFrameLine(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	s := string(line)
	if !strings.HasPrefix(s, "$PWF,car07,42,1704067200123456789,1=287.25,2=11250,19=-0.00000015,400=45.6189123*") || !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("line %q", s)
	}
	var got Frame
	kind, err := ParseLine(line, &got, nil)
	if err != nil || kind != LineFrame {
		t.Fatalf("ParseLine: %v %v", kind, err)
	}
	want := *f
	want.Session = ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestChannelLineRoundTrip(t *testing.T) {
	in := ChannelLine{Car: "car07", Session: "monza-fp1", Index: 3, Count: 47,
		Channel: Channel{ID: 30, Name: "gps_lat", Unit: "deg", RateHz: 25, Min: -90, Max: 90}}
	line, err := AppendChannelLine(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "$PWC,car07,monza-fp1,3,47,30,gps_lat,deg,25,-90,90*"; !strings.HasPrefix(string(line), want) {
		t.Fatalf("line %q", line)
	}
	var got ChannelLine
	kind, err := ParseLine(bytes.TrimSuffix(line, []byte("\r\n")), nil, &got)
	if err != nil || kind != LineChannel {
		t.Fatalf("ParseLine: %v %v", kind, err)
	}
	if got != in {
		t.Fatalf("got %+v, want %+v", got, in)
	}
}

// Every single-byte change of a line is caught, by the checksum or the
// grammar, and never decodes to something else.
func TestLineDetectsCorruption(t *testing.T) {
	line, _ := AppendFrameLine(nil, testFrame())
	line = bytes.TrimSuffix(line, []byte("\r\n"))
	for i := range line {
		for _, flip := range []byte{0x01, 0x02, 0x10, 0x20, 0x40} {
			bad := bytes.Clone(line)
			bad[i] ^= flip
			_, err := ParseLine(bad, &Frame{}, &ChannelLine{})
			if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrBadLine) {
				t.Fatalf("byte %d ^ %#x: %v", i, flip, err)
			}
		}
	}
	// Two swapped digits keep an XOR checksum but not the CRC.
	swapped := bytes.Replace(line, []byte("287.25"), []byte("287.52"), 1)
	if _, err := ParseLine(swapped, &Frame{}, nil); !errors.Is(err, ErrChecksum) {
		t.Fatalf("swapped digits: %v, want ErrChecksum", err)
	}
}

// withCRC builds a line with a correct checksum around body, so the
// grammar checks are what is tested.
func withCRC(body string) []byte {
	b := []byte("$" + body)
	b, _ = finishLine(b, 0)
	return b
}

func TestParseLineStrict(t *testing.T) {
	bad := []string{
		"PWX,car1,1,2,1=2",                       // unknown kind
		"PWF,car1,1,2",                           // no samples
		"PWF,car1,1,2,",                          // empty pair
		"PWF,,1,2,1=2",                           // empty car
		"PWF,car 1,1,2,1=2",                      // space in car
		"PWF,car1,01,2,1=2",                      // leading zero
		"PWF,car1,-1,2,1=2",                      // sign
		"PWF,car1,1,2,1=2,1=3",                   // duplicate id
		"PWF,car1,1,2,2=2,1=3",                   // descending ids
		"PWF,car1,1,2,1=NaN",                     // not a number
		"PWF,car1,1,2,1=Inf",                     // infinity
		"PWF,car1,1,2,1=1e999",                   // overflows
		"PWF,car1,1,2,1=.5",                      // no integer part
		"PWF,car1,1,2,1=5.",                      // no fraction digits
		"PWF,car1,1,2,1=0x10",                    // hex
		"PWF,car1,1,2,1=1_0",                     // underscore
		"PWF,car1,1,2,1=+1",                      // plus sign
		"PWF,car1,1,2,1=",                        // empty value
		"PWF,car1,1,2,1",                         // no '='
		"PWF,car1,1,2,2147483648=1",              // id out of int32
		"PWF,car1,1,99999999999999999999,1=1",    // time overflows
		"PWC,car1,s,1,1,1,speed,km/h,50,0",       // missing field
		"PWC,car1,s,1,1,1,speed,km/h,50,0,400,9", // extra field
		"PWC,car1,s,2,1,1,speed,km/h,50,0,400",   // index > count
		"PWC,car1,s,1,1,1,speed,km/h,0,0,400",    // rate 0
		"PWC,car1,s,1,1,1,speed,km/h,50,400,0",   // min > max
		"PWC,car1,s,1,1,1,sp-eed,km/h,50,0,400",  // bad name
	}
	for _, body := range bad {
		if _, err := ParseLine(withCRC(body), &Frame{}, &ChannelLine{}); !errors.Is(err, ErrBadLine) {
			t.Errorf("%q: %v, want ErrBadLine", body, err)
		}
	}
	good := []string{
		"PWF,car1,0,0,0=0",
		"PWF,car1,1,2,1=-0,7=1.5E+3,9=2e-5",
		"PWC,car1,,1,1,0,speed,,1,0,0",
	}
	for _, body := range good {
		if _, err := ParseLine(withCRC(body), &Frame{}, &ChannelLine{}); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	for _, raw := range []string{"", "$", "$PWF,car1,1,2,1=2*zzzz", "$PWF,car1,1,2,1=2*29b1", "hello world\n"} {
		if _, err := ParseLine([]byte(raw), &Frame{}, &ChannelLine{}); !errors.Is(err, ErrBadLine) && !errors.Is(err, ErrChecksum) {
			t.Errorf("%q: %v", raw, err)
		}
	}
}

func TestParseLineReusesMemory(t *testing.T) {
	line, _ := AppendFrameLine(nil, testFrame())
	var f Frame
	if _, err := ParseLine(line, &f, nil); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseLine(line, &f, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseLine allocates %v times per line once warm", allocs)
	}
}

// Values print in a form that parses back to exactly the same float64,
// through the fixed-point fast paths and through strconv.
func TestValueRoundTrip(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 287.25, 45.6189123, 9.2811456, -1.5e-7,
		1e15, 1e16, 123456789.123, 0.1 + 0.2, math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3, -2.5e-300}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		values = append(values, math.Round(rng.NormFloat64()*1e6)/1e3, rng.NormFloat64()*math.Pow(10, float64(rng.IntN(40)-20)))
	}
	for _, v := range values {
		text := appendValue(nil, v)
		p := fieldParser{}
		got := p.value(text)
		if p.err != nil {
			t.Fatalf("%v printed as %q does not parse: %v", v, text, p.err)
		}
		if math.Float64bits(got) != math.Float64bits(v) {
			t.Fatalf("%v printed as %q parses as %v", v, text, got)
		}
		if want, _ := strconv.ParseFloat(string(text), 64); math.Float64bits(want) != math.Float64bits(got) {
			t.Fatalf("%q: fast path gives %v, strconv %v", text, got, want)
		}
	}
	if got := string(appendValue(nil, 287.25)); got != "287.25" {
		t.Fatalf("287.25 printed as %q", got)
	}
}

// The slicing-by-8 CRC agrees with the textbook bit-by-bit one.
func TestCRC16MatchesBitwise(t *testing.T) {
	bitwise := func(b []byte) uint16 {
		crc := uint16(0xFFFF)
		for _, c := range b {
			crc ^= uint16(c) << 8
			for range 8 {
				if crc&0x8000 != 0 {
					crc = crc<<1 ^ 0x1021
				} else {
					crc <<= 1
				}
			}
		}
		return crc
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 100 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if got, want := CRC16(b), bitwise(b); got != want {
			t.Fatalf("len %d: %04X, want %04X", n, got, want)
		}
	}
}
