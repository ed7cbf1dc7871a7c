package commitlog

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestGroupCommit holds the syncer inside its first fsync while 64
// producers append and wait: one more fsync must release them all.
func TestGroupCommit(t *testing.T) {
	const producers = 64
	entered := make(chan struct{})
	release := make(chan struct{})
	var first sync.Once
	cfg := Config{Dir: t.TempDir(), Fsync: FsyncBatch, BeforeFsync: func() {
		first.Do(func() {
			close(entered)
			<-release
		})
	}}
	l := openLog(t, cfg)
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	<-entered // the syncer is now in fsync #1, covering offset 0 only

	var appended, done sync.WaitGroup
	errs := make(chan error, producers)
	for i := range producers {
		appended.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			_, last, err := l.Append(makeBatch(t, 1, values(1, 10, i)...), 0)
			appended.Done()
			if err == nil {
				err = l.Sync(context.Background(), last+1)
			}
			errs <- err
		}()
	}
	appended.Wait()
	if hw := l.HighWatermark(); hw != 0 {
		t.Fatalf("HW %d before any fsync finished", hw)
	}
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Stats().Fsyncs; got != 2 {
		t.Fatalf("%d producers took %d fsyncs, want 2 (one in flight, one for all of them)", producers, got)
	}
	if hw := l.HighWatermark(); hw != producers+1 {
		t.Fatalf("HW %d, want %d", hw, producers+1)
	}
}

func TestSyncContext(t *testing.T) {
	release := make(chan struct{})
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncBatch, BeforeFsync: func() { <-release }})
	defer close(release)
	_, last := mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Sync(ctx, last+1); err != context.Canceled {
		t.Fatalf("Sync with a cancelled context: %v", err)
	}
}

func TestSyncOtherPolicies(t *testing.T) {
	for _, p := range []FsyncPolicy{FsyncInterval, FsyncNever} {
		l := openLog(t, Config{Dir: t.TempDir(), Fsync: p, FsyncInterval: time.Hour})
		_, last := mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
		if err := l.Sync(context.Background(), last+1); err != nil {
			t.Fatalf("%v: Sync = %v", p, err)
		}
		if l.HighWatermark() != last+1 || l.Stats().Fsyncs != 0 {
			t.Fatalf("%v: HW %d (want the LEO %d) after %d fsyncs", p, l.HighWatermark(), last+1, l.Stats().Fsyncs)
		}
	}
}

func TestFsyncIntervalTicks(t *testing.T) {
	synced := make(chan struct{})
	var once sync.Once
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncInterval, FsyncInterval: time.Millisecond,
		BeforeFsync: func() { once.Do(func() { close(synced) }) }})
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	waitOrFail(t, synced)
}

// TestCloseReleasesSyncWaiters: a producer waiting for its fsync while the
// log closes is answered by Close's own fsync, not with an error.
func TestCloseReleasesSyncWaiters(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var first sync.Once
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncBatch, BeforeFsync: func() {
		first.Do(func() {
			close(entered)
			<-release
		})
	}})
	mustAppend(t, l, makeBatch(t, 1, values(1, 10, 0)...), 0)
	<-entered
	_, last := mustAppend(t, l, makeBatch(t, 1, values(1, 10, 1)...), 0)
	synced := make(chan error)
	go func() { synced <- l.Sync(context.Background(), last+1) }()
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	close(release) // the syncer finishes fsync #1, then stops for Close
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-synced; err != nil {
		t.Fatalf("Sync waiting across Close: %v", err)
	}
}
