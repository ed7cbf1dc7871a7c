package lap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// Moving timing lines is what track files are for: monza with its second
// sector line removed times the same laps, with two sectors, the second
// being the old second and third together.
func TestTrackFileChangedSectors(t *testing.T) {
	cfg := simulator.Config{Track: "monza", Laps: 2, Seed: 11, GPSRateHz: 10, DropoutsPerHour: -1, GPSNoise: -1}
	builtin := timing(t, "monza")
	b, err := track.MarshalTiming(builtin)
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
	edited, err := track.ParseTiming([]byte(strings.Join(kept, "\n")))
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

// A track file may define as many sectors as a Lap carries; track imports
// no other Pitwall package, so it repeats the limit and this holds it.
func TestMaxSectors(t *testing.T) {
	if track.MaxSectors != telemetry.MaxSectors {
		t.Fatalf("track.MaxSectors %d, telemetry.MaxSectors %d", track.MaxSectors, telemetry.MaxSectors)
	}
}
