package lap_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
)

// Every built-in track written as a track file reads back identical.
func TestTrackFileRoundTrip(t *testing.T) {
	for _, name := range []string{"monza", "spa", "brands-indy"} {
		tr := track(t, name)
		b, err := lap.MarshalTrack(tr)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := lap.LoadTrack(path)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(back, tr) {
			t.Errorf("%s: read back %+v, want %+v", name, back, tr)
		}
	}
}

// Moving timing lines is what track files are for: monza with its second
// sector line removed times the same laps, with two sectors, the second
// being the old second and third together.
func TestTrackFileChangedSectors(t *testing.T) {
	cfg := simulator.Config{Track: "monza", Laps: 2, Seed: 11, GPSRateHz: 10, DropoutsPerHour: -1, GPSNoise: -1}
	builtin := track(t, "monza")
	b, err := lap.MarshalTrack(builtin)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the second entry of the sectors list (the line ending sector 2).
	lines := strings.Split(string(b), "\n")
	var kept []string
	entry := -1
	for _, l := range lines {
		if strings.HasPrefix(l, "  - ") {
			entry++
		} else if !strings.HasPrefix(l, "    ") {
			entry = -1
		}
		if entry != 1 {
			kept = append(kept, l)
		}
	}
	edited, err := lap.ParseTrack([]byte(strings.Join(kept, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(edited.Sectors) != len(builtin.Sectors)-1 {
		t.Fatalf("edited track has %d sector lines, want %d:\n%s", len(edited.Sectors), len(builtin.Sectors)-1, strings.Join(kept, "\n"))
	}
	want, _ := detectAll(t, cfg, lap.Config{Track: builtin}, nil)
	got, _ := detectAll(t, cfg, lap.Config{Track: edited}, nil)
	for car, ls := range want {
		if len(got[car]) != len(ls) {
			t.Fatalf("%s: %d laps with the edited track, %d with the built-in", car, len(got[car]), len(ls))
		}
		for i, w := range ls {
			g := got[car][i]
			if g.LapTime() != w.LapTime() || len(g.SectorsNs) != 2 || len(w.SectorsNs) != 3 {
				t.Fatalf("%s lap %d: %v with sectors %v, built-in %v with %v", car, w.Lap, g.LapTime(), g.SectorsNs, w.LapTime(), w.SectorsNs)
			}
			if g.SectorsNs[0] != w.SectorsNs[0] || time.Duration(g.SectorsNs[1]-(w.SectorsNs[1]+w.SectorsNs[2])).Abs() > time.Microsecond {
				t.Errorf("%s lap %d: sectors %v, want %v merged after the first", car, w.Lap, g.SectorsNs, w.SectorsNs)
			}
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
		_, err := lap.ParseTrack([]byte(tc.text))
		if !errors.Is(err, lap.ErrTrack) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want ErrTrack mentioning %q", tc.text, err, tc.want)
		}
	}
	if _, err := lap.LoadTrack(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, lap.ErrTrack) {
		t.Errorf("missing file: %v, want ErrTrack", err)
	}
}

// A track file is outside input: no panic, and whatever parses writes
// back to the same track.
func FuzzParseTrack(f *testing.F) {
	for _, name := range []string{"monza", "brands-indy"} {
		b, err := lap.MarshalTrack(track(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nlength_m: 1e308\nstart_finish: {a: {lat: .nan, lon: 0}, b: {lat: 0, lon: 0}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := lap.ParseTrack(b)
		if err != nil {
			return
		}
		out, err := lap.MarshalTrack(tr)
		if err != nil {
			t.Fatalf("parsed track does not marshal: %v", err)
		}
		back, err := lap.ParseTrack(out)
		if err != nil || !reflect.DeepEqual(back, tr) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, back, tr)
		}
	})
}
