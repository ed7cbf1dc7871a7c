package serial

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/telemetry"
)

// lineDecoder splits a byte stream into lines and decodes them. It holds
// each car's catalog as its $PWC lines arrive and stamps the car's session
// on its frames.
type lineDecoder struct {
	car     string // expected car; empty: any
	partial []byte // bytes of a line not yet ended
	syncing bool   // discarding until the next '$' (after (re)opening)
	skipped bool   // a resync was noted since (re)opening
	over    bool   // inside a line longer than MaxLineLen: skip to '\n'
	frame   telemetry.Frame
	chline  telemetry.ChannelLine
	cars    map[string]*carState
}

// carState is what the decoder knows of one car.
type carState struct {
	session  string
	lastNs   int64 // sensor time of the car's latest frame
	count    int
	channels map[int]telemetry.Channel // by index
	complete bool
}

func newLineDecoder(car string) *lineDecoder {
	return &lineDecoder{car: car, syncing: true, cars: make(map[string]*carState)}
}

// resync forgets a partial line and discards input up to the next '$':
// after a port is (re)opened, its first bytes are usually the tail of a
// line whose start was never read.
func (d *lineDecoder) resync() {
	d.partial, d.syncing, d.over, d.skipped = d.partial[:0], true, false, false
}

// feed decodes every complete line in chunk, received at recv.
func (d *lineDecoder) feed(chunk []byte, recv time.Time, sink source.Sink) {
	if d.syncing {
		i := bytes.IndexByte(chunk, '$')
		if i != 0 && len(chunk) > 0 && !d.skipped {
			d.skipped = true
			sink.Note(source.EventResync, nil)
		}
		if i < 0 {
			return
		}
		chunk, d.syncing = chunk[i:], false
	}
	for len(chunk) > 0 {
		nl := bytes.IndexByte(chunk, '\n')
		if nl < 0 {
			d.keep(chunk, recv, sink)
			return
		}
		line := chunk[:nl+1]
		chunk = chunk[nl+1:]
		if d.over {
			d.over = false
			continue
		}
		if len(d.partial) > 0 {
			d.partial = append(d.partial, line...)
			line = d.partial
		}
		if len(line) > telemetry.MaxLineLen {
			sink.Bad(source.ReasonTooLong, line[:telemetry.MaxLineLen], fmt.Errorf("serial: line of %d bytes, longer than %d", len(line), telemetry.MaxLineLen), recv)
		} else {
			d.line(line, recv, sink)
		}
		d.partial = d.partial[:0]
	}
}

// keep holds the start of a line until its end arrives.
func (d *lineDecoder) keep(b []byte, recv time.Time, sink source.Sink) {
	if d.over {
		return
	}
	if len(d.partial)+len(b) > telemetry.MaxLineLen {
		raw := append(d.partial, b...)[:telemetry.MaxLineLen]
		sink.Bad(source.ReasonTooLong, raw, fmt.Errorf("serial: no line end within %d bytes", telemetry.MaxLineLen), recv)
		d.partial, d.over = d.partial[:0], true
		return
	}
	d.partial = append(d.partial, b...)
}

// line decodes one line, its "\n" included.
func (d *lineDecoder) line(line []byte, recv time.Time, sink source.Sink) {
	if len(bytes.TrimRight(line, "\r\n")) == 0 {
		return // an empty line carries nothing
	}
	kind, err := telemetry.ParseLine(line, &d.frame, &d.chline)
	if err != nil {
		reason := source.ReasonMalformed
		if errors.Is(err, telemetry.ErrChecksum) {
			reason = source.ReasonChecksum
		}
		sink.Bad(reason, line, err, recv)
		return
	}
	switch kind {
	case telemetry.LineFrame:
		if d.car != "" && d.frame.Car != d.car {
			sink.Bad(source.ReasonWrongCar, line, fmt.Errorf("serial: frame of car %q on the port of car %q", d.frame.Car, d.car), recv)
			return
		}
		if cs := d.cars[d.frame.Car]; cs != nil {
			d.frame.Session, cs.lastNs = cs.session, d.frame.TimeNs
		} else if k, ok := sink.(source.SessionKeeper); ok {
			d.frame.Session, _ = k.Session(d.frame.Car)
		}
		if err := sink.Frame(&d.frame, recv); err != nil {
			sink.Bad(source.ReasonMalformed, line, err, recv)
		}
	case telemetry.LineChannel:
		if d.car != "" && d.chline.Car != d.car {
			sink.Bad(source.ReasonWrongCar, line, fmt.Errorf("serial: channel of car %q on the port of car %q", d.chline.Car, d.car), recv)
			return
		}
		d.channel(line, recv, sink)
	}
}

// channel adds a $PWC line to its car's catalog and hands the catalog on
// once every channel has been announced (again, every time it is).
func (d *lineDecoder) channel(line []byte, recv time.Time, sink source.Sink) {
	c := &d.chline
	cs := d.cars[c.Car]
	if cs == nil || cs.session != c.Session || cs.count != c.Count {
		if len(d.cars) >= maxCars && cs == nil {
			sink.Bad(source.ReasonBadCatalog, line, fmt.Errorf("serial: more than %d cars on one port", maxCars), recv)
			return
		}
		cs = &carState{session: c.Session, count: c.Count, channels: make(map[int]telemetry.Channel, c.Count)}
		d.cars[c.Car] = cs
	}
	cs.channels[c.Index] = c.Channel
	if len(cs.channels) < cs.count || (cs.complete && c.Index != cs.count) {
		return
	}
	cat := telemetry.ChannelCatalog{Car: c.Car, Session: cs.session, TimeNs: cs.lastNs}
	if cat.TimeNs == 0 {
		cat.TimeNs = recv.UnixNano()
	}
	for _, ch := range cs.channels {
		cat.Channels = append(cat.Channels, ch)
	}
	slices.SortFunc(cat.Channels, func(a, b telemetry.Channel) int { return int(a.ID) - int(b.ID) })
	if err := cat.Validate(); err != nil {
		sink.Bad(source.ReasonBadCatalog, line, fmt.Errorf("serial: car %s catalog: %w", c.Car, err), recv)
		delete(d.cars, c.Car)
		return
	}
	cs.complete = true
	if err := sink.Catalog(&cat, recv); err != nil {
		sink.Bad(source.ReasonBadCatalog, line, err, recv)
	}
}

// maxCars bounds the cars one port may announce, so garbage that happens
// to pass the CRC cannot grow the decoder without limit.
const maxCars = 1024
