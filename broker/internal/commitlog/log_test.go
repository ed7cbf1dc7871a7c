package commitlog

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

var policies = []FsyncPolicy{FsyncBatch, FsyncInterval, FsyncNever}

// syncAll waits until everything appended is visible, whatever the policy.
func syncAll(tb testing.TB, l *Log) {
	tb.Helper()
	if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
		tb.Fatalf("Sync: %v", err)
	}
	if hw, leo := l.HighWatermark(), l.EndOffset(); hw != leo {
		tb.Fatalf("after Sync HW = %d, LEO = %d", hw, leo)
	}
}

func TestAppendReadRoundTrip(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, Config{Dir: dir, Fsync: p, SegmentBytes: 8 << 10, IndexIntervalBytes: 512})
			var appended [][]byte
			next := int64(0)
			for i := range 40 {
				b := makeBatch(t, 1000+int64(i), values(1+i%5, 100+i*10, i)...)
				base, last := mustAppend(t, l, b, 7)
				if base != next || last != base+int64(i%5) {
					t.Fatalf("batch %d: offsets %d..%d, want %d..%d", i, base, last, next, next+int64(i%5))
				}
				if got := int64(binary.BigEndian.Uint64(b)); got != base {
					t.Fatalf("baseOffset in batch = %d, want %d", got, base)
				}
				if got := int32(binary.BigEndian.Uint32(b[12:])); got != 7 {
					t.Fatalf("leader epoch in batch = %d, want 7", got)
				}
				next = last + 1
				appended = append(appended, b)
			}
			syncAll(t, l)
			equalBatches(t, readAll(t, l, 0), appended)

			// Every offset inside a batch reads from that batch on.
			for _, off := range []int64{1, 2, 33, next - 1} {
				b, err := l.Read(off, 1, nil)
				if err != nil {
					t.Fatal(err)
				}
				h, _ := ParseBatchHeader(b)
				if off < h.BaseOffset || off > h.LastOffset() {
					t.Fatalf("Read(%d) returned batch %d..%d", off, h.BaseOffset, h.LastOffset())
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := openLog(t, Config{Dir: dir, Fsync: p, SegmentBytes: 8 << 10, IndexIntervalBytes: 512})
			if l2.EndOffset() != next || l2.HighWatermark() != next {
				t.Fatalf("reopened: LEO %d HW %d, want %d", l2.EndOffset(), l2.HighWatermark(), next)
			}
			equalBatches(t, readAll(t, l2, 0), appended)
		})
	}
}

func TestReadMaxBytes(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncNever})
	var sizes []int
	for i := range 5 {
		b := makeBatch(t, 1, values(2, 200, i)...)
		sizes = append(sizes, len(b))
		mustAppend(t, l, b, 0)
	}
	prefix := []byte("keep")
	tests := []struct {
		name     string
		offset   int64
		maxBytes int
		want     int // batches returned
	}{
		{"smaller than one batch still gets one (KIP-74)", 0, 10, 1},
		{"zero still gets one", 4, 0, 1},
		{"negative still gets one", 4, -1, 1},
		{"exactly two", 0, sizes[0] + sizes[1], 2},
		{"two and a bit", 0, sizes[0] + sizes[1] + 50, 2},
		{"everything", 0, 1 << 20, 5},
		{"from the middle of a batch", 3, 1 << 20, 4},
		{"last batch", 9, 1 << 20, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Read(tc.offset, tc.maxBytes, slices.Clone(prefix))
			if err != nil {
				t.Fatal(err)
			}
			if string(got[:4]) != "keep" {
				t.Fatal("Read did not append to dst")
			}
			batches := splitBatches(t, got[4:])
			if len(batches) != tc.want {
				t.Fatalf("got %d batches, want %d", len(batches), tc.want)
			}
			if h, _ := ParseBatchHeader(batches[0]); tc.offset < h.BaseOffset || tc.offset > h.LastOffset() {
				t.Fatalf("first batch %d..%d does not contain %d", h.BaseOffset, h.LastOffset(), tc.offset)
			}
		})
	}
}

