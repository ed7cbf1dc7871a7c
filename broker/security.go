package broker

// The broker's security: TLS on SSL and SASL_SSL listeners, SASL
// authentication on SASL listeners (17_sasl_handshake.go,
// 36_sasl_authenticate.go), the SCRAM credential store and the ACL
// authorizer. The mechanisms, the stores and the authorizer live in
// internal/auth; this file holds what the server keeps of them and the
// checks the handlers call.

import (
	"crypto/tls"
	"errors"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

// DefaultSASLMechanisms are the mechanisms SASL listeners offer unless
// Config.SASLMechanisms says otherwise. Read-only.
var DefaultSASLMechanisms = []string{auth.ScramSHA256, auth.ScramSHA512}

// validateSecurity checks the listeners, TLS, SASL and authorizer
// fields of c.
func (c Config) validateSecurity() error {
	eps, err := auth.ParseEndpoints(c.Listen)
	if err != nil {
		return fmt.Errorf("%w: Listen %q: %v", ErrConfig, c.Listen, err)
	}
	if _, err := parseAdvertise(c.Advertise, eps); err != nil {
		return fmt.Errorf("%w: Advertise %q: %v", ErrConfig, c.Advertise, err)
	}
	needTLS := false
	for _, ep := range eps {
		needTLS = needTLS || ep.Protocol.TLS()
	}
	if needTLS && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		return fmt.Errorf("%w: SSL and SASL_SSL listeners need TLSCertFile and TLSKeyFile (--tls-cert, --tls-key)", ErrConfig)
	}
	if (c.TLSCertFile != "") != (c.TLSKeyFile != "") {
		return fmt.Errorf("%w: TLSCertFile and TLSKeyFile go together", ErrConfig)
	}
	for _, m := range c.SASLMechanisms {
		if !auth.KnownMechanism(m) {
			return fmt.Errorf("%w: SASL mechanism %q is not %s", ErrConfig, m, strings.Join(auth.Mechanisms, ", "))
		}
	}
	if c.Authorizer != "" && c.Authorizer != "acl" {
		return fmt.Errorf("%w: Authorizer %q is not \"acl\" (or empty: allow all)", ErrConfig, c.Authorizer)
	}
	for _, p := range c.SuperUsers {
		if _, err := auth.ParsePrincipal(p); err != nil {
			return fmt.Errorf("%w: SuperUsers: %v", ErrConfig, err)
		}
	}
	return nil
}

// security is what the server keeps of its security configuration.
type security struct {
	log *slog.Logger
	// certs is the TLS certificate (nil without TLS listeners);
	// clientCAs verify client certificates (nil: none asked for).
	certs     *auth.Certs
	clientCAs *x509.CertPool
	// mechanisms are those SASL listeners offer; authn checks logins
	// against users, the SCRAM credential store.
	mechanisms []string
	users      *auth.Users
	authn      *auth.Authenticator
	// acls is the ACL store, kept whether or not it is enforced; authz
	// is it when Config.Authorizer is "acl", nil otherwise, so that
	// handlers pay nothing for checks that are off.
	acls  *auth.ACLs
	authz *auth.ACLs
	// failedLogins counts failed SASL authentications; loginLog logs
	// them once a minute per client address, denyLog denials once a
	// minute per principal, resource and operation.
	failedLogins prometheus.Counter
	denials      prometheus.Counter
	loginLog     *badInput
	denyLog      *badInput
}

