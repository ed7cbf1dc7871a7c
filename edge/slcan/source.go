package slcan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pitwall/pitwall/edge/can"
	"github.com/pitwall/pitwall/edge/serial"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
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
	// Port is the adapter's serial device, e.g. /dev/ttyACM0, and how it
	// is read and reopened. Its Path is required.
	serial.Port
	// Bitrate is the CAN bus bit rate, one of 10k, 20k, 50k, 100k, 125k,
	// 250k, 500k, 800k, 1M. Default 500000.
	Bitrate int
	// Decoder maps CAN frames to channels. Required (see can.LoadDBC).
	Decoder *can.Decoder
	// Car is the car on this bus. Required.
	Car string
	// Session is the session id stamped on frames. Default "".
	Session string
	// NoTimestamps skips Z1: sensor time is then the receive time, and
	// every CAN frame is one telemetry frame. Default false.
	NoTimestamps bool
	// Name names the source. Default "slcan:" + Path.
	Name string
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
	var err error
	if cfg.Port, err = cfg.Port.WithDefaults(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
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
func (s *Source) Run(ctx context.Context, sink source.Sink) error {
	log := s.cfg.Logger.With("source", s.cfg.Name)
	st := newStream(s.cfg, sink, log)
	cat := s.cfg.Decoder.Catalog(s.cfg.Car, s.cfg.Session, time.Now().UnixNano())
	if err := sink.Catalog(&cat, time.Now()); err != nil {
		return err
	}
	source.Reopen(ctx, sink, source.Device[*serial.PolledPort]{
		Kind: "slcan", Noun: "adapter", Every: s.cfg.Reopen, Log: log,
		Open: func() (*serial.PolledPort, error) {
			port, err := s.cfg.Port.OpenPolled()
			if err != nil {
				return nil, err
			}
			if _, err := io.WriteString(port, s.cmd); err != nil {
				port.Close()
				return nil, err
			}
			return port, nil
		},
		Read: func(ctx context.Context, port *serial.PolledPort) error {
			st.opened()
			err := s.cfg.Port.ReadLoop(ctx, port, st.feed, st.idle)
			st.idle(time.Now())
			return err
		},
	})
	return nil
}

// stream splits the adapter's output into records and turns frames into
// telemetry frames: consecutive CAN frames with one Z1 timestamp make one
// telemetry frame.
type stream struct {
	cfg     Config
	sink    source.Sink
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

func newStream(cfg Config, sink source.Sink, log *slog.Logger) *stream {
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
				st.sink.Note(source.EventResync, nil)
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
		st.sink.Bad(source.ReasonTooLong, append(st.partial[:len(st.partial):len(st.partial)], b...), fmt.Errorf("slcan: no record end within %d bytes", maxRecord), recv)
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
				st.sink.Note(source.EventStatus, fmt.Errorf("slcan: adapter status flags %02X (bus errors or overruns)", v))
			}
			return
		}
		st.sink.Bad(source.ReasonMalformed, withCR(rec), fmt.Errorf("slcan: bad status reply %q", rec), recv)
	default:
		st.sink.Bad(source.ReasonMalformed, withCR(rec), fmt.Errorf("slcan: unknown record %q", rec), recv)
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
		st.sink.Note(source.EventErrorReply, fmt.Errorf("slcan: the adapter refused command %q", cmd))
	}
	if len(rec) > 0 {
		st.sink.Bad(source.ReasonMalformed, append(rec[:len(rec):len(rec)], '\a'), fmt.Errorf("slcan: bytes before an error reply"), recv)
	}
}

func withCR(rec []byte) []byte { return append(rec[:len(rec):len(rec)], '\r') }

// canFrame decodes a CAN frame into the pending telemetry frame.
func (st *stream) canFrame(rec []byte, recv time.Time) {
	f, err := ParseFrame(rec)
	if err != nil {
		st.sink.Bad(source.ReasonMalformed, withCR(rec), err, recv)
		return
	}
	if f.Stamp < 0 || f.Stamp != st.stamp {
		st.emit(recv)
	}
	n := len(st.frame.Samples)
	st.frame.Samples, err = st.cfg.Decoder.Decode(&f, st.frame.Samples)
	switch {
	case errors.Is(err, can.ErrUnknownID):
		st.sink.Note(source.EventUnknownID, err)
	case err != nil:
		st.sink.Bad(source.ReasonShortFrame, withCR(rec), err, recv)
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
		st.sink.Bad(source.ReasonMalformed, nil, err, recv)
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
