package cluster

import (
	"errors"
	"slices"
	"testing"
)

func mustApply(t *testing.T, s *State, c command) *State {
	t.Helper()
	n, err := apply(s, s.Index+1, encode(c))
	if err != nil {
		t.Fatalf("%+v: %v", c, err)
	}
	return n
}

// TestApplyLeadership walks one partition through Kafka's rules: the
// ISR shrinks only from the current leader at its epoch, a fence naming
// an old registration changes nothing, and a leader is only ever an ISR
// member.
func TestApplyLeadership(t *testing.T) {
	s := &State{}
	for id := int32(1); id <= 3; id++ {
		s = mustApply(t, s, command{Register: &registerCmd{ID: id, Host: "127.0.0.1", Port: 9092}})
	}
	s = mustApply(t, s, command{CreateTopic: &createTopicCmd{Name: "t", Replicas: [][]int32{{1, 2, 3}}}})
	before := s

	// A follower falls behind: the leader drops it from the ISR.
	if _, err := apply(s, s.Index+1, encode(command{AlterISR: &alterISRCmd{Topic: "t", Leader: 2, ISR: []int32{2}}})); err == nil {
		t.Error("a non-leader changed the ISR")
	}
	if _, err := apply(s, s.Index+1, encode(command{AlterISR: &alterISRCmd{Topic: "t", Leader: 1, LeaderEpoch: 1, ISR: []int32{1}}})); err == nil {
		t.Error("a future epoch changed the ISR")
	}
	if _, err := apply(s, s.Index+1, encode(command{AlterISR: &alterISRCmd{Topic: "t", Leader: 1, ISR: []int32{2, 3}}})); err == nil {
		t.Error("an ISR without its leader was accepted")
	}
	s = mustApply(t, s, command{AlterISR: &alterISRCmd{Topic: "t", Leader: 1, ISR: []int32{1, 2}}})
	if got := before.Topics["t"].Partitions[0].ISR; !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("the old state changed: %v", got)
	}

	// Broker 3, out of the ISR, is fenced: it may not join it (though it
	// could still be fetching) until it registers again.
	s = mustApply(t, s, command{Fence: &fenceCmd{ID: 3, Epoch: s.Brokers[3].Epoch}})
	if _, err := apply(s, s.Index+1, encode(command{AlterISR: &alterISRCmd{Topic: "t", Leader: 1, ISR: []int32{1, 2, 3}}})); err == nil {
		t.Error("a fenced broker joined the ISR")
	}
	s = mustApply(t, s, command{Register: &registerCmd{ID: 3, Host: "127.0.0.1", Port: 9092}})
	s = mustApply(t, s, command{AlterISR: &alterISRCmd{Topic: "t", Leader: 1, ISR: []int32{1, 2, 3}}})
	s = mustApply(t, s, command{AlterISR: &alterISRCmd{Topic: "t", Leader: 1, ISR: []int32{1, 2}}})

	// A fence of an older registration of broker 1 is a no-op.
	epoch := s.Brokers[1].Epoch
	s = mustApply(t, s, command{Fence: &fenceCmd{ID: 1, Epoch: epoch - 1}})
	if !s.Live(1) {
		t.Fatal("a stale fence fenced")
	}
	// Broker 1 fenced: 2 leads (3 is not in the ISR, so never leads).
	s = mustApply(t, s, command{Fence: &fenceCmd{ID: 1, Epoch: epoch}})
	p := s.Topics["t"].Partitions[0]
	if p.Leader != 2 || p.LeaderEpoch != 1 || !slices.Equal(p.ISR, []int32{2}) {
		t.Fatalf("after fencing 1: %+v", p)
	}
	// Broker 2 fenced too: 3 is alive but outside the ISR, so no leader.
	s = mustApply(t, s, command{Fence: &fenceCmd{ID: 2, Epoch: s.Brokers[2].Epoch}})
	p = s.Topics["t"].Partitions[0]
	if p.Leader != -1 || !slices.Equal(p.ISR, []int32{2}) {
		t.Fatalf("after fencing 2: %+v, want no leader (unclean election off)", p)
	}
	// Broker 1 back: not in the ISR, still no leader. Broker 2 back: leads.
	s = mustApply(t, s, command{Register: &registerCmd{ID: 1}})
	if p := s.Topics["t"].Partitions[0]; p.Leader != -1 {
		t.Fatalf("a replica outside the ISR was elected: %+v", p)
	}
	s = mustApply(t, s, command{Register: &registerCmd{ID: 2}})
	if p := s.Topics["t"].Partitions[0]; p.Leader != 2 || p.LeaderEpoch != 3 {
		t.Fatalf("after 2 returned: %+v", p)
	}
}

func TestAssign(t *testing.T) {
	got, err := Assign([]int32{1, 2, 3}, 4, 2, 1)
	want := [][]int32{{2, 3}, {3, 1}, {1, 2}, {2, 3}}
	if err != nil || !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Assign: %v, %v", got, err)
	}
	if _, err := Assign([]int32{1}, 1, 2, 0); err == nil {
		t.Error("RF above the live brokers accepted")
	}
}

