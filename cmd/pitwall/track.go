package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/track"
)

// runTrack is `pitwall track derive LOG`: a track file from a recorded
// session (package track, Derive).
func runTrack(ctx context.Context, args []string) error {
	return trackMain(ctx, args, os.Stdout, os.Stderr)
}

func trackMain(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "derive" {
		return errors.New("want: pitwall track derive LOG.csv [flags] (run 'pitwall track derive -h' for the flags)")
	}
	fs := newFlagSet("track derive", "LOG.csv [--name NAME] [--planar] [--width M] [--sectors N] [--out FILE]")
	name := fs.String("name", "derived", "the track's name")
	planar := fs.Bool("planar", false, "the log's positions are x/z metres (a game), not latitude/longitude")
	width := fs.Float64("width", 30, "width of the timing lines in metres (start/finish is widened to reach the pit lane when the log crosses it there)")
	sectors := fs.Int("sectors", 3, "sectors per lap, cut at equal distances")
	out := fs.String("out", "", "write the track file here (default stdout)")
	format := fs.String("format", "auto", "auto, racechrono, trackaddict, aim, csv (a device export, as pitwall import reads it) or fixes (time,lat,lon[,lap])")
	mapping := fs.String("map", "", "with --format csv: Pitwall's column roles to the file's columns, e.g. time=Time,lat=Latitude,lon=Longitude,lap=Lap")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: pitwall track derive LOG.csv [flags]

Writes a track file (for pitwall process --track-file) from a recorded
session: a device's export (RaceChrono, TrackAddict/RaceRender or AiM CSV,
found by its first lines, or a generic CSV with --format csv --map, as
pitwall import reads them), or a CSV of time,lat,lon[,lap] (time,x,z[,lap]
with --planar; what pitwall edge --in udp://...&record=DIR writes), time in
seconds or RFC 3339, with an optional header naming the columns. Where the
device marked a lap, start/finish goes there. Without it, the first closed lap of the log is used and
start/finish goes on its straightest part: move it where you want it.

flags:
`)
		fs.PrintDefaults()
	}
	rest, err := cli.ParseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("want one log file: pitwall track derive LOG.csv")
	}
	if err := atLeast1("sectors", *sectors); err != nil {
		return err
	}
	fixes, markers, err := deriveInput(rest[0], *format, *mapping, *planar)
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	tr, err := track.Derive(fixes, markers, track.DeriveConfig{Name: *name, Planar: *planar, Width: *width, Sectors: *sectors})
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	b, err := track.MarshalTiming(*tr)
	if err != nil {
		return err
	}
	how := "the first closed lap (no lap markers): start/finish is on its straightest part"
	if len(markers) >= 2 {
		how = fmt.Sprintf("%d lap markers", len(markers))
	}
	pit := "no crossing through a pit lane seen: pit laps only from the pit_limiter channel"
	if tr.PitTo > tr.PitFrom {
		pit = fmt.Sprintf("pit lane from %.2f to %.2f of the start/finish line", tr.PitFrom, tr.PitTo)
	}
	fmt.Fprintf(stderr, "derived %q from %d fixes and %s: lap %.0f m, %d sectors; %s\n", tr.Name, len(fixes), how, tr.Length, len(tr.Sectors)+1, pit)
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// deriveInput reads the fixes and device lap markers of a recorded log:
// a device export through edge/logs (as pitwall import reads it), or the
// plain fixes CSV.
func deriveInput(path, format, mapping string, planar bool) ([]track.Fix, []int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f := logs.Format(strings.ToLower(format))
	switch {
	case f == "fixes":
		return track.ReadFixesCSV(bytes.NewReader(raw), planar)
	case f == logs.FormatAuto || f == "":
		if f = logs.Sniff(raw[:min(len(raw), 4096)]); f == logs.FormatCSV {
			return track.ReadFixesCSV(bytes.NewReader(raw), planar) // time,lat,lon[,lap]
		}
	}
	if _, err := logs.ParseFormat(string(f)); err != nil {
		return nil, nil, fmt.Errorf("--format %q: want auto, racechrono, trackaddict, aim, csv or fixes", format)
	}
	m, err := logs.ParseMap(mapping)
	if err != nil {
		return nil, nil, err
	}
	l, err := logs.Read(bytes.NewReader(raw), logs.Options{Format: f, Car: "derive", Map: m})
	if err != nil {
		return nil, nil, err
	}
	fixes, markers := l.Fixes(planar)
	if len(fixes) == 0 {
		return nil, nil, fmt.Errorf("no positions in this %s log (want latitude and longitude; x and z with --planar)", f)
	}
	return fixes, markers, nil
}
