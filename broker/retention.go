package broker

import "time"

// snapshotInterval is how often changed producer state is written, which
// bounds how much log a crash recovery reads back to rebuild it.
const snapshotInterval = 5 * time.Second

// maintenanceLoop applies every partition's retention and compaction each
// RetentionCheckInterval and snapshots producer state every
// snapshotInterval, until the server drains. Retention deletes whole closed
// segments, so it never blocks appends for long.
func (s *Server) maintenanceLoop() {
	retention := time.NewTicker(s.cfg.RetentionCheckInterval)
	defer retention.Stop()
	snapshots := time.NewTicker(snapshotInterval)
	defer snapshots.Stop()
	for {
		select {
		case <-s.draining:
			return
		case <-retention.C:
			s.applyRetention()
			s.compact()
		case <-snapshots.C:
			s.snapshotProducers()
		}
	}
}

func (s *Server) snapshotProducers() {
	now := time.Now()
	for _, t := range s.sortedTopics() {
		for _, p := range t.parts {
			if err := p.producers.snapshot(p.dir, p.log.HighWatermark(), now); err != nil {
				s.log.Warn("producer state snapshot", "topic", t.name, "partition", p.index, "err", err)
			}
		}
	}
}

func (s *Server) applyRetention() {
	for _, t := range s.sortedTopics() {
		for _, p := range t.parts {
			n, err := p.log.Retain()
			if err != nil {
				s.log.Warn("retention", "topic", t.name, "partition", p.index, "err", err)
			} else if n > 0 {
				s.log.Info("retention deleted segments", "topic", t.name, "partition", p.index, "segments", n)
			}
		}
	}
}

// compact runs a compaction pass on every partition of compacted topics (a
// no-op on others, and on logs without enough new data). Passes build new
// segments beside the old and swap them in briefly, so appends go on.
func (s *Server) compact() {
	for _, t := range s.sortedTopics() {
		if !t.cfg.compact {
			continue
		}
		for _, p := range t.parts {
			st, err := p.log.Compact()
			switch {
			case err != nil:
				s.log.Warn("compaction", "topic", t.name, "partition", p.index, "err", err)
			case !st.Skipped && st.RecordsRemoved+st.TombstonesRemoved > 0:
				s.log.Info("compacted", "topic", t.name, "partition", p.index, "records_removed", st.RecordsRemoved,
					"tombstones_removed", st.TombstonesRemoved, "bytes_read", st.BytesRead, "bytes_written", st.BytesWritten, "took", st.Duration)
			}
		}
	}
}
