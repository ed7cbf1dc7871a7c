package up

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/track"
)

// syncBuffer is a bytes.Buffer safe to write from Run and read from the
// test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestRunCancelIsClean runs everything until the first lap line appears,
// cancels (Ctrl-C in pitwall up), and expects a clean stop: Run returns
// nil and the broker wrote its clean-shutdown markers.
func TestRunCancelIsClean(t *testing.T) {
	dir := t.TempDir()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{DataDir: dir, Cars: 1, Track: "brands-indy", Speed: -1, Stdout: &out, Logger: quietLogger(t)})
	}()
	for !strings.Contains(out.String(), "car01 lap 1 ") {
		select {
		case err := <-done:
			t.Fatalf("Run returned %v before any lap:\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	for _, topic := range []string{"telemetry", "telemetry.laps"} {
		marks, _ := filepath.Glob(filepath.Join(dir, "broker", "topics", topic, "*", "clean-shutdown"))
		if len(marks) == 0 {
			t.Errorf("topic %s: no clean-shutdown markers after cancel", topic)
		}
	}
}

// TestRunTerminalBoard runs one lap per car with the board drawn in place
// and checks the final board.
func TestRunTerminalBoard(t *testing.T) {
	var out syncBuffer
	err := Run(context.Background(), Config{Cars: 2, Track: "brands-indy", Speed: -1, Laps: 1, Terminal: true,
		Refresh: 20 * time.Millisecond, Stdout: &out, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "\x1b[2J\x1b[H") {
		t.Errorf("board does not start by clearing the screen: %q", s[:min(len(s), 20)])
	}
	last := s[strings.LastIndex(s, "\x1b[H"):]
	// The timing tower (RenderTower): its header, the leader, the times in
	// the timing colours (purple: the session's best of two cars).
	for _, want := range []string{" P CAR", "LAST", "BEST", "S1", "INT", "GAP", "PIT", "leader", "\x1b[1;35m"} {
		if !strings.Contains(last, want) {
			t.Errorf("final board lacks %q:\n%s", want, last)
		}
	}
	for _, car := range []string{"car01", "car02"} {
		found := false
		for _, line := range strings.Split(last, "\n") {
			f := strings.Fields(line)
			if len(f) > 3 && f[1] == car && f[2] == "1" {
				found = true
			}
		}
		if !found {
			t.Errorf("final board has no row for %s with 1 lap:\n%s", car, last)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{Cars: -1}, {Cars: 100}, {Laps: -2}, {Refresh: -time.Second},
		{InfluxURL: "127.0.0.1:8086"}, {InfluxURL: "ftp://127.0.0.1:8086"}} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := Run(context.Background(), Config{Track: "nowhere", Stdout: os.Stdout}); err == nil {
		t.Error("unknown track: no error")
	}
}

// A track file's lines time the laps; a file for another circuit than the
// one driven is refused before anything starts.
func TestRunTrackFile(t *testing.T) {
	timing, err := track.LookupTiming("brands-indy")
	if err != nil {
		t.Fatal(err)
	}
	b, err := track.MarshalTiming(timing)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "brands.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), Config{Track: "monza", TrackFile: path, Logger: quietLogger(t)}); err == nil ||
		!strings.Contains(err.Error(), `is for "brands-indy"`) {
		t.Fatalf("monza driven, brands-indy file: %v", err)
	}
	var out syncBuffer
	err = Run(context.Background(), Config{DataDir: t.TempDir(), Cars: 1, TrackFile: path, Speed: -1, Laps: 1,
		Stdout: &out, Logger: quietLogger(t)})
	if err != nil || !strings.Contains(out.String(), "car01 lap 1 0:4") {
		t.Fatalf("Run with the default track and its file: %v\n%s", err, out.String())
	}

	// No Track: the cars drive the file's (Monza's laps take over a minute).
	monza, err := track.LookupTiming("monza")
	if err != nil {
		t.Fatal(err)
	}
	if b, err = track.MarshalTiming(monza); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "monza.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out = syncBuffer{}
	err = Run(context.Background(), Config{DataDir: t.TempDir(), Cars: 1, TrackFile: path, Speed: -1, Laps: 1,
		Stdout: &out, Logger: quietLogger(t)})
	if err != nil || !strings.Contains(out.String(), "car01 lap 1 1:") {
		t.Fatalf("Run with only a Monza file: %v\n%s", err, out.String())
	}
}
