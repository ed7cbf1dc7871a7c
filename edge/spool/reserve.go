package spool

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// The reserve file holds Config.ReserveBytes of disk the segments can
// never take: a full disk gives it up, a block at a time, to the cursor
// and the other small state files (writeState), so they can always be
// replaced, and it is filled again once segments are deleted.
const (
	reserveFile  = "reserve"
	reserveChunk = 64 << 10
)

// noSpace reports whether err is the disk (or the user's quota) full.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// refillReserve grows the reserve file to ReserveBytes, as far as the
// disk allows. Called with s.cmu held (or before the spool is shared).
func (s *Spool) refillReserve() {
	if s.reserve >= s.cfg.ReserveBytes {
		return
	}
	path := filepath.Join(s.cfg.Dir, reserveFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return
	}
	zeros := make([]byte, reserveChunk)
	for size < s.cfg.ReserveBytes {
		n, err := f.Write(zeros[:min(int64(len(zeros)), s.cfg.ReserveBytes-size)])
		size += int64(n)
		if err != nil {
			break
		}
	}
	if size > s.cfg.ReserveBytes {
		f.Truncate(s.cfg.ReserveBytes)
		size = s.cfg.ReserveBytes
	}
	if f.Sync() == nil {
		s.reserve = size
	}
}

// releaseReserve shrinks the reserve file by at least need bytes (a few
// blocks more, for the temp file's metadata); false when it is empty.
// Called with s.cmu held.
func (s *Spool) releaseReserve(need int64) bool {
	if s.reserve == 0 {
		return false
	}
	give := min(s.reserve, max(need+16<<10, reserveChunk))
	if err := os.Truncate(filepath.Join(s.cfg.Dir, reserveFile), s.reserve-give); err != nil {
		s.cfg.Logger.Error("spool: cannot release reserved space", "err", err)
		return false
	}
	s.reserve -= give
	s.cfg.Logger.Info("spool: disk full; state file written in reserved space", "reserve_left", s.reserve)
	return true
}
