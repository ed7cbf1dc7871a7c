package broker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/brokertest"
)

// aclBroker is a broker with the ACL authorizer on, admin a super user,
// and users edge and processor, reached over SASL_SSL.
type aclBroker struct {
	*brokertest.Broker
	logs *syncBuffer
}

func startACLBroker(t *testing.T) *aclBroker {
	b, logs := startSecure(t, brokertest.Secure{
		Users:      map[string]string{"admin": secret, "edge": "edge-" + secret, "processor": "proc-" + secret},
		Authorizer: true, SuperUsers: []string{"User:admin"},
		Protocols: []string{"SASL_SSL"},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", logs)
		}
	})
	return &aclBroker{b, logs}
}

func (b *aclBroker) client(t *testing.T, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newKgo(t, b.Addrs["SASL_SSL"], append([]kgo.Opt{kgo.DialTLSConfig(b.CA.ClientTLS(t, "")), scram256(user, pass)}, opts...)...)
}

func createACL(principal string, rt kmsg.ACLResourceType, name string, pt kmsg.ACLResourcePatternType, op kmsg.ACLOperation) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.Principal, c.Host, c.ResourceType, c.ResourceName, c.ResourcePatternType = principal, "*", rt, name, pt
	c.Operation, c.PermissionType = op, kmsg.ACLPermissionTypeAllow
	return c
}

