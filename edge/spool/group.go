package spool

// Group append. Every source goroutine of the edge appends what each of
// its reads decoded; with many cars sampled in step their reads come
// together, and each append was a write syscall of its own under mu.
// Now an append that finds another one writing queues its batch and
// waits; when the writer (the leader) is done it hands the lead to the
// first in the queue, which takes every queued batch and writes them in
// one call. Each caller still returns only once its batch is written,
// with its own first index or error, so what Append promises is
// unchanged, and no caller writes more than its own group. A group
// that meets anything unusual (the spool closed or broken, its bound
// under drop-newest, a segment to roll, a failed write) is appended one
// batch at a time, each through the same path as a lone append, so every
// policy applies to each batch as before.

// appendCall is one Append waiting in the queue.
type appendCall struct {
	b     *Batch
	first uint64
	err   error
	// wake says true once the batch is written (first and err set), or
	// false when this call is to lead: take the queue and write it.
	wake chan bool
}

// Append writes the batch at the tail of the spool and returns the index
// of its first record; it returns once the batch is written (to the page
// cache: the sync loop fsyncs). On error nothing was appended. The batch
// may be reused once Append returns. Batches appended at the same time
// by several goroutines may be written together, in one write.
func (s *Spool) Append(b *Batch) (uint64, error) {
	c := &appendCall{b: b, wake: make(chan bool, 1)}
	s.gmu.Lock()
	s.queue = append(s.queue, c)
	if s.leading {
		s.gmu.Unlock()
		if written := <-c.wake; written {
			return c.first, c.err
		}
		s.gmu.Lock() // handed the lead: c is first in the queue
	}
	s.leading = true
	group := s.queue
	s.queue = nil
	s.gmu.Unlock()
	s.appendGroup(group)
	for _, g := range group {
		if g != c {
			g.wake <- true
		}
	}
	// One group each: the next in the queue leads the next group, so no
	// caller (a source's reader) is kept writing for the others.
	s.gmu.Lock()
	if len(s.queue) > 0 {
		s.queue[0].wake <- false
	} else {
		s.leading = false
	}
	s.gmu.Unlock()
	return c.first, c.err
}

// appendGroup appends the group's batches in order, in one write when it
// can.
func (s *Spool) appendGroup(group []*appendCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(group) > 1 && s.appendTogether(group) {
		return
	}
	for _, g := range group {
		g.first, g.err = s.appendOne(g.b)
	}
}

// appendTogether writes the group's batches at the end of the active
// segment in one write, if nothing about them needs a batch-by-batch
// decision; false if it wrote nothing. Called with s.mu held.
func (s *Spool) appendTogether(group []*appendCall) bool {
	size, records := 0, 0
	for _, g := range group {
		size += len(g.b.buf)
		records += g.b.n
	}
	if s.closed || s.broken != nil || len(s.segs) == 0 || records == 0 ||
		s.cfg.Policy == PolicyDropNewest && s.bytes+int64(size) > s.cfg.MaxBytes {
		return false
	}
	if s.segs[len(s.segs)-1].size >= s.cfg.SegmentBytes {
		return false // a roll first
	}
	buf := s.groupBuf[:0]
	for _, g := range group {
		buf = append(buf, g.b.buf...)
	}
	s.groupBuf = buf[:0]
	if cap(buf) > 1<<20 {
		s.groupBuf = nil // a burst's buffer is not kept
	}
	if err := s.writeActive(buf); err != nil {
		return false // undone: each batch is tried alone, and meets the error with its policy
	}
	for _, g := range group {
		g.first = s.next
		s.next += uint64(g.b.n)
	}
	s.appended(size)
	return true
}
