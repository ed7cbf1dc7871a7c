package edge

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/spool"
	"github.com/pitwall/pitwall/telemetry"
)

// sender moves records from the spool into a franz-go producer and
// acknowledges them in the spool once the broker has them. At most
// MaxInFlightBytes are handed to the producer at a time; the rest wait in
// the spool, so an outage fills the disk, not memory.
//
// franz-go, not sarama: with idempotence it keeps up to five produce
// requests in flight per broker (sarama's idempotent producer one, and a
// partition's next batch waits for its last answer), which under a
// grid's load cut the edge's time from a record to its acknowledgement
// several-fold (BENCHMARKS.md, issue 17).
type sender struct {
	e    *Edge
	stop chan struct{} // closed: hand out nothing more (shutdown)
	done chan struct{} // closed when run has returned
	wake chan struct{} // capacity 1: in-flight budget freed or a retry queued
	// ctx is cancelled with stop: a Produce waiting for buffer space
	// gives up.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	inflight int       // bytes handed to the producer, not yet resolved
	records  int       // records handed to the producer, not yet resolved
	failed   []*flight // given up on by the producer, to send again
	stopping bool
	idle     chan struct{} // closed once records is 0 while stopping

	// ackedFrames is edge_acked_records_total of the frames topic, looked
	// up once (by acked, its only user) instead of per record.
	ackedFrames prometheus.Counter
}

// flight is one record handed to the producer.
type flight struct {
	rec      spool.Record
	size     int
	attempts int
}

// permanentAttempts is how often a record the broker refuses outright is
// tried before it goes to the dead-letter topic instead.
const permanentAttempts = 3

func newSender(e *Edge) *sender {
	ctx, cancel := context.WithCancel(context.Background())
	return &sender{e: e, stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, idle: make(chan struct{})}
}

// run connects, then sends until stop is closed, then closes the
// producer, which answers what it still holds (it stays in the spool).
func (s *sender) run() {
	defer close(s.done)
	defer s.beginStop()
	// stop ends a connection attempt or a Produce waiting for space at
	// once, not at their timeouts.
	go func() {
		select {
		case <-s.stop:
			s.beginStop()
		case <-s.done:
		}
	}()
	cl := s.connect()
	if cl == nil {
		return
	}
	s.loop(cl)
	s.beginStop()
	cl.Close() // fails what is buffered, calling every promise
	select {
	case <-s.idle:
	case <-time.After(5 * time.Second):
		s.e.log.Warn("edge: the producer closed with records unanswered; they stay in the spool")
	}
	s.e.brokerUp.Store(false)
	s.e.metrics.brokerUp.Set(0)
}

// beginStop marks the sender stopping (what fails from now on stays in
// the spool, unlogged) and cancels its context. Once is enough.
func (s *sender) beginStop() {
	s.mu.Lock()
	s.stopping = true
	s.idleIfDone()
	s.mu.Unlock()
	s.cancel()
}

// connect creates the client and checks that the cluster answers (and,
// idempotent, hands out a producer id), retrying until it does or stop
// is closed (then it returns nil).
func (s *sender) connect() *kgo.Client {
	backoff := 200 * time.Millisecond
	var down time.Time
	for {
		// Built on each attempt: a TLS file that was missing may be back.
		opts, err := producerOpts(s.e.cfg, connHook{s})
		var cl *kgo.Client
		if err == nil {
			cl, err = kgo.NewClient(opts...)
		}
		msg := "edge: cannot reach the brokers; spooling until they answer"
		if err == nil {
			ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
			if err = cl.Ping(ctx); err == nil && *s.e.cfg.Producer.Idempotent {
				if _, _, err = cl.ProducerID(ctx); err != nil {
					msg = "edge: the brokers answer but refuse a producer (without InitProducerId support, run with --idempotent=false); spooling meanwhile"
				}
			}
			if err == nil {
				s.e.ensureTopics(ctx, cl)
			}
			cancel()
			if err == nil {
				s.e.log.Info("edge: connected to the brokers", "brokers", s.e.cfg.Brokers, "idempotent", *s.e.cfg.Producer.Idempotent)
				s.e.brokerUp.Store(true)
				s.e.metrics.brokerUp.Set(1)
				return cl
			}
			cl.Close()
		}
		if down.IsZero() {
			down = time.Now()
			s.e.log.Warn(msg, "brokers", s.e.cfg.Brokers, "err", err)
		}
		s.e.setLastErr("kafka: " + err.Error())
		t := time.NewTimer(backoff)
		select {
		case <-s.stop:
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// waiting is called when a broker cannot be reached: records wait in the
// producer and the spool until it can.
func (s *sender) waiting(err error) {
	s.e.brokerUp.Store(false)
	s.e.metrics.brokerUp.Set(0)
	s.e.setLastErr("kafka: " + err.Error())
	s.e.logLimited("kafka-wait", "edge: waiting for the brokers; records stay in order in the spool and the producer", "err", err)
}

// loop hands records to the producer until stop is closed.
func (s *sender) loop(cl *kgo.Client) {
	limit := s.e.cfg.Producer.MaxInFlightBytes
	for {
		if failed := s.takeFailed(); len(failed) > 0 {
			if !s.pause(retryBackoff(failed[0].attempts)) {
				return
			}
			for _, f := range failed {
				if !s.send(cl, f) {
					return
				}
			}
			continue
		}
		budget := limit - s.inflightBytes()
		if budget <= 0 {
			if !s.pause(time.Hour) {
				return
			}
			continue
		}
		wait := s.e.spool.Wait()
		recs, err := s.e.spool.Read(min(budget, 1<<20))
		if err != nil {
			return // closed
		}
		if len(recs) == 0 {
			select {
			case <-wait:
			case <-s.wake:
			case <-s.stop:
				return
			}
			continue
		}
		for i := range recs {
			f := &flight{rec: recs[i], size: len(recs[i].Value) + len(recs[i].Key) + 64}
			if !s.send(cl, f) {
				return
			}
		}
	}
}

func retryBackoff(attempts int) time.Duration {
	return min(250*time.Millisecond<<min(attempts, 4), 5*time.Second)
}

// pause waits d, or less if woken; false once stop is closed.
func (s *sender) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stop:
		return false
	case <-s.wake:
	case <-t.C:
	}
	return true
}

// send hands one record to the producer; false once stop is closed.
func (s *sender) send(cl *kgo.Client, f *flight) bool {
	r := &f.rec
	rec := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: time.Unix(0, r.TimeNs)}
	if len(r.Headers) > 0 {
		rec.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			rec.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	s.mu.Lock()
	s.inflight += f.size
	s.records++
	s.mu.Unlock()
	select {
	case <-s.stop:
		s.resolved(f)
		return false
	default:
	}
	cl.Produce(s.ctx, rec, func(_ *kgo.Record, err error) {
		if err != nil {
			s.failedOne(f, err)
			return
		}
		s.acked(f)
	})
	return true
}

func (s *sender) inflightBytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// resolved returns a record's budget once the producer has answered.
func (s *sender) resolved(f *flight) {
	s.mu.Lock()
	s.inflight -= f.size
	s.records--
	n := s.records
	s.idleIfDone()
	s.mu.Unlock()
	s.e.metrics.inflight.Set(float64(n))
	s.signal()
}

// idleIfDone closes idle once the sender is stopping and every record
// handed over is resolved. s.mu is held.
func (s *sender) idleIfDone() {
	if s.stopping && s.records == 0 {
		select {
		case <-s.idle:
		default:
			close(s.idle)
		}
	}
}

func (s *sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) takeFailed() []*flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failed
	s.failed = nil
	slices.SortFunc(f, func(a, b *flight) int { return cmp.Compare(a.rec.Index, b.rec.Index) })
	return f
}

