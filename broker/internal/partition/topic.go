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

// openTopic opens every partition of a topic described by meta, several
// at once, since a crash recovery scans each log's tail.
func (r *Registry) openTopic(meta topicMeta) (*Topic, error) {
	t := &Topic{name: meta.Name, internal: strings.HasPrefix(meta.Name, "__"), cfg: r.cfg.resolve(meta.Configs)}
	if _, err := hex.Decode(t.id[:], []byte(meta.ID)); err != nil {
		return nil, fmt.Errorf("topic %s: bad id %q: %w", meta.Name, meta.ID, err)
	}
	t.parts = make([]*Partition, meta.Partitions)
	errs := make([]error, meta.Partitions)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range t.parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.parts[i], errs[i] = openPartition(r.logConfig(t, int32(i)), int32(i))
			if errs[i] != nil {
				errs[i] = fmt.Errorf("topic %s partition %d: %w", t.name, i, errs[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
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
		Dir:                    filepath.Join(r.topicsDir(), t.name, strconv.Itoa(int(p))),
		SegmentBytes:           t.cfg.segmentBytes,
		SegmentMaxAge:          t.cfg.segmentAge,
		RetentionBytes:         retentionBytes,
		RetentionTime:          retention,
		Fsync:                  r.cfg.Fsync,
		FsyncInterval:          r.cfg.FsyncInterval,
		MaxBatchBytes:          r.cfg.MaxBatchBytes,
		Logger:                 r.log.With("topic", t.name, "partition", p),
	}
}

// close closes every opened partition of t.
func (t *Topic) close() error {
	var errs []error
	for _, p := range t.parts {
		if p != nil {
			errs = append(errs, p.close())
		}
	}
	return errors.Join(errs...)
}
