package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pitwall/pitwall/internal/cli"
	"github.com/pitwall/pitwall/internal/freeport"
)

// The partitions workload (`pitwall bench partitions`) measures what a
// broker costs as its partition count grows, with nothing to do: it starts
// `pitwall broker` as a child process on a fresh data directory, creates
// --topics topics of --partitions partitions, writes one record to each
// partition (kgo, without idempotence, as kcat does), then reads from
// /proc the child's idle CPU over --idle, its RSS and open files; then it
// stops the child with SIGTERM (timed), starts it again and times how long
// until a Metadata request lists every partition open (with the child's
// CPU seconds by then, which the load of other processes does not
// inflate), and measures idle CPU,
// RSS and files once more; then stops and restarts it once more with
// nothing written in between (timed too). --topics takes a list, one scale per entry, run
// one after the other.

// PartitionsConfig describes a partitions run. An empty field means its
// default.
type PartitionsConfig struct {
	// Topics is the topic count of each scale. Default [500].
	Topics []int
	// Partitions is every topic's partition count. Default 12.
	Partitions int
	// Idle is how long CPU is measured while idle. Default 10s.
	Idle time.Duration
	// Settle is how long the broker is left alone before a measurement.
	// Default 2s.
	Settle time.Duration
	// Broker is the command starting the broker; the run appends
	// "broker --listen ADDR --data-dir DIR --log-level warn" and Args.
	// Default: this executable.
	Broker string
	// Args are extra `pitwall broker` flags (e.g. --fsync interval).
	Args []string
	// DataDir is the parent of each scale's data directory. Default: a
	// temp dir, removed afterwards.
	DataDir string
	// Logger receives progress. Default: discarded.
	Logger *slog.Logger
}

// PartitionsResult is one scale's figures.
type PartitionsResult struct {
	Topics, Partitions int
	Create             time.Duration // creating the topics and writing one record to each partition
	Fresh              Footprint     // idle, after creation
	Stop               time.Duration // SIGTERM to exit, every partition written since the start
	Restart            time.Duration // start to a Metadata answer listing every partition open
	// RestartCPU is the broker's own CPU time (user and system) from its
	// start to that answer: unlike Restart, it does not grow with the
	// load of other processes on the machine.
	RestartCPU time.Duration
	Restarted  Footprint // idle, after the restart
	// The same again with nothing written since the restart: what a
	// broker holding idle partitions pays.
	IdleStop, IdleRestart, IdleRestartCPU time.Duration
}

// Footprint is what an idle broker process costs.
type Footprint struct {
	CPU   float64 // share of one core, 0.01 = 1%
	RSS   int64   // bytes
	Files int     // open file descriptors
}

// ParsePartitionsArgs parses `pitwall bench partitions [flags]`.
func ParsePartitionsArgs(args []string, output io.Writer) (PartitionsConfig, error) {
	var c PartitionsConfig
	fs := flag.NewFlagSet("pitwall bench partitions", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, "usage: pitwall bench partitions [flags]\n\n"+
			"Starts `pitwall broker` as a child process, creates --topics × --partitions partitions with one\n"+
			"record each, and prints the idle broker's CPU, RSS and open files, then its stop and\n"+
			"restart times (SIGTERM; start until Metadata lists every partition) and the same\n"+
			"figures after the restart. --topics 100,500,1667 runs three scales one after the other.\n\nflags:\n")
		fs.PrintDefaults()
	}
	topics := fs.String("topics", "500", "topics to create, or a comma-separated list of counts (one run each)")
	fs.IntVar(&c.Partitions, "partitions", 12, "partitions per topic")
	fs.DurationVar(&c.Idle, "idle", 10*time.Second, "how long idle CPU is measured")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second, "how long the broker is left alone before measuring")
	fs.StringVar(&c.Broker, "broker", "", "pitwall binary to run (default: this one)")
	brokerArgs := fs.String("broker-args", "", "extra `pitwall broker` flags, space-separated (e.g. \"--fsync interval\")")
	fs.StringVar(&c.DataDir, "data-dir", "", "where the data directories go (default: a temp dir, removed afterwards)")
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, pos)
	}
	for _, f := range strings.Split(*topics, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return c, fmt.Errorf("%w: --topics %q: want positive counts", ErrConfig, *topics)
		}
		c.Topics = append(c.Topics, n)
	}
	c.Args = strings.Fields(*brokerArgs)
	if c.Partitions < 1 || c.Idle <= 0 || c.Settle < 0 {
		return c, fmt.Errorf("%w: --partitions and --idle must be positive", ErrConfig)
	}
	return c, nil
}

