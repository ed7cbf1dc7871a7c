package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A network partition between `pitwall broker` processes on loopback
// (issue 13): each broker behind internal/netproxy proxies (clusterOpts
// .proxied), one of them cut off from the other two.

// endOffsets asks, through a client seeded with broker i (index), each
// partition's leader for its latest offset (the high watermark).
func (c *testCluster) endOffsets(i int, topic string, partitions int) []int64 {
	c.t.Helper()
	cl := c.client(nil, i)
	defer cl.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = int32(p), -1, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ends := make([]int64, partitions)
	waitFor(c.t, fmt.Sprintf("the end offsets of %s", topic), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := cl.Request(ctx, req) // kgo sends each partition to its leader
		if err != nil {
			return false
		}
		n := 0
		for _, t := range resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 || int(p.Partition) >= partitions {
					return false
				}
				ends[p.Partition] = p.Offset
				n++
			}
		}
		return n == partitions
	})
	return ends
}

// readToEnd reads every record of topic from the start, through a
// consumer seeded with broker i, up to the end offsets of endOffsets.
func (c *testCluster) readToEnd(i int, topic string, partitions int) []*kgo.Record {
	c.t.Helper()
	ends := c.endOffsets(i, topic, partitions)
	want := 0
	for _, e := range ends {
		want += int(e)
	}
	cons := c.client([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, i)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("%s: read %d of the %d records below the end offsets %v: %v", topic, len(out), want, ends, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// checkKeyed checks the records with a key against a keyedLoad's
// acknowledgements: each key's values 0, 1, 2, ... in order, once each,
// at least as many as were acknowledged.
func checkKeyed(t *testing.T, recs []*kgo.Record, acked map[string]int) {
	t.Helper()
	next := map[string]int{}
	for _, r := range recs {
		if len(r.Key) == 0 {
			continue
		}
		k := string(r.Key)
		v, err := strconv.Atoi(string(r.Value))
		if err != nil || v != next[k] {
			t.Fatalf("%s: value %q after %d (duplicate or out of order) at %s/%d@%d", k, r.Value, next[k]-1, r.Topic, r.Partition, r.Offset)
		}
		next[k] = v + 1
	}
	for k, n := range acked {
		if next[k] < n {
			t.Errorf("%s: read up to %d, but %d were acknowledged", k, next[k], n)
		}
	}
}

// TestClusterPartitioned: the leader of an RF=3 partition is cut off
// from the other two brokers (controller and Kafka connections, both
// ways) while franz-go's idempotent producer writes acks=all through the
// cluster. On the minority side, produced to directly, the old leader
// may take acks=1 batches until its session with the controller lapses
// but never acknowledges acks=all (an error or a timeout), and then
// refuses both as a non-leader. The majority fences it, elects a new
// leader at a new epoch and goes on acknowledging acks=all. Healed, the
// old leader truncates what it alone took and follows: nothing it
// appended during the cut, acknowledged or not, is readable, every
// record the majority acknowledged is, once, in per-key order, and the
// three logs are identical.
func TestClusterPartitioned(t *testing.T) {
	// A session of 3 s: the cut-off leader's window for acks=1, and for
	// acks=all that it must not acknowledge.
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{session: "3s", proxied: true})
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	mustTopics(t, "create", "pt", "--partitions", "1", "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic("pt")
	leader, _ := c.leaderIndex(0, "pt", 0, -1)
	lid := c.nodes[leader].id
	waitFor(t, "pt/0 with three replicas in its ISR", func() bool {
		p := c.partitionOf(leader, "pt", 0)
		return p != nil && len(p.ISR) == 3
	})
	oldEpoch := c.partitionOf(leader, "pt", 0).LeaderEpoch
	for i := range 10 {
		if code := c.produceValue(leader, "pt", 0, -1, fmt.Sprint("before-", i)); code != 0 {
			t.Fatalf("acks=all before the cut: code %d", code)
		}
	}
	load := c.kgoLoad("pt")
	load.waitMore(t, 200, "before the cut")
	var majority []int
	for i := range c.nodes {
		if i != leader {
			majority = append(majority, i)
		}
	}

	c.cut(leader)
	t.Logf("broker %d (leader of pt/0 at epoch %d) cut off", lid, oldEpoch)
	var minorityAcked []string // acks=1 records the cut-off leader acknowledged
	notLeader := kerr.NotLeaderForPartition.Code
	for i := 0; ; i++ {
		v1 := fmt.Sprint("minority-acks1-", i)
		code1 := c.produceValue(leader, "pt", 0, 1, v1)
		if code1 == 0 {
			minorityAcked = append(minorityAcked, v1)
		}
		vAll := fmt.Sprint("minority-acksall-", i)
		codeAll := c.produceValue(leader, "pt", 0, -1, vAll)
		if codeAll == 0 {
			t.Fatalf("the cut-off broker %d acknowledged acks=all %q", lid, vAll)
		}
		if i == 0 {
			t.Logf("on the minority side: acks=1 code %d, acks=all code %d", code1, codeAll)
		}
		if code1 == notLeader && codeAll == notLeader {
			t.Logf("the minority refuses as a non-leader after %d rounds, having acknowledged %d acks=1 records", i+1, len(minorityAcked))
			break
		}
		if i == 100 {
			t.Fatalf("the cut-off broker %d still leads pt/0 after %d rounds (acks=1 code %d, acks=all code %d)", lid, i, code1, codeAll)
		}
	}

	newLeader, _ := c.leaderIndex(majority[0], "pt", 0, lid)
	p := c.partitionOf(newLeader, "pt", 0)
	if p == nil || p.LeaderEpoch <= oldEpoch || slices.Contains(p.ISR, lid) {
		t.Fatalf("the majority's pt/0: %+v, want a leader epoch past %d and broker %d out of the ISR", p, oldEpoch, lid)
	}
	t.Logf("broker %d leads pt/0 at epoch %d", c.nodes[newLeader].id, p.LeaderEpoch)
	for i := range 5 {
		if code := c.produceValue(newLeader, "pt", 0, -1, fmt.Sprint("majority-", i)); code != 0 {
			t.Fatalf("acks=all to the majority's leader: code %d", code)
		}
	}
	load.waitMore(t, 200, "on the majority's side")
	// The old leader still believes it leads (it has heard of no other
	// state), and still refuses.
	if code := c.produceValue(leader, "pt", 0, -1, "minority-late"); code == 0 {
		t.Fatalf("the cut-off broker %d acknowledged acks=all after the majority moved on", lid)
	}

	c.heal(leader)
	waitFor(t, fmt.Sprintf("broker %d back in the ISR", lid), func() bool {
		p := c.partitionOf(newLeader, "pt", 0)
		return p != nil && len(p.ISR) == 3
	})
	if !strings.Contains(c.nodes[leader].log.String(), "truncating the log to the leader's") {
		t.Errorf("broker %d did not log a truncation", lid)
	}
	load.waitMore(t, 100, "after the heal")
	acked := load.finish(t)

	recs := c.readToEnd(newLeader, "pt", 1)
	var plain []string // the records without a key, in order
	for _, r := range recs {
		if len(r.Key) == 0 {
			plain = append(plain, string(r.Value))
		}
	}
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprint("before-", i))
	}
	for i := range 5 {
		want = append(want, fmt.Sprint("majority-", i))
	}
	if !slices.Equal(plain, want) {
		t.Errorf("records without a key: %q, want %q (the minority acknowledged %q)", plain, want, minorityAcked)
	}
	checkKeyed(t, recs, acked)
	c.sameReplicas("pt", 1)
}
