package topicread_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/topicread"
)

// setup starts a broker with topic "t" of 3 partitions, partition p
// holding n[p] records valued "p/i", and returns a client of it.
func setup(t *testing.T, n ...int) (sarama.Client, func(part int32, value string)) {
	t.Helper()
	b := brokertest.Start(t)
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	// acks=all: Pitwall's broker acknowledges after fsync, and a record
	// is below the high watermark, so readable, once fsynced.
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.MaxWaitTime = 50 * time.Millisecond
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient([]string{b.Addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("t", &sarama.TopicDetail{NumPartitions: int32(len(n)), ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	prod, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close() })
	produce := func(part int32, value string) {
		t.Helper()
		// Errorf, not Fatal: a read's fn calls this on its own goroutine.
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "t", Partition: part, Value: sarama.StringEncoder(value)}); err != nil {
			t.Errorf("produce %q: %v", value, err)
		}
	}
	for p, count := range n {
		for i := range count {
			produce(int32(p), fmt.Sprintf("%d/%d", p, i))
		}
	}
	return client, produce
}

// collector gathers what a read hands on, from any goroutine.
type collector struct {
	mu   sync.Mutex
	vals []string
}

func (c *collector) add(m *sarama.ConsumerMessage) {
	c.mu.Lock()
	c.vals = append(c.vals, string(m.Value))
	c.mu.Unlock()
}

func (c *collector) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(slices.Values(c.vals))
}

func TestReadToEnd(t *testing.T) {
	client, produce := setup(t, 2, 0, 3)
	for _, tc := range []struct {
		name string
		cfg  topicread.Config
		want []string
	}{
		{"all", topicread.Config{}, []string{"0/0", "0/1", "2/0", "2/1", "2/2"}},
		{"oldest", topicread.Config{From: sarama.OffsetOldest}, []string{"0/0", "0/1", "2/0", "2/1", "2/2"}},
		{"from 1", topicread.Config{From: 1}, []string{"0/1", "2/1", "2/2"}},
		{"past the end", topicread.Config{From: 5}, nil},
		{"partition 2", topicread.Config{Partitions: []int32{2}}, []string{"2/0", "2/1", "2/2"}},
		{"empty partition", topicread.Config{Partitions: []int32{1}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c collector
			if err := topicread.ReadToEnd(t.Context(), client, "t", tc.cfg, c.add); err != nil {
				t.Fatal(err)
			}
			if got := c.sorted(); !slices.Equal(got, tc.want) {
				t.Errorf("read %q, want %q", got, tc.want)
			}
		})
	}

	// Records appended during the read are past its end.
	var c collector
	err := topicread.ReadToEnd(t.Context(), client, "t", topicread.Config{Partitions: []int32{0}}, func(m *sarama.ConsumerMessage) {
		if m.Offset == 0 {
			produce(0, "late")
		}
		c.add(m)
	})
	if got := c.sorted(); err != nil || !slices.Equal(got, []string{"0/0", "0/1"}) {
		t.Errorf("read %q (%v), want the two records there were when it began", got, err)
	}
}

// TestReadToEndOrder checks that one partition's records come in offset
// order.
func TestReadToEndOrder(t *testing.T) {
	client, _ := setup(t, 50)
	next := int64(0)
	err := topicread.ReadToEnd(t.Context(), client, "t", topicread.Config{}, func(m *sarama.ConsumerMessage) {
		if m.Offset != next {
			t.Errorf("offset %d, want %d", m.Offset, next)
		}
		next = m.Offset + 1
	})
	if err != nil || next != 50 {
		t.Errorf("read to %d (%v), want 50", next, err)
	}
}

func TestReadToEndUnknownTopic(t *testing.T) {
	client, _ := setup(t, 1)
	err := topicread.ReadToEnd(t.Context(), client, "nope", topicread.Config{}, func(*sarama.ConsumerMessage) {
		t.Error("a record of a topic that does not exist")
	})
	if !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Errorf("got %v, want ErrUnknownTopicOrPartition", err)
	}
}

// TestReadToEndCancel checks that a read that cannot reach its end
// returns ctx's error when ctx ends.
func TestReadToEndCancel(t *testing.T) {
	client, _ := setup(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	err := topicread.ReadToEnd(ctx, client, "t", topicread.Config{}, func(*sarama.ConsumerMessage) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestReadToEndIdle reads a partition whose end offset is a transaction
// marker, which no consumer ever sees: without IdleEnd the read would
// wait for it until the context ended.
func TestReadToEndIdle(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	addr := fake.ListenAddrs()[0]
	tx, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := tx.ProduceSync(t.Context(), &kgo.Record{Value: []byte("in tx")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := tx.EndTransaction(t.Context(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var c collector
	if err := topicread.ReadToEnd(ctx, client, "t", topicread.Config{IdleEnd: 500 * time.Millisecond}, c.add); err != nil {
		t.Fatal(err)
	}
	if got := c.sorted(); !slices.Equal(got, []string{"in tx"}) {
		t.Errorf("read %q, want the transaction's record", got)
	}
}

// recv waits for what Follow hands on, but not for ever.
func recv(t *testing.T, seen <-chan string) string {
	t.Helper()
	select {
	case v := <-seen:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("Follow handed nothing on for 30s")
		return ""
	}
}

// follow runs read (a Follow or FollowPartitions) on a goroutine, the
// values of the records it hands on going to seen; stop ends it and
// checks that it returned nil and handed nothing on after.
func follow(t *testing.T, read func(ctx context.Context, fn func(*sarama.ConsumerMessage)) error) (seen <-chan string, stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- read(ctx, func(m *sarama.ConsumerMessage) { ch <- string(m.Value) })
	}()
	return ch, func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("returned %v after ctx ended, want nil", err)
		}
		select {
		case v := <-ch:
			t.Errorf("%q handed on after the read returned", v)
		default:
		}
	}
}

func TestFollow(t *testing.T) {
	client, produce := setup(t, 1, 1)
	seen, stop := follow(t, func(ctx context.Context, fn func(*sarama.ConsumerMessage)) error {
		return topicread.Follow(ctx, client, "t", topicread.Config{}, fn)
	})
	want := []string{"0/0", "1/0"}
	var got []string
	for range want {
		got = append(got, recv(t, seen))
	}
	produce(1, "later")
	got = append(got, recv(t, seen))
	slices.Sort(got)
	if want = append(want, "later"); !slices.Equal(got, want) {
		t.Errorf("followed %q, want %q", got, want)
	}
	stop()
}

// TestFollowFrom follows one partition from an offset.
func TestFollowFrom(t *testing.T) {
	client, _ := setup(t, 3, 1)
	seen, stop := follow(t, func(ctx context.Context, fn func(*sarama.ConsumerMessage)) error {
		return topicread.Follow(ctx, client, "t", topicread.Config{Partitions: []int32{0}, From: 2}, fn)
	})
	if v := recv(t, seen); v != "0/2" {
		t.Errorf("first record %q, want 0/2", v)
	}
	stop()
}
