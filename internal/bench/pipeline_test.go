package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pitwallBinary builds cmd/pitwall into dir: the pipeline runs its
// stages as processes of it.
func pitwallBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pitwall")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/pitwall/pitwall/cmd/pitwall").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/pitwall: %v\n%s", err, out)
	}
	return bin
}

// TestPipeline runs the whole pipeline, briefly and lightly, over each
// wire the targets name, and checks that every stage is reported with
// its figures, that every frame the simulator offered arrived exactly
// once, and that every queue drained. Speed is not judged here: that is
// the benchmark's (BENCHMARKS.md).
func TestPipeline(t *testing.T) {
	if influxdPath() == "" {
		t.Fatal("no influxd (run scripts/install-test-deps.sh)")
	}
	bin := pitwallBinary(t, t.TempDir())
	for _, in := range []string{"kafka", "serial"} {
		t.Run(in, func(t *testing.T) {
			cfg := PipelineConfig{Cars: 2, Channels: 20, Hz: 50, Duration: 3 * time.Second, In: in, Binary: bin, DataDir: t.TempDir()}
			if in == "kafka" {
				cfg.Window = time.Second // not the default: the drain waits for the last window
			}
			rep, err := RunPipeline(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := rep.WriteTable(&out); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", out.String())
			checkPipelineReport(t, rep, in, out.String())
		})
	}
}

func checkPipelineReport(t *testing.T, rep *PipelineReport, in, table string) {
	t.Helper()
	// 2 cars x 50 frames a second (every channel at 50 Hz) x 3 s.
	if rep.Frames.Offered != 300 || rep.Frames.Lost != 0 || rep.Frames.Doubled != 0 || rep.Frames.Bad != 0 {
		t.Errorf("frames %+v, want 300 offered, none lost, doubled or bad", rep.Frames)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("errors: %q", rep.Errors)
	}
	want := []string{"simulator", "edge", "broker", "live stream", "processors", "influxd"}
	if in == "kafka" {
		want = []string{"simulator", "broker", "live stream", "processors", "influxd"}
	}
	var got []string
	for _, s := range rep.Stages {
		got = append(got, s.Name)
		if s.RSSMiB <= 0 || s.PeakRSSMiB < s.RSSMiB || s.CPU < 0 || s.Waiting < 0 {
			t.Errorf("%s: RSS %.1f MiB, peak %.1f, CPU %.2f, waiting threads %.2f", s.Name, s.RSSMiB, s.PeakRSSMiB, s.CPU, s.Waiting)
		}
		// Achieved is a rate over the run's steady part; how much a stage
		// got done by then depends on the machine, so only that it was
		// measured is checked.
		if s.Name != "influxd" && (s.Offered <= 0 || s.Achieved < 0) {
			t.Errorf("%s: offered %.0f, achieved %.0f samples/s", s.Name, s.Offered, s.Achieved)
		}
		if s.Queue != "-" && s.DrainedS < 0 {
			t.Errorf("%s: %s never drained (%d at the end)", s.Name, s.Queue, s.QueueAtEnd)
		}
		if !strings.Contains(table, "\n"+s.Name+" ") {
			t.Errorf("table has no row for %s", s.Name)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("stages %q, want %q", got, want)
	}
	if rep.Nominal != 2*20*50 || rep.Stages[0].Offered != rep.Nominal {
		t.Errorf("nominal %.0f, simulator offered %.0f, want 2000", rep.Nominal, rep.Stages[0].Offered)
	}
	if rep.PitwallRSSMiB <= 0 {
		t.Errorf("Pitwall RSS %.1f MiB", rep.PitwallRSSMiB)
	}
	// The whole machine was measured while the load ran: the pipeline
	// kept it at least a little busy and switching.
	if m := rep.Machine; m == nil || m.CPUs != runtime.NumCPU() || m.BusyPct <= 0 || m.BusyPct > 100 ||
		m.UserPct+m.SystemPct > m.BusyPct+1e-9 || m.BusyPct+m.IOWaitPct+m.StealPct > 100+1e-9 || m.ContextSwitchesPerS <= 0 ||
		m.WaitingThreads < 0 {
		t.Errorf("machine %+v", m)
	} else if !strings.Contains(table, fmt.Sprintf("machine (%d CPUs, every process) from a tenth of the load to its end: %.0f%% busy", m.CPUs, m.BusyPct)) {
		t.Errorf("table has no machine line for %+v", m)
	}
	for _, l := range rep.Latency {
		// Every frame of both cars carries the streamed channel: 300 rows;
		// the broker acknowledged 300 frames (kafka) or the edge 300
		// records plus the catalogs (serial).
		if l.Count == 0 || l.P50Ms > l.P99Ms || l.P99Ms > l.MaxMs+1e-9 && !strings.Contains(l.Note, "bucket") {
			t.Errorf("latency %+v", l)
		}
		if (strings.HasPrefix(l.What, "(b)") || strings.Contains(l.What, "live subscriber fetched") || strings.Contains(l.What, "made by the simulator")) && l.Count != 300 {
			t.Errorf("%s: %d timed, want 300 (one per frame)", l.What, l.Count)
		}
		if strings.HasPrefix(l.What, "(a) sample") && l.Count != 300 {
			t.Errorf("%s: %d acks timed, want 300", l.What, l.Count)
		}
	}
	if len(rep.Latency) != map[string]int{"kafka": 5, "serial": 6}[in] {
		t.Errorf("%d latency rows", len(rep.Latency))
	}
	// 3 s of load: three parts of a second. Every frame is timed by the
	// simulator and the live stream, so each part has its p99 there.
	if rep.PartS != 1 {
		t.Errorf("parts of %g s, want 1", rep.PartS)
	}
	for _, l := range rep.Latency {
		if strings.Contains(l.Note, "the edge's histogram") {
			if l.P99ByPartMs != nil {
				t.Errorf("%s: p99 by part %v from a Prometheus histogram", l.What, l.P99ByPartMs)
			}
			continue
		}
		if len(l.P99ByPartMs) != 3 {
			t.Errorf("%s: p99 by part %v, want 3", l.What, l.P99ByPartMs)
			continue
		}
		every := strings.HasPrefix(l.What, "(b)") || strings.Contains(l.What, "made by the simulator")
		for i, v := range l.P99ByPartMs {
			if v > l.MaxMs+1e-9 || every && v < 0 {
				t.Errorf("%s: part %d p99 %.1f ms (max %.1f)", l.What, i, v, l.MaxMs)
			}
		}
	}
	for _, row := range []string{"p99 ms of the samples taken in each part of the load", "influxd writing cache snapshots, s", "influxd compacting TSM files, s"} {
		if !strings.Contains(table, row) {
			t.Errorf("table has no %q", row)
		}
	}
	if !strings.Contains(table, "\nverdict: ") || rep.Verdict == "" {
		t.Errorf("no verdict line")
	}
}

func TestParsePipelineArgs(t *testing.T) {
	o, err := ParsePipelineArgs(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.Config
	if c.Cars != 20 || c.Channels != 300 || c.Hz != 200 || c.Duration != time.Minute || c.In != "serial" || c.InfluxURL != "" || c.Binary == "" ||
		c.Window != 100*time.Millisecond {
		t.Errorf("defaults %+v", c)
	}
	o, err = ParsePipelineArgs([]string{"--cars", "4", "--channels", "50", "--hz", "100", "--duration", "5s", "--in", "kafka",
		"--influx-url", "http://127.0.0.1:8086", "--window", "50ms", "--json"}, io.Discard)
	if err != nil || o.Config.Window != 50*time.Millisecond || o.Config.Cars != 4 || o.Config.Channels != 50 || o.Config.Hz != 100 || o.Config.Duration != 5*time.Second ||
		o.Config.In != "kafka" || o.Config.InfluxURL != "http://127.0.0.1:8086" || !o.JSON {
		t.Errorf("%+v, %v", o, err)
	}
	o, err = ParsePipelineArgs([]string{"--edge-args", "--compression lz4  --linger 10ms"}, io.Discard)
	if err != nil || strings.Join(o.Config.EdgeArgs, "|") != "--compression|lz4|--linger|10ms" {
		t.Errorf("--edge-args: %q, %v", o.Config.EdgeArgs, err)
	}
	o, err = ParsePipelineArgs([]string{"--broker-args", " --fsync interval"}, io.Discard)
	if err != nil || strings.Join(o.Config.BrokerArgs, "|") != "--fsync|interval" {
		t.Errorf("--broker-args: %q, %v", o.Config.BrokerArgs, err)
	}
	o, err = ParsePipelineArgs([]string{"--cars", "20, 25,30"}, io.Discard)
	if err != nil || len(o.Cars) != 3 || o.Cars[1] != 25 || o.Config.Cars != 20 {
		t.Errorf("--cars list: %v, %v", o.Cars, err)
	}
	for _, bad := range [][]string{{"--cars", "20,x"}, {"--cars", "20,100"}, {"--hz", "300"}, {"--in", "can"}, {"--cars", "0"}, {"--channels", "100000"},
		{"--duration", "10ms"}, {"--influx-url", "ftp://x"}, {"--track", "nowhere"}, {"--window", "500us"}, {"--influx-url", "http://u:p@127.0.0.1:8086"}, {"extra"}} {
		if _, err := ParsePipelineArgs(bad, io.Discard); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", bad, err)
		}
	}
}

func TestHighestKeptUp(t *testing.T) {
	reps := []*PipelineReport{{Cars: 20, Nominal: 1.2e6, KeptUp: true}, {Cars: 30, Nominal: 1.8e6}, {Cars: 25, Nominal: 1.5e6, KeptUp: true}}
	if best := HighestKeptUp(reps); best == nil || best.Cars != 25 {
		t.Errorf("best %+v, want 25 cars", best)
	}
	if best := HighestKeptUp(reps[1:2]); best != nil {
		t.Errorf("best %+v, want none", best)
	}
}

// TestJudge holds the verdict to the rule: the first stage in
// pipeline order below 99% of its offered rate, or whose queue took
// longer than 5 s to drain, saturated first; lost frames fail the run.
func TestJudge(t *testing.T) {
	stage := func(name string, achieved, drained float64) Stage {
		return Stage{Name: name, Offered: 1000, Achieved: achieved, Queue: "q", DrainedS: drained, Pitwall: name != "simulator"}
	}
	held := stage("simulator", 900, 0)
	held.LateS, held.BlockedS = 6, 5
	for _, tc := range []struct {
		name      string
		stages    []Stage
		lost      int64
		saturated string
		keptUp    bool
	}{
		{"all fine", []Stage{stage("simulator", 1000, 0), stage("edge", 995, 4.9), stage("processors", 990, 1)}, 0, "", true},
		{"slow edge", []Stage{stage("simulator", 1000, 0), stage("edge", 980, 1), stage("processors", 900, 1)}, 0, "edge", false},
		{"late drain", []Stage{stage("simulator", 1000, 0), stage("edge", 1000, 1), stage("processors", 1000, 5.5)}, 0, "processors", false},
		{"never drained", []Stage{stage("simulator", 1000, 0), stage("broker", 1000, -1)}, 0, "broker", false},
		{"simulator behind", []Stage{stage("simulator", 900, 0), stage("edge", 900, 1)}, 0, "simulator", false},
		{"simulator held back", []Stage{held, stage("edge", 900, 1)}, 0, "edge", false},
		{"lost frames", []Stage{stage("simulator", 1000, 0), stage("edge", 1000, 1)}, 3, "", false},
		{"not Pitwall", []Stage{stage("simulator", 1000, 0), {Name: "influxd", Offered: -1, Achieved: -1, Queue: "-"}}, 0, "", true},
	} {
		rep := PipelineReport{Stages: tc.stages}
		rep.Frames.Lost = tc.lost
		rep.judge()
		if rep.Saturated != tc.saturated || rep.KeptUp != tc.keptUp {
			t.Errorf("%s: saturated %q, kept up %v (%s); want %q, %v", tc.name, rep.Saturated, rep.KeptUp, rep.Verdict, tc.saturated, tc.keptUp)
		}
		if tc.keptUp != (rep.Verdict == "kept up") {
			t.Errorf("%s: verdict %q", tc.name, rep.Verdict)
		}
	}
}

// TestPromLatency reads a Prometheus histogram as the edge serves it.
func TestPromLatency(t *testing.T) {
	m := metrics{
		`h_bucket{le="0.01"}`: 50, `h_bucket{le="0.02"}`: 90, `h_bucket{le="0.05"}`: 100, `h_bucket{le="+Inf"}`: 100,
	}
	l := m.promLatency("h", "x", "")
	if l.Count != 100 || l.P50Ms != 10 || l.P99Ms < 20 || l.P99Ms > 50 || l.MaxMs != 50 {
		t.Errorf("%+v", l)
	}
	if l := (metrics{}).promLatency("h", "x", ""); l.Count != 0 {
		t.Errorf("empty: %+v", l)
	}
}

// TestLatencyHist: quantiles within 1/32 of the truth, never above the
// exact maximum, and the same after travelling as JSON.
func TestLatencyHist(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.Observe(time.Duration(i) * time.Millisecond)
	}
	var back latencyHist
	back.add(h.json())
	for _, l := range []Latency{h.latency("x", ""), back.latency("x", "")} {
		if l.Count != 1000 || l.MaxMs != 1000 || math.Abs(l.P50Ms-500) > 500/32. || math.Abs(l.P99Ms-990) > 990/32. || l.P99Ms > l.MaxMs {
			t.Errorf("%+v", l)
		}
	}
}

// TestLatencyByPart: the p99 of each part of the load counts the
// samples taken in it, the same after travelling as JSON.
func TestLatencyByPart(t *testing.T) {
	var h latencyHist
	// Samples taken in second t0 waited 500 ms, in second t0+3 10 ms.
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	for range 100 {
		h.count(t0.Unix(), bucketOf(uint64(500*time.Millisecond)), 1)
		h.count(t0.Unix()+3, bucketOf(uint64(10*time.Millisecond)), 1)
	}
	h.max.Store(int64(500 * time.Millisecond))
	var back latencyHist
	back.add(h.json())
	start := t0.Add(300 * time.Millisecond) // a load starts within a second
	for _, x := range []*latencyHist{&h, &back} {
		got := x.p99By(start, 2*time.Second, 3)
		if len(got) != 3 || math.Abs(got[0]-500) > 500/32. || math.Abs(got[1]-10) > 10/32. || got[2] != -1 {
			t.Errorf("p99 by 2 s parts: %v, want [500 10 -1]", got)
		}
	}
	// Observe files a sample under the second it was taken in.
	var o latencyHist
	o.Observe(time.Hour)
	if got := o.p99By(time.Now().Add(-time.Hour-time.Minute), 2*time.Minute, 1); len(got) != 1 || math.Abs(got[0]-3.6e6) > 3.6e6/32 {
		t.Errorf("a sample taken an hour ago: %v", got)
	}
	if got := new(latencyHist).p99By(start, time.Second, 3); got != nil {
		t.Errorf("empty histogram: %v", got)
	}
	if every, n := loadParts(time.Minute); every != 10*time.Second || n != 6 {
		t.Errorf("a minute: %v x %d", every, n)
	}
	if every, n := loadParts(3 * time.Second); every != time.Second || n != 3 {
		t.Errorf("3 s: %v x %d", every, n)
	}
	if every, n := loadParts(45 * time.Second); every != 7*time.Second || n != 7 {
		t.Errorf("45 s: %v x %d", every, n)
	}
}

// TestInfluxdWork reads influxd 1.8's log lines for its snapshots and
// compactions, and spreads them over the parts of the load.
func TestInfluxdWork(t *testing.T) {
	log := `ts=2026-12-07T04:23:14.644622Z lvl=info msg="Compaction settings" log_id=16~ghypW000 service=store max_concurrent_compactions=1
ts=2026-12-07T04:23:23.272625Z lvl=info msg="Cache snapshot (start)" log_id=16~ghypW000 engine=tsm1 trace_id=16~giVY0000 op_name=tsm1_cache_snapshot op_event=start
ts=2026-12-07T04:23:23.938532Z lvl=info msg="Cache snapshot (end)" log_id=16~ghypW000 engine=tsm1 trace_id=16~giVY0000 op_name=tsm1_cache_snapshot op_event=end op_elapsed=665.943ms
ts=2026-12-07T04:24:07.894098Z lvl=info msg="TSM compaction (end)" log_id=16~ghypW000 engine=tsm1 tsm1_level=1 tsm1_strategy=level trace_id=16~gkhDG000 op_name=tsm1_compact_group db_shard_id=1 op_event=end op_elapsed=8608.507ms
ts=2026-12-07T04:25:07.894098Z lvl=info msg="TSM compaction (end)" tsm1_strategy=full op_name=tsm1_compact_group op_event=end op_elapsed=1s
ts=garbage lvl=info op_name=tsm1_cache_snapshot op_event=end op_elapsed=1s
ts=2026-12-07T04:23:24Z op_name=tsm1_cache_snapshot op_event=end op_elapsed=soon
`
	path := filepath.Join(t.TempDir(), "influxd.log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 7, 4, 23, 18, 0, time.UTC)
	work, err := readInfluxdWork(path, from, from.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []InfluxdWork{{"snapshot", 5.272589, 0.665943}, {"compaction level 1", 41.285591, 8.608507}}
	if len(work) != len(want) {
		t.Fatalf("work %+v, want %+v", work, want)
	}
	for i := range want {
		if work[i].What != want[i].What || math.Abs(work[i].StartS-want[i].StartS) > 1e-6 || math.Abs(work[i].Seconds-want[i].Seconds) > 1e-6 {
			t.Errorf("work[%d] = %+v, want %+v", i, work[i], want[i])
		}
	}
	busy := make([]float64, 6)
	spread(busy, work[1].StartS, work[1].StartS+work[1].Seconds, 10)
	if busy[3] != 0 || math.Abs(busy[4]-8.608507) > 1e-6 || busy[5] != 0 {
		t.Errorf("busy %v", busy)
	}
	spread(busy, 48, 53, 10)
	if math.Abs(busy[4]-10.608507) > 1e-6 || busy[5] != 3 {
		t.Errorf("busy %v", busy)
	}
	if _, err := readInfluxdWork(filepath.Join(t.TempDir(), "none"), from, from); err == nil {
		t.Error("no error for a missing log")
	}
}

// TestThreadWaits: run-queue delays are read for a process's threads
// and for every thread, and turned into threads waiting on average.
func TestThreadWaits(t *testing.T) {
	for in, want := range map[string]int64{"1234 5678 9\n": 5678, "0 0 0": 0} {
		if got, ok := parseSchedstat(in); !ok || got != want {
			t.Errorf("parseSchedstat(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1 2", "1 x 3", "1 -5 3"} {
		if _, ok := parseSchedstat(bad); ok {
			t.Errorf("parseSchedstat(%q) parsed", bad)
		}
	}
	// Thread 1 waited 0.5 s more, 2 ended, 3 started having waited 0.25 s,
	// 4 is a reused id whose count went down: over 1 s, 0.75 threads.
	a := threadWaits{1: 1e9, 2: 5e9, 4: 9e9}
	b := threadWaits{1: 1.5e9, 3: 0.25e9, 4: 1e6}
	if got := waitingThreads(a, b, time.Second); math.Abs(got-0.751) > 1e-9 {
		t.Errorf("waiting threads %v, want 0.751", got)
	}
	if waitingThreads(nil, b, time.Second) != -1 || waitingThreads(a, b, 0) != -1 {
		t.Error("waiting threads from nothing")
	}
	own := readThreadWaits(os.Getpid())
	all := readThreadWaits(0)
	if len(own) == 0 || len(all) <= len(own) {
		t.Fatalf("read %d threads of this process and %d of every process", len(own), len(all))
	}
	for tid := range own {
		if _, ok := all[tid]; !ok {
			t.Errorf("thread %d of this process missing from every process's", tid)
		}
	}
}

// TestParseProcStat: the machine's CPU time by kind and its context
// switches, and what comes of two readings.
func TestParseProcStat(t *testing.T) {
	a := parseProcStat([]byte("cpu  100 5 40 800 10 3 2 0 0 0\ncpu0 50 2 20 400 5 1 1 0 0 0\ncpu1 50 3 20 400 5 2 1 0 0 0\n" +
		"intr 1 2 3\nctxt 1000\nbtime 1\n"))
	b := parseProcStat([]byte("cpu  160 5 70 880 20 5 3 10 0 0\ncpu0 80 2 35 440 10 2 1 5 0 0\ncpu1 80 3 35 440 10 3 2 5 0 0\n" +
		"ctxt 5000\n"))
	if !a.ok || a.cpus != 2 || a.user != 105 || a.system != 45 || a.idle != 800 || a.iowait != 10 || a.contextSwitches != 1000 {
		t.Fatalf("parsed %+v", a)
	}
	// Over 2 s: user 60, system 30+2+1, idle 80, iowait 10, steal 10 ticks
	// of 193.
	m := machineBetween(a, b, 2*time.Second)
	want := Machine{CPUs: 2, BusyPct: 100 * 93.0 / 193, UserPct: 100 * 60.0 / 193, SystemPct: 100 * 33.0 / 193,
		IOWaitPct: 100 * 10.0 / 193, StealPct: 100 * 10.0 / 193, ContextSwitchesPerS: 2000, WaitingThreads: -1}
	if m == nil || *m != want {
		t.Errorf("machine %+v, want %+v", m, want)
	}
	for _, bad := range []string{"", "cpu 1 2 x 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3\n", "ctxt 5\n"} {
		if p := parseProcStat([]byte(bad)); p.ok || machineBetween(p, b, time.Second) != nil {
			t.Errorf("%q parsed as %+v", bad, p)
		}
	}
	if machineBetween(a, b, 0) != nil {
		t.Error("a machine over no time")
	}
}

// TestRedactedURL: a password in --influx-url never reaches the report.
func TestRedactedURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8086":                    "http://127.0.0.1:8086",
		"http://pitwall:s3cret@127.0.0.1:8086/x?y": "http://pitwall:xxxxx@127.0.0.1:8086/x?y",
	} {
		if got := redactedURL(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redactedURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGrouped prints rates with thousands separators.
func TestGrouped(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1200000: "1,200,000", 1234567.6: "1,234,568"} {
		if got := grouped(v); got != want {
			t.Errorf("grouped(%v) = %q, want %q", v, got, want)
		}
	}
}

// FuzzParseInfluxdWork: any line of influxd's log (another program's
// output) is read without a panic, and what it accepts took no negative
// time.
func FuzzParseInfluxdWork(f *testing.F) {
	f.Add(`ts=2026-12-07T04:24:07.894098Z lvl=info msg="TSM compaction (end)" tsm1_level=1 tsm1_strategy=level op_name=tsm1_compact_group op_event=end op_elapsed=8608.507ms`)
	f.Add(`ts=2026-12-07T04:23:23.938532Z op_name=tsm1_cache_snapshot op_event=end op_elapsed=665.943ms`)
	f.Add(`op_event=end op_name=tsm1_compact_group ts== op_elapsed=-1s`)
	f.Fuzz(func(t *testing.T, line string) {
		op, ok := parseInfluxdWork(line)
		if ok && (op.took < 0 || op.what == "") {
			t.Errorf("%q: %+v", line, op)
		}
	})
}
