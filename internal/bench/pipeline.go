package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// PipelineConfig describes a `pitwall bench pipeline` run. An empty field
// means its default.
type PipelineConfig struct {
	// Cars is how many cars are simulated. Default 20.
	Cars int
	// Channels is each car's channel count: the simulator's standard set,
	// cut or extended with aux channels. Default 300.
	Channels int
	// Hz is every channel's rate; it must divide 1000. Default 200.
	Hz int
	// Duration is how long the load is offered. Default 60s.
	Duration time.Duration
	// In is the wire into the pipeline: serial (one pty per car, read
	// by the edge), mqtt (a local Mosquitto the edge subscribes to) or
	// kafka (straight into the broker, no edge). Default serial.
	In string
	// InfluxURL is the InfluxDB the processors write to. Default: a local
	// influxd started by the run if one is on PATH (or in GOPATH/bin),
	// else none (the processors then write laps to telemetry.laps only).
	InfluxURL string
	// Track is the track the cars drive. Default "brands-indy".
	Track string
	// Drain is how long the run waits after the load for the queues to
	// drain before reporting them as not drained. Default 30s.
	Drain time.Duration
	// EdgeArgs are extra `pitwall edge` flags (e.g. --compression lz4),
	// to see what a setting changes. Default none.
	EdgeArgs []string
	// BrokerArgs are extra `pitwall broker` flags (e.g. --fsync
	// interval), to measure what a setting does to the pipeline.
	BrokerArgs []string
	// Window is the processors' downsampling window: one InfluxDB point
	// per car per window, every channel's mean, minimum and maximum
	// (`pitwall process --window`). Default influx.DefaultWindow (100 ms).
	Window time.Duration
	// Binary is the pitwall executable the stages run as. Default this
	// executable.
	Binary string
	// DataDir holds the broker's log, the spool and the logs of every
	// process. Default: a temp dir, removed afterwards.
	DataDir string
	// Logger receives progress. Default: discarded.
	Logger *slog.Logger
}

// KeptUpShare and DrainWithin are the rule for "kept up": every
// stage achieves this share of the offered rate, and its queue (spool,
// consumer lag) drains within this long of the end.
const (
	KeptUpShare = 0.99
	DrainWithin = 5 * time.Second
)

// benchGroup is the processors' consumer group.
const benchGroup = "pitwall-bench"

