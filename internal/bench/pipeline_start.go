package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// startInfluxd starts a local InfluxDB 1.8 on loopback (usage reporting
// off, data in the run's directory, logging at level info: the report
// reads its cache snapshots and compactions from the log) and returns its
// URL, or "" when no influxd is installed.
func (r *pipelineRun) startInfluxd(ctx context.Context) (string, error) {
	bin := influxdPath()
	if bin == "" {
		return "", nil
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return "", err
	}
	rpcAddr, err := freeAddr()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(r.dir, "influxdb")
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  enabled = true
  bind-address = %q
  log-enabled = false
  max-body-size = 0
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "info"
`, rpcAddr, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpAddr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", err
	}
	if r.influxd, err = r.start("influxd", false, bin, "-config", path); err != nil {
		return "", err
	}
	url := "http://" + httpAddr
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/ping", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return url, nil
			}
		}
		if r.influxd.exited() {
			return "", r.influxd.failure()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("bench: influxd did not answer /ping in a minute")
		}
		_ = sleepCtx(ctx, 50*time.Millisecond)
	}
}

// startMosquitto starts a local Mosquitto listening on loopback only.
func (r *pipelineRun) startMosquitto(ctx context.Context) error {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mosquitto"); serr != nil {
			return fmt.Errorf("bench: --in mqtt needs mosquitto (apt-get install mosquitto): %w", err)
		}
		bin = "/usr/sbin/mosquitto"
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	path := filepath.Join(r.dir, "mosquitto.conf")
	conf := fmt.Sprintf("listener %s %s\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n", port, host)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	if r.mosq, err = r.start("mosquitto", false, bin, "-c", path); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			r.mosqAddr = addr
			return nil
		}
		if r.mosq.exited() {
			return r.mosq.failure()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench: mosquitto did not listen in 30s")
		}
		_ = sleepCtx(ctx, 20*time.Millisecond)
	}
}

// newSim builds the simulation: cfg.Cars cars with cfg.Channels channels,
// every one at cfg.Hz (the standard channels' own rates are overridden,
// the aux channels run at AuxRateHz), sensor time starting at start.
func (r *pipelineRun) newSim(start time.Time) (*simulator.Sim, error) {
	cfg := r.cfg
	base := simulator.Config{Track: cfg.Track, Cars: cfg.Cars, Channels: cfg.Channels, AuxRateHz: cfg.Hz,
		Session: "bench-pipeline", Start: start}
	probe, err := simulator.New(base)
	if err != nil {
		return nil, err
	}
	base.Rates = map[string]int{}
	for _, ch := range probe.Catalog(0).Channels {
		base.Rates[ch.Name] = cfg.Hz
	}
	return simulator.New(base)
}

// liveChannel is the channel the live subscriber streams: speed, as a
// live panel would, or the first channel when the set has no speed.
func liveChannel(cat *telemetry.ChannelCatalog) int32 {
	if ch, ok := cat.ByName(telemetry.ChanSpeed); ok {
		return ch.ID
	}
	return cat.Channels[0].ID
}

// startConsumers starts the live subscriber and the two processors and
// waits until each consumes.
func (r *pipelineRun) startConsumers(ctx context.Context, sim *simulator.Sim) error {
	cfg := r.cfg
	var err error
	r.live, err = r.start("live", true, cfg.Binary, "bench", "pipeline", "--stage", "live", "--brokers", r.addr,
		"--channel-id", strconv.Itoa(int(liveChannel(sim.Catalog(0)))))
	if err != nil {
		return err
	}
	for i := range 2 {
		args := []string{"bench", "pipeline", "--stage", "process", "--brokers", r.addr, "--group", benchGroup, "--track", cfg.Track,
			"--window", cfg.Window.String()}
		if cfg.InfluxURL != "" {
			args = append(args, "--influx-url", cfg.InfluxURL)
		}
		p, err := r.start(fmt.Sprintf("process%d", i+1), true, cfg.Binary, args...)
		if err != nil {
			return err
		}
		r.process = append(r.process, p)
	}
	for _, p := range append([]*proc{r.live}, r.process...) {
		if err := p.waitReady(ctx, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// startWire opens the wire, starts the edge on it (serial, mqtt) and
// waits until the edge reads every input.
func (r *pipelineRun) startWire(ctx context.Context, sim *simulator.Sim) (wire, error) {
	cfg := r.cfg
	if cfg.In == "kafka" {
		return newKafkaWire(r.addr)
	}
	var inputs []string
	var sw *serialWire
	switch cfg.In {
	case "serial":
		var err error
		if sw, err = newSerialWire(sim.Cars()); err != nil {
			return nil, err
		}
		for _, car := range sim.Cars() {
			inputs = append(inputs, "serial:"+sw.paths()[car])
		}
	case "mqtt":
		inputs = []string{"mqtt://" + r.mosqAddr + "/" + mqttPrefix + "/+/#"}
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"edge", "--brokers", r.addr, "--spool", filepath.Join(r.dir, "spool"), "--metrics", metricsAddr,
		"--status-every", "-1s", "--log-level", "warn"}
	for _, in := range inputs {
		args = append(args, "--in", in)
	}
	args = append(args, cfg.EdgeArgs...)
	if r.edge, err = r.start("edge", false, cfg.Binary, args...); err != nil {
		if sw != nil {
			sw.closePTYs()
		}
		return nil, err
	}
	r.edgeAt = metricsAddr
	if err := r.waitEdgeInputs(ctx, len(inputs)); err != nil {
		if sw != nil {
			sw.closePTYs()
		}
		return nil, err
	}
	if sw != nil {
		sw.startWriters()
		return sw, nil
	}
	return newMQTTWire(r.mosqAddr)
}

// waitEdgeInputs polls the edge's /metrics until n sources are up.
func (r *pipelineRun) waitEdgeInputs(ctx context.Context, n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if m, err := scrape(ctx, r.edgeAt); err == nil && m.count("edge_source_up", 1) >= n {
			return nil
		}
		if r.edge.exited() {
			return r.edge.failure()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench: the edge did not open its %d inputs in a minute", n)
		}
		_ = sleepCtx(ctx, 20*time.Millisecond)
	}
}

// waitGroupStable waits until both processors are members of the group
// and every partition of the frames topic is assigned, so no rebalance
// falls into the measurement.
func (r *pipelineRun) waitGroupStable(ctx context.Context) error {
	ac, err := admin.Dial(ctx, r.addr, "pitwall-bench")
	if err != nil {
		return err
	}
	defer ac.Close()
	spec, _ := telemetry.Topic(telemetry.TopicFrames)
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for {
		g, err := ac.DescribeGroup(benchGroup)
		if err == nil {
			owned := 0
			for _, m := range g.Members {
				owned += len(m.Owns[telemetry.TopicFrames])
			}
			if g.State == "Stable" && len(g.Members) == len(r.process) && owned == int(spec.Partitions) {
				return nil
			}
			last = fmt.Sprintf("state %s, %d members, %d partitions owned", g.State, len(g.Members), owned)
		} else {
			last = err.Error()
		}
		for _, p := range r.process {
			if p.exited() {
				return p.failure()
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench: group %s not stable in 2 minutes: %s", benchGroup, last)
		}
		_ = sleepCtx(ctx, 100*time.Millisecond)
	}
}

// consumerLag is the group's records not processed yet on the frames
// topic (admin: from the position the processors commit with their
// offsets), or -1 when it cannot be read.
func (r *pipelineRun) consumerLag(ctx context.Context, ac *admin.Client) int64 {
	g, err := ac.DescribeGroup(benchGroup)
	if err != nil {
		return -1
	}
	var lag int64
	for _, o := range g.Offsets {
		if o.Topic == telemetry.TopicFrames {
			if o.Committed < 0 {
				lag += o.End
			} else {
				lag += o.Lag
			}
		}
	}
	return lag
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
