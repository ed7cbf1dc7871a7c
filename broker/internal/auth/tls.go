package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Certs is the broker's TLS certificate and key, loaded from files and
// reloaded by Reload (on SIGHUP) without touching open connections: each
// new handshake takes the certificate current at that moment
// (tls.Config.GetCertificate), and connections already up keep the one
// they started with.
type Certs struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// LoadCerts reads a PEM certificate (chain) and its PEM private key.
func LoadCerts(certFile, keyFile string) (*Certs, error) {
	c := &Certs{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again. On error the certificate in use stays.
func (c *Certs) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("auth: tls certificate %s / key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert)
	return nil
}

// Leaf is the certificate in use, parsed.
func (c *Certs) Leaf() *x509.Certificate { return c.cert.Load().Leaf }

// ServerConfig is the tls.Config of a listener. With clientCAs, clients
// must present a certificate those CAs signed when requireClient is set
// (SSL listeners: the certificate is the client's identity), and may
// present one otherwise (SASL_SSL: SASL names the client). Each handshake
// verifies against the CA bundle current at that moment, so a reload of
// clientCAs applies to the next connection.
func (c *Certs) ServerConfig(clientCAs *ClientCAs, requireClient bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
		// Full-size records from the first byte: the broker's replies
		// are bulk data, and small records cost a seal and a write
		// each.
		DynamicRecordSizingDisabled: true,
	}
	if clientCAs == nil {
		return cfg
	}
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	if requireClient {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	// The config a handshake uses is rebuilt when the bundle changes:
	// tls.Config.ClientCAs is read per handshake, but a Config must not
	// be changed once in use.
	type built struct {
		pool *x509.CertPool
		cfg  *tls.Config
	}
	var cur atomic.Pointer[built]
	base := cfg.Clone()
	cfg.ClientCAs = clientCAs.Pool()
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		pool := clientCAs.Pool()
		if b := cur.Load(); b != nil && b.pool == pool {
			return b.cfg, nil
		}
		next := base.Clone()
		next.ClientCAs = pool
		cur.Store(&built{pool: pool, cfg: next})
		return next, nil
	}
	return cfg
}

// ClientCAs is the CA bundle client certificates must chain to (mutual
// TLS), read from a PEM file and reloaded by Reload (on SIGHUP) like
// Certs: new handshakes verify against the new bundle, connections
// already up stay.
type ClientCAs struct {
	file string
	pool atomic.Pointer[x509.CertPool]
}

// LoadClientCAs reads the PEM CA certificates in file.
func LoadClientCAs(file string) (*ClientCAs, error) {
	c := &ClientCAs{file: file}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the file again. On error the bundle in use stays.
func (c *ClientCAs) Reload() error {
	pool, err := LoadCAPool(c.file)
	if err != nil {
		return err
	}
	c.pool.Store(pool)
	return nil
}

// Pool is the bundle in use.
func (c *ClientCAs) Pool() *x509.CertPool { return c.pool.Load() }

// LoadCAPool reads PEM CA certificates from file.
func LoadCAPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("auth: tls client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("auth: tls client CA %s: %w", file, errNoPEM)
	}
	return pool, nil
}

var errNoPEM = errors.New("no PEM certificate found")

// Anonymous is the principal of a client nothing identifies (PLAINTEXT,
// or SSL without a client certificate), as Kafka names it.
const Anonymous = "User:ANONYMOUS"

// TLSPrincipal is the principal of a TLS connection: User:<CN> of the
// verified client certificate, or Anonymous without one.
func TLSPrincipal(st tls.ConnectionState) string {
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return Anonymous
	}
	cn := st.PeerCertificates[0].Subject.CommonName
	if cn == "" {
		return Anonymous
	}
	return UserPrincipal(cn)
}

// UserPrincipal is Kafka's principal for a user name: "User:" + name.
func UserPrincipal(name string) string { return "User:" + name }
