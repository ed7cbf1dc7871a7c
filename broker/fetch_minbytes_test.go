package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A consumer's fetch waiting for its MinBytes is woken by each append
// that makes records visible; it counts what is visible from the log's
// positions and reads the records once, when it answers, not at every
// wake. The answer holds at least MinBytes.
func TestFetchWaitsForMinBytesWithoutReading(t *testing.T) {
	waiting := make(chan struct{}, 64)
	cfg := Config{}
	cfg.fetchWaiting = func() { waiting <- struct{}{} }
	s := startServer(t, cfg)
	tp, err := s.topics.Create("minbytes", 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	log := tp.Partitions()[0].Log()
	batch := rawBatch(1024)
	req := fetchRequest("minbytes", 1<<20)
	req.MinBytes = int32(3*len(batch) - 10) // three batches
	req.MaxWaitMillis = 600_000             // far past the connection's hang guard
	c := dialRaw(t, s.Addr())
	c.send(req, 11, 0)
	<-waiting // nothing visible yet
	reads := log.Stats().Reads
	for i := range 3 {
		_, a, err := s.produceTo(tp, 0, rawBatch(1024))
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Sync(t.Context(), a.End); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			<-waiting // woken, too little visible: waits again
		}
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 11
	if err := resp.ReadFrom(c.mustRecv(0)); err != nil {
		t.Fatal(err)
	}
	got := resp.Topics[0].Partitions[0]
	if got.ErrorCode != 0 || len(got.RecordBatches) < int(req.MinBytes) {
		t.Fatalf("answer: error %d, %d bytes of records; want 0 and at least MinBytes %d", got.ErrorCode, len(got.RecordBatches), req.MinBytes)
	}
	if n := log.Stats().Reads - reads; n != 1 {
		t.Fatalf("the waiting fetch read the log %d times, want once", n)
	}
}
