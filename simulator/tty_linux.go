package simulator

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// bauds maps bit rates to termios speed codes.
var bauds = map[int]uint32{
	9600: unix.B9600, 19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600,
	115200: unix.B115200, 230400: unix.B230400, 460800: unix.B460800, 500000: unix.B500000,
	921600: unix.B921600, 1000000: unix.B1000000, 2000000: unix.B2000000, 3000000: unix.B3000000,
}

// makeRaw puts a terminal into raw mode (no echo, no line editing, no
// CR/NL translation, 8N1) at baud bit/s, 0 to keep its rate; what
// cfmakeraw(3) does.
func makeRaw(fd uintptr, baud int) error {
	t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotTerminal, err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if baud != 0 {
		code, ok := bauds[baud]
		if !ok {
			return fmt.Errorf("%w: unsupported baud rate %d", ErrConfig, baud)
		}
		t.Cflag = t.Cflag&^unix.CBAUD | code
		t.Ispeed, t.Ospeed = code, code
	}
	return unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
}

// pollable returns f as a non-blocking file on Go's poller, so Close
// interrupts a Read in another goroutine. Calling Fd() (for the ioctls of
// makeRaw and creack/pty) turns a file blocking, so a copy of its
// descriptor is made non-blocking and f is closed.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("simulator: dup %s: %w", f.Name(), err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("simulator: %s: %w", f.Name(), err)
	}
	nf := os.NewFile(uintptr(fd), f.Name())
	f.Close()
	return nf, nil
}
