package auth

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func allow(principal string, rt kmsg.ACLResourceType, name string, pt kmsg.ACLResourcePatternType, op kmsg.ACLOperation) ACL {
	return ACL{Principal: principal, Host: "*", ResourceType: rt, ResourceName: name, PatternType: pt, Operation: op, Permission: kmsg.ACLPermissionTypeAllow}
}

func deny(a ACL) ACL { a.Permission = kmsg.ACLPermissionTypeDeny; return a }

const (
	topic   = kmsg.ACLResourceTypeTopic
	grp     = kmsg.ACLResourceTypeGroup
	cluster = kmsg.ACLResourceTypeCluster
	literal = kmsg.ACLResourcePatternTypeLiteral
	prefix  = kmsg.ACLResourcePatternTypePrefixed
	read    = kmsg.ACLOperationRead
	write   = kmsg.ACLOperationWrite
	descr   = kmsg.ACLOperationDescribe
)

// TestAuthorize: Kafka's rules, case by case.
func TestAuthorize(t *testing.T) {
	edgeWrite := allow("User:edge", topic, "telemetry", literal, write)
	procRead := allow("User:processor", topic, "telemetry", prefix, read)
	for _, tc := range []struct {
		name  string
		acls  []ACL
		super []string
		req   Request
		want  bool
	}{
		{"no ACLs: denied", nil, nil, Request{"User:edge", "127.0.0.1", write, topic, "telemetry"}, false},
		{"super user", nil, []string{"User:admin"}, Request{"User:admin", "127.0.0.1", kmsg.ACLOperationDelete, topic, "telemetry"}, true},
		{"literal allow", []ACL{edgeWrite}, nil, Request{"User:edge", "h", write, topic, "telemetry"}, true},
		{"literal does not cover others", []ACL{edgeWrite}, nil, Request{"User:edge", "h", write, topic, "telemetry.channels"}, false},
		{"write does not give read", []ACL{edgeWrite}, nil, Request{"User:edge", "h", read, topic, "telemetry"}, false},
		{"write implies describe", []ACL{edgeWrite}, nil, Request{"User:edge", "h", descr, topic, "telemetry"}, true},
		{"read implies describe", []ACL{procRead}, nil, Request{"User:processor", "h", descr, topic, "telemetry.laps"}, true},
		{"describe implies nothing", []ACL{allow("User:x", topic, "t", literal, descr)}, nil, Request{"User:x", "h", read, topic, "t"}, false},
		{"alter_configs implies describe_configs", []ACL{allow("User:x", topic, "t", literal, kmsg.ACLOperationAlterConfigs)}, nil,
			Request{"User:x", "h", kmsg.ACLOperationDescribeConfigs, topic, "t"}, true},
		{"prefixed covers the prefix", []ACL{procRead}, nil, Request{"User:processor", "h", read, topic, "telemetry"}, true},
		{"prefixed covers longer names", []ACL{procRead}, nil, Request{"User:processor", "h", read, topic, "telemetry.channels"}, true},
		{"prefixed not others", []ACL{procRead}, nil, Request{"User:processor", "h", read, topic, "tele"}, false},
		{"other principal", []ACL{procRead}, nil, Request{"User:edge", "h", read, topic, "telemetry"}, false},
		{"wildcard principal", []ACL{allow("User:*", topic, "public", literal, read)}, nil, Request{"User:anyone", "h", read, topic, "public"}, true},
		{"wildcard resource", []ACL{allow("User:x", topic, "*", literal, read)}, nil, Request{"User:x", "h", read, topic, "anything"}, true},
		{"all operations", []ACL{allow("User:x", grp, "g", literal, kmsg.ACLOperationAll)}, nil, Request{"User:x", "h", kmsg.ACLOperationDelete, grp, "g"}, true},
		{"resource type must match", []ACL{allow("User:x", topic, "g", literal, read)}, nil, Request{"User:x", "h", read, grp, "g"}, false},
		{"deny wins", []ACL{procRead, deny(allow("User:processor", topic, "telemetry.secret", literal, read))}, nil,
			Request{"User:processor", "h", read, topic, "telemetry.secret"}, false},
		{"deny of read leaves describe", []ACL{procRead, deny(allow("User:processor", topic, "telemetry.secret", literal, read))}, nil,
			Request{"User:processor", "h", descr, topic, "telemetry.secret"}, true},
		{"deny all", []ACL{procRead, deny(allow("User:*", topic, "telemetry", prefix, kmsg.ACLOperationAll))}, nil,
			Request{"User:processor", "h", read, topic, "telemetry"}, false},
		{"deny does not bind super users", []ACL{deny(allow("User:admin", topic, "t", literal, kmsg.ACLOperationAll))}, []string{"User:admin"},
			Request{"User:admin", "h", read, topic, "t"}, true},
		{"host must match", []ACL{{Principal: "User:x", Host: "10.0.0.1", ResourceType: topic, ResourceName: "t", PatternType: literal, Operation: read, Permission: kmsg.ACLPermissionTypeAllow}}, nil,
			Request{"User:x", "127.0.0.1", read, topic, "t"}, false},
		{"host matches", []ACL{{Principal: "User:x", Host: "127.0.0.1", ResourceType: topic, ResourceName: "t", PatternType: literal, Operation: read, Permission: kmsg.ACLPermissionTypeAllow}}, nil,
			Request{"User:x", "127.0.0.1", read, topic, "t"}, true},
		{"cluster", []ACL{allow("User:x", cluster, ClusterName, literal, kmsg.ACLOperationCreate)}, nil,
			Request{"User:x", "h", kmsg.ACLOperationCreate, cluster, ClusterName}, true},
	} {
		if got := Authorize(tc.acls, tc.super, tc.req); got != tc.want {
			t.Errorf("%s: Authorize = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFilterMatches: DescribeAcls/DeleteAcls filters, MATCH included.
func TestFilterMatches(t *testing.T) {
	lit := allow("User:edge", topic, "telemetry", literal, write)
	pre := allow("User:processor", topic, "telemetry", prefix, read)
	any := kmsg.ACLResourcePatternTypeAny
	for _, tc := range []struct {
		f    Filter
		a    ACL
		want bool
	}{
		{Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: any, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}, lit, true},
		{Filter{ResourceType: topic, ResourceName: "telemetry", PatternType: literal, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}, pre, false},
		{Filter{ResourceType: topic, ResourceName: "telemetry.x", PatternType: kmsg.ACLResourcePatternTypeMatch, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}, pre, true},
		{Filter{ResourceType: topic, ResourceName: "telemetry.x", PatternType: kmsg.ACLResourcePatternTypeMatch, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}, lit, false},
		{Filter{ResourceType: kmsg.ACLResourceTypeAny, Principal: "User:edge", PatternType: any, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}, pre, false},
		{Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: any, Operation: write, Permission: kmsg.ACLPermissionTypeAny}, lit, true},
		{Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: any, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeDeny}, lit, false},
	} {
		if got := tc.f.Matches(tc.a); got != tc.want {
			t.Errorf("%+v matches %v = %v, want %v", tc.f, tc.a, got, tc.want)
		}
	}
}

// TestACLsStore: Add validates, skips duplicates, persists; Delete
// removes what filters match; a reopened store has the same ACLs.
func TestACLsStore(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenACLs(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := allow("edge", topic, "t", literal, read) // principal without User:
	if err := s.Add(bad); err == nil {
		t.Fatal("an ACL with principal edge was stored")
	}
	a := allow("User:edge", topic, "t", literal, write)
	if err := s.Add(a, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(a); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenACLs(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	if got := s2.Describe(all); len(got) != 1 || got[0] != a {
		t.Fatalf("reopened store holds %v, want [%v]", got, a)
	}
	if !s2.Authorize(Request{"User:edge", "h", write, topic, "t"}) || s2.Authorize(Request{"User:edge", "h", read, topic, "t"}) {
		t.Error("reopened store decides differently")
	}
	removed, err := s2.Delete(all)
	if err != nil || len(removed[0]) != 1 {
		t.Fatalf("Delete: %v %v", removed, err)
	}
	s3, _ := OpenACLs(dir, nil)
	if got := s3.Describe(all); len(got) != 0 {
		t.Fatalf("after Delete the store holds %v", got)
	}
}
