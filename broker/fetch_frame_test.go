package broker

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The hand-written fetch frame (record batches left out of the encoding,
// written from their buffers) must be byte for byte what kmsg encodes, at
// every version served, for every shape fetchOnce builds: errors, empty
// and null record batches, many topics and partitions.
func TestFetchFrameMatchesKmsg(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for version := fetchAPI.minVersion; version <= fetchAPI.maxVersion; version++ {
		for round := range 200 {
			resp := randomFetchResponse(rng, version)
			corr := rng.Int32()
			want := appendReply(nil, &reply{corr: corr, key: fetchAPI.key, resp: resp})
			f := appendFetchFrame(nil, corr, resp)
			var got []byte
			for _, p := range f.buffers(nil) {
				got = append(got, p...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("v%d round %d: frame differs from kmsg's\n got %x\nwant %x", version, round, got, want)
			}
			if f.size != len(want) {
				t.Fatalf("v%d round %d: size %d, want %d", version, round, f.size, len(want))
			}
		}
	}
}

func randomFetchResponse(rng *rand.Rand, version int16) *kmsg.FetchResponse {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	resp.ThrottleMillis = rng.Int32N(3)
	resp.ErrorCode = int16(rng.IntN(2))
	resp.SessionID = rng.Int32N(2)
	for range rng.IntN(4) {
		t := kmsg.NewFetchResponseTopic()
		t.Topic = string(bytes.Repeat([]byte{'a' + byte(rng.IntN(26))}, rng.IntN(300)))
		for range rng.IntN(5) {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = rng.Int32()
			p.ErrorCode = int16(rng.IntN(3))
			p.HighWatermark = rng.Int64()
			p.LastStableOffset = p.HighWatermark
			p.LogStartOffset = rng.Int64N(1000) - 1
			p.PreferredReadReplica = -1
			switch rng.IntN(4) {
			case 0:
				p.RecordBatches = nil
			case 1:
				p.RecordBatches = []byte{}
			default:
				p.RecordBatches = make([]byte, rng.IntN(200_000))
				for i := range p.RecordBatches {
					p.RecordBatches[i] = byte(rng.Uint32())
				}
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}
