package commitlog

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Retain deletes the oldest closed segments that are past retention and
// returns how many it deleted. A segment goes when RetentionTime is set and
// its newest record timestamp (the file's mtime if it has none) is older
// than Now()-RetentionTime, or when RetentionBytes is set and the log would
// still hold at least RetentionBytes without it (Kafka's rule). Only a
// prefix of the log is deleted and never the active segment. The broker
// calls Retain periodically (Kafka: every 5 minutes).
//
// Readers holding a deleted segment finish on the unlinked file; later
// reads below the new StartOffset get ErrOffsetOutOfRange.
func (l *Log) Retain() (deleted int, err error) {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	segs, sizes, ends, _, err := l.snapshot()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, n := range sizes {
		total += n
	}
	now := l.cfg.Now()
	for i := range len(segs) - 1 { // never the active segment
		var del bool
		if del, err = l.expired(segs[i], sizes[i], ends[i], total, now); err != nil || !del {
			break
		}
		total -= sizes[i]
		deleted++
	}
	l.releaseSnapshot(segs)
	if deleted == 0 {
		return 0, err
	}
	return deleted, errors.Join(err, l.dropOldest(deleted))
}

// expired decides one segment's fate; total is the log size with it.
func (l *Log) expired(s *segment, size, end, total int64, now time.Time) (bool, error) {
	if l.cfg.RetentionBytes > 0 && total-size >= l.cfg.RetentionBytes {
		return true, nil
	}
	if l.cfg.RetentionTime <= 0 {
		return false, nil
	}
	ts, err := l.maxTimestamp(s, size, end)
	if err != nil {
		return false, err
	}
	newest := time.UnixMilli(ts)
	if ts < 0 {
		info, err := os.Stat(s.path(logSuffix))
		if err != nil {
			return false, fmt.Errorf("commitlog: %w", err)
		}
		newest = info.ModTime()
	}
	return now.Sub(newest) > l.cfg.RetentionTime, nil
}

// dropOldest removes the first n segments from the log, then deletes their
// files. Retain and Compact are serialised by maintMu, so they are still the first n.
func (l *Log) dropOldest(n int) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	gone := append([]*segment(nil), l.segments[:n]...)
	l.segments = append(l.segments[:0:0], l.segments[n:]...)
	for _, s := range gone {
		l.size -= s.size
	}
	errEpochs := l.trimEpochs(l.segments[0].base)
	l.mu.Unlock()

	errs := []error{errEpochs}
	for _, s := range gone {
		l.log.Info("commitlog: retention deleted segment", "segment", s.base, "bytes", s.size)
		errs = append(errs, s.remove())
		l.retire(s)
	}
	errs = append(errs, syncDir(l.cfg.Dir))
	return errors.Join(errs...)
}
