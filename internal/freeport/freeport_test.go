package freeport

import (
	"net"
	"testing"
)

// Many addresses in a row, each let go before the next is asked for: no
// address twice, and each can be bound.
func TestAddrNeverTwice(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		ln.Close()
	}
	// A listener of this process never takes a port handed out before
	// (the kernel offered this process's proxies the brokers' ports).
	for range 50 {
		ln, err := Listen()
		if err != nil {
			t.Fatal(err)
		}
		if seen[ln.Addr().String()] {
			t.Fatalf("Listen took %s, handed out before", ln.Addr())
		}
		seen[ln.Addr().String()] = true
		ln.Close()
	}
	p, err := Port()
	if err != nil || p <= 0 {
		t.Fatalf("Port: %d, %v", p, err)
	}
}
