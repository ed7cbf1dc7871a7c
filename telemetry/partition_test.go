package telemetry

import "testing"

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
}
