package sarama145

import (
	"fmt"
	"testing"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// TestSarama145 produces and consumes with sarama 1.45 at its default
// Version and at the newest Version it knows, so that every request version
// it can send without negotiating is one the broker serves.
func TestSarama145(t *testing.T) {
	for _, v := range []sarama.KafkaVersion{sarama.DefaultVersion, sarama.V2_8_0_0, sarama.V3_6_0_0, sarama.MaxVersion} {
		t.Run(v.String(), func(t *testing.T) {
			b := brokertest.Start(t)
			cfg := sarama.NewConfig()
			cfg.Version = v
			cfg.Producer.Return.Successes = true
			cfg.Producer.RequiredAcks = sarama.WaitForAll
			cfg.Consumer.Return.Errors = true
			prod, err := sarama.NewSyncProducer([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			var part int32
			for i := 0; i < 20; i++ {
				p, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "old", Key: sarama.StringEncoder("car-7"), Value: sarama.StringEncoder(fmt.Sprint(i))})
				if err != nil {
					t.Fatal(err)
				}
				if off != int64(i) {
					t.Fatalf("message %d at offset %d", i, off)
				}
				part = p
			}
			cons, err := sarama.NewConsumer([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			pc, err := cons.ConsumePartition("old", part, sarama.OffsetOldest)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			for i := 0; i < 20; i++ {
				select {
				case m := <-pc.Messages():
					if string(m.Value) != fmt.Sprint(i) || m.Offset != int64(i) {
						t.Fatalf("got %q at %d, want %d", m.Value, m.Offset, i)
					}
				case err := <-pc.Errors():
					t.Fatal(err)
				}
			}
			admin, err := sarama.NewClusterAdmin([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			if err := admin.CreateTopic("made-by-1.45", &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
				t.Fatal(err)
			}
			topics, err := admin.ListTopics()
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := topics["made-by-1.45"]; !ok || d.NumPartitions != 3 {
				t.Fatalf("ListTopics: %+v", topics["made-by-1.45"])
			}
		})
	}
}
