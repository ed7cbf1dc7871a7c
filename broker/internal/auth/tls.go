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
// present one otherwise (SASL_SSL: SASL names the client).
func (c *Certs) ServerConfig(clientCAs *x509.CertPool, requireClient bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
	if clientCAs != nil {
		cfg.ClientCAs = clientCAs
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if requireClient {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg
}

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
