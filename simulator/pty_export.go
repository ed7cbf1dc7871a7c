package simulator

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// PTY is one pseudo-terminal pair made by OpenPTY: write to it, and the
// edge (or any reader) opens Name.
type PTY struct {
	p *port
}

// OpenPTY creates a pseudo-terminal pair in raw mode, the way Run does
// with Config.PTY, for a caller that drives a Sim itself and wants a port
// per car (`pitwall bench pipeline --in serial`). Writes go to the master,
// which Close interrupts; the simulator's handle on the other end stays
// open until Close, so what is written before the reader opens Name waits
// in the pty's buffer (the reader should flush its input after opening).
func OpenPTY() (*PTY, error) {
	p, err := openPTY()
	if err != nil {
		return nil, err
	}
	return &PTY{p: p}, nil
}

// Name is the path of the end a reader opens.
func (t *PTY) Name() string { return t.p.name }

// Write writes to the master end; it blocks while the pty's buffer is
// full.
func (t *PTY) Write(b []byte) (int, error) { return t.p.w.Write(b) }

// TryWrite writes as much of b as the pty's buffer takes now, without
// waiting for room: n < len(b) with a nil error means the buffer is full
// and the rest is the caller's to write later (Write waits instead).
func (t *PTY) TryWrite(b []byte) (n int, err error) {
	f, ok := t.p.w.(*os.File)
	if !ok {
		return t.p.w.Write(b)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	werr := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, e := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			if e == syscall.EINTR {
				continue
			}
			if e != nil {
				if !errors.Is(e, syscall.EAGAIN) {
					err = e
				}
				break
			}
			if m == 0 {
				break // took nothing: full, as EAGAIN
			}
		}
		return true // never wait for the poller: that is Write's job
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// Close closes both ends.
func (t *PTY) Close() error { return t.p.Close() }

var _ io.WriteCloser = (*PTY)(nil)
