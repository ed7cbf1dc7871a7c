package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets: 16 linear sub-buckets per
// power of two of nanoseconds, so any quantile it reports is within 1/32
// (about 3%) of the true value. Observe is one atomic add, cheap enough for
// the produce hot path and safe from any goroutine.
type histogram struct {
	counts [numBuckets]atomic.Uint64
}

const (
	subBits    = 4
	subBuckets = 1 << subBits
	// numBuckets covers every uint64: the top bucket index is
	// (64-subBits)*subBuckets + subBuckets - 1.
	numBuckets = (64 - subBits + 1) * subBuckets
)

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the smallest and largest value that fall in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < subBuckets {
		return uint64(i), uint64(i)
	}
	shift := i/subBuckets - 1
	mant := uint64(i%subBuckets + subBuckets)
	lo = mant << shift
	return lo, lo + (1 << shift) - 1
}

// Observe records one duration; negative durations count as zero.
func (h *histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
}

// merge adds o's counts into h.
func (h *histogram) merge(o *histogram) {
	for i := range o.counts {
		if n := o.counts[i].Load(); n > 0 {
			h.counts[i].Add(n)
		}
	}
}

// Count returns how many durations were observed.
func (h *histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Quantile returns the q-quantile (0 < q ≤ 1) as the midpoint of the bucket
// holding it, or 0 when nothing was observed.
func (h *histogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	rank = min(rank, total)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketRange(i)
			return time.Duration(lo + (hi-lo)/2)
		}
	}
	return 0 // unreachable: seen reaches total
}
