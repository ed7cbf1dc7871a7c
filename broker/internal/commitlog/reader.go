package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync/atomic"
)

// errPastSegment: the offset lies after the last batch of its segment,
// in a gap compaction left; the next segment holds what follows.
var errPastSegment = errors.New("commitlog: offset after the last batch of its segment")

// Read appends to dst the stored batches starting with the one containing
// offset (or, in a compacted log, the first one after it when compaction
// removed it): whole batches only, none at or past the high watermark, and
// no more than maxBytes unless the first batch alone is bigger, in which
// case it is returned whole (KIP-74). Offsets below StartOffset or above
// EndOffset fail with ErrOffsetOutOfRange; offsets from the high watermark
// to the LEO return dst unchanged. The bytes are exactly as stored (see
// doc.go); nothing is decoded.
func (l *Log) Read(offset int64, maxBytes int, dst []byte) ([]byte, error) {
	start := len(dst)
	out, err := l.ReadFunc(offset, maxBytes, func(n int) []byte {
		dst = slices.Grow(dst, n)[:start+n]
		return dst[start:]
	})
	return dst[:start+len(out)], err
}

// ReadFunc is Read into a buffer of the caller's: once it knows how many
// bytes it will read (n, at least the batches it returns), it calls get
// for a buffer of length at least n, reads into it and returns the prefix
// holding whole visible batches. It calls get at most once; when nothing
// is visible the result is nil (and the buffer get gave, if any, unused).
// It lets a caller read straight into a pooled buffer of the right size.
func (l *Log) ReadFunc(offset int64, maxBytes int, get func(n int) []byte) ([]byte, error) {
	return l.ReadFuncBelow(offset, maxBytes, math.MaxInt64, get)
}

// ReadFuncBelow is ReadFunc returning no batch at or past below either: a
// cluster partition's consumers read below the ISR's high watermark,
// which may be behind the log's.
func (l *Log) ReadFuncBelow(offset int64, maxBytes int, below int64, get func(n int) []byte) ([]byte, error) {
	for {
		out, next, err := l.readSegment(offset, maxBytes, below, get)
		if !errors.Is(err, errPastSegment) {
			return out, err
		}
		offset = next // the gap runs to the next segment's base
	}
}

// readSegment is ReadFunc within the segment holding offset. With
// errPastSegment it returns where the next segment starts.
//
// Every batch read is checked against its CRC before it is returned,
// unless this run has checked it already (verify.go: the log's own appends
// were checked, and a disk can rot, which Scrub finds). A bad one ends the
// read before it; if it comes first, the segment is checked whole, its
// damage recorded (scrub.go) and the read retried, now skipping it.
func (l *Log) readSegment(offset int64, maxBytes int, below int64, get func(n int) []byte) ([]byte, int64, error) {
	s, size, end, hw, closed, err := l.locate(offset, below)
	if s == nil || err != nil {
		return nil, 0, err
	}
	defer s.release()
	for attempt := 0; ; attempt++ {
		dmg := l.damage.in(s.base)
		v, pos, first, err := l.position(s, size, end, offset, dmg)
		if errors.Is(err, errPastSegment) {
			if closed || len(dmg) > 0 { // compaction or damage left a gap at its end
				return nil, end, err
			}
			err = fmt.Errorf("%w: %w", ErrCorruptBatch, err) // the active segment is contiguous
		}
		if errors.Is(err, ErrCorruptBatch) && attempt == 0 {
			if err := l.checkSegment(s, size, end); err != nil {
				return nil, 0, err
			}
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		limit := nextDamage(dmg, pos+1, size)
		n := max(min(int64(maxBytes), limit-pos), first)
		buf := get(int(n))[:n]
		l.reads.Add(1)
		if _, err := v.file.ReadAt(buf, pos); err != nil {
			return nil, 0, fmt.Errorf("commitlog: read segment %d at %d: %w", s.base, pos, err)
		}
		w := wholeBatches(buf, hw)
		bad := -1
		if w == 0 && batchBase(buf) >= end {
			bad = 0 // an offset no batch here can have: damage
		} else {
			bad = l.checkRead(s, buf[:w], pos, dmg)
		}
		switch {
		case bad < 0:
			return buf[:w:w], 0, nil
		case bad > 0:
			return buf[:bad:bad], 0, nil // the next read meets the damage
		case attempt > 0:
			return nil, 0, fmt.Errorf("%w: batch at %d of segment %d fails its CRC after a check", ErrCorruptBatch, pos, s.base)
		}
		if err := l.checkSegment(s, size, end); err != nil {
			return nil, 0, err
		}
	}
}

// locate finds the segment holding offset and takes a reference on it,
// with the snapshot of its size, its end offset, the high watermark and
// whether it is closed. A nil segment with a nil error means offset is in
// [HW, LEO].
func (l *Log) locate(offset, below int64) (s *segment, size, end, hw int64, closed bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, 0, 0, 0, false, ErrClosed
	}
	if start := l.segments[0].base; offset < start || offset > l.leo {
		return nil, 0, 0, 0, false, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, offset, start, l.leo)
	}
	hw = min(l.hw, below)
	if offset >= hw {
		return nil, 0, 0, 0, false, nil
	}
	if err := l.loadActive(); err != nil {
		return nil, 0, 0, 0, false, err
	}
	hw = min(l.hw, below)
	if offset >= hw { // loadActive found less than the marker said
		return nil, 0, 0, 0, false, nil
	}
	i := l.segmentIndex(offset)
	s = l.segments[i]
	end, closed = l.leo, i+1 < len(l.segments)
	if closed {
		end = l.segments[i+1].base
	}
	s.acquire()
	return s, s.size, end, hw, closed, nil
}

