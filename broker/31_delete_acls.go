package broker

// DeleteAcls (key 31), versions 0-3.
//
// Removes every stored ACL each filter matches (filters as DescribeAcls'),
// answering per filter with the ACLs it removed. Needs ALTER on the
// cluster. Each ACL removed is logged with who removed it.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var deleteACLsAPI = api{key: 31, name: "DeleteAcls", minVersion: 0, maxVersion: 3, handle: handleDeleteACLs}

func handleDeleteACLs(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DeleteACLsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	allowed := c.mayCluster(kmsg.ACLOperationAlter)
	var filters []auth.Filter
	var at []int
	for i, rf := range req.Filters {
		resp.Results[i] = kmsg.NewDeleteACLsResponseResult()
		if !allowed {
			resp.Results[i].ErrorCode = kerr.ClusterAuthorizationFailed.Code
			continue
		}
		pt := rf.ResourcePatternType
		if req.Version == 0 {
			pt = kmsg.ACLResourcePatternTypeLiteral
		}
		f, err := aclFilter(rf.ResourceType, rf.ResourceName, pt, rf.Principal, rf.Host, rf.Operation, rf.PermissionType)
		if err != nil {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = kerr.InvalidRequest.Code, errorMessage(err)
			continue
		}
		filters, at = append(filters, f), append(at, i)
	}
	if len(filters) == 0 {
		return ready(resp)
	}
	removed, err := c.s.sec.acls.Delete(filters...)
	for j, i := range at {
		if err != nil {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = kerr.UnknownServerError.Code, errorMessage(err)
			continue
		}
		for _, a := range removed[j] {
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName, m.ResourcePatternType = a.ResourceType, a.ResourceName, a.PatternType
			m.Principal, m.Host, m.Operation, m.PermissionType = a.Principal, a.Host, a.Operation, a.Permission
			resp.Results[i].MatchingACLs = append(resp.Results[i].MatchingACLs, m)
			c.adminLog("ACL deleted", "acl", a.String())
		}
	}
	if err != nil {
		c.s.log.Error("storing ACLs", "err", err)
	}
	return ready(resp)
}
