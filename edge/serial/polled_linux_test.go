package serial

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A port opened with OpenPolled is read through a non-blocking
// descriptor Go's poller waits on (tarm/serial's own is blocking), gets
// what the other end writes, reports a read with nothing as a timeout
// (ReadLoop calls idle), and a closed other end as a hang-up.
func TestOpenPolledReadsThroughThePoller(t *testing.T) {
	master, tty := newPTY(t)
	path := tty.Name()
	tty.Close()
	p := mustPort(t, path)
	port, err := p.OpenPolled()
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if flags := ttyFDFlags(t, path); !hasNonblocking(flags) {
		t.Fatalf("no descriptor of %s is non-blocking (flags %v): reads hold an OS thread", path, flags)
	}

	var mu sync.Mutex
	var got strings.Builder
	idle := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- p.ReadLoop(context.Background(), port, func(chunk []byte, _ time.Time) {
			mu.Lock()
			got.Write(chunk)
			mu.Unlock()
		}, func(time.Time) {
			select {
			case idle <- struct{}{}:
			default:
			}
		})
	}()
	<-idle // nothing written yet: a read timed out
	const line = "$car01,1,1700000000000000000,1=1.5*0000\n"
	if _, err := master.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		mu.Lock()
		s := got.String()
		mu.Unlock()
		if s == line {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %q, want %q", s, line)
		}
		time.Sleep(5 * time.Millisecond)
	}
	master.Close()
	if err := <-done; !errors.Is(err, ErrHangup) {
		t.Fatalf("ReadLoop after the pty's other end closed: %v, want ErrHangup", err)
	}
}

// ttyFDFlags returns the open flags of this process's descriptors of
// path, from /proc/self/fdinfo.
func ttyFDFlags(t *testing.T, path string) []int64 {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var flags []int64
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err != nil || target != path {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", fd.Name()))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(l, "flags:"); ok {
				if f, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64); err == nil {
					flags = append(flags, f)
				}
			}
		}
	}
	return flags
}

func hasNonblocking(flags []int64) bool {
	for _, f := range flags {
		if f&unix.O_ACCMODE == unix.O_RDWR && f&unix.O_NONBLOCK != 0 {
			return true
		}
	}
	return false
}
