package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/up"
)

// runUp is `pitwall up`: the broker, the simulator, the edge over a pty,
// the lap processor and a live timing board in one process (package up).
func runUp(ctx context.Context, args []string) error {
	cfg, level, err := upConfig(args)
	if err != nil {
		return err
	}
	if cfg.Logger, err = newLogger(level); err != nil {
		return err
	}
	return up.Run(ctx, cfg)
}

// upConfig turns the command line into a config.
func upConfig(args []string) (up.Config, string, error) {
	fs := newFlagSet("up", "[--cars N] [--track NAME] [--speed 1|10|max] [--laps N] [--influx-url URL] [flags]")
	dataDir := fs.String("data-dir", "", "broker log and edge spool directory (default: a temporary directory, removed on exit)")
	listen := fs.String("listen", "127.0.0.1:0", "the embedded broker's address (Kafka tools can connect to it)")
	brokers := fs.String("brokers", "", "run on these Kafka bootstrap brokers (comma-separated; Pitwall's or Apache Kafka) instead of the embedded broker")
	var sec kafkasec.Config
	sec.AddFlags(fs)
	cars := fs.Int("cars", 4, "number of simulated cars")
	track := fs.String("track", up.DefaultTrack, "track to drive (pitwall sim --list-tracks)")
	trackFile := fs.String("track-file", "", "drive the track this track file names and time laps with its lines (pitwall process --track T --print-track writes one)")
	speed := fs.String("speed", "1", "times real time: 1, 10, ... or max")
	seed := fs.Uint64("seed", 1, "simulator random seed")
	laps := fs.Int("laps", 0, "exit once every car completed N laps (0: run until Ctrl-C)")
	group := fs.String("group", "pitwall-up", "the lap processor's consumer group")
	influxURL := fs.String("influx-url", "", "also write laps and channels to this InfluxDB, e.g. http://127.0.0.1:8086")
	bucket := fs.String("influx-bucket", "pitwall", "InfluxDB bucket (1.8: database)")
	token := influxTokenFlags(fs)
	org := fs.String("influx-org", "", "InfluxDB organisation (2.x)")
	truth := fs.String("truth", "", "write the simulator's exact lap times to this CSV file")
	board := fs.String("board", "auto", "auto (a live board when stdout is a terminal), on, or lines (one line per lap)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error (logs go to stderr)")
	webAddr := fs.String("web", "127.0.0.1:8080", "serve the pit wall page (live timing tower, track map) on HOST:PORT, or off")
	rates := fs.String("rate", "", "simulated channel rates, e.g. rpm=200,speed=200 (each divides 1000; pitwall bench web sets every channel)")
	loadAlarms := alarmsFlag(fs, "the lap processor evaluates; raised alarms show on the page and the board")
	faults, faultTruth := addFaultFlags(fs)
	drivers := fs.String("drivers", "", "YAML file naming the cars on the page: car01: {number: \"44\", name: ..., team: ..., colour: \"#rrggbb\"}")
	if err := parseFlags(fs, args); err != nil {
		return up.Config{}, "", err
	}
	if fs.NArg() > 0 {
		return up.Config{}, "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := atLeast1("cars", *cars); err != nil {
		return up.Config{}, "", err
	}
	if *trackFile != "" && !flagSet(fs, "track") {
		*track = "" // the file's
	}
	tok, err := token()
	if err != nil {
		return up.Config{}, "", err
	}
	cfg := up.Config{
		DataDir: *dataDir, Listen: *listen, Cars: *cars, Track: *track, TrackFile: *trackFile, Seed: *seed, Laps: *laps, Group: *group,
		InfluxURL: *influxURL, InfluxBucket: *bucket, InfluxToken: tok, InfluxOrg: *org, Truth: *truth,
	}
	cfg.Faults, cfg.FaultTruth = *faults, *faultTruth
	if *brokers != "" {
		if flagSet(fs, "listen") {
			return up.Config{}, "", fmt.Errorf("--listen is the embedded broker's address; with --brokers there is none")
		}
		cfg.Brokers = splitList(*brokers)
	}
	cfg.Security = sec
	if cfg.Alarms, err = loadAlarms(); err != nil {
		return up.Config{}, "", err
	}
	if *webAddr != "off" {
		cfg.Web = *webAddr
		cfg.OnWeb = func(url string) { fmt.Fprintf(os.Stderr, "pitwall up: pit wall page on %s\n", url) }
	}
	if *drivers != "" {
		d, err := web.LoadDrivers(*drivers)
		if err != nil {
			return up.Config{}, "", err
		}
		cfg.Drivers = d
	}
	if cfg.Rates, err = simulator.ParseRates(*rates); err != nil {
		return up.Config{}, "", fmt.Errorf("--rate: %w", err)
	}
	sp, err := parseSpeed(*speed)
	if err != nil {
		return up.Config{}, "", err
	}
	cfg.Speed = sp
	if sp == 0 {
		cfg.Speed = -1 // max
	}
	switch *board {
	case "auto":
		cfg.Terminal = up.IsTerminal(os.Stdout)
	case "on":
		cfg.Terminal = true
	case "lines":
	default:
		return up.Config{}, "", fmt.Errorf("--board %q: want auto, on or lines", *board)
	}
	return cfg, *logLevel, nil
}
