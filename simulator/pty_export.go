package simulator

import "io"

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

// Close closes both ends.
func (t *PTY) Close() error { return t.p.Close() }

var _ io.WriteCloser = (*PTY)(nil)
