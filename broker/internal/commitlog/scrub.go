package commitlog

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
)

// Damage: a stretch of a segment where no batch checks (length, magic,
// header fields, offsets, CRC-32C), from a bad batch to the next good one
// or the segment's end. It is never served: its offsets become a gap,
// which clients skip as they skip offsets compaction removed, and every
// intact batch before and after it is kept. Damage is found by reads
// (every batch read is CRC-checked), by Scrub, and by crash recovery of
// the active segment; it is remembered until the log closes, so each
// stretch is reported (an ERROR naming the offsets lost) and counted once
// per run.
//
// With replication, this is where a damaged range would be fetched again
// from a healthy replica instead of being skipped: there is none yet.

// damage is one damaged stretch of a segment.
type damage struct {
	pos, end    int64 // file positions [pos, end)
	first, last int64 // offsets lost, inclusive
	reason      error
}

// damageSet is what a Log knows of its damage. The zero value is ready.
type damageSet struct {
	mu     sync.Mutex
	bySeg  map[int64][]damage // segment base -> stretches by position; replaced whole
	count  atomic.Int64       // stretches found
	scanMu sync.Mutex         // one checkSegment at a time
	// readChecks is which batches reads check (verify.go); set at Open.
	readChecks readCheck
}

// in returns the damage known in the segment at base, by position. The
// slice is never modified.
func (d *damageSet) in(base int64) []damage {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bySeg[base]
}

// CorruptBatches is how many damaged stretches (each one batch or more
// that failed its checks) the log has found since it opened.
func (l *Log) CorruptBatches() int64 { return l.damage.count.Load() }

// noteDamage records stretches found in the segment at base, reporting
// each new one.
func (l *Log) noteDamage(base int64, found []damage) {
	if len(found) == 0 {
		return
	}
	d := &l.damage
	d.mu.Lock()
	known := d.bySeg[base]
	merged := slices.Clone(known)
	var fresh []damage
	for _, f := range found {
		if !slices.ContainsFunc(known, func(k damage) bool { return k.pos == f.pos }) {
			merged = append(merged, f)
			fresh = append(fresh, f)
		}
	}
	slices.SortFunc(merged, func(a, b damage) int { return cmp.Compare(a.pos, b.pos) })
	if d.bySeg == nil {
		d.bySeg = map[int64][]damage{}
	}
	d.bySeg[base] = merged
	d.mu.Unlock()
	for _, f := range fresh {
		d.count.Add(1)
		l.log.Error("commitlog: damaged record batch; its offsets are skipped (no replica to fetch them from)",
			"first_offset", f.first, "last_offset", f.last, "segment", base, "position", f.pos,
			"bytes", f.end-f.pos, "reason", f.reason)
	}
}

// damageAt returns the stretch holding position pos, if any.
func damageAt(ds []damage, pos int64) (damage, bool) {
	for _, d := range ds {
		if pos >= d.pos && pos < d.end {
			return d, true
		}
	}
	return damage{}, false
}

// nextDamage returns where the first stretch at or after pos starts, or
// limit.
func nextDamage(ds []damage, pos, limit int64) int64 {
	for _, d := range ds {
		if d.pos >= pos {
			return min(d.pos, limit)
		}
	}
	return limit
}

// Scrub checks every closed segment's batches, recording and reporting
// damage as reads would find it, and returns how many stretches it found
// new. It checks every batch, even those reads checked before (verify.go):
// damage done since is what it is for. It stops early when stop closes.
func (l *Log) Scrub(stop <-chan struct{}) (int, error) {
	segs, sizes, ends, _, err := l.snapshot()
	if err != nil {
		return 0, err
	}
	defer l.releaseSnapshot(segs)
	before := l.CorruptBatches()
	for i, s := range segs[:len(segs)-1] {
		select {
		case <-stop:
			return int(l.CorruptBatches() - before), nil
		default:
		}
		if err := l.checkSegment(s, sizes[i], ends[i]); err != nil {
			return int(l.CorruptBatches() - before), err
		}
	}
	return int(l.CorruptBatches() - before), nil
}

// checkSegment reads the whole of s (size bytes, offsets below end),
// checking every batch, and records the damage found. The caller holds a
// reference on s.
func (l *Log) checkSegment(s *segment, size, end int64) error {
	l.damage.scanMu.Lock()
	defer l.damage.scanMu.Unlock()
	v, err := l.view(s, size, end)
	if err != nil {
		return err
	}
	found, err := verifySegment(v.file, s.base, size, end)
	l.noteDamage(s.base, found)
	if err == nil {
		s.markVerified(0, size, nil) // damage found is known now: reads skip it
	}
	return err
}

// verifySegment walks the batches of f (a segment based at base, size
// bytes, offsets below end) checking each, and returns the damaged
// stretches. After a bad batch it looks for the next good one byte by
// byte (see resync), so damage to a length field loses no more than the
// batch it is in.
func verifySegment(f *os.File, base, size, end int64) ([]damage, error) {
	var found []damage
	pos, next := int64(0), base
	for pos < size {
		r := bufio.NewReaderSize(io.NewSectionReader(f, pos, size-pos), scanBufSize)
		for pos < size {
			h, err := scanBatch(r, size-pos, true)
			if err == nil && (h.BaseOffset < next || h.LastOffset() >= end) {
				err = fmt.Errorf("%w: offsets %d-%d outside [%d, %d)", ErrCorruptBatch, h.BaseOffset, h.LastOffset(), next, end)
			}
			if err != nil {
				if !errors.Is(err, ErrCorruptBatch) {
					return found, err // cannot read: not damage
				}
				d := damage{pos: pos, first: next, last: end - 1, end: size, reason: err}
				if at, h, ok := resync(f, pos+1, size, next, end); ok {
					d.end, d.last = at, h.BaseOffset-1
				}
				found = append(found, d)
				pos, next = d.end, d.last+1
				break // a new reader from the next good batch
			}
			pos += int64(h.Size())
			next = h.LastOffset() + 1
		}
	}
	return found, nil
}

// resync finds the first position at or after from holding a batch that
// checks whole (header, CRC) with offsets in [next, end): the batch after
// damage. Segment files are append-only and never reused, so such a batch
// is real data, not a stale copy.
func resync(f *os.File, from, size, next, end int64) (int64, BatchHeader, bool) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+batchHeaderSize)
	for at := from; at+batchHeaderSize <= size; at += chunk {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-at)], at)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, BatchHeader{}, false
		}
		for p := 0; p+batchHeaderSize <= n && p < chunk; p++ {
			if buf[p+offMagic] != batchMagic {
				continue
			}
			h, err := ParseBatchHeader(buf[p:n])
			pos := at + int64(p)
			if err != nil || h.BaseOffset < next || h.LastOffset() >= end || pos+int64(h.Size()) > size || checkHeaderFields(h) != nil {
				continue
			}
			b := make([]byte, h.Size())
			if _, err := f.ReadAt(b, pos); err != nil {
				continue
			}
			if _, err := ValidateBatch(b); err == nil {
				return pos, h, true
			}
		}
	}
	return 0, BatchHeader{}, false
}
