package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

func TestErrorLine(t *testing.T) {
	sarama := errors.New("kafka: client has run out of available brokers to talk to")
	for _, tc := range []struct {
		cmd  string
		err  error
		want string
	}{
		{"up", fmt.Errorf("up: bad config: %w", errors.New("--cars 0")), "bad config: --cars 0"},
		{"topics", fmt.Errorf("kafka: %w", sarama), "kafka: client has run out of available brokers to talk to"},
		{"edge", errors.New("edge: config edge.yaml: line 3\nline 4"), "config edge.yaml: line 3; line 4"},
		{"sim", errors.New("bad track: bad track"), "bad track"},
	} {
		if got := errorLine(tc.cmd, tc.err); got != tc.want {
			t.Errorf("errorLine(%q, %q) = %q, want %q", tc.cmd, tc.err, got, tc.want)
		}
	}
}

// A mistyped flag is one line on stderr that says what to run, not the
// usage followed by the error twice; -h prints the usage and exits 0.
func TestBadFlagOneLine(t *testing.T) {
	bin := buildPitwall(t)
	for _, args := range [][]string{{"up", "--bogus"}, {"sim", "--cars", "0"}, {"broker", "--nope"}} {
		var stderr strings.Builder
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%v: %v, want exit status 1", args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "pitwall "+args[0]+": ") {
			t.Errorf("%v: stderr is not one line:\n%s", args, stderr.String())
		}
	}
	out, err := exec.Command(bin, "up", "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "usage: pitwall up") || !strings.Contains(string(out), "-cars") {
		t.Errorf("up -h: %v\n%s", err, out)
	}
}

func TestVersion(t *testing.T) {
	bin := buildPitwall(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "pitwall ") || !strings.Contains(string(out), "go1.") {
		t.Errorf("--version: %v %q", err, out)
	}
}

func TestServiceCommandsKeepAHeapFloor(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"broker", "--listen", "127.0.0.1:0"}, true},
		{[]string{"edge"}, true},
		{[]string{"process"}, true},
		{[]string{"up"}, true},
		{[]string{"web"}, true},
		{[]string{"bench", "pipeline", "--stage", "live"}, true},
		{[]string{"bench", "pipeline", "--stage=process"}, true},
		{[]string{"bench", "pipeline", "--in", "serial"}, false}, // the load generator
		{[]string{"bench", "produce"}, false},                    // sets its own GOGC
		{[]string{"topics", "list"}, false},
		{[]string{"sim"}, false},
	} {
		if got := service(tc.args); got != tc.want {
			t.Errorf("service(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
