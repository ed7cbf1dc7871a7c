package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/track"
)

// Bad flags are refused before anything connects.
func TestProcessFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--track", "nowhere"}, "no track"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--edge-metrics", "edge:9464,edge"}, "--edge-metrics"},
		{[]string{"--track", "spa", "--track-file", "spa.yaml"}, "not both"},
		{[]string{"--track-file", "/nonexistent/spa.yaml"}, "bad track"},
		{[]string{"--max-gap", "-1s"}, "must not be negative"},
		{[]string{"--catalog-wait", "0s"}, "--catalog-wait"},
	} {
		err := runProcess(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// --print-track writes a track file that --track-file reads back as the
// very same timing lines.
func TestProcessPrintTrack(t *testing.T) {
	out, err := exec.Command(buildPitwall(t), "process", "--track", "spa", "--print-track").Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := track.ParseTiming(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want, err := track.LookupTiming("spa")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("printed track %+v, want %+v", got, want)
	}
	path := filepath.Join(t.TempDir(), "spa.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := exec.Command(buildPitwall(t), "process", "--track-file", path, "--print-track").Output()
	if err != nil || string(again) != string(out) {
		t.Errorf("--track-file then --print-track: %v\n%s\nwant\n%s", err, again, out)
	}
}
