package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// The command line exactly as the issue spells it.
func TestEdgeCommandLine(t *testing.T) {
	cfg, level, err := edgeConfig([]string{
		"--brokers", "127.0.0.1:9092",
		"--in", "serial:/dev/ttyUSB0?baud=115200&car=44",
		"--in", "slcan:/dev/ttyACM0?bitrate=500000&dbc=car.dbc&car=44",
		"--in", "mqtt://127.0.0.1:1883/cars/+/telemetry",
		"--spool", "/var/lib/pitwall/spool",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Brokers) != 1 || cfg.Brokers[0] != "127.0.0.1:9092" || len(cfg.Inputs) != 3 ||
		cfg.Inputs[1] != "slcan:/dev/ttyACM0?bitrate=500000&dbc=car.dbc&car=44" || cfg.Spool.Dir != "/var/lib/pitwall/spool" ||
		cfg.Producer.Idempotent == nil || !*cfg.Producer.Idempotent || level != "info" {
		t.Fatalf("config %+v", cfg)
	}
	for _, args := range [][]string{
		{},
		{"--brokers", "127.0.0.1:9092"},
		{"--in", "serial:/dev/x"},
		{"--brokers", "127.0.0.1:9092", "--in", "serial:/dev/x", "stray"},
		{"--config", "/nonexistent.yaml"},
	} {
		if _, _, err := edgeConfig(args); err == nil {
			t.Errorf("edgeConfig(%q) accepted", args)
		}
	}
}

// --config reads YAML; flags override it and --in adds to its inputs.
func TestEdgeConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.yaml")
	os.WriteFile(path, []byte(`brokers: [127.0.0.1:1]
inputs:
  - serial:/dev/ttyUSB0?car=44
spool:
  dir: /tmp/spool
  max_bytes: 2000000000
  policy: drop-oldest
producer:
  compression: lz4
  linger: 20ms
  idempotent: false
status_every: 10s
`), 0o644)
	cfg, _, err := edgeConfig([]string{"--config", path, "--brokers", "127.0.0.1:9092", "--in", "mqtt://127.0.0.1:1883/cars/+/t", "--linger", "7ms"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Brokers[0] != "127.0.0.1:9092" || len(cfg.Inputs) != 2 || cfg.Spool.Policy != "drop-oldest" || cfg.Spool.MaxBytes != 2e9 ||
		cfg.Producer.Compression != "lz4" || cfg.Producer.Linger != 7*time.Millisecond || *cfg.Producer.Idempotent || cfg.StatusEvery != 10*time.Second {
		t.Fatalf("config %+v", cfg)
	}
	os.WriteFile(path, []byte("brokers: [a]\nspool_dir: x\n"), 0o644)
	if _, _, err := edgeConfig([]string{"--config", path}); err == nil {
		t.Fatal("unknown YAML key accepted")
	}
}

// `pitwall edge` runs against a real broker, takes the simulator's
// serial lines from a pty, and on cancellation (SIGTERM in main) flushes
// and returns.
func TestRunEdge(t *testing.T) {
	b := brokertest.Start(t)
	dir := t.TempDir()
	a, bEnd := filepath.Join(dir, "A"), filepath.Join(dir, "B")
	socat := exec.Command("socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+bEnd)
	if err := socat.Start(); err != nil {
		t.Fatalf("socat: %v (run make deps)", err)
	}
	defer func() { socat.Process.Signal(os.Interrupt); socat.Wait() }()
	for {
		if _, err := os.Stat(bEnd); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	metrics := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runEdge(ctx, []string{"--brokers", b.Addr, "--in", "serial:" + a + "?car=car01", "--spool", filepath.Join(dir, "spool"),
			"--metrics", metrics, "--log-level", "error", "--status-every", "-1s"})
	}()
	cfg := simulator.Config{Cars: 1, Duration: 500 * time.Millisecond, Seed: 1, Out: "serial:" + bEnd, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := simulator.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	sim, _ := simulator.New(cfg)
	n := 0
	for more := true; more; {
		more, _ = sim.Step(func(*telemetry.Frame) error { n++; return nil })
	}
	want := fmt.Sprintf(`edge_acked_records_total{topic="telemetry"} %d`, n)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(scrape(metrics), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in /metrics", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{b.Addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	p := telemetry.Partition([]byte("car01"), telemetry.DefaultPartitions)
	if end, err := client.GetOffset(telemetry.TopicFrames, p, sarama.OffsetNewest); err != nil || end != int64(n) {
		t.Fatalf("car01's partition %d holds %d records (%v), want %d", p, end, err, n)
	}
}

func scrape(addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
