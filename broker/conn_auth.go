package broker

// A connection's identity: the TLS handshake of SSL and SASL_SSL
// listeners, and the gate that lets a client on a SASL listener send
// nothing but ApiVersions, SaslHandshake and SaslAuthenticate until it has
// authenticated (17_sasl_handshake.go, 36_sasl_authenticate.go).

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

const anonymous = auth.Anonymous

// handshake runs the TLS handshake of a connection on a TLS listener,
// within RequestTimeout, and takes the client certificate's principal. A
// client that does not speak TLS (a plaintext Kafka client on an SSL
// port) fails here: counted, logged once a minute per kind, closed.
func (c *conn) handshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	tc.SetDeadline(time.Now().Add(c.s.cfg.RequestTimeout))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		kind := "tls_handshake"
		var rec tls.RecordHeaderError
		if errors.As(err, &rec) {
			kind = "tls_not_tls" // e.g. a plaintext client on an SSL listener
		}
		c.s.metrics.connectionsClosed.WithLabelValues(kind).Inc()
		c.s.slow.report(kind, err, "remote", c.remote, "listener", string(c.l.proto))
		return err
	}
	tc.SetDeadline(time.Time{})
	if c.l.proto == auth.SSL {
		c.principal = auth.TLSPrincipal(tc.ConnectionState())
	}
	return nil
}

// mayBeforeAuth says whether a request with key may come before SASL
// authentication. Any other closes the connection, as Kafka closes it.
func (c *conn) mayBeforeAuth(key int16) bool {
	switch key {
	case apiVersionsAPI.key, saslHandshakeAPI.key, saslAuthenticateAPI.key:
		return true
	}
	c.s.metrics.connectionsClosed.WithLabelValues("unauthenticated").Inc()
	c.s.slow.report("unauthenticated", fmt.Errorf("api key %d before SASL authentication", key), "remote", c.remote, "listener", string(c.l.proto))
	return false
}

// saslState is a connection's SASL exchange: the mechanism chosen by
// SaslHandshake and the session SaslAuthenticate steps.
type saslState struct {
	mechanism string
	session   auth.Session
}
