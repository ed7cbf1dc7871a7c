package bench

import (
	"sync/atomic"
	"time"
)

// latencyHist is a histogram that also keeps the exact maximum, and
// travels between a stage process and the bench as JSON (histJSON).
type latencyHist struct {
	h   histogram
	max atomic.Int64
}

func (l *latencyHist) Observe(d time.Duration) {
	l.h.Observe(d)
	for {
		m := l.max.Load()
		if int64(d) <= m || l.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// histJSON is a latencyHist on the wire: the non-empty buckets.
type histJSON struct {
	Buckets map[int]uint64 `json:"buckets"`
	MaxNs   int64          `json:"max_ns"`
}

func (l *latencyHist) json() histJSON {
	j := histJSON{Buckets: map[int]uint64{}, MaxNs: l.max.Load()}
	for i := range l.h.counts {
		if n := l.h.counts[i].Load(); n > 0 {
			j.Buckets[i] = n
		}
	}
	return j
}

// add merges j into l.
func (l *latencyHist) add(j histJSON) {
	for i, n := range j.Buckets {
		if i >= 0 && i < numBuckets {
			l.h.counts[i].Add(n)
		}
	}
	if j.MaxNs > l.max.Load() {
		l.max.Store(j.MaxNs)
	}
}

// Latency is one latency row of the pipeline report.
type Latency struct {
	// What the latency runs from and to.
	What string `json:"what"`
	// Count is how many samples the figures come from; 0: not measured.
	Count uint64 `json:"count"`
	// P50Ms, P99Ms and MaxMs are in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Note says how it was measured when that is not obvious.
	Note string `json:"note,omitempty"`
}

func (l *latencyHist) latency(what, note string) Latency {
	// A quantile is its bucket's midpoint: never above the exact max.
	mx := time.Duration(l.max.Load())
	msOf := func(d time.Duration) float64 { return float64(min(d, mx)) / 1e6 }
	return Latency{What: what, Count: l.h.Count(), P50Ms: msOf(l.h.Quantile(.5)), P99Ms: msOf(l.h.Quantile(.99)),
		MaxMs: msOf(mx), Note: note}
}
