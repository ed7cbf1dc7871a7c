package partition

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// Topic is a topic and its partitions. It never changes after Create or
// Open returned it.
type Topic struct {
	name     string
	id       [16]byte
	internal bool
	cfg      TopicConfig // its own configs over the broker defaults
	parts    []*Partition
}

// Name is the topic's name.
func (t *Topic) Name() string { return t.name }

// ID is the id minted when the topic was created (Metadata v10+).
func (t *Topic) ID() [16]byte { return t.id }

// Internal reports whether the topic is one of Kafka's internal topics
// (its name starts with "__", like __consumer_offsets).
func (t *Topic) Internal() bool { return t.internal }

// Config is the topic's configs, its own over the broker defaults.
func (t *Topic) Config() *TopicConfig { return &t.cfg }

// NumPartitions is the topic's partition count.
func (t *Topic) NumPartitions() int { return len(t.parts) }

// Partitions returns the topic's partitions by index, waiting for each to
// open (opening those still waiting their turn now). A partition that
// failed to open is left out; the registry reports it (OpenErr). Callers
// must not modify the slice.
func (t *Topic) Partitions() []*Partition {
	for k, p := range t.parts {
		if p.ensureOpen() != nil {
			ps := slices.Clone(t.parts[:k])
			for _, q := range t.parts[k+1:] {
				if q.ensureOpen() == nil {
					ps = append(ps, q)
				}
			}
			return ps
		}
	}
	return t.parts
}

// Partition returns partition p, opening it now if it is still waiting
// its turn; ErrUnknownTopic if there is no such partition, or why it
// could not be opened.
func (t *Topic) Partition(p int32) (*Partition, error) {
	if p < 0 || int(p) >= len(t.parts) {
		return nil, ErrUnknownTopic
	}
	if err := t.parts[p].ensureOpen(); err != nil {
		return nil, err
	}
	return t.parts[p], nil
}

// PartitionOpen reports whether partition p is open, without waiting or
// opening it, and why it could not be opened if that failed.
func (t *Topic) PartitionOpen(p int32) (bool, error) {
	if p < 0 || int(p) >= len(t.parts) {
		return false, ErrUnknownTopic
	}
	part := t.parts[p]
	if !part.opened.Load() {
		return false, nil
	}
	return part.openErr == nil, part.openErr
}

// openWorkers is how many partitions Open and Close work on at once. Opening
// a cleanly closed partition is mostly waiting for one directory fsync and
// closing one for a few file fsyncs, so far more than the core count keep
// the disk busy: the file system commits concurrent fsyncs together.
const openWorkers = 64

// topicsFrom makes the topics meta describes, with their partitions not
// yet open.
func (r *Registry) topicsFrom(metas []topicMeta) ([]*Topic, []*Partition, error) {
	ts := make([]*Topic, len(metas))
	var ps []*Partition
	for k, meta := range metas {
		t := &Topic{name: meta.Name, internal: strings.HasPrefix(meta.Name, "__"), cfg: r.cfg.resolve(meta.Configs)}
		if _, err := hex.Decode(t.id[:], []byte(meta.ID)); err != nil {
			return nil, nil, fmt.Errorf("topic %s: bad id %q: %w", meta.Name, meta.ID, err)
		}
		t.parts = make([]*Partition, meta.Partitions)
		for i := range t.parts {
			t.parts[i] = r.newPartition(t, int32(i))
		}
		ps = append(ps, t.parts...)
		ts[k] = t
	}
	return ts, ps, nil
}

// openTopics opens every partition of the topics meta describes, workers
// at a time across all of them. On error nothing stays open.
func (r *Registry) openTopics(metas []topicMeta, workers int) ([]*Topic, error) {
	ts, ps, err := r.topicsFrom(metas)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(ps))
	forEach(len(ps), workers, nil, func(k int) { errs[k] = ps[k].ensureOpen() })
	if err := errors.Join(errs...); err != nil {
		closePartitions(ps, workers)
		return nil, err
	}
	return ts, nil
}

