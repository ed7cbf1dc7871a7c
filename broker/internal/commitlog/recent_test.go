package commitlog

import (
	"bytes"
	"fmt"
	"math"
	"testing"
)

func TestRecentBatchesFind(t *testing.T) {
	var nilRing *recentBatches
	if _, ok := nilRing.find(0); ok {
		t.Fatal("an empty ring found a batch")
	}
	r := new(recentBatches)
	// batches of 1..3 offsets, rel 0 on, more than the ring holds
	var want []recentBatch
	rel := uint32(0)
	for i := range recentLen*2 + 5 {
		n := uint32(i%3 + 1)
		b := recentBatch{rel: rel, last: rel + n - 1, pos: int64(i) * 100, size: 100}
		r.add(b)
		want = append(want, b)
		rel += n
	}
	kept := want[len(want)-recentLen:]
	for _, b := range want {
		for off := b.rel; off <= b.last; off++ {
			got, ok := r.find(off)
			remembered := b.rel >= kept[0].rel
			if ok != remembered || (ok && got != b) {
				t.Fatalf("find(%d) = %+v, %v; want %+v, %v", off, got, ok, b, remembered)
			}
		}
	}
	if _, ok := r.find(rel); ok {
		t.Fatalf("found offset %d past the last batch", rel)
	}
}

// TestReadAtTheTail reads every offset near the end of a log after each
// append, through segment rolls and truncations, and checks that the
// batch read is the one holding the offset; then it reopens the log
// (nothing remembered: every read walks the index and batch headers)
// and checks every offset reads the same bytes as before.
func TestReadAtTheTail(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: 4096, IndexIntervalBytes: 300}
	l := openLog(t, cfg)
	type span struct{ base, last int64 }
	var spans []span
	check := func(step string) {
		t.Helper()
		if err := l.Sync(t.Context(), l.EndOffset()); err != nil {
			t.Fatal(err)
		}
		for off := max(0, l.EndOffset()-recentLen*4); off < l.EndOffset(); off++ {
			b, err := l.Read(off, 1, nil) // maxBytes 1: the first batch alone
			if err != nil {
				t.Fatalf("%s: Read(%d): %v", step, off, err)
			}
			got := splitBatches(t, b)
			if len(got) != 1 {
				t.Fatalf("%s: Read(%d) gave %d batches", step, off, len(got))
			}
			h, _ := ParseBatchHeader(got[0])
			var want span
			for _, s := range spans {
				if off >= s.base && off <= s.last {
					want = s
				}
			}
			if h.BaseOffset != want.base || h.LastOffset() != want.last {
				t.Fatalf("%s: Read(%d) gave batch [%d, %d], want [%d, %d]", step, off, h.BaseOffset, h.LastOffset(), want.base, want.last)
			}
		}
	}
	appendOne := func(step string, records, size, seed int) {
		t.Helper()
		base, last := mustAppend(t, l, makeBatch(t, int64(1000+seed), values(records, size, seed)...), 1)
		spans = append(spans, span{base, last})
		check(step)
		// The batch just appended is found without reading a header.
		before := l.Stats()
		if _, err := l.Read(last, 1, nil); err != nil {
			t.Fatal(err)
		}
		if st := l.Stats(); st.HeaderReads != before.HeaderReads || st.Reads != before.Reads+1 {
			t.Fatalf("%s: reading the last batch took %d header reads and %d reads, want 0 and 1", step, st.HeaderReads-before.HeaderReads, st.Reads-before.Reads)
		}
	}
	// A cut to the start of a one-segment log empties its segment, which
	// stays the active one; bigger batches then take its offsets, and none
	// of the small ones it held may be read.
	for i := range 6 {
		appendOne("small", 4, 20, 600+i)
	}
	if err := l.Truncate(0); err != nil {
		t.Fatal(err)
	}
	spans = nil
	check("after emptying the log")
	for i := range 10 {
		appendOne("big, after emptying", 1, 400, 700+i)
	}
	for i := range 120 {
		appendOne(fmt.Sprint("append ", i), i%4+1, 20+i%50, i)
	}
	// A cut inside the remembered batches: reads must not find what was cut.
	cut := spans[len(spans)-5].base + 1
	if err := l.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	for len(spans) > 0 && spans[len(spans)-1].last >= cut { // the batch holding cut goes whole
		spans = spans[:len(spans)-1]
	}
	check("after the cut")
	// A cut at the base of the active segment removes it; a new one
	// takes its offsets.
	for n := segmentCount(l); segmentCount(l) == n; {
		appendOne("to a roll", 4, 20, 500)
	}
	for i := range 6 {
		appendOne("small", 4, 20, 600+i)
	}
	cut = activeBase(l)
	if err := l.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	for len(spans) > 0 && spans[len(spans)-1].last >= cut {
		spans = spans[:len(spans)-1]
	}
	check("after cutting the active segment")
	for i := range 30 {
		appendOne("big, after the cut", 1, 400, 700+i)
	}

	before := map[int64][]byte{}
	for off := int64(0); off < l.EndOffset(); off++ {
		b, err := l.Read(off, 1, nil)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		before[off] = b
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, cfg)
	for off := int64(0); off < l.EndOffset(); off++ {
		b, err := l.Read(off, 1, nil)
		if err != nil {
			t.Fatalf("reopened: Read(%d): %v", off, err)
		}
		if !bytes.Equal(b, before[off]) {
			t.Fatalf("reopened: Read(%d) differs from the read before", off)
		}
	}
}

// TestVisibleBytes: where the log can tell how much a read would find
// without reading, it is exactly what the read finds, below the high
// watermark and below a lower bound (a cluster's ISR high watermark);
// for a consumer at the tail it always can.
func TestVisibleBytes(t *testing.T) {
	l := openLog(t, Config{Dir: t.TempDir(), SegmentBytes: 4096, IndexIntervalBytes: 300})
	var bases []int64
	for i := range 100 {
		base, _ := mustAppend(t, l, makeBatch(t, int64(i), values(i%3+1, 30+i%40, i)...), 1)
		bases = append(bases, base)
		if i%7 != 6 {
			continue // appended, not yet visible
		}
		if err := l.Sync(t.Context(), l.EndOffset()); err != nil {
			t.Fatal(err)
		}
		hw := l.HighWatermark()
		for k := max(0, len(bases)-recentLen); k < len(bases); k++ {
			for _, below := range []int64{math.MaxInt64, bases[len(bases)-1], bases[min(k+1, len(bases)-1)]} { // at batch bounds, as HWs are
				for off := bases[k]; off < min(hw, below) && (k+1 == len(bases) || off < bases[k+1]); off++ {
					n, ok := l.VisibleBytes(off, below)
					got, err := l.ReadFuncBelow(off, 1<<30, below, func(n int) []byte { return make([]byte, n) })
					if err != nil {
						t.Fatal(err)
					}
					if !ok && min(hw, below) > bases[0] && off >= activeBase(l) {
						t.Fatalf("VisibleBytes(%d, %d) not known at the tail", off, below)
					}
					if ok && n != int64(len(got)) {
						t.Fatalf("VisibleBytes(%d, %d) = %d, a read finds %d", off, below, n, len(got))
					}
				}
			}
		}
	}
	if _, ok := l.VisibleBytes(l.EndOffset(), math.MaxInt64); ok {
		t.Fatal("VisibleBytes at the end of the log claims to know")
	}
}
