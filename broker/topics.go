package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/durable"
)

// A topic and its partitions. Topics are created and deleted under
// Server.mu; a *topic never changes after it is published in Server.topics,
// so handlers use it without holding the lock.
type topic struct {
	name     string
	id       [16]byte
	internal bool
	own      map[string]string // configs the topic sets itself
	cfg      effectiveConfig
	parts    []*partition
}

// partition is one partition of a topic: one commit log, and the state of
// the idempotent producers writing to it.
type partition struct {
	index     int32
	dir       string
	log       *commitlog.Log
	producers *producerState
}

// topicMeta is what DataDir/topics/<name>/topic.json holds. Writing it is
// the commit point of a topic's creation.
type topicMeta struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
	Created    time.Time         `json:"created"`
}

// Errors of topic management, mapped to Kafka codes by the handlers.
var (
	errTopicExists       = errors.New("broker: topic already exists")
	errUnknownTopic      = errors.New("broker: unknown topic or partition")
	errInvalidTopicName  = errors.New("broker: invalid topic name")
	errInvalidPartitions = errors.New("broker: invalid partition count")
	errInvalidConfig     = errors.New("broker: invalid topic config")
	errInternalTopic     = errors.New("broker: internal topic")
)

const topicMetaFile = "topic.json"

func (s *Server) topicsDir() string  { return filepath.Join(s.cfg.DataDir, "topics") }
func (s *Server) deletedDir() string { return filepath.Join(s.cfg.DataDir, "deleted") }

// validTopicName applies Kafka's rules: 1-249 characters of [a-zA-Z0-9._-],
// and not "." or "..".
func validTopicName(name string) error {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return fmt.Errorf("%w: %q", errInvalidTopicName, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q has %q; use only letters, digits, '.', '_' and '-'", errInvalidTopicName, name, r)
		}
	}
	return nil
}

// lookupTopic returns the topic named name, or nil.
func (s *Server) lookupTopic(name string) *topic {
	s.mu.RLock()
	t := s.topics[name]
	s.mu.RUnlock()
	return t
}

// lookupPartition returns a topic's partition, or errUnknownTopic.
func (s *Server) lookupPartition(name string, p int32) (*partition, error) {
	t := s.lookupTopic(name)
	if t == nil || p < 0 || int(p) >= len(t.parts) {
		return nil, errUnknownTopic
	}
	return t.parts[p], nil
}

// autoTopic returns the topic named name, creating it with the defaults if
// it does not exist and auto-creation is on and allowed.
func (s *Server) autoTopic(name string, allowed bool) (*topic, error) {
	if t := s.lookupTopic(name); t != nil {
		return t, nil
	}
	partitions, configs := int32(-1), map[string]string(nil)
	if name == offsetsTopic {
		// A client may name it before any group commits: create it
		// as the coordinator does (compacted, kept forever), never
		// with the defaults, which would age offsets out.
		partitions, configs = int32(min(offsetsTopicPartitions, s.cfg.MaxPartitions)), offsetsTopicConfigs
	} else if s.cfg.DisableAutoCreate || !allowed {
		return nil, errUnknownTopic
	}
	t, err := s.createTopic(name, partitions, configs, false)
	if errors.Is(err, errTopicExists) {
		if t := s.lookupTopic(name); t != nil {
			return t, nil
		}
	}
	return t, err
}

