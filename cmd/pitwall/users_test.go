package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

// users runs `pitwall users args...` with stdin and returns what it
// printed.
func users(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := usersMain(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

// loginErr is the error of a Metadata request over SASL_SSL as user.
func loginErr(t *testing.T, b *brokertest.Broker, user, pass string) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs["SASL_SSL"]), kgo.DialTLSConfig(b.CA.ClientTLS(t, "")),
		kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err
}

// TestUsersOfflineThenOnline: the first admin is made offline in a data
// directory (refused while a broker holds it); the broker started on it
// lets admin in; admin then adds, lists and deletes users through the
// Kafka API with the shared client flags, and a deleted user is refused.
func TestUsersOfflineThenOnline(t *testing.T) {
	dir := t.TempDir()
	const adminPW, edgePW = "admin-Pw-7x", "edge-Pw-9y"
	out, err := users(t, adminPW+"\n", "add", "admin", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "SCRAM-SHA-256 and SCRAM-SHA-512 credentials of user admin") {
		t.Fatalf("offline add: %q, %v", out, err)
	}
	if _, err := users(t, "", "add", "nopw", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "empty password") {
		t.Fatalf("add without a password: %v", err)
	}
	out, err = users(t, "", "list", "--data-dir", dir)
	if err != nil || len(fields(out)) != 3 || fields(out)[1][0] != "admin" {
		t.Fatalf("offline list:\n%s%v", out, err)
	}

	b := brokertest.StartSecure(t, brokertest.Secure{Config: broker.Config{DataDir: dir}, Protocols: []string{"SASL_SSL"},
		Authorizer: true, SuperUsers: []string{"User:admin"}})
	if _, err := users(t, "x\n", "add", "late", "--data-dir", dir); !errors.Is(err, broker.ErrDataDirInUse) {
		t.Fatalf("offline add on a running broker's directory: %v, want ErrDataDirInUse", err)
	}
	if err := loginErr(t, b, "admin", adminPW); err != nil {
		t.Fatalf("admin made offline cannot log in: %v", err)
	}

	t.Setenv("PITWALL_SASL_PASSWORD", adminPW)
	online := []string{"--brokers", b.Addrs["SASL_SSL"], "--tls-ca", b.CA.File, "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "admin"}
	if out, err := users(t, edgePW+"\n", append([]string{"add", "edge", "--mechanism", "SCRAM-SHA-512"}, online...)...); err != nil {
		t.Fatalf("online add: %q %v", out, err)
	}
	if err := loginErr(t, b, "edge", edgePW); err != nil {
		t.Fatalf("edge added online cannot log in: %v", err)
	}
	out, err = users(t, "", append([]string{"list"}, online...)...)
	if err != nil {
		t.Fatal(err)
	}
	rows := fields(out)
	if len(rows) != 4 || rows[1][0] != "admin" || rows[3][0] != "edge" || rows[3][1] != "SCRAM-SHA-512" || rows[3][2] != "4096" {
		t.Fatalf("online list:\n%s", out)
	}
	if _, err := users(t, "", append([]string{"delete", "edge"}, online...)...); err != nil {
		t.Fatalf("online delete: %v", err)
	}
	if err := loginErr(t, b, "edge", edgePW); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("deleted user logging in: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	// edge may not manage users.
	if _, err := users(t, edgePW+"\n", append([]string{"add", "edge"}, online...)...); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PITWALL_SASL_PASSWORD", edgePW)
	asEdge := append([]string{"add", "mallory"}, online[:6]...)
	asEdge = append(asEdge, "--sasl-user", "edge")
	if _, err := users(t, "x\n", asEdge...); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("edge adding a user: %v, want CLUSTER_AUTHORIZATION_FAILED", err)
	}
}

// TestUsersFlagErrors: mistakes are one-line errors.
func TestUsersFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "x"}, "want one of --data-dir"},
		{[]string{"add", "x", "--data-dir", "d", "--brokers", "b:1"}, "want one of --data-dir"},
		{[]string{"add", "--data-dir", "d"}, "exactly one user name"},
		{[]string{"add", "x", "--mechanism", "MD5", "--data-dir", "d"}, "--mechanism"},
		{[]string{"rename", "x", "--data-dir", "d"}, "unknown action"},
	} {
		_, err := users(t, "pw\n", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", tc.args, err, tc.want)
		}
	}
}
