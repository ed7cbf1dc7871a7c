package broker

// SaslHandshake (key 17), versions 0-1.
//
// A client on a SASL_PLAINTEXT or SASL_SSL listener names the mechanism it
// will use; the answer lists those offered (Config.SASLMechanisms). After
// v1 the exchange goes in SaslAuthenticate requests (KIP-152), as every
// client here sends it (librdkafka, sarama's default SASLHandshakeV1,
// franz-go, kafka-go); after v0 it goes as bare length-prefixed tokens
// outside Kafka's framing (conn.saslRaw, handleSASLToken). librdkafka
// needs v0 advertised to believe handshakes are served at all.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var saslHandshakeAPI = api{key: 17, name: "SaslHandshake", minVersion: 0, maxVersion: 1, handle: handleSaslHandshake}

func handleSaslHandshake(c *conn, kreq kmsg.Request) *reply {
	req := kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SupportedMechanisms = c.s.sec.mechanisms
	switch {
	case !c.l.proto.SASL() || c.authenticated || c.sasl.mechanism != "":
		// Kafka answers ILLEGAL_SASL_STATE and closes the connection.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		c.s.slow.report("sasl_state", fmt.Errorf("SaslHandshake on a %s listener in the wrong state", c.l.proto), "remote", c.remote)
		c.closeAfterReply = true
	case !c.s.sec.offers(req.Mechanism):
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	default:
		c.sasl.mechanism = req.Mechanism
		c.saslRaw = req.Version == 0
	}
	return ready(resp)
}
