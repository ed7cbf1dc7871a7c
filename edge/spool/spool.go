package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Policy says what Append does once the spool holds MaxBytes.
type Policy string

// Policies at the bound; doc.go explains the choice of the default.
const (
	// PolicyAlarm keeps accepting beyond MaxBytes and alarms loudly (an
	// error log every AlarmEvery, OverLimit in Stats) until the disk is
	// full; only then do appends fail.
	PolicyAlarm Policy = "alarm"
	// PolicyDropNewest refuses appends that would take the spool beyond
	// MaxBytes (ErrFull), keeping the oldest data.
	PolicyDropNewest Policy = "drop-newest"
	// PolicyDropOldest deletes the oldest segments, unsent or not, to stay
	// within MaxBytes, keeping the newest data.
	PolicyDropOldest Policy = "drop-oldest"
)

// Errors of the spool.
var (
	// ErrFull: PolicyDropNewest refused an append at the bound.
	ErrFull = errors.New("spool: full")
	// ErrDiskFull: the disk holding the spool is full: the append was
	// refused (policies alarm and drop-newest; drop-oldest first deletes
	// undelivered segments) and the spool is unchanged.
	ErrDiskFull = errors.New("spool: disk full")
	// ErrWrite: an append could not be written (an I/O error other than
	// a full disk); the spool is unchanged.
	ErrWrite = errors.New("spool: write failed")
	// ErrBroken: a failed write could not be undone; the spool refuses
	// every later append.
	ErrBroken = errors.New("spool: broken by an earlier write error")
	// ErrLocked: another process has the spool directory open.
	ErrLocked = errors.New("spool: directory in use by another process")
	// ErrClosed: the spool is closed.
	ErrClosed = errors.New("spool: closed")
	// ErrConfig: a Config that cannot work.
	ErrConfig = errors.New("spool: bad config")
)

// Config configures a Spool. An empty field means its default.
type Config struct {
	// Dir holds the spool. Required; created if missing.
	Dir string
	// SegmentBytes is the size at which the file being appended to is
	// sealed and a new one started. Default 64 MiB, or a sixteenth of the
	// filesystem holding Dir if that is smaller (at least 64 KiB), so
	// drop-oldest on a small disk drops a little at a time.
	SegmentBytes int64
	// MaxBytes is the bound on the spool's size on disk; what happens at
	// the bound is Policy. Default 1 GiB.
	MaxBytes int64
	// Policy is what happens at MaxBytes. Default PolicyAlarm.
	Policy Policy
	// SyncEvery is how often appended data is fsynced, bounding what a
	// power cut loses (an edge crash or SIGKILL loses nothing written).
	// Default 1s; negative: never, only on Close.
	SyncEvery time.Duration
	// AlarmEvery is how often PolicyAlarm logs while over MaxBytes.
	// Default 10s.
	AlarmEvery time.Duration
	// ReserveBytes is disk space kept in a file beside the segments for
	// the cursor and other small state files, so a full disk never stops
	// them being written. Default 1 MiB.
	ReserveBytes int64
	// Logger receives alarms and recovery reports. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, fmt.Errorf("%w: Dir is required", ErrConfig)
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 64 << 20
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 1 << 30
	}
	if c.Policy == "" {
		c.Policy = PolicyAlarm
	}
	if c.SyncEvery == 0 {
		c.SyncEvery = time.Second
	}
	if c.ReserveBytes <= 0 {
		c.ReserveBytes = 1 << 20
	}
	if c.AlarmEvery <= 0 {
		c.AlarmEvery = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.SegmentBytes < 4096:
		return c, fmt.Errorf("%w: SegmentBytes %d below 4096", ErrConfig, c.SegmentBytes)
	case c.MaxBytes < c.SegmentBytes:
		return c, fmt.Errorf("%w: MaxBytes %d below SegmentBytes %d", ErrConfig, c.MaxBytes, c.SegmentBytes)
	case c.Policy != PolicyAlarm && c.Policy != PolicyDropNewest && c.Policy != PolicyDropOldest:
		return c, fmt.Errorf("%w: Policy %q: want %s, %s or %s", ErrConfig, c.Policy, PolicyAlarm, PolicyDropNewest, PolicyDropOldest)
	}
	return c, nil
}

