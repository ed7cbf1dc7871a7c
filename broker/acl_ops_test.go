package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	xscram "github.com/xdg-go/scram"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// aclOpsBroker is an ACL broker with topics telemetry and secret-topic
// (two partitions each, one record in each partition 0), where processor
// may READ telemetry* and group laps, and group laps has offsets
// committed for both topics (by admin).
func aclOpsBroker(t *testing.T) (*aclBroker, *kgo.Client) {
	t.Helper()
	b := startACLBroker(t)
	ctx := testCtx(t)
	admin := b.client(t, "admin", secret, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for _, name := range []string{"telemetry", "secret-topic"} {
		mustCreate(t, admin, name, 2, nil)
		if err := admin.ProduceSync(ctx, &kgo.Record{Topic: name, Partition: 0, Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	addACLs(t, admin,
		createACL("User:processor", kmsg.ACLResourceTypeTopic, "telemetry", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationRead),
		createACL("User:processor", kmsg.ACLResourceTypeGroup, "laps", kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationRead),
	)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "laps", -1
	for _, topic := range []string{"telemetry", "secret-topic"} {
		ct := kmsg.NewOffsetCommitRequestTopic()
		ct.Topic = topic
		for p := range int32(2) {
			cp := kmsg.NewOffsetCommitRequestTopicPartition()
			cp.Partition, cp.Offset = p, 1-int64(p) // 1 for partition 0, 0 for 1
			ct.Partitions = append(ct.Partitions, cp)
		}
		commit.Topics = append(commit.Topics, ct)
	}
	cr, err := commit.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range cr.Topics {
		for _, cp := range ct.Partitions {
			if err := kerr.ErrorForCode(cp.ErrorCode); err != nil {
				t.Fatalf("admin committing %s/%d: %v", ct.Topic, cp.Partition, err)
			}
		}
	}
	return b, admin
}

// offsetAnswer is one partition of an OffsetFetch answer.
type offsetAnswer struct {
	offset int64
	code   int16
}

// TestACLsOffsetFetchDenied: OffsetFetch for a group the principal may
// read answers the committed offsets of the topics it may describe and, as
// Kafka does, TOPIC_AUTHORIZATION_FAILED with offset -1 for each partition
// of a named topic it may not — at v1 (per-partition errors), v7 and v8+
// (several groups; a group it may not describe is
// GROUP_AUTHORIZATION_FAILED); asking for every offset (null topics)
// leaves the hidden topic out. sarama's admin reads the same.
func TestACLsOffsetFetchDenied(t *testing.T) {
	b, _ := aclOpsBroker(t)
	ctx := testCtx(t)
	proc := b.client(t, "processor", "proc-"+secret)
	want := map[string]offsetAnswer{
		"telemetry/0":    {1, 0},
		"telemetry/1":    {0, 0},
		"secret-topic/0": {-1, kerr.TopicAuthorizationFailed.Code},
		"secret-topic/1": {-1, kerr.TopicAuthorizationFailed.Code},
	}
	named := func() []kmsg.OffsetFetchRequestTopic {
		var ts []kmsg.OffsetFetchRequestTopic
		for _, topic := range []string{"secret-topic", "telemetry"} {
			rt := kmsg.NewOffsetFetchRequestTopic()
			rt.Topic, rt.Partitions = topic, []int32{0, 1}
			ts = append(ts, rt)
		}
		return ts
	}
	for _, v := range []int16{1, 7} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.SetVersion(v)
		req.Group, req.Topics = "laps", named()
		resp, err := req.RequestWith(ctx, proc)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: top-level error %d", v, resp.ErrorCode)
		}
		got := map[string]offsetAnswer{}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				got[rt.Topic+"/"+string(rune('0'+rp.Partition))] = offsetAnswer{rp.Offset, rp.ErrorCode}
			}
		}
		checkOffsets(t, "v"+string(rune('0'+v)), got, want)
		if last := resp.Topics[len(resp.Topics)-1].Topic; last != "secret-topic" {
			t.Errorf("v%d: the denied topic comes last in Kafka's answer, got %s last", v, last)
		}
	}

	// v8: several groups, one of them not the processor's; and every
	// offset of laps (null topics).
	req := kmsg.NewPtrOffsetFetchRequest()
	req.SetVersion(8)
	for _, g := range []string{"laps", "other"} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		for _, rt := range named() {
			gt := kmsg.NewOffsetFetchRequestGroupTopic()
			gt.Topic, gt.Partitions = rt.Topic, rt.Partitions
			rg.Topics = append(rg.Topics, gt)
		}
		req.Groups = append(req.Groups, rg)
	}
	all := kmsg.NewOffsetFetchRequestGroup()
	all.Group = "laps"
	req.Groups = append(req.Groups, all)
	resp, err := proc.Broker(0).Request(ctx, req) // straight to the broker: kgo would split the groups
	if err != nil {
		t.Fatal(err)
	}
	groups := resp.(*kmsg.OffsetFetchResponse).Groups
	if len(groups) != 3 {
		t.Fatalf("v8: %d groups answered, want 3", len(groups))
	}
	answers := func(g kmsg.OffsetFetchResponseGroup) map[string]offsetAnswer {
		got := map[string]offsetAnswer{}
		for _, rt := range g.Topics {
			for _, rp := range rt.Partitions {
				got[rt.Topic+"/"+string(rune('0'+rp.Partition))] = offsetAnswer{rp.Offset, rp.ErrorCode}
			}
		}
		return got
	}
	checkOffsets(t, "v8 laps", answers(groups[0]), want)
	if groups[1].ErrorCode != kerr.GroupAuthorizationFailed.Code || len(groups[1].Topics) != 0 {
		t.Errorf("v8 group other: error %d, %d topics; want GROUP_AUTHORIZATION_FAILED and none", groups[1].ErrorCode, len(groups[1].Topics))
	}
	checkOffsets(t, "v8 laps, every offset", answers(groups[2]), map[string]offsetAnswer{"telemetry/0": {1, 0}, "telemetry/1": {0, 0}})

	// sarama's admin (OffsetFetch at its own version).
	cfg := saramaConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, b.CA.ClientTLS(t, "")
	cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism = true, sarama.SASLTypeSCRAMSHA256
	cfg.Net.SASL.User, cfg.Net.SASL.Password = "processor", "proc-"+secret
	cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &saramaSCRAM{hash: xscram.SHA256} }
	adm, err := sarama.NewClusterAdmin([]string{b.Addrs["SASL_SSL"]}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	sr, err := adm.ListConsumerGroupOffsets("laps", map[string][]int32{"telemetry": {0, 1}, "secret-topic": {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]offsetAnswer{}
	for topic, parts := range sr.Blocks {
		for p, blk := range parts {
			got[topic+"/"+string(rune('0'+p))] = offsetAnswer{blk.Offset, int16(blk.Err)}
		}
	}
	checkOffsets(t, "sarama", got, want)
}

func checkOffsets(t *testing.T, what string, got, want map[string]offsetAnswer) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: answered %v, want %v", what, got, want)
		return
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s is offset %d error %d, want offset %d error %d", what, k, got[k].offset, got[k].code, w.offset, w.code)
		}
	}
}

