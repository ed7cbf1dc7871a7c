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
