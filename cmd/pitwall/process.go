package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/track"
)

// runProcess is `pitwall process`: the lap processor (package processors)
// in a consumer group on the telemetry topic.
func runProcess(ctx context.Context, args []string) error {
	fs := newFlagSet("process", "--brokers HOST:PORT --track NAME [flags]")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	group := fs.String("group", "pitwall-laps", "consumer group id (a new group re-reads the retained log)")
	trackName := fs.String("track", "monza", "built-in track whose timing lines to use (pitwall sim --list-tracks)")
	trackFile := fs.String("track-file", "", "timing lines from a track file (YAML, see --print-track) instead of a built-in --track")
	printTrack := fs.Bool("print-track", false, "print --track's timing lines as a track file, to edit for --track-file, and exit")
	beacon := fs.String("beacon", "", "lap beacon channel name (default none: start/finish from GPS)")
	influxURL := fs.String("influx-url", "", "InfluxDB URL, e.g. http://127.0.0.1:8086 (default none: laps go to telemetry.laps only)")
	bucket := fs.String("influx-bucket", "pitwall", "InfluxDB bucket (1.8: database or database/retention-policy)")
	token := influxTokenFlags(fs)
	org := fs.String("influx-org", "", "InfluxDB organisation (2.x)")
	edgeMetrics := fs.String("edge-metrics", "", "the edges' metrics addresses HOST:PORT, comma-separated, for the pipeline measurement's ingest rate and spool depth (default none: consumer lag only)")
	window := fs.Duration("window", influx.DefaultWindow, "downsampling window of the telemetry measurement")
	maxGap := fs.Duration("max-gap", 0, "longest GPS gap a line may be crossed in for the lap to stay valid (default: the track file's, else the larger of 1s and 2.5 GPS periods)")
	debounce := fs.Duration("debounce", 0, "shortest time between two crossings of one line (default: the track file's, else the larger of 500ms and 1.5 GPS periods)")
	rearm := fs.Float64("rearm", 0, "metres a car must get from a line before it counts again (default: the track file's, else 25)")
	catalogWait := fs.Duration("catalog-wait", 10*time.Second, "how long a car's first frame waits for its channel catalog before its frames go to telemetry.deadletter")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	loadAlarms := alarmsFlag(fs, "to evaluate on every car's frames: raised and cleared alarms go to telemetry.alarms and InfluxDB (measurement alarms)")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if *maxGap < 0 || *debounce < 0 || *rearm < 0 || *catalogWait <= 0 {
		return errors.New("--max-gap, --debounce and --rearm must not be negative, --catalog-wait must be positive")
	}
	tr, err := processTrack(fs, *trackName, *trackFile)
	if err != nil {
		return err
	}
	if *printTrack {
		b, err := track.MarshalTiming(tr)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	}
	cfg := processors.Config{
		Brokers: strings.Split(*brokers, ","), Security: sec, Group: *group, Window: *window, Logger: log, CatalogWait: *catalogWait,
		Lap: lap.Config{Track: tr, Beacon: *beacon, MaxGap: *maxGap, Debounce: *debounce, ReArm: *rearm},
	}
	if *influxURL != "" {
		tok, err := token()
		if err != nil {
			return err
		}
		cfg.Influx = &influx.Config{URL: *influxURL, Bucket: *bucket, Token: tok, Org: *org}
	}
	if cfg.Alarms, err = loadAlarms(); err != nil {
		return err
	}
	if *edgeMetrics != "" {
		cfg.EdgeMetrics = strings.Split(*edgeMetrics, ",")
		for _, a := range cfg.EdgeMetrics {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
				return fmt.Errorf("--edge-metrics %q: want HOST:PORT[,HOST:PORT...]", *edgeMetrics)
			}
		}
	}
	return processors.Run(ctx, cfg)
}

// processTrack is the built-in --track or the --track-file, not both.
func processTrack(fs *flag.FlagSet, name, file string) (track.Timing, error) {
	if file == "" {
		return track.LookupTiming(name)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "track" })
	if explicit {
		return track.Timing{}, errors.New("give --track or --track-file, not both")
	}
	return track.LoadTiming(file)
}
