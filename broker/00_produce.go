package broker

// Produce (key 0), versions 3-9.
//
// v3 is the first version carrying record batch format v2, the only format
// the log stores, and what librdkafka needs to enable it; sarama (latest
// negotiates, 1.45 sends v7 for its default Version) and franz-go use up to
// v9. v10+ add topic ids and leader hints nobody here needs yet.
//
// Each partition's records must be exactly one v2 batch, as Kafka requires
// from v3 on. The batch is appended as received; the log checks length,
// magic and CRC, and assigns the offsets. Appends run in request order on
// the connection's read goroutine, so a producer's pipelined batches keep
// their order. acks=0 gets no reply; acks=1 is answered once written;
// acks=-1 (all) is answered once fsynced under --fsync batch, where one
// fsync serves every producer waiting at the time (group commit).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

var produceAPI = api{key: 0, name: "Produce", minVersion: 3, maxVersion: 9, handle: handleProduce}

var errInvalidRecord = errors.New("broker: a partition's records must be exactly one record batch")

// Batch attribute bits the broker looks at (Kafka's RecordBatch layout).
const (
	attrTransactional = 0x10
	attrControl       = 0x20
	magicOffset       = 16 // the batch's magic byte, in every message format
)

// durableWait is an appended partition an acks=all reply waits on.
type durableWait struct {
	log  *commitlog.Log
	end  int64 // offsets below end must be durable
	resp *kmsg.ProduceResponseTopicPartition
}

func handleProduce(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
		fillProduceError(req, resp, kerr.InvalidRequiredAcks.Code, nil)
		return ready(resp)
	}
	if req.TransactionID != nil {
		fillProduceError(req, resp, errorCode(errTransactions), errorMessage(errTransactions))
		return ready(resp)
	}
	var waits []durableWait
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		t, terr := c.s.autoTopic(rt.Topic, true)
		for j := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rt.Partitions[j].Partition
			sp.LogAppendTime = -1
			if terr != nil {
				sp.ErrorCode = errorCode(terr)
				continue
			}
			w, err := c.s.produceTo(t, sp.Partition, rt.Partitions[j].Records)
			if err != nil {
				c.reportProduceError(t.name, sp.Partition, err)
				sp.ErrorCode, sp.ErrorMessage = errorCode(err), errorMessage(err)
				continue
			}
			sp.BaseOffset = w.base
			sp.LogStartOffset = w.log.StartOffset()
			if req.Acks == -1 && c.s.fsync == commitlog.FsyncBatch {
				waits = append(waits, durableWait{log: w.log, end: w.end, resp: sp})
			}
		}
	}
	switch {
	case req.Acks == 0:
		return nil
	case len(waits) == 0:
		return ready(resp)
	}
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	return c.pending(func(ctx context.Context) kmsg.Response {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		for _, w := range waits {
			if err := w.log.Sync(ctx, w.end); err != nil {
				w.resp.ErrorCode = kerr.RequestTimedOut.Code
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					w.resp.ErrorCode = errorCode(err)
				}
				w.resp.ErrorMessage = errorMessage(err)
			}
		}
		return resp
	})
}

// appended is where a batch landed.
type appended struct {
	log  *commitlog.Log
	base int64 // first offset of the batch
	end  int64 // one past its last offset
}

// produceTo checks one partition's records and appends them.
func (s *Server) produceTo(t *topic, p int32, records []byte) (appended, error) {
	if t.name == offsetsTopic {
		// Only the group coordinator writes there.
		return appended{}, fmt.Errorf("%w: clients may not produce to %s", errInternalTopic, t.name)
	}
	if p < 0 || int(p) >= len(t.parts) {
		return appended{}, errUnknownTopic
	}
	if len(records) > int(t.cfg.maxMessageBytes) {
		return appended{}, fmt.Errorf("%w: %d > %d bytes", errMessageTooLarge, len(records), t.cfg.maxMessageBytes)
	}
	if len(records) > magicOffset && records[magicOffset] != 2 {
		return appended{}, fmt.Errorf("%w: got magic %d", errNotV2, records[magicOffset])
	}
	h, err := commitlog.ParseBatchHeader(records)
	switch {
	case err != nil:
		return appended{}, err
	case int(h.Length)+12 != len(records):
		return appended{}, fmt.Errorf("%w: batch length %d, records %d bytes", errInvalidRecord, int(h.Length)+12, len(records))
	case h.Attributes&(attrTransactional|attrControl) != 0:
		return appended{}, errTransactions
	}
	part := t.parts[p]
	if h.ProducerID < 0 {
		return s.appendBatch(part, records)
	}
	// Idempotent: the check, the append and the record of it are one
	// step, so two connections retrying the same batch cannot both
	// append it.
	ps := part.producers
	ps.mu.Lock()
	defer ps.mu.Unlock()
	dup, err := ps.check(h)
	if err != nil {
		return appended{}, err
	}
	if dup != nil {
		// Already stored: answer with where it went. The reply still
		// waits for that offset to be durable under acks=all.
		s.metrics.duplicateBatches.Inc()
		return appended{log: part.log, base: dup.FirstOffset, end: dup.LastOffset + 1}, nil
	}
	a, err := s.appendBatch(part, records)
	if err == nil {
		ps.record(h, a.base, time.Now())
	}
	return a, err
}

func (s *Server) appendBatch(part *partition, records []byte) (appended, error) {
	base, last, err := part.log.Append(records, 0)
	if err != nil {
		return appended{}, err
	}
	s.metrics.producedBytes.Add(float64(len(records)))
	s.metrics.producedBatch.Inc()
	return appended{log: part.log, base: base, end: last + 1}, nil
}

func (c *conn) reportProduceError(topic string, p int32, err error) {
	switch {
	case errors.Is(err, commitlog.ErrCorruptBatch), errors.Is(err, errInvalidRecord), errors.Is(err, errNotV2):
		c.s.bad.report("bad_batch", err, "remote", c.remote, "client", c.clientID, "topic", topic, "partition", p)
	case errors.Is(err, errMessageTooLarge), errors.Is(err, commitlog.ErrBatchTooLarge):
		c.s.bad.report("batch_too_large", err, "remote", c.remote, "client", c.clientID, "topic", topic, "partition", p)
	case errors.Is(err, errUnknownTopic), errors.Is(err, errTransactions), errors.Is(err, errInternalTopic),
		errors.Is(err, errOutOfOrderSequence), errors.Is(err, errProducerFenced):
		// The client's own protocol state, not bad input: it handles
		// these codes itself.
	default:
		c.s.bad.report("storage", err, "topic", topic, "partition", p)
	}
}

// fillProduceError answers every partition of req with code.
func fillProduceError(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse, code int16, msg *string) {
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode, sp.ErrorMessage, sp.BaseOffset, sp.LogAppendTime = rp.Partition, code, msg, -1, -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
}
