package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"github.com/chromedp/chromedp"

	"github.com/pitwall/pitwall/telemetry"
)

// WebConfig configures `pitwall bench web`: the pit wall page under load
// (issue 16's benchmark).
type WebConfig struct {
	// Cars is how many cars `pitwall up` simulates. Default 20.
	Cars int
	// Hz is the rate of every simulated channel (pitwall up --rate
	// NAME=Hz for each of the standard channels). Default 200.
	Hz int
	// Duration is how long each phase (without the page, with it) is
	// measured. Default 60s.
	Duration time.Duration
	// Warmup is how long `pitwall up` runs before the first phase, so
	// every car is on track and the processor is in step. Default 20s.
	Warmup time.Duration
	// Pitwall is the pitwall binary. Default: this executable.
	Pitwall string
	// Chromium is the browser. Default /usr/bin/chromium.
	Chromium string
	// Trace, if set, is a file to write a Chromium performance trace of
	// the page phase to (DevTools' Performance panel or Perfetto load
	// it); the run then also prints where the page's long tasks spent
	// their time. Tracing costs the browser CPU: compare figures of
	// untraced runs only. Default: no trace.
	Trace string
	// Logger logs progress. Default: none.
	Logger *slog.Logger
}

// WebResult is what a run measured.
type WebResult struct {
	Cars, Hz int
	Duration time.Duration
	// Samples is the simulator's samples per second of sensor time, over
	// every car (the channel set times Hz times Cars).
	Samples int
	// Without and With are `pitwall up`'s CPU (cores) and RSS without
	// the page open and with it.
	Without, With ProcFigures
	// Latency is sample time → on-page update (the animation frame in
	// which the page applies the live record and draws it: the page
	// applies the newest state in a requestAnimationFrame callback), one
	// per live record the page applied, ms.
	Latency Dist
	// Broker is sample time → the live record read from the broker by
	// the benchmark's own consumer, ms: the pipeline's part of Latency
	// (simulator, edge, broker, processor); the rest is the page's.
	Broker Dist
	// Frame is the time between animation frames with the page live, ms;
	// Long counts frames over 50 ms.
	Frame Dist
	Long  int
	// Handle is the page's handling of one pushed state (parse, tower,
	// map), ms.
	Handle Dist
	// Server is sample time → the state that carries it made by the
	// page's server, per live record the page applied, ms: the pipeline's
	// share and the server's (absent with a page older than the field).
	Server Dist
	// Page is, per live record the page applied, state made → on-page
	// update (Latency less Server): the SSE stream's, the browser's and
	// the page's share.
	Page Dist
	// Wait is, per live record the page applied, its arrival at the
	// benchmark's own consumer of telemetry.live (Broker) → the state
	// that carries it made by the page's server, ms: the server's own
	// share (its consumer and the push's pacing), without the
	// pipeline's, which on a loaded machine varies by seconds.
	Wait Dist
	// Transit is a pushed state's age when the page handled it (its
	// SentMs, the server's clock when it made it, to the page's clock
	// then), ms: the SSE stream's and the browser's queueing.
	Transit Dist
	// States is how many states the page received in the phase.
	States int
	// Chromium is the browser's CPU (cores, every process) with the page.
	Chromium float64
	// LongTasks summarises the trace (WebConfig.Trace); nil without one.
	LongTasks *LongTasks
}

// ProcFigures are one process's CPU and memory over a phase.
type ProcFigures struct {
	CPU     float64 // cores: CPU seconds per second
	RSSMax  int64   // bytes
	RSSLast int64
}

// Dist is a distribution's summary.
type Dist struct {
	N                  int
	Min, P50, P99, Max float64
}

func dist(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)] }
	return Dist{N: len(s), Min: s[0], P50: at(0.50), P99: at(0.99), Max: s[len(s)-1]}
}

