package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestOffsetForLeaderEpochSingleBroker: on one broker every batch has
// leader epoch 0, so epoch 0 ends at the log end (0 on a partition never
// written, as Kafka's leader answers from the epoch it was elected at); a
// newer epoch is unknown (-1, -1), a newer current epoch
// UNKNOWN_LEADER_EPOCH, and an unknown topic is not created by asking.
func TestOffsetForLeaderEpochSingleBroker(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	prod := newKgo(t, b.Addr, kgo.DefaultProduceTopic("epochs"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 5 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}, Partition: 1}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		topic               string
		partition, cur, ask int32
		code                int16
		wantEpoch           int32
		wantEnd             int64
	}{
		{"epochs", 1, -1, 0, 0, 0, 5},
		{"epochs", 1, 0, 0, 0, 0, 5},
		{"epochs", 2, 0, 0, 0, 0, 0},
		{"epochs", 1, -1, 3, 0, -1, -1},
		{"epochs", 1, 2, 0, kerr.UnknownLeaderEpoch.Code, -1, -1},
		{"epochs", 99, -1, 0, kerr.UnknownTopicOrPartition.Code, -1, -1},
		{"nosuch", 0, -1, 0, kerr.UnknownTopicOrPartition.Code, -1, -1},
	}
	for _, c := range cases {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = c.topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = c.partition, c.cur, c.ask
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		// Sent to the broker itself: kgo would answer for an unknown
		// topic without asking.
		kresp, err := prod.Broker(0).Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		p := kresp.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
		if p.ErrorCode != c.code || p.LeaderEpoch != c.wantEpoch || p.EndOffset != c.wantEnd {
			t.Errorf("%s/%d current %d asking %d: code %d (%d, %d), want code %d (%d, %d)",
				c.topic, c.partition, c.cur, c.ask, p.ErrorCode, p.LeaderEpoch, p.EndOffset, c.code, c.wantEpoch, c.wantEnd)
		}
	}
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, prod)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range meta.Topics {
		if *mt.Topic == "nosuch" {
			t.Error("OffsetForLeaderEpoch created a topic")
		}
	}
}
