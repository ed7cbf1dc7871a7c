package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Consumer groups in a cluster (issue 13): the coordinator of a group is
// the leader of its __consumer_offsets partition, replicated like any
// topic, so a group survives its coordinator's SIGKILL.

// TestClusterGroupCoordinatorKilled: a sarama consumer group and a kgo
// group (one member each, committing as they go) consume an RF=3 topic
// that a producer keeps writing; their common coordinator is SIGKILLed.
// The groups find the new coordinator and carry on from their committed
// offsets: every offset of the topic is consumed, and none below what was
// committed (and read back) before the kill is consumed again. Then the
// killed broker comes back, catches up as a follower of
// __consumer_offsets, and the sarama group's new coordinator is killed
// in turn, with the same checks. `pitwall groups describe` against a
// surviving broker shows both groups with their commits.
func TestClusterGroupCoordinatorKilled(t *testing.T) {
	const topic = "cgk"
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	mustTopics(t, "create", topic, "--partitions", "3", "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic(topic)

	kgoGroup, saramaGroup, coord := c.groupsWithOneCoordinator(t)
	t.Logf("groups %s and %s: coordinator broker %d", kgoGroup, saramaGroup, c.nodes[coord].id)

	kt := c.kgoGroupConsumer(t, kgoGroup, topic)
	st := c.saramaGroupConsumer(t, saramaGroup, topic)
	tracks := []*consumedTrack{kt, st}
	prod := c.pacedProducer(t, topic, kt, st)

	// before[g][k] is group g's commits read back before kill k.
	before := map[string][][]int64{}
	var survivor int
	for round := range 2 {
		waitGroupCond(t, "both groups consuming and committing", func() bool {
			for _, tr := range tracks {
				var prev int64 // commits read back before the last kill
				if b := before[tr.name]; len(b) > 0 {
					prev = committedSum(b[len(b)-1])
				}
				if tr.count() < tr.mark+300 || committedSum(c.committed(t, tr.name, topic)) < prev+100 {
					return false
				}
			}
			return true
		})
		for _, tr := range tracks {
			tr.setPhase(round + 1) // what is consumed from now on
			before[tr.name] = append(before[tr.name], c.committed(t, tr.name, topic))
			t.Logf("round %d: %s committed %v", round+1, tr.name, before[tr.name][round])
		}
		killed := c.nodes[coord].id
		c.kill(coord)
		survivor = (coord + 1) % len(c.nodes)
		for _, g := range []string{kgoGroup, saramaGroup} {
			waitGroupCond(t, "a coordinator of "+g, func() bool {
				id, code := c.findCoordinator(survivor, g)
				return code == 0 && id > 0 && id != killed
			})
		}
		for _, tr := range tracks {
			tr.mark = tr.count()
		}
		waitGroupCond(t, "both groups consuming again", func() bool {
			return kt.count() >= kt.mark+300 && st.count() >= st.mark+300
		})
		if round == 1 {
			break
		}

		// The killed broker returns and follows; then the sarama
		// group's coordinator goes.
		c.start(coord)
		for _, g := range []string{kgoGroup, saramaGroup} {
			p := int32(javaHashPartition(g, 12))
			waitGroupCond(t, fmt.Sprintf("broker %d back in the ISR of __consumer_offsets/%d", killed, p), func() bool {
				pm := c.partitionMeta(survivor, "__consumer_offsets", p)
				return pm != nil && len(pm.ISR) == 3
			})
		}
		id, _ := c.findCoordinator(survivor, saramaGroup)
		coord = int(id) - 1
		kid, _ := c.findCoordinator(survivor, kgoGroup)
		t.Logf("broker %d back; coordinators: %s %d, %s %d", killed, saramaGroup, id, kgoGroup, kid)
	}
	ends := prod.finish(t)
	t.Logf("produced: ends %v", ends)
	for _, tr := range tracks {
		waitGroupCond(t, tr.name+" consuming every record", func() bool { return tr.covers(ends) })
		tr.check(t, ends, before[tr.name])
	}

	// The groups are served, with their offsets, by the brokers left.
	for _, g := range []string{kgoGroup, saramaGroup} {
		var out string
		waitGroupCond(t, "pitwall groups describe "+g, func() bool {
			var err error
			out, err = groups(t, "describe", g, "--brokers", c.nodes[survivor].addr)
			return err == nil && strings.Contains(out, "state: Stable") && strings.Contains(out, "members: 1")
		})
		last := before[g][len(before[g])-1]
		committedRows := 0
		for _, row := range fields(out) {
			if len(row) >= 3 && row[0] == topic {
				p, _ := strconv.Atoi(row[1])
				got, err := strconv.ParseInt(row[2], 10, 64)
				if err != nil || p < 0 || p > 2 || got < last[p] {
					t.Errorf("%s: partition %d committed %q, before the last kill %v:\n%s", g, p, row[2], last, out)
				}
				committedRows++
			}
		}
		if committedRows != 3 {
			t.Errorf("%s: %d committed partitions of %s described, want 3:\n%s", g, committedRows, topic, out)
		}
	}
}

// partitionMeta is topic's partition p in broker i's Metadata, or nil.
func (c *testCluster) partitionMeta(i int, topic string, p int32) *kmsg.MetadataResponseTopicPartition {
	m, err := c.metadata(i)
	if err != nil {
		return nil
	}
	if t := findTopic(m, topic); t != nil && int(p) < len(t.Partitions) {
		return &t.Partitions[p]
	}
	return nil
}

// waitGroupCond polls cond until it holds, failing the test after two
// minutes (a copy of waitFor, whose file another change owns).
func waitGroupCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findCoordinator asks broker i (index) for group's coordinator.
func (c *testCluster) findCoordinator(i int, group string) (int32, int16) {
	cl := c.client(nil, i)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey, req.CoordinatorKeys = group, []string{group} // v0-v3, v4+
	resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		c.t.Logf("FindCoordinator %s from broker %d: %v", group, c.nodes[i].id, err)
		return -1, -1
	}
	if len(resp.Coordinators) == 1 {
		co := resp.Coordinators[0]
		resp.NodeID, resp.ErrorCode, resp.ErrorMessage = co.NodeID, co.ErrorCode, co.ErrorMessage
	}
	if resp.ErrorCode != 0 {
		c.t.Logf("FindCoordinator %s from broker %d: %v %v", group, c.nodes[i].id, kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage))
	}
	return resp.NodeID, resp.ErrorCode
}

