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
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/broker/internal/auth"
	"github.com/pitwall/pitwall/broker/internal/partition"
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
	// clientCAs verify client certificates (nil: none asked for). Both
	// are reloaded by ReloadTLS.
	certs     *auth.Certs
	clientCAs *auth.ClientCAs
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
		if sec.clientCAs, err = auth.LoadClientCAs(s.cfg.TLSClientCAFile); err != nil {
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

// ReloadTLS reads the TLS certificate and key files again, and the client
// CA bundle of mutual TLS (`pitwall broker` calls it on SIGHUP).
// Connections already open keep what they were verified with; new
// handshakes use the new files. On error what failed to load stays as it
// was (the other file is still reloaded).
func (s *Server) ReloadTLS() error {
	if s.sec == nil {
		return nil
	}
	var errs []error
	if certs := s.sec.certs; certs != nil {
		if err := certs.Reload(); err != nil {
			s.log.Error("tls reload failed; keeping the certificate in use", "err", err)
			errs = append(errs, err)
		} else {
			leaf := certs.Leaf()
			s.log.Info("tls certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter)
		}
	}
	if cas := s.sec.clientCAs; cas != nil {
		if err := cas.Reload(); err != nil {
			s.log.Error("tls client CA reload failed; keeping the CAs in use", "err", err)
			errs = append(errs, err)
		} else {
			s.log.Info("tls client CAs reloaded", "file", s.cfg.TLSClientCAFile)
		}
	}
	return errors.Join(errs...)
}

// authorized says whether c's principal may perform op on the resource:
// always, when the authorizer is off. A denial is counted and logged
// (once a minute per principal, operation and resource).
func (c *conn) authorized(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	if c.s.sec.authz == nil || c.allows(op, rt, name) {
		return true
	}
	sec := c.s.sec
	sec.denials.Inc()
	key := c.principal + " " + op.String() + " " + rt.String() + ":" + name
	sec.denyLog.report(key, errDenied, "principal", c.principal, "operation", op.String(), "resource", rt.String()+":"+name, "remote", c.remote)
	return false
}

// allows asks the authorizer (which must be on), logging nothing: for
// checks whose denial is not an error (one of two ways to be allowed, a
// listing that leaves out what may not be seen).
func (c *conn) allows(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	return c.s.sec.authz.Authorize(auth.Request{Principal: c.principal, Host: clientIP(c.nc), Operation: op, ResourceType: rt, ResourceName: name})
}

// visible says whether c's principal may describe the topic, for
// listings that leave out what it may not see (Metadata for all topics).
func (c *conn) visible(topic string) bool {
	return c.s.sec.authz == nil || c.allows(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, topic)
}

// mayTopic, mayGroup and mayCluster are authorized for one resource.
func (c *conn) mayTopic(op kmsg.ACLOperation, topic string) bool {
	return c.authorized(op, kmsg.ACLResourceTypeTopic, topic)
}

func (c *conn) mayGroup(op kmsg.ACLOperation, group string) bool {
	return c.authorized(op, kmsg.ACLResourceTypeGroup, group)
}

func (c *conn) mayCluster(op kmsg.ACLOperation) bool {
	return c.authorized(op, kmsg.ACLResourceTypeCluster, auth.ClusterName)
}

// mayCreateTopic is Kafka's rule for creating a topic: CREATE on the
// cluster or on the topic.
func (c *conn) mayCreateTopic(topic string) bool {
	return c.s.sec.authz == nil || c.allows(kmsg.ACLOperationCreate, kmsg.ACLResourceTypeCluster, auth.ClusterName) ||
		c.authorized(kmsg.ACLOperationCreate, kmsg.ACLResourceTypeTopic, topic)
}

// mayIdempotentWrite is Kafka's rule for an idempotent producer's id
// (KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
func (c *conn) mayIdempotentWrite() bool {
	z := c.s.sec.authz
	if z == nil || c.allows(kmsg.ACLOperationIdempotentWrite, kmsg.ACLResourceTypeCluster, auth.ClusterName) ||
		z.AllowsAny(auth.Request{Principal: c.principal, Host: clientIP(c.nc), Operation: kmsg.ACLOperationWrite, ResourceType: kmsg.ACLResourceTypeTopic}) {
		return true
	}
	return c.mayCluster(kmsg.ACLOperationIdempotentWrite) // logs the denial
}

// authTopic returns the topic a request needs op on: TOPIC_AUTHORIZATION_
// FAILED without op, and auto-created (if allowCreate and the broker
// allows it) only for a principal that may create it, as Kafka does.
func (c *conn) authTopic(name string, op kmsg.ACLOperation, allowCreate bool) (*partition.Topic, error) {
	if c.s.sec.authz == nil {
		return c.s.autoTopic(name, allowCreate)
	}
	if !c.mayTopic(op, name) {
		return nil, errTopicAuthorization
	}
	if allowCreate && c.s.topics.Lookup(name) == nil && !c.mayCreateTopic(name) {
		allowCreate = false
	}
	return c.s.autoTopic(name, allowCreate)
}

// The operations each resource type reports in authorized-operations bit
// fields (KIP-430), as Kafka lists them.
var (
	topicOperations = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	groupOperations   = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete}
	clusterOperations = []kmsg.ACLOperation{kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe}
)

// authorizedOperations is the bit field (bit n for operation n) of those
// of ops c's principal may perform on the resource: all of them when the
// authorizer is off, as Kafka without an authorizer answers.
func (c *conn) authorizedOperations(rt kmsg.ACLResourceType, name string, ops []kmsg.ACLOperation) int32 {
	var bits int32
	for _, op := range ops {
		if c.s.sec.authz == nil || c.allows(op, rt, name) {
			bits |= 1 << op
		}
	}
	return bits
}

// metadataAuthorizedOperations fills in the authorized operations a
// Metadata request asks for (v8+): each topic answered without error, and
// (v8-v10) the cluster.
func (c *conn) metadataAuthorizedOperations(req *kmsg.MetadataRequest, resp *kmsg.MetadataResponse) {
	if req.IncludeTopicAuthorizedOperations {
		for i := range resp.Topics {
			if mt := &resp.Topics[i]; mt.ErrorCode == 0 && mt.Topic != nil {
				mt.AuthorizedOperations = c.authorizedOperations(kmsg.ACLResourceTypeTopic, *mt.Topic, topicOperations)
			}
		}
	}
	if req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = c.authorizedOperations(kmsg.ACLResourceTypeCluster, auth.ClusterName, clusterOperations)
	}
}

