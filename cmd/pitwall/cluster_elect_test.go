package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Preferred leader election (Kafka's auto.leader.rebalance.enable and
// ElectLeaders) between `pitwall broker` processes.

// TestClusterPreferredLeaderReturns: broker 3, the preferred replica of
// a partition under franz-go's idempotent acks=all load, is SIGKILLed;
// its partitions fail over to the others. Restarted, it rejoins the ISRs
// and, with --leader-imbalance-check-interval 300ms, leads its
// partitions again (each at a new leader epoch), here and on a second
// topic whose three partitions prefer one broker each. The load goes on
// across both moves, and a consumer reading all along and one reading
// afterwards see every acknowledged record once, in order.
func TestClusterPreferredLeaderReturns(t *testing.T) {
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{
		args: func(*clusterNode) []string { return []string{"--leader-imbalance-check-interval", "300ms"} },
	})
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool {
			return slices.Equal(brokerIDs(m), []int32{1, 2, 3})
		})
	}
	c.createAssigned("prefload", [][]int32{{3, 1, 2}}, nil)
	c.createAssigned("pref", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, nil)
	c.waitWhole("prefload")
	c.waitWhole("pref")
	epoch := c.partitionOf(0, "prefload", 0).LeaderEpoch

	load := c.kgoLoad("prefload")
	live := c.liveConsumer("prefload")
	load.waitMore(t, 200, "before the kill")
	c.kill(2)
	c.waitFenced(0, 2, "prefload")
	c.waitFenced(0, 2, "pref")
	load.waitMore(t, 200, "with broker 3 dead")
	c.start(2)
	c.waitMetadata(0, "broker 3 leading its preferred partitions again", func(m *kmsg.MetadataResponse) bool {
		for _, name := range []string{"prefload", "pref"} {
			tp := findTopic(m, name)
			if tp == nil {
				return false
			}
			for _, p := range tp.Partitions {
				if p.Leader != p.Replicas[0] || len(p.ISR) != 3 {
					return false
				}
			}
		}
		return true
	})
	if p := c.partitionOf(0, "prefload", 0); p.LeaderEpoch != epoch+2 {
		t.Errorf("prefload/0 at leader epoch %d, want %d (one failover, one return)", p.LeaderEpoch, epoch+2)
	}
	load.waitMore(t, 200, "after broker 3 leads again")
	acked := load.finish(t)
	live.waitFor(t, acked)
	c.consumeAll(1, "prefload", acked)
}