// groupsWithOneCoordinator names a kgo and a sarama group that the same
// broker coordinates (the first pair found), and that broker's index.
func (c *testCluster) groupsWithOneCoordinator(t *testing.T) (kgoGroup, saramaGroup string, coord int) {
	t.Helper()
	coordOf := func(g string) int32 {
		var id int32
		waitGroupCond(t, "the coordinator of "+g, func() bool {
			var code int16
			id, code = c.findCoordinator(0, g)
			return code == 0 && id > 0
		})
		return id
	}
	for i := range 30 {
		kg, sg := fmt.Sprintf("kgo-%d", i), fmt.Sprintf("sarama-%d", i)
		if id := coordOf(kg); id == coordOf(sg) {
			return kg, sg, int(id) - 1
		}
	}
	t.Fatal("no pair of groups with one coordinator among 30")
	return "", "", 0
}

// committed is group's committed offset of each of topic's three
// partitions (-1: none), as its coordinator answers OffsetFetch.
func (c *testCluster) committed(t *testing.T, group, topic string) []int64 {
	cl := c.client(nil)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	out := []int64{-1, -1, -1}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		return out
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode == 0 && p.Partition >= 0 && p.Partition < 3 {
				out[p.Partition] = p.Offset
			}
		}
	}
	return out
}

func committedSum(offs []int64) int64 {
	var n int64
	for _, o := range offs {
		n += max(o, 0)
	}
	return n
}

