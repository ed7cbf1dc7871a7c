package main

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterControlledShutdown: a broker of a cluster stopped with
// SIGTERM hands its leaderships to the other ISR members and leaves every
// ISR before it stops (Kafka's controlled shutdown), the active
// controller first and then another broker. The brokers' session timeout
// is five minutes, far longer than the test waits for anything: without
// the controlled shutdown no partition of a stopped broker would have a
// leader again before it came back. franz-go's idempotent producer goes
// on with acks=all through both, and every acknowledged record is read
// back once, in order, from replicas identical byte for byte.
func TestClusterControlledShutdown(t *testing.T) {
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{session: "5m"})
	var m *kmsg.MetadataResponse
	for i := range c.nodes {
		m = c.waitMetadata(i, "three brokers and a controller", func(m *kmsg.MetadataResponse) bool {
			return len(m.Brokers) == 3 && m.ControllerID > 0
		})
	}
	const partitions = 3
	mustTopics(t, "create", "cs", "--partitions", fmt.Sprint(partitions), "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic("cs")
	c.waitWhole("cs")
	checkLeaderHint(t, c, "cs", 0)
	load := c.kgoLoad("cs")
	load.waitMore(t, 100, "before the first shutdown")

	controller := int(m.ControllerID) - 1
	for _, victim := range []int{controller, (controller + 1) % len(c.nodes)} {
		id := c.nodes[victim].id
		other := (victim + 2) % len(c.nodes)
		led := c.ledBy(other, "cs", id)
		if len(led) == 0 {
			t.Fatalf("broker %d leads no partition of cs: nothing for its shutdown to move", id)
		}
		c.stop(victim)
		if log := c.nodes[victim].log.String(); !strings.Contains(log, "controlled shutdown: this broker leads nothing now") {
			t.Fatalf("broker %d stopped without a controlled shutdown; its log:\n%s", id, log)
		}
		c.waitFenced(other, victim, "cs")
		load.waitMore(t, 20, fmt.Sprintf("with broker %d (which led partitions %v) stopped", id, led))
		t.Logf("broker %d stopped; partitions %v it led have new leaders (%d acknowledged so far)", id, led, load.total())
		c.start(victim)
		c.waitWhole("cs")
		load.waitMore(t, 20, fmt.Sprintf("once broker %d is back", id))
	}

	acked := load.finish(t)
	recs := c.readToEnd(0, "cs", partitions)
	checkKeyed(t, recs, acked)
	t.Logf("%d records acknowledged, %d read", load.total(), len(recs))
	c.sameReplicas("cs", partitions)
}

// ledBy returns the partitions of topic that broker id leads, as broker i
// (index) answers Metadata.
func (c *testCluster) ledBy(i int, topic string, id int32) []int32 {
	c.t.Helper()
	m, err := c.metadata(i)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []int32
	if t := findTopic(m, topic); t != nil {
		for _, p := range t.Partitions {
			if p.Leader == id {
				out = append(out, p.Partition)
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkLeaderHint sends a Produce (v10, as franz-go negotiates it) for
// partition p of topic to a broker that follows it: the answer is
// NOT_LEADER_OR_FOLLOWER with KIP-951's hints, the current leader and its
// epoch and the leader's address, which a client moves to at once
// instead of waiting for its next metadata refresh.
func checkLeaderHint(t *testing.T, c *testCluster, topic string, p int32) {
	t.Helper()
	meta := c.partitionOf(0, topic, p)
	if meta == nil || meta.Leader < 1 {
		t.Fatalf("%s/%d: no leader in broker 1's metadata", topic, p)
	}
	follower := int(meta.Leader) % len(c.nodes) // the index of the broker after the leader
	resp := c.produceRawResp(follower, topic, p, 1)
	rp := resp.Topics[0].Partitions[0]
	if resp.Version < 10 || rp.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("produce v%d to broker %d, a follower of %s/%d: error %d, want v10+ and NOT_LEADER_OR_FOLLOWER", resp.Version, c.nodes[follower].id, topic, p, rp.ErrorCode)
	}
	if rp.CurrentLeader.LeaderID != meta.Leader || rp.CurrentLeader.LeaderEpoch != meta.LeaderEpoch {
		t.Fatalf("the follower's hint names leader %d epoch %d, want %d epoch %d", rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch, meta.Leader, meta.LeaderEpoch)
	}
	want := c.nodes[meta.Leader-1].addr
	for _, b := range resp.Brokers {
		if b.NodeID == meta.Leader && net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))) == want {
			return
		}
	}
	t.Fatalf("the follower's answer lists brokers %+v, want leader %d at %s", resp.Brokers, meta.Leader, want)
}
