//go:build !linux

package serial

import tarm "github.com/tarm/serial"

// PolledPort is the tarm/serial port itself off Linux.
type PolledPort = tarm.Port

// OpenPolled opens the port (see the Linux version).
func (p Port) OpenPolled() (*PolledPort, error) { return p.Open() }