// createTopic creates a topic with partitions partitions (-1: the default)
// and the given configs. With validateOnly it checks everything and creates
// nothing.
func (s *Server) createTopic(name string, partitions int32, configs map[string]string, validateOnly bool) (*topic, error) {
	if err := validTopicName(name); err != nil {
		return nil, err
	}
	if partitions == -1 {
		partitions = int32(s.cfg.Partitions)
	}
	if partitions < 1 || int(partitions) > s.cfg.MaxPartitions {
		return nil, fmt.Errorf("%w: %d not in 1..%d", errInvalidPartitions, partitions, s.cfg.MaxPartitions)
	}
	for k, v := range configs {
		if err := validateTopicConfig(k, v); err != nil {
			return nil, fmt.Errorf("%w: %v", errInvalidConfig, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[name]; ok {
		return nil, fmt.Errorf("%w: %s", errTopicExists, name)
	}
	if validateOnly {
		return &topic{name: name, own: configs, cfg: s.cfg.resolveConfig(configs), parts: make([]*partition, partitions)}, nil
	}
	meta := topicMeta{Name: name, Partitions: partitions, Configs: configs, Created: time.Now().UTC()}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	meta.ID = hex.EncodeToString(id[:])
	dir := filepath.Join(s.topicsDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := durable.WriteFile(filepath.Join(dir, topicMetaFile), b); err != nil {
		return nil, err
	}
	t, err := s.openTopic(meta)
	if err != nil {
		return nil, err
	}
	s.topics[name] = t
	s.log.Info("created topic", "topic", name, "partitions", partitions, "configs", configs)
	return t, nil
}

// openTopic opens every partition log of a topic described by meta,
// several at once, since a crash recovery scans each log's tail.
func (s *Server) openTopic(meta topicMeta) (*topic, error) {
	t := &topic{name: meta.Name, internal: strings.HasPrefix(meta.Name, "__"), own: meta.Configs}
	if _, err := hex.Decode(t.id[:], []byte(meta.ID)); err != nil {
		return nil, fmt.Errorf("topic %s: bad id %q: %w", meta.Name, meta.ID, err)
	}
	if t.own == nil {
		t.own = map[string]string{}
	}
	t.cfg = s.cfg.resolveConfig(t.own)
	t.parts = make([]*partition, meta.Partitions)
	errs := make([]error, meta.Partitions)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range t.parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cfg := s.logConfig(t, int32(i))
			l, err := commitlog.Open(cfg)
			if err != nil {
				errs[i] = fmt.Errorf("topic %s partition %d: %w", t.name, i, err)
				return
			}
			ps, err := loadProducerState(cfg.Dir, l)
			if err != nil {
				l.Close()
				errs[i] = fmt.Errorf("topic %s partition %d: %w", t.name, i, err)
				return
			}
			t.parts[i] = &partition{index: int32(i), dir: cfg.Dir, log: l, producers: ps}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeTopic(t)
		return nil, err
	}
	return t, nil
}

func (s *Server) logConfig(t *topic, p int32) commitlog.Config {
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
		IndexCache:             s.indexCache,
		Dir:                    filepath.Join(s.topicsDir(), t.name, strconv.Itoa(int(p))),
		SegmentBytes:           t.cfg.segmentBytes,
		SegmentMaxAge:          t.cfg.segmentAge,
		RetentionBytes:         retentionBytes,
		RetentionTime:          retention,
		Fsync:                  s.fsync,
		FsyncInterval:          s.cfg.FsyncInterval,
		// The broker enforces max.message.bytes per topic itself; the
		// log only guards against batches no request could carry.
		MaxBatchBytes: int(s.cfg.MaxRequestBytes),
		Logger:        s.log.With("topic", t.name, "partition", p),
	}
}

// closeTopic snapshots the producer state of every opened partition of t
// and closes its log.
func closeTopic(t *topic) error {
	var errs []error
	for _, p := range t.parts {
		if p != nil {
			errs = append(errs, p.closeLog())
		}
	}
	return errors.Join(errs...)
}

func (p *partition) closeLog() error {
	// Sync first, so the snapshot can cover everything written.
	err := p.log.Sync(context.Background(), p.log.EndOffset())
	if err == nil {
		err = p.producers.snapshot(p.dir, p.log.HighWatermark(), time.Now())
	}
	return errors.Join(err, p.log.Close())
}

// deleteTopic removes a topic and its data. Readers and writers that still
// hold its partitions get commitlog.ErrClosed.
func (s *Server) deleteTopic(name string) error {
	if name == offsetsTopic {
		return fmt.Errorf("%w: %s holds the consumer groups' offsets", errInternalTopic, name)
	}
	s.mu.Lock()
	t, ok := s.topics[name]
	if ok {
		delete(s.topics, name)
	}
	s.mu.Unlock()
	if !ok {
		return errUnknownTopic
	}
	if err := closeTopic(t); err != nil {
		s.log.Warn("closing deleted topic", "topic", name, "err", err)
	}
	// Rename first: a crash mid-delete leaves a directory under deleted/
	// (removed at the next start), never half a topic.
	if err := os.MkdirAll(s.deletedDir(), 0o755); err != nil {
		return err
	}
	gone := filepath.Join(s.deletedDir(), fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(filepath.Join(s.topicsDir(), name), gone); err != nil {
		return err
	}
	if err := durable.SyncDir(s.topicsDir()); err != nil {
		return err
	}
	s.log.Info("deleted topic", "topic", name)
	return os.RemoveAll(gone)
}

// loadTopics opens every topic under DataDir at startup.
func (s *Server) loadTopics() error {
	if err := os.RemoveAll(s.deletedDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(s.topicsDir(), 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(s.topicsDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.topicsDir(), e.Name(), topicMetaFile))
		if errors.Is(err, os.ErrNotExist) {
			// Creation never reached its commit point.
			s.log.Warn("removing topic directory without topic.json", "dir", e.Name())
			if err := os.RemoveAll(filepath.Join(s.topicsDir(), e.Name())); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		var meta topicMeta
		if err := json.Unmarshal(b, &meta); err != nil || meta.Name != e.Name() || meta.Partitions < 1 {
			return fmt.Errorf("broker: %s/%s is corrupt (name %q, partitions %d, err %v)", e.Name(), topicMetaFile, meta.Name, meta.Partitions, err)
		}
		t, err := s.openTopic(meta)
		if err != nil {
			return err
		}
		s.topics[meta.Name] = t
	}
	return nil
}
