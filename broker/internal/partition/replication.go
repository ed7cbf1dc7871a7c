package partition

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// Replication (a cluster's partitions; a single broker never calls what
// follows, and its partitions answer HighWatermark from the log alone).
//
// The partition owns the replication state, as Kafka's Partition does;
// the broker's fetchers only fetch and append. As the leader it keeps
// each follower's log end offset (the offset its last Fetch asked for:
// a follower asks for the next offset only once what it holds is
// fsynced) and when it was last caught up, and the high watermark: the
// lowest log end offset in the ISR, never past the leader's own fsynced
// end, never moving back within a leadership. As a follower it keeps
// the high watermark its leader last told it. Consumers read below the
// high watermark only.

// replState is a partition's replication state, nil until the broker
// makes it a leader or follower.
type replState struct {
	mu        sync.Mutex
	leader    bool
	self      int32
	epoch     int32
	replicas  []int32
	isr       []int32
	followers map[int32]*followerState
	hw        int64
	// ch closes when the high watermark may have moved, the ISR changed
	// or the leadership did; replaced on every close.
	ch chan struct{}
	// altering: an ISR change proposed by this leader is in flight.
	altering bool
}

// followerState is the leader's view of one follower.
type followerState struct {
	leo          int64     // -1 until its first fetch in this leadership
	lastFetchLEO int64     // the leader's LEO at its previous fetch
	lastFetchAt  time.Time // when that was
	caughtUpAt   time.Time // last time it had everything the leader had
}

func (r *replState) notify() {
	close(r.ch)
	r.ch = make(chan struct{})
}

// repl returns the replication state, made on first use.
func (p *Partition) repl() *replState {
	if r := p.replica.Load(); r != nil {
		return r
	}
	p.replica.CompareAndSwap(nil, &replState{ch: make(chan struct{}), self: -1})
	return p.replica.Load()
}

// Lead makes this broker (self) the partition's leader at epoch, with the
// cluster's replicas and ISR, or updates the ISR if it leads at epoch
// already. Followers get a full lag window from now; the high watermark
// starts where this broker knew it as a follower.
func (p *Partition) Lead(self, epoch int32, replicas, isr []int32, now time.Time) {
	r := p.repl()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.leader && r.epoch == epoch {
		if !slices.Equal(r.isr, isr) {
			r.isr = slices.Clone(isr)
			r.notify()
		}
		return
	}
	r.leader, r.self, r.epoch = true, self, epoch
	r.replicas, r.isr = slices.Clone(replicas), slices.Clone(isr)
	r.followers = map[int32]*followerState{}
	leo := p.log.EndOffset()
	for _, id := range replicas {
		if id != self {
			r.followers[id] = &followerState{leo: -1, lastFetchLEO: leo, lastFetchAt: now, caughtUpAt: now}
		}
	}
	r.hw = min(r.hw, leo)
	r.altering = false
	r.notify()
}

// Follow makes this broker a follower of the partition at epoch: it
// stops acting as leader (a pending acks=all produce sees that).
func (p *Partition) Follow(epoch int32) {
	r := p.repl()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.leader && r.epoch == epoch {
		return
	}
	r.leader, r.epoch, r.followers, r.altering = false, epoch, nil, false
	r.notify()
}

// Leading reports whether the partition is led here at epoch.
func (p *Partition) Leading(epoch int32) bool {
	r := p.replica.Load()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader && r.epoch == epoch
}

// ISR is the in-sync replica set as this leader (or follower) knows it.
func (p *Partition) ISR() []int32 {
	r := p.replica.Load()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.isr)
}

