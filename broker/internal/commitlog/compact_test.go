package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
)

// appendRandom appends n batches of 1-4 records over keys car-00..car-(keys-1),
// one in ten a tombstone, a second apart, and returns their records.
func appendRandom(t *testing.T, l *Log, clock *fakeClock, rng *rand.Rand, n, keys int, codec int) []gotRecord {
	t.Helper()
	var out []gotRecord
	for i := range n {
		var recs []kv
		for j := range 1 + rng.IntN(4) {
			k := fmt.Sprintf("car-%02d", rng.IntN(keys))
			if rng.IntN(10) == 0 {
				recs = append(recs, tombstone(k))
			} else {
				recs = append(recs, rec(k, fmt.Sprintf("lap %d.%d %s", i, j, strings.Repeat("x", rng.IntN(40)))))
			}
		}
		b := keyedBatch(t, batchSpec{ts: clock.Millis(), codec: codec, recs: recs})
		mustAppend(t, l, b, 0)
		_, got := decodeWithKgo(t, b)
		out = append(out, got...)
		clock.Advance(time.Second)
	}
	return out
}

// batchRanges maps each batch's base offset to its last offset.
func batchRanges(t *testing.T, l *Log) map[int64]int64 {
	m := map[int64]int64{}
	for _, b := range readAll(t, l, l.StartOffset()) {
		h, _ := ParseBatchHeader(b)
		m[h.BaseOffset] = h.LastOffset()
	}
	return m
}

func activeBase(l *Log) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active().base
}

func segmentCount(l *Log) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.segments)
}

