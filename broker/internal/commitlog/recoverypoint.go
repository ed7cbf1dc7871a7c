package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"time"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// The recovery point (Kafka's recovery-point-offset-checkpoint, per
// partition) says how much of the active segment is known fsynced and
// whole, so that crash recovery checks the CRCs of the batches after it
// only. See doc.go, "Recovery point".
const (
	recoveryPointFile = "recovery-point"
	rpMagic           = "PWRP"
	rpVersion         = 1
	rpSize            = 4 + 4 + 8 + 8 + 8 + 4 // magic, version, segment, position, next, crc

	// A recovery point is written after an fsync once either bound is
	// reached since the last one: at most about one a second (the few
	// fsyncs it costs stay off the produce path's latency budget), and at
	// least every 64 MiB, so a single hot partition never leaves more than
	// 64 MiB + 1 s of writes to check after a crash (~40 ms of CRC-32C from
	// the page cache, ~130 ms from a 500 MB/s disk).
	DefaultRecoveryPointInterval = time.Second
	DefaultRecoveryPointBytes    = 64 << 20
)

// errBadRecoveryPoint marks a recovery point that cannot be trusted; Open
// then checks the whole active segment.
var errBadRecoveryPoint = errors.New("commitlog: bad recovery point")

// recoveryPoint: the first position bytes of segment are fsynced, made of
// whole valid batches, and end where the batch with offset next starts.
type recoveryPoint struct {
	segment  int64
	position int64
	next     int64
}

