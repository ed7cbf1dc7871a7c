package commitlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fillLog appends n batches of two 100-byte records to a fresh log and
// returns them (stamped) with the log.
func fillLog(t *testing.T, cfg Config, n int) (*Log, [][]byte) {
	t.Helper()
	l := openLog(t, cfg)
	var batches [][]byte
	for i := range n {
		b := makeBatch(t, 1000+int64(i), values(2, 100, i)...)
		mustAppend(t, l, b, 0)
		batches = append(batches, b)
	}
	return l, batches
}

func TestTornTail(t *testing.T) {
	const n = 10
	tests := []struct {
		name string
		// damage mutates the active segment (batches are the stored ones)
		// and returns how many whole batches survive.
		damage func(t *testing.T, path string, batches [][]byte) int
	}{
		{"cut in the last header", func(t *testing.T, path string, batches [][]byte) int {
			truncateBy(t, path, int64(len(batches[n-1])-20))
			return n - 1
		}},
		{"cut in the last batch, then garbage", func(t *testing.T, path string, batches [][]byte) int {
			truncateBy(t, path, 50)
			appendBytes(t, path, bytes.Repeat([]byte{0xde, 0xad}, 300))
			return n - 1
		}},
		{"whole batches, then garbage", func(t *testing.T, path string, batches [][]byte) int {
			appendBytes(t, path, []byte("not a batch at all, just some bytes after the end"))
			return n
		}},
		{"zeroes after the end (preallocated tail)", func(t *testing.T, path string, batches [][]byte) int {
			appendBytes(t, path, make([]byte, 4096))
			return n
		}},
		{"bit flip in the last batch", func(t *testing.T, path string, batches [][]byte) int {
			flipByte(t, path, offsetOf(batches, n-1)+100)
			return n - 1
		}},
		{"empty file", func(t *testing.T, path string, batches [][]byte) int {
			truncateBy(t, path, sizeOf(t, path))
			return 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: FsyncNever, IndexIntervalBytes: 300}
			l, batches := fillLog(t, cfg, n)
			crash(l)
			path := segPath(dir, 0, logSuffix)
			keep := tc.damage(t, path, batches)

			l2 := openLog(t, cfg)
			wantLEO := int64(2 * keep)
			if l2.EndOffset() != wantLEO || l2.HighWatermark() != wantLEO {
				t.Fatalf("after recovery LEO %d HW %d, want %d", l2.EndOffset(), l2.HighWatermark(), wantLEO)
			}
			r := l2.Stats().Recovery
			if r.Clean || sizeOf(t, path) != offsetOf(batches, keep) || l2.Size() != offsetOf(batches, keep) {
				t.Fatalf("recovery %+v, file %d bytes, want %d", r, sizeOf(t, path), offsetOf(batches, keep))
			}
			equalBatches(t, readAll(t, l2, 0), batches[:keep])
			next := makeBatch(t, 5000, values(1, 10, 99)...)
			mustAppend(t, l2, next, 0)
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
			l3 := openLog(t, cfg)
			equalBatches(t, readAll(t, l3, 0), append(batches[:keep:keep], next))
		})
	}
}

// TestMiddleDamageKept: after a crash, a damaged batch with valid batches
// after it is damage, not a torn tail (issue 12, case 5): recovery keeps
// every batch after it, its offsets become a gap that reads skip, and it
// is counted; appends carry on at the old end.
func TestMiddleDamageKept(t *testing.T) {
	const n = 10
	for _, tc := range []struct {
		name   string
		bad    int // the batch damaged
		damage func(t *testing.T, path string, at int64)
	}{
		{"bit flip in batch 6", 6, func(t *testing.T, path string, at int64) { flipByte(t, path, at+100) }},
		{"wrong base offset in batch 3", 3, func(t *testing.T, path string, at int64) { flipByte(t, path, at+7) }},
		{"huge length in batch 8", 8, func(t *testing.T, path string, at int64) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			defer f.Close()
			_, _ = f.WriteAt([]byte{0x7f, 0xff, 0xff, 0xff}, at+8)
		}},
		{"zeroed batch 1", 1, func(t *testing.T, path string, at int64) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			defer f.Close()
			_, _ = f.WriteAt(make([]byte, 150), at)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: FsyncNever, IndexIntervalBytes: 300}
			l, batches := fillLog(t, cfg, n)
			crash(l)
			path := segPath(dir, 0, logSuffix)
			size := sizeOf(t, path)
			tc.damage(t, path, offsetOf(batches, tc.bad))

			l2 := openLog(t, cfg)
			if l2.EndOffset() != 2*n || sizeOf(t, path) != size {
				t.Fatalf("after recovery LEO %d, file %d bytes; want %d and %d (nothing cut)", l2.EndOffset(), sizeOf(t, path), 2*n, size)
			}
			if got := l2.CorruptBatches(); got != 1 {
				t.Errorf("%d damaged stretches counted, want 1", got)
			}
			want := append(slices.Clone(batches[:tc.bad]), batches[tc.bad+1:]...)
			equalBatches(t, readAll(t, l2, 0), want)
			// A read from inside the gap gets the next intact batch.
			got, err := l2.Read(int64(2*tc.bad+1), 1<<20, nil)
			if err != nil || len(got) == 0 || !bytes.Equal(got[:len(batches[tc.bad+1])], batches[tc.bad+1]) {
				t.Fatalf("read in the gap: %d bytes, %v; want batch %d", len(got), err, tc.bad+1)
			}
			next := makeBatch(t, 5000, values(1, 10, 99)...)
			mustAppend(t, l2, next, 0)
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
			l3 := openLog(t, cfg)
			equalBatches(t, readAll(t, l3, 0), append(want, next))
		})
	}
}

