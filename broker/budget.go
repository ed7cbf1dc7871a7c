package broker

import (
	"container/list"
	"sync"
)

// byteBudget is a broker-wide allowance of bytes held in memory for one
// purpose: request bodies being read (Config.MaxInflightRequestBytes) or
// fetch replies not yet written (Config.FetchMemory). Holders take bytes
// before they allocate and give them back when the buffer is done with;
// whoever finds the budget spent waits on freed (closed, and replaced,
// whenever bytes come back) or does with less.
type byteBudget struct {
	total int64

	mu    sync.Mutex
	used  int64
	freed chan struct{}
	// holders are the budget's users in the order they started (request
	// readers only): the oldest may always take what it needs, even past
	// total, so readers that each hold part of a request can never all
	// wait on one another. It overshoots by at most one request.
	holders list.List
}

func newByteBudget(total int64) *byteBudget {
	return &byteBudget{total: total, freed: make(chan struct{})}
}

// enter registers a holder; leave must follow once it holds nothing.
func (b *byteBudget) enter() *list.Element {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.holders.PushBack(nil)
}

// leave unregisters e, whose bytes have been released.
func (b *byteBudget) leave(e *list.Element) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOldest := b.holders.Front() == e
	b.holders.Remove(e)
	if wasOldest {
		b.wakeLocked() // a new oldest may now go past total
	}
}

// tryTake takes n bytes if they fit, or if e is the oldest holder. It
// returns the channel to wait on when they did not.
func (b *byteBudget) tryTake(e *list.Element, n int64) (ok bool, wait <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n <= b.total || (e != nil && b.holders.Front() == e) {
		b.used += n
		return true, nil
	}
	return false, b.freed
}

// takeUpTo takes min(n, what is left) and returns it, with the channel to
// wait on when nothing was left.
func (b *byteBudget) takeUpTo(n int64) (int64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	got := min(n, b.total-b.used)
	if got <= 0 {
		return 0, b.freed
	}
	b.used += got
	return got, nil
}

// take takes n bytes whether or not they fit: a fetch must return at
// least one whole batch (KIP-74), however little budget its reservation
// got.
func (b *byteBudget) take(n int64) {
	b.mu.Lock()
	b.used += n
	b.mu.Unlock()
}

// release gives n bytes back and wakes the waiters.
func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.wakeLocked()
}

func (b *byteBudget) wakeLocked() {
	close(b.freed)
	b.freed = make(chan struct{})
}

// inUse is the number of bytes taken.
func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
