package edge

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// The end-to-end load of DESIGN.md, 20 cars × 300 channels × 200 Hz =
// 1.2 M samples/s: each car has the standard channels at their own rates
// (1 Hz to 1 kHz) and 270 aux channels at 200 Hz, 1.2 M samples/s in all.
var benchSim = simulator.Config{Cars: 20, Channels: 330, AuxRateHz: 200, Seed: 1, Quiet: true}

// BenchmarkEdge measures the edge alone on one core: an edge process with
// GOMAXPROCS=1 reads the simulator's serial lines (benchSim, generated
// beforehand) from a pty and produces them into a Pitwall broker (in this
// process, fsync on). Each iteration is one second of sensor time, 1.2 M
// samples. cores is the edge process's CPU time over the wall time, and
// edge-cpu-ns/sample its CPU time per sample (1e9 / it is what one core
// of edge can carry, whatever else the machine is doing).
//
//	max:    the lines are written as fast as the edge takes them; samples/s
//	        is what one core of edge sustains.
//	paced:  the lines are written in real time (1.2 M samples/s); p50-ms
//	        and p99-ms are the edge's latency from receiving a frame to the
//	        broker's acknowledgement (edge_ack_latency_seconds buckets,
//	        interpolated).
//
//	go test -run '^$' -bench BenchmarkEdge -benchtime 5x ./edge
func BenchmarkEdge(b *testing.B) {
	for _, paced := range []bool{false, true} {
		name := "max"
		if paced {
			name = "paced"
		}
		b.Run(name, func(b *testing.B) { benchEdge(b, paced) })
	}
}

func benchEdge(b *testing.B, paced bool) {
	cfg := benchSim
	cfg.Duration = time.Duration(b.N) * time.Second
	chunks, samples, frames := simLines(b, cfg)

	br := brokertest.Start(b)
	master, slave := openPTY(b)
	ecfg := testConfig(b, br.Addr, "serial:"+slave)
	c := startBenchChild(b, ecfg)
	c.waitMetric(b, `edge_source_up{source="serial:`+slave+`"}`, 1)
	before, _ := c.scrape()
	cpu0 := procCPU(b, c.cmd.Process.Pid)

	b.ResetTimer()
	start := time.Now()
	for i, chunk := range chunks { // one chunk per 10 ms of sensor time
		if paced {
			if d := time.Until(start.Add(time.Duration(i) * 10 * time.Millisecond)); d > 0 {
				time.Sleep(d)
			}
		}
		if _, err := master.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	written := time.Since(start)
	const acked = `edge_acked_records_total{topic="telemetry"}`
	for c.metric(b, acked) < float64(frames) {
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.Logf("%d frames: written in %v, all acknowledged after %v", frames, written.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	cpu := procCPU(b, c.cmd.Process.Pid) - cpu0
	after, _ := c.scrape()
	c.cmd.Process.Signal(syscall.SIGTERM) // a clean exit writes the CPU profile, if asked for
	<-c.done

	b.ReportMetric(float64(samples)/elapsed.Seconds(), "samples/s")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(samples), "edge-cpu-ns/sample")
	b.ReportMetric(p99(before, after)*1000, "p99-ms")
	b.ReportMetric(quantile(before, after, 0.5)*1000, "p50-ms")
	b.ReportMetric(0, "ns/op")
}

// simLines generates the simulation as serial lines, in 10 ms chunks.
func simLines(b *testing.B, cfg simulator.Config) (chunks [][]byte, samples, frames int) {
	b.Helper()
	sim, err := simulator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for i := range sim.Cars() {
		cat := sim.Catalog(i)
		for j, ch := range cat.Channels {
			l, _ := telemetry.AppendChannelLine(nil, &telemetry.ChannelLine{Car: cat.Car, Session: cat.Session, Index: j + 1, Count: len(cat.Channels), Channel: ch})
			buf.Write(l)
		}
	}
	var line []byte
	for tick, more := 0, true; more; tick++ {
		more, err = sim.Step(func(f *telemetry.Frame) error {
			line, err = telemetry.AppendFrameLine(line[:0], f)
			buf.Write(line)
			samples += len(f.Samples)
			frames++
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if tick%10 == 9 || !more {
			chunks = append(chunks, bytes.Clone(buf.Bytes()))
			buf.Reset()
		}
	}
	return chunks, samples, frames
}

// startBenchChild starts the edge process on one core, quiet.
func startBenchChild(b *testing.B, cfg Config) *child {
	b.Helper()
	b.Setenv("GOMAXPROCS", "1")
	return startChild(b, cfg)
}

// procCPU returns the CPU time (user + system) a process has used.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func p99(before, after map[string]float64) float64 { return quantile(before, after, 0.99) }

// quantile estimates a quantile of edge_ack_latency_seconds between two
// scrapes, interpolating inside the bucket.
func quantile(before, after map[string]float64, q float64) float64 {
	const name = "edge_ack_latency_seconds_bucket{le=\""
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range after {
		if !strings.HasPrefix(k, name) {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(k, name), "\"}"), 64)
		if err != nil {
			le = math.Inf(1)
		}
		bs = append(bs, bucket{le, v - before[k]})
	}
	if len(bs) == 0 {
		return 0
	}
	slices.SortFunc(bs, func(x, y bucket) int { return cmp.Compare(x.le, y.le) })
	total := bs[len(bs)-1].n
	want := q * total
	prevLe, prevN := 0.0, 0.0
	for _, bk := range bs {
		if bk.n >= want {
			if math.IsInf(bk.le, 1) {
				return prevLe
			}
			return prevLe + (bk.le-prevLe)*(want-prevN)/math.Max(bk.n-prevN, 1)
		}
		prevLe, prevN = bk.le, bk.n
	}
	return prevLe
}
