package partition

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// BenchmarkOpen opens a data directory of cleanly closed partitions, one
// record each (what `pitwall bench partitions` restarts), and reports the
// process's CPU time per open beside the wall time: on a machine shared
// with other work the CPU seconds hold where the wall time does not.
//
//	go test -run '^$' -bench BenchmarkOpen -benchtime 5x ./broker/internal/partition/
//
// PITWALL_BENCH_OPEN_DIR keeps the data directories there between runs
// (creating 6,000 partitions takes a while).
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1200, 6000} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			dir := openBenchDir(b, n)
			cfg := testConfig(dir)
			cfg.MaxPartitions = 12
			b.ResetTimer()
			var cpu time.Duration
			for b.Loop() {
				c0 := cpuTime(b)
				r, err := Open(cfg)
				cpu += cpuTime(b) - c0
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/float64(n), "cpu-µs/partition")
		})
	}
}

// openBenchDir returns a data directory of n partitions (topics of 12),
// each holding one record and closed cleanly.
func openBenchDir(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	if keep := os.Getenv("PITWALL_BENCH_OPEN_DIR"); keep != "" {
		dir = filepath.Join(keep, strconv.Itoa(n))
		if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
			return dir
		}
		os.RemoveAll(dir)
	}
	cfg := testConfig(dir)
	cfg.MaxPartitions = 12
	cfg.Fsync = commitlog.FsyncNever // the files are the same; only faster to make
	r, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := range (n + 11) / 12 {
		t, err := r.Create(fmt.Sprintf("pw-%05d", i), 12, nil, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range t.Partitions() {
			batch, h := plainBatch(0)
			if _, err := p.Append(batch, h); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
