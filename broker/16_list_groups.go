package broker

// ListGroups (key 16), versions 0-5.
//
// sarama's ClusterAdmin (`pitwall groups list`) and franz-go's kadm send
// it. v4+ may filter by state (case-insensitive, as Kafka) and reports
// each group's state; v5+ may filter by type and reports it: every group
// here is a "classic" group.

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var listGroupsAPI = api{key: 16, name: "ListGroups", minVersion: 0, maxVersion: 5, handle: handleListGroups}

func handleListGroups(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	match := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	// Kafka lists every group to DESCRIBE on the cluster, else those
	// the principal may describe.
	all := c.s.sec.authz == nil || c.allows(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeCluster, auth.ClusterName)
	groups, loading := c.s.listGroups()
	if loading {
		// Kafka's answer while a partition of this coordinator loads:
		// the list would be short of its groups.
		resp.ErrorCode = groupErrorCode(errCoordinatorLoading)
	}
	for _, l := range groups {
		if !match(req.StatesFilter, l.State.String()) || !match(req.TypesFilter, "classic") {
			continue
		}
		if !all && !c.allows(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, l.Group) {
			continue
		}
		sg := kmsg.NewListGroupsResponseGroup()
		sg.Group, sg.ProtocolType, sg.GroupState, sg.GroupType = l.Group, l.ProtocolType, l.State.String(), "classic"
		resp.Groups = append(resp.Groups, sg)
	}
	return ready(resp)
}
