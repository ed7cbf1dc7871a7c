package socketcan

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

var errTimeout = errors.New("socketcan: read timeout")

// Conn is a raw CAN socket bound to one interface.
type Conn struct{ fd int }

// probe checks the kernel can make CAN sockets at all.
func probe() error {
	fd, err := socket()
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

func socket() (int, error) {
	fd, err := unix.Socket(unix.AF_CAN, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.CAN_RAW)
	if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return -1, fmt.Errorf("%w: %v", ErrNoCAN, err)
	}
	if err != nil {
		return -1, fmt.Errorf("socketcan: socket: %w", err)
	}
	return fd, nil
}

// Open binds a raw CAN socket to the interface, with a 200 ms receive
// timeout so readers notice cancellation.
func Open(iface string) (*Conn, error) {
	fd, err := socket()
	if err != nil {
		return nil, err
	}
	ifi, err := net.InterfaceByName(iface)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrCAN{Ifindex: ifi.Index})
	}
	if err == nil {
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200000})
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("socketcan: %s: %w", iface, err)
	}
	return &Conn{fd: fd}, nil
}

// Read reads one can_frame.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := unix.Read(c.fd, b)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return 0, errTimeout
	}
	return n, err
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }
