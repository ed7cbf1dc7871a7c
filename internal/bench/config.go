package bench

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/internal/kafkasec"
)

// Workload names what a run measures.
type Workload string

// The workloads.
const (
	// Produce measures produce throughput and per-record latency.
	Produce Workload = "produce"
	// Consume fills the topic with the produce workload, then measures
	// reading it all back.
	Consume Workload = "consume"
)

// The load-generating clients (Config.Client).
const (
	ClientKgo = "kgo" // franz-go's kgo: a real client, encoding every record
	ClientRaw = "raw" // pre-encoded batches in pipelined requests (raw.go)
)

// Peer names the second target run beside the broker under test.
const (
	PeerKfake     = "kfake"     // franz-go's in-process fake cluster
	PeerNone      = "none"      // no comparison
	PeerPlaintext = "plaintext" // the embedded broker again, on PLAINTEXT (with --security)
)

// Defaults, as documented on Config.
const (
	DefaultTopic            = "pitwall-bench"
	DefaultRecordSize       = 1024
	DefaultDuration         = 10 * time.Second
	DefaultConsumeRecords   = 1_000_000
	DefaultPartitions       = 12
	DefaultClients          = 4
	maxRecordSize           = 1 << 20
	maxPartitions           = 10_000
	maxClients              = 256
	producerBatchMaxBytes   = 1 << 20
	producerBufferPerClient = 4 << 20
	producerLinger          = 10 * time.Millisecond
)

// ErrConfig is wrapped by every validation error of a Config.
var ErrConfig = errors.New("bench: invalid config")

// Config describes one benchmark run. An empty field means its default.
type Config struct {
	// Workload is Produce or Consume. Required.
	Workload Workload
	// Brokers is the comma-separated seed list ("host:port,...") of the
	// broker under test. Default: start an embedded Pitwall broker in a
	// temporary directory for the run.
	Brokers string
	// Topic is the topic written and read. Default "pitwall-bench". It is
	// created with Partitions partitions when missing; an existing topic is
	// used as it is (the run reads back only what it wrote).
	Topic string
	// RecordSize is each record's value size in bytes. Default 1024.
	RecordSize int
	// Acks is "0", "1" or "all" ("-1" is accepted as "all"). Default "all".
	Acks string
	// Duration bounds the produce phase by time. Default 10s for Produce;
	// ignored when Records is set. Exclusive with Records.
	Duration time.Duration
	// Records bounds the produce phase by count. Default 0 (use Duration)
	// for Produce, 1,000,000 for Consume.
	Records int64
	// Partitions is the partition count of a topic the run creates.
	// Default 12.
	Partitions int
	// Clients is how many kgo clients (one connection each) produce, and
	// then consume, concurrently. Default 4.
	Clients int
	// Compression is "none", "gzip", "snappy", "lz4" or "zstd". Default
	// "none".
	Compression string
	// Client is the produce load generator: "kgo" (franz-go, the default)
	// or "raw" (pre-encoded batches, see raw.go; acks 1 or all, no
	// compression), which leaves the CPU to the broker. Reading back
	// always uses kgo.
	Client string
	// Fsync is the embedded broker's fsync mode: "batch", "interval" or
	// "never". Default "batch". Only valid without Brokers.
	Fsync string
	// DataDir is the embedded broker's data directory. Default a new
	// temporary directory, removed after the run. Only valid without
	// Brokers.
	DataDir string
	// Peer is "kfake", "none", "single" (with Cluster) or "plaintext" (another embedded broker on
	// PLAINTEXT, to measure what Security costs). Default "kfake".
	Peer string
	// Security is the protocol of the embedded broker's listener the
	// workload runs on: PLAINTEXT, SSL or SASL_SSL (TLS from a throwaway
	// CA, a SCRAM user with Mechanism). Default PLAINTEXT. Only valid
	// without Brokers.
	Security string
	// Mechanism is the SASL mechanism of Security SASL_SSL: SCRAM-SHA-256
	// or SCRAM-SHA-512. Default SCRAM-SHA-512.
	Mechanism string
	// ClientSecurity is TLS and SASL to Brokers (kafkasec, loaded).
	// Default PLAINTEXT.
	ClientSecurity kafkasec.Config
	// Cluster, if above 0, runs the workload against a cluster of that
	// many `pitwall broker` child processes on loopback (cluster.go), on
	// a topic with replication factor Cluster, instead of the embedded
	// broker; Peer then defaults to "single" (one `pitwall broker` child
	// process). Default 0. Only valid without Brokers, on PLAINTEXT.
	Cluster int
	// Broker is the pitwall executable the child brokers of Cluster and
	// Peer "single" run. Default: this process's executable.
	Broker string
	// Logger receives progress and the embedded broker's warnings. Default
	// discards everything.
	Logger *slog.Logger
}