// Spool is a durable FIFO of records on disk: Append at the tail, Read
// in order from the head, Ack what has been delivered. Safe for
// concurrent use; one reader.
type Spool struct {
	cfg  Config
	lock *os.File // flock'd LOCK file

	// cmu serialises the writers of the cursor and state files (persist,
	// WriteFile, Close), which fsync and so run without mu. Lock order:
	// cmu before mu.
	cmu     sync.Mutex
	reserve int64 // bytes in the reserve file; guarded by cmu

	// mu guards everything below. Appends, reads and acks all take it;
	// the disk work under it is one write or one page-cache read.
	mu       sync.Mutex
	closed   bool
	shut     bool       // files closed (end of Close)
	diskFull bool       // the last append found the disk full
	broken   error      // sticky: a failed write could not be undone
	segs     []*segment // oldest first; the last is the active one
	next     uint64     // index the next appended record gets
	bytes    int64      // on disk, all segments
	notify   chan struct{}
	dirty    bool       // the active segment was appended to since its last fsync
	unsyncd  []*os.File // sealed segments not fsynced since their last append
	stopSync chan struct{}
	syncDone chan struct{}
	alarmed  time.Time // last over-limit alarm
	// last disk-full and cursor alarms; diskAlarm is guarded by mu,
	// cursorAlarm by cmu
	diskAlarm, cursorAlarm time.Time
	rd                     reader
	acks                   ackState
	stats                  counters
	writes                 uint64 // write calls of appends
	groupBuf               []byte // a group's batches, written together

	// Appends that arrive while another is writing queue here and go to
	// the file together, in one write (group.go). gmu guards queue and
	// leading; it is never held with mu.
	gmu     sync.Mutex
	queue   []*appendCall
	leading bool
}

type counters struct {
	dropped uint64 // records deleted by PolicyDropOldest before delivery
	refused uint64 // records refused because the disk was full
	corrupt uint64 // records lost to corruption found on read
}

// Open opens (or creates) the spool in cfg.Dir, recovers it after a crash
// (truncating a torn tail, resuming from the last acknowledged record) and
// locks the directory against a second process.
func Open(cfg Config) (*Spool, error) {
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		if cfg.SegmentBytes == 0 {
			cfg.SegmentBytes = segmentBytesFor(cfg.Dir)
		}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{cfg: cfg, lock: lock, notify: make(chan struct{}), stopSync: make(chan struct{}), syncDone: make(chan struct{})}
	if err := s.recover(); err != nil {
		s.closeFiles()
		lock.Close()
		return nil, err
	}
	s.refillReserve()
	go s.syncLoop()
	return s, nil
}

// segmentBytesFor is the default SegmentBytes for a spool in dir: 64 MiB,
// or a sixteenth of its filesystem, at least 64 KiB.
func segmentBytesFor(dir string) int64 {
	const def, least = 64 << 20, 64 << 10
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return def
	}
	total := int64(st.Blocks) * st.Bsize
	return max(least, min(def, total/16/4096*4096))
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
	}
	return f, nil
}

