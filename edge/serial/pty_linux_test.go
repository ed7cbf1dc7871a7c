package serial

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// A pty whose other end has closed is not reopened once the kernel has
// given its number to another pty: that pty's input is not the port's,
// and opening it would change its termios (an edge that outlived its
// simulator read the next pty created on the machine this way, another
// test's, in the middle of its stream). The same pty is reopened, and a
// symlink re-created for a new pty is followed.
func TestOpenLeavesAnotherPTYUnderTheSameNumber(t *testing.T) {
	master, tty := newPTY(t)
	path := tty.Name()
	tty.Close()
	link := filepath.Join(t.TempDir(), "tty")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	byNumber, byLink := mustPort(t, path), mustPort(t, link)
	for range 2 { // the same pty again: reopened
		for _, p := range []Port{byNumber, byLink} {
			port, err := p.Open()
			if err != nil {
				t.Fatalf("opening %s: %v", p.Path, err)
			}
			port.Close()
		}
	}
	first, _ := ptyAt(path)
	// The edge was reading it when its other end closed.
	port, err := byNumber.Open()
	if err != nil {
		t.Fatal(err)
	}
	master.Close()
	if err := byNumber.ReadLoop(context.Background(), port, func([]byte, time.Time) {}, nil); !errors.Is(err, ErrHangup) {
		t.Fatalf("ReadLoop after the pty closed: %v", err)
	}
	port.Close()

	otherMaster, other := newPTYAt(t, path, first)
	termios := func() unix.Termios {
		tio, err := unix.IoctlGetTermios(int(other.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return *tio
	}
	before := termios()
	for _, p := range []Port{byNumber, byLink} {
		if port, err := p.Open(); !errors.Is(err, ErrOtherPTY) {
			if err == nil {
				port.Close()
			}
			t.Fatalf("opening %s once another pty has its number: %v, want ErrOtherPTY", p.Path, err)
		}
	}
	if after := termios(); after != before {
		t.Fatalf("the other pty's termios changed from %+v to %+v", before, after)
	}
	// Its input is its own: a line typed into it reaches its reader.
	if _, err := otherMaster.Write([]byte("ls\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(other).ReadString('\n'); err != nil || line != "ls\n" {
		t.Fatalf("the other pty's reader got %q, %v", line, err)
	}

	// A symlink re-created for a new pty is followed to it.
	_, newer := newPTY(t)
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(newer.Name(), link); err != nil {
		t.Fatal(err)
	}
	if port, err := byLink.Open(); err != nil {
		t.Fatalf("opening %s re-created for %s: %v", link, newer.Name(), err)
	} else {
		port.Close()
	}
}

func mustPort(t *testing.T, path string) Port {
	t.Helper()
	p, err := Port{Path: path, ReadTimeout: 100 * time.Millisecond}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close(); tty.Close() })
	return master, tty
}

// newPTYAt creates ptys until one is at path (the kernel gives the lowest
// free number, so the first normally is) and was created on a later clock
// tick than the one that had it before (Open tells ptys apart by when they
// were created), keeping the others open meanwhile.
func newPTYAt(t *testing.T, path string, prev ptyID) (master, tty *os.File) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		master, tty := newPTY(t)
		if tty.Name() != path {
			continue
		}
		if id, _ := ptyAt(path); id.ctime != prev.ctime {
			return master, tty
		}
		master.Close()
		tty.Close()
	}
	t.Fatalf("no new pty at %s", path)
	return nil, nil
}
