package topicread_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/internal/topicread"
)

// TestReadToEndWhileLeadersMove: on franz-go's kfake with three brokers,
// every partition's leader moves to another broker every 300
// ms while ReadToEnd reads the topic, again and again: each
// read hands on every record once (the moves answer the reader's offset
// and fetch requests NOT_LEADER_OR_FOLLOWER, which a read must get past
// as sarama does, not end with).
func TestReadToEndWhileLeadersMove(t *testing.T) {
	const brokers, parts, per = 3, 12, 20
	c, err := kfake.NewCluster(kfake.NumBrokers(brokers), kfake.SeedTopics(parts, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var want []string
	for p := range int32(parts) {
		for i := range per {
			v := fmt.Sprintf("%d/%d", p, i)
			want = append(want, v)
			if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "t", Partition: p, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(want)

	done, exited := make(chan struct{}), make(chan struct{})
	moves := 0
	go func() {
		defer close(exited)
		for shift := int32(1); ; shift++ {
			select {
			case <-done:
				return
			case <-time.After(300 * time.Millisecond):
			}
			for p := range int32(parts) {
				if err := c.MoveTopicPartition("t", p, (p+shift)%brokers); err != nil {
					t.Errorf("move t/%d: %v", p, err)
					return
				}
			}
			moves++
		}
	}()
	cfg := sarama.NewConfig()
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Retry.Backoff = 20 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 20 * time.Millisecond
	client, err := sarama.NewClient(c.ListenAddrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for read := range 3 {
		var got collector
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := topicread.ReadToEnd(ctx, client, "t", topicread.Config{}, got.add)
		cancel()
		if err != nil {
			t.Fatalf("read %d: %v", read, err)
		}
		if g := got.sorted(); !slices.Equal(g, want) {
			t.Fatalf("read %d: %d records, want %d once each", read, len(g), len(want))
		}
	}
	close(done)
	<-exited
	t.Logf("%d leader moves during the reads", moves)
	if moves == 0 {
		t.Error("no leader moved during the reads")
	}
}

// TestReadToEndThroughElection: the partition's leader answers
// ListOffsets NOT_LEADER_OR_FOLLOWER twice in a row just when the read
// starts its partition consumer (sarama's own offset lookup, which
// refreshes its metadata and tries once more, then gives up), as during
// a leader election: the read waits and tries again, and hands on every
// record, rather than failing.
func TestReadToEndThroughElection(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprint(i))
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "t", Value: []byte(want[i])}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	// ListOffsets 1 and 2 are the read's own (end and start offsets); 3
	// and 4 are the partition consumer's first lookup and its retry.
	n := 0
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if n++; n != 3 && n != 4 {
			return nil, nil, false
		}
		lreq := req.(*kmsg.ListOffsetsRequest)
		resp := lreq.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range lreq.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	client, err := sarama.NewClient(c.ListenAddrs(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var got collector
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := topicread.ReadToEnd(ctx, client, "t", topicread.Config{}, got.add); err != nil {
		t.Fatal(err)
	}
	if g := got.sorted(); !slices.Equal(g, want) {
		t.Fatalf("read %v, want %v", g, want)
	}
	if n < 5 {
		t.Errorf("%d ListOffsets requests: the refusals were not all reached", n)
	}
}
