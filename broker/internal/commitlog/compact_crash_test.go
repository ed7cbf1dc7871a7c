package commitlog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashScenario builds a compacted log with fresh dirty data behind it, so
// that the next pass both rewrites and merges segments.
func crashScenario(t *testing.T, dir string) (*Log, []gotRecord) {
	t.Helper()
	clock := newClock()
	l := openLog(t, compactConfig(dir, clock))
	rng := rand.New(rand.NewPCG(11, 12))
	appendRandom(t, l, clock, rng, 45, 8, codecNone)
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	appendRandom(t, l, clock, rng, 20, 8, codecGzip)
	return l, logRecords(t, l)
}

// TestCompactCrash stops a pass at every step of the swap protocol, as a
// crash would (files left as they are), then reopens the directory: the
// log must hold exactly the records from before the pass (a crash before
// the commit point) or exactly those after it, and the next pass must
// reach the same result as an uninterrupted one.
func TestCompactCrash(t *testing.T) {
	var steps []string
	ref, before := crashScenario(t, t.TempDir())
	ref.cfg.compactHook = func(step, file string) error {
		steps = append(steps, step+" "+file)
		return nil
	}
	if st, err := ref.Compact(); err != nil || st.SegmentsWritten >= st.SegmentsRead || st.SegmentsWritten < 2 {
		t.Fatalf("reference pass %+v, %v: want several cleaned segments, some merged", st, err)
	}
	after := logRecords(t, ref)
	if len(after) >= len(before) {
		t.Fatal("the reference pass removed nothing")
	}
	commit := slices.Index(steps, "committed "+swapFile)
	if commit < 0 || !slices.ContainsFunc(steps, func(s string) bool { return strings.HasPrefix(s, "removed ") }) {
		t.Fatalf("steps %v: want a commit and removed segments", steps)
	}
	for k, step := range steps {
		t.Run(fmt.Sprintf("%02d %s", k, step), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l, _ := crashScenario(t, dir)
			calls := 0
			l.cfg.compactHook = func(string, string) error {
				if calls++; calls > k {
					return errors.New("crash")
				}
				return nil
			}
			if _, err := l.Compact(); !errors.Is(err, errSimulatedCrash) {
				t.Fatalf("Compact = %v, want the simulated crash", err)
			}
			crash(l)
			cfg := compactConfig(dir, newClock())
			cfg.Logger = quietLogger(t)
			l2 := openLog(t, cfg)
			want := after
			if k < commit {
				want = before
			}
			if got := logRecords(t, l2); !slices.Equal(got, want) {
				t.Fatalf("after a crash at %q: %d records, want %d", step, len(got), len(want))
			}
			for _, name := range segmentFiles(t, dir) {
				if strings.HasSuffix(name, cleanedSuffix) || name == swapFile {
					t.Fatalf("%s left after Open", name)
				}
			}
			if _, err := l2.Compact(); err != nil {
				t.Fatal(err)
			}
			if got := logRecords(t, l2); !slices.Equal(got, after) {
				t.Fatalf("the pass after the crash gives %d records, an uninterrupted one %d", len(got), len(after))
			}
		})
	}
}

// TestCompactFailureLeavesLogUnchanged: an error before the commit point
// (here: Close during the pass) removes the cleaned files and keeps the log.
func TestCompactClosedDuringPass(t *testing.T) {
	dir := t.TempDir()
	l, before := crashScenario(t, dir)
	closed := make(chan error, 1)
	l.cfg.compactHook = func(step, _ string) error {
		if step == "cleaned" {
			go func() { closed <- l.Close() }()
			for !l.closing.Load() { // Close sets it first, then waits for this pass
			}
		}
		return nil
	}
	_, err := l.Compact()
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact during Close = %v, want ErrClosed", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for _, name := range segmentFiles(t, dir) {
		if strings.HasSuffix(name, cleanedSuffix) {
			t.Fatalf("%s left after a failed pass", name)
		}
	}
	cfg := compactConfig(dir, newClock())
	l2 := openLog(t, cfg)
	if got := logRecords(t, l2); !slices.Equal(got, before) {
		t.Fatalf("%d records after a pass stopped by Close, want %d", len(got), len(before))
	}
}

// TestCompactConcurrent runs appends, reads and compaction passes at once
// (go test -race): reads always return valid batches in offset order, and
// at the end the latest record of every key is the last one appended.
func TestCompactConcurrent(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.Fsync = FsyncBatch
	l := openLog(t, cfg)
	const writers, batches, keys = 2, 100, 20
	var mu sync.Mutex
	var appended []gotRecord
	var wg, readers sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			for i := range batches {
				recs := []kv{rec(fmt.Sprint("car-", rng.IntN(keys)), fmt.Sprint(w, "/", i)), rec(fmt.Sprint("car-", rng.IntN(keys)), "x")}
				b := keyedBatch(t, batchSpec{ts: clock.Millis(), codec: []int{codecNone, codecLz4}[i%2], recs: recs})
				if _, _, err := l.Append(b, 0); err != nil {
					t.Error(err)
					return
				}
				_, got := decodeWithKgo(t, b)
				mu.Lock()
				appended = append(appended, got...)
				mu.Unlock()
			}
		}()
	}
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				wait := l.Wait()
				checkReadable(t, l)
				select {
				case <-done:
					return
				case <-wait:
				}
			}
		}()
	}
	passes := 0
	writing := waitDone(&wg)
	for compacting := true; compacting; {
		select {
		case <-writing:
			compacting = false
		case <-l.Wait():
		}
		st, err := l.Compact()
		if err != nil {
			t.Fatal(err)
		}
		if !st.Skipped {
			passes++
		}
	}
	close(done)
	readers.Wait()
	syncAll(t, l)
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(appended, func(a, b gotRecord) int { return int(a.offset - b.offset) })
	want, got := latestPerKey(appended), latestPerKey(logRecords(t, l))
	if len(got) != len(want) {
		t.Fatalf("%d keys, want %d", len(got), len(want))
	}
	for k, r := range want {
		if got[k] != r {
			t.Fatalf("key %s: latest %v, want %v", k, got[k], r)
		}
	}
	if passes < 2 {
		t.Fatalf("only %d compaction passes ran beside the appends", passes)
	}
}

