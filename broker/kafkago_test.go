package broker_test

import (
	"fmt"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestKafkaGo writes with segmentio/kafka-go's Writer (its own codec, its
// own version choices) and reads back with its Reader.
func TestKafkaGo(t *testing.T) {
	ctx := testCtx(t)
	b := brokertest.Start(t)
	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addr), Topic: "kafka-go", Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, AllowAutoTopicCreation: true, BatchSize: 10}
	var msgs []kafkago.Message
	for i := 0; i < 100; i++ {
		msgs = append(msgs, kafkago.Message{Key: []byte("car-3"), Value: []byte(fmt.Sprintf("%03d", i))})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := kafkago.DialContext(ctx, "tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions("kafka-go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, p := range parts {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr}, Topic: "kafka-go", Partition: p.ID, MaxWait: 50e6})
		hw, err := kafkago.DialLeader(ctx, "tcp", b.Addr, "kafka-go", p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := hw.ReadLastOffset()
		hw.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i < last; i++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("%03d", seen); string(m.Value) != want {
				t.Fatalf("partition %d offset %d: %q, want %q", p.ID, m.Offset, m.Value, want)
			}
			seen++
		}
		r.Close()
	}
	if seen != 100 {
		t.Fatalf("read %d messages, want 100 (all on the key's one partition)", seen)
	}
}
