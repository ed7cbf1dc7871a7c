package edge

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// compressionCodec maps a compression name onto sarama's codec.
func compressionCodec(name string) (sarama.CompressionCodec, error) {
	switch name {
	case "none":
		return sarama.CompressionNone, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return 0, fmt.Errorf("%w: compression %q: want none, gzip, snappy, lz4 or zstd", ErrConfig, name)
}

// saramaConfig is the producer configuration: acks=all, the Java client's
// murmur2 partitioner, one request in flight per broker (ordering across
// retries, and what idempotence needs), retries that outlast an outage;
// TLS and SASL as c.Security says.
func saramaConfig(c Config) (*sarama.Config, error) {
	p := c.Producer
	sc := sarama.NewConfig()
	sc.ClientID = p.ClientID
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Partitioner = partitioner.New
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Compression, _ = compressionCodec(p.Compression)
	switch {
	case p.CompressionLevel != 0:
		sc.Producer.CompressionLevel = p.CompressionLevel
	case sc.Producer.Compression == sarama.CompressionZSTD:
		sc.Producer.CompressionLevel = 1
	}
	sc.Producer.Flush.Frequency = p.Linger
	sc.Producer.Flush.Bytes = p.BatchBytes
	sc.Producer.Idempotent = *p.Idempotent
	sc.Net.MaxOpenRequests = 1
	sc.Net.DialTimeout = 5 * time.Second
	// Each failed request costs a retry; waiting for a broker that is down
	// costs none (patientClient), so this only runs out if a broker keeps
	// failing requests while it is up. sarama keeps Max+1 slots per
	// partition: keep it modest.
	sc.Producer.Retry.Max = 1000
	sc.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		return min(100*time.Millisecond<<min(retries, 5), 2*time.Second)
	}
	sc.Metadata.Retry.Max = 2
	sc.Metadata.Retry.Backoff = 200 * time.Millisecond
	sc.Metadata.AllowAutoTopicCreation = true
	sc.ChannelBufferSize = 4096
	return sc, c.Security.Sarama(sc)
}

// patientClient is a sarama.Client whose metadata lookups wait for the
// cluster instead of failing while it is unreachable. sarama's producer
// fails a message whose partition leader it cannot look up, and then sends
// the next one: after an outage a car's frames would arrive out of order.
// Waiting here instead keeps them in sarama's retry queue, in order, until
// the broker is back or giveUp is closed (shutdown).
type patientClient struct {
	sarama.Client
	giveUp <-chan struct{}
	onWait func(error)
}

func (c *patientClient) wait(fn func() error) error {
	backoff := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || errors.Is(err, sarama.ErrClosedClient) {
			return err
		}
		c.onWait(err)
		t := time.NewTimer(backoff)
		select {
		case <-c.giveUp:
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// RefreshMetadata waits until the refresh succeeds.
func (c *patientClient) RefreshMetadata(topics ...string) error {
	return c.wait(func() error { return c.Client.RefreshMetadata(topics...) })
}

// Leader waits until the partition has a leader.
func (c *patientClient) Leader(topic string, partition int32) (b *sarama.Broker, err error) {
	err = c.wait(func() (err error) {
		b, err = c.Client.Leader(topic, partition)
		return err
	})
	return b, err
}

// Partitions waits until the topic's partitions are known.
func (c *patientClient) Partitions(topic string) (p []int32, err error) {
	err = c.wait(func() (err error) {
		p, err = c.Client.Partitions(topic)
		return err
	})
	return p, err
}

// ensureTopics creates the telemetry topics unless they exist, as
// telemetry.Topics says but with the configured name of the frames topic
// and the configured partitions: frames, the catalog topic compacted
// (auto-creation would not compact it), the dead-letter topic.
func (e *Edge) ensureTopics(client sarama.Client) {
	var specs []telemetry.TopicSpec
	for _, name := range []string{telemetry.TopicFrames, telemetry.TopicChannels, telemetry.TopicDeadLetter} {
		s, _ := telemetry.Topic(name)
		s.Partitions = int32(e.cfg.Partitions)
		specs = append(specs, s)
	}
	specs[0].Name = e.cfg.Topic
	if err := admin.EnsureTopics(client, specs...); err != nil {
		e.log.Warn("edge: cannot create topics, relying on auto-creation", "err", err)
	}
}

// permanent reports whether a produce error will not go away by sending
// the same record again.
func permanent(err error) bool {
	var kerr sarama.KError
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr {
	case sarama.ErrInvalidMessage, sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidTopic,
		sarama.ErrTopicAuthorizationFailed, sarama.ErrClusterAuthorizationFailed, sarama.ErrInvalidTimestamp,
		sarama.ErrInvalidRequest, sarama.ErrUnsupportedForMessageFormat, sarama.ErrPolicyViolation,
		sarama.ErrInvalidRecord, sarama.ErrInvalidRequiredAcks:
		return true
	}
	return false
}
