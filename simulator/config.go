package simulator

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// ErrConfig reports a Config that cannot run.
var ErrConfig = errors.New("simulator: bad config")

// DefaultEpoch is the sensor time the simulation starts at unless
// Config.Start says otherwise, so runs with the same seed give the same
// bytes.
var DefaultEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Config configures a simulation. The zero value simulates one car on
// Monza as fast as possible, forever, to stdout in the serial line format.
type Config struct {
	// Track is a built-in track's name (see track.Builtin). Default "monza",
	// or TrackFile's track.
	Track string
	// TrackFile is a track file (track.LoadTiming) for the laps to be
	// timed with: the cars drive the built-in track it names, whose road
	// must cross its lines (track.TimingFor); Track, if set, must be that
	// track. The truth CSV stays the track's own lines' times. Default
	// none.
	TrackFile string
	// Cars is how many cars run. Default 1, at most 999.
	Cars int
	// Seed seeds every random choice: the same Config gives the same
	// frames, byte for byte. Default 0.
	Seed uint64
	// Speed is how many times faster than real time the simulation runs.
	// Default 0: as fast as possible.
	Speed float64
	// Laps stops each car once it has completed this many laps (timed
	// from its first start/finish crossing). Default 0: no limit.
	Laps int
	// Duration stops the simulation after this much sensor time. Default
	// 0: no limit. With neither Laps nor Duration it runs until cancelled.
	Duration time.Duration
	// Start is the sensor time of the start. Default DefaultEpoch.
	Start time.Time
	// PaceFromStart paces a run at Speed > 0 from Start as a wall-clock
	// time (pitwall up: Start is when it began) instead of from when
	// driving begins: a sample leaves when its own time comes, and the
	// time spent starting the pipeline is caught up at once rather than
	// making every sample that much late.
	PaceFromStart bool
	// Session is the session id on every frame and catalog. Default
	// "<track>-<seed>".
	Session string
	// Channels is how many channels each car has. Default 0: the standard
	// set (StandardChannelCount); fewer keeps the first ones (GPS first),
	// more adds aux_NNN channels for load tests.
	Channels int
	// GPSRateHz is the GPS fix rate. Default 25. Like every rate, it must
	// divide 1000.
	GPSRateHz int
	// AuxRateHz is the rate of the aux channels. Default 200.
	AuxRateHz int
	// Rates overrides channel rates by name. Default none.
	Rates map[string]int
	// Quiet turns sensor noise, dropouts and glitches off (GPS included),
	// for exact comparisons. Default false.
	Quiet bool
	// DropoutsPerHour is how often, per car, a sensor (or the GPS
	// receiver) drops out for 0.2-3 s. Default 20; negative: never.
	DropoutsPerHour float64
	// GlitchesPerHour is how often, per car, a sample is a glitch: a sensor
	// railing at its range limit. GPS and fuel never glitch. Default 30;
	// negative: never.
	GlitchesPerHour float64
	// GPSNoise is the GPS position noise, metres (standard deviation).
	// Default 0.15; negative: none.
	GPSNoise float64
	// PitEvery is how many laps each car runs between pit stops; the
	// stop is at the end of every PitEvery-th lap. Default 10; negative:
	// never.
	PitEvery int

	// Faults are faults to inject (see FaultOverheat, FaultPuncture).
	// Default none.
	Faults []Fault
	// FaultTruth is a file Run writes the faults' begin and fix times to,
	// as CSV (see WriteFaultTruthHeader). Default none.
	FaultTruth string

	// Out is where Run sends the data: serial:PATH, slcan:PATH,
	// mqtt[s]://HOST:PORT/PREFIX or kafka://HOST:PORT/TOPIC (see doc.go).
	// Default "serial:-", stdout ("serial" with PTY). Ignored by New.
	Out string
	// MQTTPassword is the password of an mqtt[s]:// Out whose URL has
	// none; else $PITWALL_MQTT_PASSWORD. Default none.
	MQTTPassword kafkasec.Secret
	// Security is TLS and SASL for a kafka:// Out (package kafkasec);
	// Run loads it (reads the password). Default PLAINTEXT.
	Security kafkasec.Config
	// PTY makes Run create a pseudo-terminal pair, write the serial or
	// SLCAN output to it and print the path of the end the edge opens.
	// Default false.
	PTY bool
	// Truth is a file Run writes the exact lap and sector times of every
	// car to, as CSV (see WriteTruthHeader). Default none.
	Truth string
	// Stdout is where Run prints the pty path. Default os.Stdout.
	Stdout io.Writer
	// Logger logs progress and output errors. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every empty field set to its default, and
// checks it.
func (c Config) withDefaults() (Config, error) {
	if c.TrackFile != "" {
		t, err := track.TimingFor(c.Track, c.TrackFile)
		if err != nil {
			return c, err
		}
		c.Track = t.Name
	}
	if c.Track == "" {
		c.Track = "monza"
	}
	if c.Cars == 0 {
		c.Cars = 1
	}
	if c.Start.IsZero() {
		c.Start = DefaultEpoch
	}
	if c.Session == "" {
		c.Session = fmt.Sprintf("%s-%d", c.Track, c.Seed)
	}
	c.GPSRateHz = defInt(c.GPSRateHz, 25)
	c.AuxRateHz = defInt(c.AuxRateHz, 200)
	c.PitEvery = defInt(c.PitEvery, 10)
	c.DropoutsPerHour = defFloat(c.DropoutsPerHour, 20)
	c.GlitchesPerHour = defFloat(c.GlitchesPerHour, 30)
	c.GPSNoise = defFloat(c.GPSNoise, 0.15)
	if c.Quiet {
		c.DropoutsPerHour, c.GlitchesPerHour, c.GPSNoise = -1, -1, -1
	}
	if c.Out == "" {
		c.Out = "serial:-"
		if c.PTY {
			c.Out = "serial"
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	var err error
	if c.Security, err = c.Security.Load(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	switch {
	case c.Cars < 1 || c.Cars > 999:
		return c, fmt.Errorf("%w: cars %d, want 1..999", ErrConfig, c.Cars)
	case c.Speed < 0 || math.IsNaN(c.Speed) || math.IsInf(c.Speed, 0):
		return c, fmt.Errorf("%w: speed %v", ErrConfig, c.Speed)
	case c.Laps < 0 || c.Duration < 0:
		return c, fmt.Errorf("%w: negative laps or duration", ErrConfig)
	case c.Start.UnixNano() < 0:
		return c, fmt.Errorf("%w: start before 1970", ErrConfig)
	case c.GPSRateHz > 100:
		return c, fmt.Errorf("%w: GPS rate %d Hz, at most 100", ErrConfig, c.GPSRateHz)
	case !telemetry.ValidSession(c.Session):
		return c, fmt.Errorf("%w: session %q", ErrConfig, c.Session)
	}
	return c, nil
}

func defInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func defFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// CarID returns the id of car i (0-based) of n: car01, car02, ... (three
// digits from 100 cars on).
func CarID(i, n int) string {
	if n >= 100 {
		return fmt.Sprintf("car%03d", i+1)
	}
	return fmt.Sprintf("car%02d", i+1)
}
