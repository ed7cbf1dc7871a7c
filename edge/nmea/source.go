package nmea

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	tarm "github.com/tarm/serial"

	"github.com/pitwall/pitwall/edge/serial"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("nmea: bad config")

// Config configures an NMEA Source. An empty field means its default.
type Config struct {
	// Port is the receiver's serial device and how it is read and
	// reopened. Its Path is required; its Baud defaults to 9600 here (what
	// most receivers start at), not serial.Port's 115200.
	serial.Port
	// Car is the car the receiver is in. Required.
	Car string
	// Session is the session id stamped on frames. Default "".
	Session string
	// RateHz is the receiver's fix rate, the catalog's nominal rate of
	// every channel (the lap detector measures the real one). Default 10.
	RateHz float64
	// Name names the source. Default "nmea:" + Path.
	Name string
	// Logger receives outage messages. Default slog.Default().
	Logger *slog.Logger
}

// Source reads an NMEA 0183 GPS receiver from a serial port.
type Source struct {
	cfg Config
}

// New checks cfg; the port is opened by Run.
func New(cfg Config) (*Source, error) {
	if cfg.Path == "" || !telemetry.ValidCar(cfg.Car) || !telemetry.ValidSession(cfg.Session) {
		return nil, fmt.Errorf("%w: need a path and a valid car id (car=%q)", ErrConfig, cfg.Car)
	}
	if cfg.Baud == 0 {
		cfg.Baud = 9600
	}
	var err error
	if cfg.Port, err = cfg.Port.WithDefaults(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.RateHz == 0 {
		cfg.RateHz = 10
	}
	if !(cfg.RateHz > 0 && cfg.RateHz <= 100) {
		return nil, fmt.Errorf("%w: rate %v Hz: want 1 to 100", ErrConfig, cfg.RateHz)
	}
	if cfg.Name == "" {
		cfg.Name = "nmea:" + cfg.Path
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{cfg: cfg}, nil
}

// Name returns the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// Run reads the receiver until ctx is cancelled, reopening the port after
// every outage (logged once when it starts and once when it ends).
func (s *Source) Run(ctx context.Context, sink source.Sink) error {
	cat := Catalog(s.cfg.Car, s.cfg.Session, s.cfg.RateHz, time.Now().UnixNano())
	if err := sink.Catalog(&cat, time.Now()); err != nil {
		return err
	}
	st := newStream(s.cfg.Car, s.cfg.Session, sink)
	source.Reopen(ctx, sink, source.Device[*tarm.Port]{
		Kind: "nmea", Noun: "receiver", Every: s.cfg.Reopen, Log: s.cfg.Logger.With("source", s.cfg.Name),
		Open: s.cfg.Port.Open,
		Read: func(ctx context.Context, port *tarm.Port) error {
			st.opened()
			err := s.cfg.Port.ReadLoop(ctx, port, st.feed, st.idle)
			st.idle(time.Now())
			return err
		},
	})
	return nil
}

// Channel ids of the catalog.
const (
	idLat int32 = iota
	idLon
	idSpeed
	idHeading
	idAlt
	idFix
	idSats
	idHDOP
)

// Names of the channels this source adds to telemetry/channels.go's.
const (
	ChanAlt  = "gps_alt"  // m above mean sea level
	ChanFix  = "gps_fix"  // GGA fix quality
	ChanSats = "gps_sats" // satellites used
	ChanHDOP = "gps_hdop" // horizontal dilution of precision
)

// Catalog is the channel catalog of a receiver at rateHz.
func Catalog(car, session string, rateHz float64, timeNs int64) telemetry.ChannelCatalog {
	ch := func(id int32, name, unit string, lo, hi float64) telemetry.Channel {
		return telemetry.Channel{ID: id, Name: name, Unit: unit, RateHz: rateHz, Min: lo, Max: hi}
	}
	return telemetry.ChannelCatalog{Car: car, Session: session, TimeNs: timeNs, Channels: []telemetry.Channel{
		ch(idLat, telemetry.ChanGPSLat, "deg", -90, 90),
		ch(idLon, telemetry.ChanGPSLon, "deg", -180, 180),
		ch(idSpeed, telemetry.ChanGPSSpeed, "km/h", 0, 2000),
		ch(idHeading, telemetry.ChanGPSHeading, "deg", 0, 360),
		ch(idAlt, ChanAlt, "m", -1000, 20000),
		ch(idFix, ChanFix, "", 0, 9),
		ch(idSats, ChanSats, "", 0, 255),
		ch(idHDOP, ChanHDOP, "", 0, 100),
	}}
}

// stream splits the receiver's bytes into sentences and gathers each
// epoch's sentences into one frame.
type stream struct {
	sink    source.Sink
	partial []byte
	over    bool // inside an overlong line: skip to its end
	syncing bool // skipping to the first "$" after opening
	skipped bool // a resync was noted since opening

	frame   telemetry.Frame
	epoch   int64 // time of day (ms) of the pending epoch; -1: none
	epDate  int64 // date the pending epoch's RMC gave; -1: none
	lastDay int64 // date of the last emitted epoch; -1: none yet
	lastTod int64 // its time of day
	seq     int64
}

func newStream(car, session string, sink source.Sink) *stream {
	return &stream{sink: sink, epoch: -1, epDate: -1, lastDay: -1, seq: time.Now().UnixMicro(),
		frame: telemetry.Frame{Car: car, Session: session}}
}

// opened resets the stream for a freshly opened port.
func (st *stream) opened() {
	st.partial, st.over, st.syncing, st.skipped = st.partial[:0], false, true, false
}

// feed decodes every complete sentence of chunk and flushes the sink.
func (st *stream) feed(chunk []byte, recv time.Time) {
	if st.syncing && len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '$')
		if i != 0 && !st.skipped {
			st.skipped = true
			st.sink.Note(source.EventResync, nil)
		}
		if i < 0 {
			return
		}
		chunk, st.syncing = chunk[i:], false
	}
	for len(chunk) > 0 {
		nl := bytes.IndexByte(chunk, '\n')
		if nl < 0 {
			st.keep(chunk, recv)
			break
		}
		line := chunk[:nl+1]
		chunk = chunk[nl+1:]
		if st.over {
			st.over = false
			continue
		}
		if len(st.partial) > 0 {
			st.partial = append(st.partial, line...)
			line = st.partial
		}
		if len(line) > MaxSentence {
			st.sink.Bad(source.ReasonTooLong, line[:MaxSentence], fmt.Errorf("nmea: line of %d bytes, longer than %d", len(line), MaxSentence), recv)
		} else {
			st.line(line, recv)
		}
		st.partial = st.partial[:0]
	}
	if err := st.sink.Flush(); err != nil {
		_ = err // the sink counts and logs its own failures
	}
}

