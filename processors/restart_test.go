package processors

import (
	"reflect"
	"testing"
)

func TestRestartsRoundTrip(t *testing.T) {
	in := map[string]int64{"car01": 12, "car-2": 0, "x.y_z": 1 << 40}
	s := encodeRestarts(in)
	if s != "pw1 car-2=0 car01=12 x.y_z=1099511627776" {
		t.Errorf("encoded %q", s)
	}
	out, err := decodeRestarts(s)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("decoded %v, %v", out, err)
	}
	for _, bad := range []string{"x", "pw1 car", "pw1 car=-1", "pw1 c r=1", "pw1 =1", "pw2 a=1"} {
		if _, err := decodeRestarts(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// The metadata comes from the broker: any bytes decode or fail cleanly,
// and what decodes encodes back to the same map.
func FuzzDecodeRestarts(f *testing.F) {
	for _, s := range []string{"", "pw1", "pw1 car01=5", "pw1 a=1 b=2", "pw1 a=", "pw1  a=1", "junk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := decodeRestarts(s)
		if err != nil {
			return
		}
		if len(s) > maxMetadata {
			return // encode leaves out what does not fit
		}
		back, err := decodeRestarts(encodeRestarts(m))
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%q: %v -> %v (%v)", s, m, back, err)
		}
	})
}
