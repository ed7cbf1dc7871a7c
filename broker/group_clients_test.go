package broker_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestKcatBalancedConsumer runs librdkafka's balanced consumer (kcat -G)
// to the end of a topic, and again: the second run resumes from the
// offsets the first committed and reads only what was produced since.
func TestKcatBalancedConsumer(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	const topic, groupID, parts = "kcat-laps", "kcat-group", 4
	mustCreate(t, cl, topic, parts, nil)
	consume := func() map[string]int {
		t.Helper()
		// No -o: kcat would apply it to every assigned partition
		// instead of the committed offsets.
		cmd := exec.CommandContext(ctx, kcat, "-b", b.Addr, "-G", groupID, "-e", "-q", "-f", "%s\n",
			"-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", topic)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -G: %v\n%s", err, out)
		}
		got := map[string]int{}
		for _, line := range strings.Fields(string(out)) {
			got[line]++
		}
		return got
	}
	first := produceValues(t, ctx, cl, topic, "a", 200)
	got := consume()
	for _, v := range first {
		if got[v] != 1 {
			t.Fatalf("first run: %s consumed %d times, want once (%d lines)", v, got[v], len(got))
		}
	}
	hw := highWatermarks(t, ctx, cl, topic, parts)
	if c := committedOffsets(t, ctx, cl, groupID, topic, parts); !mapsEqual(c, hw) {
		t.Fatalf("kcat committed %v, want the high watermarks %v", c, hw)
	}
	second := produceValues(t, ctx, cl, topic, "b", 100)
	got = consume()
	if len(got) != len(second) {
		t.Errorf("second run consumed %d records, want the %d new ones", len(got), len(second))
	}
	for _, v := range second {
		if got[v] != 1 {
			t.Errorf("second run: %s consumed %d times", v, got[v])
		}
	}
}

// TestKgoConsumerGroup runs three franz-go group consumers (its default
// cooperative-sticky balancer, so several rebalances as they join) over
// six partitions: a partition is never owned by two members at once, the
// three settle with two partitions each, every record is consumed, and
// the offsets they commit are the high watermarks.
func TestKgoConsumerGroup(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	const topic, groupID, parts = "kgo-laps", "kgo-group", 6
	mustCreate(t, cl, topic, parts, nil)

	// The partitions each member owns right now, reported to the
	// collector as "generation 1" after every change.
	var mu sync.Mutex
	owner := map[int32]string{}
	col := newCollector()
	report := func(name string) {
		var mine []int32
		for p, o := range owner {
			if o == name {
				mine = append(mine, p)
			}
		}
		col.claim(name, 1, mine)
	}
	assigned := func(name string) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range m[topic] {
				if o, ok := owner[p]; ok {
					t.Errorf("partition %d assigned to %s while %s owns it", p, name, o)
				}
				owner[p] = name
			}
			report(name)
		}
	}
	// Revoked and lost partitions simply lose their owner (offsets are
	// committed explicitly below).
	lost := func(name string) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range m[topic] {
				if owner[p] == name {
					delete(owner, p)
				}
			}
			report(name)
		}
	}
	var wg sync.WaitGroup
	var clients []*kgo.Client
	for _, name := range []string{"A", "B", "C"} {
		c, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ClientID(name), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.OnPartitionsAssigned(assigned(name)), kgo.OnPartitionsRevoked(lost(name)), kgo.OnPartitionsLost(lost(name)))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				fs := c.PollFetches(ctx)
				if fs.IsClientClosed() || ctx.Err() != nil {
					return
				}
				fs.EachRecord(func(r *kgo.Record) { col.record(name, string(r.Value)) })
			}
		}()
	}
	// Produced once the group has settled, so each partition's records
	// are consumed, and then committed, by the member that keeps it.
	col.waitGeneration(t, ctx, parts, "A", "B", "C")
	want := produceValues(t, ctx, cl, topic, "a", 600)
	col.waitFor(t, ctx, "every record to be consumed", func() bool { return len(col.missing(want)) == 0 })
	for _, c := range clients {
		if err := c.CommitUncommittedOffsets(ctx); err != nil {
			t.Errorf("commit: %v", err)
		}
	}
	hw := highWatermarks(t, ctx, cl, topic, parts)
	if got := committedOffsets(t, ctx, cl, groupID, topic, parts); !mapsEqual(got, hw) {
		t.Errorf("committed %v, want the high watermarks %v", got, hw)
	}
	for _, c := range clients {
		c.Close() // leaves the group
	}
	wg.Wait()
	col.mu.Lock()
	t.Logf("records consumed per member: %v", col.byMember)
	col.mu.Unlock()
}

// TestInitialRebalanceDelay: with group.initial.rebalance.delay set, three
// sarama members starting together share the group's first generation
// instead of rebalancing once per member; a negative delay is refused.
func TestInitialRebalanceDelay(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.StartConfig(t, broker.Config{GroupInitialRebalanceDelay: 3 * time.Second})
	cl := newKgo(t, b.Addr)
	const topic, groupID, parts = "delayed", "delayed-group", 6
	mustCreate(t, cl, topic, parts, nil)
	col := newCollector()
	for _, name := range []string{"A", "B", "C"} {
		m, err := startSaramaMember(b.Addr, groupID, topic, name, col, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.stop() })
	}
	if gen := col.waitGeneration(t, ctx, parts, "A", "B", "C"); gen != 1 {
		t.Errorf("the three members first shared generation %d, want 1", gen)
	}
	col.mu.Lock()
	for gen := range col.claims {
		if gen != 1 {
			t.Errorf("generation %d was claimed: the members rebalanced while starting", gen)
		}
	}
	col.mu.Unlock()

	if _, err := broker.New(broker.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), GroupInitialRebalanceDelay: -time.Second}); !errors.Is(err, broker.ErrConfig) {
		t.Errorf("negative delay: %v, want ErrConfig", err)
	}
}
