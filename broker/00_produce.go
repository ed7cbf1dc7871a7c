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
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Produce v10 is v9 with KIP-951's leader hints in the answer (see
// leaderHints).
var produceAPI = api{key: 0, name: "Produce", minVersion: 3, maxVersion: 10, handle: handleProduce}

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
	var repl []replicatedWait
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		t, terr := c.authTopic(rt.Topic, kmsg.ACLOperationWrite, true)
		for j := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rt.Partitions[j].Partition
			sp.LogAppendTime = -1
			if terr != nil {
				sp.ErrorCode = errorCode(terr)
				continue
			}
			if req.Acks == -1 {
				if err := c.s.ackAllCheck(t, sp.Partition); err != nil {
					sp.ErrorCode, sp.ErrorMessage = errorCode(err), errorMessage(err)
					continue
				}
			}
			part, a, err := c.s.produceTo(t, sp.Partition, rt.Partitions[j].Records)
			if err != nil {
				c.reportProduceError(t.Name(), sp.Partition, err)
				sp.ErrorCode, sp.ErrorMessage = errorCode(err), errorMessage(err)
				continue
			}
			sp.BaseOffset = a.Base
			sp.LogStartOffset = part.Log().StartOffset()
			switch {
			case req.Acks != -1:
			case c.s.cluster != nil && t.Name() != offsetsTopic:
				// Every ISR member must hold it (replication.go); a
				// duplicate waits too, for its first append.
				repl = append(repl, replicatedWait{t: t, part: part, pn: sp.Partition, epoch: c.s.leaderEpoch(t.Name(), sp.Partition), end: a.End, resp: sp})
			case c.s.fsync == commitlog.FsyncBatch:
				// A duplicate waits too: for its first append to be durable.
				waits = append(waits, durableWait{log: part.Log(), end: a.End, resp: sp})
			}
		}
	}
	switch {
	case req.Acks == 0:
		return nil
	case len(waits) == 0 && len(repl) == 0:
		c.leaderHints(resp)
		return ready(resp)
	}
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	return c.pending(func(ctx context.Context) kmsg.Response {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		for _, w := range repl {
			c.s.waitReplicated(ctx, w)
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
		c.leaderHints(resp) // the leadership may have moved while it waited
		return resp
	})
}

// produceTo checks one partition's records and appends them. Checking
// the batch against the protocol is the broker's; producer state and the
// log are the partition's.
func (s *Server) produceTo(t *partition.Topic, p int32, records []byte) (*partition.Partition, partition.Appended, error) {
	if t.Name() == offsetsTopic {
		// Only the group coordinator writes there.
		return nil, partition.Appended{}, fmt.Errorf("%w: clients may not produce to %s", errInternalTopic, t.Name())
	}
	part, err := s.servedPartition(t.Name(), p)
	if err != nil {
		return nil, partition.Appended{}, err
	}
	h, err := checkBatch(records, t.Config().MaxMessageBytes())
	if err != nil {
		return nil, partition.Appended{}, err
	}
	a, err := part.AppendEpoch(records, h, s.leaderEpoch(t.Name(), p))
	switch {
	case err != nil:
		return nil, partition.Appended{}, err
	case a.Duplicate:
		// Already stored: the reply says where it went.
		s.metrics.duplicateBatches.Inc()
	default:
		s.metrics.producedBytes.Add(float64(len(records)))
		s.metrics.producedBatch.Inc()
	}
	return part, a, nil
}

// checkBatch checks that records are one v2 record batch, not
// transactional and at most maxBytes long, and returns its header.
func checkBatch(records []byte, maxBytes int32) (commitlog.BatchHeader, error) {
	if len(records) > int(maxBytes) {
		return commitlog.BatchHeader{}, fmt.Errorf("%w: %d > %d bytes", errMessageTooLarge, len(records), maxBytes)
	}
	if len(records) > magicOffset && records[magicOffset] != 2 {
		return commitlog.BatchHeader{}, fmt.Errorf("%w: got magic %d", errNotV2, records[magicOffset])
	}
	h, err := commitlog.ParseBatchHeader(records)
	switch {
	case err != nil:
		return h, err
	case int(h.Length)+12 != len(records):
		return h, fmt.Errorf("%w: batch length %d, records %d bytes", errInvalidRecord, int(h.Length)+12, len(records))
	case h.Attributes&(attrTransactional|attrControl) != 0:
		return h, errTransactions
	}
	return h, nil
}

func (c *conn) reportProduceError(topic string, p int32, err error) {
	switch {
	case errors.Is(err, commitlog.ErrCorruptBatch), errors.Is(err, errInvalidRecord), errors.Is(err, errNotV2):
		c.s.bad.report("bad_batch", err, "remote", c.remote, "client", c.clientID, "topic", topic, "partition", p)
	case errors.Is(err, errMessageTooLarge), errors.Is(err, commitlog.ErrBatchTooLarge):
		c.s.bad.report("batch_too_large", err, "remote", c.remote, "client", c.clientID, "topic", topic, "partition", p)
	case errors.Is(err, partition.ErrUnknownTopic), errors.Is(err, errTransactions), errors.Is(err, errInternalTopic),
		errors.Is(err, partition.ErrOutOfOrderSequence), errors.Is(err, partition.ErrProducerFenced),
		errors.Is(err, errNotLeader):
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

// leaderHints adds KIP-951's hints to a v10+ answer in a cluster: each
// partition refused with NOT_LEADER_OR_FOLLOWER names its current leader
// and leader epoch, and the answer carries those leaders' addresses, so
// that a client (franz-go, librdkafka 2.4+) moves the partition to its
// new leader at once instead of waiting for its next metadata refresh
// (franz-go's come at most every 5 s by default). This is what makes a
// controlled shutdown cost a client next to nothing.
func (c *conn) leaderHints(resp *kmsg.ProduceResponse) {
	if resp.Version < 10 || c.s.cluster == nil {
		return
	}
	st := c.s.cluster.State()
	var listed []int32
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		t := st.Topics[rt.Topic]
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			if rp.ErrorCode != kerr.NotLeaderForPartition.Code || t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.Partitions) {
				continue
			}
			p := t.Partitions[rp.Partition]
			b := st.Brokers[p.Leader]
			if p.Leader < 0 || p.Leader == c.s.cfg.NodeID || b == nil || b.Fenced {
				continue
			}
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = p.Leader, p.LeaderEpoch
			if !slices.Contains(listed, p.Leader) {
				listed = append(listed, p.Leader)
				rb := kmsg.NewProduceResponseBroker()
				rb.NodeID, rb.Host, rb.Port = b.ID, b.Host, b.Port
				resp.Brokers = append(resp.Brokers, rb)
			}
		}
	}
}
