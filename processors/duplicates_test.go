package processors_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// Frames an edge sends twice (replaying its spool from a cursor older
// than the broker's log, after a crash) are skipped by their per-car
// sequence numbers: fed every frame with runs of each car's frames
// repeated mid-stream, the processor produces each lap once, as the
// truth has it.
func TestDuplicatedFramesTimeOnce(t *testing.T) {
	t.Parallel() // own broker
	b := brokertest.Start(t)
	const raw = "raw-frames"
	truthPath := t.TempDir() + "/truth.csv"
	err := simulator.Run(context.Background(), simulator.Config{
		Track: testTrack, Cars: testCars, Laps: testLaps, PitEvery: 2, Seed: 21, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1, Out: "kafka://" + b.Addr + "/" + raw, Truth: truthPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	truth := readTruth(t, truthPath)

	// Copy raw into telemetry, each car's frames in order, re-sending the
	// last 700 of them after every 3000th, as a replaying edge would.
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	client, err := sarama.NewClient([]string{b.Addr}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	spec, _ := telemetry.Topic(telemetry.TopicFrames)
	if err := admin.EnsureTopics(client, spec); err != nil {
		t.Fatal(err)
	}
	prod, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	parts, err := client.Partitions(raw)
	if err != nil {
		t.Fatal(err)
	}
	codec := telemetry.MustNewCodec()
	var sent, dups int
	for _, p := range parts {
		end, err := client.GetOffset(raw, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(raw, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		byCar := map[string][]*sarama.ProducerMessage{}
		var batch []*sarama.ProducerMessage
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				var f telemetry.Frame
				if err := codec.DecodeFrame(m.Value, &f); err != nil {
					t.Fatal(err)
				}
				msg := &sarama.ProducerMessage{Topic: telemetry.TopicFrames, Partition: telemetry.Partition(m.Key, telemetry.DefaultPartitions),
					Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(m.Value), Timestamp: m.Timestamp}
				seen := append(byCar[f.Car], msg)
				byCar[f.Car] = seen
				batch = append(batch, msg)
				if len(seen)%3000 == 0 {
					batch = append(batch, seen[len(seen)-700:]...)
					dups += 700
				}
				done = m.Offset >= end-1
			case <-time.After(30 * time.Second):
				t.Fatalf("%s/%d: no record for 30 s", raw, p)
			}
		}
		pc.Close()
		for len(batch) > 0 {
			n := min(len(batch), 500)
			if err := prod.SendMessages(batch[:n]); err != nil {
				t.Fatal(err)
			}
			batch, sent = batch[n:], sent+n
		}
	}
	if dups == 0 {
		t.Fatal("no frame was duplicated")
	}
	t.Logf("%d frames, %d of them sent twice", sent, dups)

	startProcessor(t, config(t, b.Addr, "dups", nil))
	got := waitLaps(t, b.Addr, "dups", len(truth))
	checkTruth(t, got, truth)
}
