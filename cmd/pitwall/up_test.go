package main

import (
	"bufio"
	"encoding/csv"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestUpLapLines runs `pitwall up --laps 1 --speed max` with stdout a pipe
// (no terminal): it must print one line per car and lap, exit 0, and its
// lap and sector times must be the simulator's truth within the lap
// detector's GPS tolerance.
func TestUpLapLines(t *testing.T) {
	bin := buildPitwall(t)
	truth := filepath.Join(t.TempDir(), "truth.csv")
	cmd := exec.Command(bin, "up", "--laps", "1", "--speed", "max", "--cars", "2", "--track", "brands-indy", "--truth", truth, "--web", "127.0.0.1:0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pitwall up: %v\nstderr:\n%s", err, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^pitwall up: pit wall page on http://127\.0\.0\.1:\d+/$`).MatchString(stderr.String()) {
		t.Errorf("no pit wall page announced on stderr:\n%s", stderr.String())
	}
	line := regexp.MustCompile(`^(car\d\d) lap (\d+) (\d+):(\d\d\.\d{3}) s1 (\d+\.\d{3}) s2 (\d+\.\d{3}) s3 (\d+\.\d{3})$`)
	want := readTruthCSV(t, truth)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (one per car):\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q does not match %v", l, line)
		}
		car, lap := m[1], m[2]
		if lap != "1" || seen[car] {
			t.Errorf("line %q: want lap 1 once per car", l)
		}
		seen[car] = true
		tr, ok := want[car+"/"+lap]
		if !ok {
			t.Fatalf("no truth for %s lap %s", car, lap)
		}
		mins, _ := strconv.ParseFloat(m[3], 64)
		secs, _ := strconv.ParseFloat(m[4], 64)
		got := []float64{mins*60 + secs, num(m[5]), num(m[6]), num(m[7])}
		// 25 Hz GPS with the simulator's default 0.15 m noise: the
		// detector's interpolated crossings are within a few ms; 50 ms is
		// more than a whole GPS period.
		for i := range got {
			if d := math.Abs(got[i] - tr[i]); d > 0.05 {
				t.Errorf("%s lap %s: time %d is %.3f s, truth %.3f s", car, lap, i, got[i], tr[i])
			}
		}
	}
}

func num(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// readTruthCSV returns "car/lap" → lap time, s1, s2, s3 (seconds).
func readTruthCSV(t *testing.T, path string) map[string][]float64 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for _, r := range rows[1:] {
		out[r[0]+"/"+r[1]] = []float64{num(r[4]), num(r[5]), num(r[6]), num(r[7])}
	}
	return out
}

func TestUpFlags(t *testing.T) {
	cfg, level, err := upConfig([]string{"--cars", "3", "--track", "spa", "--speed", "max", "--laps", "2", "--board", "lines",
		"--influx-url", "http://127.0.0.1:8086", "--data-dir", "/tmp/x"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cars != 3 || cfg.Track != "spa" || cfg.Speed >= 0 || cfg.Laps != 2 || cfg.Terminal ||
		cfg.InfluxURL != "http://127.0.0.1:8086" || cfg.InfluxBucket != "pitwall" || cfg.DataDir != "/tmp/x" || level != "warn" {
		t.Errorf("config %+v, level %s", cfg, level)
	}
	if cfg, _, _ := upConfig([]string{"--speed", "10", "--board", "on"}); cfg.Speed != 10 || !cfg.Terminal || cfg.Cars != 4 {
		t.Errorf("--speed 10 --board on: %+v", cfg)
	}
	// --track-file alone drives the file's track (up.Run reads it);
	// with --track, that one, which the file must be for.
	if cfg, _, _ := upConfig([]string{"--track-file", "monza.yaml"}); cfg.Track != "" || cfg.TrackFile != "monza.yaml" {
		t.Errorf("--track-file alone: track %q, file %q", cfg.Track, cfg.TrackFile)
	}
	if cfg, _, _ := upConfig([]string{"--track-file", "m.yaml", "--track", "monza"}); cfg.Track != "monza" {
		t.Errorf("--track-file --track monza: track %q", cfg.Track)
	}
	t.Setenv("PITWALL_CARS", "7")
	if cfg, _, _ := upConfig(nil); cfg.Cars != 7 {
		t.Errorf("PITWALL_CARS=7: cars %d", cfg.Cars)
	}
	if cfg, _, err := upConfig([]string{"--rate", "g_vert=200,damper_fl=200"}); err != nil || cfg.Rates["g_vert"] != 200 || len(cfg.Rates) != 2 {
		t.Errorf("--rate: %v %v", cfg.Rates, err)
	}
	for _, bad := range [][]string{{"--speed", "fast"}, {"--board", "maybe"}, {"extra"}, {"--cars", "0"}, {"--rate", "rpm"}} {
		if _, _, err := upConfig(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// SIGHUP (the terminal closed, an ssh session dropped) stops `pitwall up`
// as SIGTERM does: exit 0 and its temporary data directory removed.
func TestUpSIGHUP(t *testing.T) {
	bin := buildPitwall(t)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "up", "--speed", "20", "--cars", "1", "--track", "brands-indy", "--board", "lines", "--web", "off")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	first, err := bufio.NewReader(stdout).ReadString('\n') // a lap: everything is running
	if err != nil {
		t.Fatalf("no lap line: %v", err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "pitwall-up-*")); len(dirs) != 1 {
		t.Fatalf("data directories while running: %v", dirs)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGHUP (first line %q): %v", first, err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "pitwall-up-*")); len(dirs) != 0 {
		t.Fatalf("left behind: %v", dirs)
	}
}

// pitwall up --brokers runs on a cluster of one's own, with the client
// security flags; --listen names the embedded broker, so not beside it.
func TestUpBrokersFlags(t *testing.T) {
	cfg, _, err := upConfig([]string{"--brokers", "127.0.0.1:9092, 127.0.0.1:9192", "--tls", "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "pit"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Brokers) != 2 || cfg.Brokers[1] != "127.0.0.1:9192" || !cfg.Security.TLS || cfg.Security.Mechanism != "SCRAM-SHA-512" || cfg.Security.User != "pit" {
		t.Errorf("brokers %q, security %+v", cfg.Brokers, cfg.Security)
	}
	if _, _, err := upConfig([]string{"--brokers", "127.0.0.1:9092", "--listen", "127.0.0.1:9093"}); err == nil || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("--brokers with --listen: %v", err)
	}
}