// openInBackground opens ps, workers at a time, until stop closes; a
// partition a request needs first is opened by that request
// (ensureOpen). It records the failures in r.openErr and closes
// r.opened when done.
func (r *Registry) openInBackground(ps []*Partition, workers int, stop <-chan struct{}) {
	defer close(r.opened)
	start := time.Now()
	errs := make([]error, len(ps))
	forEach(len(ps), workers, stop, func(k int) {
		if r.cfg.beforeBackgroundOpen != nil {
			r.cfg.beforeBackgroundOpen(ps[k])
		}
		errs[k] = ps[k].ensureOpen()
	})
	var failed []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, commitlog.ErrClosed) {
			failed = append(failed, err)
		}
	}
	r.openErr = errors.Join(failed...)
	select {
	case <-stop:
		return
	default:
	}
	if r.openErr != nil {
		r.log.Error("some partitions could not be opened", "failed", len(failed), "partitions", len(ps), "err", r.openErr)
		return
	}
	r.log.Info("opened every partition", "partitions", len(ps), "workers", workers, "took", time.Since(start).Round(time.Millisecond))
}

// forEach calls f(0) ... f(n-1) on at most workers goroutines and returns
// when every call has, or, once stop (if not nil) closes, when the calls
// under way have.
func forEach(n, workers int, stop <-chan struct{}, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				f(k)
			}
		}()
	}
feed:
	for k := range n {
		select {
		case next <- k:
		case <-stop:
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// closePartitions closes ps (nil entries skipped), workers at a time.
func closePartitions(ps []*Partition, workers int) error {
	errs := make([]error, len(ps))
	forEach(len(ps), workers, nil, func(k int) {
		if ps[k] != nil {
			errs[k] = ps[k].close()
		}
	})
	return errors.Join(errs...)
}

// logConfig is the commit log configuration of partition p of t: the
// topic's configs translated to the log's terms.
func (r *Registry) logConfig(t *Topic, p int32) commitlog.Config {
	retention := t.cfg.retention
	retentionBytes := t.cfg.retentionBytes
	if retentionBytes == 0 {
		retentionBytes = -1 // Kafka's 0 would delete everything; treat as unlimited like the log does
	}
	if !t.cfg.delete {
		// compact only: nothing is deleted by age or size.
		retention, retentionBytes = -1, -1
	}
	tombstones := t.cfg.tombstoneRetention
	if tombstones == 0 {
		tombstones = -1 // delete.retention.ms=0: drop at once (the log's 0 means its default)
	}
	return commitlog.Config{
		Compact:                t.cfg.compact,
		TombstoneRetention:     tombstones,
		MinCompactionLag:       t.cfg.minCompactionLag,
		MinCleanableDirtyRatio: t.cfg.minDirtyRatio,
		IndexCache:             r.indexCache,
		Files:                  r.files,
		Dir:                    filepath.Join(r.topicsDir(), t.name, strconv.Itoa(int(p))),
		SegmentBytes:           t.cfg.segmentBytes,
		SegmentMaxAge:          t.cfg.segmentAge,
		RetentionBytes:         retentionBytes,
		RetentionTime:          retention,
		Fsync:                  r.cfg.Fsync,
		FsyncInterval:          r.cfg.FsyncInterval,
		MaxBatchBytes:          r.cfg.MaxBatchBytes,
		SkipReadChecks:         r.cfg.SkipReadChecks,
		OneEpoch:               r.cfg.LeadFromCreation,
		BeforeFsync:            r.beforeFsync(t.name, p),
		Logger:                 r.log.With("topic", t.name, "partition", p),
	}
}

// beforeFsync is Config.BeforeFsync for one log, nil when not set.
func (r *Registry) beforeFsync(topic string, p int32) func() {
	hook := r.cfg.BeforeFsync
	if hook == nil {
		return nil
	}
	return func() { hook(topic, p) }
}

// close closes every opened partition of t.
func (t *Topic) close() error {
	return closePartitions(t.parts, runtime.GOMAXPROCS(0))
}
