package track_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/track"
)

// Every built-in track written as a track file reads back identical.
func TestTrackFileRoundTrip(t *testing.T) {
	for _, name := range []string{"monza", "spa", "brands-indy"} {
		tr := timing(t, name)
		b, err := track.MarshalTiming(tr)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := track.LoadTiming(path)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(back, tr) {
			t.Errorf("%s: read back %+v, want %+v", name, back, tr)
		}
	}
}

func TestTrackFileErrors(t *testing.T) {
	const line = "{a: {lat: 45.6, lon: 9.28}, b: {lat: 45.6001, lon: 9.2801}}"
	for _, tc := range []struct{ text, want string }{
		{"name: x\nlength_m: 1000\nstart_finish: " + line + "\ncolour: red\n", "colour"},
		{"length_m: 1000\nstart_finish: " + line + "\n", "no name"},
		{"name: x\nlength_m: 1000\n", "no start_finish"},
		{"name: x\nstart_finish: " + line + "\n", "length"},
		{"name: x\nlength_m: .inf\nstart_finish: " + line + "\n", "at most"},
		{"name: x\nlength_m: 1000\nstart_finish: {a: {lat: 45.6, lon: 9.28}}\n", "a and b"},
		{"name: x\nlength_m: 1000\nstart_finish: {a: {lat: 91, lon: 9.28}, b: {lat: 45.6, lon: 9.28}}\n", "not a position"},
		{"name: x\nlength_m: 1000\nstart_finish: {a: {lat: 45.6, lon: 9.28}, b: {lat: 45.6, lon: 9.28}}\n", "1 to 500 m"},
		{"name: x\nlength_m: 1000\nstart_finish: " + line + "\nsectors: [{a: {lat: 45.6, lon: 9.28}, b: {lat: 46.6, lon: 9.28}}]\n", "sector1"},
		{"name: x\nlength_m: 1000\nstart_finish: " + line + "\npit_lane: {from: 0.8, to: 0.2}\n", "pit_lane"},
		{"name: x\nlength_m: 1000\nstart_finish: " + line + "\nsectors: [" + strings.Repeat(line+",", 64) + line + "]\n", "sector lines"},
		{"{{{", "yaml"},
	} {
		_, err := track.ParseTiming([]byte(tc.text))
		if !errors.Is(err, track.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want ErrInvalid mentioning %q", tc.text, err, tc.want)
		}
	}
	if _, err := track.LoadTiming(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, track.ErrInvalid) {
		t.Errorf("missing file: %v, want ErrInvalid", err)
	}
}

// A track file is outside input: no panic, and whatever parses writes
// back to the same track.
func FuzzParseTiming(f *testing.F) {
	for _, name := range []string{"monza", "brands-indy"} {
		b, err := track.MarshalTiming(timing(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nlength_m: 1e308\nstart_finish: {a: {lat: .nan, lon: 0}, b: {lat: 0, lon: 0}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := track.ParseTiming(b)
		if err != nil {
			return
		}
		out, err := track.MarshalTiming(tr)
		if err != nil {
			t.Fatalf("parsed track does not marshal: %v", err)
		}
		back, err := track.ParseTiming(out)
		if err != nil || !reflect.DeepEqual(back, tr) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, back, tr)
		}
	})
}

func timing(t testing.TB, name string) track.Timing {
	tr, err := track.LookupTiming(name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
