package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

// A fetch asking for a gigabyte gets at most FetchMaxBytes (whole
// batches), and a client that pipelines more fetches than a connection
// builds at once (fetchesPerConn) still gets every answer, in order.
func TestFetchMaxBytesAndPipelinedFetches(t *testing.T) {
	const batch, limit = 32 << 10, 100 << 10
	s := startServer(t, Config{FetchMaxBytes: limit})
	tp, err := s.topics.Create("limits", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var last partition.Appended
	for range 20 {
		if _, last, err = s.produceTo(tp, 0, rawBatch(batch)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.Partitions()[0].Log().Sync(t.Context(), last.End); err != nil { // visible once durable
		t.Fatal(err)
	}
	c := dialRaw(t, s.Addr())
	fetch := fetchRequest("limits", 1<<30)
	const n = 5 * fetchesPerConn
	for corr := range int32(n) {
		c.send(fetch, 11, corr)
	}
	for corr := range int32(n) {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = 11
		if err := resp.ReadFrom(c.mustRecv(corr)); err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || len(p.RecordBatches) != limit/batch*batch {
			t.Fatalf("fetch %d: error %d, %d bytes of records, want %d (whole batches within %d)", corr, p.ErrorCode, len(p.RecordBatches), limit/batch*batch, limit)
		}
	}
	if _, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), FetchMaxBytes: -1}); err == nil {
		t.Error("a negative FetchMaxBytes was accepted")
	}
}
