package can

import (
	"errors"
	"fmt"
	"math"
	"os"

	einride "go.einride.tech/can"
	"go.einride.tech/can/pkg/dbc"

	"github.com/pitwall/pitwall/telemetry"
)

// Errors of DBC decoding.
var (
	// ErrDBC: the DBC file cannot be used.
	ErrDBC = errors.New("can: bad DBC")
	// ErrUnknownID: the DBC describes no message with this id. Busy buses
	// carry many; the source counts them, it does not dead-letter them.
	ErrUnknownID = errors.New("can: CAN id not in the DBC")
	// ErrShortFrame: fewer data bytes than the DBC message has.
	ErrShortFrame = errors.New("can: frame shorter than its DBC message")
)

// Decoder turns CAN frames into channel samples by a DBC file: every
// signal is a channel, numbered in the order the DBC lists them.
type Decoder struct {
	msgs     map[uint32]*message // by id, with bit 31 set for extended ids
	channels []telemetry.Channel
}

type message struct {
	name      string
	size      int
	signals   []signal
	switchIdx int // index of the multiplexer switch signal; -1 if none
}

type signal struct {
	channel   int32
	start     uint8
	size      uint8
	bigEndian bool
	signed    bool
	factor    float64
	offset    float64
	muxed     bool
	muxValue  uint64
}

func key(id uint32, extended bool) uint32 {
	if extended {
		return id | 1<<31
	}
	return id
}

// LoadDBC reads and parses a DBC file (see NewDecoder).
func LoadDBC(path string, rateHz float64) (*Decoder, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDBC, err)
	}
	return NewDecoder(path, b, rateHz)
}

// NewDecoder builds a Decoder from DBC source text, parsed with
// go.einride.tech/can/pkg/dbc. A message's channels get the rate of its
// GenMsgCycleTime attribute, or rateHz without one. Signal names become
// channel names (MESSAGE.signal where two messages share a signal name);
// units are made valid channel units.
func NewDecoder(name string, src []byte, rateHz float64) (*Decoder, error) {
	if rateHz <= 0 || math.IsNaN(rateHz) || math.IsInf(rateHz, 0) {
		return nil, fmt.Errorf("%w: rate %v", ErrDBC, rateHz)
	}
	p := dbc.NewParser(name, src)
	if err := p.Parse(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDBC, err)
	}
	cycle := map[dbc.MessageID]float64{}
	names := map[string]int{}
	var defs []*dbc.MessageDef
	for _, d := range p.Defs() {
		switch d := d.(type) {
		case *dbc.MessageDef:
			defs = append(defs, d)
			for _, s := range d.Signals {
				names[string(s.Name)]++
			}
		case *dbc.AttributeValueForObjectDef:
			if d.AttributeName == "GenMsgCycleTime" && d.ObjectType == dbc.ObjectTypeMessage && d.IntValue > 0 {
				cycle[d.MessageID] = 1000 / float64(d.IntValue)
			}
		}
	}
	dec := &Decoder{msgs: map[uint32]*message{}}
	for _, md := range defs {
		rate := rateHz
		if r, ok := cycle[md.MessageID]; ok {
			rate = r
		}
		if err := dec.addMessage(md, rate, names); err != nil {
			return nil, err
		}
	}
	if len(dec.channels) == 0 {
		return nil, fmt.Errorf("%w: %s describes no signals", ErrDBC, name)
	}
	return dec, nil
}

func (dec *Decoder) addMessage(md *dbc.MessageDef, rate float64, names map[string]int) error {
	if md.MessageID == dbc.IndependentSignalsMessageID {
		return nil // VECTOR__INDEPENDENT_SIG_MSG: signals without a message
	}
	if md.Size > 8 {
		return fmt.Errorf("%w: message %s is %d bytes (CAN FD is not supported)", ErrDBC, md.Name, md.Size)
	}
	k := key(md.MessageID.ToCAN(), md.MessageID.IsExtended())
	if _, dup := dec.msgs[k]; dup {
		return fmt.Errorf("%w: message id %d twice", ErrDBC, md.MessageID.ToCAN())
	}
	m := &message{name: string(md.Name), size: int(md.Size), switchIdx: -1}
	for _, sd := range md.Signals {
		if sd.Size < 1 || sd.Size > 64 || sd.StartBit > 63 || (!sd.IsBigEndian && sd.StartBit+sd.Size > 64) || sd.Factor == 0 {
			return fmt.Errorf("%w: signal %s.%s: start %d size %d factor %v", ErrDBC, md.Name, sd.Name, sd.StartBit, sd.Size, sd.Factor)
		}
		ch, err := channelOf(md, &sd, int32(len(dec.channels)), rate, names[string(sd.Name)] > 1)
		if err != nil {
			return err
		}
		if sd.IsMultiplexerSwitch {
			m.switchIdx = len(m.signals)
		}
		m.signals = append(m.signals, signal{
			channel: ch.ID, start: uint8(sd.StartBit), size: uint8(sd.Size), bigEndian: sd.IsBigEndian, signed: sd.IsSigned,
			factor: sd.Factor, offset: sd.Offset, muxed: sd.IsMultiplexed, muxValue: sd.MultiplexerSwitch,
		})
		dec.channels = append(dec.channels, ch)
	}
	dec.msgs[k] = m
	return nil
}

