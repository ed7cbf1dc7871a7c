package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

// Case 4 of issue 12: a byte flipped in the middle of a closed segment
// while the broker was stopped. Before, the broker served the damaged
// batch and franz-go and kcat (check.crcs=true) stopped there. Now its
// offsets are a gap both skip, every other record is read, and an ERROR
// names the topic, partition and offsets lost.
func TestDamagedBatchSkippedByClients(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	const n = 200
	var logs syncBuffer
	b := brokertest.StartConfig(t, broker.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	cl := newKgo(t, b.Addr, kgo.ProducerLinger(0), kgo.RequiredAcks(kgo.AllISRAcks()))
	mustCreate(t, cl, "rot", 1, map[string]string{"segment.bytes": "16384"})
	ctx := testCtx(t)
	for i := range n { // one record per batch
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "rot", Value: []byte(fmt.Sprintf("%04d%s", i, strings.Repeat("x", 1000)))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	b.Stop(t)
	seg := filepath.Join(b.Dir, "topics", "rot", "0", fmt.Sprintf("%020d.log", 0))
	flipAt(t, seg, 5000) // inside a record of the first, closed segment

	b.Restart(t)
	got := consumeAll(t, ctx, b.Addr, "rot", n)
	if len(got) != n-1 {
		t.Fatalf("franz-go read %d records, want %d (all but the damaged batch)", len(got), n-1)
	}
	lost := -1
	for i := range n {
		if !got[int64(i)] {
			lost = i
		}
	}
	out, err := exec.CommandContext(ctx, kcat, "-b", b.Addr, "-C", "-t", "rot", "-o", "beginning", "-e", "-q",
		"-X", "check.crcs=true", "-f", "%o\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	if lines := strings.Fields(string(out)); len(lines) != n-1 || strings.Contains(string(out), fmt.Sprintf("\n%d\n", lost)) {
		t.Fatalf("kcat read %d records (want %d, without offset %d):\n%s", len(lines), n-1, lost, out)
	}
	for _, want := range []string{"level=ERROR", "topic=rot partition=0", fmt.Sprintf("first_offset=%d last_offset=%d", lost, lost)} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not report %q:\n%s", want, logs.String())
		}
	}
	rec := httptest.NewRecorder()
	b.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\npitwall_broker_corrupt_batches_total 1\n") {
		t.Errorf("pitwall_broker_corrupt_batches_total is not 1:\n%s", rec.Body.String())
	}
}

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

func flipAt(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// consumeAll reads topic from its start with franz-go until it has seen
// offset n-1, and returns the offsets read.
func consumeAll(t *testing.T, ctx context.Context, addr, topic string, n int64) map[int64]bool {
	t.Helper()
	cl := newKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[int64]bool{}
	for !got[n-1] {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("gave up with %d records read", len(got))
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got[r.Offset] = true })
	}
	return got
}
