package simulator

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// A simulator writing to a pty whose reader has stopped reading (an edge
// that was cancelled first, as in pitwall up) stops when cancelled: the
// port is closed before the output's last flush, which would otherwise
// wait for ever for room in the pty. Run for 20 cancellations at
// different moments.
func TestPTYCancelWithoutReader(t *testing.T) {
	for i := range 20 {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Track: "brands-indy", Cars: 2, Speed: 0, PTY: true, Out: "serial", Stdout: pw,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		}()
		path, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, pr) // nothing else is printed, but never block the simulator on it
		f, err := os.Open(strings.TrimSpace(path))
		if err != nil {
			t.Fatal(err)
		}
		// Read a little, then stop reading: the pty fills and the
		// simulator's writes block.
		buf := make([]byte, 4096*(i+1))
		if _, err := io.ReadFull(f, buf); err != nil {
			t.Fatal(err)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run %d: cancelled Run returned %v, want nil", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("run %d: Run did not return within a minute of its cancellation with the pty's reader gone", i)
		}
		f.Close()
		pw.Close()
	}
}