// waitDone turns a WaitGroup into a channel (closed when it is done).
func waitDone(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// checkReadable reads the log from its start to the high watermark and
// checks every batch and that offsets only increase.
func checkReadable(t *testing.T, l *Log) {
	last := int64(-1)
	for off := l.StartOffset(); off < l.HighWatermark(); {
		b, err := l.Read(off, 8<<10, nil)
		if err != nil {
			t.Errorf("Read(%d): %v", off, err)
			return
		}
		if len(b) == 0 {
			return
		}
		for len(b) > 0 {
			h, err := ParseBatchHeader(b)
			if err == nil && h.Size() <= len(b) {
				_, err = ValidateBatch(b[:h.Size()])
			}
			if err != nil || h.BaseOffset <= last || h.LastOffset() < off {
				t.Errorf("Read(%d): batch %d..%d after %d: %v", off, h.BaseOffset, h.LastOffset(), last, err)
				return
			}
			last, off = h.LastOffset(), h.LastOffset()+1
			b = b[h.Size():]
		}
	}
}

var goldenCompactDir = filepath.Join("testdata", "golden-compact")

// goldenCompactLog writes a fixed log (segments of uncompressed and gzip
// batches, tombstones, an idempotent producer), compacts it once and closes
// it; it returns the expected records.
func goldenCompactLog(t *testing.T, dir string) []string {
	clock := &fakeClock{now: goldenClockStart()}
	cfg := compactConfig(dir, clock)
	cfg.SegmentBytes = 400
	cfg.TombstoneRetention = 10 * time.Second
	l := openLog(t, cfg)
	specs := []batchSpec{
		{recs: []kv{rec("car-1", "lap 1"), rec("car-2", "lap 1")}, pid: 4, seq: 0},
		{recs: []kv{rec("car-1", "lap 2"), rec("car-3", "lap 1"), tombstone("car-2")}, codec: codecGzip},
		{recs: []kv{rec("car-4", "lap 1")}, pid: 4, seq: 2},
		{recs: []kv{rec("car-1", "lap 3"), rec("car-4", "lap 2")}},
		{recs: []kv{tombstone("car-3"), rec("car-5", "lap 1")}, codec: codecGzip},
		{recs: []kv{rec("car-5", "lap 2"), rec("car-1", "lap 4")}},
		{recs: []kv{rec("car-6", "lap 1")}},
	}
	for _, s := range specs {
		s.ts = clock.Millis()
		mustAppend(t, l, keyedBatch(t, s), 0)
		clock.Advance(5 * time.Second)
	}
	if st, err := l.Compact(); err != nil || st.RecordsRemoved == 0 || st.TombstonesRemoved == 0 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	got := summary(logRecords(t, l))
	// Producer 4's last batch (offset 5) stays, empty; its first one goes.
	if h, _ := ParseBatchHeader(readAll(t, l, 5)[0]); h.BaseOffset != 5 || h.NumRecords != 0 || h.ProducerID != 4 || h.BaseSequence != 2 {
		t.Fatalf("batch at 5: %+v, want producer 4's emptied last batch", h)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func goldenClockStart() time.Time { return time.UnixMilli(1_750_000_000_000).UTC() }

// TestGoldenCompacted pins the bytes of a compacted log (run with -update
// after an intended format change).
func TestGoldenCompacted(t *testing.T) {
	dir := t.TempDir()
	got := goldenCompactLog(t, dir)
	// Closed segments held offsets 0-7: car-2's tombstone (older than 10 s)
	// went with car-2's value; car-3's tombstone is in the active segment.
	want := []string{"3:car-3=lap 1", "6:car-1=lap 3", "7:car-4=lap 2", "8:car-3=(tomb)", "9:car-5=lap 1",
		"10:car-5=lap 2", "11:car-1=lap 4", "12:car-6=lap 1"}
	if !equalStrings(got, want) {
		t.Fatalf("compacted records %v, want %v", got, want)
	}
	names := segmentFiles(t, dir)
	if *update {
		if err := os.RemoveAll(goldenCompactDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(goldenCompactDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(goldenCompactDir, name), readFile(t, filepath.Join(dir, name)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if golden := segmentFiles(t, goldenCompactDir); !slices.Equal(names, golden) {
		t.Fatalf("files %v, golden %v (run with -update if the format changed on purpose)", names, golden)
	}
	for _, name := range names {
		if got, golden := readFile(t, filepath.Join(dir, name)), readFile(t, filepath.Join(goldenCompactDir, name)); !slices.Equal(got, golden) {
			t.Errorf("%s differs from the golden file:\n got %x\nwant %x", name, got, golden)
		}
	}
	// The committed golden directory opens and reads the same.
	cp := t.TempDir()
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(cp, name), readFile(t, filepath.Join(goldenCompactDir, name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := openLog(t, compactConfig(cp, &fakeClock{now: goldenClockStart()}))
	if got := summary(logRecords(t, l)); !equalStrings(got, want) || !l.Stats().Recovery.Clean {
		t.Fatalf("golden directory reads %v (recovery %+v)", got, l.Stats().Recovery)
	}
}
