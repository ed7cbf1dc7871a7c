package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/edge"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// The whole pipeline on a `pitwall broker` cluster (issue 13): simulator
// → pty → edge → three brokers → two lap processors, one broker SIGKILLed
// while the session runs and restarted. The truth checks are the
// processors' end-to-end tests' (processors/integration_test.go), over
// the packages as `pitwall up --brokers` runs them.

const (
	pipelineTrack = "brands-indy"
	pipelineCars  = 2
	pipelineLaps  = 3 // checked; the simulator drives one more
	pipelineGroup = "cluster-pipeline"
)

// TestClusterPipelineBrokerKilled: the simulator at 20× real time over a
// pty → the edge → a three-broker cluster whose Pitwall topics have
// three replicas per partition → two lap processors in one group. Once
// the first lap is on telemetry.laps, a broker that leads partitions
// (not the group's coordinator: the group coordinator's failover is
// cluster_groups_test.go's) is SIGKILLed; the pipeline goes on with two
// brokers (at least one more lap timed), and the broker is restarted and
// rejoins every ISR. The laps on telemetry.laps equal the simulator's
// truth, once each.
func TestClusterPipelineBrokerKilled(t *testing.T) {
	c := startTestCluster(t, buildPitwall(t), 3)
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 3 })
	}
	var addrs []string
	for _, nd := range c.nodes {
		addrs = append(addrs, nd.addr)
	}
	// Pitwall's topics as the edge and the processors create them
	// (admin.EnsureTopics): on three brokers, three replicas each.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc, err := sarama.NewClient(addrs, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.EnsureTopics(sc, telemetry.Topics()...); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	var names []string
	for _, s := range telemetry.Topics() {
		names = append(names, s.Name)
	}
	c.waitTopic(names...)
	for _, s := range telemetry.Topics() {
		for p := range int32(s.Partitions) {
			if got := c.partitionOf(0, s.Name, p); got == nil || len(got.Replicas) != 3 {
				t.Fatalf("%s/%d made by admin.EnsureTopics on three brokers: %+v, want 3 replicas", s.Name, p, got)
			}
		}
	}

	tr, err := track.LookupTiming(pipelineTrack)
	if err != nil {
		t.Fatal(err)
	}
	cfg := processors.Config{Brokers: addrs, Group: pipelineGroup, Lap: lap.Config{Track: tr}, SessionTimeout: 6 * time.Second, LiveWait: time.Minute}
	for range 2 {
		pctx, pcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := processors.Run(pctx, cfg); err != nil {
				t.Errorf("processor: %v", err)
			}
		}()
		t.Cleanup(func() { pcancel(); <-done })
	}

	truthPath := filepath.Join(t.TempDir(), "truth.csv")
	ann := &pipelinePTY{path: make(chan string, 1), proceed: make(chan struct{})}
	simDone := make(chan error, 1)
	go func() {
		simDone <- simulator.Run(ctx, simulator.Config{
			Track: pipelineTrack, Cars: pipelineCars, Laps: pipelineLaps + 1, PitEvery: 2, Seed: 13, GPSRateHz: 10, Speed: 20,
			Rates: map[string]int{telemetry.ChanGVert: 100, telemetry.ChanDamper + "_fl": 100, telemetry.ChanDamper + "_fr": 100,
				telemetry.ChanDamper + "_rl": 100, telemetry.ChanDamper + "_rr": 100},
			DropoutsPerHour: -1, GPSNoise: -1, PTY: true, Out: "serial", Truth: truthPath, Stdout: ann,
		})
	}()
	in := "serial:" + <-ann.path
	e, err := edge.New(edge.Config{
		Brokers: addrs, Inputs: []string{in}, Spool: edge.SpoolConfig{Dir: t.TempDir()},
		Metrics: "127.0.0.1:0", StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	edgeDone := make(chan error, 1)
	go func() { edgeDone <- e.Run(ctx) }()
	pipelineWaitSource(t, e.MetricsAddr(), in)
	close(ann.proceed)

	codec := telemetry.MustNewCodec()
	waitFor(t, "the first lap on telemetry.laps", func() bool { return len(pipelineLapsRead(t, addrs, codec)) > 0 })
	victim := c.pipelineVictim(pipelineGroup)
	vid := c.nodes[victim].id
	other := (victim + 1) % len(c.nodes)
	before := len(pipelineLapsRead(t, addrs[other:other+1], codec))
	c.kill(victim)
	t.Logf("broker %d killed with %d laps timed", vid, before)
	c.waitFenced(other, victim, telemetry.TopicFrames)
	live := slices.Delete(slices.Clone(addrs), victim, victim+1)
	waitFor(t, "a lap timed with a broker dead", func() bool { return len(pipelineLapsRead(t, live, codec)) > before })
	c.start(victim)
	c.waitWhole(telemetry.TopicFrames)
	c.waitWhole(telemetry.TopicLaps)

	if err := <-simDone; err != nil {
		t.Fatal(err)
	}
	truth, err := simulator.ReadTruthFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	truth = pipelineLapsUpTo(truth, pipelineLaps)
	pipelineSortLaps(truth)
	var got []telemetry.Lap
	waitFor(t, fmt.Sprintf("the %d laps of the truth", len(truth)), func() bool {
		got = pipelineLapsUpTo(pipelineLapsRead(t, addrs, codec), pipelineLaps)
		return len(got) >= len(truth)
	})
	if len(got) != len(truth) {
		t.Fatalf("%d laps, truth has %d: %v", len(got), len(truth), got)
	}
	for i, w := range truth {
		g := got[i]
		if g.Car != w.Car || g.Lap != w.Lap || g.PitLane != w.PitLane ||
			(g.LapTime()-w.LapTime()).Abs() > 5*time.Millisecond || time.Duration(g.StartNs-w.StartNs).Abs() > 5*time.Millisecond {
			t.Errorf("lap %s/%d: %v pit %v, truth %s/%d: %v pit %v", g.Car, g.Lap, g.LapTime(), g.PitLane, w.Car, w.Lap, w.LapTime(), w.PitLane)
		}
	}
	cancel()
	if err := <-edgeDone; err != nil {
		t.Errorf("edge: %v", err)
	}
}

// pipelineVictim is the index of a broker that leads partitions of the
// frames topic and is not group's coordinator.
func (c *testCluster) pipelineVictim(group string) int {
	c.t.Helper()
	cl := c.client(nil, 0)
	defer cl.Close()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey, req.CoordinatorKeys = group, []string{group}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		c.t.Fatal(err)
	}
	coord := int32(-1)
	if r := resp.(*kmsg.FindCoordinatorResponse); len(r.Coordinators) == 1 && r.Coordinators[0].ErrorCode == 0 {
		coord = r.Coordinators[0].NodeID
	} else if r.ErrorCode == 0 && len(r.Coordinators) == 0 {
		coord = r.NodeID
	}
	m, err := c.metadata(0)
	if err != nil {
		c.t.Fatal(err)
	}
	leads := map[int32]bool{}
	for _, p := range findTopic(m, telemetry.TopicFrames).Partitions {
		leads[p.Leader] = true
	}
	for i := len(c.nodes) - 1; i >= 0; i-- {
		if id := c.nodes[i].id; id != coord && leads[id] {
			return i
		}
	}
	c.t.Fatalf("no broker but the coordinator %d leads a partition: %s", coord, describeMetadata(m))
	return -1
}

