package up

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// The terminal board with the example alarm rules and car02's engine
// overheating from lap 1 (fixed at its stop at the end of the lap):
// car02's row gets the alarm mark in column 80 and the alarm is listed
// under the tower, then both go once it clears; car01 is never marked.
func TestBoardShowsAlarms(t *testing.T) {
	rules, err := alarm.Load("../dashboards/alarms.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Cars: 2, Track: "brands-indy", Speed: -1, PitEvery: 1, Terminal: true, Refresh: 20 * time.Millisecond,
			Alarms: rules, Faults: []simulator.Fault{{Car: "car02", Kind: simulator.FaultOverheat, Lap: 1}},
			Rates: map[string]int{telemetry.ChanGVert: 50}, Stdout: &out, Logger: quietLogger(t)})
	}()
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]")
	marked := regexp.MustCompile(`(?m)^ *\d car02 .* !$`)
	listed := regexp.MustCompile(`(?m)^ALARM car02 +water_hot +Water temperature over 110 °C \(water_temp 1[1-3]\d\.?\d*\)$`)
	var sawAlarm, sawClear bool
	deadline := time.Now().Add(3 * time.Minute)
	for !sawClear {
		frames := strings.Split(out.String(), "\x1b[H")
		for _, f := range frames[:len(frames)-1] { // the last may be half written
			plain := ansi.ReplaceAllString(f, "")
			for _, l := range strings.Split(plain, "\n") {
				// The header line ("Pitwall  brands-indy ... broker
				// 127.0.0.1:PORT ...") is not the tower's and not checked.
				if n := len([]rune(l)); n > 80 && !strings.HasPrefix(l, "Pitwall ") {
					t.Fatalf("%d columns: %q", n, l)
				}
			}
			if regexp.MustCompile(`(?m)^ *\d car01 .* !$|^ALARM car01`).MatchString(plain) {
				t.Fatalf("the healthy car01 marked:\n%s", plain)
			}
			switch {
			case marked.MatchString(plain) && listed.MatchString(plain):
				if !sawAlarm {
					t.Logf("board with the alarm:\n%s", plain)
				}
				sawAlarm = true
				if !strings.Contains(f, ansiRed+"!"+ansiReset) {
					t.Errorf("critical alarm mark not red: %q", f)
				}
			case sawAlarm && !strings.Contains(plain, "ALARM") && !strings.Contains(plain, "!"):
				sawClear = true
			}
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned %v; alarm seen %v, cleared %v", err, sawAlarm, sawClear)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: alarm seen %v, cleared %v; last board:\n%s", sawAlarm, sawClear, ansi.ReplaceAllString(frames[len(frames)-2], ""))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRenderAlarms(t *testing.T) {
	var sb strings.Builder
	as := []telemetry.Alarm{
		{Car: "car02", Rule: "water_hot", Channel: "water_temp", Severity: telemetry.SeverityCritical, Message: "Water temperature over 110 °C", Value: 113.5},
		{Car: "car01", Rule: "a_rule_with_a_long_name", Channel: "tyre_press_rr", Severity: telemetry.SeverityWarning, Message: strings.Repeat("long ", 30), Value: 1.25},
	}
	if err := RenderAlarms(&sb, as, web.Drivers{"car02": {Number: "1", Name: "Max Verstappen"}}, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(sb.String(), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "ALARM 1 Versta water_hot      Water temperature over 110 °C (water_temp 113.5)" ||
		!strings.HasPrefix(lines[1], "ALARM car01    a_rule_with_a_ long long") || len([]rune(lines[1])) != 80 {
		t.Errorf("alarm lines:\n%s", sb.String())
	}
	if got := AlarmLine(&as[0]); got != "car02 ALARM water_hot water_temp cleared: Water temperature over 110 °C (113.5)" {
		t.Errorf("AlarmLine = %q", got)
	}
}
