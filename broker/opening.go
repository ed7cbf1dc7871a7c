package broker

import "fmt"

// A broker restarting with thousands of partitions serves before they are
// all open: the registry opens them in the background (internal/partition,
// OpenInBackground), a request needing one that is not open yet opens it
// at once, and Metadata for all topics reports those still waiting with
// LEADER_NOT_AVAILABLE, which every client retries (03_metadata.go).

// watchOpening waits for the background opening of the partitions to
// finish and, if some could not be opened, stops the broker: with one data
// directory Kafka does the same, and a partition that cannot be opened
// needs an operator. It returns when stop closes.
func (s *Server) watchOpening(stop <-chan struct{}) {
	select {
	case <-stop:
		return
	case <-s.topics.Opened():
	}
	if err := s.topics.OpenErr(); err != nil {
		s.openFailed = fmt.Errorf("broker: stopping: partitions could not be opened: %w", err)
		s.log.Error("stopping: partitions could not be opened", "err", err)
		s.drain()
	}
}
