package telemetry

import (
	"reflect"
	"testing"
)

func TestOffsetMetaRoundTrip(t *testing.T) {
	for _, c := range []struct {
		m    OffsetMeta
		want string
	}{
		{OffsetMeta{Position: 1234, Restarts: map[string]int64{"car01": 12, "car-2": 0, "x.y_z": 1 << 40}},
			"pw1 @1234 car-2=0 car01=12 x.y_z=1099511627776"},
		{OffsetMeta{Position: -1, Restarts: map[string]int64{"car01": 5}}, "pw1 car01=5"},
		{OffsetMeta{Position: 0, Restarts: map[string]int64{}}, "pw1 @0"},
	} {
		s := c.m.Encode()
		if s != c.want {
			t.Errorf("%+v encoded %q, want %q", c.m, s, c.want)
		}
		back, err := ParseOffsetMeta(s)
		if err != nil || !reflect.DeepEqual(back, c.m) {
			t.Errorf("%q parsed to %+v, %v", s, back, err)
		}
	}
	if m, err := ParseOffsetMeta(""); err != nil || m.Position != -1 || len(m.Restarts) != 0 {
		t.Errorf("empty: %+v, %v", m, err)
	}
	for _, bad := range []string{"x", "pw1 car", "pw1 car=-1", "pw1 c r=1", "pw1 =1", "pw2 a=1",
		"pw1 @", "pw1 @-3", "pw1 @x a=1", "pw1 a=1 @5", "pw1 a=1 a=2", "pw1 @1 @2"} {
		if _, err := ParseOffsetMeta(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// The metadata comes from the broker, written by anyone: any bytes parse
// or fail cleanly, and what parses encodes back to the same value.
func FuzzParseOffsetMeta(f *testing.F) {
	for _, s := range []string{"", "pw1", "pw1 @0", "pw1 @17 car01=5", "pw1 car01=5", "pw1 a=1 b=2", "pw1 a=", "pw1  a=1", "junk", "pw1 @"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseOffsetMeta(s)
		if err != nil {
			return
		}
		if len(s) > MaxOffsetMeta {
			return // Encode leaves out what does not fit
		}
		back, err := ParseOffsetMeta(m.Encode())
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%q: %+v -> %+v (%v)", s, m, back, err)
		}
	})
}
