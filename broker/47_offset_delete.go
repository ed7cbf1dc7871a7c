package broker

// OffsetDelete (key 47), version 0.
//
// sarama's ClusterAdmin (DeleteConsumerGroupOffset) and franz-go's kadm
// send it (KIP-496). Any committed offset of a group without members may
// be deleted; a consumer group with members keeps the offsets of the
// topics it subscribes to (GROUP_SUBSCRIBED_TO_TOPIC). Partitions of
// topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION. The answer
// waits until the tombstones are durable.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var offsetDeleteAPI = api{key: 47, name: "OffsetDelete", minVersion: 0, maxVersion: 0, handle: handleOffsetDelete}

func handleOffsetDelete(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	var parts []group.TopicPartition
	var sent []*kmsg.OffsetDeleteResponseTopicPartition
	if !c.mayGroup(kmsg.ACLOperationDelete, req.Group) {
		resp.ErrorCode = groupErrorCode(errGroupAuthorization)
		return ready(resp)
	}
	co, err := c.s.coordinator(req.Group)
	if err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return ready(resp)
	}
	resp.Topics = make([]kmsg.OffsetDeleteResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.OffsetDeleteResponseTopicPartition, len(rt.Partitions))
		readable := c.mayTopic(kmsg.ACLOperationRead, rt.Topic)
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			if !readable {
				sp.ErrorCode = groupErrorCode(errTopicAuthorization)
				continue
			}
			if err := c.s.partitionExists(rt.Topic, rp.Partition); err != nil {
				sp.ErrorCode = groupErrorCode(err)
				continue
			}
			parts = append(parts, group.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
			sent = append(sent, sp)
		}
	}
	if parts == nil {
		parts = []group.TopicPartition{}
	}
	ch := co.DeleteOffsets(req.Group, parts)
	return c.pending(func(ctx context.Context) kmsg.Response {
		res, err := awaitGroup(c, ctx, ch, false)
		if err == nil {
			err = res.Err
		}
		if err != nil {
			resp.ErrorCode = groupErrorCode(err)
			return resp
		}
		for i, sp := range sent {
			sp.ErrorCode = groupErrorCode(res.Errs[i])
		}
		return resp
	})
}
