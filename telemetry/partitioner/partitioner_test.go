package partitioner

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
)

// Partitions the Java DefaultPartitioner picks with 100 partitions (from
// sarama's Java-compatibility test), through our sarama Partitioner.
func TestPartitionerMatchesJava(t *testing.T) {
	p := New("telemetry")
	if !p.RequiresConsistency() {
		t.Fatal("partitioner must require consistency")
	}
	for key, want := range map[string]int32{"foo": 16, "bar": 45, "baz": 80, "kafka": 80, "sarama": 11} {
		got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("partition of %q = %d, want %d", key, got, want)
		}
	}
	if _, err := p.Partition(&sarama.ProducerMessage{}, 12); !errors.Is(err, ErrNoKey) {
		t.Fatalf("nil key: %v, want ErrNoKey", err)
	}
}

// Keyed records go where sarama's own murmur2 partitioner puts them (it
// clears the sign bit too); only a missing key is treated differently.
func TestPartitionerMatchesSaramaMurmur2(t *testing.T) {
	ours, theirs := New("telemetry"), sarama.NewMurmur2Partitioner("telemetry")
	for i := range 1000 {
		msg := &sarama.ProducerMessage{Key: sarama.ByteEncoder([]byte{byte(i), byte(i >> 8), 'c', 'a', 'r'})}
		a, _ := ours.Partition(msg, 12)
		b, _ := theirs.Partition(msg, 12)
		if a != b {
			t.Fatalf("key %x: ours %d, sarama's murmur2 partitioner %d", msg.Key, a, b)
		}
	}
}