// openSecurity loads the TLS material and opens the security stores
// under DataDir.
func (s *Server) openSecurity() (*security, error) {
	sec := &security{log: s.log, mechanisms: s.cfg.SASLMechanisms}
	sec.failedLogins = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pitwall_broker_sasl_failed_total", Help: "Failed SASL authentications (wrong password, unknown user, malformed exchange).",
	})
	sec.denials = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pitwall_broker_authorization_denied_total", Help: "Operations the ACL authorizer denied.",
	})
	s.metrics.registry.MustRegister(sec.failedLogins, sec.denials)
	sec.loginLog = newSparseLog(s.log, "SASL authentication failed")
	sec.denyLog = newSparseLog(s.log, "authorization denied")
	var err error
	if sec.users, err = auth.OpenUsers(s.cfg.DataDir); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	sec.authn = auth.NewAuthenticator(sec.users)
	if sec.acls, err = auth.OpenACLs(s.cfg.DataDir, s.cfg.SuperUsers); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if s.cfg.Authorizer == "acl" {
		sec.authz = sec.acls
	}
	if s.cfg.TLSCertFile != "" {
		if sec.certs, err = auth.LoadCerts(s.cfg.TLSCertFile, s.cfg.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	if s.cfg.TLSClientCAFile != "" {
		if sec.clientCAs, err = auth.LoadCAPool(s.cfg.TLSClientCAFile); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	return sec, nil
}

// offers says whether SASL listeners offer mechanism.
func (sec *security) offers(mechanism string) bool {
	for _, m := range sec.mechanisms {
		if m == mechanism {
			return true
		}
	}
	return false
}

// tlsConfig is the TLS configuration of a listener speaking proto.
func (sec *security) tlsConfig(proto auth.Protocol) *tls.Config {
	return sec.certs.ServerConfig(sec.clientCAs, proto == auth.SSL)
}

// ReloadTLS reads the TLS certificate and key files again (`pitwall
// broker` calls it on SIGHUP). Connections already open keep theirs; new
// handshakes use the new one. On error the old certificate stays.
func (s *Server) ReloadTLS() error {
	if s.sec == nil || s.sec.certs == nil {
		return nil
	}
	if err := s.sec.certs.Reload(); err != nil {
		s.log.Error("tls reload failed; keeping the certificate in use", "err", err)
		return err
	}
	leaf := s.sec.certs.Leaf()
	s.log.Info("tls certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
	return nil
}

// authorized says whether c's principal may perform op on the resource:
// always, when the authorizer is off. A denial is counted and logged
// (once a minute per principal, operation and resource).
func (c *conn) authorized(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	z := c.s.sec.authz
	if z == nil {
		return true
	}
	if z.Authorize(auth.Request{Principal: c.principal, Host: clientIP(c.nc), Operation: op, ResourceType: rt, ResourceName: name}) {
		return true
	}
	sec := c.s.sec
	sec.denials.Inc()
	key := c.principal + " " + op.String() + " " + rt.String() + ":" + name
	sec.denyLog.report(key, errDenied, "principal", c.principal, "operation", op.String(), "resource", rt.String()+":"+name, "remote", c.remote)
	return false
}

// visible says whether c's principal may describe the topic, for
// listings that leave out what it may not see (Metadata for all topics):
// not logged as a denial.
func (c *conn) visible(topic string) bool {
	z := c.s.sec.authz
	return z == nil || z.Authorize(auth.Request{Principal: c.principal, Host: clientIP(c.nc), Operation: kmsg.ACLOperationDescribe, ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: topic})
}

// mayTopic and mayGroup are authorized for the two common resources;
// mayCluster for the cluster.
func (c *conn) mayTopic(op kmsg.ACLOperation, topic string) bool {
	return c.authorized(op, kmsg.ACLResourceTypeTopic, topic)
}

func (c *conn) mayGroup(op kmsg.ACLOperation, group string) bool {
	return c.authorized(op, kmsg.ACLResourceTypeGroup, group)
}

func (c *conn) mayCluster(op kmsg.ACLOperation) bool {
	return c.authorized(op, kmsg.ACLResourceTypeCluster, auth.ClusterName)
}

var errDenied = errors.New("not allowed by the ACLs")

// adminLog records an administrative change (topics, ACLs, users) with
// who made it.
func (c *conn) adminLog(msg string, attrs ...any) {
	c.s.log.Info(msg, append(attrs, "principal", c.principal, "remote", c.remote)...)
}
