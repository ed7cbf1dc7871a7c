package edge

// The test binary doubles as an edge process (see TestMain), so tests can
// kill a real edge with SIGKILL and start another on the same spool.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"gopkg.in/yaml.v3"
)

// childEnv, set to a YAML config file, makes the test binary run an edge
// with it instead of the tests.
const childEnv = "PITWALL_TEST_EDGE_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	cfg, err := LoadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if prof := os.Getenv("PITWALL_TEST_EDGE_CPUPROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is an edge running in another process.
type child struct {
	cmd     *exec.Cmd
	metrics string
	done    chan struct{}
}

// startChild runs an edge process with cfg (Logger ignored; Metrics set
// to a free loopback port).
func startChild(t testing.TB, cfg Config) *child {
	t.Helper()
	cfg.Metrics = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg.Logger = nil
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, metrics: cfg.Metrics, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log("child: " + sc.Text())
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	waitFor(t, "the child's /metrics", func() bool { _, err := c.scrape(); return err == nil })
	return c
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// scrape reads the child's metrics: name{labels} → value.
func (c *child) scrape() (map[string]float64, error) {
	resp, err := http.Get("http://" + c.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// metric returns one metric of the child, 0 when unknown.
func (c *child) metric(t testing.TB, name string) float64 {
	m, err := c.scrape()
	if err != nil {
		return -1
	}
	return m[name]
}

// waitMetric waits until the child's metric reaches at least v.
func (c *child) waitMetric(t testing.TB, name string, v float64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s >= %v", name, v), func() bool { return c.metric(t, name) >= v })
}
