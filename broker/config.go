package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"time"

	"github.com/pitwall/pitwall/broker/internal/auth"
	"github.com/pitwall/pitwall/broker/internal/cluster"
	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Config configures a Server. An empty field means its default; the
// defaults are the Default* constants below, which `pitwall broker` uses
// for its flags too, so each is written once.
type Config struct {
	// Listen is the listeners, in Kafka's form: a comma list of
	// [PROTOCOL://]HOST:PORT with PROTOCOL one of PLAINTEXT (a bare
	// HOST:PORT), SSL, SASL_PLAINTEXT and SASL_SSL, each at most once.
	// Default DefaultListen; use "127.0.0.1:0" for a random port.
	Listen string
	// Advertise is the host:port clients are told to connect to in
	// Metadata, per listener in the same form as Listen (a bare HOST:PORT
	// is PLAINTEXT's); a client is given the address of the listener it
	// came in on. Default: the address actually bound, or the host name
	// when bound to an unspecified address (0.0.0.0, ::).
	Advertise string
	// TLSCertFile and TLSKeyFile are the PEM certificate (chain) and key
	// of SSL and SASL_SSL listeners, required with either; Server.ReloadTLS
	// reads them again. Default none.
	TLSCertFile string
	TLSKeyFile  string
	// TLSClientCAFile holds PEM CA certificates for mutual TLS: on SSL
	// listeners clients must then present a certificate they signed, and
	// their principal is User:<the certificate's CN>; on SASL_SSL a client
	// certificate is checked if given (SASL names the client).
	// Server.ReloadTLS reads it again. Default none: no client
	// certificates asked for, SSL clients are User:ANONYMOUS.
	TLSClientCAFile string
	// SASLMechanisms are the mechanisms SASL listeners offer:
	// SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (checked against the stored
	// SCRAM credentials). Default DefaultSASLMechanisms.
	SASLMechanisms []string
	// Authorizer is "acl" to check every request against the ACLs
	// (CreateAcls), or "" (the default) to allow everything, as Kafka
	// without an authorizer.
	Authorizer string
	// SuperUsers are principals ("User:admin") the authorizer allows
	// everything. Default none.
	SuperUsers []string
	// DataDir holds the topics. Required.
	DataDir string
	// Fsync is when appended data is fsynced: "batch" (DefaultFsync: an
	// acks=all produce is answered only after its data is on disk; one
	// fsync serves every producer waiting at that moment), "interval" or
	// "never".
	Fsync string
	// FsyncInterval is the period for Fsync "interval". Default
	// DefaultFsyncInterval.
	FsyncInterval time.Duration
	// Partitions is the partition count of auto-created topics and of
	// CreateTopics requests that ask for the default. Default
	// DefaultPartitions.
	Partitions int
	// Retention is how long closed segments are kept, unless a topic sets
	// retention.ms. Default DefaultRetention; negative keeps data forever.
	Retention time.Duration
	// RetentionBytes caps each partition's size, unless a topic sets
	// retention.bytes. Default 0: unlimited.
	RetentionBytes int64
	// SegmentBytes is the segment roll size, unless a topic sets
	// segment.bytes. Default DefaultSegmentBytes.
	SegmentBytes int64
	// DisableAutoCreate turns off creating topics on first produce or
	// metadata request. Default false: topics are auto-created.
	DisableAutoCreate bool
	// MaxRequestBytes is the largest request frame accepted; a larger
	// length prefix closes the connection before anything is allocated.
	// Default DefaultMaxRequestBytes.
	MaxRequestBytes int32
	// FetchMaxBytes caps a fetch response's record bytes whatever the
	// request's MaxBytes asks (Kafka's fetch.max.bytes), except that the
	// first batch is always returned whole (KIP-74). Default
	// DefaultFetchMaxBytes.
	FetchMaxBytes int32
	// MaxMessageBytes is the largest record batch accepted, unless a topic
	// sets max.message.bytes. Default DefaultMaxMessageBytes.
	MaxMessageBytes int32
	// GroupInitialRebalanceDelay holds the first rebalance of a new (or
	// emptied) consumer group this long for more members to join
	// (Kafka's group.initial.rebalance.delay.ms; see group.Config).
	// Default 0: no delay; `pitwall broker` sets
	// KafkaGroupInitialRebalanceDelay, as Kafka.
	GroupInitialRebalanceDelay time.Duration
	// MaxPartitions is the most partitions a topic may have: each is a
	// directory with open files, so a request for 100000 is refused
	// rather than attempted. Default DefaultMaxPartitions.
	MaxPartitions int
	// RetentionCheckInterval is how often retention runs. Default
	// DefaultRetentionCheckInterval.
	RetentionCheckInterval time.Duration
	// MaxInflightRequestBytes is the broker-wide budget of request bytes
	// being read (Kafka's queued.max.request.bytes): a connection waits
	// for budget before reading more of a request's body, and a request's
	// buffer grows as its bytes arrive, so clients that announce large
	// requests and stall cannot make the broker hold more than this.
	// Default DefaultMaxInflightRequestBytes.
	MaxInflightRequestBytes int64
	// RequestTimeout is how long a request may take to arrive once its
	// first byte has (time spent waiting for MaxInflightRequestBytes
	// budget not counted), and how long a client may take to read a reply
	// the broker is writing; past it the connection is closed. Default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ConnectionsMaxIdle closes connections that have sent no request and
	// been owed no reply for this long (Kafka's connections.max.idle.ms).
	// Default DefaultConnectionsMaxIdle; negative never closes them.
	ConnectionsMaxIdle time.Duration
	// MaxConnections is the most client connections served at once;
	// further ones are closed as they are accepted, with a log line (at
	// most one a minute). Default DefaultMaxConnections.
	MaxConnections int
	// MaxConnectionsPerIP is the same limit per client address. Default
	// DefaultMaxConnectionsPerIP.
	MaxConnectionsPerIP int
	// FetchMemory caps the record bytes held in fetch replies across all
	// connections (read and not yet written to their clients). A fetch
	// finding the budget spent answers with less, or waits (within its
	// MaxWaitMillis) for budget to free. Default DefaultFetchMemory.
	FetchMemory int64
	// ScrubInterval is how often every closed segment is read back and its
	// batches' CRCs checked, so damage is found before a reader meets it.
	// Default DefaultScrubInterval; negative turns the scrub off.
	ScrubInterval time.Duration
	// SkipReadChecks turns off the CRC check of fetched batches the broker
	// has not checked yet this run (its own appends were checked when
	// produced; see commitlog's verify.go). It exists to measure what the
	// checks cost; the scrub still runs. Default false: checked.
	SkipReadChecks bool
	// NodeID is this broker's id in Metadata. Default 0.
	NodeID int32
	// Voters turns on cluster mode (cluster.go): the controller quorum,
	// every broker of the cluster, in Kafka's controller.quorum.voters
	// form "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"; NodeID
	// must be one of them. Default "": a single broker, exactly as
	// without cluster support.
	Voters string
	// ControllerListen is the address the controller quorum's traffic is
	// served on. Default: this node's address in Voters.
	ControllerListen string
	// DefaultReplicationFactor is the replication factor of auto-created
	// topics and of CreateTopics asking for the default (-1). Default
	// min(3, number of voters).
	DefaultReplicationFactor int
	// BrokerSessionTimeout fences a broker of a cluster whose heartbeats
	// stop reaching the controller for this long; its partitions get new
	// leaders from their ISR. Default DefaultBrokerSessionTimeout.
	BrokerSessionTimeout time.Duration
	// LeaderImbalanceCheckInterval is how often the active controller
	// moves partition leaders back to their preferred replica (the first
	// of a partition's replicas) once it is live and in the ISR, for
	// every broker with more than 10% of its preferred partitions led
	// elsewhere (Kafka's leader.imbalance.check.interval.seconds and
	// leader.imbalance.per.broker.percentage). Default
	// DefaultLeaderImbalanceCheckInterval.
	LeaderImbalanceCheckInterval time.Duration
	// DisableLeaderRebalance turns that off (Kafka's
	// auto.leader.rebalance.enable=false); ElectLeaders still moves
	// leaders on request. Default false: leaders are rebalanced.
	DisableLeaderRebalance bool
	// Logger receives the broker's logs. Default slog.Default().
	Logger *slog.Logger

	// beforeFsync, when set by a test, runs before each fsync of a
	// partition's log (partition.Config.BeforeFsync).
	beforeFsync func(topic string, partition int32)
	// fetchWaiting, when set by a test, runs each time a fetch starts
	// waiting for records (handleFetch).
	fetchWaiting func()
}

