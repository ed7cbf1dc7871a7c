package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// threadWaits is how long each thread (by id) has spent runnable but
// waiting for a CPU since it started: the kernel's run-queue delay, the
// second field of /proc/PID/task/TID/schedstat (kernels with
// CONFIG_SCHED_INFO, which Debian's have). nil where there is none.
type threadWaits map[int]int64

// readThreadWaits reads the waits of pid's threads, or with pid 0 of
// every thread of every process.
func readThreadWaits(pid int) threadWaits {
	pattern := filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "schedstat")
	if pid == 0 {
		pattern = "/proc/[0-9]*/task/*/schedstat"
	}
	paths, _ := filepath.Glob(pattern)
	var w threadWaits
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		ns, ok := parseSchedstat(string(b))
		if !ok {
			continue
		}
		tid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		if w == nil {
			w = threadWaits{}
		}
		w[tid] = ns
	}
	return w
}

// parseSchedstat returns the run-queue delay of a schedstat line: "time
// on a CPU (ns) time waiting for one (ns) timeslices".
func parseSchedstat(s string) (waitNs int64, ok bool) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return 0, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	return n, err == nil && n >= 0
}

// waitingThreads is how many threads were waiting for a CPU on average
// from a to b, dt apart: their run-queue delays' growth over dt. A thread
// that started in between counts whole; one that ended is not counted.
// -1 when either reading had nothing.
func waitingThreads(a, b threadWaits, dt time.Duration) float64 {
	if a == nil || b == nil || dt <= 0 {
		return -1
	}
	var ns int64
	for tid, w := range b {
		if d := w - a[tid]; d >= 0 {
			ns += d
		} else {
			ns += w // an id reused after its thread ended: a new thread
		}
	}
	return float64(ns) / float64(dt)
}
