package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestClusterReplicaFetchGuard: a client posing as a follower cannot move
// a leader's high watermark. Three brokers, each with an SSL listener
// after the inter-broker PLAINTEXT one; an RF=3 partition led by broker 1
// holds 10 records acknowledged by all, then broker 3 is frozen (SIGSTOP,
// in the ISR still: a long session) and 10 more are written with acks=1,
// so the high watermark stays at 10. Fetches with replica id 3 (a real
// follower) and 99 at offset 20 on the leader's SSL listener are refused
// with CLUSTER_AUTHORIZATION_FAILED; on the inter-broker listener, 99 and
// the leader's own id get NOT_LEADER_OR_FOLLOWER. Afterwards the high
// watermark is still 10 and the ISR [1 2 3] (before the guard, the first
// fetch moved the high watermark to 20 with broker 3 holding 10), the
// refusals are logged, and once broker 3 thaws it replicates the rest: a
// consumer reads all 20.
func TestClusterReplicaFetchGuard(t *testing.T) {
	ca := brokertest.NewCA(t)
	cert, key := ca.Issue(t, "127.0.0.1")
	ssl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{
		session: "60s", // broker 3, frozen, stays in the ISR throughout
		args: func(nd *clusterNode) []string {
			return []string{"--listen", nd.addr + ",SSL://" + ssl[nd.id-1], "--tls-cert", cert, "--tls-key", key}
		},
	})
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool {
			return slices.Equal(brokerIDs(m), []int32{1, 2, 3})
		})
	}
	c.createAssigned("guard", [][]int32{{1, 2, 3}}, map[string]string{"replica.lag.time.max.ms": "600000"})
	c.waitTopic("guard")

	produce := func(acks kgo.Acks, from, to int) {
		opts := []kgo.Opt{kgo.DefaultProduceTopic("guard"), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(acks)}
		if acks != kgo.AllISRAcks() {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
		cl := c.client(opts)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for k := from; k < to; k++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: fmt.Appendf(nil, "r%d", k)}).FirstErr(); err != nil {
				t.Fatalf("record %d: %v", k, err)
			}
		}
	}
	produce(kgo.AllISRAcks(), 0, 10)
	c.waitWhole("guard")
	if hw := c.endOffsets(0, "guard", 1)[0]; hw != 10 {
		t.Fatalf("high watermark %d after 10 acks=all records, want 10", hw)
	}
	c.signal(2, syscall.SIGSTOP)
	thawed := false
	defer func() {
		if !thawed {
			c.signal(2, syscall.SIGCONT)
		}
	}()
	produce(kgo.LeaderAck(), 10, 20)
	if hw := c.endOffsets(0, "guard", 1)[0]; hw != 10 {
		t.Fatalf("high watermark %d with broker 3 frozen at 10, want 10", hw)
	}

	tlsCfg := ca.ClientTLS(t, "")
	for _, tc := range []struct {
		name    string
		addr    string
		tls     *tls.Config
		replica int32
		top     int16 // the response's error (v7+)
		part    int16 // the partition's
	}{
		{"real follower on the SSL listener", ssl[0], tlsCfg, 3, kerr.ClusterAuthorizationFailed.Code, kerr.ClusterAuthorizationFailed.Code},
		{"unknown broker on the SSL listener", ssl[0], tlsCfg, 99, kerr.ClusterAuthorizationFailed.Code, kerr.ClusterAuthorizationFailed.Code},
		{"unknown broker on the inter-broker listener", c.nodes[0].addr, nil, 99, 0, kerr.NotLeaderForPartition.Code},
		{"the leader's own id on the inter-broker listener", c.nodes[0].addr, nil, 1, 0, kerr.NotLeaderForPartition.Code},
	} {
		resp := replicaFetch(t, tc.addr, tc.tls, tc.replica, "guard", 0, 20)
		p := resp.Topics[0].Partitions[0]
		if resp.ErrorCode != tc.top || p.ErrorCode != tc.part || len(p.RecordBatches) != 0 {
			t.Errorf("%s: error %v, partition error %v, %d record bytes; want %v, %v, none", tc.name,
				kerr.ErrorForCode(resp.ErrorCode), kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches),
				kerr.ErrorForCode(tc.top), kerr.ErrorForCode(tc.part))
		}
	}
	if hw := c.endOffsets(0, "guard", 1)[0]; hw != 10 {
		t.Fatalf("high watermark %d after the posing fetches, want 10 (broker 3 holds 10)", hw)
	}
	if p := c.partitionOf(0, "guard", 0); !slices.Equal(p.ISR, []int32{1, 2, 3}) || p.Leader != 1 {
		t.Fatalf("after the posing fetches: leader %d ISR %v, want 1 [1 2 3]", p.Leader, p.ISR)
	}
	for _, kind := range []string{"replica_fetch_listener", "replica_fetch_not_replica"} {
		if !strings.Contains(c.nodes[0].log.String(), kind) {
			t.Errorf("the leader's log has no %s refusal", kind)
		}
	}

	c.signal(2, syscall.SIGCONT)
	thawed = true
	waitFor(t, "the high watermark at 20 once broker 3 replicates", func() bool { return c.endOffsets(0, "guard", 1)[0] == 20 })
	recs := c.readToEnd(1, "guard", 1)
	if len(recs) != 20 {
		t.Fatalf("read %d records, want 20", len(recs))
	}
	for k, r := range recs {
		if string(r.Value) != fmt.Sprintf("r%d", k) || r.Offset != int64(k) {
			t.Fatalf("record %d: offset %d value %q", k, r.Offset, r.Value)
		}
	}
	c.waitWhole("guard")
}

