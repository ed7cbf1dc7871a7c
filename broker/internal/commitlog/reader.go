package commitlog

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
)

// Read appends to dst the stored batches starting with the one containing
// offset: whole batches only, none at or past the high watermark, and no
// more than maxBytes unless the first batch alone is bigger, in which case
// it is returned whole (KIP-74). Offsets below StartOffset or above
// EndOffset fail with ErrOffsetOutOfRange; offsets from the high watermark
// to the LEO return dst unchanged. The bytes are exactly as stored (see
// doc.go); nothing is decoded.
func (l *Log) Read(offset int64, maxBytes int, dst []byte) ([]byte, error) {
	s, size, end, hw, err := l.locate(offset)
	if s == nil || err != nil {
		return dst, err
	}
	defer s.release()
	v, err := l.view(s, size, end)
	if err != nil {
		return dst, err
	}
	pos, first, err := v.seek(s.base, offset, size)
	if err != nil {
		return dst, err
	}
	n := max(min(int64(maxBytes), size-pos), first)
	start := len(dst)
	dst = slices.Grow(dst, int(n))[:start+int(n)]
	if _, err := v.file.ReadAt(dst[start:], pos); err != nil {
		return dst[:start], fmt.Errorf("commitlog: read segment %d at %d: %w", s.base, pos, err)
	}
	return dst[:start+wholeBatches(dst[start:], hw)], nil
}

// locate finds the segment holding offset and takes a reference on it,
// with the snapshot of its size, its end offset and the high watermark. A
// nil segment with a nil error means offset is in [HW, LEO].
func (l *Log) locate(offset int64) (s *segment, size, end, hw int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, 0, 0, 0, ErrClosed
	}
	if start := l.segments[0].base; offset < start || offset > l.leo {
		return nil, 0, 0, 0, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, offset, start, l.leo)
	}
	if offset >= l.hw {
		return nil, 0, 0, 0, nil
	}
	i := l.segmentIndex(offset)
	s = l.segments[i]
	end = l.leo
	if i+1 < len(l.segments) {
		end = l.segments[i+1].base
	}
	s.acquire()
	return s, s.size, end, l.hw, nil
}

// segmentIndex is the index of the last segment whose base is <= offset.
// Caller holds mu.
func (l *Log) segmentIndex(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	return max(i-1, 0)
}

// seek returns the position and size of the batch containing offset,
// starting from the sparse index entry at or before it and reading only
// batch headers from there.
func (v segView) seek(base, offset, size int64) (pos, batch int64, err error) {
	pos = lookupOffset(v.offsets, uint32(offset-base))
	var hdr [offFirstTimestamp]byte
	for pos < size {
		if _, err := v.file.ReadAt(hdr[:], pos); err != nil {
			return 0, 0, fmt.Errorf("commitlog: read segment %d at %d: %w", base, pos, err)
		}
		batch = batchSize(hdr[:])
		if batch < batchHeaderSize || pos+batch > size {
			return 0, 0, fmt.Errorf("%w: stored batch at %d of segment %d has size %d", ErrCorruptBatch, pos, base, batch)
		}
		last := batchBase(hdr[:]) + int64(int32(binary.BigEndian.Uint32(hdr[offLastOffsetDelta:])))
		if offset <= last {
			return pos, batch, nil
		}
		pos += batch
	}
	return 0, 0, fmt.Errorf("%w: offset %d not found in segment %d", ErrCorruptBatch, offset, base)
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
	segs, sizes, ends, hw, err := l.snapshot()
	if err != nil {
		return -1, err
	}
	defer func() {
		for _, s := range segs {
			s.release()
		}
	}()
	for i, s := range segs {
		maxTs, err := l.maxTimestamp(s, sizes[i], ends[i])
		if err != nil {
			return -1, err
		}
		if maxTs < ts {
			continue
		}
		off, err := l.searchTime(s, sizes[i], ends[i], ts)
		if err != nil || off < 0 || off >= hw {
			return -1, err
		}
		return off, nil
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
// the last time index entry below ts.
func (l *Log) searchTime(s *segment, size, end, ts int64) (int64, error) {
	v, err := l.view(s, size, end)
	if err != nil {
		return -1, err
	}
	pos := int64(0)
	if rel, ok := lookupTime(v.times, ts); ok {
		pos = lookupOffset(v.offsets, rel)
	}
	var hdr [offProducerID]byte
	for pos+batchHeaderSize <= size {
		if _, err := v.file.ReadAt(hdr[:], pos); err != nil {
			return -1, fmt.Errorf("commitlog: read segment %d at %d: %w", s.base, pos, err)
		}
		n := batchSize(hdr[:])
		if n < batchHeaderSize {
			return -1, fmt.Errorf("%w: stored batch at %d of segment %d has size %d", ErrCorruptBatch, pos, s.base, n)
		}
		if int64(binary.BigEndian.Uint64(hdr[offMaxTimestamp:])) >= ts {
			return batchBase(hdr[:]), nil
		}
		pos += n
	}
	return -1, nil
}
