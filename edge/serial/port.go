package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	tarm "github.com/tarm/serial"
)

// ErrHangup: the port returns end-of-file at once, over and over: the
// device is gone (USB unplugged, the pty's other end closed).
var ErrHangup = errors.New("serial: port hung up")

// Port is a serial device (a UART, a USB serial adapter, a pty) read with
// github.com/tarm/serial: the serial source reads its lines through it,
// package slcan its adapter. An empty field means its default.
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
	return p, nil
}

// Open opens the port.
func (p Port) Open() (*tarm.Port, error) {
	return tarm.OpenPort(&tarm.Config{Name: p.Path, Baud: p.Baud, ReadTimeout: p.ReadTimeout})
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
