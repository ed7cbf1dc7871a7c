package broker_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	xscram "github.com/xdg-go/scram"

	"github.com/pitwall/pitwall/broker"
	"github.com/pitwall/pitwall/broker/brokertest"
)

// secret is the password planted in these tests; TestNoSecretInLogs looks
// for it in everything the broker logged.
const secret = "s3cret-Planted-9f2c"

// startSecure is a broker with every listener, users admin and edge, and
// its log (at debug) kept for inspection.
func startSecure(t *testing.T, sec brokertest.Secure) (*brokertest.Broker, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if sec.Users == nil {
		sec.Users = map[string]string{"admin": secret, "edge": "edge-" + secret}
	}
	sec.Config.Logger = newTestLogger(t, logs)
	return brokertest.StartSecure(t, sec), logs
}

// roundTrip produces n records to topic through cl and reads them back
// through a second client made with the same options.
func roundTrip(t *testing.T, addr, topic string, opts ...kgo.Opt) {
	t.Helper()
	ctx := testCtx(t)
	cl := newKgo(t, addr, opts...)
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("car1"), Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", addr, err)
		}
	}
	cons := newKgo(t, addr, append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	var got []string
	for len(got) < 10 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("consume from %s: %v", addr, err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if got[0] != "v0" || got[9] != "v9" {
		t.Fatalf("read back %v", got)
	}
}

func scram256(user, pass string) kgo.Opt {
	return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())
}

func scram512(user, pass string) kgo.Opt {
	return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())
}

// TestSecureListenersKgo: franz-go on each listener with what it needs —
// nothing on PLAINTEXT, TLS on SSL, SCRAM-SHA-512 on SASL_PLAINTEXT,
// TLS and SCRAM-SHA-256 on SASL_SSL — produces and consumes, and Metadata
// sends each client back to the listener it came in on.
func TestSecureListenersKgo(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{})
	tlsCfg := b.CA.ClientTLS(t, "")
	for _, tc := range []struct {
		proto string
		opts  []kgo.Opt
	}{
		{"PLAINTEXT", nil},
		{"SSL", []kgo.Opt{kgo.DialTLSConfig(tlsCfg)}},
		{"SASL_PLAINTEXT", []kgo.Opt{scram512("edge", "edge-"+secret)}},
		{"SASL_SSL", []kgo.Opt{kgo.DialTLSConfig(tlsCfg), scram256("edge", "edge-"+secret)}},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			addr := b.Addrs[tc.proto]
			roundTrip(t, addr, "t-"+strings.ToLower(tc.proto), tc.opts...)
			cl := newKgo(t, addr, tc.opts...)
			resp, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
			if err != nil {
				t.Fatal(err)
			}
			if got := net.JoinHostPort(resp.Brokers[0].Host, fmt.Sprint(resp.Brokers[0].Port)); got != addr {
				t.Errorf("Metadata on %s advertises %s, want %s", tc.proto, got, addr)
			}
		})
	}
}

// TestSecurePlain: SASL/PLAIN is offered when configured, and checks the
// password against the stored SCRAM credential.
func TestSecurePlain(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{Mechanisms: []string{"PLAIN", "SCRAM-SHA-256"}})
	tlsCfg := b.CA.ClientTLS(t, "")
	roundTrip(t, b.Addrs["SASL_SSL"], "plain", kgo.DialTLSConfig(tlsCfg), kgo.SASL(plain.Auth{User: "edge", Pass: "edge-" + secret}.AsMechanism()))
	err := pingErr(t, b.Addrs["SASL_SSL"], kgo.DialTLSConfig(tlsCfg), kgo.SASL(plain.Auth{User: "edge", Pass: "wrong"}.AsMechanism()))
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("PLAIN with a wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

// pingErr is the error of one Metadata request through a new client.
func pingErr(t *testing.T, addr string, opts ...kgo.Opt) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	cl := newKgo(t, addr, append(opts, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))...)
	_, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err
}

