package commitlog

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// Sentinel errors. Callers test them with errors.Is; the returned errors wrap
// them with detail.
var (
	ErrCorruptBatch     = errors.New("commitlog: corrupt record batch")
	ErrBatchTooLarge    = errors.New("commitlog: record batch too large")
	ErrOffsetOutOfRange = errors.New("commitlog: offset out of range")
	ErrLogFailed        = errors.New("commitlog: log failed after a write error")
	ErrClosed           = errors.New("commitlog: log closed")
)

// Defaults for the zero values of Config.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentMaxAge      = 7 * 24 * time.Hour
	DefaultRetentionTime      = 168 * time.Hour
	DefaultIndexIntervalBytes = 4096
	DefaultFsyncInterval      = 100 * time.Millisecond
	// DefaultMaxBatchBytes is Kafka's message.max.bytes default (1 MiB + 12
	// bytes of log overhead): a batch that a stock Kafka broker accepts is
	// accepted here, and sarama's and franz-go's default producers stay under
	// it. The broker enforces the topic's max.message.bytes on its own.
	DefaultMaxBatchBytes = 1<<20 + batchOverhead

	// maxSegmentBytes keeps every file position in a uint32 index entry and
	// matches Kafka's cap (Int.MaxValue).
	maxSegmentBytes = math.MaxInt32
)