// recover loads the segments and the cursor: see doc.go.
func (s *Spool) recover() error {
	bases, err := listSegments(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	cursor, cursorOK := s.readCursor()
	for i, base := range bases {
		seg, err := openSegment(s.cfg.Dir, base)
		if err != nil {
			if i == len(bases)-1 {
				// A last segment without a valid header holds nothing.
				s.cfg.Logger.Warn("spool: removing a segment with a bad header", "path", filepath.Join(s.cfg.Dir, segName(base)), "err", err)
				os.Remove(filepath.Join(s.cfg.Dir, segName(base)))
				continue
			}
			return err
		}
		s.segs = append(s.segs, seg)
		s.bytes += seg.size
	}
	if err := s.recoverTail(); err != nil {
		return err
	}
	if len(s.segs) > 0 {
		if oldest := s.segs[0].base; !cursorOK || cursor < oldest {
			if !cursorOK {
				s.cfg.Logger.Warn("spool: no cursor to trust; resuming at the oldest segment, the last position acknowledged for certain", "oldest", oldest)
			}
			cursor = oldest
		}
	}
	if cursor > s.next {
		// Everything up to cursor was delivered; nothing beyond exists.
		// Start a fresh segment there so indexes never go back.
		s.next = cursor
		if err := s.roll(); noSpace(err) {
			s.cfg.Logger.Warn("spool: disk full; the first append creates the segment", "err", err)
		} else if err != nil {
			return err
		}
	}
	s.acks.reset(cursor)
	s.deleteDelivered()
	return s.rd.seek(s, cursor)
}

// recoverTail scans the newest segment, truncates a torn or corrupt tail
// and sets s.next.
func (s *Spool) recoverTail() error {
	if len(s.segs) == 0 {
		return nil
	}
	last := s.segs[len(s.segs)-1]
	end, count, err := last.scan()
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("spool: %s: %w", last.path, err)
		}
		s.cfg.Logger.Warn("spool: truncating a torn tail (an edge crash mid-write)", "path", last.path, "offset", end, "bytes", last.size-end, "err", err)
		if err := last.f.Truncate(end); err != nil {
			return fmt.Errorf("spool: truncate %s: %w", last.path, err)
		}
		s.bytes -= last.size - end
		last.size = end
	}
	s.next = last.base + count
	return nil
}

// appendOne is Append of one batch on its own. Called with s.mu held.
func (s *Spool) appendOne(b *Batch) (uint64, error) {
	if err := s.appendable(b); err != nil {
		return 0, err
	}
	first := s.next
	if b.n == 0 {
		return first, nil
	}
	for {
		err := s.write(b)
		if err == nil {
			break
		}
		if !noSpace(err) || s.broken != nil {
			return 0, err
		}
		// The disk is full: the policy at the real limit.
		if s.cfg.Policy == PolicyDropOldest && s.dropForSpace() {
			continue
		}
		return 0, s.refuse(b, err)
	}
	s.next += uint64(b.n)
	s.appended(len(b.buf))
	return first, nil
}

// appended accounts n bytes just written at the end of the active
// segment (their records already counted in s.next), applies the bound's
// policy and wakes the reader. Called with s.mu held.
func (s *Spool) appended(n int) {
	s.diskFull = false
	active := s.segs[len(s.segs)-1]
	active.size += int64(n)
	s.bytes += int64(n)
	s.dirty = true
	s.atBound()
	close(s.notify)
	s.notify = make(chan struct{})
}

// write writes the batch at the end of the active segment, rolling it
// first if it is full; a failed write is undone. Called with s.mu held.
func (s *Spool) write(b *Batch) error {
	if err := s.rollIfFull(); err != nil {
		return err
	}
	return s.writeActive(b.buf)
}

// writeActive writes buf at the end of the active segment; a failed
// write is undone, and if that fails too the spool is broken. Called
// with s.mu held.
func (s *Spool) writeActive(buf []byte) error {
	active := s.segs[len(s.segs)-1]
	s.writes++
	if _, err := active.f.WriteAt(buf, active.size); err != nil {
		if terr := active.f.Truncate(active.size); terr != nil {
			s.broken = fmt.Errorf("%w: %w (then truncate: %v)", ErrBroken, err, terr)
			s.cfg.Logger.Error("spool: a failed write could not be undone; refusing every append from now on", "err", s.broken)
		}
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

func (s *Spool) appendable(b *Batch) error {
	switch {
	case s.closed:
		return ErrClosed
	case s.broken != nil:
		return s.broken
	case s.cfg.Policy == PolicyDropNewest && s.bytes+int64(b.Size()) > s.cfg.MaxBytes:
		return fmt.Errorf("%w: %d bytes on disk, bound %d", ErrFull, s.bytes, s.cfg.MaxBytes)
	}
	return nil
}

// rollIfFull seals the active segment once it reached SegmentBytes, or
// creates the first segment.
func (s *Spool) rollIfFull() error {
	if len(s.segs) > 0 && s.segs[len(s.segs)-1].size < s.cfg.SegmentBytes {
		return nil
	}
	return s.roll()
}

// roll starts a new active segment at s.next.
func (s *Spool) roll() error {
	if n := len(s.segs); n > 0 {
		if s.segs[n-1].base == s.next {
			return nil // the active segment is empty: keep it
		}
		if s.dirty {
			s.unsyncd = append(s.unsyncd, s.segs[n-1].f) // the sync loop fsyncs it
		}
	}
	seg, err := createSegment(s.cfg.Dir, s.next, s.cfg.Logger)
	if err != nil {
		return fmt.Errorf("%w: new segment: %w", ErrWrite, err)
	}
	s.segs = append(s.segs, seg)
	s.bytes += seg.size
	s.dirty = false
	return nil
}

// syncLoop fsyncs what was appended every SyncEvery, outside the lock:
// an fsync can take long on a busy disk, and appends and reads must not
// wait for it. It persists the cursor on the same tick (every second when
// SyncEvery is negative). Close stops it.
func (s *Spool) syncLoop() {
	defer close(s.syncDone)
	every := s.cfg.SyncEvery
	if every < 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopSync:
			return
		case <-t.C:
		}
		if s.cfg.SyncEvery > 0 {
			s.syncData()
		}
		s.persist()
	}
}

