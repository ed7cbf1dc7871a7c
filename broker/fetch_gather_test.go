package broker

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/partition"
)

// A consumer's fetch over partitions of which one has records written but
// not yet fsynced sees that partition settling (fetchGather): it waits for
// it a moment, never for the fetch's MaxWait, so records already visible
// are not held back by another partition's slow fsync. Once the fsync
// ends, the partition's records are read and nothing is settling.
func TestFetchGathersSettlingPartitions(t *testing.T) {
	var hold atomic.Bool
	release := make(chan struct{})
	var once sync.Once
	cfg := Config{}
	cfg.beforeFsync = func(topic string, p int32) {
		if topic == "gather" && p == 1 && hold.Load() {
			<-release
		}
	}
	s := startServer(t, cfg)
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the server closes
	tp, err := s.topics.Create("gather", 2, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	fetch := func() *kmsg.FetchRequest {
		req := fetchRequest("gather", 1<<20)
		p1 := req.Topics[0].Partitions[0]
		p1.Partition = 1
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, p1)
		req.MinBytes = 1
		req.MaxWaitMillis = 600_000 // far past the connection's one-minute hang guard
		return req
	}
	records := func(resp *kmsg.FetchResponse) (p0, p1 int) {
		ps := resp.Topics[0].Partitions
		return len(ps[0].RecordBatches), len(ps[1].RecordBatches)
	}
	produce := func(p int32) partition.Appended {
		t.Helper()
		_, a, err := s.produceTo(tp, p, rawBatch(1024))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	// Both partitions empty: the fetch waits. Partition 1's fsync is
	// held, then both get a batch; partition 0's becomes visible and the
	// fetch is answered with it, partition 1's still unsynced.
	hold.Store(true)
	c := dialRaw(t, s.Addr())
	c.send(fetch(), 11, 0)
	produce(1)
	a0 := produce(0)
	if err := tp.Partitions()[0].Log().Sync(t.Context(), a0.End); err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 11
	if err := resp.ReadFrom(c.mustRecv(0)); err != nil {
		t.Fatal(err)
	}
	if n0, n1 := records(resp); n0 == 0 || n1 != 0 {
		t.Fatalf("waiting fetch: %d and %d bytes of records from partitions 0 and 1, want some and none (1's fsync is held)", n0, n1)
	}

	// Read as things stand: partition 1 is settling.
	direct, enough, _ := s.fetchOnce(fetch())
	if n0, n1 := records(direct.FetchResponse); !enough || !direct.settling || n0 == 0 || n1 != 0 {
		t.Fatalf("fetch with 1's fsync held: enough %v, settling %v, %d and %d bytes; want true, true, some, none", enough, direct.settling, n0, n1)
	}
	direct.release()
	// Over the wire again, with records there from the start.
	c.send(fetch(), 11, 1)
	resp = kmsg.NewPtrFetchResponse()
	resp.Version = 11
	if err := resp.ReadFrom(c.mustRecv(1)); err != nil {
		t.Fatal(err)
	}
	if n0, n1 := records(resp); n0 == 0 || n1 != 0 {
		t.Fatalf("second fetch: %d and %d bytes from partitions 0 and 1, want some and none", n0, n1)
	}

	// The fsync ends: nothing settles, both partitions are read.
	hold.Store(false)
	once.Do(func() { close(release) })
	if err := tp.Partitions()[1].Log().Sync(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	direct, enough, _ = s.fetchOnce(fetch())
	defer direct.release()
	if n0, n1 := records(direct.FetchResponse); !enough || direct.settling || n0 == 0 || n1 == 0 {
		t.Fatalf("after the fsync: enough %v, settling %v, %d and %d bytes; want true, false, some, some", enough, direct.settling, n0, n1)
	}
}
