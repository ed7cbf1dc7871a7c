package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// File name suffixes; the stem is the segment's base offset as %020d.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	tmpSuffix       = durable.TempSuffix // leftovers of writeFileAtomic, removed at Open
)

// segment is one file of batches plus its two sparse indexes.
//
// Segments closed before Open are loaded lazily: no file is opened and no
// index read until the first Read, OffsetForTime or Retain needs it.
type segment struct {
	base int64  // offset of the first batch; also the file name
	dir  string // partition directory

	// Guarded by Log.mu.
	size     int64     // bytes of whole batches; fixed once the segment is closed
	rollBase time.Time // when the first batch was appended, for SegmentMaxAge

	// refs counts the Log's own reference (dropped by retention, compaction
	// or Close) plus one per reader in flight; the file closes when it
	// reaches zero.
	refs atomic.Int32
	// closed is set once the segment will never be appended to again and
	// its files are in place under its name; only closed segments are
	// counted in the IndexCache and unloaded (and reloaded by name).
	closed atomic.Bool
	// verified is the stretch of the file whose batches this run has
	// checked, so reads need not check them again (verify.go); nil: none.
	verified atomic.Pointer[verifiedRange]

	// saveMu serialises writes of the index files (seal, the syncer's
	// recovery point, repairs) and guards savedOffsets and savedTimes; it
	// is held across file I/O, so it is not mu. Lock order: Log.mu, then
	// saveMu, then mu. The syncer takes saveMu without Log.mu.
	saveMu       sync.Mutex
	savedOffsets int // offset entries already in the .index file
	savedTimes   int // time entries already in the .timeindex file

	// mu guards the fields below. Lock order: Log.mu before segment.mu.
	mu      sync.Mutex
	file    *os.File // nil until loaded; the active segment's is read-write
	loaded  bool     // idx holds this segment's indexes
	idx     indexer  // entries below len are never modified: idx is replaced whole
	retired bool     // no longer in the log's list (retention, compaction)
	// pending: the active segment of a log opened clean, not loaded yet
	// (loadActive, under Log.mu, before any use of its file or indexes).
	pending        bool
	sealedMaxTs    int64
	sealedMaxKnown bool // sealedMaxTs was read from the time index without loading it
	// recent: where this run's last appends to the segment lie (recent.go);
	// nil until the first, dropped on unload and truncation.
	recent *recentBatches
}

func newSegment(dir string, base int64, interval int) *segment {
	s := &segment{base: base, dir: dir, idx: newIndexer(interval)}
	s.refs.Store(1)
	return s
}

func (s *segment) path(suffix string) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", s.base, suffix))
}

// createSegment makes a new, empty active segment file.
func createSegment(dir string, base int64, interval int) (*segment, error) {
	s := newSegment(dir, base, interval)
	f, err := durable.Open(s.path(logSuffix), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	s.file, s.loaded = f, true
	return s, nil
}

func (s *segment) acquire() { s.refs.Add(1) }

func (s *segment) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		_ = s.file.Close() // read-only from here on: nothing to lose
		s.file = nil
	}
}

// append writes a stamped batch at the end of the active segment and
// indexes it. A write that fails (a full disk) is undone: the file is cut
// back to where it was, so nothing of the batch stays and the log remains
// writable; only if that fails too does the error fail the log. Caller
// holds Log.mu.
func (s *segment) append(l *Log, batch []byte, base, maxTs int64) error {
	pos := s.size
	f, err := l.activeFile(s)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(batch, pos); err != nil {
		err = fmt.Errorf("write %s: %w", s.path(logSuffix), err)
		if terr := f.Truncate(pos); terr != nil {
			return l.fail(fmt.Errorf("%w; undoing it: %w", err, terr))
		}
		return err
	}
	s.markVerified(pos, pos+int64(len(batch)), nil) // Append checked its CRC
	rel := uint32(base - s.base)
	s.mu.Lock()
	s.idx.add(rel, pos, len(batch), maxTs)
	if s.recent == nil {
		s.recent = new(recentBatches)
	}
	s.recent.add(recentBatch{rel: rel, last: rel + binary.BigEndian.Uint32(batch[offLastOffsetDelta:]), pos: pos, size: int64(len(batch))})
	s.mu.Unlock()
	s.size += int64(len(batch))
	return nil
}

