package bench

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// latencyHist is a histogram that also keeps the exact maximum and the
// bucket counts of each second of sample time (when the sample was taken:
// now minus the latency), so the report can say which part of a run a
// tail came from; it travels between a stage process and the bench as
// JSON (histJSON).
type latencyHist struct {
	h   histogram
	max atomic.Int64

	mu  sync.Mutex
	sec map[int64]map[int]uint64 // Unix second of the sample → bucket → count
}

func (l *latencyHist) Observe(d time.Duration) {
	l.h.Observe(d)
	for {
		m := l.max.Load()
		if int64(d) <= m || l.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
	l.count(time.Now().Add(-d).Unix(), bucketOf(uint64(max(d, 0))), 1)
}

// count adds n to bucket b of second s.
func (l *latencyHist) count(s int64, b int, n uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sec == nil {
		l.sec = map[int64]map[int]uint64{}
	}
	m := l.sec[s]
	if m == nil {
		m = map[int]uint64{}
		l.sec[s] = m
	}
	m[b] += n
}

// histJSON is a latencyHist on the wire: the non-empty buckets, overall
// and per second of sample time.
type histJSON struct {
	Buckets map[int]uint64           `json:"buckets"`
	MaxNs   int64                    `json:"max_ns"`
	Seconds map[int64]map[int]uint64 `json:"seconds,omitempty"`
}

func (l *latencyHist) json() histJSON {
	j := histJSON{Buckets: map[int]uint64{}, MaxNs: l.max.Load()}
	for i := range l.h.counts {
		if n := l.h.counts[i].Load(); n > 0 {
			j.Buckets[i] = n
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sec) > 0 {
		j.Seconds = make(map[int64]map[int]uint64, len(l.sec))
		for s, m := range l.sec {
			j.Seconds[s] = maps.Clone(m)
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
	for s, m := range j.Seconds {
		for b, n := range m {
			if b >= 0 && b < numBuckets {
				l.count(s, b, n)
			}
		}
	}
}

// p99By returns the p99 in milliseconds of the samples taken in each of
// n parts of the load of length every from start (a second belongs to
// the part its start falls in); -1 for a part without samples. Nil when l has
// no per-second counts.
func (l *latencyHist) p99By(start time.Time, every time.Duration, n int) []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sec) == 0 || every <= 0 || n <= 0 {
		return nil
	}
	win := make([]histogram, n)
	t0 := start.Truncate(time.Second)
	for s, m := range l.sec {
		if at := time.Unix(s, 0).Sub(t0); at >= 0 && at < every*time.Duration(n) {
			for b, c := range m {
				win[at/every].counts[b].Add(c)
			}
		}
	}
	mx := time.Duration(l.max.Load())
	out := make([]float64, n)
	for i := range win {
		out[i] = -1
		if win[i].Count() > 0 {
			out[i] = float64(min(win[i].Quantile(.99), mx)) / 1e6
		}
	}
	return out
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
	// P99ByPartMs is the p99 of the samples taken in each part of
	// the load (PipelineReport.PartS long; -1: none), where measured.
	P99ByPartMs []float64 `json:"p99_by_part_ms,omitempty"`
}

func (l *latencyHist) latency(what, note string) Latency {
	// A quantile is its bucket's midpoint: never above the exact max.
	mx := time.Duration(l.max.Load())
	msOf := func(d time.Duration) float64 { return float64(min(d, mx)) / 1e6 }
	return Latency{What: what, Count: l.h.Count(), P50Ms: msOf(l.h.Quantile(.5)), P99Ms: msOf(l.h.Quantile(.99)),
		MaxMs: msOf(mx), Note: note}
}
