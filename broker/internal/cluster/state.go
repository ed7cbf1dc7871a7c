package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// State is the cluster metadata every broker holds: the brokers and their
// liveness, and the topics with each partition's replicas, leader, leader
// epoch and ISR. A *State is never changed once published (the FSM builds
// a new one per entry), so readers use it without locks.
type State struct {
	// Index is the Raft log index of the last entry applied.
	Index   uint64            `json:"index"`
	Brokers map[int32]*Broker `json:"brokers"`
	Topics  map[string]*Topic `json:"topics"`
}

// Broker is one registered broker.
type Broker struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	// Epoch is the Raft index of the broker's last registration; a fence
	// names it, so a fence decided before the broker came back is a no-op.
	Epoch uint64 `json:"epoch"`
	// Fenced brokers missed their session timeout: they lead nothing and
	// are not in Metadata until they heartbeat again.
	Fenced bool `json:"fenced"`
}

// Topic is one topic's assignment.
type Topic struct {
	Name       string            `json:"name"`
	ID         [16]byte          `json:"id"`
	Configs    map[string]string `json:"configs,omitempty"`
	Partitions []Partition       `json:"partitions"`
}

// Partition is one partition's replicas and leadership.
type Partition struct {
	Replicas []int32 `json:"replicas"`
	ISR      []int32 `json:"isr"`
	// Leader is -1 when no ISR member is alive (unclean election is off:
	// a replica outside the ISR is never made leader).
	Leader      int32 `json:"leader"`
	LeaderEpoch int32 `json:"leader_epoch"`
}

// Live reports whether broker id is registered and not fenced.
func (s *State) Live(id int32) bool {
	b := s.Brokers[id]
	return b != nil && !b.Fenced
}

// LiveBrokers returns the registered, unfenced brokers by id.
func (s *State) LiveBrokers() []*Broker {
	var out []*Broker
	for _, b := range s.Brokers {
		if !b.Fenced {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *Broker) int { return int(a.ID) - int(b.ID) })
	return out
}

// Offline returns the replicas of p that are not live.
func (s *State) Offline(p *Partition) []int32 {
	out := []int32{}
	for _, r := range p.Replicas {
		if !s.Live(r) {
			out = append(out, r)
		}
	}
	return out
}

// Errors an entry can be refused with (the FSM's response to Apply).
var (
	ErrTopicExists       = errors.New("cluster: topic exists")
	ErrUnknownTopic      = errors.New("cluster: unknown topic")
	ErrReplicationFactor = errors.New("cluster: invalid replication factor")
	ErrAssignment        = errors.New("cluster: invalid replica assignment")
	ErrStaleLeader       = errors.New("cluster: stale leader or leader epoch")
	ErrNotController     = errors.New("cluster: no controller reachable")
	// A preferred leader election's outcomes for a partition that keeps
	// its leader (ElectPreferred).
	ErrElectionNotNeeded     = errors.New("cluster: the preferred replica leads already")
	ErrPreferredNotAvailable = errors.New("cluster: the preferred replica is not live or not in the ISR")
)

// PartitionRef names one partition of a topic.
type PartitionRef struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// command is one Raft entry: exactly one field is set.
type command struct {
	Register    *registerCmd    `json:"register,omitempty"`
	Fence       *fenceCmd       `json:"fence,omitempty"`
	CreateTopic *createTopicCmd `json:"create_topic,omitempty"`
	DeleteTopic *deleteTopicCmd `json:"delete_topic,omitempty"`
	AlterISR    *alterISRCmd    `json:"alter_isr,omitempty"`
	// ElectPreferred moves leaders back to their preferred replicas.
	ElectPreferred *electPreferredCmd `json:"elect_preferred,omitempty"`
}

type registerCmd struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
}

type fenceCmd struct {
	ID    int32  `json:"id"`
	Epoch uint64 `json:"epoch"`
}

type createTopicCmd struct {
	Name     string            `json:"name"`
	ID       [16]byte          `json:"id"`
	Configs  map[string]string `json:"configs,omitempty"`
	Replicas [][]int32         `json:"replicas"`
}

type deleteTopicCmd struct {
	Name string `json:"name"`
}

// alterISRCmd is a partition leader's request to change the ISR (Kafka's
// AlterPartition): accepted only from the current leader at its epoch.
type alterISRCmd struct {
	Topic       string  `json:"topic"`
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	ISR         []int32 `json:"isr"`
}

// electPreferredCmd makes each partition's preferred replica (the first)
// its leader at a new leader epoch, where PreferredElection allows it
// when the entry is applied; the others are left as they are.
type electPreferredCmd struct {
	Partitions []PartitionRef `json:"partitions"`
}

func encode(c command) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain structs of ints, strings and maps: cannot fail
	}
	return b
}

