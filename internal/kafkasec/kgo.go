package kafkasec

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// KgoOpts returns the franz-go options for the settings (none for
// PLAINTEXT). Call it on a Config that Load returned.
func (c Config) KgoOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if c.TLSOn() {
		tc, err := c.TLSConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if !c.SASLOn() {
		return opts, nil
	}
	user, pass := c.User, string(c.Password)
	switch c.Mechanism {
	case Plain:
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
	case ScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
	case ScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("%w: --sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrConfig, c.Mechanism)
	}
	return opts, nil
}
