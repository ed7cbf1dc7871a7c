// Package testca makes throwaway TLS material for tests (and for `pitwall
// bench`'s SASL_SSL broker): a CA generated with crypto/x509 in a temp dir, and server and client certificates it
// signs (ECDSA P-256, valid for a day). Nothing it makes is ever committed.
//
//	ca := testca.New(t)
//	srv := ca.Issue(t, "localhost", "127.0.0.1")  // a server's cert and key files
//	cli := ca.Issue(t, "edge")                    // a client's, CN "edge" (principal User:edge)
//	ca.CertFile                                   // the CA to trust (--tls-ca, ?ca=)
package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	// CertFile is the CA's certificate, PEM.
	CertFile string
	// CertPEM is the same, as text.
	CertPEM string

	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// Pair is an issued certificate and its key, as files and as PEM text.
type Pair struct {
	CertFile, KeyFile string
	CertPEM, KeyPEM   string
}

// New makes a CA in a temp dir of t.
func New(t testing.TB) *CA {
	t.Helper()
	ca, err := Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// Issue signs a certificate with common name cn, good for both server and
// client use, with hosts (names or IP addresses) as its subject
// alternative names.
func (ca *CA) Issue(t testing.TB, cn string, hosts ...string) Pair {
	t.Helper()
	p, err := ca.IssueFiles(cn, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Generate makes a CA whose files go to dir (benchmarks use it outside
// tests).
func Generate(dir string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Pitwall test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{dir: dir, cert: cert, key: key}
	ca.CertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if ca.CertFile, err = ca.write("ca.pem", ca.CertPEM); err != nil {
		return nil, err
	}
	return ca, nil
}

// IssueFiles is Issue outside tests.
func (ca *CA) IssueFiles(cn string, hosts ...string) (Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Pair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return Pair{}, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, err
	}
	p := Pair{
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
	if p.CertFile, err = ca.write(cn+".pem", p.CertPEM); err != nil {
		return Pair{}, err
	}
	if p.KeyFile, err = ca.write(cn+"-key.pem", p.KeyPEM); err != nil {
		return Pair{}, err
	}
	return p, nil
}

func (ca *CA) write(name, data string) (string, error) {
	path := filepath.Join(ca.dir, name)
	return path, os.WriteFile(path, []byte(data), 0o600)
}

// serial is a random serial number; crypto/rand does not fail (Go 1.24+).
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
