package edge

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// logEvery is how often one kind of bad input or event is logged.
const logEvery = time.Minute

// limiter lets one log line per key through every period and counts what
// it held back.
type limiter struct {
	mu     sync.Mutex
	every  time.Duration
	last   map[string]time.Time
	held   map[string]int
	nowFor func() time.Time
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: map[string]time.Time{}, held: map[string]int{}, nowFor: time.Now}
}

// allow reports whether key may log now, and how many were held back
// since it last did.
func (l *limiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.nowFor()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		l.held[key]++
		return false, 0
	}
	held := l.held[key]
	l.last[key], l.held[key] = now, 0
	return true, held
}

func (e *Edge) logBad(source, reason string, err error, raw []byte) {
	ok, held := e.limit.allow("bad:" + source + ":" + reason)
	if !ok {
		return
	}
	if len(raw) > 80 {
		raw = raw[:80]
	}
	e.log.Warn("edge: bad input sent to the dead-letter topic (logged once a minute per kind)",
		"source", source, "reason", reason, "err", err, "raw", fmt.Sprintf("%q", raw), "suppressed", held)
}

func (e *Edge) logNote(source, event string, err error) {
	if ok, held := e.limit.allow("note:" + source + ":" + event); ok {
		e.log.Info("edge: source event (logged once a minute per kind)", "source", source, "event", event, "err", err, "suppressed", held)
	}
}

func (e *Edge) logLimited(key, msg string, args ...any) {
	if ok, held := e.limit.allow(key); ok {
		e.log.Error(msg, append(args, "suppressed", held)...)
	}
}

func (e *Edge) setLastErr(msg string) { e.lastErr.Store(&msg) }

// latencies collects ack latencies between two status lines, in
// log-spaced buckets (20 per decade, 1 µs to 1000 s), for a p99.
type latencies struct {
	mu     sync.Mutex
	counts [181]uint32
	n      uint32
}

func (l *latencies) observe(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(int(math.Log10(us)*20), len(l.counts)-1)
	}
	l.mu.Lock()
	l.counts[i]++
	l.n++
	l.mu.Unlock()
}

// quantileAndReset returns the q-quantile (the upper edge of its bucket)
// and starts a new window.
func (l *latencies) quantileAndReset(q float64) (time.Duration, uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.n
	if n == 0 {
		return 0, 0
	}
	want := uint32(math.Ceil(q * float64(n)))
	var seen uint32
	var at int
	for i, c := range l.counts {
		seen += c
		if seen >= want {
			at = i
			break
		}
	}
	l.counts, l.n = [181]uint32{}, 0
	return time.Duration(math.Pow(10, float64(at+1)/20) * float64(time.Microsecond)), n
}

// statusState is what the status line compares against.
type statusState struct {
	at     time.Time
	frames map[string][3]int64 // source → frames read, spooled, dropped
	acked  int64
	samp   int64
}

// statusLine builds the one-line status: frames read, spooled and
// dropped per second for each source, acks, p99 latency, spool depth and
// size on disk, last error.
func (e *Edge) statusLine(prev *statusState) string {
	now := time.Now()
	secs := now.Sub(prev.at).Seconds()
	if secs <= 0 {
		secs = 1
	}
	var b strings.Builder
	b.WriteString("edge:")
	for _, s := range e.sources {
		st := s.stats
		n := [3]int64{st.read.Load(), st.frames.Load(), st.dropped.Load()}
		was := prev.frames[st.name]
		state := "down"
		if st.up.Load() {
			state = "up"
		}
		fmt.Fprintf(&b, " %s %s: read %.0f spooled %.0f dropped %.0f fr/s (bad %d) |", st.name, state,
			float64(n[0]-was[0])/secs, float64(n[1]-was[1])/secs, float64(n[2]-was[2])/secs, st.bad.Load())
		prev.frames[st.name] = n
	}
	acked, samp := e.ackedFrames.Load(), e.ackedSamples.Load()
	p99, _ := e.lat.quantileAndReset(0.99)
	broker := "broker down"
	if e.brokerUp.Load() {
		broker = "broker up"
	}
	fmt.Fprintf(&b, " %s: acked %.0f fr/s %.0f samples/s p99 %v |", broker, float64(acked-prev.acked)/secs, float64(samp-prev.samp)/secs, p99.Round(100*time.Microsecond))
	st := e.spool.Stats()
	fmt.Fprintf(&b, " spool %d records unacked, %.1f MiB on disk", st.Depth, float64(st.Bytes)/(1<<20))
	if st.OverLimit {
		b.WriteString(" OVER LIMIT")
	}
	if st.DiskFull {
		fmt.Fprintf(&b, " DISK FULL (%d records refused)", st.Refused)
	}
	if st.Dropped > 0 {
		fmt.Fprintf(&b, " (%d dropped by drop-oldest)", st.Dropped)
	}
	if msg := e.lastErr.Load(); msg != nil {
		fmt.Fprintf(&b, " | last error: %s", *msg)
	}
	prev.at, prev.acked, prev.samp = now, acked, samp
	return b.String()
}
