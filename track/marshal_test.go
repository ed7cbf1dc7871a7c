package track_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/track"
)

// A written track file explains itself: every field has a comment, with
// this track's own numbers (line lengths, where the pit lane is on
// start/finish), the commented detection example parses, and the file
// still reads back as the same track.
func TestMarshalTimingComments(t *testing.T) {
	monza := timing(t, "monza")
	b, err := track.MarshalTiming(monza)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		"# Pitwall track file: the timing lines of one circuit",
		"a is on the driver's left",
		"{at: POINT, heading: DEGREES clockwise from north, width: METRES}",
		"name: monza # the circuit;",
		"length_m: 5793 # lap length in metres",
		"# Start/finish ends every lap.",
		"# end a, on the driver's left",
		"# end b, on the right: the line is 34.0 m long",
		"# The lines ending sectors 1 to 2, in lap order; the last sector (3) ends at",
		"# end of sector 1",
		"# end of sector 2",
		"here 0.47 to 1.00, from 16.0 m to\n# 34.0 m along the 34.0 m line",
		"#   max_gap_s   longest gap between two GPS fixes",
		"#   rearm_m     how far, in metres",
		"# detection: {max_gap_s: 2.5, debounce_s: 1.5, rearm_m: 25}",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	back, err := track.ParseTiming(b)
	if err != nil || !reflect.DeepEqual(back, monza) {
		t.Fatalf("read back %+v, %v; want %+v", back, err, monza)
	}

	// Uncommenting the example gives those settings; written again, the
	// detection section has its comment above it instead.
	edited := strings.Replace(text, "# detection: {", "detection: {", 1)
	tuned, err := track.ParseTiming([]byte(edited))
	if err != nil {
		t.Fatalf("%v\n%s", err, edited)
	}
	if want := (track.Detection{MaxGap: 2500 * time.Millisecond, Debounce: 1500 * time.Millisecond, ReArm: 25}); tuned.Detection != want {
		t.Errorf("uncommented example: %+v, want %+v", tuned.Detection, want)
	}
	b, err = track.MarshalTiming(tuned)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, "# Lap detection settings, optional;") || strings.Contains(s, "# detection: {") ||
		!strings.Contains(s, "\ndetection:\n  max_gap_s: 2.5\n") {
		t.Errorf("with detection:\n%s", s)
	}
	if back, err := track.ParseTiming(b); err != nil || !reflect.DeepEqual(back, tuned) {
		t.Errorf("read back %+v, %v; want %+v", back, err, tuned)
	}
}

// A planar track's file says its points are game-world metres.
func TestMarshalTimingPlanarComments(t *testing.T) {
	pl, err := track.ParseTiming([]byte("name: game\nplanar: true\nlength_m: 900\n" +
		"start_finish: {at: {x: -5, z: 7}, heading: 90, width: 12}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := track.MarshalTiming(pl)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"{x: METRES, z: METRES}", "DEGREES clockwise from +z towards +x",
		"planar: true # positions are game-world metres", "the line is 12.0 m long"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "# The lines ending sectors") || strings.Contains(string(b), "lies in the pit lane") {
		t.Errorf("comments on sections the track does not have:\n%s", b)
	}
	if back, err := track.ParseTiming(b); err != nil || !reflect.DeepEqual(back, pl) {
		t.Errorf("read back %+v, %v; want %+v", back, err, pl)
	}
}
