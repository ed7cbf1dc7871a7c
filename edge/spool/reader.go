package spool

import (
	"bufio"
	"errors"
	"io"
	"math"
)

// reader is the spool's read position: the next record handed out.
type reader struct {
	seg   *segment // nil when no segment holds index yet
	off   int64    // offset of record index in seg
	index uint64
}

// segmentFor returns the segment that holds (or will hold) idx.
func (s *Spool) segmentFor(idx uint64) (*segment, int) {
	for i := len(s.segs) - 1; i >= 0; i-- {
		if s.segs[i].base <= idx {
			return s.segs[i], i
		}
	}
	return nil, -1
}

// seek positions the reader at record idx, skipping over records lost to
// corruption (counted, and acknowledged so the cursor can pass them).
func (r *reader) seek(s *Spool, idx uint64) error {
	seg, i := s.segmentFor(idx)
	if seg == nil {
		r.seg, r.off, r.index = nil, 0, idx
		if len(s.segs) > 0 { // idx before the oldest segment: start there
			r.seg, r.off, r.index = s.segs[0], segHeaderLen, s.segs[0].base
		}
		return nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(seg.f, segHeaderLen, math.MaxInt64-segHeaderLen), 1<<20)
	off, at := int64(segHeaderLen), seg.base
	var hdr [frameHeaderLen]byte
	for at < idx {
		_, err := io.ReadFull(br, hdr[:])
		n, _, ferr := frameLen(hdr[:])
		if err == nil && ferr == nil {
			_, err = br.Discard(n)
		}
		if err != nil || ferr != nil {
			if i+1 < len(s.segs) { // sealed: the rest of it is lost
				next := s.segs[i+1].base
				if next > idx {
					s.stats.corrupt += next - idx
					s.acks.skipTo(next)
				}
				s.cfg.Logger.Error("spool: corrupt segment, skipping the rest of it", "path", seg.path, "offset", off)
				return r.seek(s, max(idx, next))
			}
			return errors.Join(ErrCorrupt, err, ferr)
		}
		off += int64(frameHeaderLen + n)
		at++
	}
	r.seg, r.off, r.index = seg, off, idx
	return nil
}

// Wait returns a channel closed by the next Append (or Close). Take it
// before a Read that came back empty, so no append is missed in between.
func (s *Spool) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

// Read hands out the next records in order, about maxBytes of them (at
// least one if any is there), without blocking; nil when all have been
// read. The records stay in the spool until acknowledged with Ack. Their
// slices are fresh memory, owned by the caller.
func (s *Spool) Read(maxBytes int) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	var out []Record
	budget := maxBytes
	for budget > 0 {
		if !s.readable() {
			break
		}
		recs, used, err := s.readChunk(budget)
		if err != nil {
			return out, err
		}
		out = append(out, recs...)
		budget -= used
	}
	return out, nil
}

// readable moves the reader to the segment holding its next record and
// says whether there is one.
func (s *Spool) readable() bool {
	r := &s.rd
	if r.seg == nil {
		seg, _ := s.segmentFor(r.index)
		if seg == nil {
			return false
		}
		r.seg, r.off = seg, segHeaderLen
	}
	for r.off >= r.seg.size {
		_, i := s.segmentFor(r.index)
		if i < 0 || s.segs[i] == r.seg {
			return false // at the end of the active segment
		}
		if s.segs[i].base != r.index {
			return false
		}
		r.seg, r.off = s.segs[i], segHeaderLen
	}
	return true
}

// readChunk reads records from the reader's segment, up to about budget
// bytes, and hands them out.
func (s *Spool) readChunk(budget int) ([]Record, int, error) {
	r := &s.rd
	avail := r.seg.size - r.off
	size := int(min(avail, int64(max(budget, 64<<10))))
	buf := make([]byte, size)
	if _, err := r.seg.f.ReadAt(buf, r.off); err != nil {
		return nil, 0, err
	}
	if n, ok, err := frameLen(buf); err == nil && ok && frameHeaderLen+n > size && int64(frameHeaderLen+n) <= avail {
		buf = make([]byte, frameHeaderLen+n) // one record larger than the chunk
		if _, err := r.seg.f.ReadAt(buf, r.off); err != nil {
			return nil, 0, err
		}
	}
	var out []Record
	var corrupt error
	pos := 0
	for pos < len(buf) && pos < budget {
		n, ok, err := frameLen(buf[pos:])
		if err == nil && (!ok || pos+frameHeaderLen+n > len(buf)) {
			if pos == 0 { // a record cut short at the end of the data
				err = ErrCorrupt
			} else {
				break
			}
		}
		var rec Record
		if err == nil {
			err = decodeFramed(buf[pos:], n, &rec)
		}
		if err != nil {
			corrupt = err
			break
		}
		rec.Index = r.index
		out = append(out, rec)
		pos += frameHeaderLen + n
		r.off += int64(frameHeaderLen + n)
		r.index++
	}
	s.acks.handOut(len(out), false)
	if corrupt != nil {
		s.skipCorrupt(corrupt)
	}
	return out, max(pos, 1), nil
}

// skipCorrupt gives up on the rest of the reader's segment after
// corruption: for a sealed segment, up to the next one; for the active
// one, up to its current end (later appends are read normally).
func (s *Spool) skipCorrupt(err error) {
	r := &s.rd
	to := s.next
	if _, i := s.segmentFor(r.index); i >= 0 && i+1 < len(s.segs) {
		to = s.segs[i+1].base
	}
	lost := to - r.index
	s.stats.corrupt += lost
	s.cfg.Logger.Error("spool: corrupt record, skipping the rest of the segment", "path", r.seg.path, "offset", r.off, "records_lost", lost, "err", err)
	s.acks.handOut(int(lost), true)
	r.off, r.index = r.seg.size, to
	s.deleteDelivered()
}