// acked accounts for one acknowledged record and acknowledges it in the
// spool. franz-go calls it from one goroutine per partition's batch, in
// order.
func (s *sender) acked(f *flight) {
	s.resolved(f)
	e := s.e
	since := time.Since(time.Unix(0, f.rec.TimeNs))
	e.lat.observe(since)
	e.metrics.latency.Observe(since.Seconds())
	if f.rec.Topic == e.cfg.Topic {
		if s.ackedFrames == nil {
			s.ackedFrames = e.metrics.acked.WithLabelValues(e.cfg.Topic)
		}
		s.ackedFrames.Inc()
		e.ackedFrames.Add(1)
		e.ackedSamples.Add(int64(f.rec.Count))
		e.metrics.ackedSamples.Add(float64(f.rec.Count))
	} else {
		e.metrics.acked.WithLabelValues(f.rec.Topic).Inc()
	}
	if !e.brokerUp.Load() {
		e.brokerUp.Store(true)
		e.metrics.brokerUp.Set(1)
	}
	e.spool.Ack(f.rec.Index)
}

// failedOne handles a record the producer gave up on: it is sent again
// (it stays in the spool until acknowledged), unless the broker refuses it
// outright, in which case it goes to the dead-letter topic after a few
// attempts.
func (s *sender) failedOne(f *flight, err error) {
	s.resolved(f)
	e := s.e
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if stopping {
		return // stays in the spool for the next start
	}
	kind := errorKind(err)
	e.metrics.produceErrs.WithLabelValues(kind).Inc()
	e.setLastErr("kafka: " + err.Error())
	e.logLimited("produce:"+kind, "edge: producer gave up on a record; sending it again", "topic", f.rec.Topic, "err", err)
	f.attempts++
	if permanent(err) && f.attempts >= permanentAttempts {
		s.reject(f, err)
		return
	}
	s.mu.Lock()
	s.failed = append(s.failed, f)
	s.mu.Unlock()
	s.signal()
}

// reject moves a record the broker keeps refusing to the dead-letter
// topic, so it does not hold back every record behind it.
func (s *sender) reject(f *flight, err error) {
	e := s.e
	if f.rec.Topic == telemetry.TopicDeadLetter {
		e.metrics.dropped.WithLabelValues("edge", source.DropRejectedLetter).Inc()
		e.logLimited("reject-dl", "edge: the broker refuses a dead-letter record; it is dropped", "err", err)
	} else {
		var b spool.Batch
		b.Add(deadLetter("edge", source.ReasonProduceRejected, f.rec.Value, err, f.rec.TimeNs,
			spool.Header{Key: "topic", Value: []byte(f.rec.Topic)}, spool.Header{Key: "key", Value: f.rec.Key}))
		if _, aerr := e.spool.Append(&b); aerr != nil {
			e.metrics.dropped.WithLabelValues("edge", source.DropRejected).Inc()
		}
		e.metrics.bad.WithLabelValues("edge", source.ReasonProduceRejected).Inc()
	}
	e.spool.Ack(f.rec.Index)
}
