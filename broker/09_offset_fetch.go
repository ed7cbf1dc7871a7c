package broker

// OffsetFetch (key 9), versions 0-9.
//
// librdkafka 2.0.2 sends 0-7, sarama up to v7, franz-go v8+. v2+: a null
// topic list asks for every offset the group committed, and errors are
// top-level; v5+ returns leader epochs; v7 RequireStable is always met
// (commits become visible only once durable, and there are no
// transactions); v8+ asks for several groups at once; v9's member id and
// epoch concern KIP-848 groups and are ignored. v10 names topics by id and
// is not served. A group with nothing committed answers offset -1.
//
// With the authorizer on, as in Kafka: the group needs DESCRIBE
// (GROUP_AUTHORIZATION_FAILED); a partition of a named topic the principal
// may not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED with offset -1 (after
// the allowed ones); asking for every offset (null topics) leaves such
// topics out.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var offsetFetchAPI = api{key: 9, name: "OffsetFetch", minVersion: 0, maxVersion: 9, handle: handleOffsetFetch}

func handleOffsetFetch(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			sg := kmsg.NewOffsetFetchResponseGroup()
			sg.Group = rg.Group
			var want []group.TopicPartition
			for _, rt := range rg.Topics {
				for _, p := range rt.Partitions {
					want = append(want, group.TopicPartition{Topic: rt.Topic, Partition: p})
				}
			}
			offs, err := c.fetchOffsets(rg.Group, want, rg.Topics == nil)
			sg.ErrorCode = groupErrorCode(err)
			for _, t := range byTopic(offs) {
				st := kmsg.NewOffsetFetchResponseGroupTopic()
				st.Topic = t[0].Topic
				for _, o := range t {
					sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = o.Partition, o.Offset.Offset, o.LeaderEpoch, kmsg.StringPtr(o.Metadata)
					if o.denied {
						sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
					}
					st.Partitions = append(st.Partitions, sp)
				}
				sg.Topics = append(sg.Topics, st)
			}
			resp.Groups = append(resp.Groups, sg)
		}
		return ready(resp)
	}
	var want []group.TopicPartition
	for _, rt := range req.Topics {
		for _, p := range rt.Partitions {
			want = append(want, group.TopicPartition{Topic: rt.Topic, Partition: p})
		}
	}
	offs, err := c.fetchOffsets(req.Group, want, req.Topics == nil && req.Version >= 2)
	code := groupErrorCode(err)
	resp.ErrorCode = code
	for _, t := range byTopic(offs) {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = t[0].Topic
		for _, o := range t {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = o.Partition, o.Offset.Offset, o.LeaderEpoch, kmsg.StringPtr(o.Metadata)
			switch {
			case o.denied:
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case req.Version < 2:
				sp.ErrorCode = code // v0-v1 have no top-level error
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// offsetOf is a committed offset as OffsetFetch answers it; denied marks
// a partition of a topic the principal may not describe (offset -1).
type offsetOf struct {
	group.PartitionOffset
	denied bool
}

// fetchOffsets returns a group's committed offsets of want, or all of
// them. With the authorizer on, the group needs DESCRIBE
// (GROUP_AUTHORIZATION_FAILED); the partitions of wanted topics the
// principal may not describe come last, denied, and with all such topics
// are left out.
func (c *conn) fetchOffsets(groupID string, want []group.TopicPartition, all bool) ([]offsetOf, error) {
	if all {
		want = nil
	} else if want == nil {
		want = []group.TopicPartition{}
	}
	if !c.mayGroup(kmsg.ACLOperationDescribe, groupID) {
		return nil, errGroupAuthorization
	}
	var denied []group.TopicPartition
	if c.s.sec.authz != nil && !all {
		allowed, may := []group.TopicPartition{}, map[string]bool{}
		for _, tp := range want {
			ok, seen := may[tp.Topic]
			if !seen {
				ok = c.mayTopic(kmsg.ACLOperationDescribe, tp.Topic) // a denial logged once per topic
				may[tp.Topic] = ok
			}
			if ok {
				allowed = append(allowed, tp)
			} else {
				denied = append(denied, tp)
			}
		}
		want = allowed
	}
	co, err := c.s.coordinator(groupID)
	if err != nil {
		return nil, err
	}
	offs, err := co.FetchOffsets(groupID, want)
	if err != nil {
		return nil, err
	}
	out := make([]offsetOf, 0, len(offs)+len(denied))
	for _, o := range offs {
		if !all || c.visible(o.Topic) {
			out = append(out, offsetOf{PartitionOffset: o})
		}
	}
	for _, tp := range denied {
		o := offsetOf{denied: true}
		o.Topic, o.Partition, o.Offset.Offset, o.LeaderEpoch = tp.Topic, tp.Partition, -1, -1
		out = append(out, o)
	}
	return out, nil
}

// byTopic splits offsets into runs of one topic, keeping their order.
func byTopic(offs []offsetOf) [][]offsetOf {
	var out [][]offsetOf
	for i := 0; i < len(offs); {
		j := i + 1
		for j < len(offs) && offs[j].Topic == offs[i].Topic {
			j++
		}
		out = append(out, offs[i:j])
		i = j
	}
	return out
}
