package broker

// SaslAuthenticate (key 36), versions 0-2.
//
// Carries the SASL exchange after SaslHandshake v1: one request for PLAIN,
// two for SCRAM (client-first, client-final). Success makes the
// connection's principal User:<name>. A failure answers
// SASL_AUTHENTICATION_FAILED after FailedAuthDelay (Kafka's
// connection.failed.authentication.delay.ms, against password guessing)
// and closes the connection, as Kafka does; it is counted
// (pitwall_broker_sasl_failed_total) and logged once a minute per client
// address, never with what the client sent. Sessions do not expire
// (SessionLifetimeMillis 0, v1+): re-authentication (KIP-368) is not
// served.
//
// After a v0 SaslHandshake the same exchange comes as bare tokens
// outside Kafka's framing (handleSASLToken).

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

var saslAuthenticateAPI = api{key: 36, name: "SaslAuthenticate", minVersion: 0, maxVersion: 2, handle: handleSaslAuthenticate}

// FailedAuthDelay is how long the answer to a failed SASL authentication
// waits.
const FailedAuthDelay = 100 * time.Millisecond

// maxSASLToken is the largest bare SASL token accepted after a v0
// handshake (SCRAM and PLAIN messages are a few hundred bytes).
const maxSASLToken = 64 << 10

func handleSaslAuthenticate(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if c.authenticated || c.sasl.mechanism == "" {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		resp.ErrorMessage = errorMessage(errors.New("SaslAuthenticate without SaslHandshake, or after authenticating"))
		c.closeAfterReply = true
		return ready(resp)
	}
	out, err := c.saslStep(req.SASLAuthBytes)
	if err != nil {
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = errorMessage(fmt.Errorf("authentication failed with SASL mechanism %s (invalid credentials)", c.sasl.mechanism))
		return ready(resp)
	}
	resp.SASLAuthBytes = out
	return ready(resp)
}

// handleSASLToken steps the exchange with a bare token after a v0
// SaslHandshake. A failure closes the connection without an answer, as
// Kafka does at v0.
func (c *conn) handleSASLToken(token []byte) (*reply, error) {
	out, err := c.saslStep(token)
	if err != nil {
		return nil, errCloseConn
	}
	if c.authenticated {
		c.saslRaw = false
	}
	return &reply{token: out}, nil
}

// saslStep steps the connection's exchange with the client's message. On
// success the connection becomes authenticated as the user. On failure
// it is counted and logged, the connection will close once answered, and
// the answer waits FailedAuthDelay.
func (c *conn) saslStep(msg []byte) ([]byte, error) {
	st := &c.sasl
	if st.session == nil {
		sess, err := c.s.sec.authn.Start(st.mechanism)
		if err != nil {
			return nil, c.saslFailed(err)
		}
		st.session = sess
	}
	out, done, err := st.session.Step(msg)
	if err != nil {
		return nil, c.saslFailed(err)
	}
	if done {
		c.authenticated = true
		c.principal = auth.UserPrincipal(st.session.User())
		c.s.log.Debug("authenticated", "principal", c.principal, "mechanism", st.mechanism, "remote", c.remote)
		st.session = nil
	}
	return out, nil
}

// saslFailed counts and logs a failed exchange, marks the connection to
// close once answered, and waits FailedAuthDelay (on the read goroutine,
// which reads nothing more from this connection anyway).
func (c *conn) saslFailed(err error) error {
	sec := c.s.sec
	sec.failedLogins.Inc()
	sec.loginLog.report(clientIP(c.nc), err, "remote", c.remote, "mechanism", c.sasl.mechanism, "listener", string(c.l.proto))
	c.closeAfterReply = true
	t := time.NewTimer(FailedAuthDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.s.draining:
	}
	return err
}
