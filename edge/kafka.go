package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/telemetry"
)

// compressor is the producer's compressor for a compression name and
// level. level 0 is the codec's default, except zstd's: 1, its fastest
// (ProducerConfig.CompressionLevel). A zstd level is zstd's own (1-22),
// as the Java client takes it. lz4 is the edge's own (lz4Compressor).
// "none" is a nil Compressor.
func compressor(name string, level int) (kgo.Compressor, error) {
	var c kgo.CompressionCodec
	switch name {
	case "none":
		c = kgo.NoCompression()
	case "gzip":
		c = kgo.GzipCompression().WithLevel(level)
	case "snappy":
		c = kgo.SnappyCompression()
	case "lz4":
		return newLz4Compressor(level), nil
	case "zstd":
		// franz-go takes the zstd library's four speed levels.
		c = kgo.ZstdCompression().WithLevel(int(zstd.EncoderLevelFromZstd(max(level, 1))))
	default:
		return nil, fmt.Errorf("%w: compression %q: want none, gzip, snappy, lz4 or zstd", ErrConfig, name)
	}
	return kgo.DefaultCompressor(c)
}

// maxProduceBatch is the largest batch the producer builds: Kafka's
// default max.message.bytes, which Pitwall's broker shares. (A record
// larger than that fails with MESSAGE_TOO_LARGE without being sent.)
const maxProduceBatch = 1_000_012

// producerOpts is the producer configuration: acks=all, the Java client's
// murmur2 partitioner (telemetry.Partition), idempotent unless switched
// off (the broker then drops a batch it already has), records retried
// until the cluster takes them (an outage waits, in order, instead of
// failing them), TLS and SASL as c.Security says. hooks see connections
// as they are made.
func producerOpts(c Config, hooks ...kgo.Hook) ([]kgo.Opt, error) {
	p := c.Producer
	comp, err := compressor(p.Compression, p.CompressionLevel)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(p.ClientID),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(r *kgo.Record, n int) int { return int(telemetry.Partition(r.Key, int32(n))) }
		})),
		// Without a compressor (none) franz-go would build its default,
		// snappy, from this preference: none instead.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.WithCompressor(comp),
		kgo.ProducerLinger(p.Linger),
		kgo.ProducerBatchMaxBytes(int32(min(p.BatchBytes, maxProduceBatch))),
		// The sender bounds what it hands over (MaxInFlightBytes); the
		// client's own bound on records must not come first.
		kgo.MaxBufferedRecords(1 << 20),
		kgo.AllowAutoTopicCreation(),
		kgo.DialTimeout(5 * time.Second),
		kgo.WithHooks(hooks...),
	}
	if !*p.Idempotent {
		// One request in flight keeps a partition's order across retries.
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
	}
	sec, err := c.Security.KgoOpts()
	if err != nil {
		return nil, err
	}
	return append(opts, sec...), nil
}

// lz4Compressor writes lz4 frames with 64 KiB blocks, as the Java client
// and sarama do. franz-go's own lz4 frames declare 4 MiB blocks, and a
// reader sizes its buffer by what the frame declares: sarama's consumer
// (the processors, the live plugin) then took a 4 MiB buffer for every
// batch it read, a batch being a few records at the edge's rate per
// partition. With the edge's many small batches that made a lap processor
// under the race detector fall behind its group session (TestF1SessionLaps).
type lz4Compressor struct{ pool sync.Pool }

func newLz4Compressor(level int) *lz4Compressor {
	c := &lz4Compressor{}
	opts := []lz4.Option{lz4.BlockSizeOption(lz4.Block64Kb)}
	if level != 0 {
		withLevel := append(opts, lz4.CompressionLevelOption(lz4.CompressionLevel(level)))
		if lz4.NewWriter(nil).Apply(withLevel...) == nil { // a level lz4 refuses: its default
			opts = withLevel
		}
	}
	c.pool.New = func() any {
		w := lz4.NewWriter(new(bytes.Buffer))
		w.Apply(opts...)
		return w
	}
	return c
}

// Compress implements kgo.Compressor.
func (c *lz4Compressor) Compress(dst *bytes.Buffer, src []byte, _ ...kgo.CompressFlag) ([]byte, kgo.CompressionCodecType) {
	w := c.pool.Get().(*lz4.Writer)
	defer c.pool.Put(w)
	w.Reset(dst)
	if _, err := w.Write(src); err != nil {
		return nil, kgo.CodecError
	}
	if err := w.Close(); err != nil {
		return nil, kgo.CodecError
	}
	return dst.Bytes(), kgo.CodecLz4
}

// connHook tells the sender when a broker cannot be reached.
type connHook struct{ s *sender }

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (h connHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.s.waiting(err)
	}
}

// ensureTopics creates the telemetry topics unless they exist, as
// telemetry.Topics says but with the configured name of the frames topic
// and the configured partitions: frames, the catalog topic compacted
// (auto-creation would not compact it), the dead-letter topic.
func (e *Edge) ensureTopics(ctx context.Context, cl *kgo.Client) {
	var specs []telemetry.TopicSpec
	for _, name := range []string{telemetry.TopicFrames, telemetry.TopicChannels, telemetry.TopicDeadLetter} {
		s, _ := telemetry.Topic(name)
		s.Partitions = int32(e.cfg.Partitions)
		specs = append(specs, s)
	}
	specs[0].Name = e.cfg.Topic
	if err := admin.EnsureTopicsKgo(ctx, cl, specs...); err != nil {
		e.log.Warn("edge: cannot create topics, relying on auto-creation", "err", err)
	}
}

// permanent reports whether a produce error will not go away by sending
// the same record again.
func permanent(err error) bool {
	var kerrv *kerr.Error
	if !errors.As(err, &kerrv) {
		return false
	}
	switch kerrv {
	case kerr.CorruptMessage, kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidTopicException,
		kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.InvalidTimestamp,
		kerr.InvalidRequest, kerr.UnsupportedForMessageFormat, kerr.PolicyViolation,
		kerr.InvalidRecord, kerr.InvalidRequiredAcks:
		return true
	}
	return false
}

// errorKind is a produce error's label on edge_produce_errors_total: the
// Kafka error's name, or "other".
func errorKind(err error) string {
	var kerrv *kerr.Error
	if errors.As(err, &kerrv) {
		return kerrv.Message
	}
	return "other"
}
