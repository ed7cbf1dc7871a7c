package importer

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// producer is a sarama AsyncProducer whose acknowledgements are taken in
// the sending goroutine: frames count towards the progress, a record sent
// with sendWait is waited for. Every method runs on one goroutine.
type producer struct {
	ap  sarama.AsyncProducer
	err error // the first record the producer gave up on
}

func newProducer(client sarama.Client, cfg Config) (*producer, error) {
	ap, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("importer: producer: %w", err)
	}
	return &producer{ap: ap}, nil
}

// take handles one answer: a frame's success calls onAck, a waited-for
// record's closes its channel; a failure is kept in p.err.
func (p *producer) take(m *sarama.ProducerMessage, perr *sarama.ProducerError, onAck func()) {
	if perr != nil {
		if p.err == nil {
			p.err = fmt.Errorf("importer: produce to %s: %w", perr.Msg.Topic, perr.Err)
		}
		if done, ok := perr.Msg.Metadata.(chan struct{}); ok {
			close(done)
		}
		return
	}
	if done, ok := m.Metadata.(chan struct{}); ok {
		close(done)
		return
	}
	if onAck != nil {
		onAck()
	}
}

// send hands one record to the producer, taking answers meanwhile; false
// when ctx ended or a record failed.
func (p *producer) send(ctx context.Context, topic, key string, value []byte, headers []sarama.RecordHeader, onAck func()) bool {
	msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value), Headers: headers, Timestamp: time.Now()}
	return p.put(ctx, msg, onAck)
}

func (p *producer) put(ctx context.Context, msg *sarama.ProducerMessage, onAck func()) bool {
	for p.err == nil {
		select {
		case p.ap.Input() <- msg:
			return true
		case m := <-p.ap.Successes():
			p.take(m, nil, onAck)
		case e := <-p.ap.Errors():
			p.take(nil, e, onAck)
		case <-ctx.Done():
			return false
		}
	}
	return false
}

// pace waits d, taking answers meanwhile; false when ctx ended or a
// record failed.
func (p *producer) pace(ctx context.Context, d time.Duration, onAck func()) bool {
	if d <= 0 {
		return p.err == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for p.err == nil {
		select {
		case <-t.C:
			return true
		case m := <-p.ap.Successes():
			p.take(m, nil, onAck)
		case e := <-p.ap.Errors():
			p.take(nil, e, onAck)
		case <-ctx.Done():
			return false
		}
	}
	return false
}

// wait takes answers until sent frames are acknowledged (*acked counts
// them, through onAck), a record failed or ctx ended.
func (p *producer) wait(ctx context.Context, sent int, acked *int, onAck func()) error {
	for p.err == nil && *acked < sent {
		select {
		case m := <-p.ap.Successes():
			p.take(m, nil, onAck)
		case e := <-p.ap.Errors():
			p.take(nil, e, onAck)
		case <-ctx.Done():
			return nil
		}
	}
	return p.err
}

// sendWait sends one record and waits for its acknowledgement.
func (p *producer) sendWait(ctx context.Context, topic, key string, value []byte) error {
	done := make(chan struct{})
	msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value), Timestamp: time.Now(), Metadata: done}
	if !p.put(ctx, msg, nil) {
		if p.err != nil {
			return p.err
		}
		return ctx.Err()
	}
	for {
		select {
		case <-done:
			return p.err
		case m := <-p.ap.Successes():
			p.take(m, nil, nil)
		case e := <-p.ap.Errors():
			p.take(nil, e, nil)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close flushes what is in flight and stops the producer.
func (p *producer) close() {
	p.ap.AsyncClose()
	succ, errs := p.ap.Successes(), p.ap.Errors()
	for succ != nil || errs != nil {
		select {
		case _, ok := <-succ:
			if !ok {
				succ = nil
			}
		case _, ok := <-errs:
			if !ok {
				errs = nil
			}
		}
	}
}
