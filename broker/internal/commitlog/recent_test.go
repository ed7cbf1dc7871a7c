package commitlog

import (
	"bytes"
	"fmt"
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
	}
	segments := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.segments)
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
	for n := segments(); segments() == n; {
		appendOne("to a roll", 4, 20, 500)
	}
	for i := range 6 {
		appendOne("small", 4, 20, 600+i)
	}
	l.mu.Lock()
	cut = l.segments[len(l.segments)-1].base
	l.mu.Unlock()
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
