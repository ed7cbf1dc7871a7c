package admin

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACL is one access control entry in Kafka's model, with Kafka's enums.
// As a filter (ListACLs, DeleteACLs) an empty string and a zero enum match
// anything.
type ACL struct {
	Principal    string // "User:edge"
	Host         string // "*": any
	ResourceType kmsg.ACLResourceType
	ResourceName string
	PatternType  kmsg.ACLResourcePatternType
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// CreateACLs stores acls; the first refused one is the error.
func (c *SecurityClient) CreateACLs(ctx context.Context, acls []ACL) error {
	req := kmsg.NewPtrCreateACLsRequest()
	for _, a := range acls {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.Principal, cr.Host, cr.ResourceType, cr.ResourceName = a.Principal, a.Host, a.ResourceType, a.ResourceName
		cr.ResourcePatternType, cr.Operation, cr.PermissionType = a.PatternType, a.Operation, a.Permission
		req.Creations = append(req.Creations, cr)
	}
	resp, err := request[*kmsg.CreateACLsResponse](ctx, c, req)
	if err != nil {
		return err
	}
	for i, r := range resp.Results {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			if i < len(acls) {
				return fmt.Errorf("%s: %w", acls[i], err)
			}
			return err
		}
	}
	return nil
}

func (a ACL) String() string {
	return fmt.Sprintf("%s %s %s from %s on %s %s %s", a.Principal, a.Permission, a.Operation, a.Host, a.ResourceType, a.PatternType, a.ResourceName)
}

// filterFields are f's fields as a Kafka ACL filter: null strings and ANY
// enums for what f leaves empty.
func filterFields(f ACL) (principal, host, name *string, rt kmsg.ACLResourceType, pt kmsg.ACLResourcePatternType, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	rt, pt, op, perm = f.ResourceType, f.PatternType, f.Operation, f.Permission
	if rt == 0 {
		rt = kmsg.ACLResourceTypeAny
	}
	if pt == 0 {
		pt = kmsg.ACLResourcePatternTypeAny
	}
	if op == 0 {
		op = kmsg.ACLOperationAny
	}
	if perm == 0 {
		perm = kmsg.ACLPermissionTypeAny
	}
	return opt(f.Principal), opt(f.Host), opt(f.ResourceName), rt, pt, op, perm
}

// ListACLs returns the ACLs filter f matches, sorted.
func (c *SecurityClient) ListACLs(ctx context.Context, f ACL) ([]ACL, error) {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.Principal, req.Host, req.ResourceName, req.ResourceType, req.ResourcePatternType, req.Operation, req.PermissionType = filterFields(f)
	resp, err := request[*kmsg.DescribeACLsResponse](ctx, c, req)
	if err != nil {
		return nil, err
	}
	if err := codeErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	var out []ACL
	for _, r := range resp.Resources {
		for _, a := range r.ACLs {
			out = append(out, ACL{Principal: a.Principal, Host: a.Host, ResourceType: r.ResourceType, ResourceName: r.ResourceName,
				PatternType: r.ResourcePatternType, Operation: a.Operation, Permission: a.PermissionType})
		}
	}
	sortACLs(out)
	return out, nil
}

// DeleteACLs removes the ACLs filter f matches and returns them.
func (c *SecurityClient) DeleteACLs(ctx context.Context, f ACL) ([]ACL, error) {
	req := kmsg.NewPtrDeleteACLsRequest()
	df := kmsg.NewDeleteACLsRequestFilter()
	df.Principal, df.Host, df.ResourceName, df.ResourceType, df.ResourcePatternType, df.Operation, df.PermissionType = filterFields(f)
	req.Filters = append(req.Filters, df)
	resp, err := request[*kmsg.DeleteACLsResponse](ctx, c, req)
	if err != nil {
		return nil, err
	}
	var out []ACL
	for _, r := range resp.Results {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return nil, err
		}
		for _, m := range r.MatchingACLs {
			if err := codeErr(m.ErrorCode, m.ErrorMessage); err != nil {
				return nil, err
			}
			out = append(out, ACL{Principal: m.Principal, Host: m.Host, ResourceType: m.ResourceType, ResourceName: m.ResourceName,
				PatternType: m.ResourcePatternType, Operation: m.Operation, Permission: m.PermissionType})
		}
	}
	sortACLs(out)
	return out, nil
}

func sortACLs(acls []ACL) {
	sort.Slice(acls, func(i, j int) bool { return acls[i].String() < acls[j].String() })
}
