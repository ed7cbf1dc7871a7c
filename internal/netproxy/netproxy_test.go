package netproxy_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pitwall/pitwall/internal/netproxy"
)

// echoServer is a loopback TCP server that sends back what it reads and
// closes its side once the client closed its own; it counts accepted
// connections.
type echoServer struct {
	ln       net.Listener
	accepted atomic.Int64
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

func start(t *testing.T, target string) *netproxy.Proxy {
	t.Helper()
	p, err := netproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads as many bytes back.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

// closedByPeer asserts that c's peer reset it: a read ends with
// ECONNRESET, never with data or an orderly end of stream (which a
// client may take for a protocol mistake and not retry). The proxy
// closes the connection itself; the deadline only turns a bug into a
// failure instead of a hang.
func closedByPeer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read %d bytes, err %v: want the connection reset", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read timed out: want the connection closed")
	}
}

// refused asserts that a new connection to addr is reset: at once (the
// dial itself fails with it) or at its first read.
func refused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("dial: %v, want a reset", err)
		}
		return
	}
	defer c.Close()
	closedByPeer(t, c)
}

// waitConns waits until the proxy holds n connections.
func waitConns(t *testing.T, p *netproxy.Proxy, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); p.Conns() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the proxy holds %d connections, want %d", p.Conns(), n)
		}
	}
}

// TestForwardBothWays: 4 MiB of random bytes go through the proxy to an
// echo server and back while still being written, the client's
// half-close reaches the server (which then closes), and the answer is
// byte for byte what was sent.
func TestForwardBothWays(t *testing.T) {
	echo := startEcho(t)
	p := start(t, echo.ln.Addr().String())
	if p.Target() != echo.ln.Addr().String() {
		t.Errorf("Target %s, want %s", p.Target(), echo.ln.Addr())
	}
	c := dial(t, p.Addr())
	msg := make([]byte, 4<<20)
	for i := range msg {
		msg[i] = byte(rand.Uint32())
	}
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(c) // EOF only once the server saw ours
	if err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes back, sent %d (or different ones)", len(got), len(msg))
	}
}

// TestCutAndHeal: Cut closes an open connection and refuses new ones
// without reaching the target; Heal lets new ones through again.
func TestCutAndHeal(t *testing.T) {
	echo := startEcho(t)
	p := start(t, echo.ln.Addr().String())
	before := dial(t, p.Addr())
	roundTrip(t, before, "before the cut")

	p.Cut()
	closedByPeer(t, before)
	refused(t, p.Addr()) // the listener still accepts, and resets at once
	p.Cut()              // again: no change

	p.Heal()
	after := dial(t, p.Addr())
	roundTrip(t, after, "after the heal")
	if n := echo.accepted.Load(); n != 2 {
		t.Errorf("target accepted %d connections, want 2 (none while cut)", n)
	}
}

// TestBlackhole: Blackhole closes an open connection and holds new ones
// silent (what they send goes nowhere); Heal closes the held ones, and
// new connections go through again.
func TestBlackhole(t *testing.T) {
	echo := startEcho(t)
	p := start(t, echo.ln.Addr().String())
	before := dial(t, p.Addr())
	roundTrip(t, before, "before")

	p.Blackhole()
	closedByPeer(t, before)
	held := dial(t, p.Addr())
	waitConns(t, p, 1) // taken while blackholed
	if _, err := held.Write([]byte("into the void")); err != nil {
		t.Fatalf("write to a held connection: %v", err)
	}
	// Nothing comes back. A late answer would make this pass wrongly,
	// never fail wrongly; the target's count below is the firm check.
	held.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := held.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("held connection read %d bytes, err %v: want silence", n, err)
	}
	held.SetReadDeadline(time.Time{})

	p.Heal()
	closedByPeer(t, held)
	after := dial(t, p.Addr())
	roundTrip(t, after, "after")
	if n := echo.accepted.Load(); n != 2 {
		t.Errorf("target accepted %d connections, want 2 (none while blackholed)", n)
	}
}

// TestCloseEndsConnections: Close returns with connections open, and
// their clients see them end.
func TestCloseEndsConnections(t *testing.T) {
	echo := startEcho(t)
	p, err := netproxy.Start(echo.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	roundTrip(t, c, "hello")
	p.Blackhole()
	held := dial(t, p.Addr())
	waitConns(t, p, 1)
	p.Heal()
	closedByPeer(t, held)
	c2 := dial(t, p.Addr())
	roundTrip(t, c2, "again")
	waitConns(t, p, 1)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	closedByPeer(t, c2)
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Error("the proxy still accepts after Close")
	}
}

// TestTargetDown: with nothing listening at the target, a connection to
// the proxy is closed at once.
func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p := start(t, target)
	refused(t, p.Addr())
}

// TestLoopbackOnly: a target outside loopback, or no address at all, is
// refused before anything listens or dials.
func TestLoopbackOnly(t *testing.T) {
	for _, target := range []string{"192.0.2.1:9092", "example.com:9092", "localhost:9092", "[2001:db8::1]:9092", "127.0.0.1", ""} {
		p, err := netproxy.Start(target)
		if err == nil {
			p.Close()
			t.Errorf("Start(%q) accepted", target)
			continue
		}
		if target != "127.0.0.1" && target != "" && !errors.Is(err, netproxy.ErrNotLoopback) {
			t.Errorf("Start(%q): %v, want ErrNotLoopback", target, err)
		}
	}
	for _, target := range []string{"127.0.0.1:1", "127.1.2.3:1", "[::1]:1"} {
		p, err := netproxy.Start(target)
		if err != nil {
			t.Errorf("Start(%q): %v", target, err)
			continue
		}
		p.Close()
	}
}
