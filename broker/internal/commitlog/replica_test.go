package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// leaderLog fills a log as a leader would: n batches of 3 records over
// small segments, epoch 1 for the first half and 2 after, and returns the
// stored batches.
func leaderLog(t *testing.T, dir string, n int) (*Log, [][]byte) {
	t.Helper()
	l := openLog(t, Config{Dir: dir, SegmentBytes: 1024})
	for i := range n {
		epoch := int32(1)
		if i >= n/2 {
			epoch = 2
		}
		mustAppend(t, l, makeBatch(t, int64(1000+i), values(3, 40, i)...), epoch)
	}
	if err := l.Sync(t.Context(), l.EndOffset()); err != nil {
		t.Fatal(err)
	}
	return l, readAll(t, l, 0)
}

// TestAppendReplica: a follower's log stores the leader's batches byte for
// byte (offsets, epochs, CRCs), learns the epochs from them, refuses a
// batch behind its end, and a batch after a gap starts a new segment.
func TestAppendReplica(t *testing.T) {
	_, batches := leaderLog(t, t.TempDir(), 20)
	f := openLog(t, Config{Dir: t.TempDir(), SegmentBytes: 1024})
	for _, b := range batches {
		if _, _, err := f.AppendReplica(bytes.Clone(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(t.Context(), f.EndOffset()); err != nil {
		t.Fatal(err)
	}
	equalBatches(t, readAll(t, f, 0), batches)
	if got, want := fmt.Sprint(f.LeaderEpochs()), "[{1 0} {2 30}]"; got != want {
		t.Fatalf("epochs %s, want %s", got, want)
	}
	if _, _, err := f.AppendReplica(bytes.Clone(batches[3])); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("batch behind the end: %v, want ErrOffsetOutOfRange", err)
	}
	// A gap (the leader compacted there): the next batch at offset 100.
	gap := makeBatch(t, 5000, values(2, 10, 99)...)
	stamp(gap, 100, 3)
	if base, last, err := f.AppendReplica(bytes.Clone(gap)); err != nil || base != 100 || last != 101 {
		t.Fatalf("after a gap: %d-%d %v", base, last, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f2 := openLog(t, Config{Dir: f.cfg.Dir, SegmentBytes: 1024})
	if f2.EndOffset() != 102 {
		t.Fatalf("reopened end %d, want 102", f2.EndOffset())
	}
	got := readAll(t, f2, 0)
	equalBatches(t, got, append(append([][]byte(nil), batches...), gap))
}

// TestTruncate cuts logs at batch starts, mid-batch, in closed segments
// and in the active one, reopens them and appends again.
func TestTruncate(t *testing.T) {
	for _, at := range []int64{0, 3, 4, 29, 30, 31, 57, 59, 60, 1000} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			dir := t.TempDir()
			l, batches := leaderLog(t, dir, 20) // offsets 0..59
			if err := l.Truncate(at); err != nil {
				t.Fatal(err)
			}
			want := at - at%3 // the batch holding at goes whole
			var kept [][]byte
			for _, b := range batches {
				if h, _ := ParseBatchHeader(b); h.BaseOffset < want {
					kept = append(kept, b)
				}
			}
			want = min(want, 60)
			if l.EndOffset() != want || l.HighWatermark() != want {
				t.Fatalf("end %d hw %d, want %d", l.EndOffset(), l.HighWatermark(), want)
			}
			equalBatches(t, readAll(t, l, 0), kept)
			for _, e := range l.LeaderEpochs() {
				if e.StartOffset >= want && want < 60 {
					t.Fatalf("epoch %v kept at or past the cut %d", e, want)
				}
			}
			// Appends go on from the cut, and survive a clean reopen and a
			// crash.
			mustAppend(t, l, makeBatch(t, 9000, values(2, 10, 7)...), 5)
			if err := l.Sync(t.Context(), l.EndOffset()); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, readAll(t, l, want)...)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := openLog(t, Config{Dir: dir, SegmentBytes: 1024})
			equalBatches(t, readAll(t, l2, 0), kept)
			if n := len(l2.LeaderEpochs()); l2.LeaderEpochs()[n-1] != (EpochEntry{Epoch: 5, StartOffset: want}) {
				t.Fatalf("epochs after reopen %v", l2.LeaderEpochs())
			}
			mustAppend(t, l2, makeBatch(t, 9100, values(1, 10, 8)...), 5)
			if err := l2.Sync(t.Context(), l2.EndOffset()); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, readAll(t, l2, want+2)...)
			crash(l2)
			l3 := openLog(t, Config{Dir: dir, SegmentBytes: 1024})
			equalBatches(t, readAll(t, l3, 0), kept)
		})
	}
}

// TestTruncateCrash stops Truncate at each of its steps as a kill would
// and reopens the directory: it opens, holds a prefix of the old log at
// least as long as the cut, and a second Truncate finishes the job.
func TestTruncateCrash(t *testing.T) {
	steps := []string{"later segments", "one later segment", "cut", "rebuild index", "new active"}
	for _, step := range steps {
		for _, at := range []int64{4, 31, 58} {
			t.Run(fmt.Sprintf("%s/%d", step, at), func(t *testing.T) {
				dir := t.TempDir()
				l, batches := leaderLog(t, dir, 20)
				l.cfg.truncateHook = func(s string) error {
					if s == step {
						return errors.New("killed")
					}
					return nil
				}
				err := l.Truncate(at)
				crash(l)
				l2 := openLog(t, Config{Dir: dir, SegmentBytes: 1024})
				got := readAll(t, l2, 0)
				if len(got) > len(batches) {
					t.Fatalf("%d batches after the crash, %d before", len(got), len(batches))
				}
				equalBatches(t, got, batches[:len(got)])
				want := at - at%3
				if l2.EndOffset() < want {
					t.Fatalf("crash at %q (%v): end %d, below the cut %d", step, err, l2.EndOffset(), want)
				}
				if err := l2.Truncate(at); err != nil {
					t.Fatal(err)
				}
				equalBatches(t, readAll(t, l2, 0), batches[:want/3])
				mustAppend(t, l2, makeBatch(t, 9000, values(2, 10, 7)...), 5)
			})
		}
	}
}
