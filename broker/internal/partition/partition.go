package partition

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// Partition is one partition of a topic: its commit log and the state of
// the idempotent producers writing to it, both in one directory. A
// registry opened in the background publishes its partitions before they
// are open: the first use opens one (ensureOpen) if the background workers
// have not come to it yet.
type Partition struct {
	index  int32
	topic  string
	dir    string
	reg    *Registry
	t      *Topic
	snaps  *dirtyList // the registry's: where Append reports changed producer state
	logger *slog.Logger
	gone   atomic.Bool // closed: maintenance leaves it alone

	// openMu is held while the partition opens (or closes before it
	// opened); opened is set, after log, producers and openErr, once that
	// is settled.
	openMu    sync.Mutex
	opened    atomic.Bool
	openErr   error
	log       *commitlog.Log
	producers *producerState

	// replica is the replication state in a cluster (replication.go);
	// nil on a single broker.
	replica atomic.Pointer[replState]
}

// newPartition is partition i of t, not open yet.
func (r *Registry) newPartition(t *Topic, i int32) *Partition {
	return &Partition{index: i, topic: t.name, dir: filepath.Join(r.topicsDir(), t.name, strconv.Itoa(int(i))),
		reg: r, t: t, snaps: &r.snaps, logger: r.log}
}

// ensureOpen opens the partition unless it is open already (or failed
// to, or was closed before it opened: ErrClosed) and returns why it is
// not usable, if it is not.
func (p *Partition) ensureOpen() error {
	if p.opened.Load() {
		return p.openErr
	}
	p.openMu.Lock()
	defer p.openMu.Unlock()
	if !p.opened.Load() {
		if err := p.open(); err != nil {
			p.openErr = fmt.Errorf("topic %s partition %d: %w", p.topic, p.index, err)
		}
		p.opened.Store(true)
	}
	return p.openErr
}

// open opens the log. The producer state is loaded on first need
// (producers.go). Caller holds openMu.
func (p *Partition) open() error {
	l, err := commitlog.Open(p.reg.logConfig(p.t, p.index))
	if err != nil {
		return err
	}
	p.log, p.producers = l, &producerState{openEnd: l.EndOffset(), onDisk: -1}
	return nil
}

// live reports whether the partition is open and not closed, without
// opening it: maintenance visits only those.
func (p *Partition) live() bool {
	return p.opened.Load() && p.openErr == nil && !p.gone.Load()
}

// loadProducers loads the producer state if it is not yet, queueing it for
// a snapshot if the snapshot on disk is behind what loading read. Caller
// holds p.producers.mu.
func (p *Partition) loadProducers() error {
	ps := p.producers
	if ps.loaded {
		return nil
	}
	if err := ps.load(p.dir, p.log, p.logger.With("topic", p.topic, "partition", p.index)); err != nil {
		return err
	}
	if ps.dirty {
		p.snaps.add(p)
	}
	return nil
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
	return p.AppendEpoch(batch, h, 0)
}

// AppendEpoch is Append stamping the batch with leaderEpoch, the
// partition's leader epoch in a cluster (a single broker's is 0).
func (p *Partition) AppendEpoch(batch []byte, h commitlog.BatchHeader, leaderEpoch int32) (Appended, error) {
	if h.ProducerID < 0 {
		return p.append(batch, leaderEpoch)
	}
	// The check, the append and the record of it are one step, so two
	// connections retrying the same batch cannot both append it.
	ps := p.producers
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := p.loadProducers(); err != nil {
		return Appended{}, err
	}
	dup, err := ps.check(h)
	if err != nil {
		return Appended{}, err
	}
	if dup != nil {
		return Appended{Base: dup.FirstOffset, End: dup.LastOffset + 1, Duplicate: true}, nil
	}
	a, err := p.append(batch, leaderEpoch)
	if err == nil && ps.record(h, a.Base, time.Now()) {
		p.snaps.add(p)
	}
	return a, err
}

func (p *Partition) append(batch []byte, leaderEpoch int32) (Appended, error) {
	base, last, err := p.log.Append(batch, leaderEpoch)
	if err != nil {
		return Appended{}, err
	}
	return Appended{Base: base, End: last + 1}, nil
}

// snapshot writes the producer state if it changed since the last one
// (or, with atClose, if the snapshot on disk is far behind the log).
// Unloaded state has not changed since the open; at close it is loaded
// if the log was appended to since, so the snapshot covers those batches.
func (p *Partition) snapshot(now time.Time, atClose bool) (bool, error) {
	ps := p.producers
	ps.mu.Lock()
	if !ps.loaded && (!atClose || p.log.EndOffset() == ps.openEnd) {
		ps.mu.Unlock()
		return false, nil
	}
	err := p.loadProducers()
	ps.mu.Unlock()
	if err != nil {
		return false, err
	}
	return p.producers.snapshot(p.dir, p.log.HighWatermark(), p.log.Size(), now, atClose)
}

// close fsyncs the log, snapshots the producer state and closes the log.
// A partition not opened yet is marked closed, so it never opens.
func (p *Partition) close() error {
	p.openMu.Lock()
	if !p.opened.Load() {
		p.openErr = commitlog.ErrClosed
		p.opened.Store(true)
	}
	p.openMu.Unlock()
	if p.openErr != nil {
		return nil
	}
	p.gone.Store(true)
	// Sync first, so the snapshot can cover everything written.
	err := p.log.Sync(context.Background(), p.log.EndOffset())
	if err == nil {
		_, err = p.snapshot(time.Now(), true)
	}
	return errors.Join(err, p.log.Close())
}
