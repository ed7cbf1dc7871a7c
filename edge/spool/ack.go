package spool

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// ackState tracks which handed-out records have been acknowledged, and
// the cursor: the index of the oldest record not yet acknowledged.
// Records are handed out in order and acknowledged in any order.
type ackState struct {
	cursor  uint64
	pending []bool // pending[head+i] says whether cursor+i is acked
	head    int
	file    *os.File // the cursor file
	written uint64   // the cursor last written to it
	wrote   bool
}

const cursorFile = "cursor"

// openCursor opens the cursor file and reads the cursor; ok is false for
// a new spool or an unreadable cursor (then replay starts at the oldest
// segment: at-least-once, never a loss).
func (s *Spool) openCursor() (cursor uint64, ok bool, err error) {
	path := filepath.Join(s.cfg.Dir, cursorFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, false, fmt.Errorf("spool: %w", err)
	}
	s.acks.file = f
	var b [16]byte
	n, err := f.ReadAt(b[:], 0)
	if n == 0 && (err == nil || err == io.EOF) {
		return 0, false, nil
	}
	idx := binary.LittleEndian.Uint64(b[:8])
	if n < len(b) || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:12]) {
		s.cfg.Logger.Warn("spool: unreadable cursor file; replaying from the oldest segment (some records may be sent twice)", "path", path)
		return 0, false, nil
	}
	s.acks.written, s.acks.wrote = idx, true
	return idx, true, nil
}

// writeCursor persists the cursor when it moved. One 16-byte pwrite:
// a process crash cannot tear it; a torn write after a power cut is
// caught by the CRC.
func (s *Spool) writeCursor() error {
	a := &s.acks
	if a.file == nil || (a.wrote && a.written == a.cursor) {
		return nil
	}
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], a.cursor)
	binary.LittleEndian.PutUint32(b[8:12], crc32.Checksum(b[:8], castagnoli))
	if _, err := a.file.WriteAt(b[:], 0); err != nil {
		s.cfg.Logger.Error("spool: write cursor", "err", err)
		return fmt.Errorf("spool: write cursor: %w", err)
	}
	a.written, a.wrote = a.cursor, true
	return nil
}

func (a *ackState) reset(cursor uint64) {
	a.cursor, a.pending, a.head = cursor, a.pending[:0], 0
}

// handOut notes n records handed out after the last, acked already or not.
func (a *ackState) handOut(n int, acked bool) {
	for range n {
		a.pending = append(a.pending, acked)
	}
	if acked {
		a.advance()
	}
}

func (a *ackState) live() int { return len(a.pending) - a.head }

// ack marks idx acknowledged; indexes not handed out are ignored.
func (a *ackState) ack(idx uint64) {
	if idx < a.cursor || idx-a.cursor >= uint64(a.live()) {
		return
	}
	a.pending[a.head+int(idx-a.cursor)] = true
}

// advance moves the cursor over acknowledged records.
func (a *ackState) advance() {
	for a.head < len(a.pending) && a.pending[a.head] {
		a.head++
		a.cursor++
	}
	if a.head == len(a.pending) {
		a.pending, a.head = a.pending[:0], 0
	} else if a.head >= 4096 && a.head*2 >= len(a.pending) {
		n := copy(a.pending, a.pending[a.head:])
		a.pending, a.head = a.pending[:n], 0
	}
}

// skipTo moves the cursor to idx, forgetting what was handed out below.
func (a *ackState) skipTo(idx uint64) {
	if idx <= a.cursor {
		return
	}
	k := idx - a.cursor
	if k >= uint64(a.live()) {
		a.reset(idx)
		return
	}
	a.head += int(k)
	a.cursor = idx
	a.advance()
}

// Ack marks records as delivered. Once every record up to one is acked,
// the cursor moves past it, the cursor file is updated and segments
// holding only delivered records are deleted. Unknown indexes are ignored.
func (s *Spool) Ack(indexes ...uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	before := s.acks.cursor
	for _, idx := range indexes {
		s.acks.ack(idx)
	}
	s.acks.advance()
	if s.acks.cursor != before {
		s.writeCursor()
		s.deleteDelivered()
	}
}