// TestSecureWrongPassword: a wrong password and an unknown user both get
// SASL_AUTHENTICATION_FAILED, on SCRAM-SHA-256 and -512, and are counted.
func TestSecureWrongPassword(t *testing.T) {
	b, logs := startSecure(t, brokertest.Secure{})
	tlsCfg := b.CA.ClientTLS(t, "")
	for _, opt := range []kgo.Opt{scram256("edge", "wrong"), scram512("edge", secret), scram256("nobody", secret)} {
		err := pingErr(t, b.Addrs["SASL_SSL"], kgo.DialTLSConfig(tlsCfg), opt)
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("got %v, want SASL_AUTHENTICATION_FAILED", err)
		}
	}
	if n := metric(t, b, "pitwall_broker_sasl_failed_total"); n < 3 {
		t.Errorf("pitwall_broker_sasl_failed_total = %v, want ≥ 3", n)
	}
	if c := strings.Count(logs.String(), "SASL authentication failed"); c != 1 {
		t.Errorf("failed logins from one address logged %d times, want once a minute:\n%s", c, logs)
	}
}

// TestSecureRefusesPlaintextOnTLS: a plaintext Kafka client on the SSL or
// SASL_SSL listener, and an unauthenticated request on SASL_PLAINTEXT,
// are refused cleanly: the connection is closed, nothing is answered, the
// broker goes on serving.
func TestSecureRefusesPlaintextOnTLS(t *testing.T) {
	b, logs := startSecure(t, brokertest.Secure{})
	var rf kmsg.RequestFormatter
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(4)
	frame := rf.AppendRequest(nil, req, 7)
	for _, proto := range []string{"SSL", "SASL_SSL", "SASL_PLAINTEXT"} {
		nc, err := net.Dial("tcp", b.Addrs[proto])
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(time.Minute))
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(nc)
		nc.Close()
		if err != nil || proto == "SASL_PLAINTEXT" && len(got) != 0 {
			t.Errorf("%s: read %d bytes, %v; want the connection closed with nothing sent", proto, len(got), err)
		}
		if len(got) > 0 && got[0] != 0x15 { // a TLS alert record, at most
			t.Errorf("%s: answered % x, want at most a TLS alert", proto, got[:min(len(got), 8)])
		}
	}
	if !strings.Contains(logs.String(), "tls_not_tls") || !strings.Contains(logs.String(), "kind=unauthenticated") {
		t.Errorf("refusals not logged:\n%s", logs)
	}
	waitFor(t, "connections to close", func() bool { return metric(t, b, "pitwall_broker_connections") == 0 })
	roundTrip(t, b.Addrs["SASL_SSL"], "after", kgo.DialTLSConfig(b.CA.ClientTLS(t, "")), scram256("admin", secret))
}

// TestSecureMutualTLS: with a client CA, the SSL listener serves clients
// presenting a certificate the CA signed and refuses others.
func TestSecureMutualTLS(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{ClientCA: true})
	roundTrip(t, b.Addrs["SSL"], "mtls", kgo.DialTLSConfig(b.CA.ClientTLS(t, "edge")))
	if err := pingErr(t, b.Addrs["SSL"], kgo.DialTLSConfig(b.CA.ClientTLS(t, ""))); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	other := brokertest.NewCA(t).ClientTLS(t, "edge")
	other.RootCAs = b.CA.Pool
	if err := pingErr(t, b.Addrs["SSL"], kgo.DialTLSConfig(other)); err == nil {
		t.Fatal("a client with a certificate from another CA was served")
	}
}

// TestSecureSarama: sarama over SASL_SSL with SCRAM-SHA-256, and over
// SSL with a client certificate.
func TestSecureSarama(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{ClientCA: true})
	cfg := saramaConfig()
	cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, b.CA.ClientTLS(t, "")
	cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism = true, sarama.SASLTypeSCRAMSHA256
	cfg.Net.SASL.User, cfg.Net.SASL.Password = "edge", "edge-"+secret
	cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &saramaSCRAM{hash: xscram.SHA256} }
	saramaRoundTrip(t, b.Addrs["SASL_SSL"], cfg)

	mtls := saramaConfig()
	mtls.Net.TLS.Enable, mtls.Net.TLS.Config = true, b.CA.ClientTLS(t, "processor")
	saramaRoundTrip(t, b.Addrs["SSL"], mtls)
}

func saramaRoundTrip(t *testing.T, addr string, cfg *sarama.Config) {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama producer on %s: %v", addr, err)
	}
	defer p.Close()
	part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: "sarama-sec", Key: sarama.StringEncoder("car1"), Value: sarama.StringEncoder("hello")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("sarama-sec", part, off)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		if string(m.Value) != "hello" {
			t.Fatalf("read %q", m.Value)
		}
	case err := <-pc.Errors():
		t.Fatal(err)
	case <-testCtx(t).Done():
		t.Fatal("no message")
	}
}

