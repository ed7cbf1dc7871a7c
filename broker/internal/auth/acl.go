package auth

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACL is one access control entry in Kafka's model: Principal may (ALLOW)
// or may not (DENY) perform Operation on the resources its ResourceType,
// ResourceName and PatternType name, from Host ("*": any host). The enums
// are Kafka's (kmsg's), so requests and responses carry them as they are.
type ACL struct {
	Principal    string                      `json:"principal"`
	Host         string                      `json:"host"`
	ResourceType kmsg.ACLResourceType        `json:"resource_type"`
	ResourceName string                      `json:"resource_name"`
	PatternType  kmsg.ACLResourcePatternType `json:"pattern_type"`
	Operation    kmsg.ACLOperation           `json:"operation"`
	Permission   kmsg.ACLPermissionType      `json:"permission"`
}

func (a ACL) String() string {
	return fmt.Sprintf("%s %s %s from %s on %s:%s:%s", a.Principal, a.Permission, a.Operation, a.Host, a.ResourceType, a.PatternType, a.ResourceName)
}

// Wildcards: "*" names every resource, every host, or (User:*) every
// principal.
const (
	Wildcard          = "*"
	WildcardPrincipal = "User:*"
	// ClusterName is the name of the one CLUSTER resource.
	ClusterName = "kafka-cluster"
)

// ParsePrincipal checks a principal "User:NAME" and returns NAME.
func ParsePrincipal(p string) (string, error) {
	typ, name, ok := strings.Cut(p, ":")
	if !ok || typ != "User" || name == "" {
		return "", fmt.Errorf("auth: principal %q is not User:NAME", p)
	}
	return name, nil
}

// Validate checks a new ACL as CreateAcls must: concrete values (no ANY
// or MATCH), a known principal form, a pattern a resource can have.
func (a ACL) Validate() error {
	switch {
	case a.ResourceType < kmsg.ACLResourceTypeTopic || a.ResourceType > kmsg.ACLResourceTypeTransactionalId:
		return fmt.Errorf("auth: resource type %s is not TOPIC, GROUP, CLUSTER or TRANSACTIONAL_ID", a.ResourceType)
	case a.PatternType != kmsg.ACLResourcePatternTypeLiteral && a.PatternType != kmsg.ACLResourcePatternTypePrefixed:
		return fmt.Errorf("auth: pattern type %s is not LITERAL or PREFIXED", a.PatternType)
	case a.Operation < kmsg.ACLOperationAll || a.Operation > kmsg.ACLOperationIdempotentWrite:
		return fmt.Errorf("auth: operation %s cannot be granted", a.Operation)
	case a.Permission != kmsg.ACLPermissionTypeAllow && a.Permission != kmsg.ACLPermissionTypeDeny:
		return fmt.Errorf("auth: permission %s is not ALLOW or DENY", a.Permission)
	case a.ResourceName == "":
		return fmt.Errorf("auth: empty resource name")
	case a.Host == "":
		return fmt.Errorf("auth: empty host (use *)")
	case a.ResourceType == kmsg.ACLResourceTypeCluster && (a.ResourceName != ClusterName || a.PatternType != kmsg.ACLResourcePatternTypeLiteral):
		return fmt.Errorf("auth: the cluster resource is LITERAL %s", ClusterName)
	case a.PatternType == kmsg.ACLResourcePatternTypePrefixed && a.ResourceName == Wildcard:
		return fmt.Errorf("auth: a PREFIXED pattern cannot be *")
	}
	_, err := ParsePrincipal(a.Principal)
	return err
}

