package spool

import (
	"fmt"
	"os"
	"time"

	"github.com/pitwall/pitwall/edge/internal/durable"
)

// Disk space: the policy at MaxBytes (atBound) and at a full disk
// (dropForSpace, refuse), and giving space back as soon as records are
// acknowledged (deleteDelivered, reclaimActive). All with s.mu held.

// reclaimBytes is how much acknowledged data the active segment may hold
// before reclaimActive replaces it with an empty one (at most half a
// segment); on a full disk any amount is given back.
const reclaimBytes = 1 << 20

// atBound applies the policy at MaxBytes after an append.
func (s *Spool) atBound() {
	if s.bytes <= s.cfg.MaxBytes {
		return
	}
	switch s.cfg.Policy {
	case PolicyDropOldest:
		s.dropOldest()
	case PolicyAlarm:
		if time.Since(s.alarmed) >= s.cfg.AlarmEvery {
			s.alarmed = time.Now()
			s.cfg.Logger.Error("spool: OVER ITS BOUND and still growing (policy alarm): the broker is not taking data; nothing is dropped until the disk is full",
				"dir", s.cfg.Dir, "bytes", s.bytes, "max_bytes", s.cfg.MaxBytes, "records", s.next-s.acks.cursor)
		}
	}
}

// dropOldest deletes sealed segments, oldest first, until the spool is
// within MaxBytes, moving the cursor past what they held.
func (s *Spool) dropOldest() {
	for s.bytes > s.cfg.MaxBytes && len(s.segs) > 1 {
		s.dropFirst("at its bound")
	}
}

// dropFirst deletes the oldest segment, counting its undelivered records
// as dropped and moving the cursor and the reader past them.
func (s *Spool) dropFirst(why string) {
	old, end := s.segs[0], s.next
	if len(s.segs) > 1 {
		end = s.segs[1].base
	}
	if c := s.acks.cursor; c < end {
		s.stats.dropped += end - c
		s.acks.skipTo(end)
		s.cfg.Logger.Error("spool: "+why+" (policy drop-oldest): dropped undelivered records", "records", end-c, "segment", old.path)
	}
	if s.rd.index < end {
		s.rd.seg, s.rd.off, s.rd.index = nil, 0, end
	}
	if len(s.segs) == 1 {
		s.dirty = false // the active segment goes: nothing to fsync
	}
	s.removeOldest()
	if len(s.segs) > 0 && s.rd.seg == nil {
		if err := s.rd.seek(s, s.rd.index); err != nil {
			s.cfg.Logger.Error("spool: reposition reader", "err", err)
		}
	}
}

// dropForSpace makes room on a full disk for PolicyDropOldest: it deletes
// the oldest segment, the active one too when it is the only one holding
// records (a new one is created by the next write). False when there is
// nothing left to delete.
func (s *Spool) dropForSpace() bool {
	if len(s.segs) == 0 || (len(s.segs) == 1 && s.segs[0].size == segHeaderLen) {
		return false
	}
	s.dropFirst("the disk is full")
	if err := durable.SyncDir(s.cfg.Dir); err != nil {
		s.cfg.Logger.Warn("spool: segments dropped; directory not fsynced", "err", err)
	}
	return true
}

// refuse answers an append the full disk refused: counted, alarmed at
// most every AlarmEvery at ERROR, never silent. The records are lost; the
// spooled ones are kept, and the space comes back as the broker takes
// them.
func (s *Spool) refuse(b *Batch, err error) error {
	s.diskFull = true
	s.stats.refused += uint64(b.n)
	if time.Since(s.diskAlarm) >= s.cfg.AlarmEvery {
		s.diskAlarm = time.Now()
		s.cfg.Logger.Error("spool: DISK FULL: NEW RECORDS ARE DROPPED until the broker takes the spooled ones (space comes back as they are acknowledged)",
			"dir", s.cfg.Dir, "policy", s.cfg.Policy, "spool_bytes", s.bytes, "records_waiting", s.next-s.acks.cursor, "refused_total", s.stats.refused, "err", err)
	}
	return fmt.Errorf("%w: %w", ErrDiskFull, err)
}

// alarm logs an error at most every AlarmEvery per kind (*last).
func (s *Spool) alarm(last *time.Time, msg string, args ...any) {
	if time.Since(*last) >= s.cfg.AlarmEvery {
		*last = time.Now()
		s.cfg.Logger.Error(msg, args...)
	}
}

// removeOldest deletes the oldest segment file.
func (s *Spool) removeOldest() {
	old := s.segs[0]
	if s.rd.seg == old {
		s.rd.seg = nil
	}
	old.close()
	if err := os.Remove(old.path); err != nil {
		s.cfg.Logger.Error("spool: remove segment", "path", old.path, "err", err)
	}
	s.bytes -= old.size
	s.segs = s.segs[1:]
}

// deleteDelivered removes sealed segments whose records are all acked.
// It may run before the cursor file catches up: Open resumes at the
// oldest segment when the cursor is older.
func (s *Spool) deleteDelivered() {
	removed := false
	for len(s.segs) > 1 && s.segs[1].base <= s.acks.cursor && s.rd.seg != s.segs[0] {
		s.removeOldest()
		removed = true
	}
	if removed {
		if err := durable.SyncDir(s.cfg.Dir); err != nil {
			s.cfg.Logger.Warn("spool: delivered segments deleted; directory not fsynced", "err", err)
		}
	}
}

// reclaimActive replaces the active segment by an empty one once every
// record in it is acknowledged, and the cursor file says so, so a drained
// spool holds (almost) nothing and a full disk recovers by itself. The
// old file goes first: on a full disk there may be no room for the new
// one until it has; the next append creates it then.
func (s *Spool) reclaimActive() {
	n := len(s.segs)
	if n == 0 || s.acks.cursor != s.next || !s.acks.wrote || s.acks.written != s.next || s.rd.index != s.next {
		return
	}
	held := s.segs[n-1].size - segHeaderLen
	if held == 0 || (held < min(reclaimBytes, s.cfg.SegmentBytes/2) && !s.diskFull) {
		return
	}
	s.dirty = false
	for len(s.segs) > 0 {
		s.removeOldest()
	}
	s.rd.seg, s.rd.off = nil, 0
	if err := s.roll(); err != nil {
		s.cfg.Logger.Warn("spool: no room for a new segment yet; the next append creates it", "err", err)
		if err := durable.SyncDir(s.cfg.Dir); err != nil {
			s.cfg.Logger.Warn("spool: delivered segment deleted; directory not fsynced", "err", err)
		}
	}
}