// segmentIndex is the index of the last segment whose base is <= offset.
// Caller holds mu.
func (l *Log) segmentIndex(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	return max(i-1, 0)
}

// position loads s and finds the batch containing offset. If the index
// disagrees with the segment it is rebuilt once (see repairIndex).
func (l *Log) position(s *segment, size, end, offset int64, dmg []damage) (v segView, pos, batch int64, err error) {
	for attempt := 0; ; attempt++ {
		if v, err = l.view(s, size, end); err != nil {
			return v, 0, 0, err
		}
		if len(dmg) == 0 {
			if pos, batch, ok := s.recentAt(offset, size); ok {
				return v, pos, batch, nil
			}
		}
		pos, batch, err = v.seek(s.base, offset, size, dmg, &l.headerReads)
		if !errors.Is(err, errBadIndex) || attempt > 0 {
			return v, pos, batch, err
		}
		l.log.Warn("commitlog: index disagrees with segment; rebuilding it", "segment", s.base, "err", err)
		if err := l.repairIndex(s); err != nil {
			return v, 0, 0, err
		}
	}
}

// seek returns the position and size of the first batch whose last offset
// is at or after offset, starting from the sparse index entry at or before
// it and reading only batch headers from there. Offsets may have gaps
// (compaction removes batches, damage is skipped), so each batch only has
// to start after the previous one. It fails with errBadIndex if an entry
// does not point at the batch it names, and with errPastSegment if no
// batch qualifies.
func (v segView) seek(base, offset, size int64, dmg []damage, reads *atomic.Int64) (pos, batch int64, err error) {
	e := lookupOffset(v.offsets, uint32(offset-base))
	pos, want := int64(e.pos), base+int64(e.rel)
	var hdr [offFirstTimestamp]byte
	for pos < size {
		if d, ok := damageAt(dmg, pos); ok {
			pos, want = d.end, d.last+1
			continue
		}
		reads.Add(1)
		if _, err := v.file.ReadAt(hdr[:], pos); err != nil {
			return 0, 0, fmt.Errorf("commitlog: read segment %d at %d: %w", base, pos, err)
		}
		batch = batchSize(hdr[:])
		got := batchBase(hdr[:])
		if pos == int64(e.pos) && e.pos != 0 && got != want {
			return 0, 0, fmt.Errorf("%w: batch at %d of segment %d has offset %d, want %d", errBadIndex, pos, base, got, want)
		}
		if got < want {
			return 0, 0, fmt.Errorf("%w: batch at %d of segment %d has offset %d, want at least %d", ErrCorruptBatch, pos, base, got, want)
		}
		if batch < batchHeaderSize || pos+batch > size {
			return 0, 0, fmt.Errorf("%w: stored batch at %d of segment %d has size %d", ErrCorruptBatch, pos, base, batch)
		}
		last := got + int64(int32(binary.BigEndian.Uint32(hdr[offLastOffsetDelta:])))
		if offset <= last {
			return pos, batch, nil
		}
		pos, want = pos+batch, last+1
	}
	return 0, 0, fmt.Errorf("%w: offset %d, segment %d", errPastSegment, offset, base)
}

