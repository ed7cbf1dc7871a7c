package partition

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// Partition is one partition of a topic: its commit log and the state of
// the idempotent producers writing to it, both in one directory.
type Partition struct {
	index     int32
	topic     string
	dir       string
	log       *commitlog.Log
	producers *producerState
	snaps     *dirtyList  // the registry's: where Append reports changed producer state
	gone      atomic.Bool // closed: maintenance leaves it alone
}

// openPartition opens partition i of t: its log and its producer state.
// State the snapshot on disk does not hold yet is queued for the next
// snapshot pass.
func (r *Registry) openPartition(t *Topic, i int32) (*Partition, error) {
	cfg := r.logConfig(t, i)
	l, err := commitlog.Open(cfg)
	if err != nil {
		return nil, err
	}
	ps, err := loadProducerState(cfg.Dir, l)
	if err != nil {
		l.Close()
		return nil, err
	}
	p := &Partition{index: i, topic: t.name, dir: cfg.Dir, log: l, producers: ps, snaps: &r.snaps}
	if ps.dirty {
		p.snaps.add(p)
	}
	return p, nil
}

// Index is the partition's number in its topic.
func (p *Partition) Index() int32 { return p.index }

// Log is the partition's commit log, for reads and durability waits.
// Appends from clients go through Append, so producer state sees them.
func (p *Partition) Log() *commitlog.Log { return p.log }

// Appended is where an appended batch landed.
type Appended struct {
	Base int64 // first offset of the batch
	End  int64 // one past its last offset
	// Duplicate: the batch is an idempotent producer's retry of one
	// already stored, answered from producer state and not stored again.
	Duplicate bool
}

// Append appends one record batch, whose header is h, to the log. A batch
// of an idempotent producer (h.ProducerID >= 0) is checked against that
// producer's state first: a retry of a remembered batch gets where it went
// (Duplicate), a sequence gap ErrOutOfOrderSequence, an old epoch
// ErrProducerFenced.
func (p *Partition) Append(batch []byte, h commitlog.BatchHeader) (Appended, error) {
	if h.ProducerID < 0 {
		return p.append(batch)
	}
	// The check, the append and the record of it are one step, so two
	// connections retrying the same batch cannot both append it.
	ps := p.producers
	ps.mu.Lock()
	defer ps.mu.Unlock()
	dup, err := ps.check(h)
	if err != nil {
		return Appended{}, err
	}
	if dup != nil {
		return Appended{Base: dup.FirstOffset, End: dup.LastOffset + 1, Duplicate: true}, nil
	}
	a, err := p.append(batch)
	if err == nil && ps.record(h, a.Base, time.Now()) {
		p.snaps.add(p)
	}
	return a, err
}

func (p *Partition) append(batch []byte) (Appended, error) {
	base, last, err := p.log.Append(batch, 0)
	if err != nil {
		return Appended{}, err
	}
	return Appended{Base: base, End: last + 1}, nil
}

// snapshot writes the producer state if it changed since the last one
// (or, with atClose, if the snapshot on disk is far behind the log).
func (p *Partition) snapshot(now time.Time, atClose bool) (bool, error) {
	return p.producers.snapshot(p.dir, p.log.HighWatermark(), p.log.Size(), now, atClose)
}

// close fsyncs the log, snapshots the producer state and closes the log.
func (p *Partition) close() error {
	p.gone.Store(true)
	// Sync first, so the snapshot can cover everything written.
	err := p.log.Sync(context.Background(), p.log.EndOffset())
	if err == nil {
		_, err = p.snapshot(time.Now(), true)
	}
	return errors.Join(err, p.log.Close())
}
