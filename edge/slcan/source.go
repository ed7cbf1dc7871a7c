package slcan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	tarm "github.com/tarm/serial"

	"github.com/pitwall/pitwall/telemetry"
)

// Sink receives what a source decodes; the edge's emitter implements it
// (see package serial for the contract).
type Sink interface {
	Frame(f *telemetry.Frame, recv time.Time) error
	Catalog(c *telemetry.ChannelCatalog, recv time.Time) error
	Bad(reason string, raw []byte, err error, recv time.Time)
	Note(event string, err error)
	Up(up bool, err error)
	Flush() error
}

// Reasons for bad input and events that are not.
const (
	ReasonMalformed  = "malformed"   // a record that is not SLCAN
	ReasonShortFrame = "short_frame" // fewer data bytes than the DBC message
	ReasonTooLong    = "too_long"    // no "\r" within maxRecord bytes

	EventUnknownID  = "unknown_id"  // a CAN id the DBC does not describe
	EventErrorReply = "error_reply" // the adapter answered a command with BEL
	EventStatus     = "bus_status"  // the adapter reported error flags (F)
	EventResync     = "resync"      // bytes skipped after (re)opening
)

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("slcan: bad config")

// bitrates maps CAN bit rates to the Sn command.
var bitrates = map[int]byte{
	10000: '0', 20000: '1', 50000: '2', 100000: '3', 125000: '4',
	250000: '5', 500000: '6', 800000: '7', 1000000: '8',
}

// Config configures an SLCAN Source. An empty field means its default.
type Config struct {
	// Path is the adapter's serial device, e.g. /dev/ttyACM0. Required.
	Path string
	// Baud is the serial bit rate (USB-CDC adapters ignore it). Default
	// 115200.
	Baud int
	// Bitrate is the CAN bus bit rate, one of 10k, 20k, 50k, 100k, 125k,
	// 250k, 500k, 800k, 1M. Default 500000.
	Bitrate int
	// Decoder maps CAN frames to channels. Required (see LoadDBC).
	Decoder *Decoder
	// Car is the car on this bus. Required.
	Car string
	// Session is the session id stamped on frames. Default "".
	Session string
	// NoTimestamps skips Z1: sensor time is then the receive time, and
	// every CAN frame is one telemetry frame. Default false.
	NoTimestamps bool
	// Name names the source. Default "slcan:" + Path.
	Name string
	// Reopen is the pause between attempts to reopen a lost port.
	// Default 1s.
	Reopen time.Duration
	// ReadTimeout bounds one read. Default 200ms.
	ReadTimeout time.Duration
	// Logger receives outage and adapter messages. Default slog.Default().
	Logger *slog.Logger
}

// Source reads an SLCAN (Lawicel) adapter and decodes its frames by a DBC.
type Source struct {
	cfg Config
	cmd string // the open sequence
}

