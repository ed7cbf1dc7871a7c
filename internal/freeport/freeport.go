// Package freeport hands out loopback TCP addresses for a server that a
// test or a bench run starts as another process and that binds the
// address itself: a port is bound, let go and returned. Listen is the
// same for a listener of this process.
//
// The kernel gives a port just let go to the next bind of port 0 again,
// so two calls in a row could return the same address, and two servers
// of one run were then handed the same port ("address already in use",
// a Raft configuration with a duplicate address). Addr never returns an
// address it returned before in the same process. Another process may
// still take a port between Addr and the server's bind; that is the
// window every "free port" scheme has, and it is short.
package freeport

import (
	"net"
	"sync"
)

var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// Addr returns a loopback address ("127.0.0.1:PORT") no one was bound
// to a moment ago and that Addr and Listen have not returned before.
func Addr() (string, error) {
	ln, err := Listen()
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// Listen returns a listener on a loopback port that Addr and Listen have
// not returned before in this process: for a server in this process (a
// test's proxy, say) that must not take a port Addr handed to another
// process that has not bound it yet.
func Listen() (net.Listener, error) {
	var held []net.Listener // ports handed out before: kept bound until a new one comes
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := ln.Addr().String()
		handedOut.Lock()
		fresh := !handedOut.addrs[addr]
		handedOut.addrs[addr] = true
		handedOut.Unlock()
		if fresh {
			return ln, nil
		}
		held = append(held, ln)
	}
}

// Port is Addr's port.
func Port() (int, error) {
	ln, err := Listen()
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
