package brokertest

import (
	"testing"

	"github.com/pitwall/pitwall/broker"
)

// Secure says how StartSecure secures a broker. The zero value gives all
// four listeners (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) on random
// loopback ports, a server certificate for localhost and 127.0.0.1 from a
// new CA, SCRAM-SHA-256 and SCRAM-SHA-512 (and no users), no client
// certificates and no authorizer.
type Secure struct {
	// Config is the rest of the broker's configuration (Listen, TLS
	// files, SASL mechanisms, Authorizer and SuperUsers are set from the
	// fields below; DataDir and Logger as StartConfig sets them).
	Config broker.Config
	// Protocols are the listeners to open. Default all four.
	Protocols []string
	// Users are created before the broker starts, name → password, with
	// a credential for both SCRAM mechanisms.
	Users map[string]string
	// ClientCA asks SSL clients for a certificate from the CA (mutual
	// TLS: their principal is User:<CN>); SASL_SSL clients may send one.
	ClientCA bool
	// Mechanisms SASL listeners offer. Default broker.DefaultSASLMechanisms.
	Mechanisms []string
	// Authorizer turns on the ACL authorizer; SuperUsers may do
	// anything ("User:admin").
	Authorizer bool
	SuperUsers []string
}

// StartSecure starts a broker secured as sec says. b.CA is the CA that
// signed its certificate; b.Addrs has each listener's address.
func StartSecure(t testing.TB, sec Secure) *Broker {
	t.Helper()
	cfg := sec.Config
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	protos := sec.Protocols
	if len(protos) == 0 {
		protos = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}
	}
	cfg.Listen = ""
	for i, p := range protos {
		if i > 0 {
			cfg.Listen += ","
		}
		cfg.Listen += p + "://127.0.0.1:0"
	}
	ca := NewCA(t)
	cfg.TLSCertFile, cfg.TLSKeyFile = ca.Issue(t, "localhost")
	if sec.ClientCA {
		cfg.TLSClientCAFile = ca.File
	}
	cfg.SASLMechanisms = sec.Mechanisms
	if sec.Authorizer {
		cfg.Authorizer = "acl"
	}
	cfg.SuperUsers = sec.SuperUsers
	for name, password := range sec.Users {
		for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
			if err := broker.SetUserOffline(cfg.DataDir, name, mech, password, 0); err != nil {
				t.Fatalf("brokertest: user %s: %v", name, err)
			}
		}
	}
	b := StartConfig(t, cfg)
	b.CA = ca
	return b
}
