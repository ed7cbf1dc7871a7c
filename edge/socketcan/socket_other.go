//go:build !linux

package socketcan

import "errors"

var errTimeout = errors.New("socketcan: read timeout")

// Conn is a raw CAN socket; there are none off Linux.
type Conn struct{}

func probe() error { return ErrUnsupported }

// Open fails: SocketCAN exists only on Linux.
func Open(string) (*Conn, error) { return nil, ErrUnsupported }

// Read never succeeds.
func (c *Conn) Read([]byte) (int, error) { return 0, ErrUnsupported }

// Close does nothing.
func (c *Conn) Close() error { return nil }