func TestReadOutOfRange(t *testing.T) {
	clock := newClock()
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncNever, SegmentBytes: 1, RetentionBytes: 1, Now: clock.Now})
	for i := range 4 {
		mustAppend(t, l, makeBatch(t, 1, values(2, 10, i)...), 0)
	}
	if n, err := l.Retain(); err != nil || n != 3 {
		t.Fatalf("Retain = %d, %v; want 3 segments deleted", n, err)
	}
	if l.StartOffset() != 6 || l.EndOffset() != 8 {
		t.Fatalf("start %d end %d, want 6 and 8", l.StartOffset(), l.EndOffset())
	}
	tests := []struct {
		offset  int64
		wantErr error
		wantLen bool
	}{
		{-1, ErrOffsetOutOfRange, false},
		{0, ErrOffsetOutOfRange, false},
		{5, ErrOffsetOutOfRange, false},
		{6, nil, true},
		{7, nil, true},
		{8, nil, false}, // the LEO: nothing yet
		{9, ErrOffsetOutOfRange, false},
	}
	for _, tc := range tests {
		got, err := l.Read(tc.offset, 1000, nil)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("Read(%d) error %v, want %v", tc.offset, err, tc.wantErr)
		}
		if (len(got) > 0) != tc.wantLen {
			t.Errorf("Read(%d) returned %d bytes", tc.offset, len(got))
		}
	}
}

func TestReadStopsAtHighWatermark(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncNever})
	for i := range 4 {
		mustAppend(t, l, makeBatch(t, 1, values(1, 10, i)...), 0)
	}
	l.mu.Lock()
	l.hw = 2 // as replication will: HW behind the LEO
	l.mu.Unlock()
	b, err := l.Read(0, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(splitBatches(t, b)); n != 2 {
		t.Fatalf("read %d batches past HW 2, want 2", n)
	}
	if b, err := l.Read(3, 1<<20, nil); err != nil || len(b) != 0 {
		t.Fatalf("Read at HW..LEO = %d bytes, %v; want none", len(b), err)
	}
}

func TestOffsetForTime(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncNever, SegmentBytes: 600, IndexIntervalBytes: 100})
	// Batch i holds offsets 2i, 2i+1 with timestamps 1000+100i (max +1),
	// except batch 5, which comes from a slow clock.
	for i := range 12 {
		ts := 1000 + 100*int64(i)
		if i == 5 {
			ts = 900
		}
		mustAppend(t, l, makeBatch(t, ts, values(2, 60, i)...), 0)
	}
	if len(l.segments) < 3 {
		t.Fatalf("want several segments, got %d", len(l.segments))
	}
	tests := []struct {
		ts   int64
		want int64
	}{
		{0, 0},
		{1000, 0},
		{1001, 0},
		{1002, 2},
		{1101, 2},
		{1102, 4},
		{1300, 6},
		{1402, 12}, // batch 5 is 900..901: the first batch reaching 1402 is batch 6
		{1450, 12},
		{1601, 12},
		{2101, 22},
		{2102, -1},
	}
	for _, tc := range tests {
		got, err := l.OffsetForTime(tc.ts)
		if err != nil || got != tc.want {
			t.Errorf("OffsetForTime(%d) = %d, %v; want %d", tc.ts, got, err, tc.want)
		}
	}
	// Closed segments loaded lazily after a restart answer the same.
	dir := l.cfg.Dir
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 600, IndexIntervalBytes: 100})
	for _, tc := range tests {
		if got, err := l2.OffsetForTime(tc.ts); err != nil || got != tc.want {
			t.Errorf("after reopen OffsetForTime(%d) = %d, %v; want %d", tc.ts, got, err, tc.want)
		}
	}
}

