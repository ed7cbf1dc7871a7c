package auth

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Protocol is a listener's security protocol, with Kafka's names
// (security.protocol / listener.security.protocol.map).
type Protocol string

// The four protocols Kafka listeners speak.
const (
	Plaintext     Protocol = "PLAINTEXT"
	SSL           Protocol = "SSL"
	SASLPlaintext Protocol = "SASL_PLAINTEXT"
	SASLSSL       Protocol = "SASL_SSL"
)

// TLS says whether connections on p are wrapped in TLS.
func (p Protocol) TLS() bool { return p == SSL || p == SASLSSL }

// SASL says whether clients on p must authenticate with SASL before any
// request but ApiVersions, SaslHandshake and SaslAuthenticate.
func (p Protocol) SASL() bool { return p == SASLPlaintext || p == SASLSSL }

// ErrListener is wrapped by every error ParseEndpoints returns.
var ErrListener = errors.New("auth: invalid listener")

// Endpoint is one entry of a listener list: PROTOCOL://HOST:PORT.
type Endpoint struct {
	Protocol Protocol
	// Addr is HOST:PORT (HOST may be empty: every address).
	Addr string
}

func (e Endpoint) String() string { return string(e.Protocol) + "://" + e.Addr }

// ParseEndpoints parses Kafka's listener form: a comma-separated list of
// [PROTOCOL://]HOST:PORT, a bare HOST:PORT being PLAINTEXT. Each protocol
// may appear once (listeners are named by their protocol).
func ParseEndpoints(s string) ([]Endpoint, error) {
	var eps []Endpoint
	seen := map[Protocol]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ep := Endpoint{Protocol: Plaintext, Addr: item}
		if proto, addr, ok := strings.Cut(item, "://"); ok {
			ep.Protocol, ep.Addr = Protocol(strings.ToUpper(proto)), addr
		}
		switch ep.Protocol {
		case Plaintext, SSL, SASLPlaintext, SASLSSL:
		default:
			return nil, fmt.Errorf("%w: %q: protocol %q is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", ErrListener, item, ep.Protocol)
		}
		if _, _, err := net.SplitHostPort(ep.Addr); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrListener, item, err)
		}
		if seen[ep.Protocol] {
			return nil, fmt.Errorf("%w: %s given twice", ErrListener, ep.Protocol)
		}
		seen[ep.Protocol] = true
		eps = append(eps, ep)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("%w: empty list", ErrListener)
	}
	return eps, nil
}