// addACLs stores acls through cl (which must be allowed to).
func addACLs(t *testing.T, cl *kgo.Client, acls ...kmsg.CreateACLsRequestCreation) {
	t.Helper()
	req := kmsg.NewPtrCreateACLsRequest()
	req.Creations = acls
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Results {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			t.Fatalf("CreateAcls: %v %s", err, deref(r.ErrorMessage))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// metadataTopics are the topics Metadata for all topics shows cl.
func metadataTopics(t *testing.T, cl *kgo.Client) []string {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mt := range resp.Topics {
		names = append(names, deref(mt.Topic))
	}
	return names
}

// TestACLsLeastPrivilege: with the authorizer on, a user with WRITE on
// telemetry produces to it but can neither read nor delete it nor create
// topics; a prefixed READ on "telemetry" lets another read telemetry and
// telemetry.channels in its group, but join no other group; Metadata
// shows each only what it may describe; denials are logged with the
// principal, once a minute per principal, operation and resource.
func TestACLsLeastPrivilege(t *testing.T) {
	b := startACLBroker(t)
	ctx := testCtx(t)
	admin := b.client(t, "admin", secret)
	for _, name := range []string{"telemetry", "telemetry.channels", "secret-topic"} {
		mustCreate(t, admin, name, 2, nil)
	}
	addACLs(t, admin,
		createACL("User:edge", kmsg.ACLResourceTypeTopic, "telemetry", kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationWrite),
		createACL("User:processor", kmsg.ACLResourceTypeTopic, "telemetry", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationRead),
		createACL("User:processor", kmsg.ACLResourceTypeGroup, "laps", kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationRead),
	)
	for _, topic := range []string{"telemetry", "telemetry.channels"} {
		if err := admin.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("car1"), Value: []byte("from admin to " + topic)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	edge := b.client(t, "edge", "edge-"+secret, kgo.RequestRetries(0))
	if err := edge.ProduceSync(ctx, &kgo.Record{Topic: "telemetry", Key: []byte("car1"), Value: []byte("from edge")}).FirstErr(); err != nil {
		t.Fatalf("edge writing telemetry: %v", err)
	}
	// Reading it: every partition TOPIC_AUTHORIZATION_FAILED.
	fetch := kmsg.NewPtrFetchRequest()
	fetch.SetVersion(11)
	fetch.MaxBytes, fetch.MaxWaitMillis = 1<<20, 10
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "telemetry"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fr, err := fetch.RequestWith(ctx, edge)
	if err != nil {
		t.Fatal(err)
	}
	if code := fr.Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("edge fetching telemetry: error %d, want TOPIC_AUTHORIZATION_FAILED", code)
	}
	// Deleting it.
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"telemetry"}
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr("telemetry")
	del.Topics = append(del.Topics, dt)
	dr, err := del.RequestWith(ctx, edge)
	if err != nil {
		t.Fatal(err)
	}
	if code := dr.Topics[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
		t.Errorf("edge deleting telemetry: error %d, want TOPIC_AUTHORIZATION_FAILED", code)
	}
	// Creating a topic by producing to it.
	err = edge.ProduceSync(ctx, &kgo.Record{Topic: "new-topic", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("edge producing to a new topic: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if got := strings.Join(metadataTopics(t, edge), ","); got != "telemetry" {
		t.Errorf("edge's Metadata lists %q, want telemetry only", got)
	}

	proc := b.client(t, "processor", "proc-"+secret, kgo.ConsumeTopics("telemetry", "telemetry.channels"), kgo.ConsumerGroup("laps"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]bool{}
	for !seen["telemetry"] || !seen["telemetry.channels"] {
		fs := proc.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("processor reading: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) { seen[r.Topic] = true })
	}
	if err := proc.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("processor committing in its group: %v", err)
	}
	got := strings.Join(metadataTopics(t, proc), ",")
	if !strings.Contains(got, "telemetry") || !strings.Contains(got, "telemetry.channels") || strings.Contains(got, "secret") {
		t.Errorf("processor's Metadata lists %q, want telemetry and telemetry.channels only", got)
	}

	// A group it has no ACL for.
	other := b.client(t, "processor", "proc-"+secret)
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "other", "consumer", 30000, 30000
	jp := kmsg.NewJoinGroupRequestProtocol()
	jp.Name, jp.Metadata = "range", []byte{0, 0, 0, 0, 0, 0}
	join.Protocols = append(join.Protocols, jp)
	// Through kgo, which asks FindCoordinator first: refused there.
	if _, err := join.RequestWith(ctx, other); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Errorf("processor joining group other through kgo: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}
	// Straight to the broker: JoinGroup itself refuses.
	kjr, err := other.Broker(0).Request(ctx, join)
	if err != nil {
		t.Fatal(err)
	}
	if jr := kjr.(*kmsg.JoinGroupResponse); jr.ErrorCode != kerr.GroupAuthorizationFailed.Code {
		t.Errorf("processor joining group other: error %d, want GROUP_AUTHORIZATION_FAILED", jr.ErrorCode)
	}
	// Nor may it change the ACLs.
	cr := kmsg.NewPtrCreateACLsRequest()
	cr.Creations = append(cr.Creations, createACL("User:processor", kmsg.ACLResourceTypeCluster, "kafka-cluster", kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationAll))
	crr, err := cr.RequestWith(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if code := crr.Results[0].ErrorCode; code != kerr.ClusterAuthorizationFailed.Code {
		t.Errorf("processor creating an ACL: error %d, want CLUSTER_AUTHORIZATION_FAILED", code)
	}

	logs := b.logs.String()
	for _, want := range []string{
		`principal=User:edge operation=READ resource=TOPIC:telemetry`,
		`principal=User:edge operation=DELETE resource=TOPIC:telemetry`,
		`principal=User:processor operation=READ resource=GROUP:other`,
		`msg="ACL added" acl="User:processor ALLOW READ from * on TOPIC:PREFIXED:telemetry" principal=User:admin`,
		`msg="topic created by request" topic=telemetry principal=User:admin`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if n := metric(t, b.Broker, "pitwall_broker_authorization_denied_total"); n < 4 {
		t.Errorf("pitwall_broker_authorization_denied_total = %v, want ≥ 4", n)
	}
}

// TestACLsDenialsLoggedSparsely: a client denied again and again is
// logged once (per principal, operation and resource, per minute), and
// counted every time.
func TestACLsDenialsLoggedSparsely(t *testing.T) {
	b := startACLBroker(t)
	mustCreate(t, b.client(t, "admin", secret), "telemetry", 1, nil)
	edge := b.client(t, "edge", "edge-"+secret)
	for range 20 {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "telemetry"
		rt.Partitions = append(rt.Partitions, kmsg.NewListOffsetsRequestTopicPartition())
		req.Topics = append(req.Topics, rt)
		// Straight to the broker: kgo would first ask Metadata, which
		// hides the topic.
		kresp, err := edge.Broker(0).Request(testCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		resp := kresp.(*kmsg.ListOffsetsResponse)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
			t.Fatalf("ListOffsets without DESCRIBE: error %d", code)
		}
	}
	if n := strings.Count(b.logs.String(), "operation=DESCRIBE resource=TOPIC:telemetry"); n != 1 {
		t.Errorf("20 denials logged %d times, want once", n)
	}
	if n := metric(t, b.Broker, "pitwall_broker_authorization_denied_total"); n < 20 {
		t.Errorf("pitwall_broker_authorization_denied_total = %v, want ≥ 20", n)
	}
}

// TestACLsDurable: ACLs and users survive a restart; DescribeAcls and
// DeleteAcls filter as Kafka's do.
func TestACLsDurable(t *testing.T) {
	b := startACLBroker(t)
	admin := b.client(t, "admin", secret)
	addACLs(t, admin,
		createACL("User:edge", kmsg.ACLResourceTypeTopic, "telemetry", kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationWrite),
		createACL("User:processor", kmsg.ACLResourceTypeTopic, "telemetry", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationRead),
	)
	admin.Close()
	b.Restart(t)
	// Restart keeps the address; new clients log in with the same users.
	admin = b.client(t, "admin", secret)
	describe := func(pt kmsg.ACLResourcePatternType, name string) int {
		req := kmsg.NewPtrDescribeACLsRequest()
		req.ResourceType, req.ResourcePatternType, req.ResourceName = kmsg.ACLResourceTypeTopic, pt, kmsg.StringPtr(name)
		req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		resp, err := req.RequestWith(testCtx(t), admin)
		if err != nil {
			t.Fatalf("DescribeAcls: %v", err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("DescribeAcls: error %d", resp.ErrorCode)
		}
		n := 0
		for _, r := range resp.Resources {
			n += len(r.ACLs)
		}
		return n
	}
	if n := describe(kmsg.ACLResourcePatternTypeMatch, "telemetry.channels"); n != 1 {
		t.Errorf("ACLs matching telemetry.channels after restart: %d, want 1 (the prefixed READ)", n)
	}
	if n := describe(kmsg.ACLResourcePatternTypeMatch, "telemetry"); n != 2 {
		t.Errorf("ACLs matching telemetry after restart: %d, want 2", n)
	}
	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType, f.Principal = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.StringPtr("User:edge")
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	del.Filters = append(del.Filters, f)
	resp, err := del.RequestWith(testCtx(t), admin)
	if err != nil || len(resp.Results) != 1 || len(resp.Results[0].MatchingACLs) != 1 {
		t.Fatalf("DeleteAcls: %v %+v", err, resp)
	}
	if n := describe(kmsg.ACLResourcePatternTypeAny, ""); n != 1 {
		t.Errorf("%d ACLs left, want 1", n)
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	if err := b.client(t, "edge", "edge-"+secret).ProduceSync(ctx, &kgo.Record{Topic: "telemetry", Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("edge producing after its ACL was deleted: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
}
