package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	tarm "github.com/tarm/serial"
)

// ErrHangup: the port returns end-of-file at once, over and over: the
// device is gone (USB unplugged, the pty's other end closed).
var ErrHangup = errors.New("serial: port hung up")

// ErrOtherPTY: the path names a pty other than the one the port last
// opened there, which has closed (see Port.Open).
var ErrOtherPTY = errors.New("serial: the path is another pty now")

// Port is a serial device (a UART, a USB serial adapter, a pty), opened
// and configured with github.com/tarm/serial and read through Go's poller
// (OpenPolled): the serial source reads its lines through it, package
// slcan its adapter. An empty field means its default.
type Port struct {
	// Path is the device, e.g. /dev/ttyUSB0 (or a pty). Required.
	Path string
	// Baud is the bit rate (USB-CDC adapters ignore it). Default 115200.
	Baud int
	// Reopen is the pause between attempts to reopen a lost port.
	// Default 1s.
	Reopen time.Duration
	// ReadTimeout is how long one read waits for data, which bounds how
	// long Run takes to notice cancellation. Default 200ms (the tty
	// driver counts in tenths of a second).
	ReadTimeout time.Duration

	// last is the pty Open last opened at Path, shared by the copies
	// of the Port that WithDefaults returned; nil: not remembered.
	last *lastPTY
}

// lastPTY remembers which pty a Port last opened.
type lastPTY struct {
	mu sync.Mutex
	id ptyID
	ok bool // id is set: the last port opened was a pty
}

// WithDefaults fills p's empty fields and checks it; errors wrap
// ErrConfig.
func (p Port) WithDefaults() (Port, error) {
	if p.Path == "" {
		return p, fmt.Errorf("%w: Path is required", ErrConfig)
	}
	if p.Baud == 0 {
		p.Baud = 115200
	}
	if p.Baud < 0 {
		return p, fmt.Errorf("%w: baud %d", ErrConfig, p.Baud)
	}
	if p.Reopen <= 0 {
		p.Reopen = time.Second
	}
	if p.ReadTimeout <= 0 {
		p.ReadTimeout = 200 * time.Millisecond
	}
	if p.last == nil {
		p.last = new(lastPTY)
	}
	return p, nil
}

// Open opens the port.
//
// A pty is not a device that comes back: once its other end has closed it
// is gone, and the kernel gives its number (/dev/pts/N) to the next pty
// anyone creates: another simulator, a terminal window, an ssh login.
// Opening that one would read its input and change its termios under its
// owner. So on a Port from WithDefaults, Open fails with ErrOtherPTY, and
// leaves the device alone, when Path resolves to a pty other than the one
// it last opened there, unless Path is a symlink that has been re-created
// since (as socat re-creates its link= names for a new pty). A UART or USB
// adapter is reopened by path whatever it is, as is the same pty after a
// failed read. Ptys are told apart by their node's change time, which
// devpts sets when it creates the pty (to a clock tick, a few ms: a pty
// that lived less than that is not told from the next one) and which only
// a chmod or chown of the node moves later.
func (p Port) Open() (*tarm.Port, error) {
	id, isPTY := ptyAt(p.Path)
	if isPTY && p.last != nil {
		p.last.mu.Lock()
		other := p.last.ok && p.last.id.succeededBy(id)
		p.last.mu.Unlock()
		if other {
			return nil, fmt.Errorf("%w: the pty read at %s has closed and its number belongs to another "+
				"pty, whose input is not ours to read (open the new pty's path, or a symlink its owner "+
				"re-creates for each new pty, such as socat's link=)", ErrOtherPTY, p.Path)
		}
	}
	port, err := tarm.OpenPort(&tarm.Config{Name: p.Path, Baud: p.Baud, ReadTimeout: p.ReadTimeout})
	if err != nil {
		return nil, err
	}
	if p.last != nil {
		// A pty recycled between the check and the open is refused too;
		// once open, ours cannot be (its number stays taken).
		now, nowPTY := ptyAt(p.Path)
		if isPTY && now != id {
			port.Close()
			return nil, fmt.Errorf("%w: %s changed while it was being opened", ErrOtherPTY, p.Path)
		}
		p.last.mu.Lock()
		p.last.id, p.last.ok = now, nowPTY
		p.last.mu.Unlock()
	}
	return port, nil
}

// ReadLoop reads port until it fails, hangs up (ErrHangup) or ctx is
// done. Every chunk read goes to feed, with the time it was read, before
// the next read; idle, when not nil, is called after a read that timed
// out with nothing.
func (p Port) ReadLoop(ctx context.Context, port io.Reader, feed func(chunk []byte, recv time.Time), idle func(now time.Time)) error {
	buf := make([]byte, 64<<10)
	fastEOFs := 0
	for ctx.Err() == nil {
		start := time.Now()
		n, err := port.Read(buf)
		if n > 0 {
			fastEOFs = 0
			feed(buf[:n], time.Now())
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			// tarm/serial reports a read timeout as io.EOF; a hung-up
			// tty returns it at once, every time.
			if n == 0 && idle != nil {
				idle(time.Now())
			}
			if n == 0 && time.Since(start) < p.ReadTimeout/2 {
				if fastEOFs++; fastEOFs >= 3 {
					return ErrHangup
				}
			}
		default:
			return err
		}
	}
	return nil
}
