package commitlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestMarkerStaysUntilFirstWrite: reopening a cleanly closed log and
// closing it again writes nothing (an idle partition costs no fsync at
// restart); the first write removes the marker, so a crash after it looks
// unclean.
func TestMarkerStaysUntilFirstWrite(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Logger: quietLogger(t)}
	l := openLog(t, cfg)
	mustAppend(t, l, makeBatch(t, 1000, []byte("a")), 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)
	for range 2 {
		l := openLog(t, cfg)
		if r := l.Stats().Recovery; !r.Clean {
			t.Fatalf("reopen after a clean close: %+v", r)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if after := dirState(t, dir); after != before {
			t.Fatalf("open and close of an idle log wrote files:\nbefore %s\nafter  %s", before, after)
		}
	}
	l = openLog(t, cfg)
	if l.Stats().Fsyncs != 0 {
		t.Fatalf("clean open fsynced %d times", l.Stats().Fsyncs)
	}
	mustAppend(t, l, makeBatch(t, 2000, []byte("b")), 0)
	if _, err := os.Stat(filepath.Join(dir, markerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker still there after a write: %v", err)
	}
	if err := l.Sync(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	crash(l)
	l = openLog(t, cfg)
	if r := l.Stats().Recovery; r.Clean || l.EndOffset() != 2 {
		t.Fatalf("reopen after a write and a crash: %+v, LEO %d", r, l.EndOffset())
	}
}

// dirState lists dir's files with their sizes and modification times.
func dirState(t *testing.T, dir string) string {
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

// openFilesUnder counts this process's open file descriptors on files
// under dir.
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

// TestFileBudgetBoundsOpenFiles: 40 logs under a budget of 8 active files
// keep at most 8 segment files open whatever is appended and read, and
// every log still serves all its data.
func TestFileBudgetBoundsOpenFiles(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncNever, FsyncInterval, FsyncBatch} {
		t.Run(policy.String(), func(t *testing.T) {
			root := t.TempDir()
			const logs, budget = 40, 8
			files := NewFileBudget(budget)
			ls := make([]*Log, logs)
			want := make([][][]byte, logs)
			for i := range ls {
				ls[i] = openLog(t, Config{Dir: filepath.Join(root, fmt.Sprint(i)), Files: files, Fsync: policy, FsyncInterval: time.Millisecond})
			}
			for round := range 3 {
				for i, l := range ls {
					b := makeBatch(t, int64(1000*round+i), fmt.Appendf(nil, "log %d round %d", i, round))
					mustAppend(t, l, b, 0) // stamps b with its offset
					want[i] = append(want[i], b)
					if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
						t.Fatal(err)
					}
					waitIdle(t, l)
				}
			}
			if n := openFilesUnder(t, root); n > budget {
				t.Fatalf("%d segment files open, budget %d", n, budget)
			}
			for i, l := range ls {
				equalBatches(t, readAll(t, l, 0), want[i])
				waitIdle(t, l)
				if n := openFilesUnder(t, root); n > budget {
					t.Fatalf("after reading log %d: %d segment files open, budget %d", i, n, budget)
				}
			}
			if st := files.Stats(); st.IdleClosed == 0 || st.Open > budget || st.Max != budget {
				t.Fatalf("budget stats %+v", st)
			}
			for _, l := range ls {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if st := files.Stats(); st.Open != 0 {
				t.Fatalf("%d files counted open after every log closed", st.Open)
			}
			for i := range ls { // what was closed idle reopens clean
				l := openLog(t, Config{Dir: filepath.Join(root, fmt.Sprint(i)), Files: files})
				if r := l.Stats().Recovery; !r.Clean {
					t.Fatalf("log %d after Close: %+v", i, r)
				}
				equalBatches(t, readAll(t, l, 0), want[i])
			}
		})
	}
}

// waitIdle waits until l's syncer is done with the active segment (its
// fsync and recovery point, whose index writes open files too), so an
// eviction round may close the segment's file.
func waitIdle(t *testing.T, l *Log) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		l.mu.Lock()
		idle := l.active().refs.Load() == 1 && l.durable >= l.leo
		l.mu.Unlock()
		if idle || l.cfg.Fsync == FsyncNever { // no syncer
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("log never became idle")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFileBudgetConcurrent appends to and reads from many logs at once
// under a budget of 2, so files are closed and reopened under readers,
// the syncer and appenders (run with -race).
func TestFileBudgetConcurrent(t *testing.T) {
	root := t.TempDir()
	files := NewFileBudget(2)
	ls := make([]*Log, 6)
	for i := range ls {
		ls[i] = openLog(t, Config{Dir: filepath.Join(root, fmt.Sprint(i)), Files: files})
	}
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := range 30 {
				if _, _, err := l.Append(makeBatch(t, int64(n), fmt.Appendf(nil, "%d-%d", i, n)), 0); err != nil {
					t.Error(err)
					return
				}
			}
			if err := l.Sync(context.Background(), 30); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for l.HighWatermark() < 30 {
				if _, err := l.Read(0, 1<<20, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, l := range ls {
		got := readAll(t, l, 0)
		if len(got) != 30 {
			t.Fatalf("log %d: %d batches, want 30", i, len(got))
		}
	}
}

// TestIdleSyncerArmsNoTimer: an idle log's syncer never wakes, under any
// policy, however long it waits (synctest's clock: no timed assertion).
func TestIdleSyncerArmsNoTimer(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncBatch, FsyncInterval} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				l, err := Open(Config{Dir: dir, Fsync: policy, FsyncInterval: 100 * time.Millisecond, Logger: quietLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				time.Sleep(time.Hour)
				synctest.Wait()
				if st := l.Stats(); st.SyncerWakeups != 0 || st.Fsyncs != 0 {
					t.Fatalf("idle for an hour: %+v", st)
				}
				if _, _, err := l.Append(makeBatch(t, 1, []byte("x")), 0); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				time.Sleep(time.Hour)
				synctest.Wait()
				if st := l.Stats(); st.SyncerWakeups != 1 || st.Fsyncs != 1 {
					t.Fatalf("one append, then an idle hour: %+v, want one wake-up and one fsync", st)
				}
			})
		})
	}
}

// TestEpochCheckpointFailureIsNotSticky: a leader-epoch-checkpoint that
// cannot be written refuses the batch that needed it, and only that: the
// log stays writable and the next append writes the checkpoint.
func TestEpochCheckpointFailureIsNotSticky(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Config{Dir: dir})
	mustAppend(t, l, makeBatch(t, 1, []byte("a")), 0)
	// A directory where the checkpoint's temp file goes: the write fails,
	// for root too.
	block := filepath.Join(dir, epochFile+".tmp")
	if err := os.Mkdir(block, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Append(makeBatch(t, 2, []byte("b")), 1); err == nil || errors.Is(err, ErrLogFailed) {
		t.Fatalf("append needing an unwritable checkpoint: %v, want a non-sticky error", err)
	}
	if err := l.Err(); err != nil {
		t.Fatalf("log failed: %v", err)
	}
	mustAppend(t, l, makeBatch(t, 3, []byte("c")), 0) // same epoch: no checkpoint needed
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, makeBatch(t, 4, []byte("d")), 1)
	if got := l.LeaderEpochs(); len(got) != 2 || got[1] != (EpochEntry{Epoch: 1, StartOffset: 2}) {
		t.Fatalf("epochs %+v", got)
	}
	if err := l.Sync(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
}

// TestFullDiskWritesResume fills a small tmpfs: appends are refused while
// it is full, the log is not failed, and they succeed again once space is
// freed, with every acknowledged batch intact after a reopen. Needs root
// (mount); skipped otherwise.
func TestFullDiskWritesResume(t *testing.T) {
	dir := smallTmpfs(t, "2m")
	cfg := Config{Dir: filepath.Join(dir, "log"), Logger: quietLogger(t)}
	l := openLog(t, cfg)
	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	var want [][]byte
	var refused int
	for i := range 40 {
		b := makeBatch(t, int64(i), bytes.Repeat([]byte{byte(i)}, 8<<10))
		if _, _, err := l.Append(b, 0); err != nil {
			if errors.Is(err, ErrLogFailed) {
				t.Fatalf("append %d on a full disk failed the log: %v", i, err)
			}
			refused++
			continue
		}
		want = append(want, b)
	}
	if refused == 0 {
		t.Fatal("no append refused on a full disk")
	}
	if err := l.Sync(context.Background(), l.EndOffset()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		b := makeBatch(t, int64(100+i), []byte("after"))
		mustAppend(t, l, b, 0)
		want = append(want, b)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, cfg)
	equalBatches(t, readAll(t, l, 0), want)
}

// smallTmpfs mounts a tmpfs of size under a temp dir for the test, or
// skips the test where mounting is not allowed.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}
