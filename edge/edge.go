package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pitwall/pitwall/edge/spool"
	"github.com/pitwall/pitwall/internal/kafkasec"
	"github.com/pitwall/pitwall/telemetry"
)

// Edge is the edge agent: sources → spool → Kafka. New builds it, Run runs
// it until its context is cancelled; an Edge runs once.
type Edge struct {
	cfg     Config
	log     *slog.Logger
	spool   *spool.Spool
	codec   *telemetry.Codec
	metrics *metrics
	limit   *limiter
	cats    catalogs
	lat     latencies
	sources []*feed
	ln      net.Listener // /metrics; nil when off

	lastErr      atomic.Pointer[string]
	brokerUp     atomic.Bool
	ackedFrames  atomic.Int64
	ackedSamples atomic.Int64
	ran          atomic.Bool
}

// feed is one configured input: the source reading it and its counters.
type feed struct {
	stats *sourceStats
	src   runner
}

// ErrRan: Run was called twice.
var ErrRan = errors.New("edge: Run called twice")

// New checks cfg, builds the sources (without opening their devices),
// opens the spool and listens for /metrics. Call Run once.
func New(cfg Config) (*Edge, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Edge{cfg: cfg, log: cfg.Logger, codec: telemetry.MustNewCodec(), limit: newLimiter(logEvery),
		cats: catalogs{last: make(map[string]*catalogEntry), kick: make(chan struct{}, 1)}}
	names := map[string]bool{}
	for _, raw := range cfg.Inputs {
		in, err := ParseInput(raw)
		if err != nil {
			return nil, err
		}
		if names[in.Name] {
			return nil, fmt.Errorf("%w: input %s given twice", ErrConfig, in.Name)
		}
		names[in.Name] = true
		in.MQTTUser, in.MQTTPassword = cfg.MQTTUser, kafkasec.Secret(cfg.mqttPassword)
		src, err := newSource(in, e.log)
		if err != nil {
			return nil, err
		}
		e.sources = append(e.sources, &feed{stats: &sourceStats{name: in.Name}, src: src})
	}
	if e.spool, err = spool.Open(cfg.spoolConfig()); err != nil {
		return nil, err
	}
	e.loadCatalogs()
	e.metrics = newMetrics(e.spool)
	if cfg.Metrics != "off" {
		if e.ln, err = net.Listen("tcp", cfg.Metrics); err != nil {
			e.spool.Close()
			return nil, fmt.Errorf("edge: metrics listener: %w", err)
		}
	}
	for _, s := range e.sources {
		e.metrics.up.WithLabelValues(s.stats.name).Set(0)
	}
	return e, nil
}

// MetricsAddr returns the address /metrics is served on ("" when off).
func (e *Edge) MetricsAddr() string {
	if e.ln == nil {
		return ""
	}
	return e.ln.Addr().String()
}

// Run runs the edge until ctx is cancelled, then stops the sources,
// waits up to FlushTimeout for the broker to acknowledge what is spooled
// and closes everything. What is not acknowledged stays in the spool for
// the next start.
func (e *Edge) Run(ctx context.Context) error {
	if e.ran.Swap(true) {
		return ErrRan
	}
	var srv *http.Server
	httpDone := make(chan struct{})
	if e.ln != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(e.metrics.reg, promhttp.HandlerOpts{}))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			defer close(httpDone)
			srv.Serve(e.ln)
		}()
	} else {
		close(httpDone)
	}
	snd := newSender(e)
	go snd.run()
	stopSaver, saverDone := make(chan struct{}), make(chan struct{})
	go e.saveCatalogs(stopSaver, saverDone)

	srcCtx, stopSources := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range e.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &emitter{e: e, name: s.stats.name, stats: s.stats}
			if err := s.src.Run(srcCtx, m); err != nil {
				e.log.Error("edge: source stopped", "source", s.stats.name, "err", err)
				e.setLastErr(s.stats.name + ": " + err.Error())
			}
			m.Flush()
		}()
	}
	statusDone := make(chan struct{})
	stopStatus := make(chan struct{})
	go e.statusLoop(stopStatus, statusDone)

	<-ctx.Done()
	e.log.Info("edge: stopping; flushing to the broker", "timeout", e.cfg.FlushTimeout)
	stopSources()
	wg.Wait()
	close(stopSaver)
	<-saverDone
	e.drain(snd)
	close(snd.stop)
	<-snd.done
	close(stopStatus)
	<-statusDone
	if srv != nil {
		srv.Close()
		<-httpDone
	}
	st := e.spool.Stats()
	err := e.spool.Close()
	e.log.Info("edge: stopped", "left_in_spool", st.Depth)
	return err
}

// drain waits until everything spooled is acknowledged, the flush
// timeout passes or the sender is gone.
func (e *Edge) drain(snd *sender) {
	deadline := time.NewTimer(e.cfg.FlushTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for e.spool.Stats().Depth > 0 {
		select {
		case <-deadline.C:
			return
		case <-snd.done:
			return
		case <-tick.C:
		}
	}
}

func (e *Edge) statusLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if e.cfg.StatusEvery < 0 {
		<-stop
		return
	}
	prev := &statusState{at: time.Now(), frames: map[string][3]int64{}}
	t := time.NewTicker(e.cfg.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			e.log.Info(e.statusLine(prev))
		}
	}
}

// Run builds an edge from cfg and runs it until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	e, err := New(cfg)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}