// webChannels are the simulator's standard channels (simulator/channels.go),
// each set to Hz.
func webChannels() []string {
	names := []string{telemetry.ChanGPSLat, telemetry.ChanGPSLon, telemetry.ChanGPSSpeed, telemetry.ChanGPSHeading,
		telemetry.ChanSpeed, telemetry.ChanRPM, telemetry.ChanGear, telemetry.ChanThrottle, telemetry.ChanBrakeFront,
		telemetry.ChanBrakeRear, telemetry.ChanSteering, telemetry.ChanGLat, telemetry.ChanGLong, telemetry.ChanGVert,
		telemetry.ChanOilTemp, telemetry.ChanOilPress, telemetry.ChanWaterTemp, telemetry.ChanFuel, telemetry.ChanBattery,
		telemetry.ChanPitLimiter}
	for _, w := range telemetry.Wheels {
		names = append(names, telemetry.ChanWheelSpeed+"_"+w, telemetry.ChanDamper+"_"+w, telemetry.ChanTyrePress+"_"+w,
			telemetry.ChanBrakeTemp+"_"+w)
		for _, z := range []string{"inner", "mid", "outer"} {
			names = append(names, telemetry.ChanTyreTemp+"_"+w+"_"+z)
		}
	}
	return names
}

func webRates(hz int) string {
	names := webChannels()
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strconv.Itoa(hz)
	}
	return strings.Join(parts, ",")
}

// ParseWebArgs reads `pitwall bench web` flags.
func ParseWebArgs(args []string, stderr io.Writer) (WebConfig, error) {
	fs := flag.NewFlagSet("bench web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c WebConfig
	fs.IntVar(&c.Cars, "cars", 20, "cars pitwall up simulates")
	fs.IntVar(&c.Hz, "hz", 200, "rate of every simulated channel, Hz (divides 1000)")
	fs.DurationVar(&c.Duration, "duration", 60*time.Second, "how long each phase (without the page, with it) is measured")
	fs.DurationVar(&c.Warmup, "warmup", 20*time.Second, "how long pitwall up runs before measuring")
	fs.StringVar(&c.Pitwall, "pitwall", "", "pitwall binary to run as pitwall up (default: this one)")
	fs.StringVar(&c.Chromium, "chromium", "/usr/bin/chromium", "headless browser")
	fs.StringVar(&c.Trace, "trace", "", "write a Chromium performance trace of the page phase to this file and summarise its long tasks")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("%w: bench web: unexpected arguments %q", ErrConfig, fs.Args())
	case c.Cars < 1 || c.Cars > 99:
		return c, fmt.Errorf("%w: bench web: --cars %d, want 1..99", ErrConfig, c.Cars)
	case c.Hz < 1 || c.Hz > 1000 || 1000%c.Hz != 0:
		return c, fmt.Errorf("%w: bench web: --hz %d, want a rate that divides 1000", ErrConfig, c.Hz)
	case c.Duration <= 0 || c.Warmup < 0:
		return c, fmt.Errorf("%w: bench web: --duration must be positive, --warmup not negative", ErrConfig)
	}
	return c, nil
}

// RunWeb starts `pitwall up` as a child process, measures it for
// Duration without a page, then opens the page in headless Chromium
// (?bench=1) and measures Duration more: the page's latencies and frame
// times, and the child's CPU and RSS both times.
func RunWeb(ctx context.Context, cfg WebConfig) (WebResult, error) {
	res := WebResult{Cars: cfg.Cars, Hz: cfg.Hz, Duration: cfg.Duration, Samples: cfg.Cars * cfg.Hz * len(webChannels())}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Pitwall == "" {
		exe, err := os.Executable()
		if err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		cfg.Pitwall = exe
	}
	if _, err := os.Stat(cfg.Chromium); err != nil {
		return res, fmt.Errorf("bench web: a headless Chromium is needed (Debian's chromium): %w", err)
	}
	dir, err := os.MkdirTemp("", "pitwall-bench-web-")
	if err != nil {
		return res, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	broker, err := freeAddr()
	if err != nil {
		return res, err
	}
	up, err := startUp(cfg, dir, addr, broker)
	if err != nil {
		return res, err
	}
	defer up.stop()
	url := "http://" + addr + "/"
	if err := waitHTTP(ctx, url+"api/state", up); err != nil {
		return res, err
	}
	cfg.Logger.Info("bench web: pitwall up serving; warming up", "url", url, "warmup", cfg.Warmup, "log", up.log)
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return res, err
	}
	cfg.Logger.Info("bench web: measuring without the page", "duration", cfg.Duration)
	if res.Without, err = measureProc(ctx, up.cmd.Process.Pid, cfg.Duration); err != nil {
		return res, err
	}
	cfg.Logger.Info("bench web: opening the page in Chromium")
	if err := withPage(ctx, cfg, dir, url, broker, up.cmd.Process.Pid, &res); err != nil {
		return res, err
	}
	return res, up.err()
}

