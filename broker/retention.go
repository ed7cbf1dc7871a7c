package broker

import "time"

// snapshotInterval is how often changed producer state is written, which
// bounds how much log a crash recovery reads back to rebuild it.
const snapshotInterval = 5 * time.Second

// maintenanceLoop applies every partition's retention each
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
