//go:build !linux

package simulator

import (
	"errors"
	"os"
)

func makeRaw(fd uintptr, baud int) error {
	return errors.New("simulator: serial devices and --pty are supported on Linux only")
}

func pollable(f *os.File) (*os.File, error) { return f, nil }