// HighWatermark is the end of what consumers may read: the log's own on a
// single broker (and on a leader without other replicas), the ISR's on a
// leader, what the leader said on a follower.
func (p *Partition) HighWatermark() int64 {
	lhw := p.log.HighWatermark()
	r := p.replica.Load()
	if r == nil {
		return lhw
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.highWatermark(lhw)
}

// highWatermark computes the HW from the log's fsynced end lhw. Caller
// holds r.mu.
func (r *replState) highWatermark(lhw int64) int64 {
	if !r.leader {
		return min(r.hw, lhw)
	}
	hw := lhw
	for _, id := range r.isr {
		if id == r.self {
			continue
		}
		f := r.followers[id]
		if f == nil || f.leo < 0 {
			return min(r.hw, lhw) // not heard from yet in this leadership
		}
		hw = min(hw, f.leo)
	}
	r.hw = max(r.hw, hw)
	return min(r.hw, lhw)
}

// Wait appends to wake the channels that close when the high watermark
// may move: the log's, and in a cluster the replication state's.
func (p *Partition) Wait(wake []<-chan struct{}) []<-chan struct{} {
	wake = append(wake, p.log.Wait())
	if r := p.replica.Load(); r != nil {
		r.mu.Lock()
		wake = append(wake, r.ch)
		r.mu.Unlock()
	}
	return wake
}

// FollowerFetched records that follower id asked for offset (so holds,
// fsynced, everything below it) at now. It reports whether the follower
// is outside the ISR and caught up to the high watermark, so the leader
// should propose adding it (once: a proposal stays in flight until
// ISRChanged).
func (p *Partition) FollowerFetched(id int32, offset int64, now time.Time) (join bool) {
	r := p.replica.Load()
	if r == nil {
		return false
	}
	leo := p.log.EndOffset()
	lhw := p.log.HighWatermark()
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.followers[id]
	if !r.leader || f == nil {
		return false
	}
	// Kafka's rule: caught up if it asked for the leader's end, or for at
	// least what the leader had at its previous fetch (then it was caught
	// up as of that fetch).
	switch {
	case offset >= leo:
		f.caughtUpAt = now
	case offset >= f.lastFetchLEO:
		f.caughtUpAt = f.lastFetchAt
	}
	f.lastFetchLEO, f.lastFetchAt = leo, now
	if offset != f.leo {
		f.leo = offset
		old := r.hw
		if r.highWatermark(lhw); r.hw != old {
			r.notify()
		}
	}
	hw := r.highWatermark(lhw)
	if !slices.Contains(r.isr, id) && offset >= hw && !r.altering {
		r.altering = true
		return true
	}
	return false
}

// Lagging returns the ISR without the followers that have not been
// caught up for longer than lag, and whether that drops any (then the
// leader proposes it, once: a proposal stays in flight until ISRChanged).
func (p *Partition) Lagging(now time.Time, lag time.Duration) (isr []int32, shrink bool) {
	r := p.replica.Load()
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.leader || r.altering {
		return nil, false
	}
	for _, id := range r.isr {
		if f := r.followers[id]; id != r.self && f != nil && now.Sub(f.caughtUpAt) > lag {
			shrink = true
			continue
		}
		isr = append(isr, id)
	}
	if shrink {
		r.altering = true
	}
	return isr, shrink
}

// ISRChanged ends an ISR proposal (applied or refused).
func (p *Partition) ISRChanged() {
	if r := p.replica.Load(); r != nil {
		r.mu.Lock()
		r.altering = false
		r.mu.Unlock()
	}
}

// SetLeaderHW records the high watermark a follower's leader sent.
func (p *Partition) SetLeaderHW(hw int64) {
	r := p.repl()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.leader {
		r.hw = min(hw, p.log.EndOffset())
	}
}

// AppendReplica appends a batch copied from the leader as it is (its
// offsets and leader epoch), recording an idempotent producer's batch in
// the producer state, so that this broker, once leader, answers a retry
// of it as a duplicate.
func (p *Partition) AppendReplica(batch []byte) (Appended, error) {
	h, err := commitlog.ParseBatchHeader(batch)
	if err != nil {
		return Appended{}, err
	}
	ps := p.producers
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if h.ProducerID >= 0 {
		if err := p.loadProducers(); err != nil {
			return Appended{}, err
		}
	}
	base, last, err := p.log.AppendReplica(batch)
	if err != nil {
		return Appended{}, err
	}
	if h.ProducerID >= 0 && ps.record(h, base, time.Now()) {
		p.snaps.add(p)
	}
	return Appended{Base: base, End: last + 1}, nil
}

// Truncate cuts the log at offset (a follower whose tail diverged from
// its leader's). The producer state is rebuilt from the log at its next
// use: its snapshot may name batches that are gone.
func (p *Partition) Truncate(offset int64) error {
	ps := p.producers
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := p.log.Truncate(offset); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(p.dir, producerStateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("partition: %w", err)
	}
	ps.loaded, ps.producers, ps.dirty, ps.onDisk = false, nil, false, -1
	if r := p.replica.Load(); r != nil {
		r.mu.Lock()
		r.hw = min(r.hw, offset)
		r.mu.Unlock()
	}
	return nil
}
