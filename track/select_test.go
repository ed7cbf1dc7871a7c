package track_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/track"
)

// TimingFor takes a track file for the road the cars drive and refuses,
// naming the cause, one for another track, one that is no built-in road,
// and lines the road does not cross forwards.
func TestTimingFor(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, tm track.Timing) string {
		b, err := track.MarshalTiming(tm)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	brands := timing(t, "brands-indy")
	// Sector 1's line moved 30 m further along the road.
	road, err := track.Lookup("brands-indy")
	if err != nil {
		t.Fatal(err)
	}
	x, y, h := road.At(road.SectorAt[0] + 30)
	moved := brands
	moved.Sectors = append([]track.TimingLine(nil), brands.Sectors...)
	moved.Sectors[0].A, moved.Sectors[0].B = track.LineAcross(road.ToLatLon(x, y), 90-h*180/math.Pi, 16)
	movedPath := write("moved", moved)
	for _, name := range []string{"", "brands-indy"} {
		got, err := track.TimingFor(name, movedPath)
		if err != nil || !reflect.DeepEqual(got, moved) {
			t.Errorf("TimingFor(%q, moved): %+v, %v", name, got, err)
		}
	}
	if got, err := track.TimingFor("spa", ""); err != nil || !reflect.DeepEqual(got, timing(t, "spa")) {
		t.Errorf("no file: %+v, %v", got, err)
	}

	swapped := brands
	swapped.Sectors = append([]track.TimingLine(nil), brands.Sectors...)
	swapped.Sectors[1].A, swapped.Sectors[1].B = brands.Sectors[1].B, brands.Sectors[1].A
	off := brands
	off.StartFinish.A, off.StartFinish.B = shift(off.StartFinish.A, 0.01), shift(off.StartFinish.B, 0.01)
	other := brands
	other.Name = "my-club-circuit"
	for _, tc := range []struct {
		name, path, want string
	}{
		{"monza", movedPath, `is for "brands-indy" but the cars drive "monza" (give --track brands-indy)`},
		{"", write("other", other), `"my-club-circuit", which is not a built-in track`},
		{"brands-indy", write("other", other), `"my-club-circuit", which is not a built-in track`},
		{"", write("swapped", swapped), `does not cross its sector2 line from right to left`},
		{"", write("off", off), `does not cross its start_finish line`},
		{"", filepath.Join(dir, "missing.yaml"), "no such file"},
	} {
		_, err := track.TimingFor(tc.name, tc.path)
		if !errors.Is(err, track.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("TimingFor(%q, %s): %v, want %q", tc.name, filepath.Base(tc.path), err, tc.want)
		}
	}
}

// shift moves p north by dLat degrees (0.0003° is about 33 m).
func shift(p track.LatLon, dLat float64) track.LatLon {
	return track.LatLon{Lat: p.Lat + dLat, Lon: p.Lon}
}