// wholeBatches returns the length of the prefix of b made of whole batches
// whose base offset is below hw.
func wholeBatches(b []byte, hw int64) int {
	p := 0
	for len(b)-p >= batchOverhead {
		n := batchSize(b[p:])
		if batchBase(b[p:]) >= hw || n < batchHeaderSize || int64(len(b)-p) < n {
			break
		}
		p += int(n)
	}
	return p
}

// OffsetForTime returns the base offset of the first batch whose
// maxTimestamp is >= ts (milliseconds), or -1 if no visible batch (below
// the high watermark) has one. It consults each segment's largest
// timestamp, then that segment's time index, then walks batch headers.
func (l *Log) OffsetForTime(ts int64) (int64, error) {
	l.mu.Lock()
	err := l.loadActive()
	l.mu.Unlock()
	if err != nil {
		return -1, err
	}
	segs, sizes, ends, hw, err := l.snapshot()
	if err != nil {
		return -1, err
	}
	defer l.releaseSnapshot(segs)
	for i, s := range segs {
		maxTs, err := l.maxTimestamp(s, sizes[i], ends[i])
		if err != nil {
			return -1, err
		}
		if maxTs < ts {
			continue
		}
		off, err := l.searchTime(s, sizes[i], ends[i], ts)
		if err != nil || off >= hw {
			return -1, err
		}
		if off >= 0 {
			return off, nil
		}
	}
	return -1, nil
}

// snapshot references every segment with its size and end offset.
func (l *Log) snapshot() (segs []*segment, sizes, ends []int64, hw int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, nil, 0, ErrClosed
	}
	segs = slices.Clone(l.segments)
	for i, s := range segs {
		s.acquire()
		sizes = append(sizes, s.size)
		end := l.leo
		if i+1 < len(segs) {
			end = segs[i+1].base
		}
		ends = append(ends, end)
	}
	return segs, sizes, ends, l.hw, nil
}

// searchTime finds the first batch of s with maxTimestamp >= ts, starting at
// the last time index entry below ts; -1 if s has none.
func (l *Log) searchTime(s *segment, size, end, ts int64) (int64, error) {
	v, err := l.view(s, size, end)
	if err != nil {
		return -1, err
	}
	from := s.base
	if rel, ok := lookupTime(v.times, ts); ok {
		from += int64(rel)
	}
	v, pos, _, err := l.position(s, size, end, from, l.damage.in(s.base))
	if errors.Is(err, errPastSegment) {
		return -1, nil // compaction emptied the rest of the segment
	}
	if err != nil {
		return -1, err
	}
	var hdr [offProducerID]byte
	dmg := l.damage.in(s.base)
	for pos < size {
		if d, ok := damageAt(dmg, pos); ok {
			pos = d.end
			continue
		}
		if _, err := v.file.ReadAt(hdr[:], pos); err != nil {
			return -1, fmt.Errorf("commitlog: read segment %d at %d: %w", s.base, pos, err)
		}
		n := batchSize(hdr[:])
		if n < batchHeaderSize || pos+n > size {
			return -1, fmt.Errorf("%w: stored batch at %d of segment %d has size %d", ErrCorruptBatch, pos, s.base, n)
		}
		if int64(binary.BigEndian.Uint64(hdr[offMaxTimestamp:])) >= ts {
			return batchBase(hdr[:]), nil
		}
		pos += n
	}
	return -1, nil
}
