package udp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("udp: bad config")

// Formats of Config.Format.
const (
	FormatF1    = "f1-24"
	FormatForza = "forza"
)

// Config configures a UDP game source. An empty field means its default.
type Config struct {
	// Addr is the HOST:PORT to listen on, exactly as given: the source
	// binds there and nowhere else (127.0.0.1:20777 for a game on this
	// machine). Required.
	Addr string
	// Format is the game's packet format, FormatF1 or FormatForza.
	// Required.
	Format string
	// Car is, for Forza, the car id (required: Data Out names no car);
	// for F1 the prefix of every car's id, which is the prefix and the
	// car's race number (default "car": car01, car44...).
	Car string
	// Session is the session id on every frame. Default: for F1 the
	// game's session UID ("f1-" and 16 hex digits), for Forza "".
	Session string
	// RateHz is the game's send rate, the catalog's nominal rate.
	// Default 20 for F1 (the game's default), 60 for Forza.
	RateHz float64
	// Record, when set, is a directory where every car's positions and
	// the game's lap markers are appended to CAR.csv, for `pitwall track
	// derive --planar` (see recorder). Default "": nothing recorded.
	Record string
	// ReadTimeout is how long a read waits before the pending game frame
	// is handed on, and bounds how long Run takes to notice cancellation.
	// Default 200ms.
	ReadTimeout time.Duration
	// Reopen is the pause between attempts to bind while the address is
	// unavailable (in use, not on this host). Default 1s.
	Reopen time.Duration
	// Name names the source. Default "udp://" + Addr.
	Name string
	// Logger receives outage and session messages. Default
	// slog.Default().
	Logger *slog.Logger
}

// Source listens for a racing game's UDP telemetry.
type Source struct {
	cfg Config
}

// New checks cfg; the socket is bound by Run.
func New(cfg Config) (*Source, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil || cfg.Addr == "" {
		return nil, fmt.Errorf("%w: address %q: want HOST:PORT", ErrConfig, cfg.Addr)
	}
	switch cfg.Format {
	case FormatF1:
		if cfg.Car == "" {
			cfg.Car = "car"
		}
		if !telemetry.ValidCar(cfg.Car + "00") {
			return nil, fmt.Errorf("%w: car id prefix %q", ErrConfig, cfg.Car)
		}
		if cfg.RateHz == 0 {
			cfg.RateHz = 20
		}
	case FormatForza:
		if !telemetry.ValidCar(cfg.Car) {
			return nil, fmt.Errorf("%w: forza needs car=ID (Data Out names no car), got %q", ErrConfig, cfg.Car)
		}
		if cfg.RateHz == 0 {
			cfg.RateHz = 60
		}
	default:
		return nil, fmt.Errorf("%w: format %q: want %s or %s", ErrConfig, cfg.Format, FormatF1, FormatForza)
	}
	if cfg.Record != "" {
		if st, err := os.Stat(cfg.Record); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: record=%q is not a directory", ErrConfig, cfg.Record)
		}
	}
	if !telemetry.ValidSession(cfg.Session) {
		return nil, fmt.Errorf("%w: session %q", ErrConfig, cfg.Session)
	}
	if !(cfg.RateHz > 0 && cfg.RateHz <= 1000) {
		return nil, fmt.Errorf("%w: rate %v Hz", ErrConfig, cfg.RateHz)
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 200 * time.Millisecond
	}
	if cfg.Reopen <= 0 {
		cfg.Reopen = time.Second
	}
	if cfg.Name == "" {
		cfg.Name = "udp://" + cfg.Addr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{cfg: cfg}, nil
}

// Name returns the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// stream is what a format's decoder does with datagrams.
type stream interface {
	packet(b []byte, recv time.Time)
	idle(now time.Time)
}

// Run binds Addr and decodes datagrams until ctx is cancelled. While the
// address cannot be bound it retries every Reopen, logging once when that
// starts and once when it ends.
func (s *Source) Run(ctx context.Context, sink source.Sink) error {
	log := s.cfg.Logger.With("source", s.cfg.Name)
	var st stream
	var rec *recorder
	if s.cfg.Format == FormatF1 {
		if s.cfg.Record != "" {
			rec = newRecorder(s.cfg.Record, f1PosX, f1PosZ, f1DeviceLap, log)
		}
		f1 := newF1Stream(s.cfg.Car, s.cfg.Session, s.cfg.RateHz, sink, log)
		f1.rec, st = rec, f1
	} else {
		if s.cfg.Record != "" {
			rec = newRecorder(s.cfg.Record, fzPosX, fzPosZ, fzDeviceLap, log)
		}
		fz := newForzaStream(s.cfg.Car, s.cfg.Session, s.cfg.RateHz, sink)
		fz.rec, st = rec, fz
	}
	defer rec.close()
	source.Reopen(ctx, sink, source.Device[*net.UDPConn]{
		Kind: "udp", Noun: "socket", Every: s.cfg.Reopen, Log: log,
		Open: func() (*net.UDPConn, error) {
			var lc net.ListenConfig
			c, err := lc.ListenPacket(ctx, "udp", s.cfg.Addr)
			if err != nil {
				return nil, err
			}
			conn := c.(*net.UDPConn)
			_ = conn.SetReadBuffer(4 << 20) // a 22-car session at 60 Hz is ~500 kB/s in bursts
			return conn, nil
		},
		Read: func(ctx context.Context, conn *net.UDPConn) error {
			return s.read(ctx, conn, st, sink)
		},
	})
	return nil
}

// maxDatagram is larger than any packet of either game (F1's largest,
// session history, is about 1.5 kB).
const maxDatagram = 2048

func (s *Source) read(ctx context.Context, conn *net.UDPConn, st stream, sink source.Sink) error {
	buf := make([]byte, maxDatagram+1)
	for ctx.Err() == nil {
		conn.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		now := time.Now()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			st.idle(now)
			sink.Flush()
			continue
		}
		if err != nil {
			return err
		}
		if n > maxDatagram {
			sink.Bad(source.ReasonTooLong, buf[:maxDatagram], fmt.Errorf("udp: datagram longer than %d bytes", maxDatagram), now)
		} else {
			st.packet(buf[:n], now)
		}
		sink.Flush()
	}
	return nil
}
