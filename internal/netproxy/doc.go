// Package netproxy is a TCP proxy on loopback that a test can cut: the
// stand-in for a network partition between processes on one machine
// (issue 13's partition tests put one in front of each broker's
// controller and Kafka listeners and point the other brokers at it).
//
// # Data flow
//
//	client ──▶ Proxy.Addr() (127.0.0.1:random) ──▶ target (a loopback address)
//	           one goroutine per direction and connection, bytes copied as they come
//
// States, changed at any time from any goroutine:
//
//	open       connections are accepted and forwarded both ways
//	Cut        every open connection is reset at once (both sides), and a
//	           new one is accepted and reset before a byte crosses: the
//	           peer sees ECONNRESET, as across a link that went down and
//	           a host that refuses; never an orderly end of stream, which
//	           a client may take for a protocol mistake and not retry
//	           (franz-go: "is TLS missing?"). So is a connection whose
//	           target is down.
//	Blackhole  every open connection is closed, and a new one is accepted
//	           and held silent: what it sends is read and dropped, nothing
//	           comes back, as across a link that loses every packet; the
//	           peer waits for its own timeouts
//	Heal       back to open; connections held by Blackhole are closed so
//	           their peers dial again
//
// The proxy only ever dials its target, and the target must be a
// loopback address (127.0.0.0/8 or ::1): Start refuses any other.
// Close stops accepting, closes every connection and waits for every
// goroutine the proxy started.
package netproxy