func (c PipelineConfig) withDefaults() (PipelineConfig, error) {
	c.Cars = defaultInt(c.Cars, 20)
	c.Channels = defaultInt(c.Channels, 300)
	c.Hz = defaultInt(c.Hz, 200)
	if c.Duration == 0 {
		c.Duration = time.Minute
	}
	if c.In == "" {
		c.In = "serial"
	}
	if c.Track == "" {
		c.Track = "brands-indy"
	}
	if c.Drain == 0 {
		c.Drain = 30 * time.Second
	}
	if c.Window == 0 {
		c.Window = influx.DefaultWindow
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	if c.Binary, err = pitwallExe(c.Binary); err != nil {
		return c, err
	}
	switch {
	case c.Cars < 1 || c.Cars > 99:
		return c, fmt.Errorf("%w: --cars %d, want 1..99", ErrConfig, c.Cars)
	case c.Channels < 1 || c.Channels > telemetry.MaxChannels:
		return c, fmt.Errorf("%w: --channels %d, want 1..%d", ErrConfig, c.Channels, telemetry.MaxChannels)
	case c.Hz < 1 || c.Hz > simulator.TickHz || simulator.TickHz%c.Hz != 0:
		return c, fmt.Errorf("%w: --hz %d must divide %d", ErrConfig, c.Hz, simulator.TickHz)
	case c.Window < time.Millisecond:
		return c, fmt.Errorf("%w: --window %v, want 1ms or more", ErrConfig, c.Window)
	case c.Duration < time.Second:
		return c, fmt.Errorf("%w: --duration %v, at least 1s", ErrConfig, c.Duration)
	case c.In != "serial" && c.In != "mqtt" && c.In != "kafka":
		return c, fmt.Errorf("%w: --in %q, want serial, mqtt or kafka", ErrConfig, c.In)
	case c.Drain < DrainWithin:
		return c, fmt.Errorf("%w: drain %v, at least %v", ErrConfig, c.Drain, DrainWithin)
	}
	if c.InfluxURL != "" {
		if err := influx.ValidateURL(c.InfluxURL); err != nil {
			return c, fmt.Errorf("%w: --influx-url: %w", ErrConfig, err)
		}
		// The URL goes to the processor stages' command lines, where ps
		// shows it: no credentials in it.
		if u, err := neturl.Parse(c.InfluxURL); err == nil && u.User != nil {
			return c, fmt.Errorf("%w: --influx-url: no user or password in the URL (the bench passes it on command lines)", ErrConfig)
		}
	}
	if _, err := track.LookupTiming(c.Track); err != nil {
		return c, fmt.Errorf("%w: --track: %w", ErrConfig, err)
	}
	return c, nil
}

func defaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// PipelineOptions is a parsed `pitwall bench pipeline` command line.
type PipelineOptions struct {
	// Config is the first run's; --cars 20,25,30 gives one run per count,
	// the same in all but Cars.
	Config PipelineConfig
	Cars   []int
	JSON   bool
}

// ParsePipelineArgs parses `pitwall bench pipeline [flags]`.
func ParsePipelineArgs(args []string, output io.Writer) (PipelineOptions, error) {
	var o PipelineOptions
	c := &o.Config
	fs := flag.NewFlagSet("pitwall bench pipeline", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, "usage: pitwall bench pipeline [flags]\n\n"+
			"Runs the whole pipeline as separate processes (pitwall broker, pitwall edge with its\n"+
			"spool, two lap processors in one group writing to InfluxDB, a live stream subscriber),\n"+
			"offers --cars x --channels x --hz samples a second from the simulator in real time\n"+
			"for --duration over --in, and reports per stage the rate offered and achieved, CPU,\n"+
			"memory, spool and consumer lag, latency from sample time, frames lost or doubled,\n"+
			"and whether the pipeline kept up.\n\nflags:\n")
		fs.PrintDefaults()
	}
	cars := fs.String("cars", "20", "cars, or a comma-separated list of counts: one run each, then the highest rate kept up")
	fs.IntVar(&c.Channels, "channels", 300, "channels per car (the simulator's standard set, then aux channels)")
	fs.IntVar(&c.Hz, "hz", 200, "rate of every channel, Hz (must divide 1000)")
	fs.DurationVar(&c.Duration, "duration", time.Minute, "how long the load is offered")
	fs.StringVar(&c.In, "in", "serial", "wire into the pipeline: serial (one pty per car), mqtt (a local mosquitto) or kafka (straight into the broker)")
	fs.StringVar(&c.InfluxURL, "influx-url", "", "InfluxDB the processors write to (default: a local influxd started by the run when one is on PATH, else none)")
	fs.StringVar(&c.Track, "track", "brands-indy", "track the cars drive")
	fs.DurationVar(&c.Drain, "drain", 30*time.Second, "how long to wait after the load for spool and lag to drain")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory for the broker's log, the spool and every process's log (default: a temp dir, removed afterwards)")
	edgeArgs := fs.String("edge-args", "", "extra `pitwall edge` flags, space-separated (e.g. \"--compression lz4\")")
	fs.DurationVar(&c.Window, "window", influx.DefaultWindow, "the processors' downsampling window: one InfluxDB point per car per window (pitwall process --window)")
	brokerArgs := fs.String("broker-args", "", "extra `pitwall broker` flags, space-separated (e.g. \"--fsync interval\")")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, fs.Args())
	}
	for _, f := range strings.Split(*cars, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("%w: --cars %q: want positive counts", ErrConfig, *cars)
		}
		o.Cars = append(o.Cars, n)
	}
	c.Cars = o.Cars[0]
	c.EdgeArgs = strings.Fields(*edgeArgs)
	c.BrokerArgs = strings.Fields(*brokerArgs)
	if c.Channels < 1 || c.Hz < 1 || c.Duration <= 0 {
		return o, fmt.Errorf("%w: --cars, --channels, --hz and --duration must be positive", ErrConfig)
	}
	var err error
	if o.Config, err = c.withDefaults(); err != nil {
		return o, err
	}
	for _, n := range o.Cars {
		c := o.Config
		c.Cars = n
		if _, err := c.withDefaults(); err != nil {
			return o, err
		}
	}
	return o, nil
}

// HighestKeptUp returns the report with the highest nominal rate that
// kept up, or nil.
func HighestKeptUp(reps []*PipelineReport) *PipelineReport {
	var best *PipelineReport
	for _, r := range reps {
		if r.KeptUp && (best == nil || r.Nominal > best.Nominal) {
			best = r
		}
	}
	return best
}

// IsStage reports whether args run a stage process (--stage), which
// RunStage handles.
func IsStage(args []string) bool {
	return len(args) > 0 && (args[0] == "--stage" || strings.HasPrefix(args[0], "--stage="))
}

