package broker

// OffsetCommit (key 8), versions 0-9.
//
// librdkafka 2.0.2 sends 0-7, sarama up to v8 (older Versions lower),
// franz-go v9. v1 carries a commit timestamp per partition, v2-v4 a
// retention time (ignored: retention is the broker's, as since KIP-211),
// v6+ the leader epoch, v7+ group.instance.id; v9 is v8 for classic
// groups. v10 names topics by id and is not served.
//
// A commit without a generation (-1, as v0 and admin tools send) is
// accepted only while the group has no members. Partitions of topics that
// do not exist get UNKNOWN_TOPIC_OR_PARTITION; the others are answered
// (a pending reply) once their records are durable in __consumer_offsets:
// fsynced on a single broker, past the high watermark in a cluster.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var offsetCommitAPI = api{key: 8, name: "OffsetCommit", minVersion: 0, maxVersion: 9, handle: handleOffsetCommit}

func handleOffsetCommit(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	cr := group.CommitRequest{Group: req.Group, Generation: req.Generation, MemberID: req.MemberID, InstanceID: deref(req.InstanceID)}
	var sent []*kmsg.OffsetCommitResponseTopicPartition // answers of cr.Offsets, in order
	resp.Topics = make([]kmsg.OffsetCommitResponseTopic, len(req.Topics))
	var co *group.Coordinator
	groupErr := errGroupAuthorization
	if c.mayGroup(kmsg.ACLOperationRead, req.Group) {
		co, groupErr = c.s.coordinator(req.Group) // NOT_COORDINATOR in a cluster if another broker is
	}
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.OffsetCommitResponseTopicPartition, len(rt.Partitions))
		var denied error
		switch {
		case groupErr != nil:
			denied = groupErr
		case !c.mayTopic(kmsg.ACLOperationRead, rt.Topic):
			denied = errTopicAuthorization
		}
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			if denied != nil {
				sp.ErrorCode = groupErrorCode(denied)
				continue
			}
			if err := c.s.partitionExists(rt.Topic, rp.Partition); err != nil {
				sp.ErrorCode = groupErrorCode(err)
				continue
			}
			o := group.PartitionOffset{
				TopicPartition: group.TopicPartition{Topic: rt.Topic, Partition: rp.Partition},
				Offset:         group.Offset{Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch, Metadata: deref(rp.Metadata)},
			}
			if req.Version == 1 && rp.Timestamp >= 0 {
				o.CommitTime = time.UnixMilli(rp.Timestamp)
			}
			cr.Offsets = append(cr.Offsets, o)
			sent = append(sent, sp)
		}
	}
	if len(sent) == 0 {
		return ready(resp)
	}
	ch := co.CommitOffsets(cr)
	fill := func(res group.CommitResult, err error) kmsg.Response {
		if err == nil {
			err = res.Err
		}
		for i, sp := range sent {
			e := err
			if e == nil {
				e = res.Errs[i]
			}
			sp.ErrorCode = groupErrorCode(e)
		}
		return resp
	}
	select {
	case res := <-ch:
		return ready(fill(res, nil))
	default:
	}
	return c.pending(func(ctx context.Context) kmsg.Response {
		res, err := awaitGroup(c, ctx, ch, false)
		return fill(res, err)
	})
}
