package partition

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/durable"
)

// Config configures a Registry. The broker fills every field from its own
// Config, which states the defaults and validates them, so they are not
// repeated here: every field is required.
type Config struct {
	// Dir is the broker's data directory: topics live in Dir/topics,
	// deleted ones pass through Dir/deleted (see doc.go).
	Dir string
	// Partitions is the partition count of a topic created with -1.
	Partitions int
	// MaxPartitions is the most partitions a topic may have.
	MaxPartitions int
	// Retention is the default of retention.ms (<= 0: forever),
	// RetentionBytes of retention.bytes (<= 0: unlimited), SegmentBytes of
	// segment.bytes and MaxMessageBytes of max.message.bytes.
	Retention       time.Duration
	RetentionBytes  int64
	SegmentBytes    int64
	MaxMessageBytes int32
	// Fsync and FsyncInterval are every log's fsync policy.
	Fsync         commitlog.FsyncPolicy
	FsyncInterval time.Duration
	// MaxBatchBytes is the largest batch a log accepts: a guard against
	// batches no request could carry (the broker enforces
	// max.message.bytes itself).
	MaxBatchBytes int
	// RetentionCheckInterval is how often Maintain applies retention and
	// compaction.
	RetentionCheckInterval time.Duration
	// MaxOpenSegmentFiles is how many partitions may keep their active
	// segment's file open; past it the least recently used idle ones are
	// closed (and reopened on use). Default (0): the file limit
	// (RLIMIT_NOFILE) less a reserve for connections and everything else
	// (see newFileBudget).
	MaxOpenSegmentFiles int
	// OpenInBackground: Open returns once it has read every topic, and the
	// partitions open in the background (openWorkers at once), each
	// opened at once by the first request that needs it. Opened and
	// OpenErr tell when that is over and what failed. Default false: Open
	// returns when every partition is open, or fails.
	OpenInBackground bool
	// MaxTotalPartitions is the most partitions the registry holds, all
	// topics together: Create refuses a topic that would take it past
	// (ErrTooManyPartitions), except internal topics (the group
	// coordinator's). Default (0): partitionsPerFile per active segment
	// file the file limit allows (see files.go).
	MaxTotalPartitions int
	// SkipReadChecks is every log's commitlog.Config.SkipReadChecks.
	// Default false.
	SkipReadChecks bool
	// LeadFromCreation: this broker leads every partition at leader epoch
	// 0 from its creation (a single broker; a cluster's controller
	// assigns epochs at election instead). Create records epoch 0 at
	// offset 0 in each new partition then, as a Kafka leader assigns its
	// epoch when elected, so the partition's first produce does not write
	// the leader epoch checkpoint (two fsyncs) under its log's lock; one
	// produce request with the first batch of every partition paid that
	// once per partition, one after another. Default false.
	LeadFromCreation bool
	// Logger receives the registry's and the logs' logs.
	Logger *slog.Logger

	// BeforeFsync, when set by a test (the broker's), runs in a log's
	// syncer before each fsync, with the log's topic and partition.
	BeforeFsync func(topic string, partition int32)

	// beforeBackgroundOpen, when set by a test, runs in a background
	// worker before it opens a partition.
	beforeBackgroundOpen func(*Partition)
}

// indexCacheBytes bounds the closed-segment indexes of every partition
// together: 64 MiB holds the hot parts of ~8000 1 GiB segments' indexes;
// colder ones load on demand.
const indexCacheBytes = 64 << 20

// Registry is every topic under Config.Dir: it creates, opens, deletes and
// closes them and runs their maintenance. Topics are created and deleted
// under mu; a *Topic never changes after it is published in topics, so
// callers use it without a lock.
//
// Lock order: Registry.mu, then a partition's openMu, then its
// producerState.mu, then the commit log's locks (Create opens logs under
// mu; Append holds producerState.mu across the log's Append).
type Registry struct {
	cfg        Config
	log        *slog.Logger
	indexCache *commitlog.IndexCache

	files    *commitlog.FileBudget // closes idle partitions' files near the file limit
	limits   fileLimits            // what the file limit allows
	snaps    dirtyList             // partitions whose producer state changed since their last snapshot
	warnings warnLimiter           // maintenance failures, logged sparingly

	mu     sync.RWMutex
	topics map[string]*Topic
	held   int // partitions of all topics, guarded by mu

	// Opening in the background: opened is closed when it is over
	// (at once if Open opened everything itself), after openErr is set;
	// stopOpen cuts it short at Close.
	opened   chan struct{}
	openErr  error
	stopOpen chan struct{}
	stopOnce sync.Once
}