func TestParseVoters(t *testing.T) {
	v, err := ParseVoters("1@127.0.0.1:9093, 2@127.0.0.1:9193,3@[::1]:9293")
	if err != nil || len(v) != 3 || v[2] != (Voter{ID: 3, Addr: "[::1]:9293"}) {
		t.Errorf("%v, %v", v, err)
	}
	for _, bad := range []string{"", "1", "x@127.0.0.1:1", "1@127.0.0.1", "-1@127.0.0.1:1", "1@a:1,1@b:2"} {
		if _, err := ParseVoters(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseVoters(f *testing.F) {
	f.Add("1@127.0.0.1:9093,2@127.0.0.1:9193")
	f.Add("1@[::1]:1")
	f.Add("@:,")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVoters(s)
		if err == nil && len(v) == 0 {
			t.Errorf("%q: no voters and no error", s)
		}
	})
}

// FuzzApply: whatever bytes an entry holds (the RPC server decodes
// requests from the network into entries), apply returns a state and
// never panics; a refused entry leaves the topics and brokers as they were.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"register":{"id":1,"host":"h","port":1}}`))
	f.Add([]byte(`{"create_topic":{"name":"t","replicas":[[1]]}}`))
	f.Add([]byte(`{"alter_isr":{"topic":"t","partition":0,"leader":1,"isr":[1]}}`))
	f.Add([]byte(`{"fence":{"id":1,"epoch":1}}`))
	f.Add([]byte(`{"delete_topic":{"name":"t"}}`))
	f.Add([]byte(`{"create_topic":{"name":"u","replicas":[[]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &State{}
		s, _ = apply(s, 1, []byte(`{"register":{"id":1,"host":"h","port":1}}`))
		s, _ = apply(s, 2, []byte(`{"create_topic":{"name":"t","replicas":[[1]]}}`))
		n, err := apply(s, 3, data)
		if n == nil {
			t.Fatal("nil state")
		}
		if err != nil && (len(n.Topics) != len(s.Topics) || len(n.Brokers) != len(s.Brokers)) {
			t.Errorf("refused entry changed the state")
		}
		for _, tp := range n.Topics {
			for _, p := range tp.Partitions {
				if p.Leader != -1 && !slices.Contains(p.ISR, p.Leader) {
					t.Errorf("leader %d outside ISR %v", p.Leader, p.ISR)
				}
			}
		}
	})
}

// TestApplyElectPreferred: a broker fenced and back leads its preferred
// partitions again only once it is in their ISR; the move is a new
// leader epoch; Imbalanced names a broker's partitions only past the
// imbalance percentage; an entry decided on an older state skips what is
// no longer allowed.
func TestApplyElectPreferred(t *testing.T) {
	s := &State{}
	for id := int32(1); id <= 3; id++ {
		s = mustApply(t, s, command{Register: &registerCmd{ID: id}})
	}
	s = mustApply(t, s, command{CreateTopic: &createTopicCmd{Name: "t", Replicas: [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}}})
	ref := PartitionRef{"t", 0}
	if err := s.PreferredElection(ref); !errors.Is(err, ErrElectionNotNeeded) {
		t.Fatalf("preferred leader already: %v", err)
	}
	if err := s.PreferredElection(PartitionRef{"t", 3}); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("partition 3: %v", err)
	}
	s = mustApply(t, s, command{Fence: &fenceCmd{ID: 1, Epoch: s.Brokers[1].Epoch}})
	s = mustApply(t, s, command{Register: &registerCmd{ID: 1}})
	p := s.Topics["t"].Partitions[0]
	if p.Leader != 2 || slices.Contains(p.ISR, 1) {
		t.Fatalf("after 1 came back: %+v", p)
	}
	if err := s.PreferredElection(ref); !errors.Is(err, ErrPreferredNotAvailable) {
		t.Fatalf("1 out of the ISR: %v", err)
	}
	if got := s.Imbalanced(LeaderImbalancePercent); len(got) != 0 {
		t.Fatalf("imbalanced with 1 out of the ISR: %v", got)
	}
	// An entry decided before 1 rejoined changes nothing.
	if n := mustApply(t, s, command{ElectPreferred: &electPreferredCmd{Partitions: []PartitionRef{ref}}}); n.Topics["t"].Partitions[0].Leader != 2 {
		t.Fatalf("moved to a replica outside the ISR: %+v", n.Topics["t"].Partitions[0])
	}
	s = mustApply(t, s, command{AlterISR: &alterISRCmd{Topic: "t", Leader: 2, LeaderEpoch: p.LeaderEpoch, ISR: []int32{1, 2, 3}}})
	// 1 is preferred for one partition and leads none: 100% > 10%.
	if got := s.Imbalanced(LeaderImbalancePercent); !slices.Equal(got, []PartitionRef{ref}) {
		t.Fatalf("imbalanced: %v, want [t/0]", got)
	}
	if got := s.Imbalanced(100); len(got) != 0 {
		t.Fatalf("imbalanced at 100%%: %v", got)
	}
	before := s
	s = mustApply(t, s, command{ElectPreferred: &electPreferredCmd{Partitions: []PartitionRef{ref, {"t", 1}, {"gone", 0}}}})
	if p := s.Topics["t"].Partitions[0]; p.Leader != 1 || p.LeaderEpoch != 2 {
		t.Fatalf("after the election: %+v, want leader 1 at epoch 2", p)
	}
	if p := s.Topics["t"].Partitions[1]; p.Leader != 2 || p.LeaderEpoch != 0 {
		t.Fatalf("partition 1 moved: %+v", p)
	}
	if p := before.Topics["t"].Partitions[0]; p.Leader != 2 {
		t.Fatalf("the old state changed: %+v", p)
	}
}
