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

import (
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
			if req.Version < 2 {
				sp.ErrorCode = code // v0-v1 have no top-level error
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return ready(resp)
}

// fetchOffsets returns a group's committed offsets of want, or all of
// them. With the authorizer on, the group needs DESCRIBE
// (GROUP_AUTHORIZATION_FAILED) and offsets of topics the principal may not
// describe are left out.
func (c *conn) fetchOffsets(groupID string, want []group.TopicPartition, all bool) ([]group.PartitionOffset, error) {
	if all {
		want = nil
	} else if want == nil {
		want = []group.TopicPartition{}
	}
	if !c.mayGroup(kmsg.ACLOperationDescribe, groupID) {
		return nil, errGroupAuthorization
	}
	offs, err := c.s.groups.FetchOffsets(groupID, want)
	if c.s.sec.authz == nil || err != nil {
		return offs, err
	}
	var shown []group.PartitionOffset
	for _, o := range offs {
		if c.visible(o.Topic) {
			shown = append(shown, o)
		}
	}
	return shown, nil
}

// byTopic splits offsets into runs of one topic, keeping their order.
func byTopic(offs []group.PartitionOffset) [][]group.PartitionOffset {
	var out [][]group.PartitionOffset
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