// channelOf describes a signal as a channel.
func channelOf(md *dbc.MessageDef, sd *dbc.SignalDef, id int32, rate float64, qualify bool) (telemetry.Channel, error) {
	name := string(sd.Name)
	if qualify {
		name = string(md.Name) + "." + name
	}
	lo, hi := sd.Minimum, sd.Maximum
	if lo >= hi { // no range given: what the raw bits can carry
		rawLo, rawHi := 0.0, math.Ldexp(1, int(sd.Size))-1
		if sd.IsSigned {
			rawLo, rawHi = -math.Ldexp(1, int(sd.Size)-1), math.Ldexp(1, int(sd.Size)-1)-1
		}
		lo, hi = rawLo*sd.Factor+sd.Offset, rawHi*sd.Factor+sd.Offset
		if lo > hi {
			lo, hi = hi, lo
		}
	}
	ch := telemetry.Channel{ID: id, Name: name, Unit: validUnit(sd.Unit), RateHz: rate, Min: lo, Max: hi}
	if err := ch.Validate(); err != nil {
		return ch, fmt.Errorf("%w: signal %s.%s: %v", ErrDBC, md.Name, sd.Name, err)
	}
	return ch, nil
}

// validUnit makes a DBC unit a valid channel unit: bytes a unit may not
// hold become '_', and it is cut to telemetry.MaxUnitLen.
func validUnit(u string) string {
	b := []byte(u)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || c == ',' || c == '*' || c == '$' {
			b[i] = '_'
		}
	}
	if len(b) > telemetry.MaxUnitLen {
		b = b[:telemetry.MaxUnitLen]
	}
	return string(b)
}

// Catalog returns the channel catalog of the DBC's signals for one car.
func (dec *Decoder) Catalog(car, session string, timeNs int64) telemetry.ChannelCatalog {
	return telemetry.ChannelCatalog{Car: car, Session: session, TimeNs: timeNs, Channels: append([]telemetry.Channel(nil), dec.channels...)}
}

// Decode appends the samples a frame carries to dst. Remote frames carry
// none. Errors wrap ErrUnknownID or ErrShortFrame.
func (dec *Decoder) Decode(f *Frame, dst []telemetry.Sample) ([]telemetry.Sample, error) {
	m := dec.msgs[key(f.ID, f.Extended)]
	if m == nil {
		return dst, fmt.Errorf("%w: %X", ErrUnknownID, f.ID)
	}
	if f.Remote {
		return dst, nil
	}
	if int(f.Len) < m.size {
		return dst, fmt.Errorf("%w: %s has %d bytes, the DBC says %d", ErrShortFrame, m.name, f.Len, m.size)
	}
	d := einride.Data(f.Data)
	var mux uint64
	if m.switchIdx >= 0 {
		mux = m.signals[m.switchIdx].raw(&d)
	}
	for i := range m.signals {
		s := &m.signals[i]
		if s.muxed && s.muxValue != mux {
			continue
		}
		var v float64
		if s.signed {
			v = float64(s.rawSigned(&d))
		} else {
			v = float64(s.raw(&d))
		}
		dst = append(dst, telemetry.Sample{ID: s.channel, Value: v*s.factor + s.offset})
	}
	return dst, nil
}

func (s *signal) raw(d *einride.Data) uint64 {
	if s.bigEndian {
		return d.UnsignedBitsBigEndian(s.start, s.size)
	}
	return d.UnsignedBitsLittleEndian(s.start, s.size)
}

func (s *signal) rawSigned(d *einride.Data) int64 {
	if s.bigEndian {
		return d.SignedBitsBigEndian(s.start, s.size)
	}
	return d.SignedBitsLittleEndian(s.start, s.size)
}
