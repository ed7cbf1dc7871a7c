package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
	"github.com/pitwall/pitwall/broker/internal/partition"
)

// Config configures a Server. An empty field means its default.
type Config struct {
	// Listen is the TCP address to listen on. Default "127.0.0.1:9092";
	// use "127.0.0.1:0" for a random port.
	Listen string
	// Advertise is the host:port clients are told to connect to in
	// Metadata. Default: the address actually bound, or the host name when
	// bound to an unspecified address (0.0.0.0, ::).
	Advertise string
	// DataDir holds the topics. Required.
	DataDir string
	// Fsync is when appended data is fsynced: "batch" (default: an acks=all
	// produce is answered only after its data is on disk; one fsync serves
	// every producer waiting at that moment), "interval" or "never".
	Fsync string
	// FsyncInterval is the period for Fsync "interval". Default 100ms.
	FsyncInterval time.Duration
	// Partitions is the partition count of auto-created topics and of
	// CreateTopics requests that ask for the default. Default 12.
	Partitions int
	// Retention is how long closed segments are kept, unless a topic sets
	// retention.ms. Default 168h; negative keeps data forever.
	Retention time.Duration
	// RetentionBytes caps each partition's size, unless a topic sets
	// retention.bytes. Default 0: unlimited.
	RetentionBytes int64
	// SegmentBytes is the segment roll size, unless a topic sets
	// segment.bytes. Default 1 GiB.
	SegmentBytes int64
	// DisableAutoCreate turns off creating topics on first produce or
	// metadata request. Default false: topics are auto-created.
	DisableAutoCreate bool
	// MaxRequestBytes is the largest request frame accepted; a larger
	// length prefix closes the connection before anything is allocated.
	// Default 100 MiB.
	MaxRequestBytes int32
	// FetchMaxBytes caps a fetch response's record bytes whatever the
	// request's MaxBytes asks (Kafka's fetch.max.bytes), except that the
	// first batch is always returned whole (KIP-74). Default 55 MiB.
	FetchMaxBytes int32
	// MaxMessageBytes is the largest record batch accepted, unless a topic
	// sets max.message.bytes. Default 1048588 (Kafka's default).
	MaxMessageBytes int32
	// GroupInitialRebalanceDelay holds the first rebalance of a new (or
	// emptied) consumer group this long for more members to join
	// (Kafka's group.initial.rebalance.delay.ms; see group.Config).
	// Default 0: no delay; `pitwall broker` sets 3s, as Kafka.
	GroupInitialRebalanceDelay time.Duration
	// MaxPartitions is the most partitions a topic may have: each is a
	// directory with open files, so a request for 100000 is refused
	// rather than attempted. Default 10000.
	MaxPartitions int
	// RetentionCheckInterval is how often retention runs. Default 1 minute.
	RetentionCheckInterval time.Duration
	// NodeID is this broker's id in Metadata. Default 0.
	NodeID int32
	// Logger receives the broker's logs. Default slog.Default().
	Logger *slog.Logger
}

// defaults for Config, in one place so Describe* answers and flags agree.
const (
	defaultListen          = "127.0.0.1:9092"
	defaultFsyncInterval   = 100 * time.Millisecond
	defaultPartitions      = 12
	defaultRetention       = 168 * time.Hour
	defaultSegmentBytes    = 1 << 30
	defaultMaxRequestBytes = 100 << 20
	defaultMaxMessageBytes = 1048588
	defaultFetchMaxBytes   = 57671680 // Kafka's fetch.max.bytes
	defaultRetentionCheck  = time.Minute
	defaultMaxPartitions   = 10000
)

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("broker: invalid config")

// withDefaults returns c with every empty field set to its default, or an
// error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		return c, fmt.Errorf("%w: DataDir is required", ErrConfig)
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c, fmt.Errorf("%w: Listen %q: %v", ErrConfig, c.Listen, err)
	}
	if c.Advertise != "" {
		if _, _, err := splitHostPort(c.Advertise); err != nil {
			return c, fmt.Errorf("%w: Advertise %q: %v", ErrConfig, c.Advertise, err)
		}
	}
	if c.Fsync == "" {
		c.Fsync = "batch"
	}
	if _, err := commitlog.ParseFsyncPolicy(c.Fsync); err != nil {
		return c, fmt.Errorf("%w: Fsync: %v", ErrConfig, err)
	}
	if c.FsyncInterval == 0 {
		c.FsyncInterval = defaultFsyncInterval
	}
	if c.FsyncInterval < 0 {
		return c, fmt.Errorf("%w: FsyncInterval %v is negative", ErrConfig, c.FsyncInterval)
	}
	if c.MaxPartitions == 0 {
		c.MaxPartitions = defaultMaxPartitions
	}
	if c.Partitions == 0 {
		c.Partitions = defaultPartitions
	}
	if c.Partitions < 0 || c.Partitions > c.MaxPartitions {
		return c, fmt.Errorf("%w: Partitions %d not in 1..%d (MaxPartitions)", ErrConfig, c.Partitions, c.MaxPartitions)
	}
	if c.Retention == 0 {
		c.Retention = defaultRetention
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = defaultSegmentBytes
	}
	if c.SegmentBytes < partition.MinSegmentBytes {
		return c, fmt.Errorf("%w: SegmentBytes %d below %d", ErrConfig, c.SegmentBytes, partition.MinSegmentBytes)
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = defaultMaxRequestBytes
	}
	if c.MaxRequestBytes < 1024 {
		return c, fmt.Errorf("%w: MaxRequestBytes %d below 1024", ErrConfig, c.MaxRequestBytes)
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = defaultMaxMessageBytes
	}
	if c.MaxMessageBytes < 0 {
		return c, fmt.Errorf("%w: MaxMessageBytes %d is negative", ErrConfig, c.MaxMessageBytes)
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = defaultFetchMaxBytes
	}
	if c.FetchMaxBytes < 0 {
		return c, fmt.Errorf("%w: FetchMaxBytes %d is negative", ErrConfig, c.FetchMaxBytes)
	}
	if c.GroupInitialRebalanceDelay < 0 {
		return c, fmt.Errorf("%w: GroupInitialRebalanceDelay %v is negative", ErrConfig, c.GroupInitialRebalanceDelay)
	}
	if c.RetentionCheckInterval <= 0 {
		c.RetentionCheckInterval = defaultRetentionCheck
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
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
		Logger:                 c.Logger,
	}
}

// advertised returns the host and port to put in Metadata for a listener
// bound at addr.
func (c Config) advertised(addr net.Addr) (string, int32, error) {
	if c.Advertise != "" {
		return splitHostPort(c.Advertise)
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
