package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/pitwall/pitwall/broker/brokertest"
)

func acls(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := aclsMain(t.Context(), args, &out, &errOut)
	return out.String(), err
}

// TestAclsAddListDelete: `pitwall acls` as kafka-acls.sh is used: a Write
// ACL on telemetry lets edge produce, list shows it, delete takes it away.
func TestAclsAddListDelete(t *testing.T) {
	b := brokertest.StartSecure(t, brokertest.Secure{Protocols: []string{"SASL_SSL"},
		Users:      map[string]string{"admin": "admin-Pw", "edge": "edge-Pw"},
		Authorizer: true, SuperUsers: []string{"User:admin"}})
	t.Setenv("PITWALL_SASL_PASSWORD", "admin-Pw")
	conn := []string{"--brokers", b.Addrs["SASL_SSL"], "--tls-ca", b.CA.File, "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "admin"}
	run := func(args ...string) string {
		t.Helper()
		out, err := acls(t, append(args, conn...)...)
		if err != nil {
			t.Fatalf("pitwall acls %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	produce := func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs["SASL_SSL"]), kgo.DialTLSConfig(b.CA.ClientTLS(t, "")),
			kgo.SASL(scram.Auth{User: "edge", Pass: "edge-Pw"}.AsSha256Mechanism()), kgo.AllowAutoTopicCreation())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Topic: "telemetry", Value: []byte("x")}).FirstErr()
	}
	if err := produce(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("edge without ACLs: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	run("add", "--allow-principal", "User:edge", "--operation", "Write", "--operation", "Create", "--topic", "telemetry")
	run("add", "--allow-principal", "User:processor", "--operation", "Read", "--topic", "telemetry", "--resource-pattern-type", "prefixed", "--group", "laps")
	if err := produce(); err != nil {
		t.Fatalf("edge with Write and Create on telemetry: %v", err)
	}
	// Any pattern type named telemetry: edge's two LITERAL ACLs and
	// processor's PREFIXED one.
	out := run("list", "--topic", "telemetry")
	want := [][]string{
		{"PRINCIPAL", "PERMISSION", "OPERATION", "HOST", "RESOURCE", "PATTERN", "NAME"},
		{"User:edge", "ALLOW", "CREATE", "*", "TOPIC", "LITERAL", "telemetry"},
		{"User:edge", "ALLOW", "WRITE", "*", "TOPIC", "LITERAL", "telemetry"},
		{"User:processor", "ALLOW", "READ", "*", "TOPIC", "PREFIXED", "telemetry"},
	}
	if got := fields(out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("list --topic telemetry:\n%s", out)
	}
	out = run("list", "--resource-pattern-type", "match", "--topic", "telemetry.channels")
	if !strings.Contains(out, "User:processor") || strings.Contains(out, "User:edge") {
		t.Fatalf("ACLs that apply to telemetry.channels:\n%s", out)
	}
	out = run("list", "--group", "laps")
	if !strings.Contains(out, "GROUP") || !strings.Contains(out, "laps") {
		t.Fatalf("list --group laps:\n%s", out)
	}
	out = run("delete", "--allow-principal", "User:edge", "--topic", "telemetry")
	if !strings.Contains(out, "deleted 2 ACLs") {
		t.Fatalf("delete:\n%s", out)
	}
	if err := produce(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("edge after its ACLs were deleted: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	for _, bad := range [][]string{
		{"add", "--topic", "t"},
		{"add", "--allow-principal", "edge", "--topic", "t"},
		{"add", "--allow-principal", "User:e", "--operation", "Fly", "--topic", "t"},
		{"delete"},
	} {
		if _, err := acls(t, bad...); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want a one-line error", bad, err)
		}
	}
}