// fits reports whether a batch of n bytes spanning lastDelta offsets from
// base can go into s without overflowing the size limit or the uint32
// relative offsets of the indexes. Caller holds Log.mu.
func (s *segment) fits(n int, base int64, lastDelta int32, limit int64) bool {
	return s.size == 0 ||
		(s.size+int64(n) <= limit && base+int64(lastDelta)-s.base <= math.MaxUint32)
}

// seal makes the segment's batches and indexes durable: it adds the final
// time entry (so the time index ends with the segment's max timestamp),
// writes the unsaved index entries and fsyncs all three files. Used on roll
// and Close. Caller holds Log.mu.
func (l *Log) seal(s *segment) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.addTime()
	if err := s.saveIndexes(); err != nil {
		return err
	}
	if s.file == nil {
		return nil // closed while idle, after an fsync: nothing was written since
	}
	l.fsyncs.Add(1)
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.path(logSuffix), err)
	}
	return nil
}

// saveIndexes writes the entries not yet on disk and cuts anything stale
// after them, then fsyncs both files. Caller holds s.saveMu and s.mu.
func (s *segment) saveIndexes() error {
	if err := saveTail(s.path(indexSuffix), encodeOffsets(nil, s.idx.offsets[s.savedOffsets:]),
		int64(s.savedOffsets)*offsetEntrySize); err != nil {
		return err
	}
	s.savedOffsets = len(s.idx.offsets)
	if err := saveTail(s.path(timeIndexSuffix), encodeTimes(nil, s.idx.times[s.savedTimes:]),
		int64(s.savedTimes)*timeEntrySize); err != nil {
		return err
	}
	s.savedTimes = len(s.idx.times)
	return nil
}

// saveTail writes b at off in the file at path, truncates the file to end
// there and fsyncs it.
func saveTail(path string, b []byte, off int64) error {
	f, err := durable.Open(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open index: %w", err)
	}
	_, err = f.WriteAt(b, off)
	if err == nil {
		err = f.Truncate(off + int64(len(b)))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("save index %s: %w", path, err)
	}
	return nil
}

// segView is what a reader needs from a segment, taken under s.mu.
type segView struct {
	file    *os.File
	offsets []offsetEntry
	times   []timeEntry
	maxTs   int64
}

// view loads the segment if needed and snapshots its file and indexes.
// size and end (the next segment's base, or the LEO) come from the caller's
// snapshot under Log.mu; the caller holds a reference.
func (l *Log) view(s *segment, size, end int64) (segView, error) {
	s.mu.Lock()
	err := l.load(s, size, end)
	if err == nil && s.file == nil {
		_, err = l.file(s) // the active segment, closed while idle
	}
	if err != nil {
		s.mu.Unlock()
		return segView{}, err
	}
	v := segView{file: s.file, offsets: s.idx.offsets, times: s.idx.times, maxTs: s.idx.maxTs}
	s.mu.Unlock()
	l.used()
	l.noteClosedUse(s)
	return v, nil
}

// load opens a closed segment and reads its indexes, rebuilding them from
// the segment if either is missing or fails its checks. Caller holds s.mu.
func (l *Log) load(s *segment, size, end int64) error {
	if s.loaded {
		return nil
	}
	if s.pending {
		return errors.New("commitlog: active segment used before loadActive") // a bug, not bad input
	}
	if s.file == nil {
		f, err := durable.Open(s.path(logSuffix), os.O_RDONLY, 0)
		if errors.Is(err, fs.ErrNotExist) && s.retired {
			return fmt.Errorf("%w: segment %d was deleted", ErrOffsetOutOfRange, s.base)
		}
		if err != nil {
			return fmt.Errorf("commitlog: open segment: %w", err)
		}
		s.file = f
	}
	idx, err := readIndexes(s, size, end-s.base, l.cfg.IndexIntervalBytes)
	if err != nil {
		l.log.Warn("commitlog: rebuilding index of closed segment", "segment", s.base, "reason", err)
		if idx, err = l.rebuildClosed(s, size); err != nil {
			// The rebuilt index serves from memory; the next Open retries.
			l.log.Warn("commitlog: cannot save rebuilt index", "segment", s.base, "err", err)
		}
	}
	s.idx, s.loaded = idx, true
	// Under mu alone: the only writer of a closed segment's index files
	// (a repair) holds mu as well.
	s.savedOffsets, s.savedTimes = len(idx.offsets), len(idx.times)
	return nil
}