// TestDamagedClosedSegment: a batch damaged in a closed segment is never
// served (issue 12, case 4): the read before it stops short of it, a read
// at it skips to the next intact batch, Scrub finds it too, and it is
// counted once.
func TestDamagedClosedSegment(t *testing.T) {
	for _, scrubFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("scrub first ", scrubFirst), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 2000, IndexIntervalBytes: 300}
			l, batches := fillLog(t, cfg, 12)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			const bad = 2 // in the first segment, which is closed
			flipByte(t, segPath(dir, 0, logSuffix), offsetOf(batches, bad)+100)
			l2 := openLog(t, cfg)
			if scrubFirst {
				if n, err := l2.Scrub(nil); n != 1 || err != nil {
					t.Fatalf("scrub found %d, %v; want 1", n, err)
				}
			}
			want := append(slices.Clone(batches[:bad]), batches[bad+1:]...)
			equalBatches(t, readAll(t, l2, 0), want)
			if n, err := l2.Scrub(nil); n != 0 || err != nil || l2.CorruptBatches() != 1 {
				t.Fatalf("scrub after: %d new, %v, %d in all; want 0 new, 1 in all", n, err, l2.CorruptBatches())
			}
		})
	}
}

func offsetOf(batches [][]byte, i int) int64 {
	var n int64
	for _, b := range batches[:i] {
		n += int64(len(b))
	}
	return n
}

func sizeOf(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func truncateBy(t *testing.T, path string, n int64) {
	t.Helper()
	if err := os.Truncate(path, sizeOf(t, path)-n); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	b := readFile(t, path)
	b[at] ^= 0x40
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCleanRestartSkipsScan(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: FsyncBatch, IndexIntervalBytes: 1024}
	l, batches := fillLog(t, cfg, 300)
	size := l.Size()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
		t.Fatalf("no marker after Close: %v", err)
	}
	var logged bytes.Buffer // a clean open is logged at debug
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l2 := openLog(t, cfg)
	// Open reads nothing of the active segment: the marker gives its end.
	if r := l2.Stats().Recovery; !r.Clean || r.ScannedBytes != 0 {
		t.Fatalf("clean open %+v, want clean with nothing scanned", r)
	}
	line := logged.String()
	if !strings.Contains(line, "clean=true") || !strings.Contains(line, "scanned_bytes=0") {
		t.Fatalf("recovery log line missing or wrong: %q", line)
	}
	if l2.EndOffset() != 600 {
		t.Fatalf("LEO %d, want 600", l2.EndOffset())
	}
	equalBatches(t, readAll(t, l2, 0), batches)
	// The first read loaded it, reading only the batches after the last
	// index entry: at most one interval plus one batch, against a log of
	// ~70 KiB.
	limit := int64(cfg.IndexIntervalBytes + len(batches[0]))
	if r := l2.Stats().Recovery; !r.Clean || r.ScannedBytes > limit || r.ScannedBytes == 0 || size < 50*limit {
		t.Fatalf("clean restart %+v scanned more than %d of %d bytes", r, limit, size)
	}
	// The marker describes the log until the first write removes it
	// (TestMarkerStaysUntilFirstWrite); a crash after one finds none.
	if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
		t.Fatalf("marker gone after Open, before any write: %v", err)
	}

	// The same directory after a crash: the recovery point written by
	// Close covers every byte, so only the batches after the last index
	// entry are walked and no CRC is checked.
	crash(l2)
	if err := os.Remove(filepath.Join(dir, markerFile)); err != nil {
		t.Fatal(err)
	}
	l3 := openLog(t, cfg)
	if r := l3.Stats().Recovery; r.Clean || !r.RecoveryPoint || r.VerifiedBytes != 0 || r.ScannedBytes > limit {
		t.Fatalf("crash restart %+v, want a walk of at most %d bytes from the recovery point", r, limit)
	}
	equalBatches(t, readAll(t, l3, 0), batches)

	// Without the recovery point, every byte is checked.
	crash(l3)
	if err := os.Remove(filepath.Join(dir, recoveryPointFile)); err != nil {
		t.Fatal(err)
	}
	l4 := openLog(t, cfg)
	if r := l4.Stats().Recovery; r.Clean || r.RecoveryPoint || r.ScannedBytes != size || r.VerifiedBytes != size {
		t.Fatalf("crash restart %+v, want a full scan of %d bytes", r, size)
	}
	equalBatches(t, readAll(t, l4, 0), batches)
}

