package broker

// ListOffsets (key 2), versions 0-8.
//
// librdkafka sends 0-2, sarama up to v6 (v1 with old configs), franz-go
// the highest. Timestamps: -1 latest (the high watermark), -2 earliest, -4
// earliest local (the same here: there is no tiered storage), -3 the
// record with the largest timestamp (v7+), and any other value the first
// offset whose batch has a timestamp at or after it, from the time index.
// v0 answers in the old style (a list of offsets) that kmsg still encodes.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

var listOffsetsAPI = api{key: 2, name: "ListOffsets", minVersion: 0, maxVersion: 8, handle: handleListOffsets}

// Special ListOffsets timestamps.
const (
	listLatest        = -1
	listEarliest      = -2
	listMaxTimestamp  = -3
	listEarliestLocal = -4
)

func handleListOffsets(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(rt.Partitions))
		denied := !c.mayTopic(kmsg.ACLOperationDescribe, rt.Topic)
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch = c.s.leaderEpoch(rt.Topic, rp.Partition)
			if denied {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				continue
			}
			p, err := c.s.servedPartition(rt.Topic, rp.Partition) // its leader's, in a cluster
			if err != nil {
				sp.ErrorCode = errorCode(err)
				continue
			}
			sp.Timestamp, sp.Offset, err = listOffset(p.Log(), p.HighWatermark(), rp.Timestamp)
			if err != nil {
				sp.ErrorCode = errorCode(err)
				continue
			}
			if req.Version == 0 {
				sp.OldStyleOffsets = []int64{sp.Offset}
			}
		}
	}
	return ready(resp)
}

// listOffset resolves one ListOffsets timestamp to (timestamp, offset);
// hw is the partition's high watermark (in a cluster the ISR's, which
// may be behind the log's). Kafka answers -1 for the timestamp of the
// special queries.
func listOffset(l *commitlog.Log, hw, ts int64) (int64, int64, error) {
	switch ts {
	case listLatest:
		return -1, hw, nil
	case listEarliest, listEarliestLocal:
		return -1, l.StartOffset(), nil
	case listMaxTimestamp:
		return maxTimestampOffset(l, hw)
	}
	if ts < 0 {
		return -1, -1, errUnsupportedTimestamp
	}
	off, err := l.OffsetForTime(ts)
	if err != nil {
		return -1, -1, err
	}
	if off < 0 {
		// No record at or after ts: Kafka answers offset -1.
		return -1, -1, nil
	}
	return ts, off, nil
}

// maxTimestampOffset answers the -3 query from the newest batch: the log is
// appended in time order by every Pitwall producer, so the newest batch
// holds the largest timestamp; its last offset stands for the record.
func maxTimestampOffset(l *commitlog.Log, hw int64) (int64, int64, error) {
	if hw <= l.StartOffset() {
		return -1, -1, nil
	}
	b, err := l.Read(hw-1, 1, nil)
	if err != nil {
		return -1, -1, err
	}
	var h commitlog.BatchHeader
	for len(b) > 0 {
		if h, err = commitlog.ParseBatchHeader(b); err != nil {
			return -1, -1, err
		}
		b = b[min(int(h.Length)+12, len(b)):]
	}
	return h.MaxTimestamp, h.BaseOffset + int64(h.LastOffsetDelta), nil
}
