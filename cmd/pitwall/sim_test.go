package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

func TestRunSimWritesParseableLinesAndTruth(t *testing.T) {
	dir := t.TempDir()
	out, truth := filepath.Join(dir, "out.txt"), filepath.Join(dir, "truth.csv")
	err := runSim(context.Background(), []string{"--track", "brands-indy", "--cars", "2", "--laps", "1",
		"--speed", "max", "--seed", "3", "--out", "serial:" + out, "--truth", truth, "--log-level", "error"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, telemetry.MaxLineLen)
	frames := 0
	for sc.Scan() {
		var fr telemetry.Frame
		kind, err := telemetry.ParseLine(sc.Bytes(), &fr, &telemetry.ChannelLine{})
		if err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if kind == telemetry.LineFrame {
			frames++
		}
	}
	if frames < 1000 {
		t.Fatalf("%d frames", frames)
	}
	b, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Split(strings.TrimSpace(string(b)), "\n"); len(rows) != 3 {
		t.Fatalf("truth has %d lines, want a header and 2 laps:\n%s", len(rows), b)
	}
}

func TestRunSimFlags(t *testing.T) {
	if err := runSim(context.Background(), []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, args := range [][]string{
		{"--speed", "fast"},
		{"--speed", "0"},
		{"--start", "yesterday"},
		{"--cars", "0"},
		{"--rate", "rpm"},
		{"--track", "nowhere", "--out", "serial:" + filepath.Join(t.TempDir(), "x")},
		{"--out", "slcan:" + filepath.Join(t.TempDir(), "x"), "--cars", "2"},
		{"--pty", "--out", "kafka://127.0.0.1:1/t"},
		{"extra"},
	} {
		if err := runSim(context.Background(), append(args, "--log-level", "error")); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	for in, want := range map[string]float64{"1": 1, "10": 10, "max": 0, "2.5": 2.5} {
		if got, err := parseSpeed(in); err != nil || got != want {
			t.Errorf("parseSpeed(%q) = %v, %v", in, got, err)
		}
	}
}

// `pitwall sim` stamps its data now unless told otherwise, so the
// dashboards' last-5-minutes panels show it; epoch replays reproducibly.
func TestParseStart(t *testing.T) {
	before := time.Now()
	if got, err := parseStart("now"); err != nil || got.Before(before.Add(-time.Second)) || got.After(time.Now()) {
		t.Errorf("now: %v, %v", got, err)
	}
	if got, err := parseStart("epoch"); err != nil || !got.IsZero() {
		t.Errorf("epoch: %v, %v (zero means simulator.DefaultEpoch)", got, err)
	}
	if got, err := parseStart("2024-05-01T14:00:00Z"); err != nil || got.Unix() != 1714572000 {
		t.Errorf("RFC 3339: %v, %v", got, err)
	}
	if _, err := parseStart(""); err == nil {
		t.Error("empty --start accepted")
	}
}
