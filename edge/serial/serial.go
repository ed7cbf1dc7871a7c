package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	tarm "github.com/tarm/serial"
)

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("serial: bad config")

// errHangup: the port returns end-of-file at once, over and over: the
// device is gone (USB unplugged, the pty's other end closed).
var errHangup = errors.New("serial: port hung up")

// Config configures a serial Source. An empty field means its default.
type Config struct {
	// Path is the serial device, e.g. /dev/ttyUSB0 (or a pty). Required.
	Path string
	// Baud is the bit rate. Default 115200.
	Baud int
	// Car, when set, is the only car accepted on this port: lines of
	// another car are bad input (ReasonWrongCar). Default: any car.
	Car string
	// Name names the source in metrics, logs and dead letters. Default
	// "serial:" + Path.
	Name string
	// Reopen is the pause between attempts to reopen a lost port.
	// Default 1s.
	Reopen time.Duration
	// ReadTimeout is how long one read waits for data, which bounds how
	// long Run takes to notice cancellation. Default 200ms (the tty
	// driver counts in tenths of a second).
	ReadTimeout time.Duration
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
	if cfg.Path == "" {
		return nil, fmt.Errorf("%w: Path is required", ErrConfig)
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Baud < 0 {
		return nil, fmt.Errorf("%w: baud %d", ErrConfig, cfg.Baud)
	}
	if cfg.Name == "" {
		cfg.Name = "serial:" + cfg.Path
	}
	if cfg.Reopen <= 0 {
		cfg.Reopen = time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 200 * time.Millisecond
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
func (s *Source) Run(ctx context.Context, sink Sink) error {
	dec := newLineDecoder(s.cfg.Car)
	log := s.cfg.Logger.With("source", s.cfg.Name)
	var down time.Time // start of the current outage; zero while up
	for ctx.Err() == nil {
		port, err := s.open()
		if err != nil {
			if down.IsZero() {
				down = time.Now()
				log.Warn("serial: port unavailable; reopening until it is back", "every", s.cfg.Reopen, "err", err)
				sink.Up(false, err)
			}
			sleep(ctx, s.cfg.Reopen)
			continue
		}
		if !down.IsZero() {
			log.Info("serial: port back", "after", time.Since(down).Round(time.Millisecond))
			down = time.Time{}
		}
		sink.Up(true, nil)
		dec.resync()
		err = s.read(ctx, port, dec, sink)
		port.Close()
		if ctx.Err() != nil {
			break
		}
		down = time.Now()
		log.Warn("serial: port lost; reopening until it is back", "every", s.cfg.Reopen, "err", err)
		sink.Up(false, err)
		sleep(ctx, s.cfg.Reopen/10)
	}
	sink.Up(false, nil)
	return nil
}

func (s *Source) open() (*tarm.Port, error) {
	return tarm.OpenPort(&tarm.Config{Name: s.cfg.Path, Baud: s.cfg.Baud, ReadTimeout: s.cfg.ReadTimeout})
}

// read decodes what the port delivers until it fails or ctx is done.
// Every chunk read is decoded and flushed to the sink before the next
// read, so what was read is durable before more is taken off the wire.
func (s *Source) read(ctx context.Context, port io.Reader, dec *lineDecoder, sink Sink) error {
	buf := make([]byte, 64<<10)
	fastEOFs := 0
	for ctx.Err() == nil {
		start := time.Now()
		n, err := port.Read(buf)
		if n > 0 {
			fastEOFs = 0
			dec.feed(buf[:n], time.Now(), sink)
			if ferr := sink.Flush(); ferr != nil {
				s.cfg.Logger.Debug("serial: flush", "err", ferr)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			// tarm/serial reports a read timeout as io.EOF; a hung-up
			// tty returns it at once, every time.
			if n == 0 && time.Since(start) < s.cfg.ReadTimeout/2 {
				if fastEOFs++; fastEOFs >= 3 {
					return errHangup
				}
			}
		default:
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
