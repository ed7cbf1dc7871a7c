package processors_test

import (
	"context"
	"reflect"
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
// truth has it, and the same laps, metrics and all, as from the frames
// sent once (on a second broker).
func TestDuplicatedFramesTimeOnce(t *testing.T) {
	t.Parallel() // own brokers
	dup, clean := brokertest.Start(t), brokertest.Start(t)
	const raw = "raw-frames"
	truthPath := t.TempDir() + "/truth.csv"
	err := simulator.Run(context.Background(), simulator.Config{
		Track: testTrack, Cars: 2, Laps: testLaps, PitEvery: 2, Seed: 21, GPSRateHz: 10, Rates: testRates,
		DropoutsPerHour: -1, GPSNoise: -1, Out: "kafka://" + dup.Addr + "/" + raw, Truth: truthPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	truth := readTruth(t, truthPath)
	copyTopic(t, dup.Addr, telemetry.TopicChannels, clean.Addr, telemetry.TopicChannels, 0)
	copyTopic(t, dup.Addr, raw, clean.Addr, telemetry.TopicFrames, 0)
	// Each car's last 700 frames again after every 3000th, as a
	// replaying edge would send them.
	if n := copyTopic(t, dup.Addr, raw, dup.Addr, telemetry.TopicFrames, 3000); n == 0 {
		t.Fatal("no frame was duplicated")
	}

	startProcessor(t, config(t, dup.Addr, "dups", nil))
	startProcessor(t, config(t, clean.Addr, "clean", nil))
	got := waitLaps(t, dup.Addr, "dups", len(truth))
	checkTruth(t, got, truth)
	want := waitLaps(t, clean.Addr, "clean", len(truth))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("laps from duplicated frames differ from the frames sent once:\n%v\nonce:\n%v", summary(got), summary(want))
	}
}

// copyTopic copies every record of topic from on the broker at src to
// topic to at dst, into the partition of its key, in order. With every
// > 0, after each car's every-th frame its last 700 are copied again; it
// returns how many records were sent twice.
func copyTopic(t *testing.T, src, from, dst, to string, every int) (dups int) {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	in, err := sarama.NewClient([]string{src}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := sarama.NewClient([]string{dst}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	spec, _ := telemetry.Topic(to)
	spec.Name = to
	if err := admin.EnsureTopics(out, spec); err != nil {
		t.Fatal(err)
	}
	prod, err := sarama.NewSyncProducerFromClient(out)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	cons, err := sarama.NewConsumerFromClient(in)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	parts, err := in.Partitions(from)
	if err != nil {
		t.Fatal(err)
	}
	codec := telemetry.MustNewCodec()
	for _, p := range parts {
		end, err := in.GetOffset(from, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(from, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		byCar := map[string][]*sarama.ProducerMessage{}
		var batch []*sarama.ProducerMessage
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				msg := &sarama.ProducerMessage{Topic: to, Partition: telemetry.Partition(m.Key, spec.Partitions),
					Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(m.Value), Timestamp: m.Timestamp}
				batch = append(batch, msg)
				if every > 0 {
					var f telemetry.Frame
					if err := codec.DecodeFrame(m.Value, &f); err != nil {
						t.Fatal(err)
					}
					seen := append(byCar[f.Car], msg)
					byCar[f.Car] = seen
					if len(seen)%every == 0 {
						batch = append(batch, seen[len(seen)-700:]...)
						dups += 700
					}
				}
				done = m.Offset >= end-1
			case <-time.After(30 * time.Second):
				t.Fatalf("%s/%d: no record for 30 s", from, p)
			}
		}
		pc.Close()
		for len(batch) > 0 {
			n := min(len(batch), 500)
			if err := prod.SendMessages(batch[:n]); err != nil {
				t.Fatal(err)
			}
			batch = batch[n:]
		}
	}
	return dups
}
