package commitlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

const (
	markerFile  = "clean-shutdown"
	scanBufSize = 1 << 20
	// unknownEnd stands for "no next segment" when checking relative offsets.
	unknownEnd = math.MaxUint32 + 1
)

// recover builds the segment list from the directory and makes the active
// segment consistent (see doc.go, "Recovery"). Called by Open only.
func (l *Log) recover() error {
	start := time.Now()
	dir := l.cfg.Dir
	// One listing serves the whole open: files it does not name are not
	// looked for, so a partition costs no failed open per missing file.
	names, err := l.listDir()
	if err != nil {
		return err
	}
	if names, err = l.finishSwapIn(names); err != nil {
		return err
	}
	var m marker
	var markerErr error
	hasMarker := slices.Contains(names, markerFile)
	if hasMarker {
		if m, hasMarker, markerErr = readMarker(dir); markerErr != nil {
			l.log.Warn("commitlog: ignoring unreadable clean-shutdown marker", "err", markerErr)
		}
	}
	if err := l.listSegments(names); err != nil {
		return err
	}
	for _, s := range l.segments[:len(l.segments)-1] {
		s.closed.Store(true)
	}
	if active := l.active(); !l.recovery.New {
		if err := l.recoverActive(active, m, hasMarker && markerErr == nil); err != nil {
			return fmt.Errorf("commitlog: recover %s: %w", active.path(logSuffix), err)
		}
	}
	l.hw, l.durable = l.leo, l.leo
	for _, s := range l.segments {
		l.size += s.size
	}
	if err := l.loadEpochs(slices.Contains(names, epochFile)); err != nil {
		return err
	}
	// A marker the log matched still describes it until the first write,
	// which removes it (dropMarker): reopening an idle partition costs no
	// write, and neither does closing it again. Any other goes now.
	l.markerOnDisk = hasMarker && l.recovery.Clean
	if hasMarker && !l.markerOnDisk {
		if err := l.dropMarker(); err != nil {
			return err
		}
	}
	r := &l.recovery
	// A new or cleanly closed partition is routine: thousands of them
	// at start must not flood the log. A recovery is worth a line.
	level := slog.LevelDebug
	switch {
	case r.TruncatedBytes > 0:
		level = slog.LevelWarn
	case !r.New && !r.Clean:
		level = slog.LevelInfo
	}
	if !l.log.Enabled(context.Background(), level) {
		return nil // the arguments below cost more than the rest of a clean open
	}
	l.log.Log(context.Background(), level, "commitlog: opened partition", "new", r.New, "clean", r.Clean, "recovery_point", r.RecoveryPoint,
		"segments", r.Segments, "start", l.segments[0].base, "end", l.leo, "scanned_bytes", r.ScannedBytes,
		"verified_bytes", r.VerifiedBytes, "truncated_bytes", r.TruncatedBytes,
		"took", time.Since(start).Round(time.Microsecond))
	return nil
}

// listDir lists the partition directory, creating it if missing.
func (l *Log) listDir() ([]string, error) {
	names, err := durable.ReadDirNames(l.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(l.cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("commitlog: create %s: %w", l.cfg.Dir, err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("commitlog: %w", err)
	}
	return names, nil
}

// listSegments builds the segment list from the directory's names: one
// segment per .log file, sized by stat only. It removes temp files and
// index files without a segment, and creates the first segment of an
// empty log.
func (l *Log) listSegments(names []string) error {
	dir := l.cfg.Dir
	logs := map[int64]int64{} // base -> size
	var orphans []string
	for _, name := range names {
		base, suffix, ok := parseSegmentName(name)
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			orphans = append(orphans, name)
		case ok && suffix == logSuffix:
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(dir, name), &st); err != nil {
				return fmt.Errorf("commitlog: stat %s: %w", name, err)
			}
			logs[base] = st.Size
		}
	}
	for _, name := range names {
		if base, suffix, ok := parseSegmentName(name); ok && suffix != logSuffix {
			if _, has := logs[base]; !has {
				orphans = append(orphans, name)
			}
		}
	}
	for _, name := range orphans {
		l.log.Info("commitlog: removing leftover file", "file", name)
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("commitlog: %w", err)
		}
	}
	return l.buildSegments(logs)
}

