package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// testSession is the session timeout of the tests' quorums: short, so a
// fence comes quickly, and still several heartbeats long.
const testSession = 600 * time.Millisecond

// quorum is n controllers on loopback, each with its own directory, as
// n brokers would run them.
type quorum struct {
	t      *testing.T
	voters []Voter
	dirs   []string
	nodes  []*Controller // nil while stopped

	session time.Duration
}

func startQuorum(t *testing.T, n int) *quorum {
	t.Helper()
	return startQuorumSession(t, n, testSession)
}

// startQuorumSession starts a quorum whose brokers' session timeout is
// session.
func startQuorumSession(t *testing.T, n int, session time.Duration) *quorum {
	t.Helper()
	q := &quorum{t: t, nodes: make([]*Controller, n), session: session}
	lns := make([]net.Listener, n)
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		q.voters = append(q.voters, Voter{ID: int32(i + 1), Addr: ln.Addr().String()})
		q.dirs = append(q.dirs, t.TempDir())
	}
	for i := range n {
		q.startWith(i, lns[i])
	}
	t.Cleanup(func() {
		for i := range q.nodes {
			q.stop(i)
		}
	})
	return q
}

func (q *quorum) start(i int) {
	q.t.Helper()
	ln, err := net.Listen("tcp", q.voters[i].Addr)
	if err != nil {
		q.t.Fatal(err)
	}
	q.startWith(i, ln)
}

func (q *quorum) startWith(i int, ln net.Listener) {
	q.t.Helper()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := Open(Config{
		NodeID: int32(i + 1), Listener: ln, Voters: q.voters, Dir: q.dirs[i],
		Host: "127.0.0.1", Port: int32(9000 + i + 1), SessionTimeout: q.session, Logger: log,
	})
	if err != nil {
		q.t.Fatal(err)
	}
	q.nodes[i] = c
}

func (q *quorum) stop(i int) {
	if q.nodes[i] != nil {
		if err := q.nodes[i].Close(); err != nil {
			q.t.Errorf("node %d: close: %v", i+1, err)
		}
		q.nodes[i] = nil
	}
}