// pipelineLapsRead reads telemetry.laps to its end through the given
// brokers and returns the laps of the test's group, sorted by car and
// lap; none while the topic cannot be read.
func pipelineLapsRead(t *testing.T, addrs []string, codec *telemetry.Codec) []telemetry.Lap {
	t.Helper()
	client, err := sarama.NewClient(addrs, sarama.NewConfig())
	if err != nil {
		return nil
	}
	defer client.Close()
	var mu sync.Mutex // fn runs on every partition's goroutine
	var out []telemetry.Lap
	var bad error
	err = topicread.ReadToEnd(context.Background(), client, telemetry.TopicLaps, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		var l telemetry.Lap
		if err := codec.DecodeLap(m.Value, &l); err != nil {
			mu.Lock()
			bad = fmt.Errorf("laps record %d/%d: %w", m.Partition, m.Offset, err)
			mu.Unlock()
			return
		}
		if processors.FromGroup(m, pipelineGroup) {
			mu.Lock()
			out = append(out, l)
			mu.Unlock()
		}
	})
	if bad != nil {
		t.Fatal(bad)
	}
	if err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Logf("reading %s: %v", telemetry.TopicLaps, err)
		return nil
	}
	pipelineSortLaps(out)
	return out
}

func pipelineSortLaps(ls []telemetry.Lap) {
	sort.Slice(ls, func(i, j int) bool {
		if ls[i].Car != ls[j].Car {
			return ls[i].Car < ls[j].Car
		}
		return ls[i].Lap < ls[j].Lap
	})
}

func pipelineLapsUpTo(ls []telemetry.Lap, n int32) []telemetry.Lap {
	var out []telemetry.Lap
	for _, l := range ls {
		if l.Lap <= n {
			out = append(out, l)
		}
	}
	return out
}

// pipelinePTY is the simulator's stdout: it takes the pty path the
// simulator prints first and holds the simulator there until proceed is
// closed, so the edge opens the port before any frame.
type pipelinePTY struct {
	path    chan string
	proceed chan struct{}
	once    sync.Once
}

func (a *pipelinePTY) Write(p []byte) (int, error) {
	first := false
	a.once.Do(func() { first = true; a.path <- strings.TrimSpace(string(p)) })
	if first {
		<-a.proceed
	}
	return len(p), nil
}

// pipelineWaitSource polls the edge's /metrics until source is up.
func pipelineWaitSource(t *testing.T, addr, source string) {
	t.Helper()
	want := fmt.Sprintf("edge_source_up{source=%q} 1", source)
	waitFor(t, "edge source "+source+" up", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(body), want)
	})
}
