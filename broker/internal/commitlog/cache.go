package commitlog

import (
	"container/list"
	"math"
	"sync"
	"sync/atomic"
)

// DefaultIndexCacheBytes is the budget of a log's own IndexCache: about one
// 1 GiB segment's indexes at the default IndexIntervalBytes (2 MiB of
// offset entries, 4 MiB of time entries in memory).
const DefaultIndexCacheBytes = 8 << 20

// segmentMemOverhead is what a loaded segment costs besides its index
// entries (the segment, an open file), in the cache's accounting.
const segmentMemOverhead = 512

// IndexCache bounds the memory that closed segments' loaded indexes take:
// a segment loaded for a read (or closed by a roll, or written by
// compaction) counts its index entries, and when the total passes the
// budget the least recently used segments are unloaded (indexes dropped,
// file closed) until it fits again; they load again on their next read.
// The segment just used, and segments a reader or a compaction pass holds,
// are never unloaded, so the budget can be exceeded while they are in use.
// The active segment's index is not counted. One IndexCache may be shared
// by many logs (Config.IndexCache) to bound a whole broker; its methods are
// safe for concurrent use.
type IndexCache struct {
	budget    int64
	evictions atomic.Int64

	// mu guards the fields below. It is a leaf lock: nothing else is
	// locked while it is held (segment.mu may be held when taking it).
	mu      sync.Mutex
	used    int64
	lru     list.List // of *cacheEntry, least recently used first
	entries map[*segment]*list.Element
}

type cacheEntry struct {
	s     *segment
	bytes int64
}

// NewIndexCache returns a cache holding at most about maxBytes of loaded
// indexes: 0 means DefaultIndexCacheBytes, negative means no limit.
func NewIndexCache(maxBytes int64) *IndexCache {
	switch {
	case maxBytes == 0:
		maxBytes = DefaultIndexCacheBytes
	case maxBytes < 0:
		maxBytes = math.MaxInt64
	}
	return &IndexCache{budget: maxBytes, entries: map[*segment]*list.Element{}}
}

// IndexCacheStats describes an IndexCache.
type IndexCacheStats struct {
	Bytes     int64 // counted bytes of loaded closed segments
	Segments  int   // loaded closed segments
	Evictions int64 // segments unloaded to stay within the budget
}

// Stats returns the cache's figures.
func (c *IndexCache) Stats() IndexCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return IndexCacheStats{Bytes: c.used, Segments: len(c.entries), Evictions: c.evictions.Load()}
}

// touch records that the closed segment s was just used with bytes of
// indexes loaded, and unloads least recently used segments while the cache
// is over budget. The caller holds a reference on s and no segment's mu.
func (c *IndexCache) touch(s *segment, bytes int64) {
	for _, v := range c.account(s, bytes) {
		v.unload(c)
	}
}

// trim unloads least recently used segments while the cache is over
// budget: called when a batch of references (a snapshot) is let go, since
// segments held then could not be unloaded. The caller holds no segment's
// mu.
func (c *IndexCache) trim() {
	for _, v := range c.account(nil, 0) {
		v.unload(c)
	}
}

// account updates s's entry (none if s is nil) and returns the segments to
// unload.
func (c *IndexCache) account(s *segment, bytes int64) []*segment {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[s]; ok {
		e := el.Value.(*cacheEntry)
		c.used += bytes - e.bytes
		e.bytes = bytes
		c.lru.MoveToBack(el)
	} else if s != nil {
		c.entries[s] = c.lru.PushBack(&cacheEntry{s: s, bytes: bytes})
		c.used += bytes
	}
	var victims []*segment
	over := c.used - c.budget
	for el := c.lru.Front(); el != nil && over > 0; el = el.Next() {
		if e := el.Value.(*cacheEntry); e.s != s {
			victims = append(victims, e.s)
			over -= e.bytes
		}
	}
	return victims
}

// remove forgets s (unloaded, retired, or its log closed).
func (c *IndexCache) remove(s *segment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[s]; ok {
		c.used -= el.Value.(*cacheEntry).bytes
		c.lru.Remove(el)
		delete(c.entries, s)
	}
}

// memBytes is what s's loaded indexes count in an IndexCache. Caller holds
// s.mu.
func (s *segment) memBytes() int64 {
	return int64(cap(s.idx.offsets))*offsetEntrySize + int64(cap(s.idx.times))*16 + segmentMemOverhead
}

// unload drops s's indexes and closes its file unless someone besides the
// log's segment list holds it (a reader, a compaction pass), and removes it
// from c. A retired segment only leaves c: its readers own it. A busy s.mu
// means s is in use (being loaded, say): unload does not wait for it, so a
// roll, which touches the cache under Log.mu, never waits on a reader.
func (s *segment) unload(c *IndexCache) {
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	if !s.retired && s.refs.Load() > 1 {
		return // in use; a later touch tries again
	}
	c.remove(s)
	if s.retired || !s.loaded {
		return
	}
	s.sealedMaxTs, s.sealedMaxKnown = s.idx.maxTs, true // retention needs no reload
	if s.file != nil {
		_ = s.file.Close() // read-only: nothing to lose
		s.file = nil
	}
	s.idx, s.loaded = newIndexer(s.idx.interval), false
	s.recent = nil
	c.evictions.Add(1)
}

// noteClosedUse tells the log's cache that the closed segment s was used.
// The caller holds a reference on s and no segment's mu.
func (l *Log) noteClosedUse(s *segment) {
	if !s.closed.Load() {
		return
	}
	s.mu.Lock()
	bytes, loaded := s.memBytes(), s.loaded
	s.mu.Unlock()
	if loaded {
		l.cache.touch(s, bytes)
	}
}

// releaseSnapshot drops the references a snapshot took, then lets the
// cache unload what it could not while they were held.
func (l *Log) releaseSnapshot(segs []*segment) {
	for _, s := range segs {
		s.release()
	}
	l.cache.trim()
}

// retire takes s out of the log (retention deleted it, or compaction
// replaced it): it leaves the cache and the log drops its reference;
// readers still holding it keep its open file.
func (l *Log) retire(s *segment) {
	s.mu.Lock()
	s.retired = true
	s.mu.Unlock()
	l.cache.remove(s)
	s.release()
}
