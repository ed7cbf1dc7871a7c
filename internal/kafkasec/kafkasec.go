package kafkasec

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Mechanisms are the SASL mechanisms the clients speak, by Kafka's names.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// PasswordEnv is the environment variable the SASL password is read from
// when no --sasl-password-file is given.
const PasswordEnv = "PITWALL_SASL_PASSWORD"

// ErrConfig is wrapped by every error of Load.
var ErrConfig = errors.New("kafkasec: bad security settings")

// Secret is a string that never prints: fmt, slog and YAML/JSON encoders
// see "[redacted]". Use string(s) where the value is needed.
type Secret string

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString is String, so %#v does not print it either.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps it out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps it out of encoded configs.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is a Kafka client's security settings. The zero value is
// PLAINTEXT: no TLS, no SASL.
type Config struct {
	// TLS turns TLS on. Default off; implied by CAFile, CertFile or CAPEM.
	TLS bool `yaml:"tls" json:"tls"`
	// CAFile is a PEM bundle of the CAs the brokers' certificates must
	// chain to. Default: the system's roots.
	CAFile string `yaml:"tls_ca" json:"tlsCa"`
	// CertFile and KeyFile are the client's certificate and key for mutual
	// TLS, PEM. Default none; both or neither.
	CertFile string `yaml:"tls_cert" json:"tlsCert"`
	KeyFile  string `yaml:"tls_key" json:"tlsKey"`
	// CAPEM, CertPEM and KeyPEM give the same as PEM text instead of files
	// (the Grafana plugin's settings); a file wins over its PEM.
	CAPEM   string `yaml:"-" json:"-"`
	CertPEM string `yaml:"-" json:"-"`
	KeyPEM  Secret `yaml:"-" json:"-"`
	// ServerName is the name the brokers' certificates must hold. Default:
	// the host of the address dialled.
	ServerName string `yaml:"tls_server_name" json:"tlsServerName"`
	// Mechanism is the SASL mechanism: PLAIN, SCRAM-SHA-256 or
	// SCRAM-SHA-512. Default none (no SASL).
	Mechanism string `yaml:"sasl_mechanism" json:"saslMechanism"`
	// User is the SASL user name. Required with a Mechanism.
	User string `yaml:"sasl_user" json:"saslUser"`
	// PasswordFile holds the SASL password (its first line). Default: the
	// password is read from $PITWALL_SASL_PASSWORD.
	PasswordFile string `yaml:"sasl_password_file" json:"saslPasswordFile"`
	// Password is the SASL password. Load fills it from PasswordFile or
	// $PITWALL_SASL_PASSWORD when empty; never a flag.
	Password Secret `yaml:"-" json:"-"`
}

// AddFlags registers the client security flags on fs, writing into c.
// parseFlags in cmd/pitwall also fills them from PITWALL_TLS,
// PITWALL_SASL_USER and so on; call Load after parsing.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.TLS, "tls", c.TLS, "TLS to the Kafka brokers (implied by --tls-ca and --tls-cert)")
	fs.StringVar(&c.CAFile, "tls-ca", c.CAFile, "PEM `FILE` of the CAs the brokers' certificates chain to (default: the system's)")
	fs.StringVar(&c.CertFile, "tls-cert", c.CertFile, "client certificate PEM `FILE` for mutual TLS (with --tls-key)")
	fs.StringVar(&c.KeyFile, "tls-key", c.KeyFile, "client key PEM `FILE` for mutual TLS (with --tls-cert)")
	fs.StringVar(&c.Mechanism, "sasl-mechanism", c.Mechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL)")
	fs.StringVar(&c.User, "sasl-user", c.User, "SASL user name")
	fs.StringVar(&c.PasswordFile, "sasl-password-file", c.PasswordFile, "`FILE` holding the SASL password (default: $"+PasswordEnv+")")
}

