package bench

import (
	"context"
	"testing"
)

// --security SASL_SSL --peer plaintext: the embedded broker gets a
// SASL_SSL listener (throwaway CA, a SCRAM user created through its
// PLAINTEXT listener) and the identical workload then runs on a PLAINTEXT
// broker: both read back exactly what they wrote. SSL alike, with SCRAM-SHA-256 for the other mechanism.
func TestSecurityBesidePlaintext(t *testing.T) {
	for _, tc := range []struct{ security, mechanism, name string }{
		{SecuritySASLSSL, "SCRAM-SHA-256", "pitwall-sasl_ssl"},
		{SecuritySSL, "", "pitwall-ssl"},
	} {
		cfg := tiny(Consume, "", "all")
		cfg.Security, cfg.Mechanism, cfg.Peer = tc.security, tc.mechanism, PeerPlaintext
		rep, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.security, err)
		}
		if len(rep.Results) != 2 || rep.Ratio == nil {
			t.Fatalf("%s: %d results, ratio %v", tc.security, len(rep.Results), rep.Ratio)
		}
		checkResult(t, rep.Results[0], tc.name, cfg.Records, false)
		checkResult(t, rep.Results[1], TargetPitwall, cfg.Records, false)
		checkResult(t, *rep.Results[0].Fill, "", cfg.Records, true)
	}
}
