package kafkasec

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// Sarama applies the settings to sc: Net.TLS and Net.SASL (handshake v1,
// then SaslAuthenticate, as Kafka 1.0+ clients do). Call it on a Config
// that Load returned.
func (c Config) Sarama(sc *sarama.Config) error {
	if c.TLSOn() {
		tc, err := c.TLSConfig()
		if err != nil {
			return err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	if !c.SASLOn() {
		return nil
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.Version = sarama.SASLHandshakeV1
	sc.Net.SASL.User = c.User
	sc.Net.SASL.Password = string(c.Password)
	switch c.Mechanism {
	case Plain:
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case ScramSHA256:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha256.New)} }
	case ScramSHA512:
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha512.New)} }
	default:
		return fmt.Errorf("%w: --sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrConfig, c.Mechanism)
	}
	return nil
}

// scramClient is sarama.SCRAMClient on xdg-go/scram: sarama speaks the
// SASL exchange, the library computes the SCRAM messages and checks the
// server's signature.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	client, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = client.NewConversation()
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }

func (s *scramClient) Done() bool { return s.conv.Done() }