// saramaSCRAM is sarama's SCRAMClient over xdg-go/scram, as sarama's
// examples write it.
type saramaSCRAM struct {
	hash xscram.HashGeneratorFcn
	conv *xscram.ClientConversation
}

func (s *saramaSCRAM) Begin(user, pass, authz string) error {
	c, err := s.hash.NewClient(user, pass, authz)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}
func (s *saramaSCRAM) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *saramaSCRAM) Done() bool                            { return s.conv.Done() }

// TestSecureKcat: librdkafka (kcat) over SASL_SSL with SCRAM-SHA-512,
// checking the broker's certificate against the CA; and with a wrong
// password it fails to authenticate.
func TestSecureKcat(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run scripts/install-test-deps.sh (make test does)")
	}
	b, logs := startSecure(t, brokertest.Secure{})
	defer func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", logs)
		}
	}()
	args := func(pass string, more ...string) []string {
		return append([]string{"-b", b.Addrs["SASL_SSL"], "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-512",
			"-X", "sasl.username=edge", "-X", "sasl.password=" + pass, "-X", "ssl.ca.location=" + b.CA.File}, more...)
	}
	prod := exec.CommandContext(testCtx(t), kcat, args("edge-"+secret, "-P", "-t", "kcat-sec", "-K:", "-X", "acks=all")...)
	prod.Stdin = strings.NewReader("car1:one\ncar2:two\n")
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(testCtx(t), kcat, args("edge-"+secret, "-C", "-t", "kcat-sec", "-o", "beginning", "-e", "-q", "-f", "%k:%s\n")...).CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 || !strings.Contains(string(out), "car1:one") || !strings.Contains(string(out), "car2:two") {
		t.Fatalf("kcat read %q", out)
	}
	bad := exec.CommandContext(testCtx(t), kcat, args("wrong", "-L", "-m", "10")...)
	out, err = bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SASL authentication error") {
		t.Fatalf("kcat with a wrong password: %v\n%s", err, out)
	}
}