// Merge returns c with every field that o sets overriding c's (flags over
// a config file). TLS is on if either turns it on.
func (c Config) Merge(o Config) Config {
	c.TLS = c.TLS || o.TLS
	for _, f := range []struct{ dst, src *string }{
		{&c.CAFile, &o.CAFile}, {&c.CertFile, &o.CertFile}, {&c.KeyFile, &o.KeyFile},
		{&c.CAPEM, &o.CAPEM}, {&c.CertPEM, &o.CertPEM}, {&c.ServerName, &o.ServerName},
		{&c.Mechanism, &o.Mechanism}, {&c.User, &o.User}, {&c.PasswordFile, &o.PasswordFile},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	if o.KeyPEM != "" {
		c.KeyPEM = o.KeyPEM
	}
	if o.Password != "" {
		c.Password = o.Password
	}
	return c
}

// TLSOn reports whether the settings ask for TLS.
func (c Config) TLSOn() bool {
	return c.TLS || c.CAFile != "" || c.CertFile != "" || c.CAPEM != "" || c.CertPEM != ""
}

// SASLOn reports whether the settings ask for SASL.
func (c Config) SASLOn() bool { return c.Mechanism != "" }

// Protocol is Kafka's name for the settings' security.protocol:
// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
func (c Config) Protocol() string {
	switch {
	case c.TLSOn() && c.SASLOn():
		return "SASL_SSL"
	case c.SASLOn():
		return "SASL_PLAINTEXT"
	case c.TLSOn():
		return "SSL"
	}
	return "PLAINTEXT"
}

// LogValue is what logs show: the protocol, mechanism and user, never the
// password or key.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("protocol", c.Protocol())}
	if c.SASLOn() {
		attrs = append(attrs, slog.String("mechanism", c.Mechanism), slog.String("user", c.User))
	}
	return slog.GroupValue(attrs...)
}

// Load returns c with the mechanism's name normalised and the password read
// (from PasswordFile, else $PITWALL_SASL_PASSWORD, unless already set), and
// checks the whole: a mechanism it knows, a user and a password with it,
// a readable CA and a certificate with its key. Errors are one line.
func (c Config) Load() (Config, error) {
	c.Mechanism = strings.ToUpper(strings.TrimSpace(c.Mechanism))
	if err := c.loadPassword(); err != nil {
		return c, err
	}
	if err := c.check(); err != nil {
		return c, err
	}
	if c.TLSOn() {
		if _, err := c.TLSConfig(); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *Config) loadPassword() error {
	if c.Password != "" || !c.SASLOn() {
		return nil
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("%w: --sasl-password-file: %w", ErrConfig, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		c.Password = Secret(strings.TrimSuffix(line, "\r"))
		if c.Password == "" {
			return fmt.Errorf("%w: --sasl-password-file %s: the first line is empty", ErrConfig, c.PasswordFile)
		}
		return nil
	}
	c.Password = Secret(os.Getenv(PasswordEnv))
	return nil
}

func (c Config) check() error {
	switch c.Mechanism {
	case "", Plain, ScramSHA256, ScramSHA512:
	default:
		return fmt.Errorf("%w: --sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", ErrConfig, c.Mechanism)
	}
	if !c.SASLOn() {
		if c.User != "" || c.PasswordFile != "" {
			return fmt.Errorf("%w: --sasl-user or --sasl-password-file without --sasl-mechanism", ErrConfig)
		}
		return nil
	}
	if c.User == "" {
		return fmt.Errorf("%w: --sasl-mechanism %s needs --sasl-user", ErrConfig, c.Mechanism)
	}
	if c.Password == "" {
		return fmt.Errorf("%w: --sasl-mechanism %s needs a password: set $%s or --sasl-password-file", ErrConfig, c.Mechanism, PasswordEnv)
	}
	return nil
}

// TLSConfig builds the client's tls.Config (TLS 1.2 or later). It reads
// the files each time, so a renewed certificate is used by the next
// connection the caller builds.
func (c Config) TLSConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	ca := []byte(c.CAPEM)
	if c.CAFile != "" {
		b, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --tls-ca: %w", ErrConfig, err)
		}
		ca = b
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("%w: --tls-ca %s: no PEM certificate in it", ErrConfig, c.CAFile)
		}
		tc.RootCAs = pool
	}
	cert, key := []byte(c.CertPEM), []byte(string(c.KeyPEM))
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", ErrConfig)
	}
	if c.CertFile != "" {
		var err error
		if cert, err = os.ReadFile(c.CertFile); err != nil {
			return nil, fmt.Errorf("%w: --tls-cert: %w", ErrConfig, err)
		}
		if key, err = os.ReadFile(c.KeyFile); err != nil {
			return nil, fmt.Errorf("%w: --tls-key: %w", ErrConfig, err)
		}
	}
	if len(cert) > 0 || len(key) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate %s: %w", ErrConfig, c.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}