func (l *Log) buildSegments(logs map[int64]int64) error {
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	slices.Sort(bases)
	for _, b := range bases {
		s := newSegment(l.cfg.Dir, b, l.cfg.IndexIntervalBytes)
		s.size = logs[b]
		l.segments = append(l.segments, s)
	}
	if len(l.segments) > 0 {
		l.recovery.Segments = len(l.segments)
		return nil
	}
	s, err := createSegment(l.cfg.Dir, 0, l.cfg.IndexIntervalBytes)
	if err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	l.segments = append(l.segments, s)
	l.recovery.Segments, l.recovery.New = 1, true
	return syncDir(l.cfg.Dir)
}

// parseSegmentName splits "%020d.suffix" names.
func parseSegmentName(name string) (base int64, suffix string, ok bool) {
	stem, suffix, found := strings.Cut(name, ".")
	if !found || len(stem) != 20 {
		return 0, "", false
	}
	suffix = "." + suffix
	if suffix != logSuffix && suffix != indexSuffix && suffix != timeIndexSuffix {
		return 0, "", false
	}
	base, err := strconv.ParseInt(stem, 10, 64)
	return base, suffix, err == nil && base >= 0
}

// recoverActive finds the LEO. After a clean shutdown it takes the
// marker's word and leaves the active segment unopened: its indexes are
// read and the batches after the last index entry walked at first use
// (loadActive), so an idle partition costs no more than the directory
// listing and the marker. After a crash it opens the segment and checks
// every batch, cutting the torn tail.
func (l *Log) recoverActive(s *segment, m marker, hasMarker bool) error {
	if hasMarker && m.activeBase == s.base && m.activeSize == s.size {
		l.recovery.Clean = true
		l.leo, l.pendingLEO, s.pending = m.leo, m.leo, true
		if s.size > 0 {
			s.rollBase = time.UnixMilli(m.rollBase)
		}
		return nil
	}
	f, err := durable.Open(s.path(logSuffix), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	s.file, s.loaded = f, true
	if hasMarker {
		l.log.Warn("commitlog: clean-shutdown marker does not match the active segment; checking it",
			"marker_segment", m.activeBase, "marker_size", m.activeSize, "size", s.size)
	}
	if err := l.recoverCrashed(s); err != nil {
		return err
	}
	// Replace whatever recovery point and index tail were there with the
	// checked state, so a stale point can never outlive this recovery.
	if err := l.writeRecoveryPoint(s, s.size, l.leo, true); err != nil {
		return err
	}
	return l.startRollClock(s)
}

// loadActive loads the active segment left unopened by a clean Open:
// its file, its indexes, and a walk of the batch headers after the last
// index entry, which must end where the marker said. If anything disagrees
// (an index lost or damaged after the shutdown, a tail that does not
// check), the segment is recovered as after a crash — every batch
// checked, a torn tail cut, the indexes rebuilt — and the marker that
// vouched for it removed; the LEO may move back, which is logged. Appends,
// reads and OffsetForTime call it first. Caller holds mu.
func (l *Log) loadActive() error {
	s := l.active()
	if !s.pending {
		return nil
	}
	s.mu.Lock()
	_, err := l.file(s)
	s.mu.Unlock()
	if err != nil {
		return err // a full file table: the next use tries again
	}
	if l.resumeClean(s, l.pendingLEO) {
		s.mu.Lock()
		s.loaded, s.pending = true, false
		s.mu.Unlock()
		return nil
	}
	l.recovery.Clean = false
	oldLEO, oldSize := l.leo, s.size
	if err := l.recoverCrashed(s); err != nil {
		return l.fail(err)
	}
	if err := l.writeRecoveryPoint(s, s.size, l.leo, true); err != nil {
		return l.fail(err)
	}
	if err := l.dropMarker(); err != nil {
		return l.fail(err)
	}
	s.mu.Lock()
	s.loaded, s.pending = true, false
	s.mu.Unlock()
	l.size -= oldSize - s.size
	if l.leo != oldLEO {
		l.log.Warn("commitlog: the log ends before where its clean-shutdown marker said; damage after the shutdown",
			"marker_end", oldLEO, "end", l.leo)
		l.hw, l.durable = l.leo, l.leo
		if err := l.dropLostEpochs(); err != nil {
			l.log.Warn("commitlog: cannot rewrite the leader epoch checkpoint", "err", err)
		}
	}
	return nil
}

// resumeClean trusts the indexes written at Close and walks the headers
// after the last offset entry. It reports false if anything disagrees.
func (l *Log) resumeClean(s *segment, leo int64) bool {
	idx, err := readIndexes(s, s.size, unknownEnd, l.cfg.IndexIntervalBytes)
	if err != nil {
		l.log.Warn("commitlog: active segment index unusable after clean shutdown; checking segment", "err", err)
		return false
	}
	savedOffsets, savedTimes := len(idx.offsets), len(idx.times)
	pos := idx.resume()
	next := s.base
	if savedOffsets > 0 {
		next += int64(idx.offsets[savedOffsets-1].rel)
	}
	res := scan(s.file, s.base, pos, next, s.size, scanVerify, &idx)
	l.recovery.ScannedBytes = s.size - pos
	if res.stop != nil || res.next != leo {
		l.log.Warn("commitlog: active segment tail disagrees with clean-shutdown marker; checking segment",
			"err", res.stop, "end", res.next, "marker_end", leo)
		return false
	}
	s.idx, s.savedOffsets, s.savedTimes = idx, savedOffsets, savedTimes
	l.leo = leo
	return true
}

// recoverCrashed checks the batches of the active segment after the
// recovery point, or all of them if there is no valid one (length, magic,
// CRC, contiguous offsets), truncates at the first bad one and completes
// the indexes.
func (l *Log) recoverCrashed(s *segment) error {
	tp := trustedPrefix{idx: newIndexer(l.cfg.IndexIntervalBytes), next: s.base}
	if rp, ok := l.readRecoveryPoint(); ok {
		trusted, err := l.trustRecoveryPoint(s, rp)
		if err == nil {
			tp = trusted
			l.recovery.RecoveryPoint = true
		} else {
			l.log.Warn("commitlog: recovery point does not match the active segment; checking all of it", "err", err)
		}
	}
	idx := tp.idx
	res := scan(s.file, s.base, tp.pos, tp.next, s.size, scanVerify, &idx)
	res = l.skipMiddleDamage(s, res, &idx)
	l.recovery.ScannedBytes = s.size - tp.walkFrom
	l.recovery.VerifiedBytes = s.size - tp.pos
	if res.stop != nil {
		l.recovery.TruncatedBytes = s.size - res.end
		l.log.Warn("commitlog: truncating torn tail of active segment", "segment", s.base,
			"at", res.end, "bytes", s.size-res.end, "reason", res.stop)
		if err := s.file.Truncate(res.end); err != nil {
			return err
		}
	}
	l.fsyncs.Add(1)
	if err := s.file.Sync(); err != nil { // the tail may still be in the page cache only
		return err
	}
	s.size = res.end
	s.markVerified(tp.pos, res.end, l.damage.in(s.base)) // from 0 when there was no recovery point
	s.idx, s.savedOffsets, s.savedTimes = idx, tp.savedOffsets, tp.savedTimes
	if !l.recovery.RecoveryPoint {
		l.indexRebuilds.Add(1)
	}
	l.leo = res.next
	return nil
}

// skipMiddleDamage tells damage in the middle of the active segment from
// a torn tail: where a scan stopped at a bad batch and a good one follows
// (resync), the stretch between is recorded as damage (its offsets become
// a gap, reported) and the scan goes on from the good batch. It returns
// the final result, whose stop (if any) is a torn tail: nothing valid
// after it.
func (l *Log) skipMiddleDamage(s *segment, res scanResult, idx *indexer) scanResult {
	var found []damage
	for res.stop != nil && errors.Is(res.stop, ErrCorruptBatch) {
		at, h, ok := resync(s.file, res.end+1, s.size, res.next, math.MaxInt64)
		if !ok {
			break
		}
		found = append(found, damage{pos: res.end, end: at, first: res.next, last: h.BaseOffset - 1, reason: res.stop})
		res = scan(s.file, s.base, at, h.BaseOffset, s.size, scanVerify, idx)
	}
	l.noteDamage(s.base, found)
	return res
}

// startRollClock sets the age of an active segment reopened after a crash
// from its first batch's timestamp (as Kafka does), never later than now.
// After a clean shutdown the marker carries the real start instead.
func (l *Log) startRollClock(s *segment) error {
	if s.size < batchHeaderSize {
		return nil
	}
	var b [batchHeaderSize]byte
	if _, err := s.file.ReadAt(b[:], 0); err != nil {
		return err
	}
	now := l.cfg.Now()
	s.rollBase = now
	if h, err := ParseBatchHeader(b[:]); err == nil && h.MaxTimestamp >= 0 {
		if t := time.UnixMilli(h.MaxTimestamp); t.Before(now) {
			s.rollBase = t
		}
	}
	return nil
}

// rebuildClosed rebuilds a closed segment's indexes from its batches and
// saves them. Caller holds s.mu.
func (l *Log) rebuildClosed(s *segment, size int64) (indexer, error) {
	idx := l.rebuildIndex(s, size)
	idx.addTime()
	return idx, saveRebuilt(s, idx)
}

// rebuildIndex indexes s from its first batch, reading headers only:
// closed segments were fsynced whole on roll, and the active one was
// checked at Open. Offsets may have gaps (compacted segments). Caller
// holds s.mu.
func (l *Log) rebuildIndex(s *segment, size int64) indexer {
	idx := newIndexer(l.cfg.IndexIntervalBytes)
	if res := scan(s.file, s.base, 0, s.base, size, scanGaps, &idx); res.stop != nil {
		l.log.Error("commitlog: segment is damaged; reads past the damage fail",
			"segment", s.base, "at", res.end, "reason", res.stop)
	}
	l.indexRebuilds.Add(1)
	return idx
}

// saveRebuilt replaces both index files of a closed segment.
func saveRebuilt(s *segment, idx indexer) error {
	if err := writeFileAtomic(s.dir, filepath.Base(s.path(indexSuffix)), encodeOffsets(nil, idx.offsets)); err != nil {
		return err
	}
	return writeFileAtomic(s.dir, filepath.Base(s.path(timeIndexSuffix)), encodeTimes(nil, idx.times))
}

// scanResult is where a scan stopped.
type scanResult struct {
	end  int64 // file position after the last good batch
	next int64 // offset after the last good batch
	stop error // why it stopped before the end, nil if it reached it
}

// scanMode says what scan checks beyond headers and lengths.
type scanMode int

const (
	scanContiguous scanMode = iota // offsets contiguous (the active segment)
	scanVerify                     // contiguous, and every CRC
	scanGaps                       // offsets only increasing: a closed segment may be compacted
)

// scan walks the batches of f from pos (whose batch has offset next, or
// with gaps at least next) to size, feeding idx. It checks headers,
// lengths and offsets as mode says, streaming so no batch is held in
// memory.
func scan(f *os.File, base, pos, next, size int64, mode scanMode, idx *indexer) scanResult {
	// No bigger than what is to read: opening thousands of small
	// partitions allocated (and garbage-collected) 1 MiB each.
	r := bufio.NewReaderSize(io.NewSectionReader(f, pos, size-pos), int(min(scanBufSize, max(size-pos, 4096))))
	res := scanResult{end: pos, next: next}
	for res.end < size {
		h, err := scanBatch(r, size-res.end, mode == scanVerify)
		if err == nil && h.BaseOffset != res.next && (mode != scanGaps || h.BaseOffset < res.next) {
			err = fmt.Errorf("%w: base offset %d, want %d", ErrCorruptBatch, h.BaseOffset, res.next)
		}
		if err == nil && h.LastOffset()-base >= unknownEnd {
			err = fmt.Errorf("%w: offset %d too far from segment base %d", ErrCorruptBatch, h.LastOffset(), base)
		}
		if err != nil {
			res.stop = fmt.Errorf("position %d: %w", res.end, err)
			return res
		}
		idx.add(uint32(h.BaseOffset-base), res.end, h.Size(), h.MaxTimestamp)
		res.end += int64(h.Size())
		res.next = h.LastOffset() + 1
	}
	return res
}

// scanBatch reads one batch from r, which has remaining bytes left.
func scanBatch(r *bufio.Reader, remaining int64, verify bool) (BatchHeader, error) {
	b, err := r.Peek(batchHeaderSize)
	if err != nil {
		return BatchHeader{}, fmt.Errorf("%w: partial header (%d bytes)", ErrCorruptBatch, len(b))
	}
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	if int64(h.Size()) > remaining {
		return h, fmt.Errorf("%w: %d-byte batch, %d bytes left", ErrCorruptBatch, h.Size(), remaining)
	}
	if err := checkHeaderFields(h); err != nil {
		return h, err
	}
	if !verify {
		_, err = r.Discard(h.Size())
		return h, err
	}
	if _, err := r.Discard(offAttributes); err != nil {
		return h, err
	}
	var sum uint32
	for n := h.Size() - offAttributes; n > 0; {
		p, err := r.Peek(min(n, r.Size()))
		if err != nil {
			return h, fmt.Errorf("%w: %w", ErrCorruptBatch, err)
		}
		sum = crc32.Update(sum, castagnoli, p)
		_, _ = r.Discard(len(p)) // cannot fail: p is buffered
		n -= len(p)
	}
	if sum != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptBatch, h.CRC, sum)
	}
	return h, nil
}