func TestCorruptBatchRefused(t *testing.T) {
	good := makeBatch(t, 5, values(3, 20, 1)...)
	mutate := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	tests := []struct {
		name  string
		batch []byte
		want  error
	}{
		{"empty", nil, ErrCorruptBatch},
		{"short header", good[:40], ErrCorruptBatch},
		{"truncated records", good[:len(good)-1], ErrCorruptBatch},
		{"trailing bytes", append(slices.Clone(good), 0), ErrCorruptBatch},
		{"two batches", append(slices.Clone(good), good...), ErrCorruptBatch},
		{"bad crc", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorruptBatch},
		{"bad magic", mutate(func(b []byte) []byte { b[16] = 1; return b }), ErrCorruptBatch},
		{"length too small", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 10); return b }), ErrCorruptBatch},
		{"negative count", mutate(func(b []byte) []byte { return recrc(b, 57, 0xff) }), ErrCorruptBatch},
		{"negative lastOffsetDelta", mutate(func(b []byte) []byte { return recrc(b, 23, 0xff) }), ErrCorruptBatch},
		{"unknown codec", mutate(func(b []byte) []byte { return recrc(b, 22, 0x07) }), ErrCorruptBatch},
		{"too large", makeBatch(t, 1, values(1, 2000, 1)...), ErrBatchTooLarge},
	}
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncNever, MaxBatchBytes: 1000})
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leo, size, rejected := l.EndOffset(), l.Size(), l.Stats().RejectedBatches
			base, last, err := l.Append(tc.batch, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Append error %v, want %v", err, tc.want)
			}
			if base != -1 || last != -1 || l.EndOffset() != leo || l.Size() != size {
				t.Fatalf("refused batch changed the log: %d..%d, LEO %d->%d, size %d->%d", base, last, leo, l.EndOffset(), size, l.Size())
			}
			if l.Stats().RejectedBatches != rejected+1 || l.Err() != nil {
				t.Fatalf("rejection not counted or made the log fail: %+v, %v", l.Stats(), l.Err())
			}
		})
	}
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
}

// recrc sets byte i to v and fixes the CRC, so only the field check can
// catch it.
func recrc(b []byte, i int, v byte) []byte {
	b[i] = v
	binary.BigEndian.PutUint32(b[17:], crc32c(b[21:]))
	return b
}

func TestStickyWriteError(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Config{Dir: dir, Fsync: FsyncBatch})
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	syncAll(t, l)

	// Swap the active segment's descriptor for a read-only one: the kernel
	// refuses the next write(2) with EBADF.
	l.mu.Lock()
	s := l.active()
	ro, err := os.Open(s.path(logSuffix))
	if err != nil {
		t.Fatal(err)
	}
	rw := s.file
	s.file = ro
	l.mu.Unlock()
	_ = rw.Close()

	_, _, err = l.Append(makeBatch(t, 1, values(1, 10, 1)...), 0)
	if !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Append on a failing file: %v, want ErrLogFailed", err)
	}
	_, _, err = l.Append(makeBatch(t, 1, values(1, 10, 2)...), 0)
	if !errors.Is(err, ErrLogFailed) || !errors.Is(l.Err(), ErrLogFailed) {
		t.Fatalf("second Append %v, Err %v; want sticky ErrLogFailed", err, l.Err())
	}
	if err := l.Sync(context.Background(), 2); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Sync after failure: %v", err)
	}
	if err := l.Sync(context.Background(), 1); err != nil {
		t.Fatalf("Sync of durable offsets after failure: %v", err)
	}
	if l.EndOffset() != 1 {
		t.Fatalf("LEO moved to %d", l.EndOffset())
	}
	if b, err := l.Read(0, 100, nil); err != nil || len(splitBatches(t, b)) != 1 {
		t.Fatalf("reads must go on after a write failure: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/" + markerFile); !os.IsNotExist(err) {
		t.Fatalf("failed log wrote a clean-shutdown marker: %v", err)
	}
	l2 := openLog(t, Config{Dir: dir})
	if l2.Stats().Recovery.Clean || l2.EndOffset() != 1 {
		t.Fatalf("reopen after failure: %+v LEO %d", l2.Stats().Recovery, l2.EndOffset())
	}
	mustAppend(t, l2, makeBatch(t, 1, values(1, 10, 3)...), 0)
}

func TestStickyFsyncError(t *testing.T) {
	var l *Log
	var once bool
	cfg := Config{Dir: t.TempDir(), BeforeFsync: func() {
		if !once {
			once = true
			// Close the descriptor underneath the syncer: fsync fails.
			_ = l.segments[len(l.segments)-1].file.Close()
		}
	}}
	l = openLog(t, cfg)
	base, _, err := l.Append(makeBatch(t, 1, values(1, 10, 0)...), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(context.Background(), base+1); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Sync with failing fsync: %v, want ErrLogFailed", err)
	}
	if l.HighWatermark() != 0 {
		t.Fatalf("HW advanced to %d without an fsync", l.HighWatermark())
	}
	if _, _, err := l.Append(makeBatch(t, 1, values(1, 10, 0)...), 0); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Append after failed fsync: %v", err)
	}
}

