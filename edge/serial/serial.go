package serial

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pitwall/pitwall/edge/source"
)

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("serial: bad config")

// Config configures a serial Source. An empty field means its default.
type Config struct {
	// Port is the serial device and how it is read and reopened. Its
	// Path is required.
	Port
	// Car, when set, is the only car accepted on this port: lines of
	// another car are bad input (source.ReasonWrongCar). Default: any car.
	Car string
	// Name names the source in metrics, logs and dead letters. Default
	// "serial:" + Path.
	Name string
	// Logger receives one line when the port is lost and one when it is
	// back. Default slog.Default().
	Logger *slog.Logger
}

// Source reads the serial line format (telemetry/doc.go) from a port and
// reopens the port whenever it disappears.
type Source struct {
	cfg Config
}

// New checks cfg and returns a Source; the port is opened by Run.
func New(cfg Config) (*Source, error) {
	var err error
	if cfg.Port, err = cfg.Port.WithDefaults(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "serial:" + cfg.Path
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{cfg: cfg}, nil
}

// Name returns the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// Run reads the port until ctx is cancelled, reopening it after every
// outage; each outage is logged once when it starts and once when it
// ends. It returns nil once ctx is done.
func (s *Source) Run(ctx context.Context, sink source.Sink) error {
	dec := newLineDecoder(s.cfg.Car)
	source.Reopen(ctx, sink, source.Device[*PolledPort]{
		Kind: "serial", Noun: "port", Every: s.cfg.Reopen, Log: s.cfg.Logger.With("source", s.cfg.Name),
		Open: s.cfg.Port.OpenPolled,
		Read: func(ctx context.Context, port *PolledPort) error {
			dec.resync()
			// Every chunk read is decoded and flushed to the sink before
			// the next read, so what was read is durable before more is
			// taken off the wire.
			return s.cfg.Port.ReadLoop(ctx, port, func(chunk []byte, recv time.Time) {
				dec.feed(chunk, recv, sink)
				if err := sink.Flush(); err != nil {
					s.cfg.Logger.Debug("serial: flush", "err", err)
				}
			}, nil)
		},
	})
	return nil
}
