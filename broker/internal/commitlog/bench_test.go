package commitlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var benchOpenGiB = flag.Int("commitlog.open-gib", 1, "GiB of log BenchmarkOpen builds (10 reproduces the 10 GiB restart target)")

// benchBatch is a producer batch of 16 records of 1 KiB.
func benchBatch() []byte { return buildBatch(time.Now().UnixMilli(), values(16, 1024, 1)...) }

func benchConfig(b *testing.B, p FsyncPolicy) Config {
	return Config{Dir: b.TempDir(), Fsync: p, Logger: slog.New(slog.DiscardHandler)}
}

// BenchmarkAppend: 1 KiB records in batches of 16, no fsync (acks=1).
func BenchmarkAppend(b *testing.B) {
	l := openLog(b, benchConfig(b, FsyncNever))
	batch := benchBatch()
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendSync: acks=all, many producers each waiting for the
// group-commit fsync of its own batch.
func BenchmarkAppendSync(b *testing.B) {
	for _, producers := range []int{16, 64} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			l := openLog(b, benchConfig(b, FsyncBatch))
			b.SetBytes(int64(len(benchBatch())))
			b.SetParallelism(max(1, producers/max(1, testingProcs())))
			start := l.Stats().Fsyncs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				batch := benchBatch()
				ctx := context.Background()
				for pb.Next() {
					_, last, err := l.Append(batch, 0)
					if err == nil {
						err = l.Sync(ctx, last+1)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/float64(max(1, l.Stats().Fsyncs-start)), "batches/fsync")
		})
	}
}

// BenchmarkRead reads 1 MiB at a time through a 256 MiB log from the page
// cache, in the same run: crc=on as the broker reads (batches this run
// checked already, here at Append, are not checked again: verify.go),
// crc=every with every batch of every read checked (what a read of bytes
// not yet checked costs, such as the first read after a restart), and
// crc=off with no read checks.
func BenchmarkRead(b *testing.B) {
	l := openLog(b, benchConfig(b, FsyncNever))
	batch := benchBatch()
	for l.Size() < 256<<20 {
		if _, _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []struct {
		name  string
		check readCheck
	}{{"crc=on", readCheckUnverified}, {"crc=every", readCheckAll}, {"crc=off", readCheckNone}} {
		b.Run(mode.name, func(b *testing.B) {
			l.damage.readChecks = mode.check
			benchRead(b, l, batch)
		})
	}
}

func benchRead(b *testing.B, l *Log, batch []byte) {
	buf := make([]byte, 0, 2<<20)
	var off, total int64
	for b.Loop() {
		out, err := l.Read(off, 1<<20, buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(out))
		h, err := ParseBatchHeader(out[len(out)-int(batchSize(out[len(out)-len(batch):])):])
		if err != nil {
			b.Fatal(err)
		}
		if off = h.LastOffset() + 1; off >= l.HighWatermark() {
			off = 0
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkOpen: restart of a log of -commitlog.open-gib GiB in 64 MiB
// segments (the active one half full): after a clean Close (trusts the
// indexes); after a crash with the recovery point at the end of the log
// (walks the headers after the last index entry); and after a crash with no
// recovery point (checks every CRC of the active segment: the worst case,
// the same work as a crash 64 MiB after the last recovery point). Close is
// not timed.
func BenchmarkOpen(b *testing.B) {
	cfg := benchConfig(b, FsyncNever)
	cfg.SegmentBytes = 64 << 20
	l, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch()
	for l.Size() < int64(*benchOpenGiB)<<30-cfg.SegmentBytes/2 { // leave the active segment half full
		if _, _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	segments, active := len(l.segments), l.active().size
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"clean", "crash-recovery-point", "crash-full-scan"} {
		b.Run(mode, func(b *testing.B) {
			// Set the scene whatever ran before (-count runs sub-benchmarks repeatedly).
			l, err := Open(cfg)
			if err == nil {
				err = l.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				b.StopTimer()
				if err := unclean(cfg.Dir, mode); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				l, err := Open(cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				r := l.Stats().Recovery
				if r.Clean != (mode == "clean") || r.RecoveryPoint != (mode == "crash-recovery-point") || l.Size() < active {
					b.Fatalf("unexpected recovery %+v", r)
				}
				crash(l)
				b.StartTimer()
			}
			b.ReportMetric(float64(segments), "segments")
			b.ReportMetric(float64(active)/(1<<20), "active-MiB")
		})
	}
}

// unclean removes what a crash would not have left for BenchmarkOpen's
// mode; crash() leaves no marker, and Open rewrites the recovery point.
func unclean(dir, mode string) error {
	var gone []string
	switch mode {
	case "clean":
		l, err := Open(Config{Dir: dir, Fsync: FsyncNever, SegmentBytes: 64 << 20, Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			err = l.Close()
		}
		return err
	case "crash-recovery-point":
		gone = []string{markerFile}
	case "crash-full-scan":
		gone = []string{markerFile, recoveryPointFile}
	}
	for _, name := range gone {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkCompact: one compaction pass over 64 MiB of closed segments
// (8 MiB each) of 1 KiB records over 4096 keys, so most records are
// superseded; uncompressed and lz4 (about 2:1). MB/s counts the stored
// bytes read. Building the log is not timed.
func BenchmarkCompact(b *testing.B) {
	for _, codec := range []int{codecNone, codecLz4} {
		b.Run(fmt.Sprintf("codec=%d", codec), func(b *testing.B) {
			var read, written int64
			for b.Loop() {
				b.StopTimer()
				l := compactBenchLog(b, codec)
				b.StartTimer()
				st, err := l.Compact()
				if err != nil || st.Skipped {
					b.Fatalf("Compact = %+v, %v", st, err)
				}
				b.StopTimer()
				read, written = read+st.BytesRead, written+st.BytesWritten
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(read)/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(written)/float64(read), "written/read")
		})
	}
}

func compactBenchLog(b *testing.B, codec int) *Log {
	cfg := benchConfig(b, FsyncNever)
	cfg.Compact, cfg.SegmentBytes, cfg.MinCleanableDirtyRatio = true, 8<<20, 0.01
	l, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	// Half random, half repeated: compresses about 2:1, like mixed telemetry.
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; l.Size() < 64<<20+1; i++ {
		recs := make([]kv, 16)
		for j := range recs {
			value := bytes.Repeat([]byte{byte(j)}, 1024)
			for k := 0; k < 512; k += 8 {
				binary.LittleEndian.PutUint64(value[k:], rng.Uint64())
			}
			recs[j] = kv{key: fmt.Appendf(nil, "car-%04d", (i*16+j)*7919%4096), value: value}
		}
		if _, _, err := l.Append(keyedBatch(b, batchSpec{ts: int64(i), codec: codec, recs: recs}), 0); err != nil {
			b.Fatal(err)
		}
	}
	return l
}
