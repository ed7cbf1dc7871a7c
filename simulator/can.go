package simulator

import (
	_ "embed"
	"fmt"
	"math"
	"sync"

	"go.einride.tech/can"
	"go.einride.tech/can/pkg/dbc"

	"github.com/pitwall/pitwall/telemetry"
)

// DBC is the CAN mapping of the standard channels: one car's bus, 11-bit
// ids, Intel byte order, every signal named after the channel it carries.
// The slcan output encodes by it; the edge decodes by it.
//
//go:embed pitwall.dbc
var DBC []byte

// canMessage is one DBC message, ready to encode.
type canMessage struct {
	id      uint32
	size    uint8
	signals []canSignal
}

type canSignal struct {
	name    string
	start   uint8
	length  uint8
	signed  bool
	factor  float64
	offset  float64
	channel int32   // id in the car's catalog; 0 when the car lacks it
	value   float64 // the channel's latest sample
}

var (
	dbcOnce     sync.Once
	dbcMessages []canMessage
	dbcErr      error
)

// parseDBC parses the embedded DBC with go.einride.tech/can/pkg/dbc.
func parseDBC() ([]canMessage, error) {
	dbcOnce.Do(func() {
		p := dbc.NewParser("pitwall.dbc", DBC)
		if err := p.Parse(); err != nil {
			dbcErr = fmt.Errorf("simulator: pitwall.dbc: %w", err)
			return
		}
		for _, def := range p.Defs() {
			md, ok := def.(*dbc.MessageDef)
			if !ok {
				continue
			}
			m := canMessage{id: md.MessageID.ToCAN(), size: uint8(md.Size)}
			for _, sd := range md.Signals {
				m.signals = append(m.signals, canSignal{
					name: string(sd.Name), start: uint8(sd.StartBit), length: uint8(sd.Size),
					signed: sd.IsSigned, factor: sd.Factor, offset: sd.Offset,
				})
			}
			dbcMessages = append(dbcMessages, m)
		}
	})
	return dbcMessages, dbcErr
}

// canEncoder turns one car's frames into CAN frames: a message goes out
// whenever the frame carries one of its signals, with the latest value of
// every other signal.
type canEncoder struct {
	msgs      []canMessage
	byChannel map[int32][]sigRef // channel id → the signals carrying it
}

type sigRef struct{ msg, sig int }

const maxMessages = 32

func newCANEncoder(cat *telemetry.ChannelCatalog) (*canEncoder, error) {
	defs, err := parseDBC()
	if err != nil {
		return nil, err
	}
	if len(defs) > maxMessages {
		return nil, fmt.Errorf("simulator: pitwall.dbc has %d messages, more than %d", len(defs), maxMessages)
	}
	e := &canEncoder{byChannel: make(map[int32][]sigRef)}
	for mi, d := range defs {
		m := canMessage{id: d.id, size: d.size, signals: append([]canSignal(nil), d.signals...)}
		for si := range m.signals {
			if ch, ok := cat.ByName(m.signals[si].name); ok {
				m.signals[si].channel = ch.ID
				e.byChannel[ch.ID] = append(e.byChannel[ch.ID], sigRef{mi, si})
			}
		}
		e.msgs = append(e.msgs, m)
	}
	return e, nil
}

// encode updates the signals from f and calls fn with every message due,
// in DBC order.
func (e *canEncoder) encode(f *telemetry.Frame, fn func(id uint32, data []byte) error) error {
	var due [maxMessages]bool
	for _, s := range f.Samples {
		for _, r := range e.byChannel[s.ID] {
			sig := &e.msgs[r.msg].signals[r.sig]
			sig.value = s.Value
			due[r.msg] = true
		}
	}
	for mi := range e.msgs {
		if !due[mi] {
			continue
		}
		m := &e.msgs[mi]
		var data can.Data
		for si := range m.signals {
			m.signals[si].put(&data)
		}
		if err := fn(m.id, data[:m.size]); err != nil {
			return err
		}
	}
	return nil
}

// put writes the signal's raw value, rounded and saturated to its bits.
func (s *canSignal) put(d *can.Data) {
	raw := math.Round((s.value - s.offset) / s.factor)
	if s.signed {
		lim := math.Ldexp(1, int(s.length)-1)
		d.SetSignedBitsLittleEndian(s.start, s.length, int64(math.Max(-lim, math.Min(lim-1, raw))))
		return
	}
	lim := math.Ldexp(1, int(s.length)) - 1
	d.SetUnsignedBitsLittleEndian(s.start, s.length, uint64(math.Max(0, math.Min(lim, raw))))
}
