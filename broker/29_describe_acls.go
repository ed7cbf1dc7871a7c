package broker

// DescribeAcls (key 29), versions 0-3.
//
// Lists the stored ACLs a filter matches, grouped by resource. v0 has no
// pattern type (LITERAL); v1+ filters by LITERAL, PREFIXED, ANY or MATCH
// (the ACLs that apply to a named resource), v2+ is flexible. Needs
// DESCRIBE on the cluster. The ACLs are kept (and answered) whether or
// not the authorizer is on.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var describeACLsAPI = api{key: 29, name: "DescribeAcls", minVersion: 0, maxVersion: 3, handle: handleDescribeACLs}

func handleDescribeACLs(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.DescribeACLsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	if !c.mayCluster(kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return ready(resp)
	}
	pt := req.ResourcePatternType
	if req.Version == 0 {
		pt = kmsg.ACLResourcePatternTypeLiteral
	}
	f, err := aclFilter(req.ResourceType, req.ResourceName, pt, req.Principal, req.Host, req.Operation, req.PermissionType)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = kerr.InvalidRequest.Code, errorMessage(err)
		return ready(resp)
	}
	type key struct {
		rt   kmsg.ACLResourceType
		name string
		pt   kmsg.ACLResourcePatternType
	}
	index := map[key]int{}
	for _, a := range c.s.sec.acls.Describe(f) {
		k := key{a.ResourceType, a.ResourceName, a.PatternType}
		i, ok := index[k]
		if !ok {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName, r.ResourcePatternType = k.rt, k.name, k.pt
			resp.Resources = append(resp.Resources, r)
			i = len(resp.Resources) - 1
			index[k] = i
		}
		ra := kmsg.NewDescribeACLsResponseResourceACL()
		ra.Principal, ra.Host, ra.Operation, ra.PermissionType = a.Principal, a.Host, a.Operation, a.Permission
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, ra)
	}
	return ready(resp)
}

// aclFilter checks the fields of a DescribeAcls or DeleteAcls filter.
func aclFilter(rt kmsg.ACLResourceType, name *string, pt kmsg.ACLResourcePatternType, principal, host *string,
	op kmsg.ACLOperation, perm kmsg.ACLPermissionType) (auth.Filter, error) {
	switch {
	case rt < kmsg.ACLResourceTypeAny || rt > kmsg.ACLResourceTypeUser:
		return auth.Filter{}, fmt.Errorf("unknown resource type %d", rt)
	case pt < kmsg.ACLResourcePatternTypeAny || pt > kmsg.ACLResourcePatternTypePrefixed:
		return auth.Filter{}, fmt.Errorf("unknown pattern type %d", pt)
	case op < kmsg.ACLOperationAny || op > kmsg.ACLOperationDescribeTokens:
		return auth.Filter{}, fmt.Errorf("unknown operation %d", op)
	case perm < kmsg.ACLPermissionTypeAny || perm > kmsg.ACLPermissionTypeAllow:
		return auth.Filter{}, fmt.Errorf("unknown permission type %d", perm)
	}
	return auth.Filter{Principal: deref(principal), Host: deref(host), ResourceType: rt, ResourceName: deref(name),
		PatternType: pt, Operation: op, Permission: perm}, nil
}
