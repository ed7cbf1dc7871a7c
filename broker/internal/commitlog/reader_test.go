package commitlog

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentAppendReadRetain runs appenders, readers and retention
// together on small segments; under -race it checks the locking, and the
// readers check that every batch they get is whole, valid and in order.
func TestConcurrentAppendReadRetain(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			testConcurrent(t, p, nil)
		})
		// A one-byte index cache unloads every closed segment not in use.
		t.Run(p.String()+"/evicting", func(t *testing.T) {
			testConcurrent(t, p, NewIndexCache(1))
		})
	}
}

func testConcurrent(t *testing.T, p FsyncPolicy, cache *IndexCache) {
	const appenders, perAppender, readers = 3, 150, 3
	l := openLog(t, Config{Dir: t.TempDir(), Fsync: p, SegmentBytes: 4 << 10, IndexIntervalBytes: 256, RetentionBytes: 16 << 10,
		IndexCache: cache})
	var wg sync.WaitGroup
	var appending atomic.Int32
	appending.Store(appenders)
	finished := make(chan struct{}) // closed by the last appender
	fail := make(chan error, appenders+readers+1)
	for a := range appenders {
		wg.Go(func() {
			defer func() {
				if appending.Add(-1) == 0 {
					close(finished)
				}
			}()
			for i := range perAppender {
				if _, _, err := l.Append(buildBatch(int64(i), values(1+i%3, 120, a)...), 0); err != nil {
					fail <- err
					return
				}
			}
		})
	}
	var retained atomic.Int64
	wg.Go(func() {
		for appending.Load() > 0 {
			n, err := l.Retain()
			if err != nil {
				fail <- err
				return
			}
			retained.Add(int64(n))
		}
	})
	for range readers {
		wg.Go(func() {
			if err := tail(l, &appending, finished); err != nil {
				fail <- err
			}
		})
	}
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	if retained.Load() == 0 || l.StartOffset() == 0 {
		t.Fatalf("retention never ran concurrently (deleted %d, start %d)", retained.Load(), l.StartOffset())
	}
	if cache != nil && cache.Stats().Evictions == 0 {
		t.Fatal("the index cache never unloaded a segment")
	}
}

// tail follows the log like a consumer until the appenders are done and it
// has read up to the high watermark, validating every batch. finished
// wakes it when the appenders are done: a reader at the end that saw them
// still appending waits for an append that may not come.
func tail(l *Log, appending *atomic.Int32, finished <-chan struct{}) error {
	var buf []byte
	off := int64(0)
	for {
		done := appending.Load() == 0
		hw := l.HighWatermark()
		if done && off >= l.EndOffset() && hw == l.EndOffset() {
			return nil
		}
		ch := l.Wait()
		b, err := l.Read(off, 2000, buf[:0])
		if errors.Is(err, ErrOffsetOutOfRange) && off < l.StartOffset() {
			off = l.StartOffset() // retention overtook us, as it would a slow consumer
			continue
		}
		if err != nil {
			return err
		}
		buf = b
		if len(b) == 0 {
			select { // HW is behind the LEO or appends are coming
			case <-ch:
			case <-finished:
				finished = nil // once: from now on done is true
			}
			continue
		}
		for len(b) > 0 {
			h, err := ParseBatchHeader(b)
			if err != nil || h.Size() > len(b) {
				return errors.Join(errors.New("partial batch"), err)
			}
			if _, err := ValidateBatch(b[:h.Size()]); err != nil {
				return err
			}
			if off < h.BaseOffset || off > h.LastOffset() {
				return errors.New("batch out of order")
			}
			off = h.LastOffset() + 1
			b = b[h.Size():]
		}
	}
}
