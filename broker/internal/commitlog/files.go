package commitlog

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// FileBudget bounds how many logs keep their active segment's file open.
// Every log holds that one file open from Open on; a broker with tens of
// thousands of partitions would otherwise need as many descriptors. When a
// log opens its file past the budget, the least recently used idle logs
// (nothing unsynced, no reader or fsync in flight) close theirs, down to
// nine tenths of the budget, and reopen it on their next append, read or
// fsync. Share one among every log of a process (Config.Files); its
// methods are safe for concurrent use.
//
// Recency is kept coarsely, so the append path pays one atomic load: each
// eviction round starts a new epoch, and a log used since stores the
// current one. A round closes logs from the oldest epoch on.
type FileBudget struct {
	max        int
	epoch      atomic.Int64
	idleClosed atomic.Int64

	// mu guards open. Lock order: Log.mu, then segment.mu, then
	// FileBudget.mu; an eviction round holds mu and only tries (TryLock)
	// other logs' locks, so it never waits on them.
	mu   sync.Mutex
	open map[*Log]struct{}
}

// NewFileBudget returns a budget of n open active segment files (at least
// 1).
func NewFileBudget(n int) *FileBudget {
	return &FileBudget{max: max(n, 1), open: map[*Log]struct{}{}}
}

// FileBudgetStats describes a FileBudget.
type FileBudgetStats struct {
	Open       int   // active segment files open now
	Max        int   // the budget
	IdleClosed int64 // files closed because their log was idle
}

// Stats returns the budget's figures.
func (b *FileBudget) Stats() FileBudgetStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return FileBudgetStats{Open: len(b.open), Max: b.max, IdleClosed: b.idleClosed.Load()}
}

// opened records that l's active file is open and, past the budget,
// closes idle logs' files. The caller may hold l.mu and the active
// segment's mu.
func (b *FileBudget) opened(l *Log) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open[l] = struct{}{}
	if len(b.open) > b.max {
		b.evict(l)
	}
}

// closed records that l's active file is closed.
func (b *FileBudget) closed(l *Log) {
	b.mu.Lock()
	delete(b.open, l)
	b.mu.Unlock()
}

// evict closes idle logs' files, least recently used first, until nine
// tenths of the budget are open (or no more can close). Caller holds mu.
func (b *FileBudget) evict(except *Log) {
	b.epoch.Add(1)
	logs := make([]*Log, 0, len(b.open))
	for l := range b.open {
		if l != except {
			logs = append(logs, l)
		}
	}
	slices.SortFunc(logs, func(x, y *Log) int { return int(x.lastUse.Load() - y.lastUse.Load()) })
	target := b.max - b.max/10
	for _, l := range logs {
		if len(b.open) <= target {
			return
		}
		if l.closeIdleFile() {
			delete(b.open, l)
			b.idleClosed.Add(1)
		}
	}
}

// used notes that l was used in the current epoch.
func (l *Log) used() {
	if b := l.cfg.Files; b != nil {
		if e := b.epoch.Load(); l.lastUse.Load() != e {
			l.lastUse.Store(e)
		}
	}
}

// closeIdleFile closes the active segment's file if the log is idle: its
// locks free, nothing unsynced (under FsyncBatch; under the other policies
// the file is fsynced first) and no reference but the log's own. It reports
// whether the file is closed now. Called by an eviction round only.
func (l *Log) closeIdleFile() bool {
	if !l.mu.TryLock() {
		return false
	}
	defer l.mu.Unlock()
	if l.closed || l.err != nil {
		return false
	}
	s := l.active()
	if !s.mu.TryLock() {
		return false
	}
	defer s.mu.Unlock()
	if s.file == nil {
		return true
	}
	if s.refs.Load() > 1 || (l.cfg.Fsync == FsyncBatch && l.durable < l.leo) {
		return false // a reader or the syncer holds it, or an fsync is due
	}
	if l.durable < l.leo {
		l.fsyncs.Add(1)
		if err := s.file.Sync(); err != nil {
			return false // the syncer or Close meets it and fails the log
		}
		l.setDurable(l.leo)
	}
	_ = s.file.Close() // fsynced: nothing to lose
	s.file = nil
	return true
}

// file returns s's open file, reopening it if an eviction round closed it
// (read-write while s is active). Caller holds s.mu.
func (l *Log) file(s *segment) (*os.File, error) {
	if s.file != nil {
		return s.file, nil
	}
	flag := os.O_RDONLY
	if !s.closed.Load() {
		flag = os.O_RDWR
	}
	f, err := durable.Open(s.path(logSuffix), flag, 0)
	if err != nil {
		return nil, fmt.Errorf("commitlog: reopen segment: %w", err)
	}
	s.file = f
	if flag == os.O_RDWR && l.cfg.Files != nil {
		l.cfg.Files.opened(l)
	}
	return f, nil
}

// activeFile is file for the active segment, taking its mu. Caller holds
// Log.mu or a reference on s.
func (l *Log) activeFile(s *segment) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return l.file(s)
}