// Config configures one partition's log. An empty field means its default.
type Config struct {
	// Dir is the partition directory. Required; created if missing.
	Dir string
	// SegmentBytes rolls the active segment before a batch would take it past
	// this size. Default 1 GiB; at most 2 GiB-1.
	SegmentBytes int64
	// SegmentMaxAge rolls the active segment once its first batch was
	// appended this long ago. Default 7 days; negative never rolls by age.
	SegmentMaxAge time.Duration
	// RetentionBytes deletes the oldest closed segments while the log stays
	// at least this big without them (Kafka's retention.bytes). Default 0 =
	// unlimited; negative is unlimited too.
	RetentionBytes int64
	// RetentionTime deletes closed segments whose newest record timestamp is
	// older than this. Default 168h; negative keeps segments forever.
	RetentionTime time.Duration
	// IndexIntervalBytes is the number of log bytes between sparse index
	// entries. Default 4096.
	IndexIntervalBytes int
	// Fsync is the durability policy. Default FsyncBatch.
	Fsync FsyncPolicy
	// FsyncInterval is the fsync period under FsyncInterval. Default 100ms.
	FsyncInterval time.Duration
	// MaxBatchBytes is the largest batch Append accepts, 12-byte log
	// overhead included. Default DefaultMaxBatchBytes (1 MiB + 12 bytes).
	MaxBatchBytes int
	// Compact turns on log compaction (cleanup.policy=compact): Compact
	// keeps the latest record per key in closed segments, and Append
	// refuses batches with a record without a key (ErrCorruptBatch, as
	// Kafka answers CORRUPT_MESSAGE). Default false.
	Compact bool
	// TombstoneRetention is how long compaction keeps a tombstone (a record
	// with a null value) that is the latest of its key, counted from its
	// timestamp (Kafka's delete.retention.ms). Default 24h; negative
	// removes them at the first pass (delete.retention.ms=0).
	TombstoneRetention time.Duration
	// MinCompactionLag keeps segments holding a record younger than this
	// out of compaction (min.compaction.lag.ms). Default 0.
	MinCompactionLag time.Duration
	// MinCleanableDirtyRatio: Compact works only once the segments written
	// since the last pass are at least this fraction of the compactable
	// bytes (min.cleanable.dirty.ratio). Default 0.5; within (0, 1].
	MinCleanableDirtyRatio float64
	// IndexCache bounds the memory of closed segments' loaded indexes; share
	// one among many logs to bound them together. Default: a cache of this
	// log's own with DefaultIndexCacheBytes.
	IndexCache *IndexCache
	// Files bounds how many logs keep their active segment's file open;
	// share one among every log of a process. Default nil: the file stays
	// open from Open to Close.
	Files *FileBudget
	// SkipReadChecks turns off the CRC check of batches a read returns
	// that this run has not checked yet (verify.go); Scrub still checks.
	// For measuring what the checks cost. Default false: checked.
	SkipReadChecks bool
	// OneEpoch: the log is only ever written at leader epoch 0, by the
	// one broker that leads it from its creation. Open then keeps an
	// epoch entry that starts at the log end offset (assigned before any
	// append, AssignEpoch) instead of taking it for one a lost tail left:
	// with one epoch there is no later leader whose history it could
	// contradict. Default false (a cluster's log: such an entry is
	// dropped at Open, as Kafka does, and its leader assigns it again).
	OneEpoch bool
	// Logger receives recovery reports and failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for rolling and retention. Default time.Now.
	Now func() time.Time

	// BeforeFsync, when set by a test (this package's or a broker's),
	// runs in the syncer before each fsync.
	BeforeFsync func()
	// recoveryPointInterval and recoveryPointBytes bound how often the
	// recovery point is written (defaults DefaultRecoveryPointInterval and
	// DefaultRecoveryPointBytes); tests lower them.
	recoveryPointInterval time.Duration
	recoveryPointBytes    int64
	// afterRecoveryPoint, when set by a test, runs after each recovery
	// point is written.
	afterRecoveryPoint func(recoveryPoint)
	// compactHook, when set by a test, runs at each step of the compaction
	// swap; an error stops the pass there as a crash would.
	compactHook func(step, file string) error
	// truncateHook, when set by a test, runs at each step of Truncate; an
	// error stops it there as a crash would.
	truncateHook func(step string) error
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("commitlog: Config.Dir is required")
	}
	if c.SegmentBytes < 0 || c.SegmentBytes > maxSegmentBytes {
		return c, fmt.Errorf("commitlog: SegmentBytes %d outside 0..%d", c.SegmentBytes, maxSegmentBytes)
	}
	if c.IndexIntervalBytes < 0 || c.MaxBatchBytes < 0 || c.FsyncInterval < 0 {
		return c, errors.New("commitlog: IndexIntervalBytes, MaxBatchBytes and FsyncInterval must not be negative")
	}
	if c.MaxBatchBytes > maxSegmentBytes {
		return c, fmt.Errorf("commitlog: MaxBatchBytes %d above %d", c.MaxBatchBytes, maxSegmentBytes)
	}
	if c.Fsync < FsyncBatch || c.Fsync > FsyncNever {
		return c, fmt.Errorf("commitlog: unknown fsync policy %d", int(c.Fsync))
	}
	if c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1 || c.MinCompactionLag < 0 {
		return c, fmt.Errorf("commitlog: MinCleanableDirtyRatio %v outside (0, 1] or negative MinCompactionLag", c.MinCleanableDirtyRatio)
	}
	setDefault(&c.SegmentBytes, DefaultSegmentBytes)
	setDefault(&c.SegmentMaxAge, DefaultSegmentMaxAge)
	setDefault(&c.RetentionTime, DefaultRetentionTime)
	setDefault(&c.IndexIntervalBytes, DefaultIndexIntervalBytes)
	setDefault(&c.FsyncInterval, DefaultFsyncInterval)
	setDefault(&c.MaxBatchBytes, DefaultMaxBatchBytes)
	setDefault(&c.recoveryPointInterval, DefaultRecoveryPointInterval)
	setDefault(&c.recoveryPointBytes, DefaultRecoveryPointBytes)
	setDefault(&c.TombstoneRetention, DefaultTombstoneRetention)
	setDefault(&c.MinCleanableDirtyRatio, DefaultMinCleanableDirtyRatio)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.IndexCache == nil {
		c.IndexCache = NewIndexCache(DefaultIndexCacheBytes)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// EpochEntry records that leader epoch Epoch wrote its first batch at
// StartOffset.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// Stats are counters for metrics and tests.
type Stats struct {
	Fsyncs          int64    // fsyncs of segment files (syncer, rolls, Close)
	SyncerWakeups   int64    // times the syncer woke up: 0 while nothing is appended
	RejectedBatches int64    // Append calls refused as corrupt or too large
	IndexRebuilds   int64    // segments whose index files were rebuilt from the log
	Reads           int64    // preads of batches for readers (one per segment read)
	HeaderReads     int64    // preads of batch headers to find a reader's batch
	Recovery        Recovery // what Open did
}

// Recovery reports what Open found and did.
type Recovery struct {
	New            bool  // the directory held no segment: nothing to recover
	Clean          bool  // a valid clean-shutdown marker was trusted
	RecoveryPoint  bool  // after a crash, a valid recovery point was trusted
	Segments       int   // segments found
	ScannedBytes   int64 // bytes of the active segment read to find the end
	VerifiedBytes  int64 // of those, bytes whose CRCs were checked
	TruncatedBytes int64 // torn tail cut off the active segment
}

// Log is one partition: a directory of segments. All methods are safe for
// concurrent use.
type Log struct {
	cfg Config
	log *slog.Logger

	// mu guards the append state below. Lock order: Log.maintMu, then
	// Log.mu, then segment.saveMu, then segment.mu. The syncer never holds
	// mu while it fsyncs.
	mu       sync.Mutex
	segments []*segment // ascending base offsets; the last one is active
	leo      int64      // next offset to assign
	hw       int64      // offsets below are visible to readers
	durable  int64      // offsets below are fsynced
	size     int64      // bytes in all segments
	epochs   []EpochEntry
	err      error         // sticky, wraps ErrLogFailed
	closed   bool          // set once when Close starts
	shut     bool          // set once when Close has made everything durable or given up
	hwCh     chan struct{} // closed when hw advances; nil until someone waits
	syncCh   chan struct{} // closed when durable advances; nil until someone waits
	maintMu  sync.Mutex    // serialises Retain and Compact; Close waits for it
	// syncGate is held by the syncer around each fsync and its
	// bookkeeping, and by Truncate: lock order maintMu, syncGate, mu.
	syncGate sync.Mutex
	closing  atomic.Bool // set with closed: a compaction pass stops early

	cache  *IndexCache // bounds closed segments' loaded indexes
	damage damageSet   // damaged stretches found, by segment (scrub.go)

	kick chan struct{} // wakes the syncer; capacity 1
	// stop and done are made (under mu) when the first append starts the
	// syncer, nil before: Close reads them after setting closed, when no
	// append can start it any more.
	stop chan struct{} // closed by Close to stop the syncer
	done chan struct{} // closed by the syncer when it exits

	closeOnce sync.Once
	closeErr  error

	fsyncs        atomic.Int64
	rejected      atomic.Int64
	indexRebuilds atomic.Int64
	wakeups       atomic.Int64 // times the syncer woke up
	reads         atomic.Int64
	headerReads   atomic.Int64
	lastUse       atomic.Int64 // Files' epoch of the last append or read
	recovery      Recovery     // written by Open, and by loadActive under mu
	undoneWrites  bool         // guarded by mu: a failed write was undone since the last good one
	// markerOnDisk (guarded by mu): the clean-shutdown marker Open found
	// still describes the log, for nothing was written since. The first
	// Append removes it; Close with it still there has nothing to write.
	markerOnDisk bool
	// pendingLEO (guarded by mu) is the LEO the marker gave while the
	// active segment is not loaded yet (loadActive).
	pendingLEO int64

	// The last recovery point written. Only the syncer, Open and Close
	// touch these, and never at the same time (Close stops the syncer first).
	rpLast       recoveryPoint
	rpWritten    time.Time
	rpFailing    bool
	corruptOnce  sync.Once
	tooLargeOnce sync.Once
}

// Open opens or creates the partition log in cfg.Dir and recovers it (see
// doc.go). Under FsyncBatch and FsyncInterval the first Append starts the
// syncer goroutine.
func Open(cfg Config) (*Log, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Log{
		cfg:   cfg,
		log:   cfg.Logger.With("dir", cfg.Dir),
		cache: cfg.IndexCache,
		kick:  make(chan struct{}, 1),
	}
	if cfg.SkipReadChecks {
		l.damage.readChecks = readCheckNone
	}
	if err := l.recover(); err != nil {
		l.releaseAll()
		return nil, err
	}
	if cfg.Files != nil && !l.active().pending {
		cfg.Files.opened(l) // a pending segment's file opens in loadActive
	}
	return l, nil
}

// Append stores one record batch v2 and returns its first and last offsets.
// It validates the batch (ErrCorruptBatch, ErrBatchTooLarge), then rewrites
// batch in place: baseOffset = EndOffset() and partitionLeaderEpoch =
// leaderEpoch. The bytes are written to the active segment without fsync;
// durability is Sync's job. A write that fails but can be undone (a full
// disk refuses it: the segment is cut back to where it was, or a
// checkpoint cannot be written) returns its error and leaves the log
// writable, so appends resume by themselves when space returns. After a
// failed write that cannot be undone, or a failed fsync, every call returns
// an error wrapping ErrLogFailed.
func (l *Log) Append(batch []byte, leaderEpoch int32) (base, last int64, err error) {
	return l.append(batch, leaderEpoch, false)
}

// append is Append, or with replica AppendReplica: the batch keeps the
// base offset and leader epoch it carries.
func (l *Log) append(batch []byte, leaderEpoch int32, replica bool) (base, last int64, err error) {
	if len(batch) > l.cfg.MaxBatchBytes {
		l.reject(&l.tooLargeOnce, "too large")
		return -1, -1, fmt.Errorf("%w: %d bytes, limit %d", ErrBatchTooLarge, len(batch), l.cfg.MaxBatchBytes)
	}
	h, err := ValidateBatch(batch) // CRC outside the lock: appends to one partition overlap here
	if err == nil && l.cfg.Compact {
		err = checkKeyed(batch, h)
	}
	if err != nil {
		l.reject(&l.corruptOnce, err.Error())
		return -1, -1, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return -1, -1, err
	}
	if err := l.loadActive(); err != nil {
		return -1, -1, err
	}
	l.used()
	if l.markerOnDisk {
		if err := l.dropMarker(); err != nil {
			return -1, -1, l.undone(err)
		}
	}
	if replica {
		if err := l.replicaGap(h); err != nil {
			return -1, -1, err
		}
	}
	if err := l.maybeRoll(len(batch), h.LastOffsetDelta); err != nil {
		return -1, -1, l.undone(err)
	}
	base = l.leo
	last = base + int64(h.LastOffsetDelta)
	if err := l.noteEpoch(leaderEpoch, base); err != nil {
		// Metadata only, and written before the batch: refusing the batch
		// leaves the log as it was, and the next append tries again.
		return -1, -1, l.undone(fmt.Errorf("leader epoch checkpoint: %w", err))
	}
	if !replica {
		stamp(batch, base, leaderEpoch)
	}
	if err := l.active().append(l, batch, base, h.MaxTimestamp); err != nil {
		return -1, -1, l.undone(err)
	}
	if l.undoneWrites {
		l.undoneWrites = false
		l.log.Info("commitlog: writes succeed again")
	}
	if s := l.active(); s.rollBase.IsZero() {
		s.rollBase = l.cfg.Now()
	}
	l.size += int64(len(batch))
	l.leo = last + 1
	switch l.cfg.Fsync {
	case FsyncBatch:
		l.startSyncer()
		l.kickSyncer()
	case FsyncInterval:
		l.startSyncer()
		l.kickSyncer()
		l.setHW(l.leo)
	default:
		l.setHW(l.leo)
	}
	return base, last, nil
}

// startSyncer starts the syncer goroutine at the first append: a log
// that is never written (most of a big broker's, after a restart) never
// has one. Caller holds mu.
func (l *Log) startSyncer() {
	if l.stop == nil {
		l.stop = make(chan struct{})
		l.done = make(chan struct{})
		go l.syncLoop()
	}
}

func (l *Log) kickSyncer() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// errUndone marks a failed write that left nothing behind: the log stays
// writable.
var errUndone = errors.New("commitlog: write refused and undone; the partition stays writable")

// undone returns err for the caller of Append: the sticky error if err
// failed the log, else err, logged once per streak of such failures.
// Caller holds mu.
func (l *Log) undone(err error) error {
	if l.err != nil {
		return l.err
	}
	if !l.undoneWrites {
		l.undoneWrites = true
		l.log.Warn("commitlog: write failed and was undone; appends are refused until it succeeds (logged once until then)", "err", err)
	}
	return fmt.Errorf("%w: %w", errUndone, err)
}

// reject counts a refused batch and logs the first of each kind.
func (l *Log) reject(once *sync.Once, why string) {
	l.rejected.Add(1)
	once.Do(func() {
		l.log.Warn("commitlog: refusing record batch (logged once per kind; see Stats.RejectedBatches)", "reason", why)
	})
}

// writable reports why appends are refused. Caller holds mu.
func (l *Log) writable() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

// fail makes err the sticky error and wakes Sync waiters. Caller holds mu.
func (l *Log) fail(err error) error {
	if l.err == nil {
		l.err = fmt.Errorf("%w: %w", ErrLogFailed, err)
		l.log.Error("commitlog: partition failed; refusing writes until restart", "err", err)
		notify(&l.syncCh)
	}
	return l.err
}

// active is the segment appends go to. Caller holds mu.
func (l *Log) active() *segment { return l.segments[len(l.segments)-1] }

// setHW advances the high watermark and wakes Wait channels. Caller holds mu.
func (l *Log) setHW(hw int64) {
	if hw > l.hw {
		l.hw = hw
		notify(&l.hwCh)
	}
}

// setDurable records fsynced progress. Caller holds mu.
func (l *Log) setDurable(d int64) {
	if d > l.durable {
		l.durable = d
		notify(&l.syncCh)
		if l.cfg.Fsync == FsyncBatch {
			l.setHW(d)
		}
	}
}

// notify closes *ch if anyone took it; the next waiter makes a fresh one.
func notify(ch *chan struct{}) {
	if *ch != nil {
		close(*ch)
		*ch = nil
	}
}

// HighWatermark is the end of the visible log: offsets below it are
// readable. Under FsyncBatch it is the fsynced end; otherwise the LEO.
func (l *Log) HighWatermark() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hw
}

