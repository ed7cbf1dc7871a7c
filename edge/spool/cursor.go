package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"github.com/pitwall/pitwall/edge/internal/durable"
)

// The cursor file: see doc.go.
const (
	cursorFile = "cursor"
	cursorLen  = 16
	// cursorEvery is how often Ack may persist the cursor. Each write is a
	// temp file, two fsyncs and a rename; between them the cursor lags the
	// acknowledgements, which costs duplicates after a crash (removed
	// downstream by (car, seq)), never a loss. The sync loop writes the
	// last move.
	cursorEvery = 100 * time.Millisecond
)

// ErrBadCursor: a cursor file that is not one (wrong length, CRC).
var ErrBadCursor = errors.New("spool: damaged cursor file")

// encodeCursor is the cursor file's content: index, its CRC-32C, zero.
func encodeCursor(idx uint64) []byte {
	b := make([]byte, cursorLen)
	binary.LittleEndian.PutUint64(b[:8], idx)
	binary.LittleEndian.PutUint32(b[8:12], crc32.Checksum(b[:8], castagnoli))
	return b
}

// decodeCursor decodes a cursor file strictly: exactly 16 bytes, the CRC
// right, the last four zero.
func decodeCursor(b []byte) (uint64, error) {
	if len(b) != cursorLen {
		return 0, fmt.Errorf("%w: %d bytes, want %d", ErrBadCursor, len(b), cursorLen)
	}
	if crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:12]) || binary.LittleEndian.Uint32(b[12:]) != 0 {
		return 0, fmt.Errorf("%w: checksum", ErrBadCursor)
	}
	return binary.LittleEndian.Uint64(b[:8]), nil
}

// readCursor reads the cursor file; ok is false when there is none to
// trust (missing or damaged: Open then resumes at the oldest segment,
// the last position the spool can prove, since segments are deleted
// only once every record in them is acknowledged).
func (s *Spool) readCursor() (cursor uint64, ok bool) {
	path := filepath.Join(s.cfg.Dir, cursorFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false
	}
	if err == nil {
		cursor, err = decodeCursor(b)
	}
	if err != nil {
		s.cfg.Logger.Error("spool: cursor file unreadable; resuming at the oldest segment (its acknowledged records may be sent twice)", "path", path, "err", err)
		return 0, false
	}
	s.acks.written, s.acks.wrote = cursor, true
	return cursor, true
}

// persist writes the cursor if it moved, then gives back the space it
// covers: sealed segments all acknowledged, and the active segment once
// everything in it is (reclaimActive). Called without s.mu: the write
// fsyncs, and appends must not wait for it. s.cmu serialises writers.
func (s *Spool) persist() error {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.persistLocked()
}

func (s *Spool) persistLocked() error {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		return nil
	}
	c := s.acks.cursor
	moved := !s.acks.wrote || c != s.acks.written
	s.acks.at = time.Now()
	s.mu.Unlock()
	if moved {
		if err := s.writeState(cursorFile, encodeCursor(c)); err != nil {
			s.alarm(&s.cursorAlarm, "spool: CANNOT WRITE THE CURSOR; a restart would send acknowledged records again", "err", err)
			return fmt.Errorf("spool: write cursor: %w", err)
		}
	}
	s.mu.Lock()
	s.acks.written, s.acks.wrote = c, true
	s.deleteDelivered()
	s.reclaimActive()
	s.mu.Unlock()
	s.refillReserve()
	return nil
}

// writeState replaces a small state file of the spool atomically
// (durable.WriteFileAtomic). On a full disk it gives up some of the
// reserve file's space, kept for this, and tries again. Called with
// s.cmu held.
func (s *Spool) writeState(name string, data []byte) error {
	path := filepath.Join(s.cfg.Dir, name)
	err := durable.WriteFileAtomic(path, data, 0o644)
	if noSpace(err) && s.releaseReserve(int64(len(data))) {
		err = durable.WriteFileAtomic(path, data, 0o644)
	}
	if errors.Is(err, durable.ErrSyncDir) {
		s.cfg.Logger.Warn("spool: state file written; directory not fsynced", "file", name, "err", err)
		return nil
	}
	return err
}

// WriteFile replaces the file name in the spool directory with data,
// atomically and durably, drawing on the spool's reserved space if the
// disk is full: for state kept beside the spool (the edge's catalogs).
func (s *Spool) WriteFile(name string, data []byte) error {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.writeState(name, data)
}