// consumedTrack records what one group consumed: each offset of each
// partition, with the phase (kills before it) of each time it was.
type consumedTrack struct {
	name  string
	mark  int // the test's: count at the start of a round
	mu    sync.Mutex
	seen  map[int32]map[int64][]int
	n     int
	phase int
}

func newConsumedTrack(name string) *consumedTrack {
	return &consumedTrack{name: name, seen: map[int32]map[int64][]int{}}
}

func (tr *consumedTrack) add(p int32, off int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.seen[p] == nil {
		tr.seen[p] = map[int64][]int{}
	}
	tr.seen[p][off] = append(tr.seen[p][off], tr.phase)
	tr.n++
}

func (tr *consumedTrack) setPhase(k int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.phase = k
}

func (tr *consumedTrack) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.n
}

// covers reports whether every offset below ends[p] was consumed.
func (tr *consumedTrack) covers(ends []int64) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for p, end := range ends {
		if int64(len(tr.seen[int32(p)])) < end {
			return false
		}
		for off := range end {
			if len(tr.seen[int32(p)][off]) == 0 {
				return false
			}
		}
	}
	return true
}

// check fails the test for an offset below ends never consumed, and for
// one consumed again after kill k (phase k) below committed[k-1], what
// was committed before that kill: only the uncommitted tail may be
// consumed twice.
func (tr *consumedTrack) check(t *testing.T, ends []int64, committed [][]int64) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for p, end := range ends {
		for off := range end {
			if len(tr.seen[int32(p)][off]) == 0 {
				t.Errorf("%s: partition %d offset %d never consumed (end %d)", tr.name, p, off, end)
				break
			}
		}
		again := map[int]int{} // phase: offsets consumed again in it
		bad := 0
		for off, phases := range tr.seen[int32(p)] {
			for _, k := range phases[1:] {
				again[k]++
				var err string
				switch {
				case k == 0:
					err = "before any kill"
				case off < committed[k-1][p]:
					err = fmt.Sprintf("after kill %d, below %d committed before it", k, committed[k-1][p])
				default:
					continue
				}
				if bad++; bad <= 5 {
					t.Errorf("%s: partition %d offset %d consumed again %s", tr.name, p, off, err)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s: partition %d: %d more offsets consumed again", tr.name, p, bad-5)
		}
		t.Logf("%s: partition %d: %d offsets; consumed again, by kills before: %v", tr.name, p, end, again)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// kgoGroupConsumer runs a franz-go group member that commits what each
// poll returned once it has recorded it.
func (c *testCluster) kgoGroupConsumer(t *testing.T, group, topic string) *consumedTrack {
	tr := newConsumedTrack(group)
	cl := c.client([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) { tr.add(r.Partition, r.Offset) })
			cl.CommitUncommittedOffsets(ctx) // an error: committed with the next poll's
		}
	}()
	return tr
}

// saramaGroupConsumer runs a sarama consumer group member that marks
// each message once recorded (committed every 100 ms).
func (c *testCluster) saramaGroupConsumer(t *testing.T, group, topic string) *consumedTrack {
	tr := newConsumedTrack(group)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Retry.Max = 1000
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	cfg.Metadata.Retry.Max = 1000
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	var addrs []string
	for _, nd := range c.nodes {
		addrs = append(addrs, nd.addr)
	}
	g, err := sarama.NewConsumerGroup(addrs, group, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; g.Close() })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, groupHandler{tr}); err != nil && ctx.Err() == nil {
				t.Logf("sarama group %s: %v (consuming again)", group, err)
			}
		}
	}()
	return tr
}

type groupHandler struct{ tr *consumedTrack }

func (groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h.tr.add(m.Partition, m.Offset)
			sess.MarkMessage(m, "")
		case <-sess.Context().Done():
			return nil
		}
	}
}

// pacedProducer writes to topic's three partitions in turn, acks=all,
// staying at most 300 records ahead of the slower group.
type pacedProducer struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	ends []int64
	err  error
}

