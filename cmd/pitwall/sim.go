package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/simulator"
)

// runSim is `pitwall sim`: simulated cars on a track, on the wires the
// edge reads. The simulation itself lives in package simulator.
func runSim(ctx context.Context, args []string) error {
	fs := newFlagSet("sim", "[flags]")
	cars := fs.Int("cars", 1, "number of cars (one CAN bus per car: slcan takes 1)")
	track := fs.String("track", "monza", "track to drive (see --list-tracks)")
	trackFile := fs.String("track-file", "", "a track file (pitwall process --print-track writes one): drive the track it names, checking its lines cross the road")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same bytes")
	speed := fs.String("speed", "1", "times real time: 1, 10, ... or max")
	laps := fs.Int("laps", 0, "stop after every car completed N laps (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after this much sensor time, e.g. 10m (0: no limit)")
	truth := fs.String("truth", "", "write every car's exact lap and sector times to this CSV file")
	channels := fs.Int("channels", 0, fmt.Sprintf("channels per car (0: the %d standard ones; more adds aux channels for load tests)", simulator.StandardChannelCount))
	pty := fs.Bool("pty", false, "create a pseudo-terminal, write the serial or slcan output to it and print the path the edge opens")
	out := fs.String("out", "", "output: serial:PATH (- is stdout), slcan:PATH, mqtt[s]://[USER@]HOST:PORT/PREFIX[?qos=1][&ca=FILE] (password: $PITWALL_MQTT_PASSWORD) or kafka://HOST:PORT/TOPIC (TLS/SASL: the --tls and --sasl-* flags); with --cars 1, nmea:PATH (a GPS receiver at --gps-rate); udp://HOST:PORT?format=f1-24|forza (a racing game) (default serial:-, or serial with --pty)")
	listTracks := fs.Bool("list-tracks", false, "list the built-in tracks and exit")
	start := fs.String("start", "now", "sensor time of the start: now (dashboards show it at once), RFC 3339, or epoch (2024-01-01T00:00:00Z: the same seed gives the same bytes)")
	session := fs.String("session", "", "session id (default TRACK-SEED)")
	gpsRate := fs.Int("gps-rate", 25, "GPS fixes per second (divides 1000)")
	auxRate := fs.Int("aux-rate", 200, "rate of the aux channels in Hz (divides 1000)")
	rates := fs.String("rate", "", "channel rates, e.g. rpm=100,speed=100 (each divides 1000)")
	quiet := fs.Bool("quiet", false, "no sensor noise, dropouts or glitches")
	pitEvery := fs.Int("pit-every", 10, "laps between pit stops (0: never)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	mqttPWFile := fs.String("mqtt-password-file", "", "`FILE` holding the password (first line) of an mqtt[s]:// --out whose URL has none (default: $PITWALL_MQTT_PASSWORD)")
	faults, faultTruth := addFaultFlags(fs)
	var sec kafkasec.Config
	sec.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *listTracks {
		return simulator.ListTracks(os.Stdout)
	}
	if err := atLeast1("cars", *cars); err != nil {
		return err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return err
	}
	if *trackFile != "" && !flagSet(fs, "track") {
		*track = "" // the file's
	}
	cfg := simulator.Config{
		Track: *track, TrackFile: *trackFile, Cars: *cars, Seed: *seed, Laps: *laps, Duration: *duration,
		Session: *session, Channels: *channels, GPSRateHz: *gpsRate, AuxRateHz: *auxRate,
		Quiet: *quiet, PitEvery: *pitEvery, Out: *out, PTY: *pty, Truth: *truth, Logger: log, Security: sec,
		Faults: *faults, FaultTruth: *faultTruth,
	}
	if *pitEvery == 0 {
		cfg.PitEvery = -1
	}
	if *mqttPWFile != "" {
		b, err := os.ReadFile(*mqttPWFile)
		if err != nil {
			return fmt.Errorf("--mqtt-password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		cfg.MQTTPassword = kafkasec.Secret(strings.TrimSuffix(line, "\r"))
	}
	if cfg.Speed, err = parseSpeed(*speed); err != nil {
		return err
	}
	if cfg.Start, err = parseStart(*start); err != nil {
		return err
	}
	if cfg.Rates, err = simulator.ParseRates(*rates); err != nil {
		return err
	}
	return simulator.Run(ctx, cfg)
}

// parseSpeed reads --speed: a positive multiple of real time, or max (0).
func parseSpeed(s string) (float64, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || v > 1e6 {
		return 0, fmt.Errorf("--speed %q: want a positive number or max", s)
	}
	return v, nil
}

// parseStart reads --start: now, epoch (simulator.DefaultEpoch, for
// reproducible replays), or RFC 3339.
func parseStart(s string) (time.Time, error) {
	switch s {
	case "epoch":
		return time.Time{}, nil
	case "now":
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start %q: want now, epoch or RFC 3339 (2024-05-01T14:00:00Z)", s)
	}
	return t, nil
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
