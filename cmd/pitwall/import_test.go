package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
)

// pitwall import sends a log once: the second run of the same command
// says it is already imported and sends nothing. Bad flags are one-line
// errors.
func TestImport(t *testing.T) {
	b := brokertest.Start(t)
	path := filepath.Join(t.TempDir(), "session.csv")
	var buf bytes.Buffer
	if _, err := simulator.WriteLog(context.Background(), simulator.Config{Track: "brands-indy", Laps: 1, GPSRateHz: 10, Quiet: true},
		simulator.LogTrackAddict, &buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := importMain(context.Background(), append([]string{"--brokers", b.Addr, "--log-level", "warn"}, args...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, progress, err := run(path, "--car", "ta1")
	if err != nil || !strings.Contains(out, "session.csv: trackaddict, car ta1") || !strings.Contains(out, "sent now") ||
		!strings.Contains(out, "2 device lap markers") {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	if !strings.Contains(progress, "100%") {
		t.Errorf("no progress lines on stderr:\n%s", progress)
	}
	out, _, err = run("--car", "ta1", path)
	if err != nil || !strings.Contains(out, "already imported") {
		t.Errorf("second import: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{path}, "--car ID is required"},
		{[]string{"--car", "x"}, "want at least one log file"},
		{[]string{path, "--car", "x", "--format", "motec"}, "want auto, racechrono, trackaddict, aim or csv"},
		{[]string{path, "--car", "x", "--speed", "fast"}, "want max, or a factor"},
		{[]string{path, "--car", "x", "--map", "time"}, "want ROLE=COLUMN"},
		{[]string{filepath.Join(t.TempDir(), "missing.csv"), "--car", "x"}, "no such file"},
	} {
		if _, _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}