// Errors of topic management, mapped to Kafka codes by the broker.
var (
	ErrTopicExists       = errors.New("partition: topic already exists")
	ErrUnknownTopic      = errors.New("partition: unknown topic or partition")
	ErrInvalidTopicName  = errors.New("partition: invalid topic name")
	ErrInvalidPartitions = errors.New("partition: invalid partition count")
	ErrInvalidConfig     = errors.New("partition: invalid topic config")
	// ErrTooManyPartitions wraps ErrInvalidPartitions: the topic would take
	// the broker past what its open file limit allows (MaxTotalPartitions).
	ErrTooManyPartitions = fmt.Errorf("%w: too many partitions for the open file limit", ErrInvalidPartitions)
)

// Open opens every topic under cfg.Dir, recovering each partition's log
// (producer state is loaded on first need), and finishes deletions a crash
// interrupted. Partitions are opened by a pool of openWorkers goroutines
// across all topics, so a broker holding thousands starts in about the
// time its slowest few take; with OpenInBackground, Open returns before
// they are (see Config).
func Open(cfg Config) (*Registry, error) {
	r := &Registry{
		cfg:        cfg,
		log:        cfg.Logger,
		indexCache: commitlog.NewIndexCache(indexCacheBytes),
		topics:     map[string]*Topic{},
		opened:     make(chan struct{}),
		stopOpen:   make(chan struct{}),
	}
	r.limits = newFileLimits(cfg.MaxOpenSegmentFiles, cfg.MaxTotalPartitions, r.log)
	r.files = commitlog.NewFileBudget(r.limits.budget)
	if err := os.RemoveAll(r.deletedDir()); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.topicsDir(), 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(r.topicsDir())
	if err != nil {
		return nil, err
	}
	var metas []topicMeta
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		meta, ok, err := r.readMeta(e.Name())
		if err != nil {
			return nil, err
		}
		if ok {
			metas = append(metas, meta)
		}
	}
	start := time.Now()
	if cfg.OpenInBackground {
		ts, ps, err := r.topicsFrom(metas)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			r.topics[t.name] = t
		}
		r.held = len(ps)
		r.limits.logLimits(r.log, r.held)
		r.log.Info("opening topics in the background", "topics", len(ts), "partitions", len(ps), "workers", openWorkers)
		go r.openInBackground(ps, openWorkers, r.stopOpen)
		return r, nil
	}
	ts, err := r.openTopics(metas, openWorkers)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, t := range ts {
		r.topics[t.name] = t
		n += len(t.parts)
	}
	r.held = n
	r.limits.logLimits(r.log, r.held)
	close(r.opened)
	r.log.Info("opened topics", "topics", len(ts), "partitions", n, "workers", openWorkers,
		"took", time.Since(start).Round(time.Millisecond))
	return r, nil
}

// Opened is closed once every partition Open found is open, or failed
// to open (OpenErr), or Close cut the opening short.
func (r *Registry) Opened() <-chan struct{} { return r.opened }

// OpenErr is why partitions could not be opened in the background, once
// Opened is closed; nil before.
func (r *Registry) OpenErr() error {
	select {
	case <-r.opened:
		return r.openErr
	default:
		return nil
	}
}

func (r *Registry) topicsDir() string  { return filepath.Join(r.cfg.Dir, "topics") }
func (r *Registry) deletedDir() string { return filepath.Join(r.cfg.Dir, "deleted") }

// readMeta reads the topic.json of directory name, or removes the
// directory (ok false) if the topic's creation never reached its commit
// point.
func (r *Registry) readMeta(name string) (meta topicMeta, ok bool, err error) {
	meta, err = readTopicMeta(filepath.Join(r.topicsDir(), name))
	if errors.Is(err, os.ErrNotExist) {
		r.log.Warn("removing topic directory without topic.json", "dir", name)
		return meta, false, os.RemoveAll(filepath.Join(r.topicsDir(), name))
	}
	if err != nil {
		return meta, false, err
	}
	if meta.Name != name || meta.Partitions < 1 {
		return meta, false, fmt.Errorf("partition: %s/%s is corrupt (name %q, partitions %d)", name, topicMetaFile, meta.Name, meta.Partitions)
	}
	return meta, true, nil
}

