package commitlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kv is one record to produce: a nil key or value is null.
type kv struct {
	key, value []byte
}

func rec(key, value string) kv { return kv{[]byte(key), []byte(value)} }
func tombstone(key string) kv  { return kv{key: []byte(key)} }

// batchSpec describes a producer batch for keyedBatch.
type batchSpec struct {
	ts       int64 // firstTimestamp; record i is ts+i
	codec    int   // codecNone..codecZstd, compressed by franz-go as a producer would
	pid      int64 // producer id, -1 for none
	seq      int32 // base sequence when pid >= 0
	recs     []kv
	appendTS bool // LogAppendTime
}

var kgoCodecs = map[int]kgo.CompressionCodec{
	codecGzip: kgo.GzipCompression(), codecSnappy: kgo.SnappyCompression(),
	codecLz4: kgo.Lz4Compression(), codecZstd: kgo.ZstdCompression(),
}

// franz-go's codecs, built once (zstd's are costly): safe for concurrent use.
var (
	kgoCompressors = sync.OnceValue(func() map[int]kgo.Compressor {
		m := map[int]kgo.Compressor{}
		for codec, c := range kgoCodecs {
			comp, err := kgo.DefaultCompressor(c)
			if err != nil {
				panic(err) // fixed arguments: cannot fail
			}
			m[codec] = comp
		}
		return m
	})
	kgoDecompressor = sync.OnceValue(func() kgo.Decompressor { return kgo.DefaultDecompressor() })
)

// keyedBatch encodes spec as a producer would (kmsg records, franz-go's
// compressors, CRC-32C).
func keyedBatch(tb testing.TB, spec batchSpec) []byte {
	tb.Helper()
	var raw []byte
	for i, r := range spec.recs {
		kr := kmsg.Record{TimestampDelta64: int64(i), OffsetDelta: int32(i), Key: r.key, Value: r.value}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		raw = kr.AppendTo(raw)
	}
	attrs := int16(0)
	if spec.codec != codecNone {
		out, codec := kgoCompressors()[spec.codec].Compress(new(bytes.Buffer), raw)
		if int(codec) != spec.codec {
			tb.Fatalf("franz-go compressed with codec %d, want %d", codec, spec.codec)
		}
		raw = bytes.Clone(out)
		attrs = int16(spec.codec)
	}
	if spec.appendTS {
		attrs |= attrLogAppendTime
	}
	if spec.pid == 0 && spec.seq == 0 {
		spec.pid, spec.seq = -1, -1
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, Attributes: attrs,
		LastOffsetDelta: int32(len(spec.recs) - 1),
		FirstTimestamp:  spec.ts, MaxTimestamp: spec.ts + int64(len(spec.recs)-1),
		ProducerID: spec.pid, ProducerEpoch: 0, FirstSequence: spec.seq,
		NumRecords: int32(len(spec.recs)), Records: raw,
	}
	if spec.pid < 0 {
		rb.ProducerEpoch = -1
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32c(b[21:]))
	return b
}

// gotRecord is a record read back from the log, decoded by franz-go.
type gotRecord struct {
	offset    int64
	ts        int64
	key       string
	nullKey   bool
	value     string
	tombstone bool
}

func (g gotRecord) String() string {
	return fmt.Sprintf("%d:%s=%s(ts %d, nullkey %v, tomb %v)", g.offset, g.key, g.value, g.ts, g.nullKey, g.tombstone)
}

