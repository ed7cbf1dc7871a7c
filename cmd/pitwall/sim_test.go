package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
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

// TestSimTrackFile drives the track a track file names (no --track) and
// times it with the file's lines: sector 1's line moved 30 m along the
// road gives every lap the simulator's exact lap time, a longer sector 1
// and a shorter sector 2 than the simulator's own lines (its truth CSV).
// A file for another track than --track is refused before anything runs.
func TestSimTrackFile(t *testing.T) {
	dir := t.TempDir()
	road, err := track.Lookup("brands-indy")
	if err != nil {
		t.Fatal(err)
	}
	tm := road.Timing()
	x, y, h := road.At(road.SectorAt[0] + 30)
	tm.Sectors[0].A, tm.Sectors[0].B = track.LineAcross(road.ToLatLon(x, y), 90-h*180/math.Pi, 16)
	b, err := track.MarshalTiming(tm)
	if err != nil {
		t.Fatal(err)
	}
	file, truth := filepath.Join(dir, "brands-moved.yaml"), filepath.Join(dir, "truth.csv")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runSim(t.Context(), []string{"--track", "monza", "--track-file", file, "--log-level", "error"}); err == nil ||
		!strings.Contains(err.Error(), `is for "brands-indy" but the cars drive "monza"`) {
		t.Fatalf("--track monza with a brands-indy file: %v", err)
	}

	addr := brokertest.Start(t).Addr
	if err := runSim(t.Context(), []string{"--track-file", file, "--cars", "2", "--laps", "2", "--speed", "max", "--quiet",
		"--start", "epoch", "--truth", truth, "--out", "kafka://" + addr + "/telemetry", "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	want := readCSV(t, truth) // car,lap,start_ns,end_ns,lap_time_s,s1_s,s2_s,s3_s,pit_lane
	if len(want) != 5 {
		t.Fatalf("truth: %q", want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- runProcess(ctx, []string{"--brokers", addr, "--group", "moved", "--track-file", file, "--log-level", "warn"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pitwall process: %v", err)
		}
	}()
	var got [][]string // group,car,session,lap,start_ns,end_ns,time_s,valid,pit_lane,device_time_s,diff_s,sectors_s
	for deadline := time.Now().Add(2 * time.Minute); len(got) < 5; time.Sleep(100 * time.Millisecond) {
		var out bytes.Buffer
		err := lapsTo(t.Context(), []string{"--brokers", addr, "--group", "moved", "--output", "csv"}, &out, io.Discard)
		if err == nil {
			got = readCSVText(t, out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("laps timed: %q (%v), want 4", got, err)
		}
	}
	for _, w := range want[1:] {
		var g []string
		for _, r := range got[1:] {
			if r[1] == w[0] && r[3] == w[1] {
				g = r
			}
		}
		if g == nil {
			t.Fatalf("no lap %s of %s timed: %q", w[1], w[0], got)
		}
		s := strings.Fields(g[11])
		lapD, s1D, s2D, s3D := secs(t, g[6])-secs(t, w[4]), secs(t, s[0])-secs(t, w[5]), secs(t, s[1])-secs(t, w[6]), secs(t, s[2])-secs(t, w[7])
		if math.Abs(lapD) > 0.01 || math.Abs(s3D) > 0.01 || s1D < 0.2 || math.Abs(s1D+s2D) > 0.01 {
			t.Errorf("%s lap %s: timed %v %v, truth %v: want the same lap and sector 3, sector 1 longer and sector 2 shorter by the same",
				w[0], w[1], g[6], s, w[4:8])
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readCSVText(t, string(b))
}

func readCSVText(t *testing.T, text string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return rows
}

func secs(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
