package commitlog

import (
	"math"
	"testing"
	"time"
)

// loadedClosed counts the closed segments of l whose indexes are in memory
// or whose file is open.
func loadedClosed(l *Log) int {
	l.mu.Lock()
	segs := append([]*segment(nil), l.segments[:len(l.segments)-1]...)
	l.mu.Unlock()
	n := 0
	for _, s := range segs {
		s.mu.Lock()
		if s.loaded || s.file != nil {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// cacheLog writes 40 closed segments of 8 batches, a minute apart, with a
// budget of about two segments' indexes.
func cacheLog(t *testing.T, dir string, cache *IndexCache) (*Log, [][]byte, *fakeClock) {
	clock := newClock()
	l := openLog(t, cacheConfig(t, dir, cache, clock))
	var batches [][]byte
	for i := range 8*40 + 1 {
		b := makeBatch(t, clock.Millis(), values(2, 100, i)...)
		mustAppend(t, l, b, 0)
		batches = append(batches, b)
		clock.Advance(time.Minute)
	}
	return l, batches, clock
}

func cacheConfig(t *testing.T, dir string, cache *IndexCache, clock *fakeClock) Config {
	size := int64(len(makeBatch(t, 0, values(2, 100, 0)...)))
	return Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 8 * size, IndexIntervalBytes: 200, IndexCache: cache, Now: clock.Now}
}

// segmentBytes is what one closed segment of cacheLog counts.
func segmentBytes(t *testing.T, l *Log) int64 {
	l.mu.Lock()
	s := l.segments[0]
	l.mu.Unlock()
	if _, err := l.view(s, s.size, s.base+16); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memBytes()
}

func TestIndexCacheBounds(t *testing.T) {
	probe, _, _ := cacheLog(t, t.TempDir(), nil)
	budget := 2 * segmentBytes(t, probe)

	cache := NewIndexCache(budget)
	dir := t.TempDir()
	l, batches, clock := cacheLog(t, dir, cache)
	// Rolled segments count too: writing alone stays within the budget.
	if st := cache.Stats(); st.Bytes > budget || st.Segments > 2 || loadedClosed(l) > 2 || st.Evictions < 35 {
		t.Fatalf("after writing 40 segments: %+v, %d loaded; budget %d", st, loadedClosed(l), budget)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st := cache.Stats(); st.Segments != 0 || st.Bytes != 0 {
		t.Fatalf("closed log still counted: %+v", st)
	}

	l = openLog(t, cacheConfig(t, dir, cache, clock))
	for range 2 { // reading everything twice: unloaded segments load again
		before := cache.Stats().Evictions
		equalBatches(t, readAll(t, l, 0), batches)
		if st := cache.Stats(); st.Bytes > budget || loadedClosed(l) > 2 || st.Evictions-before < 35 {
			t.Fatalf("after reading 40 segments: %+v, %d loaded; budget %d", st, loadedClosed(l), budget)
		}
	}
	// Time lookups and retention work on unloaded segments.
	if off, err := l.OffsetForTime(batchTime(batches[100])); err != nil || off != 200 {
		t.Fatalf("OffsetForTime = %d, %v; want 200", off, err)
	}
	l.cfg.RetentionTime = time.Duration(len(batches)-80) * time.Minute
	if n, err := l.Retain(); err != nil || n != 10 {
		t.Fatalf("Retain = %d, %v; want the 10 oldest segments", n, err)
	}
	if st := cache.Stats(); st.Bytes > budget {
		t.Fatalf("after retention: %+v", st)
	}
}

func batchTime(b []byte) int64 {
	h, _ := ParseBatchHeader(b)
	return h.FirstTimestamp
}

// TestIndexCacheSparesReaders: a segment held by a reader keeps its file
// and indexes however many other segments are read meanwhile.
func TestIndexCacheSparesReaders(t *testing.T) {
	cache := NewIndexCache(1)
	l, batches, _ := cacheLog(t, t.TempDir(), cache)
	s, size, end, _, _, err := l.locate(3, math.MaxInt64) // a reader in segment 0
	if err != nil {
		t.Fatal(err)
	}
	v, pos, n, err := l.position(s, size, end, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	equalBatches(t, readAll(t, l, 16), batches[8:]) // every other segment, each unloaded after use
	got := make([]byte, n)
	if _, err := v.file.ReadAt(got, pos); err != nil {
		t.Fatalf("the held segment's file was closed under its reader: %v", err)
	}
	equalBatches(t, [][]byte{got}, batches[1:2])
	s.mu.Lock()
	held := s.loaded && s.file != nil
	s.mu.Unlock()
	if !held || loadedClosed(l) != 2 {
		t.Fatalf("%d closed segments loaded (held one loaded: %v), want the held one and the last one read", loadedClosed(l), held)
	}
	s.release()
	equalBatches(t, readAll(t, l, 16), batches[8:]) // now segment 0 goes too
	if loadedClosed(l) > 1 || cache.Stats().Segments > 1 {
		t.Fatalf("%d closed segments loaded after the reader let go (%+v)", loadedClosed(l), cache.Stats())
	}
}

// TestIndexCacheShared: one cache bounds two logs together, and a closed
// log leaves it.
func TestIndexCacheShared(t *testing.T) {
	probe, _, _ := cacheLog(t, t.TempDir(), nil)
	budget := 3 * segmentBytes(t, probe)
	cache := NewIndexCache(budget)
	a, batchesA, _ := cacheLog(t, t.TempDir(), cache)
	b, batchesB, _ := cacheLog(t, t.TempDir(), cache)
	equalBatches(t, readAll(t, a, 0), batchesA)
	equalBatches(t, readAll(t, b, 0), batchesB)
	if st := cache.Stats(); st.Bytes > budget || loadedClosed(a)+loadedClosed(b) > 3 {
		t.Fatalf("two logs on one cache: %+v, %d+%d loaded", st, loadedClosed(a), loadedClosed(b))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if st := cache.Stats(); st.Segments != loadedClosed(a) {
		t.Fatalf("closed log's segments still counted: %+v, log a has %d loaded", st, loadedClosed(a))
	}
	if NewIndexCache(-1).budget <= 1<<62 || NewIndexCache(0).budget != DefaultIndexCacheBytes {
		t.Fatal("NewIndexCache: 0 must mean the default and negative no limit")
	}
}
