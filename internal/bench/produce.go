package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordDeliveryTimeout fails a record the broker has not acknowledged in
// this long, so a stuck broker ends the run with an error instead of a hang.
const recordDeliveryTimeout = time.Minute

// phase is what one produce or consume pass measured.
type phase struct {
	records int64
	bytes   int64
	elapsed time.Duration
	latency *histogram // produce only
}

// inflight is one record on its way to the broker. It is its own
// Record.Context so the promise can find its start time without a map or an
// allocation; the embedded context is the run's, which kgo watches for
// cancellation.
type inflight struct {
	context.Context
	rec   kgo.Record
	start time.Time
}

// producer is one kgo client and the goroutine feeding it.
type producer struct {
	cl      *kgo.Client
	latency histogram
	pool    *sync.Pool
	fail    func(error)
}

// produceRun is the state the producers of one pass share.
type produceRun struct {
	limit   int64 // records to produce; 0 means until stopped
	claimed atomic.Int64
	stopped atomic.Bool
	errOnce sync.Once
	err     error
}

// next reports whether a producer may produce one more record.
func (r *produceRun) next() bool {
	if r.limit > 0 {
		return r.claimed.Add(1) <= r.limit && !r.stopped.Load()
	}
	return !r.stopped.Load()
}

func (r *produceRun) fail(err error) {
	r.errOnce.Do(func() { r.err = err })
	r.stopped.Store(true)
}

// producerOpts returns the kgo options of one load-generating client.
func producerOpts(cfg Config, conn []kgo.Opt) []kgo.Opt {
	c, _ := codec(cfg.Compression) // validated
	opts := []kgo.Opt{
		kgo.ClientID("pitwall-bench"),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(cfg.acks()),
		kgo.ProducerBatchCompression(c),
		kgo.ProducerBatchMaxBytes(producerBatchMaxBytes),
		// A small buffer per client: deep enough to keep every
		// connection's pipeline full, shallow enough that the latency
		// measured is mostly the broker's, not time queued in the client.
		kgo.MaxBufferedBytes(producerBufferPerClient),
		kgo.MaxBufferedRecords(max(producerBufferPerClient/cfg.RecordSize, 1024)),
		kgo.ProducerLinger(producerLinger),
		kgo.RecordDeliveryTimeout(recordDeliveryTimeout),
		kgo.UnknownTopicRetries(10),
	}
	if cfg.Acks != "all" {
		// kgo refuses idempotent writes without acks=all. Allow as many
		// requests in flight as the idempotent producer does (5), so
		// every acks level pipelines alike.
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	}
	return append(opts, conn...)
}

// runProduce produces cfg's workload (to conn's brokers) with cfg.Clients clients and
// returns what was acknowledged, how long it took and the latencies.
func runProduce(ctx context.Context, cfg Config, conn []kgo.Opt) (phase, error) {
	run := &produceRun{limit: cfg.Records}
	payload := make([]byte, cfg.RecordSize)
	for i := range payload {
		payload[i] = byte('a' + i%26) // compressible like text, if compression is asked for
	}
	pool := &sync.Pool{New: func() any {
		w := &inflight{Context: ctx}
		w.rec.Context = w
		return w
	}}
	producers := make([]*producer, cfg.Clients)
	defer func() {
		for _, p := range producers {
			if p != nil {
				p.cl.Close()
			}
		}
	}()
	for i := range producers {
		cl, err := kgo.NewClient(producerOpts(cfg, conn)...)
		if err != nil {
			return phase{}, fmt.Errorf("bench: producer client: %w", err)
		}
		producers[i] = &producer{cl: cl, pool: pool, fail: run.fail}
	}
	if cfg.Duration > 0 && cfg.Records == 0 {
		t := time.AfterFunc(cfg.Duration, func() { run.stopped.Store(true) })
		defer t.Stop()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range producers {
		wg.Go(func() { p.loop(ctx, run, payload, cfg.Topic) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if run.err != nil {
		return phase{}, fmt.Errorf("bench: produce: %w", run.err)
	}
	if err := ctx.Err(); err != nil {
		return phase{}, err
	}
	res := phase{elapsed: elapsed, latency: new(histogram)}
	for _, p := range producers {
		res.latency.merge(&p.latency)
	}
	res.records = int64(res.latency.Count())
	res.bytes = res.records * int64(cfg.RecordSize)
	return res, nil
}

// loop produces until run says stop, then waits for every record it
// produced to be acknowledged or failed.
func (p *producer) loop(ctx context.Context, run *produceRun, payload []byte, topic string) {
	promise := p.promise // one method value, not one per record
	for ctx.Err() == nil && run.next() {
		w := p.pool.Get().(*inflight)
		w.start = time.Now()
		// A non-zero Timestamp spares kgo a second clock read.
		w.rec = kgo.Record{Topic: topic, Value: payload, Context: w, Timestamp: w.start}
		p.cl.Produce(ctx, &w.rec, promise)
	}
	if err := p.cl.Flush(ctx); err != nil && ctx.Err() == nil {
		run.fail(err)
	}
}

// promise runs on kgo's goroutine for every record: keep it cheap.
func (p *producer) promise(r *kgo.Record, err error) {
	w := r.Context.(*inflight)
	if err != nil {
		p.fail(fmt.Errorf("record to %s[%d]: %w", r.Topic, r.Partition, err))
	} else {
		p.latency.Observe(time.Since(w.start))
	}
	w.rec.Value = nil
	p.pool.Put(w)
}
