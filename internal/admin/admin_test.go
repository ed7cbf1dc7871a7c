package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/telemetry"
)

// clusters runs test against Pitwall's broker and against kfake: the
// admin calls use standard APIs only, so both must answer alike.
func clusters(t *testing.T, test func(t *testing.T, addr string)) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for name, addr := range map[string]string{"pitwall": brokertest.Start(t).Addr, "kfake": fake.ListenAddrs()[0]} {
		t.Run(name, func(t *testing.T) { test(t, addr) })
	}
}

func dial(t *testing.T, addr string) *admin.Client {
	t.Helper()
	ac, err := admin.Dial(t.Context(), addr, "admin-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Close() })
	return ac
}

func TestEnsureTopics(t *testing.T) {
	clusters(t, func(t *testing.T, addr string) {
		client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		specs := telemetry.Topics()
		for range 2 { // the second time, every topic exists
			if err := admin.EnsureTopics(client, specs...); err != nil {
				t.Fatal(err)
			}
		}
		if client.Closed() {
			t.Fatal("EnsureTopics closed the caller's client")
		}
		var names []string
		for _, s := range specs {
			names = append(names, s.Name)
		}
		descs, err := dial(t, addr).DescribeTopics(names)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range descs {
			if len(d.Partitions) != int(specs[i].Partitions) || d.ReplicationFactor != 1 {
				t.Errorf("%s: %d partitions, replication factor %d; want %d, 1", d.Name, len(d.Partitions), d.ReplicationFactor, specs[i].Partitions)
			}
			for k, v := range specs[i].Configs {
				if !slices.Contains(d.Configs, admin.Config{Name: k, Value: v, Source: "topic"}) {
					t.Errorf("%s lacks %s=%s from the topic: %+v", d.Name, k, v, d.Configs)
				}
			}
		}
	})
}

func TestTopics(t *testing.T) {
	clusters(t, func(t *testing.T, addr string) {
		ac := dial(t, addr)
		cars := telemetry.TopicSpec{Name: "cars", Partitions: 3, Configs: map[string]string{"retention.ms": "3600000"}}
		if err := ac.CreateTopic(cars, 1); err != nil {
			t.Fatal(err)
		}
		if err := ac.CreateTopic(telemetry.TopicSpec{Name: "laps"}, 1); err != nil { // the broker's partition count
			t.Fatal(err)
		}
		if err := ac.CreateTopic(cars, 1); err == nil || err.Error() != "topic cars already exists" {
			t.Errorf("second create: %v", err)
		}
		list, err := ac.ListTopics()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0] != (admin.TopicSummary{Name: "cars", Partitions: 3, ReplicationFactor: 1}) || list[1].Name != "laps" || list[1].Partitions < 1 {
			t.Errorf("list: %+v", list)
		}

		descs, err := ac.DescribeTopics([]string{"laps", "cars"})
		if err != nil {
			t.Fatal(err)
		}
		if len(descs) != 2 || descs[0].Name != "laps" || descs[1].Name != "cars" {
			t.Fatalf("describe laps cars: %+v", descs)
		}
		d := descs[1]
		for i, p := range d.Partitions {
			if p.ID != int32(i) || len(p.Replicas) != 1 || p.Replicas[0] != p.Leader || !slices.Equal(p.ISR, p.Replicas) {
				t.Errorf("partition %d: %+v", i, p)
			}
		}
		if !slices.Contains(d.Configs, admin.Config{Name: "retention.ms", Value: "3600000", Source: "topic"}) {
			t.Errorf("configs lack retention.ms from the topic: %+v", d.Configs)
		}
		if !slices.IsSortedFunc(d.Configs, func(a, b admin.Config) int { return strings.Compare(a.Name, b.Name) }) {
			t.Error("configs not sorted by name")
		}

		if err := ac.DeleteTopic("cars"); err != nil {
			t.Fatal(err)
		}
		if err := ac.DeleteTopic("cars"); err == nil || err.Error() != "topic cars does not exist" {
			t.Errorf("second delete: %v", err)
		}
		if _, err := ac.DescribeTopics([]string{"cars"}); err == nil || err.Error() != "topic cars does not exist" {
			t.Errorf("describe of a deleted topic: %v", err)
		}
	})
}