// Authorization failures, mapped to Kafka's codes in errors.go.
var (
	errTopicAuthorization = errors.New("broker: not authorized to access the topic")
	errGroupAuthorization = errors.New("broker: not authorized to access the group")
	errDenied             = errors.New("not allowed by the ACLs")
)

// adminLog records an administrative change (topics, ACLs, users) with
// who made it.
func (c *conn) adminLog(msg string, attrs ...any) {
	c.s.log.Info(msg, append(attrs, "principal", c.principal, "remote", c.remote)...)
}

// fetchDenied answers a fetch naming a topic the principal may not READ:
// at once, with what the other topics hold and TOPIC_AUTHORIZATION_FAILED
// for the denied ones' partitions. nil when every topic may be read.
func (c *conn) fetchDenied(req *kmsg.FetchRequest) *reply {
	var allowed, denied []kmsg.FetchRequestTopic
	for _, rt := range req.Topics {
		if c.mayTopic(kmsg.ACLOperationRead, rt.Topic) {
			allowed = append(allowed, rt)
		} else {
			denied = append(denied, rt)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	sub := *req
	sub.Topics = allowed
	resp, _, _ := c.s.fetchOnce(&sub)
	appendFetchRefusals(resp.FetchResponse, denied, kerr.TopicAuthorizationFailed.Code)
	return ready(resp)
}

// appendFetchRefusals answers every partition of topics with code and
// nothing read.
func appendFetchRefusals(resp *kmsg.FetchResponse, topics []kmsg.FetchRequestTopic, code int16) {
	for _, rt := range topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.PreferredReadReplica = -1
			sp.RecordBatches = []byte{}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
}