// marker is the content of the clean-shutdown file.
type marker struct {
	activeBase int64 // base offset of the active segment
	activeSize int64 // its size in bytes
	leo        int64 // the log end offset
	rollBase   int64 // Unix ms when the active segment got its first batch
}

const (
	markerHeader = "pitwall-commitlog clean-shutdown v1"
	markerBody   = "active %d size %d end %d rolled %d\n"
)

func (m marker) encode() []byte {
	return fmt.Appendf(nil, "%s\n"+markerBody, markerHeader, m.activeBase, m.activeSize, m.leo, m.rollBase)
}

// readMarker reports whether the marker exists and what it says.
func readMarker(dir string) (marker, bool, error) {
	b, err := durable.ReadFile(filepath.Join(dir, markerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return marker{}, false, nil
	}
	if err != nil {
		return marker{}, true, err
	}
	var m marker
	head, body, _ := strings.Cut(string(b), "\n")
	if head != markerHeader {
		return m, true, fmt.Errorf("unknown marker %q", head)
	}
	if _, err := fmt.Sscanf(body, markerBody, &m.activeBase, &m.activeSize, &m.leo, &m.rollBase); err != nil {
		return m, true, fmt.Errorf("marker: %w", err)
	}
	return m, true, nil
}

// writeFileAtomic replaces dir/name with data (durable.WriteFile: temp
// file, fsync, rename, fsync the directory).
func writeFileAtomic(dir, name string, data []byte) error {
	if err := durable.WriteFile(filepath.Join(dir, name), data); err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	return nil
}

// syncDir makes renames, creations and removals in dir durable.
func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	return nil
}
