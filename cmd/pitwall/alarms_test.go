package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/processors/alarm"
)

// --alarms with a bad file stops pitwall process, up and web with the
// file's one-line error before anything starts; --fault with a bad fault
// stops pitwall sim and up.
func TestAlarmsAndFaultFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "alarms.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: water_hot\n    channel: water_temp\n    abov: 110\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, run := range map[string]func() error{
		"process": func() error { return runProcess(ctx, []string{"--brokers", "127.0.0.1:1", "--alarms", bad}) },
		"web": func() error {
			return runWeb(ctx, []string{"--brokers", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--alarms", bad})
		},
		"up": func() error {
			_, _, err := upConfig([]string{"--alarms", bad})
			return err
		},
	} {
		err := run()
		if !errors.Is(err, alarm.ErrRules) || !strings.Contains(err.Error(), bad+`:2: rule 1: unknown key "abov" on line 4`) {
			t.Errorf("%s --alarms %s: %v", name, bad, err)
		}
	}
	if err := runSim(ctx, []string{"--fault", "car02:fire@lap1"}); err == nil || !strings.Contains(err.Error(), `fault "car02:fire@lap1": want CAR:overheat@lapN`) {
		t.Errorf("sim --fault car02:fire@lap1: %v", err)
	}
	if _, _, err := upConfig([]string{"--fault", "car02:overheat"}); err == nil || !strings.Contains(err.Error(), `fault "car02:overheat": want CAR:overheat@lapN`) {
		t.Errorf("up --fault car02:overheat: %v", err)
	}
	if err := runSim(ctx, []string{"--cars", "2", "--fault", "car03:overheat@lap1", "--out", "serial:" + filepath.Join(dir, "x")}); err == nil || !strings.Contains(err.Error(), "no car car03") {
		t.Errorf("sim --cars 2 --fault car03:...: %v", err)
	}
}

// pitwall sim --fault (and PITWALL_FAULT, comma-separated) injects the
// faults and --fault-truth records when they began.
func TestSimFaultTruth(t *testing.T) {
	dir := t.TempDir()
	faults := filepath.Join(dir, "faults.csv")
	t.Setenv("PITWALL_FAULT", "car01:puncture-rr@lap1,car02:overheat@lap1")
	err := runSim(context.Background(), []string{"--track", "brands-indy", "--cars", "2", "--laps", "1", "--speed", "max",
		"--out", "serial:" + filepath.Join(dir, "out.txt"), "--fault-truth", faults, "--log-level", "error"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(faults)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "car,fault,wheel,lap,event,time_ns" || !strings.HasPrefix(lines[1], "car0") ||
		!strings.Contains(string(b), "car01,puncture,rr,1,begin,") || !strings.Contains(string(b), "car02,overheat,,1,begin,") {
		t.Errorf("fault truth:\n%s", b)
	}
}
