package telemetry

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func testLive() *Live {
	d := -0.312
	return &Live{Car: "car07", Session: "monza-fp1", TimeNs: 1_700_000_000_123_000_000, Lap: 4,
		LapStartNs: 1_700_000_000_000_000_000, Sector: 2, DistanceM: 2412.5, DeltaBestS: &d,
		Speed: 287.4, Throttle: 100, Brake: 0.5, Gear: 7, RPM: 11850, X: 9.2811, Y: 45.6186, InPit: false}
}

func TestLiveRoundTrip(t *testing.T) {
	c := MustNewCodec()
	for _, l := range []*Live{testLive(), {Car: "car01", TimeNs: 5}} {
		b, err := c.AppendLive(nil, l)
		if err != nil {
			t.Fatal(err)
		}
		if name, err := c.Identify(b); err != nil || name != NameLive {
			t.Fatalf("Identify = %q, %v", name, err)
		}
		var got Live
		if err := c.DecodeLive(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, l) {
			t.Fatalf("got %+v, want %+v", got, *l)
		}
		var lap Lap
		if err := c.DecodeLap(b, &lap); !errors.Is(err, ErrWrongSchema) {
			t.Fatalf("decoding a Live record as a Lap: %v, want ErrWrongSchema", err)
		}
	}
}

func TestLiveInvalid(t *testing.T) {
	c := MustNewCodec()
	nan := math.NaN()
	for name, mod := range map[string]func(*Live){
		"bad car":        func(l *Live) { l.Car = "car 1" },
		"negative lap":   func(l *Live) { l.Lap = -1 },
		"sector too big": func(l *Live) { l.Sector = MaxSectors + 1 },
		"nan delta":      func(l *Live) { l.DeltaBestS = &nan },
		"inf speed":      func(l *Live) { l.Speed = math.Inf(1) },
	} {
		l := testLive()
		mod(l)
		if _, err := c.AppendLive(nil, l); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AppendLive = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecodeLive(f *testing.F) {
	c := MustNewCodec()
	b, _ := c.AppendLive(nil, testLive())
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Live
		if err := c.DecodeLive(data, &l); err == nil {
			if err := l.Validate(); err != nil {
				t.Fatalf("decoded an invalid record: %v", err)
			}
		}
	})
}