// TestACLsFetchDeniedAtOnce: a fetch that names a topic the principal may
// not read does not long-poll: with MaxWait far beyond the test's own
// deadline and MinBytes it cannot reach, it is answered at once, the
// denied partitions with TOPIC_AUTHORIZATION_FAILED and the allowed ones
// with what they hold. A fetch of allowed partitions alone still
// long-polls, and is woken by a new record.
func TestACLsFetchDeniedAtOnce(t *testing.T) {
	b, admin := aclOpsBroker(t)
	ctx, cancel := context.WithTimeout(testCtx(t), time.Minute)
	defer cancel()
	proc := b.client(t, "processor", "proc-"+secret)
	fetch := func(topics ...string) *kmsg.FetchRequest {
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(11)
		req.MaxBytes, req.MinBytes, req.MaxWaitMillis = 1<<20, 1<<20, int32((10 * time.Minute).Milliseconds())
		for _, topic := range topics {
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic = topic
			for p := range int32(2) {
				fp := kmsg.NewFetchRequestTopicPartition()
				fp.Partition, fp.PartitionMaxBytes = p, 1<<20
				ft.Partitions = append(ft.Partitions, fp)
			}
			req.Topics = append(req.Topics, ft)
		}
		return req
	}
	kr, err := proc.Broker(0).Request(ctx, fetch("telemetry", "secret-topic"))
	if err != nil {
		t.Fatalf("a fetch naming a denied topic was not answered before the test's deadline (long-polled?): %v", err)
	}
	resp := kr.(*kmsg.FetchResponse)
	got := map[string]string{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			state := "empty"
			switch {
			case rp.ErrorCode != 0:
				state = kerr.ErrorForCode(rp.ErrorCode).Error()
			case len(rp.RecordBatches) > 0:
				state = "records"
			}
			got[rt.Topic+"/"+string(rune('0'+rp.Partition))] = state
		}
	}
	denied := kerr.TopicAuthorizationFailed.Error()
	for k, w := range map[string]string{"telemetry/0": "records", "telemetry/1": "empty", "secret-topic/0": denied, "secret-topic/1": denied} {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}

	// Allowed partitions alone, past their records: the fetch waits
	// until something is appended.
	req := fetch("telemetry")
	req.Topics[0].Partitions[0].FetchOffset, req.MinBytes = 1, 1
	answered := make(chan *kmsg.FetchResponse, 1)
	go func() {
		kr, err := proc.Broker(0).Request(ctx, req)
		if err != nil {
			answered <- nil
			return
		}
		answered <- kr.(*kmsg.FetchResponse)
	}()
	// Appended until the waiting fetch answers (each append wakes it, and
	// the first may land before the fetch has arrived).
	for i := 0; ; i++ {
		if err := admin.ProduceSync(ctx, &kgo.Record{Topic: "telemetry", Partition: 1, Value: []byte("new")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		select {
		case fr := <-answered:
			if fr == nil {
				t.Fatal("the allowed fetch failed")
			}
			if p := fr.Topics[0].Partitions[1]; p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
				t.Fatalf("the allowed fetch answered %+v", p)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatal("the allowed fetch never answered")
		}
	}
}

// TestACLsAuthorizedOperations: DescribeGroups and Metadata report the
// operations the asking principal may perform (KIP-430): processor may
// READ (and so DESCRIBE) group laps and topic telemetry, nothing on the
// cluster; admin, a super user, everything; with the authorizer off,
// everyone everything. (Metadata v10: the last with the cluster's.)
func TestACLsAuthorizedOperations(t *testing.T) {
	b, _ := aclOpsBroker(t)
	v10 := kgo.MaxVersions(metadataV10())
	proc := b.client(t, "processor", "proc-"+secret, v10)
	admin := b.client(t, "admin", secret, v10)
	const (
		read, write, create, del    = 1 << 3, 1 << 4, 1 << 5, 1 << 6
		alter, describe, clusterAct = 1 << 7, 1 << 8, 1 << 9
		descCfg, alterCfg, idemp    = 1 << 10, 1 << 11, 1 << 12
		allGroup                    = read | describe | del
		allTopic                    = read | write | create | describe | del | alter | descCfg | alterCfg
		allCluster                  = create | clusterAct | descCfg | alterCfg | idemp | alter | describe
	)
	for _, tc := range []struct {
		who                   string
		cl                    *kgo.Client
		group, topic, cluster int32
	}{
		{"processor", proc, read | describe, read | describe, 0},
		{"admin", admin, allGroup, allTopic, allCluster},
	} {
		group, topic, cluster := authorizedOps(t, tc.cl)
		if group != tc.group || topic != tc.topic || cluster != tc.cluster {
			t.Errorf("%s: group laps %b, topic telemetry %b, cluster %b; want %b, %b, %b", tc.who, group, topic, cluster, tc.group, tc.topic, tc.cluster)
		}
	}
	open := brokertest.Start(t)
	cl := newKgo(t, open.Addr, v10)
	mustCreate(t, cl, "telemetry", 1, nil)
	if group, topic, cluster := authorizedOps(t, cl); group != allGroup || topic != allTopic || cluster != allCluster {
		t.Errorf("authorizer off: group %b, topic %b, cluster %b; want every operation", group, topic, cluster)
	}
}

// metadataV10 is the versions kgo speaks, Metadata capped at v10 (kgo
// sends a request at the highest version both sides know, whatever the
// request says).
func metadataV10() *kversion.Versions {
	v := kversion.Stable()
	v.SetMaxKeyVersion(3, 10)
	return v
}

// authorizedOps asks DescribeGroups (v5) for group laps and Metadata (v10)
// for topic telemetry and the cluster, with their authorized operations.
func authorizedOps(t *testing.T, cl *kgo.Client) (group, topic, cluster int32) {
	t.Helper()
	ctx := testCtx(t)
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.SetVersion(5)
	dg.Groups, dg.IncludeAuthorizedOperations = []string{"laps"}, true
	dr, err := dg.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(10)
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("telemetry")
	md.Topics = append(md.Topics, mt)
	md.IncludeTopicAuthorizedOperations, md.IncludeClusterAuthorizedOperations = true, true
	mr, err := md.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return dr.Groups[0].AuthorizedOperations, mr.Topics[0].AuthorizedOperations, mr.AuthorizedOperations
}
