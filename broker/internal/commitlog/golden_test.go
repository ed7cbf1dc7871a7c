package commitlog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "testdata/golden"

// goldenLog writes the small deterministic log whose files are pinned in
// testdata/golden: fixed clock, fixed batches, three segments, a leader
// epoch change, several index entries.
func goldenLog(t *testing.T, dir string) [][]byte {
	clock := &fakeClock{now: time.UnixMilli(1_750_000_000_000).UTC()}
	l := openLog(t, goldenConfig(dir, clock))
	var batches [][]byte
	for i := range 9 {
		b := makeBatch(t, clock.Millis(), values(1+i%3, 40, i)...)
		epoch := int32(0)
		if i >= 5 {
			epoch = 1
		}
		mustAppend(t, l, b, epoch)
		batches = append(batches, b)
		clock.Advance(time.Second)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return batches
}

func goldenConfig(dir string, clock *fakeClock) Config {
	return Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 500, IndexIntervalBytes: 100, Now: clock.Now}
}

func TestGoldenFiles(t *testing.T) {
	dir := t.TempDir()
	goldenLog(t, dir)
	names := segmentFiles(t, dir)
	if *update {
		if err := os.RemoveAll(goldenDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(goldenDir, name), readFile(t, filepath.Join(dir, name)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := segmentFiles(t, goldenDir)
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, golden %v (run with -update if the format changed on purpose)", names, want)
	}
	for _, name := range names {
		got, golden := readFile(t, filepath.Join(dir, name)), readFile(t, filepath.Join(goldenDir, name))
		if !bytes.Equal(got, golden) {
			t.Errorf("%s differs from the golden file:\n got %x\nwant %x", name, got, golden)
		}
	}
	// The pinned shape: three segments, indexes with entries.
	for _, name := range []string{"00000000000000000000.index", "00000000000000000000.timeindex", markerFile, epochFile} {
		if len(readFile(t, filepath.Join(goldenDir, name))) == 0 {
			t.Errorf("golden %s is empty: the golden log no longer exercises it", name)
		}
	}
	if len(names) != 3*3+3 {
		t.Errorf("golden log has %d files, want three segments with indexes plus marker, epoch checkpoint and recovery point", len(names))
	}
}

// goldenGenerations are the golden directories of earlier on-disk
// versions, oldest first; goldenDir is the current one.
var goldenGenerations = []string{
	"testdata/golden-v1", // before the recovery-point file
	goldenDir,
}

// TestGoldenOpen opens a copy of each committed golden directory: a log
// written by an earlier build must stay readable, cleanly.
func TestGoldenOpen(t *testing.T) {
	for _, gen := range goldenGenerations {
		t.Run(filepath.Base(gen), func(t *testing.T) { testGoldenOpen(t, gen) })
	}
}

func testGoldenOpen(t *testing.T, src string) {
	dir := t.TempDir()
	for _, name := range segmentFiles(t, src) {
		if err := os.WriteFile(filepath.Join(dir, name), readFile(t, filepath.Join(src, name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := goldenLog(t, t.TempDir())
	clock := &fakeClock{now: time.UnixMilli(1_750_000_009_000).UTC()}
	l := openLog(t, goldenConfig(dir, clock))
	if !l.Stats().Recovery.Clean || l.Stats().Recovery.TruncatedBytes != 0 {
		t.Fatalf("golden log not opened cleanly: %+v", l.Stats().Recovery)
	}
	equalBatches(t, readAll(t, l, 0), want)
	if got := l.LeaderEpochs(); !slices.Equal(got, []EpochEntry{{0, 0}, {1, 9}}) {
		t.Fatalf("epochs %v", got)
	}
	if off, err := l.OffsetForTime(1_750_000_006_000); err != nil || off != 12 {
		t.Fatalf("OffsetForTime = %d, %v; want 12", off, err)
	}
}