// apply returns the state after entry data at index. The state it is
// given is not changed: what the entry touches is copied. An entry that
// is refused returns the old state and why.
func apply(s *State, index uint64, data []byte) (*State, error) {
	var c command
	if err := json.Unmarshal(data, &c); err != nil {
		return s, fmt.Errorf("cluster: undecodable entry %d: %w", index, err)
	}
	n := &State{Index: index, Brokers: maps.Clone(s.Brokers), Topics: maps.Clone(s.Topics)}
	if n.Brokers == nil {
		n.Brokers = map[int32]*Broker{}
	}
	if n.Topics == nil {
		n.Topics = map[string]*Topic{}
	}
	var err error
	switch {
	case c.Register != nil:
		r := c.Register
		n.Brokers[r.ID] = &Broker{ID: r.ID, Host: r.Host, Port: r.Port, Epoch: index}
		n.electWhereLeaderless(r.ID)
	case c.Fence != nil:
		b := n.Brokers[c.Fence.ID]
		if b == nil || b.Fenced || b.Epoch != c.Fence.Epoch {
			return n, nil // already fenced, or registered again since
		}
		nb := *b
		nb.Fenced = true
		n.Brokers[nb.ID] = &nb
		n.moveLeadersFrom(nb.ID)
	case c.CreateTopic != nil:
		err = n.createTopic(c.CreateTopic)
	case c.DeleteTopic != nil:
		if n.Topics[c.DeleteTopic.Name] == nil {
			err = fmt.Errorf("%w: %s", ErrUnknownTopic, c.DeleteTopic.Name)
			break
		}
		delete(n.Topics, c.DeleteTopic.Name)
	case c.AlterISR != nil:
		err = n.alterISR(c.AlterISR)
	case c.ElectPreferred != nil:
		n.electPreferred(c.ElectPreferred)
	default:
		err = fmt.Errorf("cluster: empty entry %d", index)
	}
	if err != nil {
		s2 := *s
		s2.Index = index
		return &s2, err
	}
	return n, nil
}

func (n *State) createTopic(c *createTopicCmd) error {
	if n.Topics[c.Name] != nil {
		return fmt.Errorf("%w: %s", ErrTopicExists, c.Name)
	}
	if len(c.Replicas) == 0 {
		return fmt.Errorf("%w: no partitions", ErrAssignment)
	}
	t := &Topic{Name: c.Name, ID: c.ID, Configs: c.Configs, Partitions: make([]Partition, len(c.Replicas))}
	for i, rs := range c.Replicas {
		if len(rs) == 0 {
			return fmt.Errorf("%w: partition %d has no replicas", ErrAssignment, i)
		}
		seen := map[int32]bool{}
		for _, r := range rs {
			if n.Brokers[r] == nil || seen[r] {
				return fmt.Errorf("%w: partition %d: broker %d unknown or named twice", ErrAssignment, i, r)
			}
			seen[r] = true
		}
		p := Partition{Replicas: slices.Clone(rs), ISR: slices.Clone(rs), Leader: -1}
		for _, r := range rs {
			if n.Live(r) {
				p.Leader = r
				break
			}
		}
		t.Partitions[i] = p
	}
	n.Topics[c.Name] = t
	return nil
}

func (n *State) alterISR(c *alterISRCmd) error {
	t := n.Topics[c.Topic]
	if t == nil || c.Partition < 0 || int(c.Partition) >= len(t.Partitions) {
		return fmt.Errorf("%w: %s/%d", ErrUnknownTopic, c.Topic, c.Partition)
	}
	p := t.Partitions[c.Partition]
	if p.Leader != c.Leader || p.LeaderEpoch != c.LeaderEpoch || !n.Live(c.Leader) {
		return fmt.Errorf("%w: %s/%d leader %d epoch %d, asked by %d at epoch %d",
			ErrStaleLeader, c.Topic, c.Partition, p.Leader, p.LeaderEpoch, c.Leader, c.LeaderEpoch)
	}
	if !slices.Contains(c.ISR, c.Leader) {
		return fmt.Errorf("%w: the ISR must hold its leader", ErrAssignment)
	}
	for _, r := range c.ISR {
		if !slices.Contains(p.Replicas, r) {
			return fmt.Errorf("%w: %d is not a replica", ErrAssignment, r)
		}
		// Kafka's KIP-841: a fenced broker joins no ISR, though it may
		// still reach the leader and fetch (cut off from the controller
		// alone); it may once it has registered again.
		if !slices.Contains(p.ISR, r) && !n.Live(r) {
			return fmt.Errorf("%w: broker %d is fenced", ErrAssignment, r)
		}
	}
	nt := n.cloneTopic(c.Topic)
	nt.Partitions[c.Partition].ISR = slices.Clone(c.ISR)
	return nil
}

// cloneTopic replaces topic name in n with a copy (its partitions' slices
// are shared until changed, and changes replace them) and returns it.
func (n *State) cloneTopic(name string) *Topic {
	t := *n.Topics[name]
	t.Partitions = slices.Clone(t.Partitions)
	n.Topics[name] = &t
	return &t
}

