package commitlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// makeBatch builds a record batch v2 with one record per value, as a
// producer would: kmsg encodes it, the CRC-32C is computed here.
func makeBatch(tb testing.TB, firstTs int64, values ...[]byte) []byte {
	tb.Helper()
	if len(values) == 0 {
		tb.Fatal("makeBatch needs at least one record")
	}
	return buildBatch(firstTs, values...)
}

// buildBatch is makeBatch for code without a testing.TB (the kill -9 child).
func buildBatch(firstTs int64, values ...[]byte) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: fmt.Appendf(nil, "car-%d", i), Value: v}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // a zero Length is one varint byte
		recs = r.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       firstTs,
		MaxTimestamp:         firstTs + int64(len(values)-1),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(values)),
		Records:              recs,
	}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32c(raw[21:]))
	return raw
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// values returns n values of size bytes whose content depends on seed.
func values(n, size, seed int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(seed*31 + i*7 + j)
		}
		out[i] = v
	}
	return out
}

// splitBatches cuts b into batches, checking each one fully.
func splitBatches(tb testing.TB, b []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for len(b) > 0 {
		h, err := ParseBatchHeader(b)
		if err != nil || h.Size() > len(b) {
			tb.Fatalf("read returned a partial or bad batch: %v (size %d of %d)", err, h.Size(), len(b))
		}
		if _, err := ValidateBatch(b[:h.Size()]); err != nil {
			tb.Fatalf("read returned an invalid batch: %v", err)
		}
		out = append(out, b[:h.Size()])
		b = b[h.Size():]
	}
	return out
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000).UTC()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Millis() int64 { return c.Now().UnixMilli() }

// quietLogger discards log output unless the test is verbose.
func quietLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openLog opens a log and closes it when the test ends.
func openLog(tb testing.TB, cfg Config) *Log {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger(tb)
	}
	l, err := Open(cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

// mustAppend appends a batch and checks the offsets it got.
func mustAppend(tb testing.TB, l *Log, batch []byte, epoch int32) (base, last int64) {
	tb.Helper()
	want := l.EndOffset()
	base, last, err := l.Append(batch, epoch)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	if base != want {
		tb.Fatalf("Append base = %d, want LEO %d", base, want)
	}
	return base, last
}

// readAll reads every visible batch from offset on, segment after segment.
func readAll(tb testing.TB, l *Log, from int64) [][]byte {
	tb.Helper()
	var out [][]byte
	for off := from; off < l.HighWatermark(); {
		b, err := l.Read(off, 64<<10, nil)
		if err != nil {
			tb.Fatalf("Read(%d): %v", off, err)
		}
		got := splitBatches(tb, b)
		if len(got) == 0 {
			tb.Fatalf("Read(%d) below HW %d returned nothing", off, l.HighWatermark())
		}
		for _, bt := range got {
			h, _ := ParseBatchHeader(bt)
			off = h.LastOffset() + 1
		}
		out = append(out, got...)
	}
	return out
}

// crash abandons l like a killed process would: no final fsync, no index
// save, no marker. The files are closed so the test can reopen the dir.
func crash(l *Log) {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		if l.stop != nil {
			close(l.stop)
			<-l.done
		}
		l.mu.Lock()
		l.releaseAll()
		l.mu.Unlock()
	})
}

// segmentFiles lists the segment, index and metadata files of dir.
func segmentFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func segPath(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// equalBatches compares stored batches with the ones appended (which Append
// stamped in place).
func equalBatches(tb testing.TB, got, want [][]byte) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			tb.Fatalf("batch %d differs from what was appended", i)
		}
	}
}