func TestCompactLatestPerKey(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	l := openLog(t, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	all := appendRandom(t, l, clock, rng, 150, 15, codecNone)
	if got := logRecords(t, l); !slices.Equal(got, all) {
		t.Fatalf("log holds %d records, appended %d", len(got), len(all))
	}
	ranges := batchRanges(t, l)
	segments, cleanEnd := segmentCount(l), activeBase(l)
	if segments < 10 {
		t.Fatalf("only %d segments", segments)
	}

	st, err := l.Compact()
	if err != nil || st.Skipped || st.RecordsRemoved == 0 || st.SegmentsRead != segments-1 || st.BytesWritten >= st.BytesRead {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	horizon := clock.Now().Add(-DefaultTombstoneRetention).UnixMilli()
	checkCompacted(t, logRecords(t, l), all, cleanEnd, horizon)
	for base, last := range batchRanges(t, l) {
		if ranges[base] != last {
			t.Fatalf("batch %d now ends at %d, was %d: its offset range must not change", base, last, ranges[base])
		}
	}
	if l.StartOffset() != 0 || l.EndOffset() != all[len(all)-1].offset+1 {
		t.Fatalf("start %d end %d changed", l.StartOffset(), l.EndOffset())
	}
	if st, err := l.Compact(); err != nil || !st.Skipped {
		t.Fatalf("second Compact with nothing dirty = %+v, %v", st, err)
	}

	// More writes, then a pass that merges the shrunken segments.
	all = append(all, appendRandom(t, l, clock, rng, 60, 15, codecNone)...)
	cleanEnd = activeBase(l)
	st, err = l.Compact()
	if err != nil || st.SegmentsWritten >= st.SegmentsRead {
		t.Fatalf("merging Compact = %+v, %v", st, err)
	}
	checkCompacted(t, logRecords(t, l), all, cleanEnd, horizon)

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, cfg)
	checkCompacted(t, logRecords(t, l2), all, cleanEnd, horizon)
	for off := l2.StartOffset(); off < l2.EndOffset(); off++ { // every offset, gaps included
		b, err := l2.Read(off, 1, nil)
		if err != nil || len(b) == 0 {
			t.Fatalf("Read(%d) = %d bytes, %v", off, len(b), err)
		}
		if h, _ := ParseBatchHeader(b); h.LastOffset() < off {
			t.Fatalf("Read(%d) returned batch %d..%d", off, h.BaseOffset, h.LastOffset())
		}
	}
}

func TestCompactTombstones(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.SegmentBytes = 1 // every batch in its own segment
	cfg.TombstoneRetention = time.Hour
	l := openLog(t, cfg)
	put := func(recs ...kv) {
		mustAppend(t, l, keyedBatch(t, batchSpec{ts: clock.Millis(), recs: recs}), 0)
	}
	put(rec("a", "1"), rec("b", "1"))
	put(tombstone("a"))
	clock.Advance(30 * time.Minute)
	put(rec("c", "1"))
	put(rec("d", "1")) // active
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	want := []string{"1:b=1", "2:a=(tomb)", "3:c=1", "4:d=1"}
	if got := summary(logRecords(t, l)); !equalStrings(got, want) {
		t.Fatalf("after 30 minutes %v, want %v (the tombstone stays)", got, want)
	}
	clock.Advance(31 * time.Minute) // the tombstone is 61 minutes old
	put(rec("e", "1"))              // something dirty, so a pass runs
	st, err := l.Compact()
	if err != nil || st.TombstonesRemoved != 1 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	want = []string{"1:b=1", "3:c=1", "4:d=1", "5:e=1"}
	if got := summary(logRecords(t, l)); !equalStrings(got, want) {
		t.Fatalf("after 61 minutes %v, want %v", got, want)
	}
	if b, err := l.Read(0, 1, nil); err != nil || len(b) == 0 {
		t.Fatalf("Read(0) of the emptied start = %d bytes, %v", len(b), err)
	}
}

func TestCompactTombstonesAtOnce(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.SegmentBytes, cfg.TombstoneRetention = 1, -1
	l := openLog(t, cfg)
	for _, r := range []kv{rec("a", "1"), tombstone("a"), rec("b", "1"), tombstone("c"), rec("d", "1")} {
		mustAppend(t, l, keyedBatch(t, batchSpec{ts: clock.Millis(), recs: []kv{r}}), 0)
	}
	st, err := l.Compact()
	if err != nil || st.TombstonesRemoved != 2 || st.RecordsRemoved != 1 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	if got, want := summary(logRecords(t, l)), []string{"2:b=1", "4:d=1"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func summary(recs []gotRecord) []string {
	var out []string
	for _, r := range recs {
		v := r.value
		if r.tombstone {
			v = "(tomb)"
		}
		if r.nullKey {
			out = append(out, fmt.Sprintf("%d:(null)=%s", r.offset, v))
			continue
		}
		out = append(out, fmt.Sprintf("%d:%s=%s", r.offset, r.key, v))
	}
	return out
}

func equalStrings(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

// TestCompactCodecs: batches compressed by franz-go with every codec are
// decoded, and rewritten batches keep their codec and decode with
// franz-go.
func TestCompactCodecs(t *testing.T) {
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLz4, codecZstd} {
		t.Run(fmt.Sprint(codec), func(t *testing.T) {
			clock := newClock()
			cfg := compactConfig(t.TempDir(), clock)
			l := openLog(t, cfg)
			all := appendRandom(t, l, clock, rand.New(rand.NewPCG(7, uint64(codec))), 50, 10, codec)
			cleanEnd := activeBase(l)
			st, err := l.Compact()
			if err != nil || st.RecordsRemoved == 0 || st.OpaqueBatches != 0 {
				t.Fatalf("Compact = %+v, %v", st, err)
			}
			checkCompacted(t, logRecords(t, l), all, cleanEnd, clock.Now().Add(-DefaultTombstoneRetention).UnixMilli())
			for _, b := range readAll(t, l, 0) {
				if h, _ := ParseBatchHeader(b); h.NumRecords > 0 && int(h.Attributes&attrCodecMask) != codec {
					t.Fatalf("batch %d has codec %d, want %d", h.BaseOffset, h.Attributes&attrCodecMask, codec)
				}
			}
		})
	}
}

// TestCompactRawSnappy: a raw (unframed) snappy block, as some Go clients
// send, decodes too; rewritten batches are framed like Java's.
func TestCompactRawSnappy(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.SegmentBytes = 1
	l := openLog(t, cfg)
	for i := range 3 {
		b := keyedBatch(t, batchSpec{ts: clock.Millis(), recs: []kv{rec("k", fmt.Sprint(i)), rec(fmt.Sprint("o", i), "x")}})
		nb := append(b[:batchHeaderSize:batchHeaderSize], s2.EncodeSnappy(nil, b[batchHeaderSize:])...)
		binary.BigEndian.PutUint16(nb[offAttributes:], codecSnappy)
		binary.BigEndian.PutUint32(nb[offLength:], uint32(len(nb)-batchOverhead))
		binary.BigEndian.PutUint32(nb[offCRC:], crc32c(nb[offAttributes:]))
		mustAppend(t, l, nb, 0)
	}
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: clock.Millis(), recs: []kv{rec("z", "z")}}), 0)
	if st, err := l.Compact(); err != nil || st.RecordsRemoved != 2 || st.OpaqueBatches != 0 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	if got, want := summary(logRecords(t, l)), []string{"1:o0=x", "3:o1=x", "4:k=2", "5:o2=x", "6:z=z"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	b := readAll(t, l, 0)[0]
	if h, _ := ParseBatchHeader(b); h.Attributes&attrCodecMask != codecSnappy || !strings.HasPrefix(string(b[batchHeaderSize:]), string(xerialHeader)) {
		t.Fatalf("rewritten snappy batch not xerial framed: %x", b[batchHeaderSize:][:16])
	}
}

func TestCompactRefusesKeylessRecords(t *testing.T) {
	clock := newClock()
	l := openLog(t, compactConfig(t.TempDir(), clock))
	for _, codec := range []int{codecNone, codecZstd} {
		b := keyedBatch(t, batchSpec{ts: 1, codec: codec, recs: []kv{rec("a", "1"), {value: []byte("no key")}}})
		if _, _, err := l.Append(b, 0); !errors.Is(err, ErrCorruptBatch) || !strings.Contains(err.Error(), "no key") {
			t.Fatalf("keyless record appended to a compacted log: %v", err)
		}
	}
	if l.Stats().RejectedBatches != 2 || l.EndOffset() != 0 {
		t.Fatalf("stats %+v, LEO %d", l.Stats(), l.EndOffset())
	}
	// Without Compact the same batch is fine, and Compact does nothing.
	plain := openLog(t, Config{Dir: t.TempDir(), Fsync: FsyncNever})
	mustAppend(t, plain, keyedBatch(t, batchSpec{ts: 1, recs: []kv{{value: []byte("no key")}}}), 0)
	if st, err := plain.Compact(); err != nil || !st.Skipped {
		t.Fatalf("Compact of a non-compacted log = %+v, %v", st, err)
	}
}

// TestCompactKeepsKeylessRecords: keyless records written before the log
// became compacted survive compaction.
func TestCompactKeepsKeylessRecords(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	cfg := compactConfig(dir, clock)
	cfg.Compact, cfg.SegmentBytes = false, 1
	l := openLog(t, cfg)
	for _, r := range []kv{rec("a", "1"), {value: []byte("n1")}, rec("a", "2"), {value: []byte("n2")}, rec("b", "1")} {
		mustAppend(t, l, keyedBatch(t, batchSpec{ts: 1, recs: []kv{r}}), 0)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Compact = true
	l = openLog(t, cfg)
	if st, err := l.Compact(); err != nil || st.RecordsRemoved != 1 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	if got, want := summary(logRecords(t, l)), []string{"1:(null)=n1", "2:a=2", "3:(null)=n2", "4:b=1"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCompactSkips(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.MinCleanableDirtyRatio = 0.6
	cfg.SegmentBytes = 1 // a segment per batch
	cfg.MinCompactionLag = time.Hour
	l := openLog(t, cfg)
	put := func(k, v string) {
		mustAppend(t, l, keyedBatch(t, batchSpec{ts: clock.Millis(), recs: []kv{rec(k, v)}}), 0)
	}
	put("a", "1")
	put("a", "2")
	put("a", "3") // active
	if st, err := l.Compact(); err != nil || !st.Skipped {
		t.Fatalf("Compact within MinCompactionLag = %+v, %v", st, err)
	}
	clock.Advance(2 * time.Hour)
	put("a", "4") // closes a=3, now past the lag
	st, err := l.Compact()
	if err != nil || st.Skipped || st.SegmentsRead != 3 || st.RecordsRemoved != 2 || st.DirtyRatio != 1 {
		t.Fatalf("Compact after the lag = %+v, %v", st, err)
	}
	if got, want := summary(logRecords(t, l)), []string{"2:a=3", "3:a=4"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// One dirty batch against one clean one: ratio 0.5, below 0.6.
	clock.Advance(2 * time.Hour)
	put("b", "1")
	if st, err := l.Compact(); err != nil || !st.Skipped {
		t.Fatalf("Compact with a low dirty ratio = %+v, %v", st, err)
	}
	clock.Advance(2 * time.Hour)
	put("c", "1") // two dirty against one clean
	if st, err := l.Compact(); err != nil || st.Skipped || st.RecordsRemoved != 1 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	if got, want := summary(logRecords(t, l)), []string{"3:a=4", "4:b=1", "5:c=1"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestCompactProducerBatch: a producer's last batch, emptied by compaction,
// stays as an empty batch with its offsets and sequence (Kafka keeps it so
// the producer's state survives); earlier emptied batches go.
func TestCompactProducerBatch(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.SegmentBytes = 1
	l := openLog(t, cfg)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 10, pid: 7, seq: 0, recs: []kv{rec("a", "1"), rec("b", "1")}}), 0)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 20, pid: 7, seq: 2, recs: []kv{rec("a", "2"), rec("b", "2")}}), 0)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 30, recs: []kv{rec("a", "3"), rec("b", "3")}}), 0)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 40, recs: []kv{rec("z", "1")}}), 0)
	st, err := l.Compact()
	if err != nil || st.EmptyBatches != 1 || st.RecordsRemoved != 4 {
		t.Fatalf("Compact = %+v, %v", st, err)
	}
	batches := readAll(t, l, 0)
	if len(batches) != 3 {
		t.Fatalf("%d batches, want the empty producer batch and two others", len(batches))
	}
	h, err := ValidateBatch(batches[0])
	if err != nil || h.BaseOffset != 2 || h.LastOffsetDelta != 1 || h.NumRecords != 0 || h.ProducerID != 7 ||
		h.BaseSequence != 2 || h.FirstTimestamp != 21 || h.MaxTimestamp != 21 || h.Attributes != 0 {
		t.Fatalf("empty producer batch %+v, %v", h, err)
	}
	if got, want := summary(logRecords(t, l)), []string{"4:a=3", "5:b=3", "6:z=1"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestCompactPartialBatch: a rewritten batch keeps its header (offsets,
// producer, first timestamp) and gets the survivors' count, max timestamp
// and a valid CRC; LogAppendTime batches keep their max timestamp.
func TestCompactPartialBatch(t *testing.T) {
	clock := newClock()
	cfg := compactConfig(t.TempDir(), clock)
	cfg.SegmentBytes = 1
	l := openLog(t, cfg)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 100, pid: 3, seq: 9, recs: []kv{rec("a", "1"), rec("b", "1"), rec("c", "1")}}), 0)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 200, appendTS: true, recs: []kv{rec("x", "1"), rec("a", "2")}}), 0)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 300, recs: []kv{rec("c", "2"), rec("x", "2")}}), 0)
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 400, recs: []kv{rec("z", "1")}}), 0)
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	batches := readAll(t, l, 0)
	h0, _ := ValidateBatch(batches[0])
	if h0.BaseOffset != 0 || h0.LastOffsetDelta != 2 || h0.NumRecords != 1 || h0.FirstTimestamp != 100 ||
		h0.MaxTimestamp != 101 || h0.ProducerID != 3 || h0.BaseSequence != 9 {
		t.Fatalf("rewritten batch %+v", h0)
	}
	h1, _ := ValidateBatch(batches[1])
	if h1.BaseOffset != 3 || h1.NumRecords != 1 || h1.MaxTimestamp != 201 || h1.Attributes&attrLogAppendTime == 0 {
		t.Fatalf("rewritten LogAppendTime batch %+v", h1)
	}
	if got, want := summary(logRecords(t, l)), []string{"1:b=1", "4:a=2", "5:c=2", "6:x=2", "7:z=1"}; !equalStrings(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestCompactReaderKeepsOldSegment: a reader holding a segment that a pass
// replaces reads the old content to the end.
func TestCompactReaderKeepsOldSegment(t *testing.T) {
	clock := newClock()
	l := openLog(t, compactConfig(t.TempDir(), clock))
	appendRandom(t, l, clock, rand.New(rand.NewPCG(3, 3)), 60, 5, codecNone)
	before := readAll(t, l, 0)
	s, size, end, _, _, err := l.locate(0, math.MaxInt64) // what Read does first
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(); err != nil {
		t.Fatal(err)
	}
	v, pos, _, err := l.position(s, size, end, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := make([]byte, size-pos)
	if _, err := v.file.ReadAt(old, pos); err != nil {
		t.Fatal(err)
	}
	s.release()
	got := splitBatches(t, old)
	equalBatches(t, got, before[:len(got)])
	if after := readAll(t, l, 0); len(after) >= len(before) {
		t.Fatalf("compaction removed nothing: %d batches, %d before", len(after), len(before))
	}
}

func TestCompactCorruptManifest(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	l := openLog(t, compactConfig(dir, clock))
	mustAppend(t, l, keyedBatch(t, batchSpec{ts: 1, recs: []kv{rec("a", "1")}}), 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b := encodeSwap([]swapGroup{{out: 0, inputs: []int64{0, 5}}})
	b[9] ^= 1
	if err := os.WriteFile(filepath.Join(dir, swapFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := compactConfig(dir, clock)
	cfg.Logger = quietLogger(t)
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), swapFile) {
		t.Fatalf("Open with a damaged swap manifest: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("PWCS"), append([]byte("PWCS\x00\x00\x00\x01\xff\xff\xff\xff"), 0, 0, 0, 0)} {
		if _, err := decodeSwap(bad); err == nil {
			t.Fatalf("decodeSwap(%x) accepted", bad)
		}
	}
	groups := []swapGroup{{out: 0, inputs: []int64{0, 5, 9}}, {out: 12, inputs: []int64{12}}}
	if got, err := decodeSwap(encodeSwap(groups)); err != nil || fmt.Sprint(got) != fmt.Sprint(groups) {
		t.Fatalf("round trip %v, %v", got, err)
	}
}
