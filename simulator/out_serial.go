package simulator

import (
	"bufio"
	"io"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// announceEvery is how often, in sensor time, the serial output repeats
// each car's channel lines, so a reader that opens the port late learns
// the catalog soon.
const announceEvery = int64(5 * time.Second)

// lineOutput writes the serial line format ($PWF frames, $PWC channel
// announcements) to a file, a pty or a serial port.
type lineOutput struct {
	w        *bufio.Writer
	closer   io.Closer // nil for stdout
	cats     []*telemetry.ChannelCatalog
	nextAnno int64 // sensor time of the next announcement; 0 before the first frame
	buf      []byte
}

func newLineOutput(w io.Writer, closer io.Closer) *lineOutput {
	return &lineOutput{w: bufio.NewWriterSize(w, 64<<10), closer: closer}
}

func (o *lineOutput) Catalog(cat *telemetry.ChannelCatalog) error {
	o.cats = append(o.cats, cat)
	return o.announce(cat)
}

// announce writes one $PWC line per channel of cat.
func (o *lineOutput) announce(cat *telemetry.ChannelCatalog) error {
	for i, ch := range cat.Channels {
		line := telemetry.ChannelLine{Car: cat.Car, Session: cat.Session, Index: i + 1, Count: len(cat.Channels), Channel: ch}
		var err error
		if o.buf, err = telemetry.AppendChannelLine(o.buf[:0], &line); err != nil {
			return err
		}
		if _, err := o.w.Write(o.buf); err != nil {
			return err
		}
	}
	return nil
}

func (o *lineOutput) Frame(f *telemetry.Frame) error {
	if o.nextAnno == 0 {
		o.nextAnno = f.TimeNs + announceEvery
	} else if f.TimeNs >= o.nextAnno {
		o.nextAnno += announceEvery
		for _, cat := range o.cats {
			if err := o.announce(cat); err != nil {
				return err
			}
		}
	}
	var err error
	if o.buf, err = telemetry.AppendFrameLine(o.buf[:0], f); err != nil {
		return err
	}
	_, err = o.w.Write(o.buf)
	return err
}

func (o *lineOutput) Flush() error { return o.w.Flush() }

func (o *lineOutput) Close() error {
	err := o.w.Flush()
	if o.closer != nil {
		if cerr := o.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
