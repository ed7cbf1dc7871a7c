package partition

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

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

// Partitions returns the topic's partitions by index; callers must not
// modify the slice.
func (t *Topic) Partitions() []*Partition { return t.parts }

// Partition returns partition p, or ErrUnknownTopic.
func (t *Topic) Partition(p int32) (*Partition, error) {
	if p < 0 || int(p) >= len(t.parts) {
		return nil, ErrUnknownTopic
	}
	return t.parts[p], nil
}

// openWorkers is how many partitions Open and Close work on at once. Opening
// a cleanly closed partition is mostly waiting for one directory fsync and
// closing one for a few file fsyncs, so far more than the core count keep
// the disk busy: the file system commits concurrent fsyncs together.
const openWorkers = 64

// openTopics opens every partition of the topics meta describes, workers
// at a time across all of them. On error nothing stays open.
func (r *Registry) openTopics(metas []topicMeta, workers int) ([]*Topic, error) {
	ts := make([]*Topic, len(metas))
	type job struct {
		t *Topic
		i int32
	}
	var jobs []job
	for k, meta := range metas {
		t := &Topic{name: meta.Name, internal: strings.HasPrefix(meta.Name, "__"), cfg: r.cfg.resolve(meta.Configs)}
		if _, err := hex.Decode(t.id[:], []byte(meta.ID)); err != nil {
			return nil, fmt.Errorf("topic %s: bad id %q: %w", meta.Name, meta.ID, err)
		}
		t.parts = make([]*Partition, meta.Partitions)
		for i := range t.parts {
			jobs = append(jobs, job{t, int32(i)})
		}
		ts[k] = t
	}
	errs := make([]error, len(jobs))
	forEach(len(jobs), workers, func(k int) {
		j := jobs[k]
		p, err := r.openPartition(j.t, j.i)
		if err != nil {
			errs[k] = fmt.Errorf("topic %s partition %d: %w", j.t.name, j.i, err)
			return
		}
		j.t.parts[j.i] = p
	})
	if err := errors.Join(errs...); err != nil {
		var opened []*Partition
		for _, t := range ts {
			opened = append(opened, t.parts...)
		}
		closePartitions(opened, workers)
		return nil, err
	}
	return ts, nil
}

// forEach calls f(0) ... f(n-1) on at most workers goroutines and returns
// when every call has.
func forEach(n, workers int, f func(int)) {
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
	for k := range n {
		next <- k
	}
	close(next)
	wg.Wait()
}

// closePartitions closes ps (nil entries skipped), workers at a time.
func closePartitions(ps []*Partition, workers int) error {
	errs := make([]error, len(ps))
	forEach(len(ps), workers, func(k int) {
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
		Logger:                 r.log.With("topic", t.name, "partition", p),
	}
}

// close closes every opened partition of t.
func (t *Topic) close() error {
	return closePartitions(t.parts, runtime.GOMAXPROCS(0))
}
