package simulator

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/creack/pty"
)

// errNotTerminal: a character device that is no terminal, written plainly.
var errNotTerminal = errors.New("simulator: not a terminal")

// port is where the serial and SLCAN outputs write: a file, stdout, a
// serial device or a pty. r is set when the other end can talk back (a
// terminal), for SLCAN commands.
type port struct {
	w    io.Writer
	r    io.Reader
	c    io.Closer // nil for stdout
	name string    // for --pty: the path the edge opens
	keep io.Closer // for --pty: our handle on that end, kept open
}

func (p *port) Close() error {
	var err error
	if p.c != nil {
		err = p.c.Close()
	}
	if p.keep != nil {
		if kerr := p.keep.Close(); err == nil {
			err = kerr
		}
	}
	return err
}

// openPort opens t.Path: "-" is stdout, a character device (a serial port
// or the end of a socat pty pair) is put in raw mode at t.Baud, anything
// else is a file created or truncated.
func openPort(t Target) (*port, error) {
	if t.Path == "-" {
		return &port{w: os.Stdout}, nil
	}
	if st, err := os.Stat(t.Path); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		f, err := os.OpenFile(t.Path, os.O_RDWR|noCTTY, 0)
		if err != nil {
			return nil, err
		}
		if err := makeRaw(f.Fd(), t.Baud); errors.Is(err, errNotTerminal) {
			return &port{w: f, c: f}, nil // e.g. /dev/null
		} else if err != nil {
			f.Close()
			return nil, err
		}
		if f, err = pollable(f); err != nil {
			return nil, err
		}
		return &port{w: f, r: f, c: f}, nil
	}
	f, err := os.Create(t.Path)
	if err != nil {
		return nil, err
	}
	return &port{w: f, c: f}, nil
}

// openPTY creates a pseudo-terminal pair: the simulator writes to the
// master, the edge opens the returned name. The simulator keeps the other
// end open too, so the master stays usable while no reader is attached
// (output then waits in the pty's buffer, and the reader should Flush it).
func openPTY() (*port, error) {
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("simulator: pty: %w", err)
	}
	if err := makeRaw(tty.Fd(), 0); err != nil {
		master.Close()
		tty.Close()
		return nil, err
	}
	if master, err = pollable(master); err != nil {
		tty.Close()
		return nil, err
	}
	return &port{w: master, r: master, c: master, name: tty.Name(), keep: tty}, nil
}
