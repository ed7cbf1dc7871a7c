package broker_test

import (
	"slices"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestSaramaGroupJoinLeaveCrash runs sarama ConsumerGroup members as the
// processors do: three join one by one (the third in a child process),
// one leaves, and the child is killed with SIGKILL. After each rebalance
// the members of the new generation own every partition exactly once, and
// in the end every record produced was consumed (at least once: the
// killed member's uncommitted records are consumed again).
func TestSaramaGroupJoinLeaveCrash(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	const topic, groupID, parts = "laps", "processors", 6
	mustCreate(t, cl, topic, parts, nil)
	col := newCollector()
	var want []string
	want = append(want, produceValues(t, ctx, cl, topic, "a", 300)...)

	start := func(name string) *saramaMember {
		m, err := startSaramaMember(b.Addr, groupID, topic, name, col, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.stop() })
		return m
	}
	start("A")
	col.waitGeneration(t, ctx, parts, "A")
	memberB := start("B")
	col.waitGeneration(t, ctx, parts, "A", "B")
	child := startChildMember(t, b.Addr, groupID, topic, col)
	col.waitGeneration(t, ctx, parts, "A", "B", "child")
	want = append(want, produceValues(t, ctx, cl, topic, "b", 300)...)
	col.waitFor(t, ctx, "the child to consume", func() bool { return col.byMember["child"] > 0 })

	if err := memberB.stop(); err != nil {
		t.Fatalf("B leaving: %v", err)
	}
	col.waitGeneration(t, ctx, parts, "A", "child")
	want = append(want, produceValues(t, ctx, cl, topic, "c", 300)...)

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	col.waitGeneration(t, ctx, parts, "A")
	want = append(want, produceValues(t, ctx, cl, topic, "d", 300)...)
	col.waitFor(t, ctx, "every record to be consumed", func() bool { return len(col.missing(want)) == 0 })
	col.checkExclusive(t)
	col.mu.Lock()
	t.Logf("records consumed per member: %v", col.byMember)
	col.mu.Unlock()
}

// TestSaramaGroupResumesAfterRestart: a group's committed offsets survive
// a broker restart; the group is listed (Empty) after it, and a new
// member resumes exactly where the last one committed.
func TestSaramaGroupResumesAfterRestart(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	const topic, groupID, parts = "frames", "influx-writer", 4
	mustCreate(t, cl, topic, parts, nil)
	before := produceValues(t, ctx, cl, topic, "before", 400)

	col := newCollector()
	m, err := startSaramaMember(b.Addr, groupID, topic, "first", col, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	col.waitFor(t, ctx, "the first member to consume everything", func() bool { return len(col.missing(before)) == 0 })
	if err := m.stop(); err != nil { // commits what it marked, then leaves
		t.Fatal(err)
	}
	hw := highWatermarks(t, ctx, cl, topic, parts)
	if got := committedOffsets(t, ctx, cl, groupID, topic, parts); !mapsEqual(got, hw) {
		t.Fatalf("committed %v before the restart, want the high watermarks %v", got, hw)
	}
	cl.Close()

	b.Restart(t)
	cl = newKgo(t, b.Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	if got := committedOffsets(t, ctx, cl, groupID, topic, parts); !mapsEqual(got, hw) {
		t.Fatalf("committed %v after the restart, want %v", got, hw)
	}
	admin, err := sarama.NewClusterAdmin([]string{b.Addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	groups, err := admin.ListConsumerGroups()
	if err != nil || groups[groupID] != "consumer" {
		t.Fatalf("groups listed after the restart: %v (%v), want %s as a consumer group", groups, err, groupID)
	}

	after := produceValues(t, ctx, cl, topic, "after", 200)
	col2 := newCollector()
	m2, err := startSaramaMember(b.Addr, groupID, topic, "second", col2, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.stop()
	col2.waitFor(t, ctx, "the second member to consume the new records", func() bool { return len(col2.missing(after)) == 0 })
	col2.mu.Lock()
	defer col2.mu.Unlock()
	for _, v := range before {
		if col2.seen[v] > 0 {
			t.Fatalf("record %s consumed again after the restart: the group did not resume from its committed offsets", v)
		}
	}
}

// TestSaramaFollowerWithoutPartitions: with more members than partitions,
// the member that gets none receives a valid empty assignment, stays in
// the group, and takes a partition over when an owner leaves.
func TestSaramaFollowerWithoutPartitions(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	const topic, groupID, parts = "sectors", "sector-timer", 2
	mustCreate(t, cl, topic, parts, nil)
	col := newCollector()
	members := map[string]*saramaMember{}
	for _, name := range []string{"A", "B", "C"} {
		m, err := startSaramaMember(b.Addr, groupID, topic, name, col, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		members[name] = m
		t.Cleanup(func() { m.stop() })
	}
	gen := col.waitGeneration(t, ctx, parts, "A", "B", "C")
	col.mu.Lock()
	var idle string
	for name, ps := range col.claims[gen] {
		if len(ps) == 0 {
			idle = name
		}
	}
	col.mu.Unlock()
	if idle == "" {
		t.Fatalf("generation %d: no member without partitions", gen)
	}
	first := produceValues(t, ctx, cl, topic, "a", 100)
	col.waitFor(t, ctx, "the owners to consume", func() bool { return len(col.missing(first)) == 0 })

	var leaving string
	for name := range members {
		if name != idle {
			leaving = name
			break
		}
	}
	if err := members[leaving].stop(); err != nil {
		t.Fatal(err)
	}
	rest := slices.DeleteFunc([]string{"A", "B", "C"}, func(n string) bool { return n == leaving })
	gen = col.waitGeneration(t, ctx, parts, rest...)
	col.mu.Lock()
	took := len(col.claims[gen][idle])
	col.mu.Unlock()
	if took != 1 {
		t.Fatalf("after %s left, the idle member %s owns %d partitions, want 1", leaving, idle, took)
	}
	second := produceValues(t, ctx, cl, topic, "b", 100)
	col.waitFor(t, ctx, "the formerly idle member to consume", func() bool { return len(col.missing(second)) == 0 && col.byMember[idle] > 0 })
	col.checkExclusive(t)
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
