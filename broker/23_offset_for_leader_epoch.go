package broker

// OffsetForLeaderEpoch (key 23), versions 0-4.
//
// A follower or a returning leader asks, for the last leader epoch it
// holds, where that epoch ends on the partition's leader, and truncates
// its log there (KIP-101, KIP-279); consumers (franz-go, librdkafka) ask
// it to detect a log truncated under them (KIP-320). The answer comes from
// the leader's epoch checkpoint (commitlog's EndOffsetForEpoch, Kafka's
// rules). On a single broker every batch has epoch 0, so epoch 0 ends at
// the log end. In a cluster only the partition's leader answers
// (NOT_LEADER_OR_FOLLOWER elsewhere), and a CurrentLeaderEpoch (v2+)
// older than the leader's is FENCED_LEADER_EPOCH, a newer one
// UNKNOWN_LEADER_EPOCH, as in Kafka. v3+ carries the asking replica's id,
// which changes nothing here.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var offsetForLeaderEpochAPI = api{key: 23, name: "OffsetForLeaderEpoch", minVersion: 0, maxVersion: 4, handle: handleOffsetForLeaderEpoch}

func handleOffsetForLeaderEpoch(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(rt.Partitions))
		// Kafka's rule: ClusterAction on the cluster (a follower) or
		// DESCRIBE on the topic (a consumer, KIP-320).
		denied := c.s.sec.authz != nil && !c.allows(kmsg.ACLOperationClusterAction, kmsg.ACLResourceTypeCluster, auth.ClusterName) &&
			!c.mayTopic(kmsg.ACLOperationDescribe, rt.Topic)
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			if denied {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				continue
			}
			p, err := c.s.servedPartition(rt.Topic, rp.Partition)
			if err != nil {
				sp.ErrorCode = errorCode(err)
				continue
			}
			if cur := c.s.leaderEpoch(rt.Topic, rp.Partition); rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch != cur {
				sp.ErrorCode = kerr.FencedLeaderEpoch.Code
				if rp.CurrentLeaderEpoch > cur {
					sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
				}
				continue
			}
			sp.LeaderEpoch, sp.EndOffset = p.Log().EndOffsetForEpoch(rp.LeaderEpoch)
			if cur := c.s.leaderEpoch(rt.Topic, rp.Partition); rp.LeaderEpoch == cur && sp.LeaderEpoch != cur {
				// Nothing appended in the current epoch yet (a single
				// broker's partition never written, or a cluster leader's
				// epoch not yet assigned): Kafka's leader has it in its
				// cache from its election, starting at the log end.
				sp.LeaderEpoch, sp.EndOffset = cur, p.Log().EndOffset()
			}
		}
	}
	return ready(resp)
}
