package edge

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/spool"
	"github.com/pitwall/pitwall/telemetry"
)

// sender moves records from the spool into a sarama AsyncProducer and
// acknowledges them in the spool once the broker has them. At most
// MaxInFlightBytes are handed to the producer at a time; the rest wait in
// the spool, so an outage fills the disk, not memory.
type sender struct {
	e    *Edge
	stop chan struct{} // closed: hand out nothing more (shutdown)
	done chan struct{} // closed when run has returned
	// giveUp is closed once the producer is being closed: the patient
	// client stops waiting for the cluster.
	giveUp chan struct{}
	wake   chan struct{} // capacity 1: in-flight budget freed or a retry queued

	mu       sync.Mutex
	inflight int       // bytes handed to the producer, not yet resolved
	records  int       // records handed to the producer, not yet resolved
	failed   []*flight // given up on by the producer, to send again
	stopping bool

	// ackedFrames is edge_acked_records_total of the frames topic, looked
	// up once (by results, its only user) instead of per record.
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
	return &sender{e: e, stop: make(chan struct{}), done: make(chan struct{}), giveUp: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// run connects, then sends until stop is closed, then closes the
// producer and waits for its last answers.
func (s *sender) run() {
	defer close(s.done)
	client, prod := s.connect()
	if prod == nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.results(prod)
	}()
	s.loop(prod)
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	close(s.giveUp)
	prod.AsyncClose()
	wg.Wait()
	client.Close()
	s.e.brokerUp.Store(false)
	s.e.metrics.brokerUp.Set(0)
}

// connect creates the client and the producer, retrying until the
// cluster answers or stop is closed (then it returns nils).
func (s *sender) connect() (sarama.Client, sarama.AsyncProducer) {
	backoff := 200 * time.Millisecond
	var down time.Time
	for {
		// Built on each attempt: a TLS file that was missing may be back.
		sc, err := saramaConfig(s.e.cfg)
		var client sarama.Client
		if err == nil {
			client, err = sarama.NewClient(s.e.cfg.Brokers, sc)
		}
		msg := "edge: cannot reach the brokers; spooling until they answer"
		if err == nil {
			s.e.ensureTopics(client)
			pc := &patientClient{Client: client, giveUp: s.giveUp, onWait: s.waiting}
			var prod sarama.AsyncProducer
			if prod, err = sarama.NewAsyncProducerFromClient(pc); err == nil {
				s.e.log.Info("edge: connected to the brokers", "brokers", s.e.cfg.Brokers, "idempotent", *s.e.cfg.Producer.Idempotent)
				s.e.brokerUp.Store(true)
				s.e.metrics.brokerUp.Set(1)
				return client, prod
			}
			client.Close()
			msg = "edge: the brokers answer but refuse a producer (without InitProducerId support, run with --idempotent=false); spooling meanwhile"
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
			return nil, nil
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// waiting is called while the patient client waits for the cluster.
func (s *sender) waiting(err error) {
	s.e.brokerUp.Store(false)
	s.e.metrics.brokerUp.Set(0)
	s.e.setLastErr("kafka: " + err.Error())
	s.e.logLimited("kafka-wait", "edge: waiting for the brokers; records stay in order in the spool and the producer", "err", err)
}

// loop hands records to the producer until stop is closed.
func (s *sender) loop(prod sarama.AsyncProducer) {
	limit := s.e.cfg.Producer.MaxInFlightBytes
	for {
		if failed := s.takeFailed(); len(failed) > 0 {
			if !s.pause(retryBackoff(failed[0].attempts)) {
				return
			}
			for _, f := range failed {
				if !s.send(prod, f) {
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
			if !s.send(prod, f) {
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
func (s *sender) send(prod sarama.AsyncProducer, f *flight) bool {
	r := &f.rec
	msg := &sarama.ProducerMessage{
		Topic: r.Topic, Key: sarama.ByteEncoder(r.Key), Value: sarama.ByteEncoder(r.Value),
		Timestamp: time.Unix(0, r.TimeNs), Metadata: f,
	}
	for _, h := range r.Headers {
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	s.mu.Lock()
	s.inflight += f.size
	s.records++
	s.mu.Unlock()
	select {
	case prod.Input() <- msg:
		return true
	case <-s.stop:
		s.resolved(f)
		return false
	}
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
	s.mu.Unlock()
	s.e.metrics.inflight.Set(float64(n))
	s.signal()
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

// results acknowledges what the broker took and requeues what failed,
// until the producer has closed both channels.
func (s *sender) results(prod sarama.AsyncProducer) {
	succ, errs := prod.Successes(), prod.Errors()
	acks := make([]uint64, 0, 1024)
	for succ != nil || errs != nil {
		select {
		case msg, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			acks = append(acks[:0], s.acked(msg))
			for more := true; more && len(acks) < cap(acks); {
				select {
				case msg, ok := <-succ:
					if !ok {
						succ, more = nil, false
						break
					}
					acks = append(acks, s.acked(msg))
				default:
					more = false
				}
			}
			s.e.spool.Ack(acks...)
		case perr, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.failedOne(perr)
		}
	}
}

// acked accounts for one acknowledged record and returns its index.
func (s *sender) acked(msg *sarama.ProducerMessage) uint64 {
	f := msg.Metadata.(*flight)
	s.resolved(f)
	e := s.e
	e.lat.observe(time.Since(time.Unix(0, f.rec.TimeNs)))
	e.metrics.latency.Observe(time.Since(time.Unix(0, f.rec.TimeNs)).Seconds())
	if f.rec.Topic == e.cfg.Topic {
		if s.ackedFrames == nil {
			s.ackedFrames = e.metrics.acked.WithLabelValues(e.cfg.Topic)
		}
		s.ackedFrames.Inc()
	} else {
		e.metrics.acked.WithLabelValues(f.rec.Topic).Inc()
	}
	if f.rec.Topic == e.cfg.Topic {
		e.ackedFrames.Add(1)
		e.ackedSamples.Add(int64(f.rec.Count))
		e.metrics.ackedSamples.Add(float64(f.rec.Count))
	}
	if !e.brokerUp.Load() {
		e.brokerUp.Store(true)
		e.metrics.brokerUp.Set(1)
	}
	return f.rec.Index
}

// failedOne handles a record the producer gave up on: it is sent again
// (it stays in the spool until acknowledged), unless the broker refuses it
// outright, in which case it goes to the dead-letter topic after a few
// attempts.
func (s *sender) failedOne(perr *sarama.ProducerError) {
	f := perr.Msg.Metadata.(*flight)
	s.resolved(f)
	e := s.e
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if stopping {
		return // stays in the spool for the next start
	}
	kind := "other"
	var kerr sarama.KError
	if errors.As(perr.Err, &kerr) {
		kind = kerr.Error()
	}
	e.metrics.produceErrs.WithLabelValues(kind).Inc()
	e.setLastErr("kafka: " + perr.Err.Error())
	e.logLimited("produce:"+kind, "edge: producer gave up on a record; sending it again", "topic", f.rec.Topic, "err", perr.Err)
	f.attempts++
	if permanent(perr.Err) && f.attempts >= permanentAttempts {
		s.reject(f, perr.Err)
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