// waitAll waits until cond holds for the state of every running node.
func (q *quorum) waitAll(what string, cond func(*State) bool) {
	q.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, c := range q.nodes {
			if c != nil && !cond(c.State()) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for i, c := range q.nodes {
				if c != nil {
					q.t.Logf("node %d: leader %d, state %s", i+1, c.Leader(), describe(c.State()))
				}
			}
			q.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leaderIndex waits for the running nodes to agree on one active
// controller and returns its index.
func (q *quorum) leaderIndex() int {
	q.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ids := map[int32]bool{}
		for _, c := range q.nodes {
			if c != nil {
				ids[c.Leader()] = true
			}
		}
		if len(ids) == 1 && !ids[-1] {
			for id := range ids {
				if q.nodes[id-1] != nil {
					return int(id - 1)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	q.t.Fatal("the running nodes never agreed on a controller")
	return -1
}

func describe(s *State) string {
	out := fmt.Sprintf("index %d brokers", s.Index)
	for _, b := range s.Brokers {
		out += fmt.Sprintf(" %d(fenced=%v)", b.ID, b.Fenced)
	}
	for _, t := range s.Topics {
		out += fmt.Sprintf(" %s%v", t.Name, t.Partitions)
	}
	return out
}

func liveCount(n int) func(*State) bool {
	return func(s *State) bool { return len(s.LiveBrokers()) == n }
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestQuorumRegistersBrokers: three controllers elect one leader and
// every broker's registration reaches every state, with its address.
func TestQuorumRegistersBrokers(t *testing.T) {
	q := startQuorum(t, 3)
	q.leaderIndex()
	q.waitAll("3 live brokers", liveCount(3))
	for _, c := range q.nodes {
		for id, b := range c.State().Brokers {
			if b.Host != "127.0.0.1" || b.Port != 9000+id {
				t.Errorf("broker %d registered as %s:%d", id, b.Host, b.Port)
			}
		}
	}
}

// TestCreateTopicThroughAnyBroker: a topic created through a broker that
// is not the active controller is forwarded to it, applied by all three,
// and its partitions' leaders are spread over the brokers.
func TestCreateTopicThroughAnyBroker(t *testing.T) {
	q := startQuorum(t, 3)
	q.waitAll("3 live brokers", liveCount(3))
	follower := (q.leaderIndex() + 1) % 3
	topic, err := q.nodes[follower].CreateTopic(ctx(t), CreateTopicRequest{Name: "laps", Partitions: 6, ReplicationFactor: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(topic.Partitions) != 6 {
		t.Fatalf("%d partitions", len(topic.Partitions))
	}
	leads := map[int32]int{}
	for i, p := range topic.Partitions {
		if len(p.Replicas) != 3 || !slices.Equal(p.Replicas, p.ISR) || p.Leader != p.Replicas[0] {
			t.Errorf("partition %d: %+v", i, p)
		}
		leads[p.Leader]++
	}
	if len(leads) != 3 || leads[1] != 2 || leads[2] != 2 || leads[3] != 2 {
		t.Errorf("leaders not spread: %v", leads)
	}
	q.waitAll("the topic everywhere", func(s *State) bool { return s.Topics["laps"] != nil && s.Topics["laps"].ID == topic.ID })

	_, err = q.nodes[follower].CreateTopic(ctx(t), CreateTopicRequest{Name: "laps", Partitions: 1, ReplicationFactor: 1})
	if !errors.Is(err, ErrTopicExists) {
		t.Errorf("second create: %v, want ErrTopicExists", err)
	}
	_, err = q.nodes[follower].CreateTopic(ctx(t), CreateTopicRequest{Name: "wide", Partitions: 1, ReplicationFactor: 4})
	if !errors.Is(err, ErrReplicationFactor) {
		t.Errorf("RF 4 of 3 brokers: %v, want ErrReplicationFactor", err)
	}
	_, err = q.nodes[follower].CreateTopic(ctx(t), CreateTopicRequest{Name: "manual", Replicas: [][]int32{{3, 1}, {2, 7}}})
	if !errors.Is(err, ErrAssignment) {
		t.Errorf("assignment naming broker 7: %v, want ErrAssignment", err)
	}
	manual, err := q.nodes[follower].CreateTopic(ctx(t), CreateTopicRequest{Name: "manual", Replicas: [][]int32{{3, 1}, {2, 3}}})
	if err != nil || manual.Partitions[0].Leader != 3 || manual.Partitions[1].Leader != 2 {
		t.Errorf("manual assignment: %+v, %v", manual, err)
	}

	if err := q.nodes[follower].DeleteTopic(ctx(t), "laps"); err != nil {
		t.Fatal(err)
	}
	q.waitAll("the topic gone everywhere", func(s *State) bool { return s.Topics["laps"] == nil })
	if err := q.nodes[follower].DeleteTopic(ctx(t), "laps"); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("second delete: %v, want ErrUnknownTopic", err)
	}
}

// TestFencedBrokerLosesLeadership: a broker that stops (its heartbeats
// with it) is fenced after the session timeout; the partitions it led get
// the next ISR member as leader at a new epoch, it leaves their ISRs, and
// a partition whose only replica it is has no leader (no unclean
// election). Back, it is unfenced and leads that partition again.
func TestFencedBrokerLosesLeadership(t *testing.T) {
	q := startQuorum(t, 3)
	q.waitAll("3 live brokers", liveCount(3))
	ctl := q.leaderIndex()
	victim := (ctl + 1) % 3
	vid := int32(victim + 1)
	other := int32((victim+1)%3 + 1)
	third := int32((victim+2)%3 + 1)
	if _, err := q.nodes[ctl].CreateTopic(ctx(t), CreateTopicRequest{Name: "t", Replicas: [][]int32{{vid, other, third}, {vid}, {other, vid}}}); err != nil {
		t.Fatal(err)
	}
	q.stop(victim)
	q.waitAll("the victim fenced", func(s *State) bool { return s.Brokers[vid] != nil && s.Brokers[vid].Fenced })
	p := q.nodes[ctl].State().Topics["t"].Partitions
	if p[0].Leader != other || p[0].LeaderEpoch != 1 || !slices.Equal(p[0].ISR, []int32{other, third}) {
		t.Errorf("partition 0 after fence: %+v", p[0])
	}
	if p[1].Leader != -1 || p[1].LeaderEpoch != 1 || !slices.Equal(p[1].ISR, []int32{vid}) {
		t.Errorf("partition 1 (only replica fenced): %+v, want no leader and the ISR kept", p[1])
	}
	if p[2].Leader != other || p[2].LeaderEpoch != 0 || !slices.Equal(p[2].ISR, []int32{other}) {
		t.Errorf("partition 2 (a follower fenced): %+v", p[2])
	}

	q.start(victim)
	q.waitAll("the victim back", func(s *State) bool { return s.Live(vid) && s.Topics["t"] != nil })
	p = q.nodes[victim].State().Topics["t"].Partitions
	if p[1].Leader != vid || p[1].LeaderEpoch != 2 {
		t.Errorf("partition 1 after return: %+v", p[1])
	}
	if p[0].Leader != other {
		t.Errorf("partition 0 moved back: %+v (only a new election moves a leader)", p[0])
	}
}

// TestControllerFailover: with the active controller stopped the other
// two elect a new one, fence the old, and still create topics; back, the
// old one reads the quorum's state from its own Raft log and the leader.
func TestControllerFailover(t *testing.T) {
	q := startQuorum(t, 3)
	q.waitAll("3 live brokers", liveCount(3))
	old := q.leaderIndex()
	if _, err := q.nodes[old].CreateTopic(ctx(t), CreateTopicRequest{Name: "before", Partitions: 3, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	q.stop(old)
	next := q.leaderIndex()
	if next == old {
		t.Fatalf("node %d still leads", old+1)
	}
	if _, err := q.nodes[next].CreateTopic(ctx(t), CreateTopicRequest{Name: "after", Partitions: 2, ReplicationFactor: 2}); err != nil {
		t.Fatal(err)
	}
	q.waitAll("the old controller fenced", func(s *State) bool { return s.Brokers[int32(old+1)] != nil && s.Brokers[int32(old+1)].Fenced })
	q.start(old)
	q.waitAll("everything everywhere", func(s *State) bool {
		return s.Topics["before"] != nil && s.Topics["after"] != nil && len(s.LiveBrokers()) == 3
	})
	if _, err := os.Stat(filepath.Join(q.dirs[old], "raft.db")); err != nil {
		t.Error(err)
	}
}

// TestMinorityCannotChange: one broker cut off from the other two (they
// are stopped) cannot create a topic: the change needs a quorum.
//
// The broker left alone stops being Active once its session runs out.
func TestMinorityCannotChange(t *testing.T) {
	q := startQuorum(t, 3)
	q.waitAll("3 live brokers", liveCount(3))
	keep := q.leaderIndex()
	q.waitAll("every broker active", func(*State) bool {
		for _, c := range q.nodes {
			if !c.Active() {
				return false
			}
		}
		return true
	})
	for i := range 3 {
		if i != keep {
			q.stop(i)
		}
	}
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := q.nodes[keep].CreateTopic(c, CreateTopicRequest{Name: "lonely", Partitions: 1, ReplicationFactor: 1})
	if !errors.Is(err, ErrNotController) {
		t.Fatalf("create on a minority: %v, want ErrNotController", err)
	}
	if q.nodes[keep].State().Topics["lonely"] != nil {
		t.Fatal("a minority applied a change")
	}
	// Its session runs out: it must stop acting as a leader, as the
	// majority (were it running) would fence it.
	q.waitAll("the cut-off broker inactive", func(*State) bool { return !q.nodes[keep].Active() })
}

// TestControlledShutdown: a broker's ControlledShutdown fences it at once
// (its partitions get new leaders, it leaves the ISRs, before it
// returns), from a follower of the quorum and from the active controller
// itself, which then leaves the quorum to another; started again, the
// broker registers again. The session timeout is ten minutes: only the
// controlled shutdown fences anyone here. On a minority it gives up when
// its context ends.
func TestControlledShutdown(t *testing.T) {
	q := startQuorumSession(t, 3, 10*time.Minute)
	q.waitAll("3 live brokers", liveCount(3))
	ctl := q.leaderIndex()
	if _, err := q.nodes[ctl].CreateTopic(ctx(t), CreateTopicRequest{Name: "t", Replicas: [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}}); err != nil {
		t.Fatal(err)
	}
	for _, victim := range []int{(ctl + 1) % 3, ctl} {
		vid := int32(victim + 1)
		if err := q.nodes[victim].ControlledShutdown(ctx(t)); err != nil {
			t.Fatalf("broker %d: %v", vid, err)
		}
		s := q.nodes[victim].State() // applied here before it returned
		if !s.Brokers[vid].Fenced {
			t.Fatalf("broker %d not fenced in its own state after ControlledShutdown: %s", vid, describe(s))
		}
		for i, p := range s.Topics["t"].Partitions {
			if p.Leader == vid || slices.Contains(p.ISR, vid) {
				t.Fatalf("broker %d still leads or is in the ISR of partition %d: %+v", vid, i, p)
			}
		}
		q.stop(victim)
		q.waitAll(fmt.Sprintf("broker %d fenced everywhere", vid), func(s *State) bool { return s.Brokers[vid].Fenced })
		if next := q.leaderIndex(); next == victim {
			t.Fatalf("broker %d still the controller after closing", vid)
		}
		q.start(victim)
		q.waitAll(fmt.Sprintf("broker %d registered again", vid), liveCount(3))
	}

	// One left of three: no controller to fence it.
	last := (ctl + 2) % 3
	for i := range q.nodes {
		if i != last {
			q.stop(i)
		}
	}
	c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := q.nodes[last].ControlledShutdown(c); !errors.Is(err, ErrNotController) {
		t.Fatalf("controlled shutdown on a minority: %v, want ErrNotController", err)
	}
}
