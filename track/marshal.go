package track

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// MarshalTiming writes t as a track file (lines in the a/b form), with
// comments saying what each field means, in which unit, and what this
// track's numbers come to (each line's length, where the pit lane is on
// start/finish), so a newcomer can edit it. ParseTiming reads it back as
// t exactly.
func MarshalTiming(t Timing) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := doc.Encode(fileOf(t)); err != nil {
		return nil, err
	}
	commentTiming(&doc, t)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{&doc}, HeadComment: fileHeader(t)}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fileOf is t in the file's form.
func fileOf(t Timing) *trackFile {
	line := func(l TimingLine) lineFile {
		if t.Planar {
			return lineFile{A: &pointFile{X: &l.PA.X, Z: &l.PA.Z}, B: &pointFile{X: &l.PB.X, Z: &l.PB.Z}}
		}
		return lineFile{A: &pointFile{Lat: &l.A.Lat, Lon: &l.A.Lon}, B: &pointFile{Lat: &l.B.Lat, Lon: &l.B.Lon}}
	}
	sf := line(t.StartFinish)
	f := &trackFile{Name: t.Name, Planar: t.Planar, LengthM: t.Length, StartFinish: &sf}
	for _, s := range t.Sectors {
		f.Sectors = append(f.Sectors, line(s))
	}
	if t.PitFrom != 0 || t.PitTo != 0 {
		f.PitLane = &pitFile{From: t.PitFrom, To: t.PitTo}
	}
	if d := t.Detection; d != (Detection{}) {
		f.Detection = &detectionFile{MaxGapS: d.MaxGap.Seconds(), DebounceS: d.Debounce.Seconds(), ReArmM: d.ReArm}
	}
	return f
}

// fileHeader is the comment at the top of a track file.
func fileHeader(t Timing) string {
	point := "{lat: DEGREES, lon: DEGREES}\n(WGS84, as a GPS gives them)"
	heading := "DEGREES clockwise from north"
	if t.Planar {
		point = "{x: METRES, z: METRES}\n(the game world's, from the channels pos_x and pos_z)"
		heading = "DEGREES clockwise from +z towards +x"
	}
	return "Pitwall track file: the timing lines of one circuit, read by\n" +
		"pitwall process --track-file FILE (and pitwall up, pitwall sim). After moving\n" +
		"a line, time the retained log again with a new --group.\n\n" +
		"Every line (start_finish and each sector line) is a segment across the track\n" +
		"from end a to end b, 1 to 500 m long; each end is " + point + ".\n" +
		"Looking from a to b, a car going the lap direction crosses from right to\n" +
		"left: a is on the driver's left. A line the other way round is only ever\n" +
		"crossed backwards, and refused. A line may instead be given by its middle,\n" +
		"the lap direction there and its length, which leaves no direction to get\n" +
		"wrong: {at: POINT, heading: " + heading + ", width: METRES}."
}

// commentTiming puts a comment on each key of the encoded track file n.
func commentTiming(n *yaml.Node, t Timing) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			v.LineComment = "the circuit; pitwall sim and up drive the built-in track of this name"
		case "planar":
			v.LineComment = "positions are game-world metres (x, z), not latitude and longitude"
		case "length_m":
			v.LineComment = "lap length in metres: start/finish crossed after less than half of it is no lap"
		case "start_finish":
			k.HeadComment = "Start/finish ends every lap. It spans the track and the pit lane beside it,\n" +
				"so a car driving through the pits crosses it too (see pit_lane)."
			commentLine(v, t, t.StartFinish)
		case "sectors":
			k.HeadComment = fmt.Sprintf("The lines ending sectors 1 to %d, in lap order; the last sector (%d) ends at\n"+
				"start/finish. Without sectors a lap has only its lap time.", len(t.Sectors), len(t.Sectors)+1)
			for j, s := range v.Content {
				commentLine(s, t, t.Sectors[j])
				s.Content[0].HeadComment = fmt.Sprintf("end of sector %d", j+1)
			}
		case "pit_lane":
			k.HeadComment = pitComment(t)
		case "detection":
			k.HeadComment = detectionComment
		}
	}
	if t.Detection == (Detection{}) {
		// The last key's foot comment ends the file.
		n.Content[len(n.Content)-1].FootComment = detectionComment + "\n" +
			"detection: {max_gap_s: 2.5, debounce_s: 1.5, rearm_m: 25}"
	}
}

// detectionComment explains the optional detection section.
const detectionComment = "Lap detection settings, optional; absent or 0 is the default, which follows\n" +
	"the measured GPS rate, and pitwall process flags override them:\n" +
	"  max_gap_s   longest gap between two GPS fixes, in seconds, that a line may\n" +
	"              be crossed in for the lap to stay valid (default 2.5 periods, >= 1)\n" +
	"  debounce_s  shortest time, in seconds, between two crossings of one line\n" +
	"              (default 1.5 GPS periods, >= 0.5)\n" +
	"  rearm_m     how far, in metres, a car must get from a line before crossing\n" +
	"              it counts again (default 25)"

// commentLine writes a line's ends in flow style ({lat: ..., lon: ...})
// and says which end is which and how long the line is.
func commentLine(v *yaml.Node, t Timing, l TimingLine) {
	for i := 1; i < len(v.Content); i += 2 {
		v.Content[i].Style = yaml.FlowStyle
	}
	if len(v.Content) >= 4 {
		v.Content[1].LineComment = "end a, on the driver's left"
		v.Content[3].LineComment = fmt.Sprintf("end b, on the right: the line is %.1f m long", t.LineLength(l))
	}
}

// pitComment explains pit_lane with this track's numbers.
func pitComment(t Timing) string {
	n := t.LineLength(t.StartFinish)
	return fmt.Sprintf("The part of the start/finish line that lies in the pit lane, as fractions of\n"+
		"the way from its end a (0) to its end b (1): here %.2f to %.2f, from %.1f m to\n"+
		"%.1f m along the %.1f m line. A crossing there makes both laps it separates\n"+
		"pit laps (in-lap and out-lap). Leave pit_lane out where the pit lane does not\n"+
		"cross start/finish: pit laps then come only from the pit_limiter channel.",
		t.PitFrom, t.PitTo, t.PitFrom*n, t.PitTo*n, n)
}
