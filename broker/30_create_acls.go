package broker

// CreateAcls (key 30), versions 0-3.
//
// Stores ACLs (v0: LITERAL patterns only; v1+ LITERAL or PREFIXED; v2+
// flexible). Each creation is answered on its own: an invalid one (ANY or
// MATCH values, a principal not User:NAME, a cluster resource not
// kafka-cluster) gets INVALID_REQUEST and the valid ones are stored in one
// durable write. Needs ALTER on the cluster. Each ACL added is logged
// with who added it.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var createACLsAPI = api{key: 30, name: "CreateAcls", minVersion: 0, maxVersion: 3, handle: handleCreateACLs}

func handleCreateACLs(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.CreateACLsRequest)
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	allowed := c.mayCluster(kmsg.ACLOperationAlter)
	var valid []auth.ACL
	var at []int
	for i, cr := range req.Creations {
		resp.Results[i] = kmsg.NewCreateACLsResponseResult()
		if !allowed {
			resp.Results[i].ErrorCode = kerr.ClusterAuthorizationFailed.Code
			continue
		}
		pt := cr.ResourcePatternType
		if req.Version == 0 {
			pt = kmsg.ACLResourcePatternTypeLiteral
		}
		a := auth.ACL{Principal: cr.Principal, Host: cr.Host, ResourceType: cr.ResourceType, ResourceName: cr.ResourceName,
			PatternType: pt, Operation: cr.Operation, Permission: cr.PermissionType}
		if err := a.Validate(); err != nil {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = kerr.InvalidRequest.Code, errorMessage(err)
			continue
		}
		valid, at = append(valid, a), append(at, i)
	}
	if len(valid) == 0 {
		return ready(resp)
	}
	if err := c.s.sec.acls.Add(valid...); err != nil {
		c.s.log.Error("storing ACLs", "err", err)
		for _, i := range at {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = kerr.UnknownServerError.Code, errorMessage(err)
		}
		return ready(resp)
	}
	for _, a := range valid {
		c.adminLog("ACL added", "acl", a.String())
	}
	return ready(resp)
}
