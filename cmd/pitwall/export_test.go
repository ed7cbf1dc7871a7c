package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// pitwall export writes a lap (or the session) of a car from the log as
// a RaceChrono or MoTeC i2 CSV file, marked with the laps a processor
// group timed: read back, the lap's crossings are its markers.
func TestExportCommand(t *testing.T) {
	b := brokertest.Start(t)
	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	err := simulator.Run(context.Background(), simulator.Config{Track: "brands-indy", Cars: 1, Laps: 2, Seed: 4, GPSRateHz: 10, Session: "s1",
		Rates: map[string]int{telemetry.ChanGVert: 50, telemetry.ChanDamper + "_fl": 50, telemetry.ChanDamper + "_fr": 50,
			telemetry.ChanDamper + "_rl": 50, telemetry.ChanDamper + "_rr": 50},
		Out: "kafka://" + b.Addr + "/" + telemetry.TopicFrames, Truth: truthPath})
	if err != nil {
		t.Fatal(err)
	}
	truth, err := simulator.ReadTruthFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := range truth {
		truth[i].Session = "s1"
		truth[i].SectorsNs = nil
	}
	produceLaps(t, b.Addr, "g", truth...)
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := exportTo(context.Background(), append([]string{"--brokers", b.Addr}, args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, msg, err := run("--car", "car01", "--lap", "2", "--format", "racechrono")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "exported lap 2 of session s1 of car01") {
		t.Errorf("summary %q", msg)
	}
	l, err := logs.Read(strings.NewReader(out), logs.Options{Car: "car01"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != logs.FormatRaceChrono || len(l.Markers) != 2 ||
		time.Duration(l.Markers[0]-truth[1].StartNs).Abs() > time.Millisecond || time.Duration(l.Markers[1]-truth[1].EndNs).Abs() > time.Millisecond {
		t.Errorf("read back as %s, markers %v; the lap runs from %d to %d", l.Format, l.Markers, truth[1].StartNs, truth[1].EndNs)
	}
	file := filepath.Join(t.TempDir(), "car01.csv")
	if _, _, err := run("--car", "car01", "--out", file, "--rate", "20"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][1] != "MoTeC CSV File" || rows[8][1] != "20" || rows[11][0] != "Beacon Markers" {
		t.Fatalf("MoTeC header: %q %q %q", rows[0], rows[8], rows[11])
	}
	if n := len(strings.Fields(rows[11][1])); n != 3 { // the crossings starting laps 1 and 2 and ending lap 2
		t.Errorf("beacon markers %q, want 3", rows[11][1])
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--car"},
		{[]string{"--car", "car01", "--lap", "9"}, "no lap 9"},
		{[]string{"--car", "car09"}, "no laps of car09"},
		{[]string{"--car", "car01", "--format", "ld"}, "--format"},
		{[]string{"--car", "car01", "--rate", "0"}, "--rate"},
	} {
		if _, _, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
