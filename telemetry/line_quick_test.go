package telemetry

import (
	"bytes"
	"math"
	"testing"
)

// FuzzQuickSample holds the one-pass sample parser to the general one:
// whatever field it takes, the general path takes too, with the same id,
// the same float bits and the same rest of the line.
func FuzzQuickSample(f *testing.F) {
	for _, s := range []string{"1=2", "7=-0", "12=3.25,13=4", "0=0.5", "01=1", "1=01", "1=1.", "1=.5", "1=1e3",
		"2147483647=1", "2147483648=1", "1=123456789012345", "1=1234567890123456", "1=0.123456789", "1=0.1234567890",
		"1=-12.5,", "1=5x", "=1", "1=", "1=-", "99999999999=1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		quick := fieldParser{rest: data}
		id, v, ok := quick.quickSample()
		if !ok {
			if !bytes.Equal(quick.rest, data) || quick.done {
				t.Fatalf("%q: refused but consumed input", data)
			}
			return
		}
		general := fieldParser{rest: data}
		pair := general.next()
		eq := bytes.IndexByte(pair, '=')
		if eq < 0 {
			t.Fatalf("%q: quick took %d=%v, general finds no '='", data, id, v)
		}
		gid := general.uint(pair[:eq], math.MaxInt32)
		gv := general.value(pair[eq+1:])
		if general.err != nil {
			t.Fatalf("%q: quick took %d=%v, general refuses: %v", data, id, v, general.err)
		}
		if gid != id || math.Float64bits(gv) != math.Float64bits(v) {
			t.Fatalf("%q: quick %d=%v, general %d=%v", data, id, v, gid, gv)
		}
		if !bytes.Equal(quick.rest, general.rest) || quick.done != general.done {
			t.Fatalf("%q: rest %q/%v, general %q/%v", data, quick.rest, quick.done, general.rest, general.done)
		}
	})
}
