package spool

import "time"

// ackState tracks which handed-out records have been acknowledged, and
// the cursor: the index of the oldest record not yet acknowledged.
// Records are handed out in order and acknowledged in any order.
type ackState struct {
	cursor  uint64
	pending []bool // pending[head+i] says whether cursor+i is acked
	head    int
	written uint64    // the cursor last written to the cursor file
	wrote   bool      // written is set
	at      time.Time // when persist last looked at the cursor
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
// the cursor moves past it, segments holding only delivered records are
// deleted at once and the cursor file is updated (at most every
// cursorEvery here; the sync loop writes the last move). Unknown indexes
// are ignored.
func (s *Spool) Ack(indexes ...uint64) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	before := s.acks.cursor
	for _, idx := range indexes {
		s.acks.ack(idx)
	}
	s.acks.advance()
	due := false
	if s.acks.cursor != before {
		s.deleteDelivered()
		due = time.Since(s.acks.at) >= cursorEvery
	}
	s.mu.Unlock()
	if due {
		s.persist()
	}
}
