package spool

import (
	"runtime"
	"testing"
)

// BenchmarkAppendParallel appends 2.5 KB batches (a serial line's frame)
// from as many goroutines as the edge reads ports, 20, all at once.
func BenchmarkAppendParallel(b *testing.B) {
	// Nothing reads: the oldest segments go at 256 MiB, bounding the disk.
	s := open(b, Config{Dir: b.TempDir(), MaxBytes: 256 << 20, Policy: PolicyDropOldest})
	r := rec(1, 2500)
	b.SetBytes(int64(len(r.Value)))
	b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var batch Batch
		for pb.Next() {
			batch.Reset()
			if err := batch.Add(&r); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Append(&batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendOne appends the same batches from one goroutine: what
// grouping costs an append that is never grouped.
func BenchmarkAppendOne(b *testing.B) {
	s := open(b, Config{Dir: b.TempDir(), MaxBytes: 256 << 20, Policy: PolicyDropOldest})
	r := rec(1, 2500)
	b.SetBytes(int64(len(r.Value)))
	var batch Batch
	for b.Loop() {
		batch.Reset()
		if err := batch.Add(&r); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Append(&batch); err != nil {
			b.Fatal(err)
		}
	}
}