// pipelineRun is one run's processes and what they share.
type pipelineRun struct {
	cfg      PipelineConfig
	dir      string
	addr     string // broker
	procs    []*proc
	broker   *proc
	edge     *proc
	edgeAt   string // edge metrics address
	live     *proc
	process  []*proc
	influxd  *proc
	mosq     *proc
	mosqAddr string
	influx   string // where InfluxDB is, for the report

	peakMu sync.Mutex
	peak   map[int]int64 // pid → highest RSS seen
}

func (r *pipelineRun) start(name string, stage bool, bin string, args ...string) (*proc, error) {
	p, err := startProc(name, r.dir, bin, args, stage)
	if err != nil {
		return nil, err
	}
	r.procs = append(r.procs, p)
	return p, nil
}

// stopAll stops whatever is still running, last started first.
func (r *pipelineRun) stopAll() {
	for i := len(r.procs) - 1; i >= 0; i-- {
		_ = r.procs[i].stop(15 * time.Second)
	}
}

// RunPipeline runs the pipeline under load and reports on it.
func RunPipeline(ctx context.Context, cfg PipelineConfig) (rep *PipelineReport, err error) {
	if cfg, err = cfg.withDefaults(); err != nil {
		return nil, err
	}
	r := &pipelineRun{cfg: cfg, peak: map[int]int64{}}
	var remove func()
	if r.dir, remove, err = runDir(cfg.DataDir, "pipeline"); err != nil {
		return nil, err
	}
	defer remove()
	defer r.stopAll()
	if err := r.startServices(ctx); err != nil {
		return nil, err
	}
	// A first simulation gives the cars and their catalog; measure makes
	// the one it runs, its sensor time starting when the load does.
	sim, err := r.newSim(time.Now())
	if err != nil {
		return nil, err
	}
	if err := r.startConsumers(ctx, sim); err != nil {
		return nil, err
	}
	w, err := r.startWire(ctx, sim)
	if err != nil {
		return nil, err
	}
	closeWire := func() error {
		if w == nil {
			return nil
		}
		err := w.close()
		w = nil
		return err
	}
	defer closeWire()
	if err := r.waitGroupStable(ctx); err != nil {
		return nil, err
	}
	return r.measure(ctx, w, closeWire)
}

// startServices starts the broker (and creates the topics), InfluxDB and
// Mosquitto as the run needs them.
func (r *pipelineRun) startServices(ctx context.Context) error {
	cfg := r.cfg
	var err error
	if r.addr, err = freeAddr(); err != nil {
		return err
	}
	bargs := []string{"broker", "--listen", r.addr,
		"--data-dir", filepath.Join(r.dir, "broker"), "--log-level", "warn"}
	bargs = append(bargs, cfg.BrokerArgs...)
	if r.broker, err = r.start("broker", false, cfg.Binary, bargs...); err != nil {
		return err
	}
	if err := r.createTopics(ctx); err != nil {
		return err
	}
	switch {
	case cfg.InfluxURL != "":
		r.influx = redactedURL(cfg.InfluxURL) + " (--influx-url)"
	default:
		url, err := r.startInfluxd(ctx)
		if err != nil {
			return err
		}
		if url != "" {
			r.cfg.InfluxURL, r.influx = url, "a local influxd started by the run ("+url+")"
		} else {
			r.influx = "none (no influxd on PATH, no --influx-url): sample → InfluxDB not measured"
		}
	}
	if cfg.In == "mqtt" {
		return r.startMosquitto(ctx)
	}
	return nil
}

// createTopics waits for the broker and creates the frames and catalog
// topics as telemetry.Topics says (the edge and the processors would).
func (r *pipelineRun) createTopics(ctx context.Context) error {
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-bench"
	var client sarama.Client
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if client, err = admin.Connect(ctx, []string{r.addr}, sc); err == nil {
			break
		}
		if r.broker.exited() {
			return r.broker.failure()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench: broker at %s: %w", r.addr, err)
		}
		_ = sleepCtx(ctx, 50*time.Millisecond)
	}
	defer client.Close()
	frames, _ := telemetry.Topic(telemetry.TopicFrames)
	channels, _ := telemetry.Topic(telemetry.TopicChannels)
	return admin.EnsureTopics(client, frames, channels)
}

// influxdPath finds influxd on PATH or in GOPATH/bin, as the tests do.
func influxdPath() string {
	if p, err := exec.LookPath("influxd"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	p := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "influxd")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// redactedURL is u with any password in it replaced by xxxxx, for the
// report.
func redactedURL(u string) string {
	p, err := neturl.Parse(u)
	if err != nil {
		return "(an unparsable URL)"
	}
	return p.Redacted()
}
