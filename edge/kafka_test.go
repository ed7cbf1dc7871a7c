package edge

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// The producer settings other than the defaults deliver every frame in
// order too: without idempotence (one request in flight per broker), and
// with each other codec.
func TestProducerSettingsDeliverInOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		idempotent  bool
		compression string
		codec       uint8 // the record batch's attributes
	}{
		{"not-idempotent-zstd", false, "zstd", 4},
		{"snappy", true, "snappy", 2},
		{"gzip", true, "gzip", 1},
		{"none", true, "none", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := brokertest.Start(t)
			a, bEnd, _ := socatPair(t)
			cfg := testConfig(t, b.Addr, "serial:"+a)
			cfg.Producer.Idempotent = &tc.idempotent
			cfg.Producer.Compression = tc.compression
			e, stop := startEdge(t, cfg)
			sim := simulator.Config{Cars: 2, Duration: time.Second, Seed: 11, Out: "serial:" + bEnd, Logger: quietLogger()}
			want, _ := simFrames(t, sim)
			if err := simulator.Run(context.Background(), sim); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "every frame acknowledged", func() bool { return e.ackedFrames.Load() >= int64(countFrames(want)) })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			sameFrames(t, framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions), want, true)
			if got := batchCodec(t, b.Addr); got != tc.codec {
				t.Errorf("the batches' codec is %d, want %d (%s)", got, tc.codec, tc.compression)
			}
		})
	}
}

// The edge's lz4 batches are frames of 64 KiB blocks, as the Java client
// and sarama write them, not franz-go's 4 MiB: a consumer sizes its
// buffer by the block size the frame declares, once per batch.
func TestLz4FramesDeclare64KiBBlocks(t *testing.T) {
	src := bytes.Repeat([]byte("$PWF,car01,42,1=0.5,2=301.25,3=11800*1A2B\r\n"), 200)
	for _, level := range []int{0, 512} {
		c := newLz4Compressor(level)
		for range 2 { // a pooled writer too
			out, codec := c.Compress(new(bytes.Buffer), src)
			if codec != kgo.CodecLz4 {
				t.Fatalf("level %d: codec %v", level, codec)
			}
			// Frame: magic (4 bytes), FLG, BD; BD's bits 6-4 are the
			// block maximum size: 4 = 64 KiB, 7 = 4 MiB.
			if len(out) < 6 || out[0] != 0x04 || out[1] != 0x22 || out[2] != 0x4d || out[3] != 0x18 {
				t.Fatalf("level %d: not an lz4 frame: % x", level, out[:min(len(out), 8)])
			}
			if bs := out[5] >> 4 & 7; bs != 4 {
				t.Fatalf("level %d: block size code %d, want 4 (64 KiB)", level, bs)
			}
			back, err := io.ReadAll(lz4.NewReader(bytes.NewReader(out)))
			if err != nil || !bytes.Equal(back, src) {
				t.Fatalf("level %d: read back %d bytes, err %v", level, len(back), err)
			}
		}
	}
}

// batchCodec is the compression codec of the first record batch of the
// frames topic, as its attributes say.
func batchCodec(t *testing.T, addr string) uint8 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(telemetry.TopicFrames),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollRecords(ctx, 1)
		if err := ctx.Err(); err != nil {
			t.Fatalf("no record to read: %v", err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return recs[0].Attrs.CompressionType()
		}
	}
}
