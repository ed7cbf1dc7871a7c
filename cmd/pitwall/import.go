package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/edge/importer"
	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// runImport is `pitwall import FILE...`: recorded logs into the broker
// as a car's frames (packages edge/logs and edge/importer).
func runImport(ctx context.Context, args []string) error {
	return importMain(ctx, args, os.Stdout, os.Stderr)
}

func importMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "FILE... --car ID [--format auto|racechrono|trackaddict|aim|csv] [--session NAME] [--speed max|1] --brokers HOST:PORT")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	car := fs.String("car", "", "the car id the log's frames go out as (required)")
	format := fs.String("format", "auto", "the logs' format: auto (sniffed from the header), racechrono (RaceChrono CSV v3), trackaddict (TrackAddict / RaceRender CSV), aim (AiM Race Studio CSV) or csv (generic, see --map)")
	session := fs.String("session", "", "the session id (default: the log's session title)")
	speed := fs.String("speed", "max", "max: as fast as the broker takes it; 1: replay in real time, at the original pace (dashboards animate); 2: twice as fast, ...")
	mapping := fs.String("map", "", "generic CSV columns, ROLE=COLUMN,... with roles time, lat, lon, x, z, speed, gps_speed, heading, lap, or a channel name (e.g. time=Time,lat=Latitude,lon=Longitude,rpm=Engine RPM)")
	topic := fs.String("topic", "", "the frames topic (default telemetry)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	files, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if sec, err = sec.Load(); err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("want at least one log file: pitwall import FILE... --car ID")
	}
	if *car == "" {
		return errors.New("--car ID is required: the car the log's frames go out as")
	}
	f, err := logs.ParseFormat(*format)
	if err != nil {
		return err
	}
	m, err := logs.ParseMap(*mapping)
	if err != nil {
		return err
	}
	pace, err := parseImportSpeed(*speed)
	if err != nil {
		return err
	}
	seeds, err := cli.SplitBrokers(*brokers)
	if err != nil {
		return err
	}
	logger, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	cfg := importer.Config{Brokers: seeds, Security: sec, Topic: *topic, Speed: pace, Progress: stderr, Terminal: isTerminal(stderr), Logger: logger}
	for _, file := range files {
		content, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		res, err := importer.Import(ctx, cfg, file, content, logs.Options{Format: f, Car: *car, Session: *session, Map: m})
		if err != nil {
			return err
		}
		switch {
		case res.Already:
			fmt.Fprintf(stdout, "%s: already imported (import %s): nothing sent\n", file, res.ID)
		default:
			l := res.Log
			fmt.Fprintf(stdout, "%s: %s, car %s, session %q: %d frames (%d sent now", file, l.Format, *car, l.Catalog.Session, len(l.Frames), res.Sent)
			if res.Resumed > 0 {
				fmt.Fprintf(stdout, ", %d before", res.Resumed)
			}
			fmt.Fprintf(stdout, "), %d channels, %d device lap markers", len(l.Catalog.Channels), len(l.Markers))
			if n := l.BadCount(); n > 0 {
				fmt.Fprintf(stdout, ", %d bad rows skipped (%s)", n, l.BadSummary())
			}
			fmt.Fprintln(stdout)
		}
	}
	return nil
}

// parseImportSpeed reads --speed: max (0: no pacing) or a positive factor.
func parseImportSpeed(s string) (float64, error) {
	if strings.EqualFold(s, "max") {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || v > 1e6 {
		return 0, fmt.Errorf("--speed %q: want max, or a factor such as 1 (real time)", s)
	}
	return v, nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