// withDefaults returns c with every empty field set to its default and the
// result validated.
func (c Config) withDefaults() (Config, error) {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.RecordSize == 0 {
		c.RecordSize = DefaultRecordSize
	}
	if c.Acks == "" {
		c.Acks = "all"
	}
	if c.Acks == "-1" {
		c.Acks = "all"
	}
	if c.Duration != 0 && c.Records != 0 {
		return c, fmt.Errorf("%w: --duration and --records are exclusive", ErrConfig)
	}
	if c.Duration == 0 && c.Records == 0 {
		if c.Workload == Consume {
			c.Records = DefaultConsumeRecords
		} else {
			c.Duration = DefaultDuration
		}
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.Peer == "" {
		c.Peer = PeerKfake
		if c.Cluster > 0 {
			c.Peer = PeerSingle
		}
	}
	if c.Client == "" {
		c.Client = ClientKgo
	}
	c.Security = strings.ToUpper(c.Security)
	if c.Security == "" {
		c.Security = SecurityPlaintext
	}
	if c.Mechanism == "" {
		c.Mechanism = kafkasec.ScramSHA512
	}
	if c.Brokers == "" && c.Fsync == "" {
		c.Fsync = "batch"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.Workload != Produce && c.Workload != Consume {
		bad("workload %q: want produce or consume", c.Workload)
	}
	if c.RecordSize < 1 || c.RecordSize > maxRecordSize {
		bad("--record-size %d: want 1..%d", c.RecordSize, maxRecordSize)
	}
	if c.Acks != "0" && c.Acks != "1" && c.Acks != "all" {
		bad("--acks %q: want 0, 1 or all", c.Acks)
	}
	if c.Duration < 0 {
		bad("--duration %v: must be positive", c.Duration)
	}
	if c.Records < 0 {
		bad("--records %d: must be positive", c.Records)
	}
	if c.Partitions < 1 || c.Partitions > maxPartitions {
		bad("--partitions %d: want 1..%d", c.Partitions, maxPartitions)
	}
	if c.Clients < 1 || c.Clients > maxClients {
		bad("--clients %d: want 1..%d", c.Clients, maxClients)
	}
	if _, ok := codec(c.Compression); !ok {
		bad("--compression %q: want none, gzip, snappy, lz4 or zstd", c.Compression)
	}
	if c.Peer != PeerKfake && c.Peer != PeerNone && c.Peer != PeerPlaintext && c.Peer != PeerSingle {
		bad("--peer %q: want kfake, none, plaintext or single", c.Peer)
	}
	c.validateCluster(bad)
	c.validateSecurity(bad)
	switch c.Client {
	case ClientKgo:
	case ClientRaw:
		if c.Acks == "0" {
			bad("--client raw needs answers to pipeline: use --acks 1 or all")
		}
		if c.Compression != "none" {
			bad("--client raw sends uncompressed batches: use --compression none")
		}
	default:
		bad("--client %q: want kgo or raw", c.Client)
	}
	c.validateEmbedded(bad)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(errs, "; "))
	}
	return nil
}

func (c Config) validateEmbedded(bad func(string, ...any)) {
	if c.Brokers != "" {
		if c.Fsync != "" {
			bad("--fsync applies only to the embedded broker (omit --brokers)")
		}
		if c.DataDir != "" {
			bad("--data-dir applies only to the embedded broker (omit --brokers)")
		}
		for _, b := range c.seeds() {
			if !strings.Contains(b, ":") {
				bad("--brokers %q: want host:port", b)
			}
		}
		return
	}
	switch c.Fsync {
	case "batch", "interval", "never":
	default:
		bad("--fsync %q: want batch, interval or never", c.Fsync)
	}
}

func (c Config) validateCluster(bad func(string, ...any)) {
	switch {
	case c.Cluster < 0 || c.Cluster > maxCluster:
		bad("--cluster %d: want 1..%d brokers", c.Cluster, maxCluster)
	case c.Cluster > 0 && c.Brokers != "":
		bad("--cluster starts its own brokers: omit --brokers")
	case c.Cluster > 0 && (c.Security != SecurityPlaintext || c.Peer == PeerPlaintext):
		bad("--cluster runs on PLAINTEXT: omit --security and --peer plaintext")
	case c.Cluster == 0 && c.Peer == PeerSingle:
		bad("--peer single is the peer of --cluster")
	}
}

func (c Config) validateSecurity(bad func(string, ...any)) {
	switch c.Security {
	case SecurityPlaintext, SecuritySSL, SecuritySASLSSL:
	default:
		bad("--security %q: want PLAINTEXT, SSL or SASL_SSL", c.Security)
	}
	if c.Mechanism != kafkasec.ScramSHA256 && c.Mechanism != kafkasec.ScramSHA512 {
		bad("--sasl-mechanism %q: the embedded broker's user is SCRAM-SHA-256 or SCRAM-SHA-512", c.Mechanism)
	}
	if c.Brokers != "" && (c.Security != SecurityPlaintext || c.Peer == PeerPlaintext) {
		bad("--security and --peer plaintext apply to the embedded broker (for --brokers use --tls, --sasl-mechanism and the other client flags)")
	}
	secured := c.Security != SecurityPlaintext || c.ClientSecurity.Protocol() != SecurityPlaintext
	if secured && c.Client == ClientRaw {
		bad("--client raw speaks PLAINTEXT only: use --client kgo with --security or TLS/SASL")
	}
}

func (c Config) seeds() []string {
	var out []string
	for _, b := range strings.Split(c.Brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// codec returns the kgo codec for a --compression name.
func codec(name string) (kgo.CompressionCodec, bool) {
	switch name {
	case "none":
		return kgo.NoCompression(), true
	case "gzip":
		return kgo.GzipCompression(), true
	case "snappy":
		return kgo.SnappyCompression(), true
	case "lz4":
		return kgo.Lz4Compression(), true
	case "zstd":
		return kgo.ZstdCompression(), true
	}
	return kgo.CompressionCodec{}, false
}

// acks returns the kgo acks setting for c.Acks.
func (c Config) acks() kgo.Acks {
	switch c.Acks {
	case "0":
		return kgo.NoAck()
	case "1":
		return kgo.LeaderAck()
	default:
		return kgo.AllISRAcks()
	}
}
