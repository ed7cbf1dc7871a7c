package track_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/track"
)

// circleCSV writes a planar log: laps anticlockwise round a circle of
// 1000 m at 40 m/s from (r, 0), fixes at 10 Hz, a lap counter that
// steps where each lap starts.
func circleCSV(laps int) string {
	r := 1000 / (2 * math.Pi)
	var b strings.Builder
	b.WriteString("# a game's session\ntime,x,z,lap\n")
	for i := 0; float64(i)/10 <= float64(laps)*25+5; i++ {
		s := float64(i) / 10
		a := 40*s/r - 0.5
		lap := int(math.Floor((40*s/r - 0.5) / (2 * math.Pi)))
		fmt.Fprintf(&b, "%.1f,%.4f,%.4f,%d\n", 100+s, r*math.Cos(a), r*math.Sin(a), lap)
	}
	return b.String()
}

// A planar log with a lap counter gives a track across the circle at
// the counter's steps, a lap long, crossed forwards; without the counter
// the first closed lap gives one of the same length.
func TestDeriveCircle(t *testing.T) {
	fixes, markers, err := track.ReadFixesCSV(strings.NewReader(circleCSV(3)), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(markers) != 4 { // the first crossing and three laps
		t.Fatalf("%d markers, want 4", len(markers))
	}
	tr, err := track.Derive(fixes, markers, track.DeriveConfig{Name: "circle", Planar: true, Sectors: 4})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tr.Length-1000) > 2 || len(tr.Sectors) != 3 || tr.PitFrom != 0 || tr.PitTo != 0 {
		t.Errorf("derived %+v", tr)
	}
	// Start/finish at (r, 0), heading +z: A towards the centre (-x).
	r := 1000 / (2 * math.Pi)
	sf := tr.StartFinish
	if mid := (sf.PA.X + sf.PB.X) / 2; math.Abs(mid-r) > 0.5 || !(sf.PA.X < sf.PB.X) || math.Abs(sf.PA.Z) > 0.5 {
		t.Errorf("start/finish %+v", sf)
	}
	if _, err := track.MarshalTiming(*tr); err != nil {
		t.Error(err)
	}
	noMarkers, err := track.Derive(fixes, nil, track.DeriveConfig{Planar: true})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(noMarkers.Length-1000) > 2 || noMarkers.Name != "derived" || len(noMarkers.Sectors) != 2 {
		t.Errorf("derived without markers %+v", noMarkers)
	}
}

func TestDeriveErrors(t *testing.T) {
	fixes, _, err := track.ReadFixesCSV(strings.NewReader(circleCSV(3)), true)
	if err != nil {
		t.Fatal(err)
	}
	half := fixes[:len(fixes)/6] // half a lap
	for name, tc := range map[string]struct {
		fixes   []track.Fix
		markers []int64
		cfg     track.DeriveConfig
		want    string
	}{
		"few fixes":       {fixes[:3], nil, track.DeriveConfig{Planar: true}, "fixes"},
		"no closed lap":   {half, nil, track.DeriveConfig{Planar: true}, "never came back"},
		"markers outside": {fixes, []int64{1, 2}, track.DeriveConfig{Planar: true}, "lap markers fall within"},
		"width":           {fixes, nil, track.DeriveConfig{Planar: true, Width: 900}, "width"},
		"not lat/lon":     {fixes, nil, track.DeriveConfig{}, "not a position"},
	} {
		if name == "not lat/lon" {
			tc.fixes = append([]track.Fix{{TimeNs: 1, LatLon: track.LatLon{Lat: 200}}}, fixes...)
		}
		_, err := track.Derive(tc.fixes, tc.markers, tc.cfg)
		if !errors.Is(err, track.ErrDerive) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrDerive mentioning %q", name, err, tc.want)
		}
	}
}

func TestReadFixesCSV(t *testing.T) {
	fixes, markers, err := track.ReadFixesCSV(strings.NewReader(
		"1700000000.25,45.1,9.2,1\n1700000000.5,45.2,9.3,1\n\n1700000000.6,,,2\n2023-11-14T22:13:21Z,45.3,9.4,2\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(fixes) != 3 || fixes[0].TimeNs != 1700000000250000000 || fixes[1].LatLon != (track.LatLon{Lat: 45.2, Lon: 9.3}) ||
		fixes[2].TimeNs != 1700000001000000000 || len(markers) != 1 || markers[0] != 1700000000600000000 {
		t.Errorf("fixes %+v markers %v", fixes, markers)
	}
	fixes, markers, err = track.ReadFixesCSV(strings.NewReader("Longitude,speed,Latitude,Time\n9.2,100,45.1,0.1\n9.3,101,45.2,0.2\n"), false)
	if err != nil || len(fixes) != 2 || fixes[1].LatLon.Lat != 45.2 || len(markers) != 0 {
		t.Errorf("header in another order: %v %+v %v", err, fixes, markers)
	}
	fixes, _, err = track.ReadFixesCSV(strings.NewReader("\ufefftime,lat,lon\r\n0.1,45.1,9.2\r\n0.2,45.2,9.3\r\n"), false)
	if err != nil || len(fixes) != 2 || fixes[1].LatLon.Lon != 9.3 {
		t.Errorf("a byte-order mark and CRLF (a file saved on Windows): %v %+v", err, fixes)
	}
	for _, bad := range []string{"time,speed\n1,2\n", "1,95,9\n", "x,45,9\n1,45,9\n1,a,9\n", "-5,45,9\n", "1,45,9\n\"unclosed\n"} {
		if _, _, err := track.ReadFixesCSV(strings.NewReader(bad), false); !errors.Is(err, track.ErrInvalid) || !strings.Contains(err.Error(), "line") {
			t.Errorf("%q: %v, want ErrInvalid naming the line", bad, err)
		}
	}
}

// A recorded log is outside input: reading it and deriving a track from
// whatever it gives never panics, and a derived track is a valid one.
func FuzzReadFixesCSV(f *testing.F) {
	f.Add(circleCSV(2), true)
	f.Add("time,lat,lon,lap\n1,45,9,1\n2,45.0001,9,1\n3,45.0002,9,2\n", false)
	f.Add("0,0,0\n1e9,0,0\n", false)
	f.Fuzz(func(t *testing.T, s string, planar bool) {
		fixes, markers, err := track.ReadFixesCSV(strings.NewReader(s), planar)
		if err != nil {
			return
		}
		tr, err := track.Derive(fixes, markers, track.DeriveConfig{Planar: planar})
		if err != nil {
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("derived an invalid track: %v", err)
		}
	})
}
