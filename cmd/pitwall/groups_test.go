package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// groups runs `pitwall groups args...` and returns what it printed.
func groups(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := groupsMain(t.Context(), args, &out, &errOut)
	return out.String(), err
}

func mustGroups(t *testing.T, args ...string) string {
	t.Helper()
	out, err := groups(t, args...)
	if err != nil {
		t.Fatalf("pitwall groups %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestGroupsListDescribe runs the same consumer group against Pitwall and
// kfake and checks that both print it the same way: state, protocol, the
// member with its client id, host and partitions, and per partition the
// committed offset, the end offset and the lag.
func TestGroupsListDescribe(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for name, addr := range map[string]string{"pitwall": brokertest.Start(t).Addr, "kfake": fake.ListenAddrs()[0]} {
		t.Run(name, func(t *testing.T) { groupsListDescribe(t, addr) })
	}
}

func groupsListDescribe(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	b := "--brokers=" + addr
	admin, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "laps", 3, 1
	create.Topics = append(create.Topics, ct)
	if _, err := create.RequestWith(ctx, admin); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for p := range int32(3) {
		for range 10 {
			recs = append(recs, &kgo.Record{Topic: "laps", Partition: p, Value: []byte("lap")})
		}
	}
	if err := admin.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	assigned := make(chan struct{}, 1)
	member, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("proc"), kgo.ConsumerGroup("processors"),
		kgo.ConsumeTopics("laps"), kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { assigned <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	go member.PollFetches(ctx) // starts consuming, and so joining
	select {
	case <-assigned:
	case <-ctx.Done():
		t.Fatal("the member never got its partitions")
	}
	offsets := map[string]map[int32]kgo.EpochOffset{"laps": {0: {Epoch: -1, Offset: 4}, 1: {Epoch: -1, Offset: 10}}}
	var commitErr error
	member.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
	})
	if commitErr != nil {
		t.Fatal(commitErr)
	}

	if got, want := mustGroups(t, "list", b), "GROUP       STATE   PROTOCOL-TYPE  MEMBERS\nprocessors  Stable  consumer       1\n"; got != want {
		t.Errorf("list printed\n%s\nwant\n%s", got, want)
	}
	desc := mustGroups(t, "describe", "processors", b)
	if !strings.HasPrefix(desc, "group: processors\nstate: Stable\nprotocol: consumer/range\nmembers: 1\n\nMEMBER") {
		t.Fatalf("describe header:\n%s", desc)
	}
	rows := fields(desc)
	m := rows[6] // member id, client id, host, partitions
	if len(m) != 4 || m[1] != "proc" || !strings.Contains(m[2], "127.0.0.1") || m[3] != "laps:0,1,2" {
		t.Errorf("member row %q", m)
	}
	id := m[0]
	wantLag := []string{
		"TOPIC PARTITION COMMITTED END LAG IN-LAP MEMBER",
		"laps 0 4 10 6 - " + id,
		"laps 1 10 10 0 - " + id,
		"laps 2 - 10 - - " + id,
	}
	for i, w := range wantLag {
		if got := strings.Join(rows[8+i], " "); got != w {
			t.Errorf("lag row %d: %q, want %q\n%s", i, got, w, desc)
		}
	}

	member.Close() // leaves the group
	desc = mustGroups(t, "describe", "processors", b)
	want := "group: processors\nstate: Empty\nprotocol: consumer\nmembers: 0\n\nMEMBER  CLIENT-ID  HOST  PARTITIONS\n\n" +
		"TOPIC  PARTITION  COMMITTED  END  LAG  IN-LAP  MEMBER\nlaps   0          4          10   6    -       -\nlaps   1          10         10   0    -       -\n"
	if desc != want {
		t.Errorf("describe after the member left:\n%s\nwant\n%s", desc, want)
	}
	if _, err := groups(t, "describe", "nope", b); err == nil || err.Error() != "group nope does not exist" {
		t.Errorf("describe of a missing group: %v", err)
	}
}

// TestGroupsDescribeLapProcessor runs the real lap processor over a
// finished simulation and expects `groups describe` to show it caught up
// (LAG 0 on every partition) while the committed offsets, at the start of
// each partition's oldest open lap, still trail the end (IN-LAP > 0):
// Kafka's lag would be IN-LAP, not 0.
func TestGroupsDescribeLapProcessor(t *testing.T) {
	addr := brokertest.Start(t).Addr
	b := "--brokers=" + addr
	if err := runSim(t.Context(), []string{"--track", "brands-indy", "--cars", "3", "--laps", "2", "--speed", "max",
		"--start", "epoch", "--out", "kafka://" + addr + "/telemetry", "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- runProcess(ctx, []string{b, "--group", "timing", "--track", "brands-indy", "--log-level", "warn"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pitwall process: %v", err)
		}
	})

	deadline := time.Now().Add(2 * time.Minute)
	for {
		desc, err := groups(t, "describe", "timing", b) // "does not exist" until the processor joins
		rows, lagged, inLap, ok := lapRows(desc)
		if ok && rows > 0 && lagged == 0 && inLap > 0 {
			if !strings.Contains(desc, "IN-LAP: records processed but kept for laps") {
				t.Errorf("no note on IN-LAP:\n%s", desc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the processor never showed as caught up with records in open laps: %v\n%s", err, desc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lapRows reads describe's rows of the partitions of telemetry that have
// records: how many, how many with LAG above 0, the sum of IN-LAP, and
// whether every row has COMMITTED + LAG + IN-LAP = END (false while any
// row is not committed).
func lapRows(desc string) (rows, lagged int, inLap int64, ok bool) {
	ok = true
	for _, f := range fields(desc) {
		if len(f) != 7 || f[0] != "telemetry" || f[3] == "0" {
			continue // not a row of telemetry, or a partition no car writes to
		}
		rows++
		n := make([]int64, 4) // committed, end, lag, in-lap
		for i, s := range f[2:6] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				ok = false
			}
			n[i] = v
		}
		if n[2] > 0 {
			lagged++
		}
		inLap += n[3]
		if n[0]+n[2]+n[3] != n[1] {
			ok = false
		}
	}
	return rows, lagged, inLap, ok
}

func TestGroupsArgs(t *testing.T) {
	for _, args := range [][]string{{}, {"describe"}, {"describe", "a", "b"}, {"list", "x"}, {"drop", "g"}} {
		if _, err := groups(t, append(args, "--brokers=127.0.0.1:1")...); err == nil {
			t.Errorf("pitwall groups %q: no error", args)
		}
	}
}
