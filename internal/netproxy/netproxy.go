package netproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pitwall/pitwall/internal/freeport"
)

// ErrNotLoopback is returned by Start for a target outside loopback.
var ErrNotLoopback = errors.New("netproxy: target is not a loopback address")

// dialTimeout bounds the dial of the target for one accepted connection.
const dialTimeout = 5 * time.Second

type state int

const (
	open state = iota
	cut
	blackhole
)

// Proxy forwards connections from its own loopback address to a target.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex // guards the fields below
	state  state
	conns  map[net.Conn]bool // every connection open on either side: true for the client's
	closed bool
	wg     sync.WaitGroup // the accept loop and every connection's goroutines
}

// Start listens on 127.0.0.1 on a free port and forwards what arrives to
// target (host:port, a loopback address).
func Start(target string) (*Proxy, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return nil, fmt.Errorf("netproxy: target %q: %w", target, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, target)
	}
	ln, err := freeport.Listen() // not a port handed out to a server about to bind it
	if err != nil {
		return nil, fmt.Errorf("netproxy: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's own address, to give clients instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Conns is how many connections the proxy holds open now (on the
// client's side): forwarded ones, and held ones while blackholed. A test
// waits on it to know the proxy has taken a connection it dialed.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, client := range p.conns {
		if client {
			n++
		}
	}
	return n
}

// Cut resets every connection through the proxy and refuses new ones
// (accepted and reset at once) until Heal.
func (p *Proxy) Cut() { p.set(cut) }

// Blackhole closes every connection through the proxy and holds new ones
// open and silent (their bytes are dropped, none come back) until Heal.
func (p *Proxy) Blackhole() { p.set(blackhole) }

// Heal forwards connections again. Connections held by Blackhole are
// closed, so their peers dial again and get through.
func (p *Proxy) Heal() { p.set(open) }

// set changes the state and closes every connection open until now: on
// a cut or blackhole the forwarded ones, on heal the held ones.
func (p *Proxy) set(s state) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == s {
		return
	}
	p.state = s
	p.closeAllLocked()
}

func (p *Proxy) closeAllLocked() {
	// The clients' side first: a target's side closed first ends a pipe,
	// which would half-close the client's side (an orderly end) before
	// its reset.
	for c, client := range p.conns {
		if client {
			reset(c)
		}
	}
	for c := range p.conns {
		reset(c)
	}
	clear(p.conns)
}

// Close stops the proxy: no more connections, every open one closed.
// It returns once every goroutine of the proxy has exited.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	p.closeAllLocked()
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// reset closes c with a TCP reset rather than a FIN: what a client sees
// of a link that went down or a host that refuses is an error, never an
// orderly end. (A client may take an end of stream before its first
// answer for a protocol mistake and not retry: franz-go does, "is TLS
// missing?".)
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// track registers open connections, the client's first, under the
// current state; false (and the connections closed) if the proxy closed
// or the state changed from want meanwhile.
func (p *Proxy) track(want state, cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.state != want {
		for _, c := range cs {
			reset(c)
		}
		return false
	}
	for i, c := range cs {
		p.conns[c] = i == 0
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed (Accept on loopback fails for nothing else that lasts)
		}
		p.mu.Lock()
		s, closed := p.state, p.closed
		if !closed {
			p.wg.Add(1)
		}
		p.mu.Unlock()
		if closed {
			c.Close()
			return
		}
		switch s {
		case cut:
			reset(c)
			p.wg.Done()
		case blackhole:
			go p.hold(c)
		default:
			go p.forward(c)
		}
	}
}

// hold reads and drops what c sends until it is closed (by Heal, Close
// or its peer).
func (p *Proxy) hold(c net.Conn) {
	defer p.wg.Done()
	if !p.track(blackhole, c) {
		return
	}
	io.Copy(io.Discard, c)
	p.untrack(c)
}

// forward dials the target and copies bytes both ways until either side
// ends or the proxy closes the pair.
func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	t, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		reset(c) // the target is down: so is the proxied address
		return
	}
	if !p.track(open, c, t) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// Half-close so the other direction can drain what is in flight,
		// as a direct connection would.
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(t, c)
	go pipe(c, t)
	<-done
	<-done
	p.untrack(c, t)
}
