package partition

import "time"

// snapshotInterval is how often changed producer state is written, which
// bounds how much log a crash recovery reads back to rebuild it.
const snapshotInterval = 5 * time.Second

// Maintain applies every partition's retention and compaction each
// RetentionCheckInterval and snapshots producer state every
// snapshotInterval, until stop is closed. It runs on the caller's
// goroutine (the broker runs it while it serves). Retention deletes whole
// closed segments, so it never blocks appends for long.
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
			r.retain()
			r.Compact()
		case <-snapshots.C:
			r.snapshotProducers()
		}
	}
}

func (r *Registry) snapshotProducers() {
	now := time.Now()
	for _, t := range r.All() {
		for _, p := range t.parts {
			if err := p.snapshot(now); err != nil {
				r.log.Warn("producer state snapshot", "topic", t.name, "partition", p.index, "err", err)
			}
		}
	}
}

func (r *Registry) retain() {
	for _, t := range r.All() {
		for _, p := range t.parts {
			n, err := p.log.Retain()
			if err != nil {
				r.log.Warn("retention", "topic", t.name, "partition", p.index, "err", err)
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
			st, err := p.log.Compact()
			switch {
			case err != nil:
				r.log.Warn("compaction", "topic", t.name, "partition", p.index, "err", err)
			case !st.Skipped && st.RecordsRemoved+st.TombstonesRemoved > 0:
				r.log.Info("compacted", "topic", t.name, "partition", p.index, "records_removed", st.RecordsRemoved,
					"tombstones_removed", st.TombstonesRemoved, "bytes_read", st.BytesRead, "bytes_written", st.BytesWritten, "took", st.Duration)
			}
		}
	}
}
