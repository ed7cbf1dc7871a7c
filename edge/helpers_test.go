package edge

// Helpers for tests against real things: socat pty pairs, Mosquitto, the
// Pitwall broker (brokertest), the simulator. All on loopback.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/freeport"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testLogger logs warnings and errors to the test output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(&guarded{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// guarded writes to t's log until the test ends.
type guarded struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (g *guarded) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done {
		g.t.Cleanup(func() { g.mu.Lock(); g.done = true; g.mu.Unlock() })
		g.t.Log(string(bytes.TrimSpace(p)))
	}
	return len(p), nil
}

// idempotentInTests says whether tests run the producer idempotent: true
// now that the broker answers InitProducerId.
var idempotentInTests = true

// testConfig is an edge config for tests: loopback broker, temp spool,
// /metrics on a random port, no status lines.
func testConfig(t testing.TB, broker string, inputs ...string) Config {
	idem := idempotentInTests
	return Config{
		Brokers: []string{broker}, Inputs: inputs,
		Spool:       SpoolConfig{Dir: t.TempDir()},
		Producer:    ProducerConfig{Idempotent: &idem},
		Metrics:     "127.0.0.1:0",
		StatusEvery: -1, FlushTimeout: 20 * time.Second,
		Logger: testLogger(t),
	}
}

// startEdge runs an edge in the background; stop cancels it and returns
// Run's error. Cleanup stops it too.
func startEdge(t testing.TB, cfg Config) (*Edge, func() error) {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { stop() })
	return e, stop
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// socatPair starts `socat pty pty` and returns the two link paths.
func socatPair(t testing.TB) (a, b string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "A"), filepath.Join(dir, "B")
	return a, b, startSocat(t, a, b)
}

// startSocat starts socat linking a pty pair at a and b; stop ends it
// (socat removes the links).
func startSocat(t testing.TB, a, b string) (stop func()) {
	t.Helper()
	cmd := exec.Command("socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := cmd.Start(); err != nil {
		t.Fatalf("socat: %v (run make deps)", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	waitFor(t, "socat links", func() bool {
		_, errA := os.Stat(a)
		_, errB := os.Stat(b)
		return errA == nil && errB == nil
	})
	return stop
}

// freePort is a loopback port for a server the test starts (freeport:
// never one handed out before in this process).
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startMosquitto runs Mosquitto on a free loopback port with sessions and
// queues kept in memory, and returns its address.
func startMosquitto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 1000\n", port)), 0o644)
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatalf("mosquitto: %v (run make deps)", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "mosquitto", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// simFrames runs the simulation cfg describes in memory and returns its
// frames per car, in order, and the catalogs.
func simFrames(t testing.TB, cfg simulator.Config) (map[string][]telemetry.Frame, []*telemetry.ChannelCatalog) {
	t.Helper()
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]telemetry.Frame{}
	for more := true; more; {
		if more, err = sim.Step(func(f *telemetry.Frame) error {
			cp := *f
			cp.Samples = slices.Clone(f.Samples)
			out[f.Car] = append(out[f.Car], cp)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var cats []*telemetry.ChannelCatalog
	for i := range sim.Cars() {
		cats = append(cats, sim.Catalog(i))
	}
	return out, cats
}

func countFrames(m map[string][]telemetry.Frame) (n int) {
	for _, fs := range m {
		n += len(fs)
	}
	return n
}

// record is one record read back from the broker.
type record struct {
	partition int32
	offset    int64
	key       string
	value     []byte
	ts        time.Time
	headers   map[string]string
}

// readTopic reads every record of topic up to its end offsets.
func readTopic(t testing.TB, addr, topic string) []record {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Consumer.MaxWaitTime = 10 * time.Millisecond
	cfg.Consumer.Fetch.Default = 4 << 20
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var out []record
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				r := record{partition: p, offset: m.Offset, key: string(m.Key), value: m.Value, ts: m.Timestamp, headers: map[string]string{}}
				for _, h := range m.Headers {
					r.headers[string(h.Key)] = string(h.Value)
				}
				out = append(out, r)
				done = m.Offset >= end-1
			case err := <-pc.Errors():
				t.Fatal(err)
			case <-time.After(30 * time.Second):
				t.Fatalf("%s/%d: no record for 30s before offset %d", topic, p, end)
			}
		}
		pc.Close()
	}
	return out
}

// framesByCar decodes frame records and checks that each car has exactly
// one partition, the one murmur2 gives its key.
func framesByCar(t testing.TB, recs []record, partitions int32) map[string][]telemetry.Frame {
	t.Helper()
	codec := telemetry.MustNewCodec()
	out := map[string][]telemetry.Frame{}
	for _, r := range recs {
		var f telemetry.Frame
		if err := codec.DecodeFrame(r.value, &f); err != nil {
			t.Fatalf("%d/%d: %v", r.partition, r.offset, err)
		}
		if f.Car != r.key {
			t.Fatalf("%d/%d: frame of car %s under key %q", r.partition, r.offset, f.Car, r.key)
		}
		if want := telemetry.Partition([]byte(f.Car), partitions); r.partition != want {
			t.Fatalf("car %s on partition %d, murmur2 says %d", f.Car, r.partition, want)
		}
		out[f.Car] = append(out[f.Car], f)
	}
	return out
}

// sameFrames checks got holds exactly want's frames per car, in order,
// without duplicates; session is compared only when withSession.
func sameFrames(t testing.TB, got, want map[string][]telemetry.Frame, withSession bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("frames of %d cars, want %d", len(got), len(want))
	}
	for car, w := range want {
		g := got[car]
		if len(g) != len(w) {
			t.Fatalf("car %s: %d frames, want %d", car, len(g), len(w))
		}
		for i := range w {
			a, b := g[i], w[i]
			if !withSession {
				a.Session, b.Session = "", ""
			}
			if a.Car != b.Car || a.Session != b.Session || a.Seq != b.Seq || a.TimeNs != b.TimeNs || !slices.Equal(a.Samples, b.Samples) {
				t.Fatalf("car %s frame %d: got seq %d t %d (%d samples, session %q), want seq %d t %d (%d samples, session %q)",
					car, i, a.Seq, a.TimeNs, len(a.Samples), a.Session, b.Seq, b.TimeNs, len(b.Samples), b.Session)
			}
		}
	}
}