// Filter selects ACLs, as DescribeAcls and DeleteAcls filters do: an empty
// string or an ANY enum matches everything; PatternType MATCH matches the
// ACLs that would apply to the named resource (literal equal, literal *,
// or a prefix of it).
type Filter struct {
	Principal    string
	Host         string
	ResourceType kmsg.ACLResourceType
	ResourceName string
	PatternType  kmsg.ACLResourcePatternType
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// Matches says whether f selects a.
func (f Filter) Matches(a ACL) bool {
	if f.Principal != "" && f.Principal != a.Principal ||
		f.Host != "" && f.Host != a.Host ||
		f.ResourceType != kmsg.ACLResourceTypeAny && f.ResourceType != a.ResourceType ||
		f.Operation != kmsg.ACLOperationAny && f.Operation != a.Operation ||
		f.Permission != kmsg.ACLPermissionTypeAny && f.Permission != a.Permission {
		return false
	}
	switch f.PatternType {
	case kmsg.ACLResourcePatternTypeAny:
		return f.ResourceName == "" || f.ResourceName == a.ResourceName
	case kmsg.ACLResourcePatternTypeMatch:
		return f.ResourceName == "" || patternApplies(a, f.ResourceName)
	default:
		return f.PatternType == a.PatternType && (f.ResourceName == "" || f.ResourceName == a.ResourceName)
	}
}

// patternApplies says whether a's resource pattern covers the resource
// named name.
func patternApplies(a ACL, name string) bool {
	if a.PatternType == kmsg.ACLResourcePatternTypePrefixed {
		return strings.HasPrefix(name, a.ResourceName)
	}
	return a.ResourceName == name || a.ResourceName == Wildcard
}

// Request is what a client asks to do, for Authorize.
type Request struct {
	Principal    string
	Host         string
	Operation    kmsg.ACLOperation
	ResourceType kmsg.ACLResourceType
	ResourceName string
}

// Authorize decides req against acls, as Kafka's AclAuthorizer does: a
// super user may do anything; otherwise a matching DENY (of the operation
// or ALL) wins over any ALLOW, and without a matching ALLOW the answer is
// no. An ALLOW of the operation or of ALL matches, and so do Kafka's
// implications: READ, WRITE, DELETE or ALTER allow DESCRIBE, and
// ALTER_CONFIGS allows DESCRIBE_CONFIGS.
func Authorize(acls []ACL, superUsers []string, req Request) bool {
	for _, su := range superUsers {
		if su == req.Principal {
			return true
		}
	}
	allowed := false
	for _, a := range acls {
		if a.ResourceType != req.ResourceType ||
			a.Principal != req.Principal && a.Principal != WildcardPrincipal ||
			a.Host != Wildcard && a.Host != req.Host ||
			!patternApplies(a, req.ResourceName) {
			continue
		}
		switch a.Permission {
		case kmsg.ACLPermissionTypeDeny:
			if a.Operation == req.Operation || a.Operation == kmsg.ACLOperationAll {
				return false
			}
		case kmsg.ACLPermissionTypeAllow:
			allowed = allowed || implies(a.Operation, req.Operation)
		}
	}
	return allowed
}

// implies says whether being allowed granted lets one do op.
func implies(granted, op kmsg.ACLOperation) bool {
	switch {
	case granted == op, granted == kmsg.ACLOperationAll:
		return true
	case op == kmsg.ACLOperationDescribe:
		switch granted {
		case kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter:
			return true
		}
	case op == kmsg.ACLOperationDescribeConfigs:
		return granted == kmsg.ACLOperationAlterConfigs
	}
	return false
}

// ACLs is the ACL store: acls.json under SecurityDir, rewritten whole
// (durably) on every change, and the authorizer over it with the super
// users. Its methods are safe for concurrent use; Authorize reads a
// snapshot without locking.
type ACLs struct {
	path       string
	superUsers []string
	mu         sync.Mutex // serialises changes
	list       atomic.Pointer[[]ACL]
}

// OpenACLs reads DIR/security/acls.json, if it exists.
func OpenACLs(dataDir string, superUsers []string) (*ACLs, error) {
	s := &ACLs{path: filepath.Join(dataDir, SecurityDir, "acls.json"), superUsers: superUsers}
	var list []ACL
	if err := readJSON(s.path, &list); err != nil {
		return nil, err
	}
	s.list.Store(&list)
	return s, nil
}

// Authorize decides req against the stored ACLs and the super users.
func (s *ACLs) Authorize(req Request) bool {
	return Authorize(*s.list.Load(), s.superUsers, req)
}

// Describe returns the ACLs f matches.
func (s *ACLs) Describe(f Filter) []ACL {
	var out []ACL
	for _, a := range *s.list.Load() {
		if f.Matches(a) {
			out = append(out, a)
		}
	}
	return out
}

// Add stores the ACLs (each validated first; one already present is not
// added twice). Nothing is stored if any is invalid or the write fails.
func (s *ACLs) Add(acls ...ACL) error {
	for _, a := range acls {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.list.Load()
	next := append([]ACL(nil), old...)
	for _, a := range acls {
		dup := false
		for _, b := range next {
			dup = dup || a == b
		}
		if !dup {
			next = append(next, a)
		}
	}
	return s.saveLocked(next)
}

// Delete removes every ACL any of the filters match and returns, per
// filter, the ACLs it removed.
func (s *ACLs) Delete(filters ...Filter) ([][]ACL, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := make([][]ACL, len(filters))
	var next []ACL
	for _, a := range *s.list.Load() {
		keep := true
		for i, f := range filters {
			if f.Matches(a) {
				removed[i] = append(removed[i], a)
				keep = false
			}
		}
		if keep {
			next = append(next, a)
		}
	}
	if len(next) == len(*s.list.Load()) {
		return removed, nil
	}
	if next == nil {
		next = []ACL{}
	}
	return removed, s.saveLocked(next)
}

func (s *ACLs) saveLocked(next []ACL) error {
	if err := writeJSON(s.path, next); err != nil {
		return err
	}
	s.list.Store(&next)
	return nil
}

// AllowsAny says whether req's principal is allowed req's operation on
// some resource of req's type (req.ResourceName is ignored): Kafka's
// test for an idempotent producer without IDEMPOTENT_WRITE on the cluster,
// which may still produce if it may WRITE some topic. A super user may.
// An ALLOW counts unless a DENY of the operation (or ALL) covers the very
// same pattern.
func (s *ACLs) AllowsAny(req Request) bool {
	for _, su := range s.superUsers {
		if su == req.Principal {
			return true
		}
	}
	acls := *s.list.Load()
	for _, a := range acls {
		if a.Permission != kmsg.ACLPermissionTypeAllow || a.ResourceType != req.ResourceType ||
			a.Principal != req.Principal && a.Principal != WildcardPrincipal ||
			a.Host != Wildcard && a.Host != req.Host || !implies(a.Operation, req.Operation) {
			continue
		}
		r := req
		r.ResourceName = a.ResourceName
		if a.PatternType == kmsg.ACLResourcePatternTypeLiteral && a.ResourceName == Wildcard || Authorize(acls, nil, r) {
			return true
		}
	}
	return false
}
