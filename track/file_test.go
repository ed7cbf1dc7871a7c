package track_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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
		{"name: x\nlength_m: 1000\nstart_finish: {a: {x: 1, z: 2}, b: {x: 30, z: 2}}\n", "lat"},
		{"name: x\nplanar: true\nlength_m: 1000\nstart_finish: " + line + "\n", "x: ..., z: ..."},
		{"name: x\nplanar: true\nlength_m: 1000\nstart_finish: {a: {x: 1e7, z: 2}, b: {x: 30, z: 2}}\n", "from the origin"},
		{"name: x\nlength_m: 1000\nstart_finish: {at: {lat: 45.6, lon: 9.28}, heading: 90}\n", "at, heading and width"},
		{"name: x\nlength_m: 1000\nstart_finish: {at: {lat: 45.6, lon: 9.28}, heading: 90, width: 0.5}\n", "width"},
		{"name: x\nlength_m: 1000\nstart_finish: {at: {lat: 45.6, lon: 9.28}, heading: .nan, width: 20}\n", "heading"},
		{"name: x\nlength_m: 1000\nstart_finish: {a: {lat: 45.6, lon: 9.28}, at: {lat: 45.6, lon: 9.28}, heading: 9, width: 20}\n", "at, heading and width"},
		{"name: x\nlength_m: 1000\nstart_finish: " + line + "\ndetection: {max_gap_s: -1}\n", "detection"},
		{"name: x\nlength_m: 1000\nstart_finish: " + line + "\ndetection: {rearm_m: 1e9}\n", "rearm_m"},
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

// The point + heading + width form gives a line of that width centred
// on the point, A on the driver's left; a planar track takes x/z points;
// detection settings read back as written.
func TestTrackFileForms(t *testing.T) {
	tr, err := track.ParseTiming([]byte(`name: x
length_m: 1000
start_finish: {at: {lat: 45, lon: 9}, heading: 0, width: 20}
sectors: [{at: {lat: 45.001, lon: 9}, heading: 90, width: 30}]
detection: {max_gap_s: 2.5, debounce_s: 1.5, rearm_m: 30}
`))
	if err != nil {
		t.Fatal(err)
	}
	sf := tr.StartFinish
	// Heading north: A is west of the point, B east, 10 m each.
	if !(sf.A.Lon < 9 && sf.B.Lon > 9) || math.Abs(sf.A.Lat-45) > 1e-12 || math.Abs(sf.Length()-20) > 1e-6 {
		t.Errorf("start/finish %+v, length %v", sf, sf.Length())
	}
	// Heading east: A is north.
	if s := tr.Sectors[0]; !(s.A.Lat > s.B.Lat) || math.Abs(s.Length()-30) > 1e-6 {
		t.Errorf("sector line %+v", s)
	}
	// A car going north crosses the start/finish line forwards.
	if _, fwd, ok := sf.Crossing(track.LatLon{Lat: 44.9999, Lon: 9}, track.LatLon{Lat: 45.0001, Lon: 9}); !ok || !fwd {
		t.Errorf("northbound crossing: forward %v ok %v", fwd, ok)
	}
	if want := (track.Detection{MaxGap: 2500 * time.Millisecond, Debounce: 1500 * time.Millisecond, ReArm: 30}); tr.Detection != want {
		t.Errorf("detection %+v, want %+v", tr.Detection, want)
	}
	pl, err := track.ParseTiming([]byte(`name: game
planar: true
length_m: 5000
start_finish: {at: {x: 100, z: -50}, heading: 90, width: 40}
sectors: [{a: {x: 0, z: 0}, b: {x: 0, z: 20}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	// Heading +x: the driver's left is +z.
	if a, b := pl.StartFinish.PA, pl.StartFinish.PB; math.Abs(a.X-100) > 1e-9 || math.Abs(a.Z-(-30)) > 1e-9 || math.Abs(b.Z-(-70)) > 1e-9 {
		t.Errorf("planar start/finish %+v %+v", a, b)
	}
	for _, tm := range []track.Timing{tr, pl} {
		b, err := track.MarshalTiming(tm)
		if err != nil {
			t.Fatal(err)
		}
		back, err := track.ParseTiming(b)
		if err != nil || !reflect.DeepEqual(back, tm) {
			t.Errorf("round trip: %v\n%s\n%+v\n%+v", err, b, back, tm)
		}
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
	f.Add([]byte("name: x\nlength_m: 900\nstart_finish: {at: {lat: 45, lon: 9}, heading: 33.3, width: 500}\ndetection: {max_gap_s: 0.1234567}\n"))
	f.Add([]byte("name: x\nplanar: true\nlength_m: 900\nstart_finish: {at: {x: -5, z: 7}, heading: -270, width: 12}\nsectors: [{a: {x: 0, z: 0}, b: {x: 3, z: 4}}]\n"))
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

// An empty track file says so and how to get one, not "EOF".
func TestTrackFileEmpty(t *testing.T) {
	for _, body := range []string{"", "# moved the sector lines later\n"} {
		_, err := track.ParseTiming([]byte(body))
		if !errors.Is(err, track.ErrInvalid) || !strings.Contains(err.Error(), "empty") || strings.Contains(err.Error(), "EOF") {
			t.Errorf("%q: %v", body, err)
		}
	}
}
