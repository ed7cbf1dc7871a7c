package broker_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestConsumerOffsetsIsProtected: a client naming __consumer_offsets first
// creates it compacted and kept forever (never with the delete defaults that
// would age offsets out); clients can neither produce to it nor delete it.
func TestConsumerOffsetsIsProtected(t *testing.T) {
	ctx := context.Background()
	b := brokertest.Start(t)
	cl := newKgo(t, b.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("__consumer_offsets")
	md.Topics = append(md.Topics, mt)
	md.AllowAutoTopicCreation = true
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil || mresp.Topics[0].ErrorCode != 0 || !mresp.Topics[0].IsInternal {
		t.Fatalf("metadata: %v %+v", err, mresp.Topics)
	}
	dc := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "__consumer_offsets"
	dc.Resources = append(dc.Resources, rr)
	dresp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	for _, c := range dresp.Resources[0].Configs {
		cfg[c.Name] = *c.Value
	}
	if cfg["cleanup.policy"] != "compact" || cfg["retention.ms"] != "-1" {
		t.Errorf("__consumer_offsets configs %v, want compact and retention.ms -1", cfg)
	}
	if got := produceRaw(t, cl, 1, "__consumer_offsets", 0, []byte("anything")); got.ErrorCode != kerr.InvalidTopicException.Code {
		t.Errorf("produce to __consumer_offsets: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	del := kmsg.NewPtrDeleteTopicsRequest()
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr("__consumer_offsets")
	del.Topics = append(del.Topics, dt)
	delResp, err := del.RequestWith(ctx, cl)
	if err != nil || delResp.Topics[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Errorf("delete __consumer_offsets: %v %+v", err, delResp.Topics)
	}
}