// TestClusterElectLeaders: with --auto-leader-rebalance=false, broker 1
// killed and restarted stays a follower of the partition it prefers
// until ElectLeaders asks: franz-go's request (the one kadm.ElectLeaders
// sends) and sarama's ClusterAdmin.ElectLeaders get, per partition,
// ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION and, for all
// partitions, the one moved; unclean election is ELECTION_NOT_NEEDED
// where a leader exists. Produce and consume work on the moved partition.
func TestClusterElectLeaders(t *testing.T) {
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{
		args: func(*clusterNode) []string { return []string{"--auto-leader-rebalance=false"} },
	})
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool {
			return slices.Equal(brokerIDs(m), []int32{1, 2, 3})
		})
	}
	c.createAssigned("el", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, nil)
	c.waitWhole("el")

	got := c.electLeaders(t, 0, map[string][]int32{"el": {0, 1, 2, 7}}, false)
	want := map[string]int16{"el/0": kerr.ElectionNotNeeded.Code, "el/1": kerr.ElectionNotNeeded.Code,
		"el/2": kerr.ElectionNotNeeded.Code, "el/7": kerr.UnknownTopicOrPartition.Code}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("preferred election of balanced partitions: %v, want %v", got, want)
	}

	c.kill(0)
	c.waitFenced(1, 0, "el")
	c.start(0)
	c.waitWhole("el")
	p := c.partitionOf(1, "el", 0)
	if p.Leader == 1 {
		t.Fatalf("el/0 led by 1 again without an election: %+v", p)
	}
	if got := c.electLeaders(t, 1, map[string][]int32{"el": {0}}, true); fmt.Sprint(got) != fmt.Sprint(map[string]int16{"el/0": kerr.ElectionNotNeeded.Code}) {
		t.Fatalf("unclean election of a led partition: %v", got)
	}
	// Every partition (Topics null): only the one moved is answered.
	if got := c.electLeaders(t, 2, nil, false); fmt.Sprint(got) != fmt.Sprint(map[string]int16{"el/0": 0}) {
		t.Fatalf("preferred election of every partition: %v, want el/0 moved", got)
	}
	// Answered once broker 3, asked, applied it; each broker applies it
	// in its own time.
	for i := range c.nodes {
		c.waitMetadata(i, "el/0 led by 1 at the next epoch", func(m *kmsg.MetadataResponse) bool {
			tp := findTopic(m, "el")
			return tp != nil && tp.Partitions[0].Leader == 1 && tp.Partitions[0].LeaderEpoch == p.LeaderEpoch+1
		})
	}

	// sarama's ClusterAdmin: nothing left to move.
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	adm, err := sarama.NewClusterAdmin([]string{c.nodes[2].addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	res, err := adm.ElectLeaders(sarama.PreferredElection, map[string][]int32{"el": {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pn := range []int32{0, 1} {
		if r := res["el"][pn]; r == nil || r.ErrorCode != sarama.ErrElectionNotNeeded {
			t.Errorf("sarama: el/%d: %+v, want ELECTION_NOT_NEEDED", pn, r)
		}
	}

	if code := c.produceValue(0, "el", 0, -1, "after"); code != 0 {
		t.Fatalf("produce to the elected leader: %v", kerr.ErrorForCode(code))
	}
	recs := c.readToEnd(1, "el", 3)
	if len(recs) != 1 || string(recs[0].Value) != "after" {
		t.Fatalf("read back %d records", len(recs))
	}
}

// electLeaders sends ElectLeaders v2 (as kadm.ElectLeaders does) through
// a client seeded with broker i, preferred or unclean, for
// the partitions given (nil: every partition), and returns each
// partition's error code by "topic/partition".
func (c *testCluster) electLeaders(t *testing.T, i int, parts map[string][]int32, unclean bool) map[string]int16 {
	t.Helper()
	cl := c.client(nil, i)
	defer cl.Close()
	req := kmsg.NewPtrElectLeadersRequest()
	req.TimeoutMillis = 10000
	if unclean {
		req.ElectionType = 1
	}
	if parts != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
	}
	for topic, ps := range parts {
		rt := kmsg.NewElectLeadersRequestTopic()
		rt.Topic, rt.Partitions = topic, ps
		req.Topics = append(req.Topics, rt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("ElectLeaders: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	out := map[string]int16{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			out[fmt.Sprintf("%s/%d", rt.Topic, rp.Partition)] = rp.ErrorCode
		}
	}
	return out
}

// liveConsumerT reads a topic from the start while it is written, and
// checks each key's values arrive 0, 1, 2, ... once each.
type liveConsumerT struct {
	mu   sync.Mutex
	next map[string]int
	err  error
}

// liveConsumer starts a franz-go consumer of topic (no group), stopped
// when the test ends.
func (c *testCluster) liveConsumer(topic string) *liveConsumerT {
	lc := &liveConsumerT{next: map[string]int{}}
	cl := c.client([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				lc.mu.Lock()
				defer lc.mu.Unlock()
				k := string(r.Key)
				v, err := strconv.Atoi(string(r.Value))
				if (err != nil || v != lc.next[k]) && lc.err == nil {
					lc.err = fmt.Errorf("%s: value %q after %d at %s/%d@%d", k, r.Value, lc.next[k]-1, r.Topic, r.Partition, r.Offset)
				}
				lc.next[k] = v + 1
			})
		}
	}()
	return lc
}

// waitFor waits until the consumer has read every acknowledged record.
func (lc *liveConsumerT) waitFor(t *testing.T, acked map[string]int) {
	t.Helper()
	waitFor(t, "the live consumer to read every acknowledged record", func() bool {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		if lc.err != nil {
			t.Fatal(lc.err)
		}
		for k, n := range acked {
			if lc.next[k] < n {
				return false
			}
		}
		return true
	})
}
