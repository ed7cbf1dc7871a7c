package partition

import (
	"log/slog"
	"sync"
	"time"
)

// snapshotInterval is how soon changed producer state is written, which
// bounds how much log a crash recovery reads back to rebuild it.
const snapshotInterval = 5 * time.Second

// Maintain applies every partition's retention and compaction each
// RetentionCheckInterval and snapshots changed producer state every
// snapshotInterval, until stop is closed. It runs on the caller's
// goroutine (the broker runs it while it serves). Retention deletes whole
// closed segments, so it never blocks appends for long.
//
// An idle broker costs next to nothing here however many partitions it
// holds: a snapshot pass visits only the partitions whose producer state
// changed (Append queues them), and the retention pass reads no file of a
// partition with a single segment.
func (r *Registry) Maintain(stop <-chan struct{}) {
	retention := time.NewTicker(r.cfg.RetentionCheckInterval)
	defer retention.Stop()
	snapshots := time.NewTicker(snapshotInterval)
	defer snapshots.Stop()
	for {
		select {
		case <-stop:
			return
		case <-retention.C:
			r.retain(time.Now())
			r.Compact()
		case <-snapshots.C:
			r.snapshotProducers(time.Now())
		}
	}
}

// MaintenanceStats counts the maintenance's work, for tests and metrics.
type MaintenanceStats struct {
	Snapshots       int64 // producer-state.json files written
	SnapshotsFailed int64 // writes of them that failed (retried at the next pass)
	OpenFiles       int   // partitions' active segment files open now
	FileBudget      int   // how many may be open before idle ones are closed
	IdleClosed      int64 // active segment files closed because their partition was idle
	FileLimit       int64 // the open file limit (RLIMIT_NOFILE) the budget comes from
	Partitions      int   // partitions held, all topics together
	MaxPartitions   int   // how many the file limit allows (MaxTotalPartitions)
}

// Stats returns the maintenance counters and the file budget's state.
func (r *Registry) Stats() MaintenanceStats {
	r.snaps.mu.Lock()
	st := MaintenanceStats{Snapshots: r.snaps.written, SnapshotsFailed: r.snaps.failed}
	r.snaps.mu.Unlock()
	fs := r.files.Stats()
	st.OpenFiles, st.FileBudget, st.IdleClosed = fs.Open, fs.Max, fs.IdleClosed
	st.FileLimit, st.MaxPartitions = int64(r.limits.limit), r.limits.maxPartitions
	r.mu.RLock()
	st.Partitions = r.held
	r.mu.RUnlock()
	return st
}

// snapshotProducers writes the producer state of every partition queued
// since the last pass; a partition whose write fails stays queued.
func (r *Registry) snapshotProducers(now time.Time) {
	for _, p := range r.snaps.take() {
		if !p.live() {
			continue
		}
		wrote, err := p.snapshot(now, false)
		r.snaps.count(wrote, err)
		if err != nil {
			r.snaps.add(p)
			r.warnings.warn(r.log, "producer state snapshot", p, err)
		}
	}
}

func (r *Registry) retain(now time.Time) {
	for _, t := range r.All() {
		for _, p := range t.parts {
			if !p.live() {
				continue // not open yet: nothing to retain until it is
			}
			if p.producers.expireDue(now) {
				r.snaps.add(p)
			}
			n, err := p.log.Retain()
			if err != nil {
				r.warnings.warn(r.log, "retention", p, err)
			} else if n > 0 {
				r.log.Info("retention deleted segments", "topic", t.name, "partition", p.index, "segments", n)
			}
		}
	}
}

// Compact runs a compaction pass on every partition of compacted topics (a
// no-op on others, and on logs without enough new data). Passes build new
// segments beside the old and swap them in briefly, so appends go on.
// Maintain calls it; tests call it to compact now.
func (r *Registry) Compact() {
	for _, t := range r.All() {
		if !t.cfg.compact {
			continue
		}
		for _, p := range t.parts {
			if !p.live() {
				continue
			}
			st, err := p.log.Compact()
			switch {
			case err != nil:
				r.warnings.warn(r.log, "compaction", p, err)
			case !st.Skipped && st.RecordsRemoved+st.TombstonesRemoved > 0:
				r.log.Info("compacted", "topic", t.name, "partition", p.index, "records_removed", st.RecordsRemoved,
					"tombstones_removed", st.TombstonesRemoved, "bytes_read", st.BytesRead, "bytes_written", st.BytesWritten, "took", st.Duration)
			}
		}
	}
}

// dirtyList is the set of partitions whose producer state changed since
// their last snapshot. Its mutex is a leaf: Append adds under the
// partition's producerState.mu.
type dirtyList struct {
	mu      sync.Mutex
	parts   map[*Partition]struct{}
	written int64
	failed  int64
}

func (d *dirtyList) add(p *Partition) {
	d.mu.Lock()
	if d.parts == nil {
		d.parts = map[*Partition]struct{}{}
	}
	d.parts[p] = struct{}{}
	d.mu.Unlock()
}

// take empties the set and returns what it held.
func (d *dirtyList) take() []*Partition {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := make([]*Partition, 0, len(d.parts))
	for p := range d.parts {
		ps = append(ps, p)
	}
	clear(d.parts)
	return ps
}

func (d *dirtyList) count(wrote bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if wrote {
		d.written++
	}
	if err != nil {
		d.failed++
	}
}

// warnInterval is the least time between two warnings of one kind: a full
// disk fails every partition's maintenance at every pass, and one line a
// minute saying how many failed says as much as thousands.
const warnInterval = time.Minute

// warnLimiter logs maintenance failures sparingly: the first of a kind at
// once, then at most one line per warnInterval with how many failed since.
type warnLimiter struct {
	mu    sync.Mutex
	kinds map[string]*warnState
}

type warnState struct {
	last       time.Time
	suppressed int
}

func (w *warnLimiter) warn(log *slog.Logger, kind string, p *Partition, err error) {
	w.mu.Lock()
	if w.kinds == nil {
		w.kinds = map[string]*warnState{}
	}
	st := w.kinds[kind]
	if st == nil {
		st = &warnState{}
		w.kinds[kind] = st
	}
	now := time.Now()
	if !st.last.IsZero() && now.Sub(st.last) < warnInterval {
		st.suppressed++
		w.mu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	w.mu.Unlock()
	log.Warn(kind+" failed; retrying at the next pass", "topic", p.topic, "partition", p.index, "err", err,
		"failures_not_logged", n, "logged_at_most_every", warnInterval)
}
