package broker

// Fetch (key 1), versions 4-12.
//
// v4 is the first version that returns record batch format v2 (the only
// format stored; librdkafka needs Fetch >= 4 to enable it); sarama uses up to
// v12 and franz-go stays at v12 without topic ids. Fetch sessions (v7+) are
// not kept: every response says session 0, so clients send full requests.
//
// A fetch is a byte-range read of stored batches up to the high watermark:
// nothing is decoded. MaxBytes and PartitionMaxBytes are honoured, except
// that the first non-empty partition always gets at least one whole batch
// (KIP-74) so a batch larger than the limits cannot wedge a consumer. Empty
// partitions carry empty records, never null (librdkafka rejects null). If
// fewer than MinBytes are ready the fetch long-polls: it is woken by appends
// to any partition it asked for, and answers at MaxWaitMillis at the latest.

import (
	"context"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var fetchAPI = api{key: 1, name: "Fetch", minVersion: 4, maxVersion: 12, handle: handleFetch}

func handleFetch(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.FetchRequest)
	deadline := time.Now().Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)
	resp, enough, wake := c.s.fetchOnce(req)
	if enough || req.MaxWaitMillis <= 0 {
		return ready(resp)
	}
	return c.pending(func(ctx context.Context) kmsg.Response {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for {
			if !c.s.waitAny(ctx, timer.C, wake) {
				resp, _, _ = c.s.fetchOnce(req)
				return resp
			}
			resp, enough, wake = c.s.fetchOnce(req)
			if enough {
				return resp
			}
		}
	})
}

// fetchOnce reads what req asks for as things stand. enough reports
// whether the answer should go now (MinBytes reached or an error to
// report); wake holds the channels that close when a partition it read has
// more to offer.
func (s *Server) fetchOnce(req *kmsg.FetchRequest) (resp *kmsg.FetchResponse, enough bool, wake []<-chan struct{}) {
	resp = req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = int(s.cfg.MaxRequestBytes)
	}
	total, failed := 0, false
	var buf []byte
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := &st.Partitions[j]
			*sp = kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.RecordBatches = []byte{}
			p, err := s.lookupPartition(rt.Topic, rp.Partition)
			if err != nil {
				sp.ErrorCode, failed = errorCode(err), true
				continue
			}
			// Taken before reading, so an append after the read
			// cannot be missed.
			wake = append(wake, p.log.Wait())
			sp.HighWatermark = p.log.HighWatermark()
			sp.LastStableOffset = sp.HighWatermark
			sp.LogStartOffset = p.log.StartOffset()
			limit := min(int(rp.PartitionMaxBytes), budget-total)
			if total > 0 && limit <= 0 {
				continue
			}
			start := len(buf)
			buf, err = p.log.Read(rp.FetchOffset, max(limit, 1), buf)
			if err != nil {
				sp.ErrorCode, failed = errorCode(err), true
				buf = buf[:start]
				continue
			}
			n := len(buf) - start
			if total > 0 && n > limit {
				// Only the first non-empty partition may exceed
				// the limits (KIP-74); this one waits its turn.
				buf = buf[:start]
				continue
			}
			if n > 0 {
				sp.RecordBatches = buf[start:len(buf):len(buf)]
			}
			total += n
		}
	}
	return resp, failed || total >= int(req.MinBytes), wake
}

// waitAny blocks until one of wake closes (true), or the deadline passes,
// the connection ends or the server drains (false).
func (s *Server) waitAny(ctx context.Context, deadline <-chan time.Time, wake []<-chan struct{}) bool {
	cases := make([]reflect.SelectCase, 0, len(wake)+3)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(deadline)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.draining)},
	)
	for _, w := range wake {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 3
}
