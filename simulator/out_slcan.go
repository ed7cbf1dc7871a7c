package simulator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// slcanOutput behaves like a Lawicel SLCAN adapter on one car's CAN bus:
// it streams the car's frames as CAN frames per the DBC ("tIIILDD..[TTTT]\r",
// with a millisecond timestamp while Z1) and answers the commands the host
// writes: O/L open, C close, Sn/sxxyy bit rate, Zn timestamps, V/v/N/F
// version, serial and status, each with "\r"; unknown ones with BEL. It
// starts open with timestamps on, so a reader that sends nothing still gets
// the stream; "C" stops it and "O" resumes it.
type slcanOutput struct {
	mu     sync.Mutex // guards w, open, stamps: frames and replies interleave whole
	w      *bufio.Writer
	open   bool
	stamps bool

	port *port
	car  string
	enc  *canEncoder
	buf  []byte
	log  *slog.Logger
	done chan struct{} // closed when the command reader has returned

	unknown int // commands answered with BEL; the first is logged
}

func newSLCANOutput(p *port, log *slog.Logger) *slcanOutput {
	o := &slcanOutput{w: bufio.NewWriterSize(p.w, 16<<10), open: true, stamps: true, port: p, log: log}
	if p.r != nil {
		o.done = make(chan struct{})
		go o.readCommands(p.r)
	}
	return o
}

func (o *slcanOutput) Catalog(cat *telemetry.ChannelCatalog) error {
	if o.enc != nil {
		return fmt.Errorf("%w: slcan carries one car (one CAN bus); run with --cars 1", ErrConfig)
	}
	enc, err := newCANEncoder(cat)
	if err != nil {
		return err
	}
	o.enc, o.car = enc, cat.Car
	return nil
}

func (o *slcanOutput) Frame(f *telemetry.Frame) error {
	ms := (f.TimeNs / int64(time.Millisecond)) % 60000 // Z1 timestamps wrap every minute
	return o.enc.encode(f, func(id uint32, data []byte) error {
		o.mu.Lock()
		defer o.mu.Unlock()
		if !o.open {
			return nil
		}
		o.buf = appendSLCAN(o.buf[:0], id, data, ms, o.stamps)
		_, err := o.w.Write(o.buf)
		return err
	})
}

// appendSLCAN appends one standard-id data frame in SLCAN text.
func appendSLCAN(dst []byte, id uint32, data []byte, ms int64, stamp bool) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, 't', hex[id>>8&15], hex[id>>4&15], hex[id&15], byte('0'+len(data)))
	for _, b := range data {
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	if stamp {
		dst = append(dst, hex[ms>>12&15], hex[ms>>8&15], hex[ms>>4&15], hex[ms&15])
	}
	return append(dst, '\r')
}

func (o *slcanOutput) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Flush()
}

func (o *slcanOutput) Close() error {
	err := o.Flush()
	if cerr := o.port.Close(); err == nil {
		err = cerr
	}
	if o.done != nil {
		<-o.done // closing the port ends the reader's Read
	}
	return err
}

// readCommands answers the host's commands until the port closes.
func (o *slcanOutput) readCommands(r io.Reader) {
	defer close(o.done)
	br := bufio.NewReader(r)
	for {
		cmd, err := br.ReadBytes('\r')
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				o.log.Debug("slcan: command reader stopped", "err", err)
			}
			return
		}
		reply := o.command(bytes.TrimRight(cmd, "\r\n"))
		if reply == "\a" {
			if o.unknown++; o.unknown == 1 {
				o.log.Warn("slcan: unknown command answered with BEL (logged once)", "command", fmt.Sprintf("%q", cmd))
			}
		}
		o.mu.Lock()
		_, err = o.w.WriteString(reply)
		if err == nil {
			err = o.w.Flush()
		}
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// command applies one command and returns the reply.
func (o *slcanOutput) command(cmd []byte) string {
	const ok, bell = "\r", "\a"
	cmd = bytes.TrimLeft(cmd, "\n")
	if len(cmd) == 0 {
		return ok
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch cmd[0] {
	case 'O', 'L':
		o.open = true
	case 'C':
		o.open = false
	case 'Z':
		if len(cmd) != 2 || (cmd[1] != '0' && cmd[1] != '1') {
			return bell
		}
		o.stamps = cmd[1] == '1'
	case 'S':
		if len(cmd) != 2 || cmd[1] < '0' || cmd[1] > '8' {
			return bell
		}
	case 's', 'M', 'm', 'X', 'W', 'Q', 'U':
	case 'V':
		return "V1013\r"
	case 'v':
		return "v0107\r"
	case 'N':
		return "NPW01\r"
	case 'F':
		return "F00\r"
	case 't', 'T', 'r', 'R':
		return "z\r" // we are only a listener; acknowledge and drop
	default:
		return bell
	}
	return ok
}