// RunPartitions runs every scale of cfg and returns their figures.
func RunPartitions(ctx context.Context, cfg PartitionsConfig) ([]PartitionsResult, error) {
	if len(cfg.Topics) == 0 {
		cfg.Topics = []int{500}
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 12
	}
	if cfg.Idle == 0 {
		cfg.Idle = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Broker == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		cfg.Broker = exe
	}
	parent := cfg.DataDir
	if parent == "" {
		tmp, err := os.MkdirTemp("", "pitwall-bench-partitions-")
		if err != nil {
			return nil, fmt.Errorf("bench: data dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		parent = tmp
	}
	var out []PartitionsResult
	for _, topics := range cfg.Topics {
		res, err := runScale(ctx, cfg, topics, filepath.Join(parent, fmt.Sprintf("%dx%d", topics, cfg.Partitions)))
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// child is a running `pitwall broker`.
type child struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

func startChild(cfg PartitionsConfig, addr, dir string) (*child, error) {
	args := append([]string{"broker", "--listen", addr, "--data-dir", dir, "--log-level", "warn"}, cfg.Args...)
	cmd := exec.Command(cfg.Broker, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start broker: %w", err)
	}
	c := &child{cmd: cmd, addr: addr, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	return c, nil
}

// stop sends SIGTERM and waits for the exit; it returns how long that took.
func (c *child) stop() (time.Duration, error) {
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	err := <-c.done
	return time.Since(start), err
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

func runScale(ctx context.Context, cfg PartitionsConfig, topics int, dir string) (res PartitionsResult, err error) {
	res.Topics, res.Partitions = topics, topics*cfg.Partitions
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	c, err := startChild(cfg, addr, dir)
	if err != nil {
		return res, err
	}
	defer func() {
		if c != nil {
			c.kill()
		}
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DisableIdempotentWrite(), kgo.ProducerLinger(20*time.Millisecond), kgo.MaxBufferedRecords(1<<20),
		kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return res, err
	}
	defer cl.Close()
	if _, err := waitMetadata(ctx, cl, c, 0); err != nil {
		return res, err
	}
	cfg.Logger.Info("bench: creating", "topics", topics, "partitions", res.Partitions)
	start := time.Now()
	if err := createAndFill(ctx, cl, topics, cfg.Partitions); err != nil {
		return res, err
	}
	res.Create = time.Since(start)
	if res.Fresh, err = footprint(ctx, c, cfg); err != nil {
		return res, err
	}
	cfg.Logger.Info("bench: restarting", "partitions", res.Partitions)
	if res.Stop, err = c.stop(); err != nil {
		c = nil
		return res, fmt.Errorf("bench: broker exit: %w", err)
	}
	start = time.Now()
	if c, err = startChild(cfg, addr, dir); err != nil {
		return res, err
	}
	if res.RestartCPU, err = waitMetadata(ctx, cl, c, res.Partitions); err != nil {
		return res, err
	}
	res.Restart = time.Since(start)
	if res.Restarted, err = footprint(ctx, c, cfg); err != nil {
		return res, err
	}
	res.IdleStop, res.IdleRestart, res.IdleRestartCPU, err = restart(ctx, cfg, cl, &c, addr, dir, res.Partitions)
	if err != nil {
		return res, err
	}
	_, err = c.stop()
	c = nil
	return res, err
}

// restart stops *c and starts it again, timing both, with the broker's
// CPU time until it served every partition; *c is the new child.
func restart(ctx context.Context, cfg PartitionsConfig, cl *kgo.Client, c **child, addr, dir string, want int) (stop, start, cpu time.Duration, err error) {
	if stop, err = (*c).stop(); err != nil {
		*c = nil
		return 0, 0, 0, fmt.Errorf("bench: broker exit: %w", err)
	}
	t0 := time.Now()
	if *c, err = startChild(cfg, addr, dir); err != nil {
		return 0, 0, 0, err
	}
	if cpu, err = waitMetadata(ctx, cl, *c, want); err != nil {
		return 0, 0, 0, err
	}
	return stop, time.Since(t0), cpu, nil
}

// freeAddr is a loopback address for a process the run starts
// (freeport: never one handed out before in this run).
func freeAddr() (string, error) { return freeport.Addr() }

// metadataPoll is how often waitMetadata asks. The broker answers while
// it opens its partitions, and a Metadata answer listing 20,000 of them
// costs it CPU, so asking much more often would slow what is measured.
const metadataPoll = 25 * time.Millisecond

// waitMetadata polls Metadata for every topic until the broker answers
// with at least want partitions open (no error: after a restart the
// broker reports those still opening with LEADER_NOT_AVAILABLE), and
// returns the broker's CPU time by then.
func waitMetadata(ctx context.Context, cl *kgo.Client, c *child, want int) (time.Duration, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		req := kmsg.NewPtrMetadataRequest()
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := req.RequestWith(rctx, cl)
		cancel()
		if err == nil {
			n := 0
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode == 0 {
						n++
					}
				}
			}
			if n >= want {
				ticks, err := cpuTicks(c.cmd.Process.Pid)
				return time.Duration(ticks) * time.Second / clockTicks, err
			}
		}
		select {
		case err := <-c.done:
			c.done <- err
			return 0, fmt.Errorf("bench: broker exited: %v", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(metadataPoll):
		}
		if time.Now().After(deadline) {
			return 0, errors.New("bench: broker did not answer Metadata in 5 minutes")
		}
	}
}

// createAndFill creates topics pw-00000... of parts partitions, 100 per
// request, and writes one record to each partition.
func createAndFill(ctx context.Context, cl *kgo.Client, topics, parts int) error {
	name := func(i int) string { return fmt.Sprintf("pw-%05d", i) }
	for i := 0; i < topics; i += 100 {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 60_000
		for j := i; j < min(i+100, topics); j++ {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name(j), int32(parts), 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("bench: create topics: %w", err)
		}
		for _, t := range resp.Topics {
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("bench: create %s: %w", t.Topic, err)
			}
		}
	}
	errc := make(chan error, 1)
	for i := range topics {
		for p := range parts {
			r := &kgo.Record{Topic: name(i), Partition: int32(p), Value: []byte("one record")}
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				if err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("bench: produce: %w", err)
	default:
		return nil
	}
}

// footprint waits cfg.Settle, then measures the child's CPU over cfg.Idle
// and reads its RSS and open files.
func footprint(ctx context.Context, c *child, cfg PartitionsConfig) (Footprint, error) {
	var f Footprint
	pid := c.cmd.Process.Pid
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return f, err
	}
	t0, err := cpuTicks(pid)
	if err != nil {
		return f, err
	}
	start := time.Now()
	if err := sleepCtx(ctx, cfg.Idle); err != nil {
		return f, err
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		return f, err
	}
	f.CPU = float64(t1-t0) / clockTicks / time.Since(start).Seconds()
	if f.RSS, err = rss(pid); err != nil {
		return f, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return f, err
	}
	f.Files = len(fds)
	return f, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTicks is a process's user plus system time from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	// The command name (field 2) may hold spaces; fields after ")" count from 3.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("bench: /proc/%d/stat: %w", pid, err)
	}
	return utime + stime, nil
}

// rss is a process's resident set size from /proc/PID/status.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("bench: no VmRSS in /proc/%d/status", pid)
}

// WritePartitionsTable prints one row per scale.
func WritePartitionsTable(w io.Writer, rs []PartitionsResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "partitions\tcreate+fill\tidle CPU\tRSS MiB\tfiles\tstop\trestart\trestart CPU\tidle CPU after\tRSS MiB after\tfiles after\tidle stop\tidle restart\tidle restart CPU\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%.1fs\t%.1f%%\t%.0f\t%d\t%.2fs\t%.2fs\t%.2fs\t%.1f%%\t%.0f\t%d\t%.2fs\t%.2fs\t%.2fs\t\n", r.Partitions, r.Create.Seconds(),
			100*r.Fresh.CPU, float64(r.Fresh.RSS)/(1<<20), r.Fresh.Files, r.Stop.Seconds(), r.Restart.Seconds(), r.RestartCPU.Seconds(),
			100*r.Restarted.CPU, float64(r.Restarted.RSS)/(1<<20), r.Restarted.Files, r.IdleStop.Seconds(), r.IdleRestart.Seconds(), r.IdleRestartCPU.Seconds())
	}
	return tw.Flush()
}
