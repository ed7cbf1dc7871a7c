package processors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/lap"
)

// ErrConfig reports a Config the runner cannot run with.
var ErrConfig = errors.New("processors: bad config")

// Config configures Run.
type Config struct {
	// Brokers are the Kafka bootstrap addresses. Required.
	Brokers []string
	// Security is TLS and SASL to the brokers (package kafkasec); New
	// loads it (reads the password). Default PLAINTEXT.
	Security kafkasec.Config
	// Group is the consumer group id. Default "pitwall-laps".
	Group string
	// Lap configures lap detection; Lap.Track is required.
	Lap lap.Config
	// Influx is where laps and downsampled channels go. Default nil: no
	// InfluxDB, laps still go to telemetry.laps.
	Influx *influx.Config
	// EdgeMetrics are the edges' Prometheus addresses (HOST:PORT of
	// `pitwall edge --metrics`). With Influx set, Run writes the pipeline
	// measurement (MeasurementPipeline) every second: its group's consumer
	// lag, and the edges' ingest rate and spool depth from these. Default
	// none: the pipeline points carry the consumer lag only.
	EdgeMetrics []string
	// Window is the downsampling window of the telemetry measurement.
	// Default influx.DefaultWindow (100 ms, 10 Hz).
	Window time.Duration
	// FlushInterval is how often a partition writes its points, produces
	// its laps and marks its offset. Default 200ms.
	FlushInterval time.Duration
	// FlushBytes flushes a partition early once its line-protocol batch
	// is this big, waiting for the partition's InfluxDB write in flight
	// if there is one (InfluxDB's pace then holds the partition back).
	// Default 4 MiB.
	FlushBytes int
	// InfluxHoldBytes is how many bytes of points a partition holds while
	// InfluxDB is down, before it drops them (laps go on regardless).
	// Default 16 MiB (minutes of a car's downsampled channels).
	InfluxHoldBytes int
	// StaleAfter drops a car from a partition's restart bookkeeping when
	// the partition's newest frame is this much (sensor time) newer than
	// the car's last; its unfinished lap is then not replayed after a
	// restart. Default 10m.
	StaleAfter time.Duration
	// CatalogWait is how long (wall time) the first frame of a car whose
	// channel catalog has not come waits for it, holding its partition
	// back; then that frame, and every later one of the car until its
	// catalog comes, goes to telemetry.deadletter (reason no_catalog)
	// and the partition moves on. Default 10s.
	CatalogWait time.Duration
	// SessionTimeout is the group session timeout: how long the group
	// waits for a silent (crashed) member before giving its partitions to
	// the others. Default 10s.
	SessionTimeout time.Duration
	// LiveEvery is the sensor time between two telemetry.live records of
	// a car (its lap in progress: live delta, sector, position). Default
	// DefaultLiveEvery (10 a second); negative: no live records.
	LiveEvery time.Duration
	// LiveWait is how long a partition waits for room in the live
	// producer (a processor catching up outruns it) before it drops live
	// records, without waiting, until the producer takes one again.
	// Default DefaultLiveWait.
	LiveWait time.Duration
	// Alarms are the alarm rules (`--alarms FILE`, package alarm)
	// evaluated on every car's frames; raised and cleared alarms go to
	// telemetry.alarms (with the laps) and to InfluxDB (measurement
	// alarms). Default nil: no alarms.
	Alarms *alarm.Rules
	// Logger logs. Default slog.Default().
	Logger *slog.Logger
	// Written, if set, is called after every batch InfluxDB accepted,
	// once per car the batch moved forward, with the sensor time before
	// which every frame of the car handled before the batch was cut is in
	// InfluxDB (the start of the car's open downsampling window then). It
	// runs on the processor's InfluxDB writer goroutine and must not
	// block. It lets a benchmark or a
	// monitor observe "sample written" without touching InfluxDB.
	// Default nil.
	Written func(car string, beforeNs int64)
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Brokers) == 0 {
		return c, fmt.Errorf("%w: no brokers", ErrConfig)
	}
	if c.Group == "" {
		c.Group = "pitwall-laps"
	}
	if c.Window == 0 {
		c.Window = influx.DefaultWindow
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = 4 << 20
	}
	if c.Influx != nil {
		if err := influx.ValidateURL(c.Influx.URL); err != nil {
			return c, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if c.InfluxHoldBytes == 0 {
		c.InfluxHoldBytes = 16 << 20
	}
	if c.LiveEvery == 0 {
		c.LiveEvery = DefaultLiveEvery
	}
	if c.LiveWait <= 0 {
		c.LiveWait = DefaultLiveWait
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 10 * time.Minute
	}
	if c.CatalogWait == 0 {
		c.CatalogWait = 10 * time.Second
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	var err error
	if c.Security, err = c.Security.Load(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if _, err := lap.NewDetector(c.Lap, lap.Channels{}, "check", ""); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return c, nil
}
