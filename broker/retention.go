package broker

import "time"

// retentionLoop applies every partition's retention each
// RetentionCheckInterval until the server drains. Retention deletes whole
// closed segments, so it never blocks appends for long.
func (s *Server) retentionLoop() {
	t := time.NewTicker(s.cfg.RetentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.draining:
			return
		case <-t.C:
			s.applyRetention()
		}
	}
}

func (s *Server) applyRetention() {
	s.mu.RLock()
	topics := make([]*topic, 0, len(s.topics))
	for _, t := range s.topics {
		topics = append(topics, t)
	}
	s.mu.RUnlock()
	for _, t := range topics {
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
