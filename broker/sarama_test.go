package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
)

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "pitwall-test"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Return.Errors = true
	return cfg
}

// TestSaramaSyncProducerAndConsumer: sarama's SyncProducer with acks=all
// gets contiguous offsets per partition; a PartitionConsumer reads exactly
// what was acknowledged, in order.
func TestSaramaSyncProducerAndConsumer(t *testing.T) {
	b := brokertest.Start(t)
	cfg := saramaConfig()
	prod, err := sarama.NewSyncProducer([]string{b.Addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	type acked struct {
		partition int32
		offset    int64
	}
	byKey := map[string][]acked{}
	for i := 0; i < 300; i++ {
		key := fmt.Sprintf("car-%d", i%5)
		p, off, err := prod.SendMessage(&sarama.ProducerMessage{
			Topic: "sarama-sync", Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(fmt.Sprintf("%s/%d", key, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if prev := byKey[key]; len(prev) > 0 && (prev[len(prev)-1].partition != p || prev[len(prev)-1].offset >= off) {
			t.Fatalf("key %s: ack (%d,%d) after (%d,%d)", key, p, off, prev[len(prev)-1].partition, prev[len(prev)-1].offset)
		}
		byKey[key] = append(byKey[key], acked{p, off})
	}

	cons, err := sarama.NewConsumer([]string{b.Addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for key, acks := range byKey {
		pc, err := cons.ConsumePartition("sarama-sync", acks[0].partition, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]bool{}
		for _, a := range acks {
			want[a.offset] = true
		}
		for len(want) > 0 {
			select {
			case m := <-pc.Messages():
				if string(m.Key) == key {
					if !want[m.Offset] {
						t.Fatalf("key %s: unexpected offset %d", key, m.Offset)
					}
					delete(want, m.Offset)
				}
			case err := <-pc.Errors():
				t.Fatal(err)
			}
		}
		pc.Close()
	}
}

// TestSaramaAsyncProducer: the async producer's successes account for every
// message, and the high watermarks add up to the count.
func TestSaramaAsyncProducer(t *testing.T) {
	b := brokertest.Start(t)
	cfg := saramaConfig()
	cfg.Producer.Compression = sarama.CompressionZSTD
	cfg.Producer.Flush.Messages = 50
	// Flush.Messages is best effort: a retry or a metadata refresh can
	// flush a short batch, and without a frequency the last few messages
	// would then wait for Close, which this test only calls after them.
	cfg.Producer.Flush.Frequency = 10 * time.Millisecond
	prod, err := sarama.NewAsyncProducer([]string{b.Addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	go func() {
		for i := 0; i < n; i++ {
			prod.Input() <- &sarama.ProducerMessage{Topic: "sarama-async", Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.ByteEncoder(make([]byte, 512))}
		}
	}()
	stuck := time.After(time.Minute)
	for got := 0; got < n; {
		select {
		case <-prod.Successes():
			got++
		case err := <-prod.Errors():
			t.Fatal(err)
		case <-stuck:
			t.Fatalf("%d of %d messages acknowledged after a minute", got, n)
		}
	}
	if err := prod.Close(); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{b.Addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions("sarama-async")
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 12 {
		t.Errorf("auto-created topic has %d partitions, want 12", len(parts))
	}
	var total int64
	for _, p := range parts {
		hw, err := client.GetOffset("sarama-async", p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		total += hw
	}
	if total != n {
		t.Errorf("high watermarks sum to %d, want %d", total, n)
	}
}
