//go:build !linux

package simulator

import "errors"

func makeRaw(fd uintptr, baud int) error {
	return errors.New("simulator: serial devices and --pty are supported on Linux only")
}