func (rp recoveryPoint) encode() []byte {
	b := make([]byte, 0, rpSize)
	b = append(b, rpMagic...)
	b = binary.BigEndian.AppendUint32(b, rpVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(rp.segment))
	b = binary.BigEndian.AppendUint64(b, uint64(rp.position))
	b = binary.BigEndian.AppendUint64(b, uint64(rp.next))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeRecoveryPoint(b []byte) (recoveryPoint, error) {
	if len(b) != rpSize || string(b[:4]) != rpMagic {
		return recoveryPoint{}, fmt.Errorf("%w: %d bytes, not a recovery point", errBadRecoveryPoint, len(b))
	}
	if sum := crc32.Checksum(b[:rpSize-4], castagnoli); sum != binary.BigEndian.Uint32(b[rpSize-4:]) {
		return recoveryPoint{}, fmt.Errorf("%w: crc mismatch", errBadRecoveryPoint)
	}
	if v := binary.BigEndian.Uint32(b[4:]); v != rpVersion {
		return recoveryPoint{}, fmt.Errorf("%w: unknown version %d", errBadRecoveryPoint, v)
	}
	return recoveryPoint{
		segment:  int64(binary.BigEndian.Uint64(b[8:])),
		position: int64(binary.BigEndian.Uint64(b[16:])),
		next:     int64(binary.BigEndian.Uint64(b[24:])),
	}, nil
}

// readRecoveryPoint reads the file; ok is false if it is missing or bad.
func (l *Log) readRecoveryPoint() (rp recoveryPoint, ok bool) {
	b, err := durable.ReadFile(filepath.Join(l.cfg.Dir, recoveryPointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return rp, false
	}
	if err == nil {
		rp, err = decodeRecoveryPoint(b)
	}
	if err != nil {
		l.log.Warn("commitlog: ignoring unreadable recovery point; checking the whole active segment", "err", err)
		return rp, false
	}
	return rp, true
}

// recoveryPointDue reports whether a recovery point at pos of segment seg
// should be written now. Only the syncer, Open and Close call it.
//
// The first time-based one of a run comes at a random moment within the
// interval after the first fsync, and the next ones an interval apart
// from it: partitions written from the same moment (every partition of a
// topic under one producer) keep their recovery points, a few fsyncs
// each, out of step instead of all in the same few milliseconds, at the
// start and then every second.
func (l *Log) recoveryPointDue(seg, pos int64) bool {
	last := l.rpLast
	if seg != last.segment || pos-last.position >= l.cfg.recoveryPointBytes {
		return true
	}
	now := time.Now()
	if l.rpWritten.IsZero() {
		l.rpWritten = now.Add(-time.Duration(rand.Int64N(int64(l.cfg.recoveryPointInterval))))
	}
	return now.Sub(l.rpWritten) >= l.cfg.recoveryPointInterval
}

// writeRecoveryPoint persists that the first pos bytes of s, ending before
// offset next, are fsynced: first the index entries of those batches (so
// recovery needs no full scan to rebuild them), then the point itself,
// atomically. The caller fsynced s up to pos and holds a reference on it.
// Only the syncer (while running), Open and Close call it, never at once.
func (l *Log) writeRecoveryPoint(s *segment, pos, next int64, rewrite bool) error {
	if err := s.saveIndexPrefix(pos, next, rewrite); err != nil {
		return err
	}
	rp := recoveryPoint{segment: s.base, position: pos, next: next}
	if err := writeFileAtomic(l.cfg.Dir, recoveryPointFile, rp.encode()); err != nil {
		return err
	}
	l.noteRecoveryPoint(rp)
	return nil
}

// noteRecoveryPoint records that rp is on disk.
func (l *Log) noteRecoveryPoint(rp recoveryPoint) {
	l.rpLast, l.rpWritten = rp, time.Now()
	if l.cfg.afterRecoveryPoint != nil {
		l.cfg.afterRecoveryPoint(rp)
	}
}

// maybeRecoveryPoint is the syncer's step after an fsync of s that covered
// pos bytes (offsets below next). A failure costs only a longer scan after
// a crash, so it is logged once per streak, not made sticky.
func (l *Log) maybeRecoveryPoint(s *segment, pos, next int64) {
	l.mu.Lock()
	active := l.err == nil && s == l.active()
	l.mu.Unlock()
	if !active || !l.recoveryPointDue(s.base, pos) {
		return
	}
	if err := l.writeRecoveryPoint(s, pos, next, false); err != nil {
		if !l.rpFailing {
			l.log.Warn("commitlog: cannot write recovery point; a crash would check more of the log", "err", err)
		}
		l.rpFailing = true
		return
	}
	l.rpFailing = false
}

// saveIndexPrefix writes the index entries of the batches before pos (which
// end at offset next) that are not on disk yet, cuts the files after them
// and fsyncs them. Files are created even when empty, since a recovery
// point promises that they hold its prefix. With rewrite (after crash
// recovery) the files are cut even when there is nothing new, so stale
// entries from before the crash go.
func (s *segment) saveIndexPrefix(pos, next int64, rewrite bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	offs, times := s.idx.offsets, s.idx.times // elements below len never change
	s.mu.Unlock()
	nOff := sort.Search(len(offs), func(i int) bool { return int64(offs[i].pos) >= pos })
	nTimes := sort.Search(len(times), func(i int) bool { return s.base+int64(times[i].rel) >= next })
	if nOff > s.savedOffsets || s.savedOffsets == 0 || rewrite {
		if err := saveTail(s.path(indexSuffix), encodeOffsets(nil, offs[s.savedOffsets:nOff]),
			int64(s.savedOffsets)*offsetEntrySize); err != nil {
			return err
		}
		s.savedOffsets = nOff
	}
	if nTimes > s.savedTimes || s.savedTimes == 0 || rewrite {
		if err := saveTail(s.path(timeIndexSuffix), encodeTimes(nil, times[s.savedTimes:nTimes]),
			int64(s.savedTimes)*timeEntrySize); err != nil {
			return err
		}
		s.savedTimes = nTimes
	}
	return nil
}

// trustedPrefix is what a valid recovery point gives crash recovery: the
// active segment's index up to the point, read back from disk, and where
// checking must start.
type trustedPrefix struct {
	idx                      indexer
	savedOffsets, savedTimes int
	walkFrom                 int64 // first byte read (the last index entry's batch)
	pos, next                int64 // the recovery point
}

// trustRecoveryPoint checks rp against the active segment s: it must name
// s, lie inside the file, and the batch headers from the last saved index
// entry before it must end exactly at rp.position with offset rp.next.
func (l *Log) trustRecoveryPoint(s *segment, rp recoveryPoint) (trustedPrefix, error) {
	if rp.segment != s.base || rp.position < 0 || rp.position > s.size ||
		rp.next < s.base || rp.next-s.base >= unknownEnd {
		return trustedPrefix{}, fmt.Errorf("%w: %+v does not fit segment %d of %d bytes", errBadRecoveryPoint, rp, s.base, s.size)
	}
	idx, err := readIndexPrefix(s, rp.position, rp.next, l.cfg.IndexIntervalBytes)
	if err != nil {
		return trustedPrefix{}, err
	}
	tp := trustedPrefix{idx: idx, savedOffsets: len(idx.offsets), savedTimes: len(idx.times), pos: rp.position, next: rp.next}
	tp.walkFrom = tp.idx.resume()
	from := s.base
	if n := len(idx.offsets); n > 0 {
		from += int64(idx.offsets[n-1].rel)
	}
	res := scan(s.file, s.base, tp.walkFrom, from, rp.position, scanContiguous, &tp.idx)
	if res.stop != nil || res.end != rp.position || res.next != rp.next {
		return trustedPrefix{}, fmt.Errorf("%w: headers end at %d with offset %d (%v), point says %d and %d",
			errBadRecoveryPoint, res.end, res.next, res.stop, rp.position, rp.next)
	}
	if len(tp.idx.offsets) > tp.savedOffsets {
		// Entries before the point were missing from the file (it was
		// damaged); the walk put them back.
		l.log.Warn("commitlog: active segment index was missing entries before the recovery point; rebuilt them")
		l.indexRebuilds.Add(1)
	}
	return tp, nil
}

// readIndexPrefix reads the entries of the active segment's index files
// that describe batches before pos (ending at offset next) and checks them.
// Entries after them (saved for a later recovery point that was never
// written) are ignored; a missing file or a partial entry is not trusted.
func readIndexPrefix(s *segment, pos, next int64, interval int) (indexer, error) {
	idx := newIndexer(interval)
	b, err := durable.ReadFile(s.path(indexSuffix))
	if err != nil {
		return idx, err
	}
	if len(b)%offsetEntrySize != 0 {
		return idx, fmt.Errorf("%w: %d bytes is not a whole number of entries", errBadIndex, len(b))
	}
	n := 0
	for ; (n+1)*offsetEntrySize <= len(b); n++ {
		if int64(binary.BigEndian.Uint32(b[n*offsetEntrySize+4:])) >= pos {
			break
		}
	}
	maxRel := next - s.base
	if idx.offsets, err = decodeOffsets(b[:n*offsetEntrySize], pos, maxRel); err != nil {
		return idx, err
	}
	// Time entries added with the kept offset entries point at or before
	// the last one's batch; later ones belong to batches walked again.
	lastRel := int64(-1)
	if n > 0 {
		lastRel = int64(idx.offsets[n-1].rel)
	}
	if b, err = durable.ReadFile(s.path(timeIndexSuffix)); err != nil {
		return idx, err
	}
	if len(b)%timeEntrySize != 0 {
		return idx, fmt.Errorf("%w: %d bytes is not a whole number of entries", errBadIndex, len(b))
	}
	m := 0
	for ; (m+1)*timeEntrySize <= len(b); m++ {
		if int64(binary.BigEndian.Uint32(b[m*timeEntrySize+8:])) > lastRel {
			break
		}
	}
	if idx.times, err = decodeTimes(b[:m*timeEntrySize], maxRel); err != nil {
		return idx, err
	}
	return idx, checkLastEntry(s.file, s.base, idx.offsets)
}