// EndOffset is the log end offset: the next offset Append assigns.
func (l *Log) EndOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leo
}

// StartOffset is the first offset still stored.
func (l *Log) StartOffset() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segments[0].base
}

// Size is the number of bytes of batches stored in all segments.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Err returns the sticky write error, or nil.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Wait returns a channel that is closed the next time the high watermark
// advances (or at once if the log is closed). Take a fresh channel after
// every wake-up.
func (l *Log) Wait() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hwCh == nil {
		l.hwCh = make(chan struct{})
		if l.closed {
			close(l.hwCh)
		}
	}
	return l.hwCh
}

// LeaderEpochs returns a copy of the leader epoch history.
func (l *Log) LeaderEpochs() []EpochEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]EpochEntry(nil), l.epochs...)
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	r := l.recovery // loadActive may still change it
	l.mu.Unlock()
	return Stats{
		Fsyncs:          l.fsyncs.Load(),
		SyncerWakeups:   l.wakeups.Load(),
		RejectedBatches: l.rejected.Load(),
		IndexRebuilds:   l.indexRebuilds.Load(),
		Reads:           l.reads.Load(),
		HeaderReads:     l.headerReads.Load(),
		Recovery:        r,
	}
}

// Close stops the syncer, fsyncs the active segment and its indexes, writes
// the clean-shutdown marker (unless the log failed) and closes the files once
// in-flight reads finish. It is idempotent; later calls return the first
// call's result.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.close() })
	return l.closeErr
}

