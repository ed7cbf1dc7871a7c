package plugin_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// latencies records, per streamed row, the time from the sample (its
// frame time, set to the wall clock when produced) to the packet.
type latencies struct {
	mu   sync.Mutex
	d    []time.Duration
	rows int
	want int
	done chan struct{}
}

func (l *latencies) Send(pk *backend.StreamPacket) error {
	now := time.Now()
	var f struct {
		Data struct {
			Values [][]json.RawMessage `json:"values"`
		} `json:"data"`
	}
	if err := json.Unmarshal(pk.Data, &f); err != nil || len(f.Data.Values) == 0 {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, raw := range f.Data.Values[0] {
		var ms float64
		json.Unmarshal(raw, &ms)
		l.d = append(l.d, now.Sub(time.UnixMilli(int64(ms))))
	}
	l.rows += len(f.Data.Values[0])
	if l.rows >= l.want && l.done != nil {
		close(l.done)
		l.done = nil
	}
	return nil
}

// BenchmarkStreamLatency produces b.N frames of one car at 1 kHz (acks=all,
// as the edge does) while RunStream streams the car, and reports the p50
// and p99 from sample to streamed frame (target p99 <= 50 ms). Frame times
// are whole milliseconds in Grafana's JSON, so figures carry up to 1 ms of
// rounding.
func BenchmarkStreamLatency(b *testing.B) {
	br := brokertest.Start(b)
	scfg := simConfig(br.Addr, 1, 100*time.Millisecond, 0)
	if err := simulator.Run(context.Background(), scfg); err != nil {
		b.Fatal(err)
	}
	sim, _ := simulator.New(scfg)
	cat := sim.Catalog(0)
	speed, _ := cat.ByName("speed")
	ds, pctx := handlers(b, br.Addr)
	lat := &latencies{want: b.N, done: make(chan struct{})}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ds.RunStream(ctx, &backend.RunStreamRequest{PluginContext: pctx, Path: "car/" + cat.Car + "/speed"}, backend.NewStreamSender(lat))
	}()
	cfg := sarama.NewConfig()
	cfg.Producer.Partitioner = partitioner.New
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Flush.Frequency = time.Millisecond
	prod, err := sarama.NewAsyncProducer([]string{br.Addr}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	codec := telemetry.MustNewCodec()
	// Warm up until the stream has carried 500 frames: it starts at the end
	// offset, and the first fetches of a new consumer lag (up to ~100 ms
	// for the first ~60 frames), which is start-up, not steady streaming.
	for i := 0; lat.count() < 500; i++ {
		produce(prod, codec, cat.Car, speed.ID, int64(-1-i))
		time.Sleep(time.Millisecond)
	}
	lat.reset(b.N)
	done := lat.done
	b.ResetTimer()
	tick := time.NewTicker(time.Millisecond)
	for i := 0; i < b.N; i++ {
		<-tick.C
		produce(prod, codec, cat.Car, speed.ID, int64(i))
	}
	<-done
	b.StopTimer()
	tick.Stop()
	stop()
	wg.Wait()
	prod.Close()
	d := lat.sorted()
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, "p99-ms")
}

func produce(p sarama.AsyncProducer, codec *telemetry.Codec, car string, id int32, seq int64) {
	f := telemetry.Frame{Car: car, Seq: max(seq, 0), TimeNs: time.Now().UnixNano(), Samples: []telemetry.Sample{{ID: id, Value: 200}}}
	v, _ := codec.AppendFrame(nil, &f)
	p.Input() <- &sarama.ProducerMessage{Topic: telemetry.TopicFrames, Key: sarama.StringEncoder(car), Value: sarama.ByteEncoder(v)}
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rows
}

func (l *latencies) reset(want int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d, l.rows, l.want, l.done = nil, 0, want, make(chan struct{})
}

func (l *latencies) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := slices.Clone(l.d)
	slices.Sort(d)
	return d
}