func (st *stream) keep(b []byte, recv time.Time) {
	if st.over {
		return
	}
	if len(st.partial)+len(b) > MaxSentence {
		raw := append(st.partial, b...)[:MaxSentence]
		st.sink.Bad(source.ReasonTooLong, raw, fmt.Errorf("nmea: no line end within %d bytes", MaxSentence), recv)
		st.partial, st.over = st.partial[:0], true
		return
	}
	st.partial = append(st.partial, b...)
}

// idle is called when a read brought nothing: the receiver is between
// epochs, so the pending one is complete.
func (st *stream) idle(recv time.Time) {
	if st.epoch >= 0 {
		st.emit(recv)
		st.sink.Flush()
	}
}

// line handles one line, its "\n" included.
func (st *stream) line(line []byte, recv time.Time) {
	if len(bytes.TrimRight(line, "\r\n")) == 0 {
		return
	}
	s, err := ParseSentence(line)
	switch {
	case errors.Is(err, ErrUnsupported):
		return
	case errors.Is(err, ErrChecksum):
		st.sink.Bad(source.ReasonChecksum, line, err, recv)
		return
	case err != nil:
		st.sink.Bad(source.ReasonMalformed, line, err, recv)
		return
	}
	st.add(&s, recv)
}

// add puts a sentence into its epoch, emitting the pending one first when
// the sentence starts another.
func (st *stream) add(s *Sentence, recv time.Time) {
	if s.TimeMs >= 0 && s.TimeMs != st.epoch {
		st.emit(recv)
		st.epoch = s.TimeMs
	}
	if st.epoch < 0 {
		return // a VTG before any timed sentence: no time to put it at
	}
	if s.Date >= 0 {
		st.epDate = s.Date
	}
	put := func(id int32, v float64) {
		st.frame.Samples = append(st.frame.Samples, telemetry.Sample{ID: id, Value: v})
	}
	if s.HasPos {
		put(idLat, s.Lat)
		put(idLon, s.Lon)
	}
	if s.HasSpeed {
		put(idSpeed, s.SpeedKmh)
	}
	if s.HasTrack {
		put(idHeading, s.Track)
	}
	if s.Kind == GGA {
		if s.HasFix {
			put(idFix, float64(s.Quality))
			put(idSats, float64(s.Sats))
		}
		if s.HasAlt {
			put(idAlt, s.Altitude)
		}
		if s.HasHDOP {
			put(idHDOP, s.HDOP)
		}
	}
}

const dayMs = 86_400_000

// emit hands the pending epoch to the sink as one frame.
func (st *stream) emit(recv time.Time) {
	if st.epoch < 0 {
		return
	}
	day := st.epDate
	switch {
	case day >= 0:
	case st.lastDay >= 0:
		day = st.lastDay
		if st.epoch < st.lastTod-dayMs/2 { // past midnight since the last RMC
			day++
		}
	default: // no date yet: the day that puts the epoch nearest recv
		ms := recv.UnixMilli()
		day = ms / dayMs
		if t := day*dayMs + st.epoch; t > ms+dayMs/2 {
			day--
		} else if t < ms-dayMs/2 {
			day++
		}
	}
	st.lastDay, st.lastTod = day, st.epoch
	if len(st.frame.Samples) > 0 && day >= 0 {
		st.frame.TimeNs = (day*dayMs + st.epoch) * int64(time.Millisecond)
		st.frame.SortSamples()
		st.frame.Seq = st.seq
		st.seq++
		if err := st.sink.Frame(&st.frame, recv); err != nil {
			st.sink.Bad(source.ReasonInvalid, nil, err, recv)
		}
	}
	st.frame.Samples, st.epoch, st.epDate = st.frame.Samples[:0], -1, -1
}
