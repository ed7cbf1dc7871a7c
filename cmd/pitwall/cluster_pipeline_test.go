package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/internal/pipelinetest"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// The whole pipeline on a `pitwall broker` cluster (issue 13): simulator
// → pty → edge → three brokers → two lap processors, one broker SIGKILLed
// while the session runs and restarted. The simulator, pty and edge and
// the truth checks are the processors' end-to-end tests'
// (internal/pipelinetest), over the packages as `pitwall up --brokers`
// runs them.

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

	run := pipelinetest.SimulateOverPTY(t, simulator.Config{
		Track: pipelineTrack, Cars: pipelineCars, Laps: pipelineLaps + 1, PitEvery: 2, Seed: 13, GPSRateHz: 10, Speed: 20,
		Rates: pipelinetest.Rates(), DropoutsPerHour: -1, GPSNoise: -1,
	}, addrs)

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

	truth := pipelinetest.LapsUpTo(run.Truth(t), pipelineLaps)
	var got []telemetry.Lap
	waitFor(t, fmt.Sprintf("the %d laps of the truth", len(truth)), func() bool {
		got = pipelinetest.LapsUpTo(pipelineLapsRead(t, addrs, codec), pipelineLaps)
		return len(got) >= len(truth)
	})
	pipelinetest.CheckTruth(t, got, truth)
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
	laps, err := pipelinetest.ReadLaps(t, client, codec, pipelineGroup)
	if err != nil {
		t.Logf("reading %s: %v", telemetry.TopicLaps, err)
	}
	return laps
}
