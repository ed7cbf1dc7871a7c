package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: pitwall track derive LOG.csv [flags]

Writes a track file (for pitwall process --track-file) from a recorded
session: a CSV of time,lat,lon[,lap] (or time,x,z[,lap] with --planar),
time in seconds or RFC 3339, with an optional header naming the columns.
Where the lap column changes, the device timed a lap: start/finish goes
there. Without it, the first closed lap of the log is used and
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
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	fixes, markers, err := track.ReadFixesCSV(f, *planar)
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
