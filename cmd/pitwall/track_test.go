package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/track"
)

// pitwall track derive writes a track file from a CSV log, which
// process --track-file reads.
func TestTrackDerive(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "session.csv")
	r := 1000 / (2 * math.Pi)
	var b strings.Builder
	b.WriteString("time,x,z,lap\n")
	for i := 0; i <= 800; i++ { // 80 s at 10 Hz: three crossings, 40 m/s round a 1000 m circle
		s := float64(i) / 10
		a := 40*s/r - 0.5
		fmt.Fprintf(&b, "%.1f,%.4f,%.4f,%d\n", s, r*math.Cos(a), r*math.Sin(a), int(math.Floor(a/(2*math.Pi))))
	}
	if err := os.WriteFile(log, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := trackMain(context.Background(), []string{"derive", log, "--planar", "--name", "ring", "--sectors", "2"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	tr, err := track.ParseTiming(out.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if tr.Name != "ring" || !tr.Planar || math.Abs(tr.Length-1000) > 2 || len(tr.Sectors) != 1 {
		t.Errorf("derived %+v", tr)
	}
	if !strings.Contains(errOut.String(), "4 lap markers") {
		t.Errorf("summary %q", errOut.String())
	}
	file := filepath.Join(dir, "ring.yaml")
	if err := trackMain(context.Background(), []string{"derive", "--planar", "--out", file, log}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := track.LoadTiming(file); err != nil { // what process --track-file reads
		t.Errorf("the derived file: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "pitwall track derive"},
		{[]string{"derive"}, "one log file"},
		{[]string{"derive", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"derive", log}, "want columns time, lat, lon"}, // an x/z log without --planar
		{[]string{"derive", "--planar", "--sectors", "0", log}, "--sectors"},
	} {
		err := trackMain(context.Background(), tc.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// pitwall track derive reads a device's own export (found by its first
// lines) with the device's lap markers: a RaceChrono log at 25 Hz, an AiM
// log at 20 Hz and a TrackAddict phone log at 1 Hz, the sample logs
// pitwall import is tested with. The lap length matches the hand-written
// track file of that oval within a lap's worth of GPS noise.
func TestTrackDeriveDeviceLogs(t *testing.T) {
	want, err := track.LoadTiming("../../edge/importer/testdata/oval.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, summary string }{
		{"racechrono_25hz.csv", "lap markers"},
		{"aim_20hz.csv", "lap markers"},
		{"trackaddict_1hz.csv", "lap markers"},
	} {
		var out, errOut bytes.Buffer
		err := trackMain(context.Background(), []string{"derive", "../../edge/importer/testdata/" + tc.file, "--name", "oval"}, &out, &errOut)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		tr, err := track.ParseTiming(out.Bytes())
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.file, err, out.String())
		}
		if d := math.Abs(tr.Length - want.Length); d > 0.03*want.Length || !strings.Contains(errOut.String(), tc.summary) {
			t.Errorf("%s: lap %.0f m (the track file says %.0f); %s", tc.file, tr.Length, want.Length, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if err := trackMain(context.Background(), []string{"derive", "--format", "motec", "../../edge/importer/testdata/aim_20hz.csv"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("--format motec: %v", err)
	}
}
