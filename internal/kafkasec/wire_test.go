package kafkasec_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/internal/kafkasec"
)

// connect checks that sarama and franz-go, configured by sec, both get
// metadata from addr, and returns the first error.
func connect(t *testing.T, addr string, sec kafkasec.Config) error {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Net.DialTimeout = 5 * time.Second
	sc.Metadata.Retry.Max = 0
	if err := sec.Sarama(sc); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{addr}, sc)
	if err != nil {
		return err
	}
	client.Close()
	opts, err := sec.KgoOpts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addr), kgo.RequestRetries(0))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

// The settings kafkasec builds connect sarama and franz-go to Pitwall's
// broker over SASL_SSL with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN, over
// SASL_PLAINTEXT, and over SSL with a client certificate (mutual TLS); a
// wrong password, a CA that did not sign the broker's certificate and a
// PLAINTEXT client on the SASL_SSL listener are refused.
func TestClientsConnectSecurely(t *testing.T) {
	t.Parallel()
	const pw = "wire-s3cret"
	b := brokertest.StartSecure(t, brokertest.Secure{Users: map[string]string{"edge": pw}, ClientCA: true,
		Mechanisms: []string{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}})
	cert, key := b.CA.Issue(t, "edge")
	other := brokertest.NewCA(t)
	for _, tc := range []struct {
		name, listener string
		sec            kafkasec.Config
		ok             bool
	}{
		{"SASL_SSL SCRAM-SHA-256", "SASL_SSL", kafkasec.Config{CAFile: b.CA.File, Mechanism: kafkasec.ScramSHA256, User: "edge", Password: pw}, true},
		{"SASL_SSL SCRAM-SHA-512", "SASL_SSL", kafkasec.Config{CAFile: b.CA.File, Mechanism: kafkasec.ScramSHA512, User: "edge", Password: pw}, true},
		{"SASL_SSL PLAIN", "SASL_SSL", kafkasec.Config{CAFile: b.CA.File, Mechanism: kafkasec.Plain, User: "edge", Password: pw}, true},
		{"SASL_PLAINTEXT SCRAM-SHA-512", "SASL_PLAINTEXT", kafkasec.Config{Mechanism: kafkasec.ScramSHA512, User: "edge", Password: pw}, true},
		{"SSL mutual TLS", "SSL", kafkasec.Config{CAFile: b.CA.File, CertFile: cert, KeyFile: key}, true},
		{"wrong password", "SASL_SSL", kafkasec.Config{CAFile: b.CA.File, Mechanism: kafkasec.ScramSHA512, User: "edge", Password: "wrong"}, false},
		{"unknown user", "SASL_SSL", kafkasec.Config{CAFile: b.CA.File, Mechanism: kafkasec.ScramSHA256, User: "nobody", Password: pw}, false},
		{"CA that did not sign the broker", "SASL_SSL", kafkasec.Config{CAFile: other.File, Mechanism: kafkasec.ScramSHA512, User: "edge", Password: pw}, false},
		{"SSL without a client certificate", "SSL", kafkasec.Config{CAFile: b.CA.File}, false},
		{"PLAINTEXT client on SASL_SSL", "SASL_SSL", kafkasec.Config{}, false},
	} {
		sec, err := tc.sec.Load()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = connect(t, b.Addrs[tc.listener], sec)
		if (err == nil) != tc.ok {
			t.Errorf("%s on %s: err %v, want ok=%v", tc.name, tc.listener, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error repeats the password: %v", tc.name, err)
		}
	}
}
