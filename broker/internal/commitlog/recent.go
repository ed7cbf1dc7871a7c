package commitlog

import "sort"

// recentLen is how many of a segment's last appended batches it
// remembers. A consumer that keeps up reads from one of the last few:
// each fetch asks for the offset after what it read last.
const recentLen = 16

// recentBatch is where one appended batch lies in its segment.
type recentBatch struct {
	rel, last uint32 // its base and last offset, relative to the segment's base
	pos, size int64
}

// recentBatches remembers where the last batches appended to a segment
// lie, so that a read at the tail goes straight to its batch. Without it
// a read walks batch headers on from the sparse index entry before its
// offset, a pread each (IndexIntervalBytes of small batches is several):
// under a steady load that was three of every four of a broker's preads.
// It holds only batches this run appended and checked (Append checks
// their CRCs), so it names nothing a read would not find; a truncation
// drops it (cutSegment), as does unloading the segment. 416 bytes per
// segment appended to, allocated at its first append.
type recentBatches struct {
	e [recentLen]recentBatch
	n int // batches added; the newest is e[(n-1)%recentLen]
}

func (r *recentBatches) add(b recentBatch) {
	r.e[r.n%recentLen] = b
	r.n++
}

// find returns the remembered batch holding rel, if any.
func (r *recentBatches) find(rel uint32) (recentBatch, bool) {
	if r == nil || r.n == 0 {
		return recentBatch{}, false
	}
	k := min(r.n, recentLen)
	at := func(i int) recentBatch { return r.e[(r.n-k+i)%recentLen] } // oldest first
	i := sort.Search(k, func(i int) bool { return at(i).rel > rel })
	if i == 0 {
		return recentBatch{}, false
	}
	if b := at(i - 1); rel <= b.last {
		return b, true
	}
	return recentBatch{}, false
}

// recentAt returns where the batch holding offset lies if it is one of
// the segment's last appended and lies whole within size (the caller's
// snapshot of the segment).
func (s *segment) recentAt(offset, size int64) (pos, n int64, ok bool) {
	if offset < s.base {
		return 0, 0, false
	}
	s.mu.Lock()
	b, ok := s.recent.find(uint32(offset - s.base))
	s.mu.Unlock()
	if !ok || b.pos+b.size > size {
		return 0, 0, false
	}
	return b.pos, b.size, true
}

// VisibleBytes returns how many bytes of whole batches a read from offset
// would find below min(HW, below), when the positions of the active
// segment's last appends tell it without reading: offset's batch and the
// end of what is visible are among them (or the end is the log's end).
// ok is false otherwise (offset further back, out of range, or not known);
// then only a read tells. A fetch waiting for its MinBytes asks this at
// each append instead of reading, as Kafka's delayed fetch compares
// positions; damage a read would skip is not subtracted.
func (l *Log) VisibleBytes(offset, below int64) (n int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := min(l.hw, below)
	if l.closed || offset >= end || offset < l.segments[0].base {
		return 0, false
	}
	s := l.segments[len(l.segments)-1]
	if offset < s.base || s.pending {
		return 0, false
	}
	to := s.size
	s.mu.Lock()
	defer s.mu.Unlock()
	from, ok := s.recent.find(uint32(offset - s.base))
	if !ok {
		return 0, false
	}
	if end < l.leo {
		b, ok := s.recent.find(uint32(end - s.base))
		if !ok || s.base+int64(b.rel) != end {
			return 0, false
		}
		to = b.pos
	}
	if to < from.pos {
		return 0, false
	}
	return to - from.pos, true
}