// readIndexes loads and checks both index files of s.
func readIndexes(s *segment, size, maxRel int64, interval int) (indexer, error) {
	idx := newIndexer(interval)
	b, err := durable.ReadFile(s.path(indexSuffix))
	if err != nil {
		return idx, err
	}
	if idx.offsets, err = decodeOffsets(b, size, maxRel); err != nil {
		return idx, err
	}
	if b, err = durable.ReadFile(s.path(timeIndexSuffix)); err != nil {
		return idx, err
	}
	if idx.times, err = decodeTimes(b, maxRel); err != nil {
		return idx, err
	}
	if n := len(idx.times); n > 0 {
		idx.maxTs, idx.maxTsRel = idx.times[n-1].ts, idx.times[n-1].rel
	}
	if err := checkLastEntry(s.file, s.base, idx.offsets); err != nil {
		return idx, err
	}
	return idx, nil
}

// checkLastEntry reads the batch header the last offset entry points at: a
// stale index from another version of the segment fails here.
func checkLastEntry(f *os.File, base int64, entries []offsetEntry) error {
	if len(entries) == 0 {
		return nil
	}
	e := entries[len(entries)-1]
	var hdr [batchOverhead]byte
	if _, err := f.ReadAt(hdr[:], int64(e.pos)); err != nil {
		return fmt.Errorf("%w: last entry unreadable: %w", errBadIndex, err)
	}
	if got := batchBase(hdr[:]); got != base+int64(e.rel) {
		return fmt.Errorf("%w: last entry points at offset %d, want %d", errBadIndex, got, base+int64(e.rel))
	}
	return nil
}

// maxTimestamp is the newest record timestamp in a closed segment, from the
// last time index entry, without loading the whole index when possible.
// noTimestamp if the segment has none. The caller holds a reference.
func (l *Log) maxTimestamp(s *segment, size, end int64) (int64, error) {
	s.mu.Lock()
	if s.loaded {
		defer s.mu.Unlock()
		return s.idx.maxTs, nil
	}
	if s.sealedMaxKnown {
		defer s.mu.Unlock()
		return s.sealedMaxTs, nil
	}
	if ts, ok := lastTimeEntry(s.path(timeIndexSuffix), end-s.base); ok {
		defer s.mu.Unlock()
		s.sealedMaxTs, s.sealedMaxKnown = ts, true
		return ts, nil
	}
	err := l.load(s, size, end)
	ts := s.idx.maxTs
	s.mu.Unlock()
	if err != nil {
		return noTimestamp, err
	}
	l.noteClosedUse(s)
	return ts, nil
}

// lastTimeEntry reads only the last entry of a time index file. An empty,
// missing or odd-sized file is not trusted: the caller loads the segment.
func lastTimeEntry(path string, maxRel int64) (int64, bool) {
	f, err := durable.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 || st.Size()%timeEntrySize != 0 {
		return 0, false
	}
	var b [timeEntrySize]byte
	if _, err := f.ReadAt(b[:], st.Size()-timeEntrySize); err != nil {
		return 0, false
	}
	e, err := decodeTimes(b[:], maxRel)
	if err != nil {
		return 0, false
	}
	return e[0].ts, true
}

// repairIndex rebuilds the indexes of s from its batches after a read found
// them pointing at the wrong batch. It holds Log.mu so the active segment
// cannot grow meanwhile; a rebuilt closed index is saved unless retention
// already deleted the segment.
func (l *Log) repairIndex(s *segment) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	active := s == l.active()
	live := !l.closed && slices.Contains(l.segments, s)
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := l.file(s); err != nil {
		return err
	}
	idx := l.rebuildIndex(s, s.size)
	if active {
		s.idx, s.savedOffsets, s.savedTimes = idx, 0, 0 // saved on roll or Close
		l.markerOnDisk = false                          // so Close does save them
		return nil
	}
	idx.addTime()
	s.idx, s.savedOffsets, s.savedTimes = idx, len(idx.offsets), len(idx.times)
	if !live {
		return nil
	}
	return saveRebuilt(s, idx)
}

// remove deletes the segment's files. Open readers keep working on the
// unlinked file until they release it.
func (s *segment) remove() error {
	var errs []error
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := os.Remove(s.path(suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
