package telemetry

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
)

// Known values of the Java client's Utils.murmur2, from Kafka's own
// UtilsTest and from other clients' tests of Java compatibility.
func TestMurmur2MatchesJava(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int32
	}{
		// org.apache.kafka.common.utils.UtilsTest
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
		// Akka's Murmur2Spec (Kafka-compatible sharding)
		{"1", -1993445489},
		{"12", 126087238},
		{"123", -267702483},
		{"1234", -1614185708},
		{"12345", -1188365604},
		// sarama's TestMurmur2 (as uint32 there)
		{"", 275646681},
		{"foo", 597841616},
		{"kafka", -798503068}, // 3496464228
	} {
		if got := Murmur2([]byte(tc.in)); got != tc.want {
			t.Errorf("Murmur2(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// Partitions the Java DefaultPartitioner picks with 100 partitions (from
// sarama's Java-compatibility test), through our sarama Partitioner.
func TestPartitionerMatchesJava(t *testing.T) {
	p := NewPartitioner(TopicFrames)
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

// toPositive clears the sign bit; it is not abs(). A key whose hash is
// negative shows the difference.
func TestPartitionUsesToPositive(t *testing.T) {
	key := []byte("21") // murmur2 = -973932308
	want := (int32(-973932308) & 0x7fffffff) % 12
	if got := Partition(key, 12); got != want {
		t.Fatalf("Partition = %d, want %d", got, want)
	}
	if abs := (973932308 % 12); abs == int(want) {
		t.Fatalf("test key does not tell toPositive from abs")
	}
	sp := sarama.NewMurmur2Partitioner(TopicFrames)
	for i := range 1000 {
		k := []byte{byte(i), byte(i >> 8), 'c', 'a', 'r'}
		theirs, _ := sp.Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(k)}, 12)
		if ours := Partition(k, 12); ours != theirs {
			t.Fatalf("key %x: ours %d, sarama's murmur2 partitioner %d", k, ours, theirs)
		}
	}
}
