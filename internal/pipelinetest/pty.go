package pipelinetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// PTYRun is a simulator writing over a pty into an edge.
type PTYRun struct {
	// Edge reads the pty (Input) and produces to the brokers; it runs
	// until the test ends, and an error it returns then fails the test.
	Edge *edge.Edge
	// Input is the edge's input: "serial:" and the pty's path.
	Input string
	done  chan error
	truth string
}

// SimulateOverPTY runs the simulator with sim, its output set to a pty
// (PTY, Out "serial", Stdout) and its truth to a file of the test's, and
// an edge (a spool in a temp dir, metrics on a free loopback port, no
// status lines) reading the pty and producing to brokers. The simulator
// is held at its first write until the edge's source is up, so the edge
// opens (and flushes) the port before any frame.
func SimulateOverPTY(t *testing.T, sim simulator.Config, brokers []string) *PTYRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ann := &ptyAnnouncer{ended: ctx.Done(), path: make(chan string, 1), proceed: make(chan struct{})}
	r := &PTYRun{done: make(chan error, 1), truth: filepath.Join(t.TempDir(), "truth.csv")}
	sim.PTY, sim.Out, sim.Stdout, sim.Truth = true, "serial", ann, r.truth
	go func() { r.done <- simulator.Run(ctx, sim) }()
	select {
	case p := <-ann.path:
		r.Input = "serial:" + p
	case err := <-r.done:
		t.Fatalf("simulator: %v before it opened its pty", err)
	}
	e, err := edge.New(edge.Config{
		Brokers: brokers, Inputs: []string{r.Input}, Spool: edge.SpoolConfig{Dir: t.TempDir()},
		Metrics: "127.0.0.1:0", StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Edge = e
	edgeDone := make(chan error, 1)
	go func() { edgeDone <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-edgeDone; err != nil {
			t.Errorf("edge: %v", err)
		}
	})
	WaitEdgeSource(t, e.MetricsAddr(), r.Input)
	close(ann.proceed)
	return r
}

// Truth waits for the simulator to end and returns its truth laps,
// sorted (SortLaps).
func (r *PTYRun) Truth(t testing.TB) []telemetry.Lap {
	t.Helper()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	r.done <- nil // a second call does not wait for ever
	return ReadTruth(t, r.truth)
}

// ptyAnnouncer is the simulator's stdout: it takes the pty path the
// simulator prints first and holds the simulator there until proceed is
// closed (or ended: the test ended before).
type ptyAnnouncer struct {
	ended   <-chan struct{}
	path    chan string
	proceed chan struct{}
	once    sync.Once
}

func (a *ptyAnnouncer) Write(p []byte) (int, error) {
	first := false
	a.once.Do(func() { first = true; a.path <- strings.TrimSpace(string(p)) })
	if first {
		select {
		case <-a.proceed:
		case <-a.ended:
		}
	}
	return len(p), nil
}

// WaitEdgeSource polls the edge's /metrics at addr until source is up,
// for a minute at most.
func WaitEdgeSource(t testing.TB, addr, source string) {
	t.Helper()
	want := fmt.Sprintf("edge_source_up{source=%q} 1", source)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), want) {
			return
		}
	}
	t.Fatalf("edge source %s never came up", source)
}