func TestValidTopicName(t *testing.T) {
	for name, ok := range map[string]bool{
		"telemetry.laps": true, "a-b_c.D9": true, "": false, ".": false, "..": false,
		"car/s": false, "cars ": false, strings.Repeat("x", 249): true, strings.Repeat("x", 250): false,
	} {
		if err := admin.ValidTopicName(name); (err == nil) != ok {
			t.Errorf("ValidTopicName(%q) = %v", name, err)
		}
	}
}

// TestGroups commits offsets for a group without members (as a tool
// resetting offsets does) and reads them back with the end offsets and
// the lag.
func TestGroups(t *testing.T) {
	clusters(t, func(t *testing.T, addr string) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		ac := dial(t, addr)
		if err := ac.CreateTopic(telemetry.TopicSpec{Name: "laps", Partitions: 2}, 1); err != nil {
			t.Fatal(err)
		}
		// Kafka 3.7's versions: OffsetCommit names topics (v10 gives ids).
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxVersions(kversion.V3_7_0()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var recs []*kgo.Record
		for p := range int32(2) {
			for range 5 {
				recs = append(recs, &kgo.Record{Topic: "laps", Partition: p, Value: []byte("lap")})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.Group, commit.Generation = "g", -1
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = "laps"
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Partition, cp.Offset = 0, 2
		ct.Partitions = append(ct.Partitions, cp)
		commit.Topics = append(commit.Topics, ct)
		// The lap processor's metadata: processed up to 4 of 5, committed
		// 1 (an open lap) → lag 1, 3 in the open lap.
		pw := kmsg.NewOffsetCommitRequestTopic()
		pw.Topic = "laps"
		pp := kmsg.NewOffsetCommitRequestTopicPartition()
		pp.Partition, pp.Offset = 1, 1
		pp.Metadata = kmsg.StringPtr(telemetry.OffsetMeta{Position: 4, Restarts: map[string]int64{"car01": 1}}.Encode())
		pw.Partitions = append(pw.Partitions, pp)
		commit.Topics = append(commit.Topics, pw)
		resp, err := commit.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.Topics {
			if code := rt.Partitions[0].ErrorCode; code != 0 {
				t.Fatalf("commit: error code %d", code)
			}
		}

		groups, err := ac.ListGroups()
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 1 || groups[0].Name != "g" || !groups[0].Described || groups[0].State != "Empty" || groups[0].Members != 0 {
			t.Errorf("list: %+v", groups)
		}
		g, err := ac.DescribeGroup("g")
		if err != nil {
			t.Fatal(err)
		}
		want := []admin.PartitionOffsets{
			{Topic: "laps", Partition: 0, Committed: 2, End: 5, Position: -1, Lag: 3, InLap: -1},
			{Topic: "laps", Partition: 1, Committed: 1, End: 5, Position: 4, Lag: 1, InLap: 3},
		}
		if g.Name != "g" || g.State != "Empty" || len(g.Members) != 0 || !slices.Equal(g.Offsets, want) {
			t.Errorf("describe: %+v, want offsets %+v", g, want)
		}
		if _, err := ac.DescribeGroup("nope"); err == nil || err.Error() != "group nope does not exist" {
			t.Errorf("describe of a missing group: %v", err)
		}
	})
}

// TestDialClosesWithContext checks that ending the context closes the
// connection, so a command stops at SIGINT.
func TestDialClosesWithContext(t *testing.T) {
	b := brokertest.Start(t)
	ctx, cancel := context.WithCancel(t.Context())
	ac, err := admin.Dial(ctx, b.Addr, "admin-test")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := ac.Close(); err != nil {
		t.Errorf("Close after the context ended: %v", err)
	}
	if _, err := ac.ListTopics(); err == nil {
		t.Error("ListTopics on a closed client: no error")
	}
}
