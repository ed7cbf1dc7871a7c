package socketcan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pitwall/pitwall/edge/slcan"
	"github.com/pitwall/pitwall/telemetry"
)

// Sink receives what a source decodes (see package serial).
type Sink interface {
	Frame(f *telemetry.Frame, recv time.Time) error
	Catalog(c *telemetry.ChannelCatalog, recv time.Time) error
	Bad(reason string, raw []byte, err error, recv time.Time)
	Note(event string, err error)
	Up(up bool, err error)
	Flush() error
}

// Config configures a SocketCAN Source. An empty field means its default.
type Config struct {
	// Interface is the CAN network interface, e.g. can0. Required.
	Interface string
	// Decoder maps frames to channels (slcan.LoadDBC). Required.
	Decoder *slcan.Decoder
	// Car is the car on this bus. Required.
	Car string
	// Session is stamped on frames. Default "".
	Session string
	// Name names the source. Default "socketcan:" + Interface.
	Name string
	// Logger receives outage messages. Default slog.Default().
	Logger *slog.Logger
}

// Source reads a SocketCAN interface.
type Source struct{ cfg Config }

// New checks cfg and that the kernel has CAN at all: without it, New
// fails with ErrNoCAN (or ErrUnsupported off Linux), so the edge does not
// start with an input that can never work.
func New(cfg Config) (*Source, error) {
	if cfg.Interface == "" || cfg.Decoder == nil || !telemetry.ValidCar(cfg.Car) || !telemetry.ValidSession(cfg.Session) {
		return nil, fmt.Errorf("%w: need an interface, a DBC and a valid car id", ErrConfig)
	}
	if err := probe(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = "socketcan:" + cfg.Interface
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{cfg: cfg}, nil
}

// Run reads frames until ctx is cancelled, reopening the socket after the
// interface goes away (logged once when it goes, once when it is back).
func (s *Source) Run(ctx context.Context, sink Sink) error {
	cat := s.cfg.Decoder.Catalog(s.cfg.Car, s.cfg.Session, time.Now().UnixNano())
	if err := sink.Catalog(&cat, time.Now()); err != nil {
		return err
	}
	log := s.cfg.Logger.With("source", s.cfg.Name)
	frame := telemetry.Frame{Car: s.cfg.Car, Session: s.cfg.Session, Seq: time.Now().UnixMicro()}
	var down time.Time
	for ctx.Err() == nil {
		conn, err := Open(s.cfg.Interface)
		if err != nil {
			if down.IsZero() {
				down = time.Now()
				log.Warn("socketcan: interface unavailable; retrying until it is back", "err", err)
				sink.Up(false, err)
			}
			sleep(ctx, time.Second)
			continue
		}
		if !down.IsZero() {
			log.Info("socketcan: interface back", "after", time.Since(down).Round(time.Millisecond))
			down = time.Time{}
		}
		sink.Up(true, nil)
		err = s.read(ctx, conn, &frame, sink)
		conn.Close()
		if ctx.Err() == nil {
			down = time.Now()
			log.Warn("socketcan: interface lost; retrying until it is back", "err", err)
			sink.Up(false, err)
		}
	}
	sink.Up(false, nil)
	return nil
}

func (s *Source) read(ctx context.Context, conn *Conn, frame *telemetry.Frame, sink Sink) error {
	buf := make([]byte, FrameLen)
	for ctx.Err() == nil {
		n, err := conn.Read(buf)
		if errors.Is(err, errTimeout) {
			continue
		}
		if err != nil {
			return err
		}
		recv := time.Now()
		f, err := ParseFrame(buf[:n])
		switch {
		case errors.Is(err, ErrErrorFrame):
			sink.Note("bus_error", err)
			continue
		case err != nil:
			sink.Bad("malformed", buf[:n], err, recv)
			sink.Flush()
			continue
		}
		frame.Samples, err = s.cfg.Decoder.Decode(&f, frame.Samples[:0])
		switch {
		case errors.Is(err, slcan.ErrUnknownID):
			sink.Note(slcan.EventUnknownID, err)
		case err != nil:
			sink.Bad(slcan.ReasonShortFrame, buf[:n], err, recv)
		case len(frame.Samples) > 0:
			frame.TimeNs = recv.UnixNano()
			if err := sink.Frame(frame, recv); err != nil {
				sink.Bad("malformed", buf[:n], err, recv)
			}
			frame.Seq++
		}
		sink.Flush()
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
