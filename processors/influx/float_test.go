package influx

import (
	"math"
	"strconv"
	"testing"
)

// FuzzAppendFloat: whatever float appendFloat writes reads back as the
// same float (bit for bit), as InfluxDB's parser (strconv) reads it.
func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 123.45, -0.005, 1e15, 1e16, 1e-10, 299.99999999,
		123.45600000000002, math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3, 12345678.123456789} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		s := string(appendFloat(nil, v))
		got, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(v) {
			t.Fatalf("%v written as %q, reads back as %v (%v)", v, s, got, err)
		}
	})
}

func TestAppendFloatFixed(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1: "1", -2.5: "-2.5", 123.45: "123.45", 0.001: "0.001",
		1e6: "1000000", 1.0 / 3: "0.3333333333333333", 1e20: "1e+20"} {
		if got := string(appendFloat(nil, v)); got != want {
			t.Errorf("appendFloat(%v) = %q, want %q", v, got, want)
		}
	}
}