// New checks cfg; the port is opened by Run.
func New(cfg Config) (*Source, error) {
	if cfg.Path == "" || cfg.Decoder == nil || !telemetry.ValidCar(cfg.Car) || !telemetry.ValidSession(cfg.Session) {
		return nil, fmt.Errorf("%w: need a path, a DBC and a valid car id (car=%q)", ErrConfig, cfg.Car)
	}
	if cfg.Baud == 0 {
		cfg.Baud = 115200
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 500000
	}
	sn, ok := bitrates[cfg.Bitrate]
	if !ok {
		return nil, fmt.Errorf("%w: CAN bit rate %d: want 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000 or 1000000", ErrConfig, cfg.Bitrate)
	}
	if cfg.Name == "" {
		cfg.Name = "slcan:" + cfg.Path
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
	// Close first: the adapter may still be open from a previous run, and
	// it takes Sn and Zn only while closed.
	cmd := "C\rS" + string(sn) + "\r"
	if cfg.NoTimestamps {
		cmd += "Z0\r"
	} else {
		cmd += "Z1\r"
	}
	return &Source{cfg: cfg, cmd: cmd + "O\r"}, nil
}

// Name returns the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// Run opens the adapter, sends the open sequence and decodes frames until
// ctx is cancelled, reopening the port after every outage (logged once
// when it starts and once when it ends).
func (s *Source) Run(ctx context.Context, sink Sink) error {
	log := s.cfg.Logger.With("source", s.cfg.Name)
	st := newStream(s.cfg, sink, log)
	cat := s.cfg.Decoder.Catalog(s.cfg.Car, s.cfg.Session, time.Now().UnixNano())
	if err := sink.Catalog(&cat, time.Now()); err != nil {
		return err
	}
	var down time.Time
	for ctx.Err() == nil {
		port, err := tarm.OpenPort(&tarm.Config{Name: s.cfg.Path, Baud: s.cfg.Baud, ReadTimeout: s.cfg.ReadTimeout})
		if err == nil {
			if _, err = io.WriteString(port, s.cmd); err != nil {
				port.Close()
			}
		}
		if err != nil {
			if down.IsZero() {
				down = time.Now()
				log.Warn("slcan: adapter unavailable; reopening until it is back", "every", s.cfg.Reopen, "err", err)
				sink.Up(false, err)
			}
			sleep(ctx, s.cfg.Reopen)
			continue
		}
		if !down.IsZero() {
			log.Info("slcan: adapter back", "after", time.Since(down).Round(time.Millisecond))
			down = time.Time{}
		}
		sink.Up(true, nil)
		st.opened()
		err = s.read(ctx, port, st)
		port.Close()
		st.idle(time.Now())
		if ctx.Err() != nil {
			break
		}
		down = time.Now()
		log.Warn("slcan: adapter lost; reopening until it is back", "every", s.cfg.Reopen, "err", err)
		sink.Up(false, err)
		sleep(ctx, s.cfg.Reopen/10)
	}
	sink.Up(false, nil)
	return nil
}

// read decodes what the port delivers until it fails or ctx is done.
func (s *Source) read(ctx context.Context, port io.Reader, st *stream) error {
	buf := make([]byte, 64<<10)
	fastEOFs := 0
	for ctx.Err() == nil {
		start := time.Now()
		n, err := port.Read(buf)
		if n > 0 {
			fastEOFs = 0
			st.feed(buf[:n], time.Now())
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF): // a timeout, or a hung-up tty when instant
			if n == 0 {
				st.idle(time.Now())
			}
			if n == 0 && time.Since(start) < s.cfg.ReadTimeout/2 {
				if fastEOFs++; fastEOFs >= 3 {
					return errors.New("slcan: port hung up")
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

// stream splits the adapter's output into records and turns frames into
// telemetry frames: consecutive CAN frames with one Z1 timestamp make one
// telemetry frame.
type stream struct {
	cfg     Config
	sink    Sink
	log     *slog.Logger
	partial []byte
	over    bool // inside an overlong record
	syncing bool // skipping to the first record boundary after opening
	skipped bool // a resync was noted since opening
	pending []string
	frame   telemetry.Frame
	stamp   int32 // Z1 stamp of frame; -1 when frame is empty
	seq     int64
}

// maxRecord is longer than any SLCAN record (an extended frame with data
// and timestamp is 26 bytes) with room for vendor replies.
const maxRecord = 64

func newStream(cfg Config, sink Sink, log *slog.Logger) *stream {
	// Sequence numbers start at the microsecond clock, so frames after a
	// restart of the edge never repeat earlier numbers.
	return &stream{cfg: cfg, sink: sink, log: log, stamp: -1, seq: time.Now().UnixMicro(),
		frame: telemetry.Frame{Car: cfg.Car, Session: cfg.Session}}
}

// opened resets the stream for a freshly opened port, which just sent the
// four commands of the open sequence.
func (st *stream) opened() {
	st.partial, st.over, st.syncing, st.skipped = st.partial[:0], false, true, false
	st.pending = append(st.pending[:0], "C", "S", "Z", "O")
}

// feed decodes every complete record of chunk and flushes the sink.
func (st *stream) feed(chunk []byte, recv time.Time) {
	if st.syncing && len(chunk) > 0 {
		// The first bytes may be the tail of a record sent before we
		// opened the port (hex digits): skip past the first record end.
		if c := chunk[0]; c != 't' && c != 'T' && c != 'r' && c != 'R' && c != '\r' && c != '\a' {
			if !st.skipped {
				st.skipped = true
				st.sink.Note(EventResync, nil)
			}
			i := bytes.IndexAny(chunk, "\r\a")
			if i < 0 {
				return
			}
			if chunk[i] == '\r' {
				i++
			}
			chunk = chunk[i:]
		}
		st.syncing = false
	}
	for len(chunk) > 0 {
		i := bytes.IndexAny(chunk, "\r\a")
		if i < 0 {
			st.keep(chunk, recv)
			break
		}
		end := chunk[i]
		rec := chunk[:i]
		chunk = chunk[i+1:]
		if st.over {
			st.over = false
			continue
		}
		if len(st.partial) > 0 {
			st.partial = append(st.partial, rec...)
			rec = st.partial
		}
		if end == '\a' {
			st.reply(false, rec, recv)
		} else {
			st.record(rec, recv)
		}
		st.partial = st.partial[:0]
	}
	// The pending frame waits for the next stamp: frames with one stamp
	// may straddle two reads. An idle read emits it (see idle).
	st.sink.Flush()
}

// idle is called when a read brought nothing: the bus is quiet, so the
// pending frame is complete.
func (st *stream) idle(recv time.Time) {
	if len(st.frame.Samples) > 0 {
		st.emit(recv)
		st.sink.Flush()
	}
}

func (st *stream) keep(b []byte, recv time.Time) {
	if st.over {
		return
	}
	if len(st.partial)+len(b) > maxRecord {
		st.sink.Bad(ReasonTooLong, append(st.partial[:len(st.partial):len(st.partial)], b...), fmt.Errorf("slcan: no record end within %d bytes", maxRecord), recv)
		st.partial, st.over = st.partial[:0], true
		return
	}
	st.partial = append(st.partial, b...)
}

// record handles one record ended by "\r".
func (st *stream) record(rec []byte, recv time.Time) {
	rec = bytes.TrimLeft(rec, "\n")
	if len(rec) == 0 {
		st.reply(true, nil, recv)
		return
	}
	switch rec[0] {
	case 't', 'T', 'r', 'R':
		st.canFrame(rec, recv)
	case 'z', 'Z': // a transmit acknowledged: we send none, ignore
	case 'V', 'v', 'N':
		st.log.Debug("slcan: adapter info", "reply", string(rec))
	case 'F':
		if v, ok := hexValue(rec[1:]); ok && len(rec) == 3 {
			if v != 0 {
				st.sink.Note(EventStatus, fmt.Errorf("slcan: adapter status flags %02X (bus errors or overruns)", v))
			}
			return
		}
		st.sink.Bad(ReasonMalformed, withCR(rec), fmt.Errorf("slcan: bad status reply %q", rec), recv)
	default:
		st.sink.Bad(ReasonMalformed, withCR(rec), fmt.Errorf("slcan: unknown record %q", rec), recv)
	}
}

// reply matches an OK ("\r") or error (BEL) reply with the oldest command
// sent; an OK without a command is an empty record, and ignored.
func (st *stream) reply(ok bool, rec []byte, recv time.Time) {
	cmd := ""
	if len(st.pending) > 0 {
		cmd, st.pending = st.pending[0], st.pending[1:]
	}
	if !ok {
		st.sink.Note(EventErrorReply, fmt.Errorf("slcan: the adapter refused command %q", cmd))
	}
	if len(rec) > 0 {
		st.sink.Bad(ReasonMalformed, append(rec[:len(rec):len(rec)], '\a'), fmt.Errorf("slcan: bytes before an error reply"), recv)
	}
}

func withCR(rec []byte) []byte { return append(rec[:len(rec):len(rec)], '\r') }

// canFrame decodes a CAN frame into the pending telemetry frame.
func (st *stream) canFrame(rec []byte, recv time.Time) {
	f, err := ParseFrame(rec)
	if err != nil {
		st.sink.Bad(ReasonMalformed, withCR(rec), err, recv)
		return
	}
	if f.Stamp < 0 || f.Stamp != st.stamp {
		st.emit(recv)
	}
	n := len(st.frame.Samples)
	st.frame.Samples, err = st.cfg.Decoder.Decode(&f, st.frame.Samples)
	switch {
	case errors.Is(err, ErrUnknownID):
		st.sink.Note(EventUnknownID, err)
	case err != nil:
		st.sink.Bad(ReasonShortFrame, withCR(rec), err, recv)
	}
	if len(st.frame.Samples) > n {
		st.stamp = f.Stamp
		st.frame.TimeNs = sensorTime(f.Stamp, recv)
		if f.Stamp < 0 {
			st.emit(recv)
		}
	}
}

// emit hands the pending frame to the sink.
func (st *stream) emit(recv time.Time) {
	if len(st.frame.Samples) == 0 {
		st.stamp = -1
		return
	}
	st.frame.SortSamples()
	st.frame.Seq = st.seq
	st.seq++
	if err := st.sink.Frame(&st.frame, recv); err != nil {
		st.sink.Bad(ReasonMalformed, nil, err, recv)
	}
	st.frame.Samples, st.stamp = st.frame.Samples[:0], -1
}

// sensorTime places a Z1 millisecond stamp (0-59999, wrapping every
// minute) at the time within half a minute of recv that has it; without a
// stamp the sensor time is recv.
func sensorTime(stamp int32, recv time.Time) int64 {
	if stamp < 0 {
		return recv.UnixNano()
	}
	ms := recv.UnixMilli()
	t := ms - ms%60000 + int64(stamp)
	switch {
	case t > ms+30000:
		t -= 60000
	case t < ms-30000:
		t += 60000
	}
	return t * int64(time.Millisecond)
}
