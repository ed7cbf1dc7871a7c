package bench

import (
	"math"
	"testing"
	"time"
)

func TestBucketOfCoversEveryValueContiguously(t *testing.T) {
	// Every bucket's range must start right after the previous one ends and
	// bucketOf must map both ends of a range back to that bucket.
	var next uint64
	for i := range numBuckets {
		lo, hi := bucketRange(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if hi < lo {
			t.Fatalf("bucket %d: hi %d < lo %d", i, hi, lo)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(hi); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", hi, got, i)
		}
		next = hi + 1
	}
	if next != 0 { // wrapped past math.MaxUint64
		t.Fatalf("buckets end at %d, want all of uint64", next-1)
	}
}

func TestQuantileWithinBucketError(t *testing.T) {
	var h histogram
	// 1..10000 microseconds, once each.
	for i := 1; i <= 10000; i++ {
		h.Observe(time.Duration(i) * time.Microsecond)
	}
	if h.Count() != 10000 {
		t.Fatalf("count %d, want 10000", h.Count())
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{1, 10000 * time.Microsecond},
		{0.0001, time.Microsecond},
	} {
		got := h.Quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 1.0/32 {
			t.Errorf("Quantile(%v) = %v, want %v within 1/32 (off by %.3f)", tc.q, got, tc.want, rel)
		}
	}
}

func TestHistogramEmptyNegativeAndMerge(t *testing.T) {
	var a, b histogram
	if got := a.Quantile(0.5); got != 0 {
		t.Fatalf("empty Quantile = %v, want 0", got)
	}
	a.Observe(-time.Second)
	if got := a.Quantile(1); got != 0 {
		t.Fatalf("negative observation gave %v, want 0", got)
	}
	b.Observe(time.Hour)
	b.Observe(time.Duration(math.MaxInt64))
	a.merge(&b)
	if a.Count() != 3 {
		t.Fatalf("merged count %d, want 3", a.Count())
	}
	if got := a.Quantile(0.5); got < 59*time.Minute || got > 61*time.Minute {
		t.Fatalf("merged median %v, want about 1h", got)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h histogram
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(1234567)
		for pb.Next() {
			h.Observe(d)
			d += 997
		}
	})
}