func (l *Log) close() error {
	l.mu.Lock()
	l.closed = true
	l.closing.Store(true)
	notify(&l.hwCh)
	l.mu.Unlock()
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	l.maintMu.Lock() // a compaction pass sees closing and stops; none starts after
	defer l.maintMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	switch {
	case l.err != nil:
	case l.markerOnDisk:
		// Nothing written since Open: the marker on disk says it all.
	default:
		if err = l.shutdownClean(); err == nil {
			l.setDurable(l.leo) // Sync waiters still blocked get their answer
		}
	}
	l.shut = true
	notify(&l.syncCh) // the rest see ErrClosed or the sticky error
	l.releaseAll()
	if l.cfg.Files != nil {
		l.cfg.Files.closed(l)
	}
	return err
}

// dropMarker removes the clean-shutdown marker and fsyncs the directory,
// before anything is written: a crash from then on must look unclean.
// Caller holds mu (or is Open).
func (l *Log) dropMarker() error {
	if err := os.Remove(filepath.Join(l.cfg.Dir, markerFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("commitlog: remove marker: %w", err)
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		return err
	}
	l.markerOnDisk = false
	return nil
}

// shutdownClean makes the active segment durable and writes the recovery
// point and the marker. seal saved every index entry, so the recovery
// point needs no index write of its own; the two files share one
// directory fsync (either may survive a crash without the other: an older
// recovery point still points at an fsynced prefix, and a missing marker
// only costs a check). Caller holds mu.
func (l *Log) shutdownClean() error {
	s := l.active()
	if err := l.seal(s); err != nil {
		return err
	}
	rp := recoveryPoint{segment: s.base, position: s.size, next: l.leo}
	m := marker{activeBase: s.base, activeSize: s.size, leo: l.leo, rollBase: s.rollBase.UnixMilli()}
	if err := durable.WriteFiles(l.cfg.Dir, []string{recoveryPointFile, markerFile}, [][]byte{rp.encode(), m.encode()}); err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	l.noteRecoveryPoint(rp)
	return nil
}

// releaseAll drops the log's reference on every segment and takes them out
// of the index cache; files close when the last reader is done. The list
// stays for StartOffset and friends.
func (l *Log) releaseAll() {
	for _, s := range l.segments {
		l.cache.remove(s)
		s.release()
	}
}

// maybeRoll closes the active segment and starts a new one at the LEO if
// the batch would not fit or the segment is too old. The closed segment is
// sealed (fsynced with its indexes) first, so after a crash only the active
// segment can be torn. Caller holds mu.
//
// Only a failure to create the new segment (a full disk, no file
// descriptor left) leaves the log writable: the old segment stays active.
func (l *Log) maybeRoll(n int, lastDelta int32) error {
	s := l.active()
	if s.fits(n, l.leo, lastDelta, l.cfg.SegmentBytes) && !l.tooOld(s) {
		return nil
	}
	if err := l.seal(s); err != nil {
		return l.fail(err)
	}
	next, err := createSegment(l.cfg.Dir, l.leo, l.cfg.IndexIntervalBytes)
	if err != nil {
		return err
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		_ = next.file.Close()
		return l.fail(err)
	}
	l.segments = append(l.segments, next)
	l.setDurable(l.leo) // everything so far is in the sealed segment
	s.closed.Store(true)
	l.noteClosedUse(s)
	return nil
}

// tooOld reports whether s is past SegmentMaxAge. Caller holds mu.
func (l *Log) tooOld(s *segment) bool {
	return l.cfg.SegmentMaxAge > 0 && s.size > 0 && l.cfg.Now().Sub(s.rollBase) >= l.cfg.SegmentMaxAge
}
