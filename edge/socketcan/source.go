package socketcan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pitwall/pitwall/edge/can"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// Config configures a SocketCAN Source. An empty field means its default.
type Config struct {
	// Interface is the CAN network interface, e.g. can0. Required.
	Interface string
	// Decoder maps frames to channels (can.LoadDBC). Required.
	Decoder *can.Decoder
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
func (s *Source) Run(ctx context.Context, sink source.Sink) error {
	cat := s.cfg.Decoder.Catalog(s.cfg.Car, s.cfg.Session, time.Now().UnixNano())
	if err := sink.Catalog(&cat, time.Now()); err != nil {
		return err
	}
	frame := telemetry.Frame{Car: s.cfg.Car, Session: s.cfg.Session, Seq: time.Now().UnixMicro()}
	source.Reopen(ctx, sink, source.Device[*Conn]{
		Kind: "socketcan", Noun: "interface", Every: time.Second, Log: s.cfg.Logger.With("source", s.cfg.Name),
		Open: func() (*Conn, error) { return Open(s.cfg.Interface) },
		Read: func(ctx context.Context, conn *Conn) error { return s.read(ctx, conn, &frame, sink) },
	})
	return nil
}

func (s *Source) read(ctx context.Context, conn *Conn, frame *telemetry.Frame, sink source.Sink) error {
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
			sink.Note(source.EventBusError, err)
			continue
		case err != nil:
			sink.Bad(source.ReasonMalformed, buf[:n], err, recv)
			sink.Flush()
			continue
		}
		frame.Samples, err = s.cfg.Decoder.Decode(&f, frame.Samples[:0])
		switch {
		case errors.Is(err, can.ErrUnknownID):
			sink.Note(source.EventUnknownID, err)
		case err != nil:
			sink.Bad(source.ReasonShortFrame, buf[:n], err, recv)
		case len(frame.Samples) > 0:
			frame.TimeNs = recv.UnixNano()
			if err := sink.Frame(frame, recv); err != nil {
				sink.Bad(source.ReasonMalformed, buf[:n], err, recv)
			}
			frame.Seq++
		}
		sink.Flush()
	}
	return nil
}
