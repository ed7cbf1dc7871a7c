package broker_test

import (
	"context"
	"encoding/binary"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// joinAsOnlyMember makes the client the only member of group and returns
// its member id and generation, with the leader's assignment stored.
func joinAsOnlyMember(t *testing.T, ctx context.Context, cl *kgo.Client, groupID, topic string) (string, int32) {
	t.Helper()
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = groupID, "consumer", 30000, 30000
	meta := kmsg.ConsumerMemberMetadata{Topics: []string{topic}}
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
	resp, err := join.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode == kerr.MemberIDRequired.Code {
		join.MemberID = resp.MemberID
		if resp, err = join.RequestWith(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("join: %v", err)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = groupID, resp.MemberID, resp.Generation
	a := kmsg.ConsumerMemberAssignment{Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: topic, Partitions: []int32{0}}}}
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: resp.MemberID, MemberAssignment: a.AppendTo(nil)}}
	sresp, err := sync.RequestWith(ctx, cl)
	if err != nil || sresp.ErrorCode != 0 {
		t.Fatalf("sync: %v %v", err, kerr.ErrorForCode(sresp.ErrorCode))
	}
	return resp.MemberID, resp.Generation
}

// TestGroupStateSurvivesRestart: after a restart a Stable group comes back
// with its members, which carry on heartbeating in their generation
// without a rebalance, and __consumer_offsets holds the commit in Kafka's
// own record layout.
func TestGroupStateSurvivesRestart(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr)
	mustCreate(t, cl, "laps", 1, nil)
	member, gen := joinAsOnlyMember(t, ctx, cl, "live", "laps")
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.MemberID, commit.Generation = "live", member, gen
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Offset, p.Metadata = 42, kmsg.StringPtr("lap 7")
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "laps", Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}}}
	if resp, err := commit.RequestWith(ctx, cl); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %v %+v", err, resp)
	}
	cl.Close()

	b.Restart(t)
	cl = newKgo(t, b.Addr)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "live", member, gen
	if resp, err := hb.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("heartbeat after the restart: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Groups = []string{"live"}
	dr, err := desc.RequestWith(ctx, cl)
	if err != nil || dr.Groups[0].State != "Stable" || len(dr.Groups[0].Members) != 1 || dr.Groups[0].Members[0].MemberID != member {
		t.Fatalf("group after the restart: %v %+v", err, dr.Groups)
	}

	// Any Kafka tool can read the topic: decode it as Kafka's records.
	cons := newKgo(t, b.Addr, kgo.ConsumeTopics("__consumer_offsets"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var found, groupMeta bool
	for !found || !groupMeta {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			switch binary.BigEndian.Uint16(r.Key) {
			case 0, 1:
				var k kmsg.OffsetCommitKey
				var v kmsg.OffsetCommitValue
				if k.ReadFrom(r.Key) == nil && v.ReadFrom(r.Value) == nil && k.Group == "live" && k.Topic == "laps" {
					found = v.Offset == 42 && v.Metadata == "lap 7"
				}
			case 2:
				var k kmsg.GroupMetadataKey
				var v kmsg.GroupMetadataValue
				if k.ReadFrom(r.Key) == nil && v.ReadFrom(r.Value) == nil && k.Group == "live" {
					groupMeta = v.ProtocolType == "consumer" && len(v.Members) == 1 && v.Members[0].MemberID == member
				}
			}
		})
	}
}

// TestCommitsSurviveBrokerCrash commits offsets in a loop to a broker
// process killed with SIGKILL: after the restart every partition's
// committed offset is at least the last one acknowledged, so no commit is
// answered before it is in the log. (That it is also fsynced first is the
// log's Sync contract: a process kill cannot tell the page cache from the
// disk.)
func TestCommitsSurviveBrokerCrash(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	child, addr := startChild(t, dir)
	cl := newKgo(t, addr, kgo.RetryTimeout(time.Second))
	const parts = 4
	mustCreate(t, cl, "crash-laps", parts, nil)
	var mu sync.Mutex
	acked := map[int32]int64{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for off := int64(1); ; off++ {
			select {
			case <-stop:
				return
			default:
			}
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Group = "crash-group"
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = "crash-laps"
			for p := range int32(parts) {
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Partition, rp.Offset = p, off
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				continue // the broker is gone
			}
			mu.Lock()
			for _, p := range resp.Topics[0].Partitions {
				if p.ErrorCode == 0 {
					acked[p.Partition] = off
				}
			}
			mu.Unlock()
		}
	}()
	for {
		mu.Lock()
		n := acked[parts-1]
		mu.Unlock()
		if n >= 200 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d commits acknowledged", n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	close(stop)
	<-done
	cl.Close()

	_, addr = startChild(t, dir)
	cl = newKgo(t, addr)
	got := committedOffsets(t, ctx, cl, "crash-group", "crash-laps", parts)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("acknowledged %v, found %v after SIGKILL", acked, got)
	for p, off := range acked {
		if got[p] < off {
			t.Errorf("partition %d: committed offset %d after the crash, but %d was acknowledged", p, got[p], off)
		}
	}
}
