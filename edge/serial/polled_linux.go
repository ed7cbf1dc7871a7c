package serial

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	tarm "github.com/tarm/serial"
	"golang.org/x/sys/unix"
)

// PolledPort is a serial port that tarm/serial opened and configured
// (termios, the pty checks of Port.Open), read through a second,
// non-blocking descriptor of the same device that Go's poller waits on.
// tarm/serial reads in blocking mode: each port read that waits holds an
// OS thread in the tty driver, and at a grid's line rate (a port per car,
// a line every 5 ms on each) the thread switches and the runtime's
// hand-offs around them were most of the edge's CPU. Here a read that
// finds nothing parks its goroutine, and one epoll wait serves every
// port. Read reports a read that timed out with nothing (ReadTimeout) as
// io.EOF, as tarm/serial does, and so a hung-up tty too.
type PolledPort struct {
	port    *tarm.Port // holds the configuration; its Flush and Close
	f       *os.File
	timeout time.Duration
}

// OpenPolled opens the port as Open does, then the descriptor it is read
// through.
func (p Port) OpenPolled() (*PolledPort, error) {
	port, err := p.Open()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p.Path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err == nil && p.last != nil {
		err = p.samePTY(f)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		port.Close()
		return nil, err
	}
	return &PolledPort{port: port, f: f, timeout: p.ReadTimeout}, nil
}

// samePTY checks that f is the pty Open just opened at p.Path, not one
// that took its name in between (a symlink re-created meanwhile).
func (p Port) samePTY(f *os.File) error {
	p.last.mu.Lock()
	id, ok := p.last.id, p.last.ok
	p.last.mu.Unlock()
	if !ok {
		return nil
	}
	fi, err := f.Stat() // not f.Fd(), which would make f blocking
	if err != nil {
		return err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil || uint64(st.Rdev) != id.rdev || st.Ctim.Sec != id.ctime.Sec || st.Ctim.Nsec != id.ctime.Nsec {
		return fmt.Errorf("%w: %s changed while it was being opened", ErrOtherPTY, p.Path)
	}
	return nil
}

// Read reads what the port has, waiting up to ReadTimeout for something.
func (pp *PolledPort) Read(b []byte) (int, error) {
	// On a device the poller cannot wait on this fails and the read
	// blocks instead, ended by the termios read timeout tarm/serial set.
	_ = pp.f.SetReadDeadline(time.Now().Add(pp.timeout))
	n, err := pp.f.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, io.EOF
	}
	return n, hangupAsEOF(err)
}

// hangupAsEOF: a tty whose other end is gone may fail reads with EIO
// instead of returning end-of-file; both are a hang-up to ReadLoop.
func hangupAsEOF(err error) error {
	if errors.Is(err, syscall.EIO) {
		return io.EOF
	}
	return err
}

// Write writes b to the port through tarm/serial's descriptor (an
// adapter's short commands; a blocking write is fine for those).
func (pp *PolledPort) Write(b []byte) (int, error) { return pp.port.Write(b) }

// Flush discards what the port holds unread (bytes a pty buffered
// before the port was opened).
func (pp *PolledPort) Flush() error { return pp.port.Flush() }

// Close closes both descriptors.
func (pp *PolledPort) Close() error { return errors.Join(pp.f.Close(), pp.port.Close()) }
