package cluster

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The controller port carries two protocols: Raft's (hashicorp/raft's
// network transport, whose every connection opens with an RPC type byte,
// 0-4) and the controller's own HTTP requests (heartbeats, forwarded
// topic changes), whose connections open with rpcMagic. mux accepts
// connections and sorts them by that first byte.
const rpcMagic = 'P'

// helloTimeout bounds how long an accepted connection may take to send
// its first byte.
const helloTimeout = 10 * time.Second

type mux struct {
	ln   net.Listener
	raft chan net.Conn
	rpc  chan net.Conn
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newMux(ln net.Listener) *mux {
	m := &mux{ln: ln, raft: make(chan net.Conn), rpc: make(chan net.Conn), done: make(chan struct{})}
	m.wg.Add(1)
	go m.acceptLoop()
	return m
}

func (m *mux) acceptLoop() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			m.close()
			return
		}
		go m.sort(c)
	}
}

func (m *mux) sort(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(helloTimeout))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	to := m.raft
	if first[0] == rpcMagic {
		br.Discard(1)
		to = m.rpc
	}
	select {
	case to <- &peekedConn{Conn: c, r: br}:
	case <-m.done:
		c.Close()
	}
}

func (m *mux) close() {
	m.once.Do(func() {
		close(m.done)
		m.ln.Close()
	})
}

// peekedConn is a connection whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// chanListener is a net.Listener of the connections sent on ch.
type chanListener struct {
	m  *mux
	ch chan net.Conn
}

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

func (l chanListener) Close() error   { l.m.close(); return nil }
func (l chanListener) Addr() net.Addr { return l.m.ln.Addr() }

// raftLayer is Raft's raft.StreamLayer over the mux.
type raftLayer struct{ chanListener }

func (raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(address), timeout)
}