// decodeWithKgo decodes one stored batch with franz-go's decompressor and
// kmsg's record parser, independently of this package's decoder.
func decodeWithKgo(tb testing.TB, b []byte) (kmsg.RecordBatch, []gotRecord) {
	tb.Helper()
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		tb.Fatalf("kmsg cannot read batch: %v", err)
	}
	raw := rb.Records
	if codec := rb.Attributes & 7; codec != 0 {
		var err error
		if raw, err = kgoDecompressor().Decompress(rb.Records, kgo.CompressionCodecType(codec)); err != nil {
			tb.Fatalf("franz-go cannot decompress codec %d: %v", codec, err)
		}
	}
	var out []gotRecord
	for len(raw) > 0 {
		l, n := binary.Varint(raw)
		if n <= 0 || int(l)+n > len(raw) {
			tb.Fatalf("bad record length in batch %d", rb.FirstOffset)
		}
		var r kmsg.Record
		if err := r.ReadFrom(raw[:n+int(l)]); err != nil {
			tb.Fatalf("kmsg cannot read record: %v", err)
		}
		ts := rb.FirstTimestamp + r.TimestampDelta64
		if rb.Attributes&attrLogAppendTime != 0 {
			ts = rb.MaxTimestamp
		}
		out = append(out, gotRecord{offset: rb.FirstOffset + int64(r.OffsetDelta), ts: ts,
			key: string(r.Key), nullKey: r.Key == nil, value: string(r.Value), tombstone: r.Value == nil})
		raw = raw[n+int(l):]
	}
	if len(out) != int(rb.NumRecords) {
		tb.Fatalf("batch %d says %d records, holds %d", rb.FirstOffset, rb.NumRecords, len(out))
	}
	return rb, out
}

// logRecords reads the whole log with Read and decodes every record,
// checking that batches are valid and offsets only increase.
func logRecords(tb testing.TB, l *Log) []gotRecord {
	tb.Helper()
	var out []gotRecord
	last := int64(-1)
	for _, b := range readAll(tb, l, l.StartOffset()) {
		rb, recs := decodeWithKgo(tb, b)
		if rb.FirstOffset <= last {
			tb.Fatalf("batch %d after offset %d", rb.FirstOffset, last)
		}
		for _, r := range recs {
			if r.offset <= last || r.offset > rb.FirstOffset+int64(rb.LastOffsetDelta) {
				tb.Fatalf("record offset %d out of order or outside its batch %d+%d", r.offset, rb.FirstOffset, rb.LastOffsetDelta)
			}
			last = r.offset
		}
		last = rb.FirstOffset + int64(rb.LastOffsetDelta)
		out = append(out, recs...)
	}
	return out
}

// latestPerKey is the expected compaction result: the last record of each
// key, plus every null-key record.
func latestPerKey(recs []gotRecord) map[string]gotRecord {
	m := map[string]gotRecord{}
	for _, r := range recs {
		if !r.nullKey {
			m[r.key] = r
		}
	}
	return m
}

// checkCompacted checks that got holds, before offset cleanEnd (the
// compacted closed segments), exactly the latest record of each key among
// all's records before cleanEnd, minus tombstones older than horizon, plus
// every null-key record; and from cleanEnd on exactly all's records. Every
// kept record equals the original at its offset.
func checkCompacted(t *testing.T, got, all []gotRecord, cleanEnd, horizon int64) {
	t.Helper()
	byOffset := map[int64]gotRecord{}
	for _, r := range all {
		byOffset[r.offset] = r
	}
	latest := latestPerKey(slices.DeleteFunc(slices.Clone(all), func(r gotRecord) bool { return r.offset >= cleanEnd }))
	seen := map[string]bool{}
	for _, r := range got {
		if orig, ok := byOffset[r.offset]; !ok || orig != r {
			t.Fatalf("record %v is not the original %v", r, orig)
		}
		if r.offset < cleanEnd && !r.nullKey {
			if seen[r.key] {
				t.Fatalf("key %q twice in the compacted part", r.key)
			}
			seen[r.key] = true
		}
	}
	want := slices.DeleteFunc(slices.Clone(all), func(r gotRecord) bool {
		if r.offset >= cleanEnd || r.nullKey {
			return false
		}
		return latest[r.key].offset != r.offset || (r.tombstone && r.ts < horizon)
	})
	if !slices.Equal(got, want) {
		t.Fatalf("compacted log has %d records, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

// compactConfig is a compacted log that compacts whenever anything is
// dirty, with small segments.
func compactConfig(dir string, clock *fakeClock) Config {
	return Config{Dir: dir, Fsync: FsyncNever, Compact: true, SegmentBytes: 1500, IndexIntervalBytes: 200,
		SegmentMaxAge: -1, MinCleanableDirtyRatio: 0.001, Now: clock.Now,
		IndexCache: NewIndexCache(1)} // unload every closed segment not in use: swaps must cope
}
