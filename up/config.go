package up

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/simulator"
)

// DefaultTrack is the track `pitwall up` drives unless told otherwise,
// the same as `make run`'s.
const DefaultTrack = "brands-indy"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("up: bad config")

// Config configures Run. An empty field means its default.
type Config struct {
	// DataDir holds the broker's log and the edge's spool. Default: a new
	// temporary directory, removed when Run returns.
	DataDir string
	// Listen is the broker's address. Default "127.0.0.1:0" (a free port,
	// logged), so a second `pitwall up` never collides with the first.
	Listen string
	// Brokers, if set, are the bootstrap brokers of a Kafka cluster to
	// run on (Pitwall's or Apache Kafka) instead of the embedded broker;
	// Listen is then unused. Default none: the embedded broker.
	Brokers []string
	// Security is TLS and SASL to Brokers (package kafkasec): the edge,
	// the lap processor, the page and the board all use it.
	Security kafkasec.Config
	// Cars is how many cars the simulator runs. Default 4.
	Cars int
	// Track is the built-in track the simulator drives (pitwall sim
	// --list-tracks). Default "brands-indy": a short club circuit, so the
	// first laps tick within a minute at real time.
	Track string
	// TrackFile times the laps with the lines of this track file (see
	// track.LoadTiming; `pitwall process --track T --print-track` writes
	// one) instead of Track's own, e.g. with a moved sector line. Its
	// name must be Track's; with Track empty, the cars drive the file's
	// track (track.TimingFor). Default none.
	TrackFile string
	// Speed is how many times faster than real time the simulator runs;
	// 0 is the default 1, negative is as fast as possible (--speed max).
	Speed float64
	// Seed seeds the simulator. Default 0.
	Seed uint64
	// Laps stops Run once every car has completed this many laps. Default
	// 0: run until the context is cancelled.
	Laps int
	// Group is the lap processor's consumer group. Default "pitwall-up".
	Group string
	// InfluxURL also writes laps and downsampled channels to this InfluxDB
	// (e.g. http://127.0.0.1:8086). Default none.
	InfluxURL string
	// InfluxBucket is the InfluxDB bucket (1.8: database). Default
	// "pitwall".
	InfluxBucket string
	// InfluxToken is the InfluxDB token (1.8: user:password). Default none.
	InfluxToken string
	// InfluxOrg is the InfluxDB organisation (2.x). Default none.
	InfluxOrg string
	// Truth is a file the simulator writes its exact lap times to (CSV,
	// see simulator.WriteTruthHeader). Default none.
	Truth string
	// Terminal draws the live board in place. Default false: one line per
	// lap (cmd/pitwall sets it when stdout is a terminal).
	Terminal bool
	// Refresh is how often the terminal board is redrawn. Default 500ms.
	Refresh time.Duration
	// Stdout receives the board or the lap lines. Default os.Stdout.
	Stdout io.Writer
	// PitEvery is how many laps each simulated car runs between pit
	// stops. Default 0: the simulator's (10).
	PitEvery int
	// Rates overrides the simulated channels' rates by name, Hz
	// (simulator.Config.Rates). Default none.
	Rates map[string]int
	// Web is where to serve the pit wall page (dashboards/web: timing
	// tower, track map), e.g. 127.0.0.1:8080. Default "": no page
	// (`pitwall up` serves it on 127.0.0.1:8080 unless --web off).
	Web string
	// Drivers name the cars on the page. Default none: car ids.
	Drivers web.Drivers
	// OnWeb, if set, is called with the page's URL once it listens.
	OnWeb func(url string)
	// Alarms are alarm rules (--alarms FILE) the lap processor evaluates;
	// raised alarms show on the page and the board. Default none.
	Alarms *alarm.Rules
	// Faults are faults the simulator injects (--fault). Default none.
	Faults []simulator.Fault
	// FaultTruth is a file the simulator writes when each fault began and
	// was fixed (simulator.WriteFaultTruthHeader). Default none.
	FaultTruth string
	// Logger receives every component's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.Cars == 0 {
		c.Cars = 4
	}
	if c.Track == "" && c.TrackFile == "" {
		c.Track = DefaultTrack // with a TrackFile, Run drives its track
	}
	if c.Speed == 0 {
		c.Speed = 1
	}
	if c.Group == "" {
		c.Group = "pitwall-up"
	}
	if c.InfluxBucket == "" {
		c.InfluxBucket = "pitwall"
	}
	if c.Refresh == 0 {
		c.Refresh = 500 * time.Millisecond
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.Cars < 1 || c.Cars > 99:
		return c, fmt.Errorf("%w: cars %d, want 1..99", ErrConfig, c.Cars)
	case c.Laps < 0:
		return c, fmt.Errorf("%w: laps %d is negative", ErrConfig, c.Laps)
	case c.Refresh < 0:
		return c, fmt.Errorf("%w: refresh %v is negative", ErrConfig, c.Refresh)
	}
	if c.Security.TLSOn() || c.Security.SASLOn() {
		if len(c.Brokers) == 0 {
			return c, fmt.Errorf("%w: TLS or SASL settings need --brokers (the embedded broker is plaintext on loopback)", ErrConfig)
		}
		var err error
		if c.Security, err = c.Security.Load(); err != nil {
			return c, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if c.InfluxURL != "" {
		if err := influx.ValidateURL(c.InfluxURL); err != nil {
			return c, fmt.Errorf("%w: --influx-url: %w", ErrConfig, err)
		}
	}
	return c, nil
}
