package edge

import (
	"bytes"
	"io"
	"testing"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
)

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
