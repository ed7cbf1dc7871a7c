// Package gcfloor keeps the Go heap goal of a long-running Pitwall process
// from falling below a floor.
//
// With GOGC=100 the runtime collects once the heap has grown by the live
// heap since the last collection, and no sooner than at 4 MiB. The broker
// keeps a live heap of 2-5 MiB while it moves a grid's telemetry (its
// record batches sit in pooled buffers and the page cache, not the Go
// heap), so it collected 14-20 times a second in `pitwall bench pipeline`,
// each cycle taking one of the two cores for its mark phase. Start raises
// the GC percent while the live heap is small, so the goal is the floor
// (the heap may grow to it before a collection: that much more RSS, at
// most), and gives it back (GOGC's own value) once the live heap is large
// enough that GOGC alone reaches the floor. A GOGC set in the environment
// is the operator's choice and is left alone.
//
// Start also faults the floor's pages in before any work arrives: it
// touches that much heap once and collects it, so the heap grows into
// pages that are already mapped. The kernel maps a page at its first
// touch, and on a virtual machine that costs far more than the touch:
// 11 µs a page on the 2-core VM of BENCHMARKS.md, so a service growing
// from its idle heap to a 16 MiB goal spent ~45 ms of CPU doing it, and
// every stage of `pitwall bench pipeline` spent it in the same few
// hundred milliseconds in which the grid's first records arrived (issue
// 17). The pages stay mapped until the runtime's scavenger returns them
// to the kernel, which it did here after about two minutes idle (past the
// runtime's forced collection); with GODEBUG=madvdontneed=0 it returns
// them with MADV_FREE, and a page the kernel has not reclaimed yet is
// reused without a fault.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultFloor is the heap goal Pitwall's services keep at least.
const DefaultFloor = 16 << 20

// maxPercent bounds the GC percent Start sets: a live heap so small that
// the floor would need more is one where collections cost nothing anyway.
const maxPercent = 2000

// Start keeps the heap goal at least floor bytes until stop is called,
// which puts the GC percent back, and faults floor bytes of heap in
// before it returns (a collection and a few milliseconds of CPU). It does
// nothing when floor is 0 or GOGC is set in the environment (or GC is
// off).
func Start(floor uint64) (stop func()) {
	return start(floor, true)
}

// start is Start, with the heap's pages faulted in or not.
func start(floor uint64, fault bool) (stop func()) {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base <= 0 {
		return func() {}
	}
	t := &tuner{floor: floor, base: base}
	t.cycle()
	if fault {
		faultIn(floor)
	}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.stopped = true
			debug.SetGCPercent(base)
		}
	}
}

type tuner struct {
	floor uint64
	base  int
	// mu orders a cycle's adjustment against stop: once stop has put the
	// percent back, no cycle sets it again.
	mu      sync.Mutex
	stopped bool
	samples [3]metrics.Sample
}

// sentinel is allocated once per cycle for its cleanup to run after the
// collection that finds it unreachable; it holds a pointer so it is never
// batched with other tiny objects (whose cleanups can wait for theirs).
type sentinel struct {
	_ *int
	_ [8]byte
}

// arm runs cycle after the next collection.
func (t *tuner) arm() {
	runtime.AddCleanup(&sentinel{}, func(t *tuner) { t.cycle() }, t)
}

// cycle sets the GC percent for the live heap the last collection left
// and arms the next; it runs in the runtime's cleanup goroutine after
// each collection.
func (t *tuner) cycle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.adjust()
	t.arm()
}

// adjust sets the GC percent for the live heap (t.mu held).
func (t *tuner) adjust() {
	s := t.samples[:]
	s[0].Name, s[1].Name, s[2].Name = "/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return
		}
	}
	debug.SetGCPercent(percentFor(s[0].Value.Uint64(), s[1].Value.Uint64()+s[2].Value.Uint64(), t.floor, t.base))
}

// percentFor is the GC percent that puts the heap goal at floor, or base
// when base already reaches it. The runtime's goal is the larger of the
// live heap plus GOGC percent of the live heap and the roots it scans
// (goroutine stacks, globals), and its minimum heap, 4 MiB scaled by
// GOGC/100; the goal grows with the percent, so the lower of the two
// percents that reach floor is the one.
func percentFor(live, roots, floor uint64, base int) int {
	if live == 0 || live+(live+roots)*uint64(base)/100 >= floor {
		return base
	}
	byLive := (floor - live) * 100 / (live + roots)
	byMinimum := floor * 100 / heapMinimum
	return max(base, min(int(byLive), int(byMinimum), maxPercent))
}

// heapMinimum is the runtime's smallest heap goal at GOGC=100.
const heapMinimum = 4 << 20

// faultIn touches n bytes of fresh heap, a byte a page, and collects
// them: their pages stay mapped as the heap's free pages, so the
// allocations that fill the heap up to the goal later find them mapped,
// until the scavenger returns them (see the package comment).
func faultIn(n uint64) {
	b := make([]byte, n)
	page := os.Getpagesize()
	for i := 0; i < len(b); i += page {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	runtime.GC()
}