// TestSecureReloadTLS: after the certificate files change, ReloadTLS
// makes new connections see the new certificate while a connection made
// before keeps working.
func TestSecureReloadTLS(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{Protocols: []string{"SSL"}})
	tlsCfg := b.CA.ClientTLS(t, "")
	serial := func() string {
		c, err := tls.Dial("tcp", b.Addrs["SSL"], tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	old := newKgo(t, b.Addrs["SSL"], kgo.DialTLSConfig(tlsCfg))
	if err := old.ProduceSync(testCtx(t), &kgo.Record{Topic: "reload", Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cert, key := b.CA.Issue(t, "localhost")
	copyFile(t, cert, b.Config().TLSCertFile)
	copyFile(t, key, b.Config().TLSKeyFile)
	if err := b.Server.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if after := serial(); after == before {
		t.Fatalf("certificate serial %s unchanged after reload", after)
	}
	if err := old.ProduceSync(testCtx(t), &kgo.Record{Topic: "reload", Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatalf("the connection made before the reload: %v", err)
	}
}

// TestSecureLargeFetch: fetch replies of several MiB over TLS — written
// through the connection's write buffer and the corked wire
// (tls_wire.go), many TLS records per write — arrive byte for byte: every
// record read back in order, with its own contents.
func TestSecureLargeFetch(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{Protocols: []string{"SSL"}})
	ctx := testCtx(t)
	opts := []kgo.Opt{kgo.DialTLSConfig(b.CA.ClientTLS(t, ""))}
	cl := newKgo(t, b.Addrs["SSL"], append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	mustCreate(t, cl, "large", 3, nil)
	const perPart = 800
	value := func(p int32, i int) []byte {
		v := make([]byte, 3000+i%97) // sizes that never line up with records or buffers
		for j := range v {
			v[j] = byte(int(p)*31 + i + j)
		}
		return v
	}
	for p := range int32(3) {
		for i := range perPart {
			cl.Produce(ctx, &kgo.Record{Topic: "large", Partition: p, Value: value(p, i)}, nil)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cons := newKgo(t, b.Addrs["SSL"], append(opts, kgo.ConsumeTopics("large"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(16<<20), kgo.FetchMaxPartitionBytes(8<<20))...)
	next := map[int32]int{}
	for n := 0; n < 3*perPart; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			i := next[r.Partition]
			if r.Offset != int64(i) || !bytes.Equal(r.Value, value(r.Partition, i)) {
				t.Fatalf("partition %d: record at offset %d differs from record %d written", r.Partition, r.Offset, i)
			}
			next[r.Partition]++
			n++
		})
	}
}

// TestSecureReloadClientCA: a client certificate signed by a CA the broker
// does not trust yet is refused; once the --tls-client-ca file also holds
// that CA and ReloadTLS runs (SIGHUP), it is served, and so are the first
// CA's clients. A file that no longer parses keeps the bundle in use.
func TestSecureReloadClientCA(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{ClientCA: true, Protocols: []string{"SSL"}})
	addr, caFile := b.Addrs["SSL"], b.Config().TLSClientCAFile
	newCA := brokertest.NewCA(t)
	newClient := newCA.ClientTLS(t, "edge")
	newClient.RootCAs = b.CA.Pool
	if err := pingErr(t, addr, kgo.DialTLSConfig(newClient)); err == nil {
		t.Fatal("a certificate from the new CA was served before the reload")
	}
	first, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(newCA.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, append(first, second...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Server.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, addr, "reload-ca-new", kgo.DialTLSConfig(newClient))
	roundTrip(t, addr, "reload-ca-old", kgo.DialTLSConfig(b.CA.ClientTLS(t, "processor")))

	if err := os.WriteFile(caFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Server.ReloadTLS(); err == nil {
		t.Fatal("ReloadTLS accepted a client CA file without a certificate")
	}
	roundTrip(t, addr, "reload-ca-kept", kgo.DialTLSConfig(newClient))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecureConfigErrors: listener and TLS mistakes are one-line
// configuration errors.
func TestSecureConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  broker.Config
		want string
	}{
		{broker.Config{Listen: "FTP://127.0.0.1:0"}, "not PLAINTEXT, SSL"},
		{broker.Config{Listen: "SSL://127.0.0.1:0"}, "need TLSCertFile"},
		{broker.Config{Listen: "127.0.0.1:0,PLAINTEXT://127.0.0.1:0"}, "PLAINTEXT given twice"},
		{broker.Config{Listen: "127.0.0.1:0", Advertise: "SSL://h:1"}, "no SSL listener"},
		{broker.Config{SASLMechanisms: []string{"GSSAPI"}}, "GSSAPI"},
		{broker.Config{Authorizer: "opa"}, "Authorizer"},
		{broker.Config{SuperUsers: []string{"admin"}}, "User:NAME"},
	} {
		tc.cfg.DataDir = t.TempDir()
		_, err := broker.New(tc.cfg)
		if !errors.Is(err, broker.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an ErrConfig with %q", tc.cfg.Listen, err, tc.want)
		}
	}
}

// TestSecureNoSecretInLogs: logins that succeed and fail, with SCRAM and
// PLAIN, and users changed through the API, leave no password in the
// broker's log (at debug), its metrics or its files.
func TestSecureNoSecretInLogs(t *testing.T) {
	b, logs := startSecure(t, brokertest.Secure{Mechanisms: []string{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}})
	tlsCfg := b.CA.ClientTLS(t, "")
	wrong := "Wrong-" + secret
	for _, opt := range []kgo.Opt{
		scram256("admin", secret), scram512("admin", secret), kgo.SASL(plain.Auth{User: "admin", Pass: secret}.AsMechanism()),
		scram256("admin", wrong), scram512("nobody", wrong), kgo.SASL(plain.Auth{User: "admin", Pass: wrong}.AsMechanism()),
		kgo.SASL(plain.Auth{User: "nobody", Pass: wrong}.AsMechanism()),
	} {
		pingErr(t, b.Addrs["SASL_SSL"], kgo.DialTLSConfig(tlsCfg), opt)
	}
	// A user set through the API (the client salts the password).
	admin := newKgo(t, b.Addrs["SASL_SSL"], kgo.DialTLSConfig(tlsCfg), scram256("admin", secret))
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt = "edge2", 2, 4096, []byte("0123456789abcdef")
	up.SaltedPassword = []byte(wrong) // stands in for Hi(password): what the broker stores must not contain it either
	req.Upsertions = append(req.Upsertions, up)
	resp, err := req.RequestWith(testCtx(t), admin)
	if err != nil || resp.Results[0].ErrorCode != 0 {
		t.Fatalf("AlterUserScramCredentials: %v %+v", err, resp)
	}
	rec := httptest.NewRecorder()
	b.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	users, err := os.ReadFile(filepath.Join(b.Dir, "security", "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"log": logs.String(), "metrics": rec.Body.String(), "users.json": string(users)} {
		for _, pw := range []string{secret, wrong, base64.StdEncoding.EncodeToString([]byte(wrong))} {
			if strings.Contains(text, pw) {
				t.Errorf("the %s holds a password (%q)", what, pw)
			}
		}
	}
	if !strings.Contains(logs.String(), "SASL authentication failed") || !strings.Contains(logs.String(), `msg="set SCRAM credential" user=edge2`) {
		t.Errorf("the log lacks the failed login or the user change:\n%s", logs)
	}
}

// TestSecureSaramaHandshakeV0: sarama with SaslHandshake v0, after which
// the SASL tokens travel bare, outside Kafka's framing (PLAIN and
// SCRAM-SHA-512), and a wrong password closes the connection.
func TestSecureSaramaHandshakeV0(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{Mechanisms: []string{"PLAIN", "SCRAM-SHA-512"}, Protocols: []string{"SASL_PLAINTEXT"}})
	for _, mech := range []sarama.SASLMechanism{sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA512} {
		cfg := saramaConfig()
		cfg.ApiVersionsRequest = false // sarama refuses SASL v0 otherwise
		cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism, cfg.Net.SASL.Version = true, mech, sarama.SASLHandshakeV0
		cfg.Net.SASL.User, cfg.Net.SASL.Password = "edge", "edge-"+secret
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &saramaSCRAM{hash: xscram.SHA512} }
		saramaRoundTrip(t, b.Addrs["SASL_PLAINTEXT"], cfg)

		cfg.Net.SASL.Password = "wrong"
		cfg.Metadata.Retry.Max = 0
		if c, err := sarama.NewClient([]string{b.Addrs["SASL_PLAINTEXT"]}, cfg); err == nil {
			c.Close()
			t.Fatalf("%s v0 with a wrong password: connected", mech)
		}
	}
}

// TestSecureAdvertisePerListener: --advertise names each listener's
// address in Kafka's form (a bare HOST:PORT is PLAINTEXT's), and Metadata
// and FindCoordinator give a client the one of the listener it came in on.
func TestSecureAdvertisePerListener(t *testing.T) {
	b, _ := startSecure(t, brokertest.Secure{Protocols: []string{"PLAINTEXT", "SASL_PLAINTEXT"},
		Config: broker.Config{Advertise: "SASL_PLAINTEXT://car-park.example:19093,pit.example:19092"}})
	for proto, want := range map[string]string{"PLAINTEXT": "pit.example:19092", "SASL_PLAINTEXT": "car-park.example:19093"} {
		opts := []kgo.Opt{kgo.SeedBrokers(b.Addrs[proto])}
		if proto == "SASL_PLAINTEXT" {
			opts = append(opts, scram256("edge", "edge-"+secret))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// The seed connection, not the advertised address (which does
		// not resolve): the first request a client sends.
		resp, err := cl.Broker(math.MinInt32).Request(testCtx(t), kmsg.NewPtrMetadataRequest())
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		mb := resp.(*kmsg.MetadataResponse).Brokers[0]
		if got := net.JoinHostPort(mb.Host, fmt.Sprint(mb.Port)); got != want {
			t.Errorf("%s listener advertises %s, want %s", proto, got, want)
		}
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey, fc.CoordinatorKeys = "laps", []string{"laps"}
		fresp, err := cl.Broker(math.MinInt32).Request(testCtx(t), fc)
		if err != nil {
			t.Fatal(err)
		}
		co := fresp.(*kmsg.FindCoordinatorResponse)
		if len(co.Coordinators) != 1 { // v4+, which kgo sends
			t.Fatalf("FindCoordinator: %+v", co)
		}
		if got := net.JoinHostPort(co.Coordinators[0].Host, fmt.Sprint(co.Coordinators[0].Port)); got != want {
			t.Errorf("%s listener's coordinator is %s, want %s", proto, got, want)
		}
	}
}
