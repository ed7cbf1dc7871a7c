package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/internal/testca"
)

// Security protocols of the embedded broker's listener under test
// (Config.Security), by Kafka's names.
const (
	SecurityPlaintext = "PLAINTEXT"
	SecuritySSL       = "SSL"
	SecuritySASLSSL   = "SASL_SSL"
)

// benchUser is the SCRAM user the bench creates on a SASL_SSL embedded
// broker, with a random password that never leaves the process.
const benchUser = "pitwall-bench"

// embeddedSecurity is what a secured embedded broker needs: its TLS
// material, made by a throwaway CA in dir, and the listeners (PLAINTEXT
// beside the one under test, to create the SCRAM user through).
type embeddedSecurity struct {
	listen            string
	certFile, keyFile string
	client            kafkasec.Config
}

// newEmbeddedSecurity makes the TLS material for a broker on 127.0.0.1 in
// dir (an empty directory, removed after the run) and the client settings
// that trust it.
func newEmbeddedSecurity(cfg Config, dir string) (*embeddedSecurity, error) {
	ca, err := testca.Generate(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: test CA: %w", err)
	}
	pair, err := ca.IssueFiles("pitwall-bench-broker", "127.0.0.1", "localhost")
	if err != nil {
		return nil, fmt.Errorf("bench: broker certificate: %w", err)
	}
	s := &embeddedSecurity{
		listen:   "PLAINTEXT://127.0.0.1:0," + cfg.Security + "://127.0.0.1:0",
		certFile: pair.CertFile, keyFile: pair.KeyFile,
		client: kafkasec.Config{TLS: true, CAPEM: ca.CertPEM},
	}
	if cfg.Security == SecuritySASLSSL {
		pw := make([]byte, 16)
		rand.Read(pw)
		s.client.Mechanism, s.client.User, s.client.Password = cfg.Mechanism, benchUser, kafkasec.Secret(hex.EncodeToString(pw))
	}
	return s, nil
}

// addUser creates the bench's SCRAM user through the broker's PLAINTEXT
// listener (AlterUserScramCredentials; sarama salts the password).
func (s *embeddedSecurity) addUser(plaintext string) error {
	if !s.client.SASLOn() {
		return nil
	}
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-bench-admin"
	sc.Net.DialTimeout = 5 * time.Second
	admin, err := sarama.NewClusterAdmin([]string{plaintext}, sc)
	if err != nil {
		return fmt.Errorf("bench: admin over PLAINTEXT: %w", err)
	}
	defer admin.Close()
	mech := sarama.SCRAM_MECHANISM_SHA_512
	if s.client.Mechanism == kafkasec.ScramSHA256 {
		mech = sarama.SCRAM_MECHANISM_SHA_256
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	res, err := admin.UpsertUserScramCredentials([]sarama.AlterUserScramCredentialsUpsert{{
		Name: benchUser, Mechanism: mech, Iterations: 4096, Salt: salt, Password: []byte(s.client.Password),
	}})
	if err != nil {
		return fmt.Errorf("bench: create SCRAM user: %w", err)
	}
	for _, r := range res {
		if r.ErrorCode != sarama.ErrNoError {
			return fmt.Errorf("bench: create SCRAM user: %w", r.ErrorCode)
		}
	}
	return nil
}

// kgoOpts are the client options for the listener under test.
func (s *embeddedSecurity) kgoOpts() ([]kgo.Opt, error) { return s.client.KgoOpts() }

// targetName names an embedded broker by its listener's protocol when it
// is not PLAINTEXT ("pitwall-sasl_ssl").
func targetName(security string) string {
	if security == "" || security == SecurityPlaintext {
		return TargetPitwall
	}
	return TargetPitwall + "-" + strings.ToLower(security)
}
