package commitlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// A follower's log: batches copied from the partition's leader keep the
// offsets and leader epochs the leader gave them (AppendReplica), and a
// follower whose log diverged from its new leader's cuts its tail
// (Truncate, KIP-101). A single broker uses neither.

// AppendReplica stores a batch copied from the partition's leader as it
// is: its base offset, leader epoch and CRC are the leader's. The batch
// must start at or after EndOffset (ErrOffsetOutOfRange otherwise); a
// batch after it (the leader's log was compacted there) starts a new
// segment at its offset, so every segment's active stretch stays
// contiguous. The checks, fsync and high watermark are Append's.
func (l *Log) AppendReplica(batch []byte) (base, last int64, err error) {
	if len(batch) < batchHeaderSize {
		return -1, -1, fmt.Errorf("%w: %d bytes", ErrCorruptBatch, len(batch))
	}
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return -1, -1, err
	}
	return l.append(batch, h.LeaderEpoch, true)
}

// replicaGap makes the log end where a replica batch h starts. Caller
// holds mu; the active segment is loaded.
func (l *Log) replicaGap(h BatchHeader) error {
	switch {
	case h.BaseOffset < l.leo:
		return fmt.Errorf("%w: replica batch at %d, the log ends at %d", ErrOffsetOutOfRange, h.BaseOffset, l.leo)
	case h.BaseOffset == l.leo:
		return nil
	}
	s := l.active()
	if s.size == 0 {
		// An empty active segment: replace it by one at the batch.
		next, err := createSegment(l.cfg.Dir, h.BaseOffset, l.cfg.IndexIntervalBytes)
		if err != nil {
			return err
		}
		if err := s.remove(); err != nil {
			_ = next.file.Close()
			return l.fail(err)
		}
		l.retire(s)
		l.segments[len(l.segments)-1] = next
	} else {
		if err := l.seal(s); err != nil {
			return l.fail(err)
		}
		next, err := createSegment(l.cfg.Dir, h.BaseOffset, l.cfg.IndexIntervalBytes)
		if err != nil {
			return err
		}
		l.segments = append(l.segments, next)
		s.closed.Store(true)
		l.noteClosedUse(s)
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		return l.fail(err)
	}
	l.setDurable(l.leo) // everything before is sealed
	l.leo = h.BaseOffset
	l.setDurable(l.leo)
	if l.cfg.Fsync != FsyncBatch {
		l.setHW(l.leo)
	}
	return nil
}

// Truncate removes every batch at or after offset (the whole batch
// holding offset, if it falls inside one) with its index entries, leader
// epochs starting there and the recovery point: the log ends at the
// first offset removed. Offsets below StartOffset are kept (the log is
// emptied down to its first segment). It is for a follower whose tail
// diverged from its leader's; reads racing with it may fail.
//
// Crash safety: the clean-shutdown marker and recovery point go first,
// then later segments newest first, then the segment holding offset is
// cut and its indexes removed (they are rebuilt). A crash anywhere
// leaves a prefix of the old log that opens (the torn-tail recovery
// checks the last segment); the caller truncates again after the restart.
func (l *Log) Truncate(offset int64) error {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	l.syncGate.Lock() // no fsync's bookkeeping races with the cut
	defer l.syncGate.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if err := l.loadActive(); err != nil {
		return err
	}
	if offset >= l.leo {
		return l.restartSyncer()
	}
	offset = max(offset, l.segments[0].base)
	i := l.segmentIndex(offset)
	s := l.segments[i]
	pos, at, err := l.batchStart(s, offset)
	if err != nil {
		return err
	}
	if l.markerOnDisk {
		if err := l.dropMarker(); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(l.cfg.Dir, recoveryPointFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l.fail(err)
	}
	if err := l.truncateStep("later segments"); err != nil {
		return err
	}
	for j := len(l.segments) - 1; j > i; j-- {
		if j < len(l.segments)-1 {
			if err := l.truncateStep("one later segment"); err != nil {
				return err
			}
		}
		gone := l.segments[j]
		if err := gone.remove(); err != nil {
			return l.fail(err)
		}
		l.size -= gone.size
		l.retire(gone)
		l.segments = l.segments[:j]
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		return l.fail(err)
	}
	if err := l.truncateStep("cut"); err != nil {
		return err
	}
	if err := l.cutSegment(s, pos, i == 0 || pos > 0); err != nil {
		return l.fail(err)
	}
	if pos == 0 && i > 0 {
		// Nothing of s stays: it goes, and the one before is the end.
		l.segments = l.segments[:i]
	}
	if err := l.truncateStep("new active"); err != nil {
		return err
	}
	if err := l.newActive(at); err != nil {
		return l.fail(err)
	}
	// Every segment before the new active one is fsynced (sealed on
	// roll, or cut and fsynced above).
	l.leo, l.hw, l.durable = at, at, at
	if err := l.dropEpochsFrom(at); err != nil {
		return l.fail(err)
	}
	l.rpLast = recoveryPoint{}
	return l.restartSyncer()
}

// batchStart finds the file position in s of the batch holding offset
// (or the first one after it) and that batch's base offset; past the
// last batch, s's size and offset. Caller holds mu.
func (l *Log) batchStart(s *segment, offset int64) (pos, base int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := l.file(s)
	if err != nil {
		return 0, 0, err
	}
	var hdr [batchHeaderSize]byte
	for pos < s.size {
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return 0, 0, fmt.Errorf("commitlog: truncate: read segment %d at %d: %w", s.base, pos, err)
		}
		h, err := ParseBatchHeader(hdr[:])
		if err != nil {
			return 0, 0, fmt.Errorf("commitlog: truncate: segment %d at %d: %w", s.base, pos, err)
		}
		if h.LastOffset() >= offset {
			return pos, h.BaseOffset, nil
		}
		pos += int64(h.Size())
	}
	return s.size, offset, nil
}