func (c *testCluster) pacedProducer(t *testing.T, topic string, groups ...*consumedTrack) *pacedProducer {
	pp := &pacedProducer{stop: make(chan struct{}), done: make(chan struct{}), ends: []int64{0, 0, 0}}
	cl := c.client([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())})
	t.Cleanup(func() {
		select {
		case <-pp.stop:
		default:
			close(pp.stop)
		}
		<-pp.done
	})
	go func() {
		defer close(pp.done)
		produced := 0
		for v := 0; ; v += 30 {
			for {
				select {
				case <-pp.stop:
					return
				default:
				}
				slowest := produced
				for _, g := range groups {
					slowest = min(slowest, g.count())
				}
				if produced-slowest < 300 {
					break
				}
				time.Sleep(5 * time.Millisecond) // until a group catches up
			}
			var recs []*kgo.Record
			for i := range 30 {
				recs = append(recs, &kgo.Record{Partition: int32(i % 3), Value: []byte(strconv.Itoa(v + i))})
			}
			res := cl.ProduceSync(context.Background(), recs...)
			pp.mu.Lock()
			for _, r := range res {
				if r.Err != nil {
					pp.err = r.Err
					continue
				}
				pp.ends[r.Record.Partition] = max(pp.ends[r.Record.Partition], r.Record.Offset+1)
			}
			pp.mu.Unlock()
			produced += len(recs)
		}
	}()
	return pp
}

// finish stops the producer and returns each partition's end (one past
// the last acknowledged offset).
func (pp *pacedProducer) finish(t *testing.T) []int64 {
	t.Helper()
	close(pp.stop)
	<-pp.done
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.err != nil && !kerr.IsRetriable(pp.err) {
		t.Fatalf("producing: %v", pp.err)
	}
	return slices.Clone(pp.ends)
}