// createAssigned creates topic through broker 1 with the replica
// assignment given (one list per partition) and configs.
func (c *testCluster) createAssigned(topic string, replicas [][]int32, configs map[string]string) {
	c.t.Helper()
	cl := c.client(nil, 0)
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for p, rs := range replicas {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(p), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		c.t.Fatal(err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		c.t.Fatalf("creating %s: %v %s", topic, kerr.ErrorForCode(code), deref(resp.Topics[0].ErrorMessage))
	}
}

// replicaFetch sends, as a follower would, a Fetch with replica id
// replica for topic's partition p from offset to the broker at addr (over
// TLS if tlsCfg is set) and returns the answer.
func replicaFetch(t *testing.T, addr string, tlsCfg *tls.Config, replica int32, topic string, p int32, offset int64) *kmsg.FetchResponse {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(addr)}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = replica, 100, 1, 1<<20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.CurrentLeaderEpoch, rp.PartitionMaxBytes = p, offset, -1, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	fr := resp.(*kmsg.FetchResponse)
	if len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch answer with %d topics", len(fr.Topics))
	}
	return fr
}

// TestClusterReplicaFetchACL: with --authorizer acl, replica fetches need
// ClusterAction on the cluster. The brokers' fetchers are User:ANONYMOUS
// on the inter-broker listener: until it is granted that (the README's
// step, here through each broker's mutual-TLS listener as the super
// user admin) the leader refuses them, logs the denial, and an acks=1
// record stays above the high watermark; granted, they replicate it and
// acks=all works. ANONYMOUS still may not read the topic as a consumer.
func TestClusterReplicaFetchACL(t *testing.T) {
	ca := brokertest.NewCA(t)
	cert, key := ca.Issue(t, "127.0.0.1")
	ssl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	c := startTestClusterOpts(t, buildPitwall(t), 3, clusterOpts{
		args: func(nd *clusterNode) []string {
			return []string{"--listen", nd.addr + ",SSL://" + ssl[nd.id-1], "--tls-cert", cert, "--tls-key", key,
				"--tls-client-ca", ca.File, "--authorizer", "acl", "--super-users", "User:admin"}
		},
	})
	for i := range c.nodes {
		c.waitMetadata(i, "three brokers", func(m *kmsg.MetadataResponse) bool {
			return slices.Equal(brokerIDs(m), []int32{1, 2, 3})
		})
	}
	// One admin client per broker, each asking that broker only (the
	// others' addresses in Metadata are their inter-broker listeners).
	// franz-go sends a raw Produce with its own acks: admins' are 1,
	// allAcks' all.
	admin := func(i int, opts ...kgo.Opt) *kgo.Broker {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(ssl[i]), kgo.DialTLSConfig(ca.ClientTLS(t, "admin"))}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl.SeedBrokers()[0]
	}
	admins := make([]*kgo.Broker, len(c.nodes))
	for i := range c.nodes {
		admins[i] = admin(i, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	allAcks := admin(0)
	ask := func(i int, req kmsg.Request) kmsg.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b := admins[i]
		if pr, ok := req.(*kmsg.ProduceRequest); ok && pr.Acks == -1 {
			b = allAcks
		}
		resp, err := b.Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "acl", -1, -1
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Replicas = []int32{1, 2, 3}
	ct.ReplicaAssignment = append(ct.ReplicaAssignment, a)
	create.Topics = append(create.Topics, ct)
	if code := ask(0, create).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("creating acl: %v", kerr.ErrorForCode(code))
	}
	produce := func(acks int16, v string) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = acks, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "acl"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = rawBatch([]byte(v))
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return ask(0, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	hw := func() int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "acl"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp, rp.CurrentLeaderEpoch = -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		p := ask(0, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			return -1
		}
		return p.Offset
	}
	waitFor(t, "broker 1 to lead acl", func() bool { return produce(1, "first") == 0 })
	waitFor(t, "the followers' fetches denied for want of ClusterAction", func() bool {
		return strings.Contains(c.nodes[0].log.String(), "CLUSTER_ACTION")
	})
	if got := hw(); got != 0 {
		t.Fatalf("high watermark %d with the followers refused, want 0", got)
	}

	for i := range c.nodes {
		req := kmsg.NewPtrCreateACLsRequest()
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.Principal, cr.Host = "User:ANONYMOUS", "*"
		cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = kmsg.ACLResourceTypeCluster, "kafka-cluster", kmsg.ACLResourcePatternTypeLiteral
		cr.Operation, cr.PermissionType = kmsg.ACLOperationClusterAction, kmsg.ACLPermissionTypeAllow
		req.Creations = append(req.Creations, cr)
		if code := ask(i, req).(*kmsg.CreateACLsResponse).Results[0].ErrorCode; code != 0 {
			t.Fatalf("granting ClusterAction on broker %d: %v", c.nodes[i].id, kerr.ErrorForCode(code))
		}
	}
	waitFor(t, "the followers to replicate once granted ClusterAction", func() bool { return hw() == 1 })
	if code := produce(-1, "second"); code != 0 {
		t.Fatalf("acks=all with the followers granted: %v", kerr.ErrorForCode(code))
	}
	if got := hw(); got != 2 {
		t.Fatalf("high watermark %d after an acks=all record, want 2", got)
	}
	fetch := replicaFetch(t, c.nodes[0].addr, nil, -1, "acl", 0, 0)
	if code := fetch.Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("ANONYMOUS reading acl as a consumer: %v, want TOPIC_AUTHORIZATION_FAILED", kerr.ErrorForCode(code))
	}
}