// Close closes every partition, openWorkers at a time: its log is fsynced
// and gets its clean-shutdown marker, its producer state a last snapshot.
// Partitions the background opening had not come to stay as they are.
func (r *Registry) Close() error {
	r.stopOnce.Do(func() { close(r.stopOpen) })
	<-r.opened // the background opening stops at its next partition
	r.mu.Lock()
	defer r.mu.Unlock()
	var ps []*Partition
	for _, t := range r.topics {
		ps = append(ps, t.parts...)
	}
	return closePartitions(ps, openWorkers)
}

// Len is the number of topics.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.topics)
}

// Lookup returns the topic named name, or nil.
func (r *Registry) Lookup(name string) *Topic {
	r.mu.RLock()
	t := r.topics[name]
	r.mu.RUnlock()
	return t
}

// Partition returns a topic's partition, or ErrUnknownTopic.
func (r *Registry) Partition(topic string, p int32) (*Partition, error) {
	t := r.Lookup(topic)
	if t == nil {
		return nil, ErrUnknownTopic
	}
	return t.Partition(p)
}

// ByID returns the topic with the given id, or nil.
func (r *Registry) ByID(id [16]byte) *Topic {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, t := range r.topics {
		if t.id == id {
			return t
		}
	}
	return nil
}

// All returns every topic, by name.
func (r *Registry) All() []*Topic {
	r.mu.RLock()
	ts := make([]*Topic, 0, len(r.topics))
	for _, t := range r.topics {
		ts = append(ts, t)
	}
	r.mu.RUnlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// Defaults returns the broker-wide default of every topic config, as
// strings in Kafka's units.
func (r *Registry) Defaults() map[string]string { return r.cfg.defaults() }

// Create creates a topic with partitions partitions (-1: the default) and
// the given configs, or ErrTopicExists. With validateOnly it checks
// everything and creates nothing: the topic it returns has no partitions
// opened (nil entries).
func (r *Registry) Create(name string, partitions int32, configs map[string]string, validateOnly bool) (*Topic, error) {
	return r.create(name, partitions, configs, validateOnly, nil)
}

// CreateWithID creates a topic as Create does with the given id: a broker
// of a cluster creates its replicas of a topic the controller named.
func (r *Registry) CreateWithID(name string, id [16]byte, partitions int32, configs map[string]string) (*Topic, error) {
	return r.create(name, partitions, configs, false, &id)
}

func (r *Registry) create(name string, partitions int32, configs map[string]string, validateOnly bool, given *[16]byte) (*Topic, error) {
	partitions, err := r.check(name, partitions, configs)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.topics[name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	if err := r.roomFor(name, int(partitions)); err != nil {
		return nil, err
	}
	if validateOnly {
		return &Topic{name: name, cfg: r.cfg.resolve(configs), parts: make([]*Partition, partitions)}, nil
	}
	meta := topicMeta{Name: name, Partitions: partitions, Configs: configs, Created: time.Now().UTC()}
	var id [16]byte
	if given != nil {
		id = *given
	} else if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	meta.ID = hex.EncodeToString(id[:])
	if err := writeTopicMeta(filepath.Join(r.topicsDir(), name), meta); err != nil {
		return nil, err
	}
	ts, err := r.openTopics([]topicMeta{meta}, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, err
	}
	t := ts[0]
	if r.cfg.LeadFromCreation {
		r.assignFirstEpoch(t)
	}
	r.topics[name] = t
	r.held += len(t.parts)
	r.log.Info("created topic", "topic", name, "partitions", partitions, "configs", configs)
	return t, nil
}

// assignFirstEpoch records leader epoch 0 at offset 0 in every partition
// of the new topic t, openWorkers at a time (LeadFromCreation). A failure
// is logged and left: the partition's first append records the epoch as
// it would have without this.
func (r *Registry) assignFirstEpoch(t *Topic) {
	errs := make([]error, len(t.parts))
	forEach(len(t.parts), openWorkers, nil, func(k int) { errs[k] = t.parts[k].log.AssignEpoch(0) })
	if err := errors.Join(errs...); err != nil {
		r.log.Warn("cannot record the leader epoch of a new topic's partitions; their first appends will", "topic", t.name, "err", err)
	}
}

// roomFor refuses a topic of n partitions that would take the registry
// past MaxTotalPartitions. Internal topics (the group coordinator's) are
// let through: the broker needs them to work at all. Caller holds mu.
func (r *Registry) roomFor(name string, n int) error {
	if strings.HasPrefix(name, "__") || r.held+n <= r.limits.maxPartitions {
		return nil
	}
	return fmt.Errorf("%w: %s needs %d, the broker holds %d of the %d its open file limit (RLIMIT_NOFILE %d) allows; raise the limit (ulimit -n) to hold more",
		ErrTooManyPartitions, name, n, r.held, r.limits.maxPartitions, r.limits.limit)
}

// check validates what Create is asked for and returns the partition
// count, the default put in for -1.
func (r *Registry) check(name string, partitions int32, configs map[string]string) (int32, error) {
	if err := validTopicName(name); err != nil {
		return 0, err
	}
	if partitions == -1 {
		partitions = int32(r.cfg.Partitions)
	}
	if partitions < 1 || int(partitions) > r.cfg.MaxPartitions {
		return 0, fmt.Errorf("%w: %d not in 1..%d", ErrInvalidPartitions, partitions, r.cfg.MaxPartitions)
	}
	for k, v := range configs {
		if err := validateTopicConfig(k, v); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
		}
	}
	return partitions, nil
}

// Ensure returns the topic named name, creating it as Create does if it
// does not exist; of two callers racing to create it, both get the topic.
func (r *Registry) Ensure(name string, partitions int32, configs map[string]string) (*Topic, error) {
	if t := r.Lookup(name); t != nil {
		return t, nil
	}
	t, err := r.Create(name, partitions, configs, false)
	if errors.Is(err, ErrTopicExists) {
		if t := r.Lookup(name); t != nil {
			return t, nil
		}
	}
	return t, err
}

// Delete removes a topic and its data. Readers and writers that still
// hold its partitions get commitlog.ErrClosed.
func (r *Registry) Delete(name string) error {
	r.mu.Lock()
	t, ok := r.topics[name]
	if ok {
		delete(r.topics, name)
		r.held -= len(t.parts)
	}
	r.mu.Unlock()
	if !ok {
		return ErrUnknownTopic
	}
	if err := t.close(); err != nil {
		r.log.Warn("closing deleted topic", "topic", name, "err", err)
	}
	// Rename first: a crash mid-delete leaves a directory under deleted/
	// (removed at the next Open), never half a topic.
	if err := os.MkdirAll(r.deletedDir(), 0o755); err != nil {
		return err
	}
	gone := filepath.Join(r.deletedDir(), fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(filepath.Join(r.topicsDir(), name), gone); err != nil {
		return err
	}
	if err := durable.SyncDir(r.topicsDir()); err != nil {
		return err
	}
	r.log.Info("deleted topic", "topic", name)
	return os.RemoveAll(gone)
}

// validTopicName applies Kafka's rules: 1-249 characters of [a-zA-Z0-9._-],
// and not "." or "..".
func validTopicName(name string) error {
	if name == "" || len(name) > 249 || name == "." || name == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidTopicName, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q has %q; use only letters, digits, '.', '_' and '-'", ErrInvalidTopicName, name, r)
		}
	}
	return nil
}

// topicMeta is what a topic's topic.json holds. Writing it is the commit
// point of the topic's creation.
type topicMeta struct {
	Name       string            `json:"name"`
	ID         string            `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
	Created    time.Time         `json:"created"`
}

const topicMetaFile = "topic.json"

// writeTopicMeta creates the topic directory dir and commits meta to it.
func writeTopicMeta(dir string, meta topicMeta) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(dir, topicMetaFile), b)
}

// readTopicMeta reads dir's topic.json; an error wrapping os.ErrNotExist
// means there is none.
func readTopicMeta(dir string) (topicMeta, error) {
	var meta topicMeta
	b, err := os.ReadFile(filepath.Join(dir, topicMetaFile))
	if err != nil {
		return meta, err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return meta, fmt.Errorf("partition: %s/%s is corrupt: %w", filepath.Base(dir), topicMetaFile, err)
	}
	return meta, nil
}