// moveLeadersFrom takes leadership and ISR membership away from the
// fenced broker id: each partition it led gets the next live ISR member
// as leader (a new leader epoch), or none (-1) if no ISR member is live.
// The ISR never shrinks below one member, so the last replica known to
// hold every acknowledged record stays named (unclean election is off).
func (n *State) moveLeadersFrom(id int32) {
	for name, t := range n.Topics {
		var nt *Topic
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Leader != id && !(slices.Contains(p.ISR, id) && len(p.ISR) > 1) {
				continue
			}
			if nt == nil {
				nt = n.cloneTopic(name)
			}
			np := &nt.Partitions[i]
			if len(np.ISR) > 1 {
				np.ISR = slices.DeleteFunc(slices.Clone(np.ISR), func(r int32) bool { return r == id })
			}
			if np.Leader == id {
				np.Leader = n.liveISR(np)
				np.LeaderEpoch++
			}
		}
	}
}

// electWhereLeaderless gives a leader to every partition without one whose
// ISR holds broker id, now live again.
func (n *State) electWhereLeaderless(id int32) {
	for name, t := range n.Topics {
		var nt *Topic
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Leader != -1 || !slices.Contains(p.ISR, id) {
				continue
			}
			if nt == nil {
				nt = n.cloneTopic(name)
			}
			np := &nt.Partitions[i]
			np.Leader = n.liveISR(np)
			np.LeaderEpoch++
		}
	}
}

// PreferredElection says whether a preferred leader election would move
// the partition's leadership to its preferred replica (the first of its
// replicas): nil if it would; ErrElectionNotNeeded if that replica leads
// already; ErrPreferredNotAvailable if it is fenced or out of the ISR
// (unclean election is off: only an ISR member may lead); ErrUnknownTopic.
func (s *State) PreferredElection(r PartitionRef) error {
	t := s.Topics[r.Topic]
	if t == nil || r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return fmt.Errorf("%w: %s/%d", ErrUnknownTopic, r.Topic, r.Partition)
	}
	p := &t.Partitions[r.Partition]
	pref := p.Replicas[0]
	switch {
	case p.Leader == pref:
		return fmt.Errorf("%w: %s/%d is led by %d", ErrElectionNotNeeded, r.Topic, r.Partition, pref)
	case !s.Live(pref) || !slices.Contains(p.ISR, pref):
		return fmt.Errorf("%w: %s/%d prefers %d, ISR %v", ErrPreferredNotAvailable, r.Topic, r.Partition, pref, p.ISR)
	}
	return nil
}

// Imbalanced returns the partitions a leader rebalance moves back to
// their preferred replica, by Kafka's rule (auto.leader.rebalance.enable,
// leader.imbalance.per.broker.percentage): for each broker, if more than
// pct percent of the partitions it is the preferred replica of are led
// by another, those of them PreferredElection allows. Sorted by topic and
// partition.
func (s *State) Imbalanced(pct int) []PartitionRef {
	type broker struct {
		preferred, elsewhere int
		movable              []PartitionRef
	}
	by := map[int32]*broker{}
	for name, t := range s.Topics {
		for i, p := range t.Partitions {
			pref := p.Replicas[0]
			b := by[pref]
			if b == nil {
				b = &broker{}
				by[pref] = b
			}
			b.preferred++
			if p.Leader == pref {
				continue
			}
			b.elsewhere++
			if r := (PartitionRef{name, int32(i)}); s.PreferredElection(r) == nil {
				b.movable = append(b.movable, r)
			}
		}
	}
	var out []PartitionRef
	for _, b := range by {
		if b.elsewhere*100 > pct*b.preferred {
			out = append(out, b.movable...)
		}
	}
	slices.SortFunc(out, ComparePartitionRefs)
	return out
}

// ComparePartitionRefs orders partitions by topic, then number.
func ComparePartitionRefs(a, b PartitionRef) int {
	if a.Topic != b.Topic {
		return strings.Compare(a.Topic, b.Topic)
	}
	return int(a.Partition) - int(b.Partition)
}

// electPreferred applies an electPreferredCmd.
func (n *State) electPreferred(c *electPreferredCmd) {
	cloned := map[string]*Topic{}
	for _, r := range c.Partitions {
		if n.PreferredElection(r) != nil {
			continue // the state moved on since the controller chose it
		}
		nt := cloned[r.Topic]
		if nt == nil {
			nt = n.cloneTopic(r.Topic)
			cloned[r.Topic] = nt
		}
		np := &nt.Partitions[r.Partition]
		np.Leader = np.Replicas[0]
		np.LeaderEpoch++
	}
}

// liveISR is the first live ISR member in replica order, or -1.
func (n *State) liveISR(p *Partition) int32 {
	for _, r := range p.Replicas {
		if slices.Contains(p.ISR, r) && n.Live(r) {
			return r
		}
	}
	return -1
}

// Assign spreads partitions replicas over the live brokers as Kafka does
// without racks: partition p's replicas are the brokers from (start+p) on,
// so leaders (the first replica) rotate over the brokers.
func Assign(live []int32, partitions, rf int, start int) ([][]int32, error) {
	if rf < 1 || rf > len(live) {
		return nil, fmt.Errorf("%w: %d, with %d live brokers", ErrReplicationFactor, rf, len(live))
	}
	out := make([][]int32, partitions)
	for p := range out {
		rs := make([]int32, rf)
		for i := range rs {
			rs[i] = live[(start+p+i)%len(live)]
		}
		out[p] = rs
	}
	return out, nil
}
