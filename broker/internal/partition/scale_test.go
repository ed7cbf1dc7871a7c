package partition

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// plainBatch is idempotentBatch without a producer (producer id -1).
func plainBatch(seq int32) ([]byte, commitlog.BatchHeader) {
	return idempotentBatch(-1, -1, seq)
}

// createTopics creates topics t0..t(n-1) with parts partitions each.
func createTopics(t *testing.T, r *Registry, n int, parts int32) {
	t.Helper()
	for i := range n {
		if _, err := r.Create(fmt.Sprintf("t%d", i), parts, nil, false); err != nil {
			t.Fatal(err)
		}
	}
}

func mustPartition(t *testing.T, r *Registry, topic string, p int32) *Partition {
	t.Helper()
	part, err := r.Partition(topic, p)
	if err != nil {
		t.Fatal(err)
	}
	return part
}

// TestIdlePartitionsCostNothing: the maintenance visits only partitions
// whose producer state changed, a restart queues none of the idle ones,
// and no log's syncer ever wakes without an append.
func TestIdlePartitionsCostNothing(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir)
	createTopics(t, r, 20, 5)
	b, h := idempotentBatch(7, 0, 0)
	if _, err := mustPartition(t, r, "t3", 2).Append(b, h); err != nil {
		t.Fatal(err)
	}
	b, h = plainBatch(0)
	if _, err := mustPartition(t, r, "t4", 0).Append(b, h); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for range 3 {
		r.snapshotProducers(now)
	}
	if st := r.Stats(); st.Snapshots != 1 || st.SnapshotsFailed != 0 {
		t.Fatalf("three passes after one idempotent append: %+v, want one snapshot", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	idle := filepath.Join(dir, "topics", "t9", "1")
	before := dirListing(t, idle)
	r = open(t, dir)
	if queued := r.snaps.take(); len(queued) != 0 {
		t.Fatalf("%d partitions queued for a snapshot after a clean restart, want 0", len(queued))
	}
	r.retain(now)
	r.snapshotProducers(now)
	if st := r.Stats(); st.Snapshots != 0 {
		t.Fatalf("idle broker wrote %d snapshots", st.Snapshots)
	}
	for _, tp := range r.All() {
		for _, p := range tp.Partitions() {
			if w := p.Log().Stats().SyncerWakeups; w != 0 {
				t.Fatalf("%s/%d: syncer woke %d times without an append", tp.Name(), p.Index(), w)
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := dirListing(t, idle); after != before {
		t.Fatalf("an idle partition's files changed across a restart:\nbefore %s\nafter  %s", before, after)
	}
}

// dirListing lists dir's files with sizes and modification times.
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d:%d ", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return b.String()
}

// TestRestartManyPartitions: 200 partitions, each holding its own record,
// all serve their data after a restart opens them in parallel, and
// idempotent producer state survives it.
func TestRestartManyPartitions(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir)
	const topics, parts = 20, 10
	createTopics(t, r, topics, parts)
	var wg sync.WaitGroup
	for i := range topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range int32(parts) {
				b, h := idempotentBatch(int64(1000*i+int(p)), 0, 0)
				part, err := r.Partition(fmt.Sprintf("t%d", i), p)
				if err == nil {
					_, err = part.Append(b, h)
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open(t, dir)
	defer r.Close()
	if r.Len() != topics {
		t.Fatalf("%d topics after restart, want %d", r.Len(), topics)
	}
	for i := range topics {
		for p := range int32(parts) {
			part := mustPartition(t, r, fmt.Sprintf("t%d", i), p)
			got, err := part.Log().Read(0, 1<<20, nil)
			if err != nil {
				t.Fatal(err)
			}
			h, err := commitlog.ParseBatchHeader(got)
			if err != nil || h.ProducerID != int64(1000*i+int(p)) || part.Log().EndOffset() != 1 {
				t.Fatalf("t%d/%d after restart: %+v, %v, LEO %d", i, p, h, err, part.Log().EndOffset())
			}
			b, bh := idempotentBatch(h.ProducerID, 0, 0)
			if a, err := part.Append(b, bh); err != nil || !a.Duplicate {
				t.Fatalf("t%d/%d: retry after restart %+v, %v; want a duplicate", i, p, a, err)
			}
		}
	}
}

// TestFileBudgetAcrossPartitions: 120 partitions under a budget of 16
// active segment files keep at most 16 open, from Open on and while all of
// them are written and read.
func TestFileBudgetAcrossPartitions(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Fsync = commitlog.FsyncNever // no syncer holding a file: the bound is exact
	cfg.MaxOpenSegmentFiles = 16
	cfg.MaxTotalPartitions = 120 // more than the default of 4 per file
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	createTopics(t, r, 12, 10)
	checkFiles := func(when string) {
		t.Helper()
		if n := openFilesUnder(t, dir); n > 16 {
			t.Fatalf("%s: %d files open under the data directory, budget 16", when, n)
		}
	}
	checkFiles("after creating 120 partitions")
	for round := range int32(2) {
		for _, tp := range r.All() {
			for _, p := range tp.Partitions() {
				b, h := plainBatch(round)
				if _, err := p.Append(b, h); err != nil {
					t.Fatal(err)
				}
			}
		}
		checkFiles(fmt.Sprintf("after append round %d", round))
	}
	if st := r.Stats(); st.IdleClosed == 0 || st.OpenFiles > 16 || st.FileBudget != 16 {
		t.Fatalf("stats %+v", st)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkFiles("after a restart")
	for _, tp := range r.All() {
		for _, p := range tp.Partitions() {
			if got, err := p.Log().Read(0, 1<<20, nil); err != nil || len(got) != 2*61 {
				t.Fatalf("%s/%d: read %d bytes, %v; want both batches", tp.Name(), p.Index(), len(got), err)
			}
		}
	}
	checkFiles("after reading every partition")
}

func openFilesUnder(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir) {
			n++
		}
	}
	return n
}

// lockedBuffer is a bytes.Buffer safe for a logger used by many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// TestSnapshotFailuresAreRetriedQuietly: producer-state snapshots that
// cannot be written (their temp file's path is taken by a directory, which
// stops root too) are retried at every pass without stopping writes, and
// 20 partitions failing five passes log one warning, not a hundred.
func TestSnapshotFailuresAreRetriedQuietly(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	cfg := testConfig(dir)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	createTopics(t, r, 4, 5)
	var blocks []string
	for _, tp := range r.All() {
		for _, p := range tp.Partitions() {
			block := filepath.Join(p.dir, producerStateFile+".tmp")
			if err := os.Mkdir(block, 0o755); err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, block)
			b, h := idempotentBatch(int64(p.index)+1, 0, 0)
			if _, err := p.Append(b, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 5 {
		r.snapshotProducers(time.Now())
	}
	if st := r.Stats(); st.SnapshotsFailed != 100 || st.Snapshots != 0 {
		t.Fatalf("stats %+v, want 100 failures", st)
	}
	if n := logs.count("producer state snapshot failed"); n != 1 {
		t.Fatalf("%d warnings for 100 failed snapshots, want 1:\n%s", n, logs.b.String())
	}
	for _, tp := range r.All() { // writes go on meanwhile
		for _, p := range tp.Partitions() {
			b, h := idempotentBatch(int64(p.index)+1, 0, 1)
			if _, err := p.Append(b, h); err != nil {
				t.Fatalf("append while snapshots fail: %v", err)
			}
		}
	}
	for _, b := range blocks {
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	r.snapshotProducers(time.Now())
	if st := r.Stats(); st.Snapshots != 20 {
		t.Fatalf("stats %+v after the path cleared, want 20 snapshots", st)
	}
}

// TestFullDiskResumes runs a registry on a small tmpfs: once it is full,
// appends are refused (the first one of a partition needs its
// leader-epoch-checkpoint) but no partition is failed, snapshot warnings
// stay few, and writes succeed again as soon as space is freed. Needs
// root (mount); skipped otherwise.
func TestFullDiskResumes(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	var logs lockedBuffer
	cfg := testConfig(dir)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	createTopics(t, r, 2, 10)
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := f.Write(make([]byte, 64<<10)); err == nil; _, err = f.Write(make([]byte, 4096)) {
	}
	f.Close()
	all := func() (ps []*Partition) {
		for _, tp := range r.All() {
			ps = append(ps, tp.Partitions()...)
		}
		return ps
	}
	for _, p := range all() {
		b, h := idempotentBatch(int64(p.index)+1, 0, 0)
		if _, err := p.Append(b, h); err == nil {
			t.Fatalf("%s/%d: append on a full disk succeeded", p.topic, p.index)
		} else if errors.Is(err, commitlog.ErrLogFailed) || p.Log().Err() != nil {
			t.Fatalf("%s/%d: a full disk failed the partition: %v", p.topic, p.index, err)
		}
	}
	for range 3 {
		r.snapshotProducers(time.Now())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for _, p := range all() {
		b, h := idempotentBatch(int64(p.index)+1, 0, 0)
		if _, err := p.Append(b, h); err != nil {
			t.Fatalf("%s/%d: append after space returned: %v", p.topic, p.index, err)
		}
		if err := p.Log().Sync(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := logs.count("refusing writes until restart"); n != 0 {
		t.Fatalf("%d partitions failed for good", n)
	}
	if n := logs.count("failed and was undone"); n > 20 {
		t.Fatalf("%d undone-write warnings for 20 partitions", n)
	}
	r, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tp := range r.All() {
		for _, p := range tp.Partitions() {
			if p.Log().EndOffset() != 1 {
				t.Fatalf("%s/%d: LEO %d after restart, want 1", tp.Name(), p.Index(), p.Log().EndOffset())
			}
		}
	}
}
