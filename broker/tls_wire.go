package broker

// The TCP connection under a TLS connection, and why it is not used bare.
//
// crypto/tls writes each record (at most 16 KiB of data) to the socket
// with a write of its own, so a fetch reply of a few MiB costs hundreds of
// system calls where PLAINTEXT sends it with one writev. While the
// connection's writer is sending replies it corks the wire: the records
// gather in one buffer and go to the socket corkFlushBytes at a time, and
// whatever is left when the writer runs out of replies goes at once
// (uncork). Anything else written meanwhile (an alert from the reading
// side) joins the buffer in order, since crypto/tls serialises its writes.

import (
	"crypto/tls"
	"net"
	"sync"
)

// corkFlushBytes is how much a corked wire gathers before writing it.
const corkFlushBytes = 256 << 10

// corkBufs holds corked wires' buffers while nothing is being written.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, corkFlushBytes+20<<10); return &b }}

// tlsWire is the TCP connection a tls.Conn writes through.
type tlsWire struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte // from corkBufs while corked
}

func (w *tlsWire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.corked {
		return w.Conn.Write(p)
	}
	*w.buf = append(*w.buf, p...)
	if len(*w.buf) >= corkFlushBytes {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cork makes writes gather until uncork (or corkFlushBytes).
func (w *tlsWire) cork() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.corked {
		w.corked, w.buf = true, corkBufs.Get().(*[]byte)
	}
}

// uncork writes what gathered and lets later writes through at once.
func (w *tlsWire) uncork() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.corked {
		return nil
	}
	err := w.flushLocked()
	w.corked = false
	*w.buf = (*w.buf)[:0]
	corkBufs.Put(w.buf)
	w.buf = nil
	return err
}

func (w *tlsWire) flushLocked() error {
	b := *w.buf
	*w.buf = b[:0]
	for len(b) > 0 {
		n, err := w.Conn.Write(b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// wireOf is the wire under a TLS connection, nil for any other.
func wireOf(nc net.Conn) *tlsWire {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	w, _ := tc.NetConn().(*tlsWire)
	return w
}