func TestWaitClosesOnHighWatermarkAdvance(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			l := openLog(t, Config{Dir: t.TempDir(), Fsync: p})
			ch := l.Wait()
			select {
			case <-ch:
				t.Fatal("Wait channel closed before any append")
			default:
			}
			mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
			waitOrFail(t, ch)
			if l.HighWatermark() != 1 {
				t.Fatalf("HW = %d after wake-up, want 1", l.HighWatermark())
			}
			if l.Wait() == ch {
				t.Fatal("Wait returned the spent channel")
			}
			ch = l.Wait()
			_ = l.Close()
			waitOrFail(t, ch)
			if _, err := l.Read(0, 10, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("Read after Close: %v", err)
			}
		})
	}
}

// waitOrFail waits for ch; the bound only keeps a broken test from hanging.
func waitOrFail(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("channel never closed")
	}
}

func TestHighWatermarkFollowsWithoutWaiters(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncBatch})
	for i := range 10 {
		mustAppend(t, l, makeBatch(t, 1, values(1, 10, i)...), 0)
	}
	for {
		ch := l.Wait()
		if l.HighWatermark() == l.EndOffset() {
			break
		}
		waitOrFail(t, ch)
	}
	if l.Stats().Fsyncs == 0 {
		t.Fatal("HW reached the LEO without an fsync")
	}
}

func TestLeaderEpochs(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Config{Dir: dir, Fsync: FsyncNever})
	for i, e := range []int32{-1, 0, 0, 3, 2, 3, 5} {
		mustAppend(t, l, makeBatch(t, 1, values(1, 10, i)...), e)
	}
	want := []EpochEntry{{0, 1}, {3, 3}, {5, 6}}
	if got := l.LeaderEpochs(); !slices.Equal(got, want) {
		t.Fatalf("epochs %v, want %v", got, want)
	}
	crash(l)
	// Lose the last batch to a torn tail: epoch 5 must go with it.
	path := segPath(dir, 0, logSuffix)
	info, _ := os.Stat(path)
	if err := os.Truncate(path, info.Size()-3); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, Config{Dir: dir, Fsync: FsyncNever})
	if got := l2.LeaderEpochs(); !slices.Equal(got, want[:2]) {
		t.Fatalf("epochs after truncation %v, want %v", got, want[:2])
	}
	if got, _ := decodeEpochs(readFile(t, dir+"/"+epochFile)); !slices.Equal(got, want[:2]) {
		t.Fatalf("checkpoint file %v, want %v", got, want[:2])
	}
}

func TestConfig(t *testing.T) {
	for _, s := range []string{"batch", "interval", "never"} {
		p, err := ParseFsyncPolicy(s)
		if err != nil || p.String() != s {
			t.Errorf("ParseFsyncPolicy(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseFsyncPolicy("always"); err == nil {
		t.Error("ParseFsyncPolicy accepted \"always\"")
	}
	bad := []Config{
		{},
		{Dir: "x", SegmentBytes: -1},
		{Dir: "x", SegmentBytes: 1 << 32},
		{Dir: "x", IndexIntervalBytes: -1},
		{Dir: "x", Fsync: 7},
	}
	for _, c := range bad {
		if _, err := Open(c); err == nil {
			t.Errorf("Open(%+v) accepted a bad config", c)
		}
	}
	c, err := Config{Dir: "x"}.withDefaults()
	if err != nil || c.SegmentBytes != 1<<30 || c.RetentionTime != 168*time.Hour || c.IndexIntervalBytes != 4096 ||
		c.FsyncInterval != 100*time.Millisecond || c.MaxBatchBytes != 1<<20+12 || c.Fsync != FsyncBatch || c.RetentionBytes != 0 {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir()})
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	for range 3 {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.Append(makeBatch(t, 1, values(1, 10, 0)...), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := l.Retain(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Retain after Close: %v", err)
	}
}