// TestClusterGroupCoordinatorRouting: __consumer_offsets is created on
// the first FindCoordinator with 12 partitions of 3 replicas led by every
// broker; every broker names the leader of the group's partition (Kafka's
// hash) as its coordinator, which serves the group; each group request to
// another broker is answered NOT_COORDINATOR.
func TestClusterGroupCoordinatorRouting(t *testing.T) {
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	mustTopics(t, "create", "routed", "--partitions", "1", "--replication-factor", "3", "--brokers", c.nodes[0].addr)
	c.waitTopic("routed")
	const g = "laps-group"
	coord, _ := c.findCoordinator(0, g)
	for i := range c.nodes {
		if id, code := c.findCoordinator(i, g); code != 0 || id != coord {
			t.Errorf("FindCoordinator %s through broker %d: node %d code %d, broker 1 named %d", g, i+1, id, code, coord)
		}
	}
	m := c.waitMetadata(0, "__consumer_offsets", func(m *kmsg.MetadataResponse) bool { return findTopic(m, "__consumer_offsets") != nil })
	parts := findTopic(m, "__consumer_offsets").Partitions
	leaders := map[int32]bool{}
	for _, p := range parts {
		leaders[p.Leader] = true
		if len(p.Replicas) != 3 || len(p.ISR) != 3 {
			t.Errorf("__consumer_offsets/%d: replicas %v ISR %v, want 3 of each", p.Partition, p.Replicas, p.ISR)
		}
	}
	if len(parts) != 12 || len(leaders) != 3 {
		t.Errorf("__consumer_offsets: %d partitions led by %v, want 12 led by every broker", len(parts), leaders)
	}
	if want := parts[javaHashPartition(g, len(parts))].Leader; coord != want {
		t.Errorf("coordinator of %s: %d, the leader of its partition %d is %d", g, coord, javaHashPartition(g, len(parts)), want)
	}

	// The coordinator takes a commit (no generation: an admin's) and
	// serves it back; another broker refuses every group request.
	ci := int(coord) - 1
	other := (ci + 1) % 3
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = g, -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "routed"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset = 0, 42
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	waitGroupCond(t, "a commit to the coordinator", func() bool {
		code := c.groupRequest(t, ci, commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
		if code != 0 && !kerr.IsRetriable(kerr.ErrorForCode(code)) {
			t.Fatalf("commit to the coordinator: %v", kerr.ErrorForCode(code))
		}
		return code == 0 // COORDINATOR_LOAD_IN_PROGRESS until it has loaded the partition
	})
	if got := c.committedThrough(t, ci, g, "routed"); got != 42 {
		t.Errorf("offset fetched from the coordinator: %d, want 42", got)
	}

	notCoord := kerr.NotCoordinator.Code
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = g, 10000, 10000, "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = g, 1, "m"
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.Generation, hb.MemberID = g, 1, "m"
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = g, "m"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = g
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{{Group: g}}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Groups = []string{g}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{g}
	odel := kmsg.NewPtrOffsetDeleteRequest()
	odel.Group = g
	odel.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "routed", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	codes := map[string]int16{}
	codes["JoinGroup"] = c.groupRequest(t, other, join).(*kmsg.JoinGroupResponse).ErrorCode
	codes["SyncGroup"] = c.groupRequest(t, other, sync).(*kmsg.SyncGroupResponse).ErrorCode
	codes["Heartbeat"] = c.groupRequest(t, other, hb).(*kmsg.HeartbeatResponse).ErrorCode
	codes["LeaveGroup"] = c.groupRequest(t, other, leave).(*kmsg.LeaveGroupResponse).ErrorCode
	codes["OffsetCommit"] = c.groupRequest(t, other, commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	fr := c.groupRequest(t, other, fetch).(*kmsg.OffsetFetchResponse)
	codes["OffsetFetch"] = fr.ErrorCode
	if len(fr.Groups) == 1 {
		codes["OffsetFetch"] = fr.Groups[0].ErrorCode
	}
	codes["DescribeGroups"] = c.groupRequest(t, other, describe).(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode
	codes["DeleteGroups"] = c.groupRequest(t, other, del).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode
	codes["OffsetDelete"] = c.groupRequest(t, other, odel).(*kmsg.OffsetDeleteResponse).ErrorCode
	for api, code := range codes {
		if code != notCoord {
			t.Errorf("%s to broker %d (coordinator %d): %v, want NOT_COORDINATOR", api, other+1, coord, kerr.ErrorForCode(code))
		}
	}
	lg := c.groupRequest(t, other, kmsg.NewPtrListGroupsRequest()).(*kmsg.ListGroupsResponse)
	for _, lgg := range lg.Groups {
		if lgg.Group == g {
			t.Errorf("ListGroups on broker %d lists %s, coordinated by %d", other+1, g, coord)
		}
	}
	lg = c.groupRequest(t, ci, kmsg.NewPtrListGroupsRequest()).(*kmsg.ListGroupsResponse)
	if !slices.ContainsFunc(lg.Groups, func(l kmsg.ListGroupsResponseGroup) bool { return l.Group == g }) {
		t.Errorf("ListGroups on the coordinator %d: %v, want %s", coord, lg.Groups, g)
	}
}

// groupRequest sends req to broker i (index) itself, not to the
// coordinator the client would look up.
func (c *testCluster) groupRequest(t *testing.T, i int, req kmsg.Request) kmsg.Response {
	t.Helper()
	cl := c.client(nil, i)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatalf("%T to broker %d: %v", req, i+1, err)
	}
	return resp
}

// committedThrough is group's committed offset of topic's partition 0
// as broker i answers OffsetFetch.
func (c *testCluster) committedThrough(t *testing.T, i int, group, topic string) int64 {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{0}}}
	req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group, Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{0}}}}}
	resp := c.groupRequest(t, i, req).(*kmsg.OffsetFetchResponse)
	for _, g := range resp.Groups {
		for _, tp := range g.Topics {
			for _, p := range tp.Partitions {
				return p.Offset
			}
		}
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			return p.Offset
		}
	}
	return -1
}

// javaHashPartition is Kafka's partitionFor: abs(String.hashCode) % n.
func javaHashPartition(s string, n int) int {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return int(h&0x7fffffff) % n
}