func TestCleanMarkerNotTrustedWhenStale(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: FsyncNever, IndexIntervalBytes: 512}
	l, batches := fillLog(t, cfg, 20)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A batch's worth of garbage written after Close: sizes disagree.
	appendBytes(t, segPath(dir, 0, logSuffix), batches[0][:100])
	l2 := openLog(t, cfg)
	if r := l2.Stats().Recovery; r.Clean || r.TruncatedBytes != 100 {
		t.Fatalf("stale marker trusted: %+v", r)
	}
	equalBatches(t, readAll(t, l2, 0), batches)
}

// TestCleanMarkerTailDamaged: a marker that matches the segment's size
// is trusted at Open, but a tail damaged after the shutdown is found at
// first use: the segment is recovered as after a crash (here with no
// recovery point: the bad batch is cut off, the LEO moved back and
// logged) and the marker removed.
func TestCleanMarkerTailDamaged(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: FsyncBatch, IndexIntervalBytes: 512}
	l, batches := fillLog(t, cfg, 20)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := segPath(dir, 0, logSuffix)
	flipByte(t, path, sizeOf(t, path)-3) // inside the last batch's records: its CRC fails
	// Without a recovery point vouching for the tail (with one, the tail
	// is taken as fsynced and the damage is found by reads, as in
	// TestDamagedClosedSegment), the whole segment is checked.
	if err := os.Remove(filepath.Join(dir, recoveryPointFile)); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	l2 := openLog(t, cfg)
	if l2.EndOffset() != 40 {
		t.Fatalf("LEO %d at Open, want the marker's 40", l2.EndOffset())
	}
	if _, err := l2.Read(0, 1, nil); err != nil { // first use: loads and recovers
		t.Fatal(err)
	}
	equalBatches(t, readAll(t, l2, 0), batches[:len(batches)-1])
	if r := l2.Stats().Recovery; r.Clean || r.TruncatedBytes != int64(len(batches[len(batches)-1])) {
		t.Fatalf("recovery after the damaged tail: %+v", r)
	}
	if l2.EndOffset() != 38 || l2.HighWatermark() != 38 {
		t.Fatalf("LEO %d, HW %d after recovery, want 38", l2.EndOffset(), l2.HighWatermark())
	}
	if !strings.Contains(logged.String(), "ends before where its clean-shutdown marker said") {
		t.Fatalf("no warning: %s", logged.String())
	}
	if _, err := os.Stat(filepath.Join(dir, markerFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the marker that lied is still there: %v", err)
	}
	if _, _, err := l2.Append(batches[0], 0); err != nil {
		t.Fatalf("append after recovery: %v", err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIndexRebuilt(t *testing.T) {
	damage := []struct {
		name   string
		suffix string
		mutate func(b []byte) []byte // nil removes the file
		late   bool                  // well-formed: only a read can tell
	}{
		{"missing offset index", indexSuffix, nil, false},
		{"missing time index", timeIndexSuffix, nil, false},
		{"offset index not whole entries", indexSuffix, func(b []byte) []byte { return b[:len(b)-3] }, false},
		{"time index not whole entries", timeIndexSuffix, func(b []byte) []byte { return append(b, 1) }, false},
		{"offset index not increasing", indexSuffix, func(b []byte) []byte {
			copy(b[8:16], b[0:8])
			return b
		}, false},
		{"time index not increasing", timeIndexSuffix, func(b []byte) []byte {
			copy(b[12:24], b[0:12])
			return b
		}, false},
		{"position beyond the segment", indexSuffix, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[len(b)-4:], 1<<30)
			return b
		}, false},
		{"offset beyond the segment", indexSuffix, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[len(b)-8:], 1<<20)
			return b
		}, false},
		{"stale entry pointing at the wrong batch", indexSuffix, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[len(b)-8:], binary.BigEndian.Uint32(b[len(b)-8:])+1)
			return b
		}, false},
		{"first entry pointing into a batch", indexSuffix, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])+5)
			return b
		}, true},
	}
	for _, active := range []bool{false, true} {
		for _, tc := range damage {
			name := "closed segment/" + tc.name
			if active {
				name = "active segment/" + tc.name
			}
			t.Run(name, func(t *testing.T) {
				testIndexRebuilt(t, active, tc.suffix, tc.mutate, tc.late)
			})
		}
	}
}

