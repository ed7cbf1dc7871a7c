package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/simulator"
)

// pitwall topics, groups and laps speak SASL_SSL (the password from
// $PITWALL_SASL_PASSWORD or --sasl-password-file) and mutual TLS with the
// client flags; a wrong password fails with Kafka's answer and does not
// repeat the password.
func TestAdminCommandsOverSASLSSL(t *testing.T) {
	const pw = "cmd-s3cret-pw"
	b := brokertest.StartSecure(t, brokertest.Secure{Users: map[string]string{"ops": pw}, ClientCA: true})
	cert, key := b.CA.Issue(t, "ops")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(pw+"\n"), 0o600)
	sasl := []string{"--brokers", b.Addrs["SASL_SSL"], "--tls-ca", b.CA.File, "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "ops"}
	mtls := []string{"--brokers", b.Addrs["SSL"], "--tls-ca", b.CA.File, "--tls-cert", cert, "--tls-key", key}

	t.Setenv(kafkasec.PasswordEnv, pw)
	mustTopics(t, append([]string{"create", "cars", "--partitions", "3"}, sasl...)...)
	if out := mustTopics(t, append([]string{"list"}, mtls...)...); !strings.Contains(out, "cars") {
		t.Errorf("topics list over mutual TLS:\n%s", out)
	}
	if _, err := groups(t, append([]string{"list"}, sasl...)...); err != nil {
		t.Errorf("groups list over SASL_SSL: %v", err)
	}
	var out, errOut bytes.Buffer
	err := lapsTo(context.Background(), mtls, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("laps over mutual TLS: %v, want telemetry.laps does not exist yet (connected, nothing to read)", err)
	}

	t.Setenv(kafkasec.PasswordEnv, "")
	if _, err := topics(t, append([]string{"list", "--sasl-password-file", pwFile}, sasl...)...); err != nil {
		t.Errorf("password from --sasl-password-file: %v", err)
	}
	t.Setenv(kafkasec.PasswordEnv, "wrong-"+pw)
	_, err = topics(t, append([]string{"list"}, sasl...)...)
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("wrong password: %v", err)
	}
	t.Setenv(kafkasec.PasswordEnv, "")
	if _, err := topics(t, append([]string{"list"}, sasl...)...); err == nil || !strings.Contains(err.Error(), "PITWALL_SASL_PASSWORD") {
		t.Errorf("no password: %v, want one naming $PITWALL_SASL_PASSWORD", err)
	}
}

// pitwall import sends a log over SASL_SSL with the client flags.
func TestImportOverSASLSSL(t *testing.T) {
	const pw = "import-s3cret"
	b := brokertest.StartSecure(t, brokertest.Secure{Users: map[string]string{"importer": pw}})
	path := filepath.Join(t.TempDir(), "session.csv")
	var buf bytes.Buffer
	if _, err := simulator.WriteLog(context.Background(), simulator.Config{Track: "brands-indy", Laps: 1, GPSRateHz: 10, Quiet: true},
		simulator.LogTrackAddict, &buf); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, buf.Bytes(), 0o644)
	t.Setenv(kafkasec.PasswordEnv, pw)
	var out, errOut bytes.Buffer
	err := importMain(context.Background(), []string{path, "--car", "ta1", "--log-level", "warn", "--brokers", b.Addrs["SASL_SSL"],
		"--tls-ca", b.CA.File, "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "importer"}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "sent now") {
		t.Fatalf("import over SASL_SSL: %v\n%s", err, out.String())
	}
}