// Defaults of Config, in one place so Config, DescribeConfigs answers and
// `pitwall broker`'s flags agree.
const (
	DefaultListen          = "127.0.0.1:9092"
	DefaultFsync           = "batch"
	DefaultFsyncInterval   = 100 * time.Millisecond
	DefaultPartitions      = 12
	DefaultRetention       = 168 * time.Hour // Kafka's log.retention.hours
	DefaultSegmentBytes    = 1 << 30         // Kafka's log.segment.bytes
	DefaultMaxRequestBytes = 100 << 20       // Kafka's socket.request.max.bytes
	DefaultMaxMessageBytes = 1048588         // Kafka's message.max.bytes
	DefaultFetchMaxBytes   = 57671680        // Kafka's fetch.max.bytes
	DefaultMaxPartitions   = 10000
	// DefaultMaxInflightRequestBytes is Kafka's queued.max.request.bytes,
	// which Kafka leaves unlimited.
	DefaultMaxInflightRequestBytes = 64 << 20
	DefaultRequestTimeout          = 30 * time.Second
	DefaultConnectionsMaxIdle      = 10 * time.Minute // Kafka's connections.max.idle.ms
	// DefaultMaxConnections and DefaultMaxConnectionsPerIP keep an idle
	// connection's ~25 KiB times the limit well inside the broker's memory
	// target (Kafka's max.connections and max.connections.per.ip are
	// unlimited by default).
	DefaultMaxConnections      = 4000
	DefaultMaxConnectionsPerIP = 1000
	// DefaultFetchMemory keeps the broker under 200 MiB of RSS with 8
	// consumers of 64 MiB fetches (181 MiB; 225 MiB at 128 MiB, with the
	// same throughput: BENCHMARKS.md, BenchmarkBrokerRSS).
	DefaultFetchMemory   = 64 << 20
	DefaultScrubInterval = 24 * time.Hour
	// DefaultBrokerSessionTimeout is --broker-session-timeout.
	DefaultBrokerSessionTimeout = cluster.DefaultSessionTimeout
	// DefaultLeaderImbalanceCheckInterval is
	// --leader-imbalance-check-interval.
	DefaultLeaderImbalanceCheckInterval = cluster.DefaultRebalanceInterval
	// DefaultRetentionCheckInterval is also how often compaction runs.
	DefaultRetentionCheckInterval = time.Minute
	// KafkaGroupInitialRebalanceDelay is Kafka's
	// group.initial.rebalance.delay.ms, which `pitwall broker` uses.
	// Config's default is 0 so embedded brokers (tests, `pitwall up`)
	// form groups at once.
	KafkaGroupInitialRebalanceDelay = 3 * time.Second
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("broker: invalid config")

// withDefaults returns c with every empty field set to its default, or an
// error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		return c, fmt.Errorf("%w: DataDir is required", ErrConfig)
	}
	orDefault(&c.Listen, DefaultListen)
	orDefault(&c.Fsync, DefaultFsync)
	orDefault(&c.FsyncInterval, DefaultFsyncInterval)
	orDefault(&c.MaxPartitions, DefaultMaxPartitions)
	orDefault(&c.Partitions, DefaultPartitions)
	orDefault(&c.Retention, DefaultRetention)
	orDefault(&c.SegmentBytes, DefaultSegmentBytes)
	orDefault(&c.MaxRequestBytes, DefaultMaxRequestBytes)
	orDefault(&c.MaxMessageBytes, DefaultMaxMessageBytes)
	orDefault(&c.FetchMaxBytes, DefaultFetchMaxBytes)
	orDefault(&c.MaxInflightRequestBytes, DefaultMaxInflightRequestBytes)
	orDefault(&c.RequestTimeout, DefaultRequestTimeout)
	orDefault(&c.ConnectionsMaxIdle, DefaultConnectionsMaxIdle)
	orDefault(&c.MaxConnections, DefaultMaxConnections)
	orDefault(&c.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	orDefault(&c.FetchMemory, DefaultFetchMemory)
	orDefault(&c.ScrubInterval, DefaultScrubInterval)
	if len(c.SASLMechanisms) == 0 {
		c.SASLMechanisms = DefaultSASLMechanisms
	}
	if c.RetentionCheckInterval <= 0 {
		c.RetentionCheckInterval = DefaultRetentionCheckInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Voters != "" {
		if c.BrokerSessionTimeout < 0 {
			return c, fmt.Errorf("%w: BrokerSessionTimeout %v is negative", ErrConfig, c.BrokerSessionTimeout)
		}
		orDefault(&c.BrokerSessionTimeout, DefaultBrokerSessionTimeout)
		if c.LeaderImbalanceCheckInterval < 0 {
			return c, fmt.Errorf("%w: LeaderImbalanceCheckInterval %v is negative", ErrConfig, c.LeaderImbalanceCheckInterval)
		}
		orDefault(&c.LeaderImbalanceCheckInterval, DefaultLeaderImbalanceCheckInterval)
		voters, err := cluster.ParseVoters(c.Voters)
		if err != nil {
			return c, fmt.Errorf("%w: Voters: %v", ErrConfig, err)
		}
		orDefault(&c.DefaultReplicationFactor, min(3, len(voters)))
		if c.DefaultReplicationFactor < 1 || c.DefaultReplicationFactor > len(voters) {
			return c, fmt.Errorf("%w: DefaultReplicationFactor %d not in 1..%d (the voters)", ErrConfig, c.DefaultReplicationFactor, len(voters))
		}
		if !slices.ContainsFunc(voters, func(v cluster.Voter) bool { return v.ID == c.NodeID }) {
			return c, fmt.Errorf("%w: NodeID %d is not among the voters %s", ErrConfig, c.NodeID, c.Voters)
		}
		// Followers fetch from their leader's first listener without TLS
		// or SASL (replication.go): refuse what would leave them unable to.
		if eps, err := auth.ParseEndpoints(c.Listen); err == nil && len(eps) > 0 && eps[0].Protocol != auth.Plaintext {
			return c, fmt.Errorf("%w: Listen: in a cluster the first listener carries replication between brokers and must be PLAINTEXT (on a private address), not %s; put the %s listener after it", ErrConfig, eps[0].Protocol, eps[0].Protocol)
		}
	}
	return c, c.validate()
}

// orDefault sets *v to def if it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// validate checks c, defaults filled in, field by field in the order
// Config declares them, and names the first invalid one.
func (c Config) validate() error {
	if err := c.validateSecurity(); err != nil {
		return err
	}
	if _, err := commitlog.ParseFsyncPolicy(c.Fsync); err != nil {
		return fmt.Errorf("%w: Fsync: %v", ErrConfig, err)
	}
	for _, f := range []struct {
		invalid bool
		why     string
	}{
		{c.FsyncInterval < 0, fmt.Sprintf("FsyncInterval %v is negative", c.FsyncInterval)},
		{c.Partitions < 0 || c.Partitions > c.MaxPartitions, fmt.Sprintf("Partitions %d not in 1..%d (MaxPartitions)", c.Partitions, c.MaxPartitions)},
		{c.SegmentBytes < partition.MinSegmentBytes, fmt.Sprintf("SegmentBytes %d below %d", c.SegmentBytes, partition.MinSegmentBytes)},
		{c.MaxRequestBytes < 1024, fmt.Sprintf("MaxRequestBytes %d below 1024", c.MaxRequestBytes)},
		{c.MaxMessageBytes < 0, fmt.Sprintf("MaxMessageBytes %d is negative", c.MaxMessageBytes)},
		{c.FetchMaxBytes < 0, fmt.Sprintf("FetchMaxBytes %d is negative", c.FetchMaxBytes)},
		{c.GroupInitialRebalanceDelay < 0, fmt.Sprintf("GroupInitialRebalanceDelay %v is negative", c.GroupInitialRebalanceDelay)},
		{c.MaxInflightRequestBytes < 64<<10, fmt.Sprintf("MaxInflightRequestBytes %d below 64 KiB", c.MaxInflightRequestBytes)},
		{c.RequestTimeout < 0, fmt.Sprintf("RequestTimeout %v is negative", c.RequestTimeout)},
		{c.MaxConnections < 0, fmt.Sprintf("MaxConnections %d is negative", c.MaxConnections)},
		{c.MaxConnectionsPerIP < 0, fmt.Sprintf("MaxConnectionsPerIP %d is negative", c.MaxConnectionsPerIP)},
		{c.FetchMemory < 1<<20, fmt.Sprintf("FetchMemory %d below 1 MiB", c.FetchMemory)},
	} {
		if f.invalid {
			return fmt.Errorf("%w: %s", ErrConfig, f.why)
		}
	}
	return nil
}

// partitionConfig is what the partition registry needs of c (with
// defaults filled in): topic defaults, limits, and the logs' fsync policy.
func (c Config) partitionConfig(fsync commitlog.FsyncPolicy) partition.Config {
	return partition.Config{
		Dir:             c.DataDir,
		Partitions:      c.Partitions,
		MaxPartitions:   c.MaxPartitions,
		Retention:       c.Retention,
		RetentionBytes:  c.RetentionBytes,
		SegmentBytes:    c.SegmentBytes,
		MaxMessageBytes: c.MaxMessageBytes,
		Fsync:           fsync,
		FsyncInterval:   c.FsyncInterval,
		// The broker enforces max.message.bytes per topic itself; the
		// log only guards against batches no request could carry.
		MaxBatchBytes:          int(c.MaxRequestBytes),
		RetentionCheckInterval: c.RetentionCheckInterval,
		SkipReadChecks:         c.SkipReadChecks,
		LeadFromCreation:       c.Voters == "", // a single broker; a cluster assigns epochs at election
		BeforeFsync:            c.beforeFsync,
		Logger:                 c.Logger,
	}
}

// advertised returns the host and port to put in Metadata for a listener
// bound at addr: adv if set, else the address bound (the host name when
// bound to an unspecified address).
func advertised(adv string, addr net.Addr) (string, int32, error) {
	if adv != "" {
		return splitHostPort(adv)
	}
	host, port, err := splitHostPort(addr.String())
	if err != nil {
		return "", 0, err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return host, port, nil
}

func splitHostPort(hp string) (string, int32, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := net.LookupPort("tcp", p)
	if err != nil {
		return "", 0, err
	}
	return host, int32(port), nil
}