// syncData fsyncs the segments appended to since their last fsync.
func (s *Spool) syncData() {
	s.mu.Lock()
	files := s.unsyncd
	if n := len(s.segs); n > 0 && s.dirty {
		files = append(files, s.segs[n-1].f)
	}
	s.unsyncd, s.dirty = nil, false
	s.mu.Unlock()
	for _, f := range files {
		// A segment deleted (and its file closed) meanwhile needs
		// no fsync: os.ErrClosed is expected then.
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			s.cfg.Logger.Error("spool: fsync", "err", err)
		}
	}
}

// syncAll fsyncs everything appended, under the lock (Close).
func (s *Spool) syncAll() {
	files := s.unsyncd
	if n := len(s.segs); n > 0 && s.dirty {
		files = append(files, s.segs[n-1].f)
	}
	for _, f := range files {
		if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
			s.cfg.Logger.Error("spool: fsync", "err", err)
		}
	}
	s.unsyncd, s.dirty = nil, false
}

// Stats is a snapshot of the spool.
type Stats struct {
	// Bytes is the spool's size on disk.
	Bytes int64
	// Segments is the number of segment files.
	Segments int
	// Depth is the number of records appended but not yet acknowledged.
	Depth uint64
	// Unread is the number of records not yet handed out by Read.
	Unread uint64
	// Next is the index the next appended record gets.
	Next uint64
	// Cursor is the index of the oldest unacknowledged record.
	Cursor uint64
	// OverLimit is true while Bytes exceeds MaxBytes.
	OverLimit bool
	// DiskFull is true while the disk refuses appends (since the last
	// append that found it full, until one succeeds).
	DiskFull bool
	// Dropped counts records deleted undelivered by PolicyDropOldest.
	Dropped uint64
	// Refused counts records Append refused because the disk was full.
	Refused uint64
	// Corrupt counts records lost to corruption found while reading.
	Corrupt uint64
}

// Stats returns a snapshot.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Bytes: s.bytes, Segments: len(s.segs), Depth: s.next - s.acks.cursor, Unread: s.next - s.rd.index,
		Next: s.next, Cursor: s.acks.cursor, OverLimit: s.bytes > s.cfg.MaxBytes, DiskFull: s.diskFull,
		Dropped: s.stats.dropped, Refused: s.stats.refused, Corrupt: s.stats.corrupt,
	}
}

// Config returns the configuration with defaults filled in.
func (s *Spool) Config() Config { return s.cfg }

// Close fsyncs the segments, writes the cursor, closes the files and
// releases the directory. Records not acknowledged stay for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stopSync)
	<-s.syncDone
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.mu.Lock()
	s.syncAll()
	s.mu.Unlock()
	err := s.persistLocked()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shut = true
	if cerr := s.closeFiles(); err == nil {
		err = cerr
	}
	close(s.notify)
	if cerr := s.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Spool) closeFiles() error {
	var errs []error
	for _, seg := range s.segs {
		errs = append(errs, seg.close())
	}
	return errors.Join(errs...)
}