// cutSegment cuts s's file at pos, fsyncs it and rebuilds its indexes,
// or removes s whole unless keep. Caller
// holds mu.
func (l *Log) cutSegment(s *segment, pos int64, keep bool) error {
	l.cache.remove(s)
	s.mu.Lock()
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
	s.loaded, s.pending = false, false
	s.idx = newIndexer(l.cfg.IndexIntervalBytes)
	s.recent = nil
	s.verified.Store(nil)
	s.mu.Unlock()
	s.saveMu.Lock()
	s.savedOffsets, s.savedTimes = 0, 0
	s.saveMu.Unlock()
	if !keep {
		l.size -= s.size
		err := s.remove()
		l.retire(s)
		return err
	}
	f, err := durable.Open(s.path(logSuffix), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(pos)
	if err == nil {
		l.fsyncs.Add(1)
		err = f.Sync()
	}
	if err == nil {
		err = l.truncateStep("rebuild index")
	}
	if err == nil {
		// The indexes now name batches that are gone: rebuild them from
		// what stays (a crash before this leaves stale ones, which the
		// next load finds and rebuilds the same way).
		s.mu.Lock()
		s.file = f
		_, err = l.rebuildClosed(s, pos)
		s.file = nil
		s.mu.Unlock()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	l.size -= s.size - pos
	s.size = pos
	s.closed.Store(true) // until newActive decides
	return nil
}

// newActive makes the log's last segment active again after a
// truncation to at: the last segment if it ends there and is not empty
// of a reason to roll, else a new empty one at at. Caller holds mu.
func (l *Log) newActive(at int64) error {
	last := l.segments[len(l.segments)-1]
	if last.base == at && last.size == 0 {
		// Emptied whole: reuse it as the active segment.
		last.closed.Store(false)
		f, err := durable.Open(last.path(logSuffix), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		last.mu.Lock()
		last.file, last.loaded = f, true
		last.mu.Unlock()
		return syncDir(l.cfg.Dir)
	}
	next, err := createSegment(l.cfg.Dir, at, l.cfg.IndexIntervalBytes)
	if err != nil {
		return err
	}
	l.segments = append(l.segments, next)
	return syncDir(l.cfg.Dir)
}

// restartSyncer kicks the syncer if anything awaits an fsync. Caller
// holds mu.
func (l *Log) restartSyncer() error {
	if l.durable < l.leo && l.cfg.Fsync != FsyncNever && l.stop != nil {
		l.kickSyncer()
	}
	return nil
}

// truncateStep runs the test hook of a Truncate step; its error fails
// the log as a crash there would leave it.
func (l *Log) truncateStep(step string) error {
	if l.cfg.truncateHook == nil {
		return nil
	}
	if err := l.cfg.truncateHook(step); err != nil {
		return l.fail(err)
	}
	return nil
}