// upChild is the running `pitwall up`.
type upChild struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	werr error
}

func startUp(cfg WebConfig, dir, web, broker string) (*upChild, error) {
	logPath := filepath.Join(dir, "up.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	args := []string{"up", "--cars", strconv.Itoa(cfg.Cars), "--speed", "1", "--web", web, "--board", "lines", "--listen", broker,
		"--data-dir", filepath.Join(dir, "up"), "--rate", webRates(cfg.Hz)}
	cmd := exec.Command(cfg.Pitwall, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("bench: start pitwall up: %w", err)
	}
	c := &upChild{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.werr = cmd.Wait()
		lf.Close()
		close(c.done)
	}()
	return c, nil
}

// err reports a child that ended by itself.
func (c *upChild) err() error {
	select {
	case <-c.done:
		b, _ := os.ReadFile(c.log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return fmt.Errorf("bench web: pitwall up ended during the run (%v); its log ends:\n%s", c.werr, strings.Join(lines[max(0, len(lines)-10):], "\n"))
	default:
		return nil
	}
}

// stop ends the child with SIGTERM (SIGKILL after 10 s).
func (c *upChild) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// waitHTTP waits up to a minute for url to answer 200.
func waitHTTP(ctx context.Context, url string, up *upChild) error {
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := up.err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench web: the page at %s does not answer after a minute: %v", url, err)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// measureProc reads pid's CPU time over d and samples its RSS every
// second.
func measureProc(ctx context.Context, pid int, d time.Duration) (ProcFigures, error) {
	var f ProcFigures
	t0, err := cpuTicks(pid)
	if err != nil {
		return f, err
	}
	start := time.Now()
	for time.Since(start) < d {
		if err := sleepCtx(ctx, min(time.Second, d-time.Since(start))); err != nil {
			return f, err
		}
		r, err := rss(pid)
		if err != nil {
			return f, err
		}
		f.RSSMax, f.RSSLast = max(f.RSSMax, r), r
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		return f, err
	}
	f.CPU = float64(t1-t0) / clockTicks / time.Since(start).Seconds()
	return f, nil
}

// pageBench is what the page's bench hook holds.
type pageBench struct {
	Lat    []float64 `json:"latMs"`
	Frames []float64 `json:"frameMs"`
	Handle []float64 `json:"handleMs"`
	Late   []float64 `json:"lateMs"`
	Server []float64 `json:"serverMs"`
	Keys   []string  `json:"keys"`
	States int       `json:"states"`
	Cars   int       `json:"cars"`
}

const pageBenchJS = `({latMs: pitwall.bench.latMs, frameMs: pitwall.bench.frameMs, handleMs: pitwall.frameMs,
	lateMs: pitwall.lateMs, serverMs: pitwall.bench.serverMs || [], keys: pitwall.bench.keys || [], states: pitwall.states, cars: document.querySelectorAll("#cars circle").length})`

// pageSettle is how long the page runs before it is measured.
const pageSettle = 10 * time.Second

// resetJS starts the page's counts afresh.
const resetJS = `pitwall.bench.latMs.length = 0; if (pitwall.bench.serverMs) pitwall.bench.serverMs.length = 0; if (pitwall.bench.keys) pitwall.bench.keys.length = 0; pitwall.bench.frameMs.length = 0; pitwall.frameMs.length = 0; pitwall.lateMs.length = 0; pitwall.states = 0; true`

// withPage opens the page, waits for every car on the map, and measures
// the page and the child for cfg.Duration.
func withPage(ctx context.Context, cfg WebConfig, dir, url, broker string, pid int, res *WebResult) error {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(cfg.Chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(dir, "chromium")), chromedp.WindowSize(1600, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	if err := chromedp.Do(bctx, chromedp.Navigate(url+"?bench=1")); err != nil {
		return fmt.Errorf("bench web: open the page: %w", err)
	}
	browserPid := 0
	if b := chromedp.FromContext(bctx).Browser; b != nil && b.Process() != nil {
		browserPid = b.Process().Pid
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#cars circle").length`))
		if err != nil {
			return fmt.Errorf("bench web: %w", err)
		}
		if n >= cfg.Cars {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench web: %d of %d cars on the map after 2 minutes", n, cfg.Cars)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	// Chromium loads its own pages after the first (headless as it is,
	// the omnibox popup's WebUI: seconds of CPU, seen in --trace); let it
	// settle before measuring.
	if err := sleepCtx(ctx, pageSettle); err != nil {
		return err
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](resetJS)); err != nil {
		return fmt.Errorf("bench web: %w", err)
	}
	var pt *pageTrace
	if cfg.Trace != "" {
		var err error
		if pt, err = startTrace(bctx); err != nil {
			return err
		}
	}
	b0 := treeTicks(browserPid)
	start := time.Now()
	lctx, stopLive := context.WithCancel(ctx)
	arrivals := make(chan liveArrivals, 1)
	go func() { arrivals <- liveAges(lctx, broker) }()
	var err error
	res.With, err = measureProc(ctx, pid, cfg.Duration)
	stopLive()
	arrived := <-arrivals
	res.Broker = dist(arrived.ages)
	if err != nil {
		return err
	}
	res.Chromium = float64(treeTicks(browserPid)-b0) / clockTicks / time.Since(start).Seconds()
	if pt != nil {
		if err := pt.stop(bctx, cfg.Trace); err != nil {
			return err
		}
		lt := summarizeTrace(pt.events, 50)
		res.LongTasks = &lt
	}
	pb, err := chromedp.Run(bctx, chromedp.Evaluate[pageBench](pageBenchJS))
	if err != nil {
		return fmt.Errorf("bench web: read the page's figures: %w", err)
	}
	if pb.Cars < cfg.Cars {
		return fmt.Errorf("bench web: %d of %d cars on the map at the end", pb.Cars, cfg.Cars)
	}
	res.Latency, res.Frame, res.Handle, res.States = dist(pb.Lat), dist(pb.Frames), dist(pb.Handle), pb.States
	res.Transit, res.Server = dist(pb.Late), dist(pb.Server)
	if len(pb.Server) == len(pb.Lat) {
		share := make([]float64, len(pb.Lat))
		for i := range share {
			share[i] = pb.Lat[i] - pb.Server[i]
		}
		res.Page = dist(share)
	}
	if len(pb.Keys) == len(pb.Server) {
		var wait []float64
		for i, k := range pb.Keys {
			if age, ok := arrived.byKey[k]; ok {
				// (made - sample) - (arrived - sample)
				wait = append(wait, pb.Server[i]-age)
			}
		}
		res.Wait = dist(wait)
	}
	for _, f := range pb.Frames {
		if f > 50 {
			res.Long++
		}
	}
	return nil
}

// liveArrivals are the live records a consumer read: per record, the
// time from its sample time to its arrival (ms), and the same by key
// (liveKey).
type liveArrivals struct {
	ages  []float64
	byKey map[string]float64
}

// liveKey names a live record as the page's bench does: car@sample time
// in whole Unix ms (a car's records are 100 ms apart).
func liveKey(car string, timeNs int64) string {
	return car + "@" + strconv.FormatInt((timeNs+500_000)/1_000_000, 10)
}

// liveAges reads telemetry.live from its end until ctx ends.
func liveAges(ctx context.Context, broker string) liveArrivals {
	var out liveArrivals
	sc := sarama.NewConfig()
	sc.Consumer.MaxWaitTime = 50 * time.Millisecond
	client, err := sarama.NewClient([]string{broker}, sc)
	if err != nil {
		return out
	}
	defer client.Close()
	codec := telemetry.MustNewCodec()
	var mu sync.Mutex
	out.byKey = map[string]float64{}
	parts, err := client.Partitions(telemetry.TopicLive)
	if err != nil {
		return out
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return out
	}
	defer cons.Close()
	var wg sync.WaitGroup
	for _, p := range parts {
		pc, err := cons.ConsumePartition(telemetry.TopicLive, p, sarama.OffsetNewest)
		if err != nil {
			continue
		}
		wg.Go(func() {
			defer pc.Close()
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-pc.Messages():
					now := time.Now()
					var l telemetry.Live
					if m == nil || codec.DecodeLive(m.Value, &l) != nil {
						continue
					}
					mu.Lock()
					age := float64(now.UnixNano()-l.TimeNs) / 1e6
					out.ages = append(out.ages, age)
					out.byKey[liveKey(l.Car, l.TimeNs)] = age
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return out
}

// treeTicks is the CPU time of pid and every process below it (the
// browser's renderer and GPU processes); 0 without pid.
func treeTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	in := func(p int) bool {
		for ; p > 1; p = parent[p] {
			if p == pid {
				return true
			}
		}
		return false
	}
	var sum int64
	for p := range parent {
		if in(p) {
			if t, err := cpuTicks(p); err == nil {
				sum += t
			}
		}
	}
	return sum
}

// WriteWebTable prints the figures.
func WriteWebTable(w io.Writer, r WebResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(tw, "pitwall up: %d cars, every channel at %d Hz (%d samples/s), each phase %v\n", r.Cars, r.Hz, r.Samples, r.Duration)
	fmt.Fprintf(tw, "sample → on-page update\tp50 %.0f ms\tp99 %.0f ms\tmax %.0f ms\t(%d live records applied)\n", r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Latency.N)
	fmt.Fprintf(tw, "sample → telemetry.live (broker)\tp50 %.0f ms\tp99 %.0f ms\tmax %.0f ms\t(%d records; min %.0f ms)\n", r.Broker.P50, r.Broker.P99, r.Broker.Max, r.Broker.N, r.Broker.Min)
	fmt.Fprintf(tw, "frame time (rAF)\tp50 %.1f ms\tp99 %.1f ms\tmax %.0f ms\t(%d frames, %d over 50 ms)\n", r.Frame.P50, r.Frame.P99, r.Frame.Max, r.Frame.N, r.Long)
	if r.Server.N > 0 {
		fmt.Fprintf(tw, "sample → state made (server)\tp50 %.0f ms\tp99 %.0f ms\tmax %.0f ms\t\n", r.Server.P50, r.Server.P99, r.Server.Max)
	}
	if r.Wait.N > 0 {
		fmt.Fprintf(tw, "live record at the broker → state made\tp50 %.0f ms\tp99 %.0f ms\tmax %.0f ms\t(%d matched; min %.0f ms)\n", r.Wait.P50, r.Wait.P99, r.Wait.Max, r.Wait.N, r.Wait.Min)
	}
	if r.Page.N > 0 {
		fmt.Fprintf(tw, "state made → on-page update\tp50 %.0f ms\tp99 %.0f ms\tmax %.0f ms\t\n", r.Page.P50, r.Page.P99, r.Page.Max)
	}
	fmt.Fprintf(tw, "state made → handled (SSE)\tp50 %.0f ms\tp99 %.0f ms\tmax %.0f ms\t\n", r.Transit.P50, r.Transit.P99, r.Transit.Max)
	fmt.Fprintf(tw, "state handling (JS)\tp50 %.1f ms\tp99 %.1f ms\tmax %.0f ms\t(%d states)\n", r.Handle.P50, r.Handle.P99, r.Handle.Max, r.States)
	fmt.Fprintf(tw, "pitwall up without the page\tCPU %.2f cores\tRSS %.0f MiB (max %.0f)\t\t\n", r.Without.CPU, mib(r.Without.RSSLast), mib(r.Without.RSSMax))
	fmt.Fprintf(tw, "pitwall up with the page\tCPU %.2f cores\tRSS %.0f MiB (max %.0f)\t\t\n", r.With.CPU, mib(r.With.RSSLast), mib(r.With.RSSMax))
	fmt.Fprintf(tw, "chromium (every process)\tCPU %.2f cores\t\t\t\n", r.Chromium)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.LongTasks != nil {
		WriteLongTasks(w, *r.LongTasks, 15)
	}
	return nil
}