func testIndexRebuilt(t *testing.T, active bool, suffix string, mutate func([]byte) []byte, late bool) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 4000, IndexIntervalBytes: 300}
	l, batches := fillLog(t, cfg, 46) // 13 batches per segment, 7 in the active one
	seg := l.segments[0].base
	if active {
		seg = l.active().base
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := segPath(dir, seg, suffix)
	orig := readFile(t, path)
	if len(orig) < 2*timeEntrySize {
		t.Fatalf("test needs an index with several entries, got %d bytes", len(orig))
	}
	if mutate == nil {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(path, mutate(bytes.Clone(orig)), 0o644); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, cfg)
	if l2.Stats().IndexRebuilds != 0 {
		t.Fatal("index rebuilt at Open") // a clean Open reads no index
	}
	equalBatches(t, readAll(t, l2, 0), batches)
	if active && !late {
		// The first read loaded the active segment and distrusted it.
		if r := l2.Stats().Recovery; r.Clean || l2.Stats().IndexRebuilds != 1 {
			t.Fatalf("damaged active index trusted: %+v", l2.Stats())
		}
	}
	for off := range l2.HighWatermark() { // every offset, so every index entry is used
		b, err := l2.Read(off, 1, nil)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if h, _ := ParseBatchHeader(b); off < h.BaseOffset || off > h.LastOffset() || len(b) != h.Size() {
			t.Fatalf("Read(%d) returned batch %d..%d", off, h.BaseOffset, h.LastOffset())
		}
	}
	if got, _ := l2.OffsetForTime(1020); got != 38 {
		t.Fatalf("OffsetForTime after rebuild = %d, want 38", got)
	}
	if l2.Stats().IndexRebuilds != 1 {
		t.Fatalf("IndexRebuilds = %d, want 1", l2.Stats().IndexRebuilds)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); !bytes.Equal(got, orig) {
		t.Fatalf("rebuilt %s differs from the original:\n got %x\nwant %x", suffix, got, orig)
	}
}

// TestKill9 runs a writer in a child process, kills it with SIGKILL while it
// appends, and checks that every acknowledged (synced) batch survives and
// the log recovers to whole batches.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "COMMITLOG_KILL9_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := int64(-1)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if acked, err = strconv.ParseInt(sc.Text(), 10, 64); err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		if acked >= 300 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		if n, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			acked = n
		}
	}
	_ = cmd.Wait()
	if acked < 300 {
		t.Fatalf("child acknowledged only up to %d", acked)
	}
	l := openLog(t, Config{Dir: dir, SegmentBytes: 64 << 10})
	if l.Stats().Recovery.Clean {
		t.Fatal("killed writer left a clean-shutdown marker")
	}
	if l.EndOffset() <= acked {
		t.Fatalf("acknowledged offset %d lost: LEO %d", acked, l.EndOffset())
	}
	got := readAll(t, l, 0)
	for i, b := range got {
		if h, _ := ParseBatchHeader(b); h.BaseOffset != int64(i) {
			t.Fatalf("batch %d has base offset %d", i, h.BaseOffset)
		}
	}
}

// kill9Child is the writer TestKill9 kills: it appends single-record
// batches with small segments and prints each offset once it is synced.
func kill9Child(dir string) {
	l, err := Open(Config{Dir: dir, SegmentBytes: 64 << 10, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		b := buildBatch(int64(i), values(1, 500, i)...)
		_, last, err := l.Append(b, 0)
		if err == nil {
			err = l.Sync(context.Background(), last+1)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(last)
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("COMMITLOG_KILL9_DIR"); dir != "" {
		kill9Child(dir)
	}
	os.Exit(m.Run())
}
