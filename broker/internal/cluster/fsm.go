package cluster

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// fsm is the Raft state machine: the current *State, replaced by each
// entry applied, and a channel closed at every change.
type fsm struct {
	state atomic.Pointer[State]

	mu      sync.Mutex
	changed chan struct{}
}

func newFSM() *fsm {
	f := &fsm{changed: make(chan struct{})}
	f.state.Store(&State{Brokers: map[int32]*Broker{}, Topics: map[string]*Topic{}})
	return f
}

// Apply is called by Raft, one entry at a time, on every voter.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	n, err := apply(f.state.Load(), l.Index, l.Data)
	f.publish(n)
	return err
}

func (f *fsm) publish(n *State) {
	f.state.Store(n)
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// wait returns a channel closed at the next change of state.
func (f *fsm) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Snapshot captures the current state; it is immutable, so Persist may
// run concurrently with later Applies.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return snapshot{f.state.Load()}, nil
}

// Restore replaces the state with a snapshot's.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	var s State
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return err
	}
	if s.Brokers == nil {
		s.Brokers = map[int32]*Broker{}
	}
	if s.Topics == nil {
		s.Topics = map[string]*Topic{}
	}
	f.publish(&s)
	return nil
}

type snapshot struct{ s *State }

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (snapshot) Release() {}
