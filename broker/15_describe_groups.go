package broker

// DescribeGroups (key 15), versions 0-6.
//
// Admin tools send it: sarama's ClusterAdmin (`pitwall groups describe`)
// and franz-go's kadm at their highest versions. v3+ may ask for the
// authorized operations (READ, DESCRIBE, DELETE as the principal may:
// all with the authorizer off), v4+ reports group.instance.id. As in Kafka, members' metadata and
// assignments are reported only for a Stable group, and a group that does
// not exist is "Dead" with no error before v6 and GROUP_ID_NOT_FOUND from
// v6 (KIP-1043).

import (
	"errors"
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/group"
)

var describeGroupsAPI = api{key: 15, name: "DescribeGroups", minVersion: 0, maxVersion: 6, handle: handleDescribeGroups}

func handleDescribeGroups(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		sg := kmsg.NewDescribeGroupsResponseGroup()
		sg.Group = id
		sg.AuthorizedOperations = math.MinInt32
		if !c.mayGroup(kmsg.ACLOperationDescribe, id) {
			sg.ErrorCode = groupErrorCode(errGroupAuthorization)
			resp.Groups = append(resp.Groups, sg)
			continue
		}
		if req.IncludeAuthorizedOperations {
			sg.AuthorizedOperations = c.authorizedOperations(kmsg.ACLResourceTypeGroup, id, groupOperations)
		}
		d := group.Description{Group: id, State: group.Dead}
		co, err := c.s.coordinator(id)
		if err == nil {
			d, err = co.Describe(id)
		}
		sg.State = d.State.String()
		if err != nil {
			if !errors.Is(err, group.ErrGroupNotFound) || req.Version >= 6 {
				sg.ErrorCode, sg.ErrorMessage = groupErrorCode(err), errorMessage(err)
			}
			resp.Groups = append(resp.Groups, sg)
			continue
		}
		sg.ProtocolType, sg.Protocol = d.ProtocolType, d.Protocol
		for _, m := range d.Members {
			sm := kmsg.NewDescribeGroupsResponseGroupMember()
			sm.MemberID, sm.ClientID, sm.ClientHost = m.MemberID, m.ClientID, m.ClientHost
			sm.ProtocolMetadata, sm.MemberAssignment = orEmpty(m.Metadata), orEmpty(m.Assignment)
			if m.InstanceID != "" {
				sm.InstanceID = kmsg.StringPtr(m.InstanceID)
			}
			sg.Members = append(sg.Members, sm)
		}
		resp.Groups = append(resp.Groups, sg)
	}
	return ready(resp)
}

func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
