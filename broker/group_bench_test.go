package broker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// Group benchmarks, each run against Pitwall's broker and franz-go's kfake
// (in-process) in the same run:
//
//	go test -run '^$' -bench 'BenchmarkGroup' -benchtime 5x ./broker
//
// Members are franz-go clients with the eager range balancer (one round
// per rebalance) and a 100ms heartbeat, so the figures measure the
// coordinator rather than the clients' default 3s heartbeat.

const (
	benchTopic      = "bench-group"
	benchPartitions = 12
)

// benchBrokers runs fn against a Pitwall broker and kfake, each with the
// benchmark topic created.
func benchBrokers(b *testing.B, fn func(b *testing.B, addr string)) {
	b.Run("pitwall", func(b *testing.B) {
		br := brokertest.Start(b)
		cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addr))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		createBenchTopic(b, cl)
		fn(b, br.Addr)
	})
	b.Run("kfake", func(b *testing.B) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, benchTopic))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		fn(b, c.ListenAddrs()[0])
	})
}

func createBenchTopic(b *testing.B, cl *kgo.Client) {
	b.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = benchTopic, benchPartitions, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// benchMember is a kgo group member that counts the partitions it owns
// and the records it consumes.
type benchMember struct {
	cl    *kgo.Client
	owned atomic.Int32
	done  chan struct{}
}

func startBenchMember(b *testing.B, addr, groupID string, consumed *atomic.Int64, changed chan<- struct{}) *benchMember {
	m := &benchMember{done: make(chan struct{})}
	note := func(delta int32) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.owned.Add(delta * int32(len(a[benchTopic])))
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(benchTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Balancers(kgo.RangeBalancer()),
		kgo.HeartbeatInterval(100*time.Millisecond), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(note(1)), kgo.OnPartitionsRevoked(note(-1)), kgo.OnPartitionsLost(note(-1)))
	if err != nil {
		b.Fatal(err)
	}
	m.cl = cl
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			n := 0
			fs.EachRecord(func(*kgo.Record) { n++ })
			consumed.Add(int64(n))
		}
	}()
	return m
}

func (m *benchMember) close() {
	m.cl.Close()
	<-m.done
}

// waitOwned waits until members own every partition between them.
func waitOwned(b *testing.B, changed <-chan struct{}, members ...*benchMember) {
	deadline := time.After(time.Minute)
	for {
		var n int32
		for _, m := range members {
			n += m.owned.Load()
		}
		if n == benchPartitions {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			b.Fatalf("members own %d of %d partitions after a minute", n, benchPartitions)
		}
	}
}

// BenchmarkGroupRebalance measures, for three members over twelve
// partitions, "join": three members starting at once until they own every
// partition, and "leave": one of three stable members leaving until the
// other two own every partition.
func BenchmarkGroupRebalance(b *testing.B) {
	benchBrokers(b, func(b *testing.B, addr string) {
		var consumed atomic.Int64
		b.Run("join", func(b *testing.B) {
			// Creates __consumer_offsets, and the group's first write to
			// its partition records the leader epoch there.
			joinOnce(b, addr, "join", &consumed)
			b.ResetTimer()
			for range b.N {
				changed := make(chan struct{}, 1)
				var ms []*benchMember
				for range 3 {
					ms = append(ms, startBenchMember(b, addr, "join", &consumed, changed))
				}
				waitOwned(b, changed, ms...)
				b.StopTimer()
				closeAll(ms)
				b.StartTimer()
			}
		})
		b.Run("leave", func(b *testing.B) {
			joinOnce(b, addr, "leave", &consumed)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				changed := make(chan struct{}, 1)
				var ms []*benchMember
				for range 3 {
					ms = append(ms, startBenchMember(b, addr, "leave", &consumed, changed))
				}
				waitOwned(b, changed, ms...)
				b.StartTimer()
				ms[0].close()
				waitOwned(b, changed, ms[1:]...)
				b.StopTimer()
				closeAll(ms[1:])
				b.StartTimer()
			}
		})
	})
}

// joinOnce runs three members of groupID until they own every partition.
func joinOnce(b *testing.B, addr, groupID string, consumed *atomic.Int64) {
	changed := make(chan struct{}, 1)
	var ms []*benchMember
	for range 3 {
		ms = append(ms, startBenchMember(b, addr, groupID, consumed, changed))
	}
	waitOwned(b, changed, ms...)
	closeAll(ms)
}

// BenchmarkGroupConsume measures a group of three members consuming
// 20000 records of 1 KiB from the start of twelve partitions (bytes/s).
func BenchmarkGroupConsume(b *testing.B) {
	const records, size = 20000, 1024
	benchBrokers(b, func(b *testing.B, addr string) {
		prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(benchTopic), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		value := make([]byte, size)
		var wg sync.WaitGroup
		for i := range records {
			wg.Add(1)
			prod.Produce(context.Background(), &kgo.Record{Key: []byte(fmt.Sprint(i % 100)), Value: value}, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		prod.Close()
		b.SetBytes(records * size)
		var consumed atomic.Int64
		joinOnce(b, addr, "consume", &consumed)
		b.ResetTimer()
		for range b.N {
			consumed.Store(0)
			changed := make(chan struct{}, 1)
			var ms []*benchMember
			for range 3 {
				ms = append(ms, startBenchMember(b, addr, "consume", &consumed, changed))
			}
			for consumed.Load() < records {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			closeAll(ms)
			b.StartTimer()
		}
	})
}

func closeAll(ms []*benchMember) {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go func() { defer wg.Done(); m.close() }()
	}
	wg.Wait()
}
