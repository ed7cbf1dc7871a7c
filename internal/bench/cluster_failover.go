package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pitwall/pitwall/internal/cli"
)

// The failover workload (`pitwall bench failover`) measures how long a
// partition of a cluster goes without acks=all acknowledgements when its
// leader dies: it starts a cluster of three `pitwall broker` processes
// (cluster.go), creates a topic of one partition with replication factor
// 3, and runs one kgo producer (idempotent, acks=all) that produces a
// record to it every --interval. Each cycle it waits until every broker
// agrees on the leader and the ISR is whole, SIGKILLs the leader, and
// measures from the kill to the acknowledgement of the first record
// produced after the killed process was gone (so the dead broker cannot
// have answered it: its successor did); then it restarts the killed
// broker and waits for the ISR to be whole again.
//
// What a failover takes: the controller notices the missing heartbeats
// (--session-timeout, the brokers' --broker-session-timeout) and fences
// the broker, which elects the next ISR member; the new leader takes over
// once it applied that; the producer finds it by refreshing its metadata
// (kgo backs off between retries and refreshes metadata at most every
// MetadataMinAge, 5 s by default; --client-backoff sets both). If the
// killed broker was also the active controller, the quorum first elects
// another controller.
//
// With --stop term the leader is sent SIGTERM instead, as a rolling
// restart stops a broker: its controlled shutdown has the controller move
// the partition before it stops serving, so the producer should hardly
// notice. Either way each cycle also records the longest any record
// produced from the signal on waited for its acknowledgement: what the
// producer saw of the failover.

// FailoverConfig describes a failover run. An empty field means its
// default.
type FailoverConfig struct {
	// Kills is how many leaders the run kills. Default 20.
	Kills int
	// Stop is how a leader is stopped: StopKill (SIGKILL, the default)
	// or StopTerm (SIGTERM: a controlled shutdown).
	Stop string
	// SessionTimeout is the brokers' --broker-session-timeout. Default:
	// the broker's default (3 s).
	SessionTimeout time.Duration
	// ClientBackoff, if set, is the producer's retry backoff and
	// metadata min age; default kgo's own (retries back off from 250 ms,
	// metadata is refreshed at most every 5 s).
	ClientBackoff time.Duration
	// Interval is how often the producer produces a record. Default 5ms.
	Interval time.Duration
	// BrokerLogLevel is the brokers' --log-level (their logs go to this
	// process's stderr, with the kills logged at info). Default error.
	BrokerLogLevel string
	// Broker is the pitwall executable. Default: this process's.
	Broker string
	// DataDir is where the brokers' data directories go. Default: a temp
	// dir, removed afterwards.
	DataDir string
	// Logger receives progress. Default: discarded.
	Logger *slog.Logger
}

// Kill is one cycle's figures.
type Kill struct {
	Leader     int32   `json:"leader"`     // the broker killed
	Controller bool    `json:"controller"` // it was the active controller too
	Successor  int32   `json:"successor"`  // the leader after it
	Seconds    float64 `json:"seconds"`    // kill to the first acknowledgement by the successor
	Wait       float64 `json:"wait_s"`     // the longest a record produced from the kill on waited for its acknowledgement
	Elected    float64 `json:"elected_s"`  // kill to a Metadata answer naming the successor
	Rejoin     float64 `json:"rejoin_s"`   // restart to the ISR whole again
}

// FailoverReport is a failover run's settings, each kill and the
// quantiles of their times.
type FailoverReport struct {
	Stop           string  `json:"stop"`
	SessionTimeout string  `json:"session_timeout"`
	ClientBackoff  string  `json:"client_backoff"`
	Kills          []Kill  `json:"kills"`
	P50            float64 `json:"p50_s"`
	P99            float64 `json:"p99_s"`
	Max            float64 `json:"max_s"`
	// The longest wait of a record in each cycle (Kill.Wait), quantiles.
	WaitP50 float64 `json:"wait_p50_s"`
	WaitP99 float64 `json:"wait_p99_s"`
	WaitMax float64 `json:"wait_max_s"`
}

// FailoverOptions is what ParseFailoverArgs returns: the run and how to
// print it.
type FailoverOptions struct {
	Config FailoverConfig
	JSON   bool
}

// ParseFailoverArgs parses `pitwall bench failover [flags]`.
func ParseFailoverArgs(args []string, output io.Writer) (FailoverOptions, error) {
	var o FailoverOptions
	c := &o.Config
	fs := flag.NewFlagSet("pitwall bench failover", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, "usage: pitwall bench failover [flags]\n\n"+
			"Starts three `pitwall broker` processes as a cluster on loopback, a topic of one\n"+
			"partition with replication factor 3 and a kgo acks=all producer, then --kills times\n"+
			"SIGKILLs the partition's leader (SIGTERMs it with --stop term) and measures from\n"+
			"the signal to the first record acknowledged by its successor, and the longest any\n"+
			"record waited; restarts the stopped broker and waits for the ISR to be whole before\n"+
			"the next. Prints each kill and p50/p99/max.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&c.Kills, "kills", 20, "how many leaders to kill")
	fs.StringVar(&c.Stop, "stop", StopKill, "how the leader is stopped: kill (SIGKILL) or term (SIGTERM, the broker's controlled shutdown)")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", 0, "the brokers' --broker-session-timeout (default: theirs, 3s)")
	fs.DurationVar(&c.ClientBackoff, "client-backoff", 0, "the producer's retry backoff and metadata min age (default: kgo's, 250ms+ and 5s)")
	fs.DurationVar(&c.Interval, "interval", 5*time.Millisecond, "how often the producer produces a record")
	fs.StringVar(&c.Broker, "broker", "", "pitwall binary to run (default: this one)")
	fs.StringVar(&c.BrokerLogLevel, "broker-log-level", "error", "the brokers' --log-level (warn shows fencing and elections, on stderr)")
	fs.StringVar(&c.DataDir, "data-dir", "", "where the data directories go (default: a temp dir, removed afterwards)")
	fs.BoolVar(&o.JSON, "json", false, "print the results as JSON")
	pos, err := cli.ParseInterleaved(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, pos)
	}
	if c.Stop != StopKill && c.Stop != StopTerm {
		return o, fmt.Errorf("%w: --stop %q: want kill or term", ErrConfig, c.Stop)
	}
	if c.Kills < 1 || c.SessionTimeout < 0 || c.ClientBackoff < 0 || c.Interval <= 0 {
		return o, fmt.Errorf("%w: --kills and --interval must be positive, --session-timeout and --client-backoff not negative", ErrConfig)
	}
	return o, nil
}

// How --stop stops a leader.
const (
	StopKill = "kill" // SIGKILL
	StopTerm = "term" // SIGTERM: the controlled shutdown
)

// failoverTopic is the topic a failover run creates.
const failoverTopic = "pitwall-bench-failover"

// failoverWait bounds each wait of a cycle: a failover, a rejoin.
const failoverWait = 2 * time.Minute

// RunFailover runs cfg's kills and returns their figures; on an error
// it returns the kills measured so far with it.
func RunFailover(ctx context.Context, cfg FailoverConfig) (*FailoverReport, error) {
	if cfg.Kills == 0 {
		cfg.Kills = 20
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Millisecond
	}
	if cfg.Stop == "" {
		cfg.Stop = StopKill
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	exe, err := pitwallExe(cfg.Broker)
	if err != nil {
		return nil, err
	}
	dir, remove, err := runDir(cfg.DataDir, "failover")
	if err != nil {
		return nil, err
	}
	defer remove()
	var args []string
	if cfg.SessionTimeout > 0 {
		args = append(args, "--broker-session-timeout", cfg.SessionTimeout.String())
	}
	pc, err := startProcClusterLevel(ctx, exe, 3, true, dir, args, cfg.BrokerLogLevel, cfg.Logger)
	if err != nil {
		return nil, err
	}
	defer pc.kill()
	rep := &FailoverReport{Stop: cfg.Stop, SessionTimeout: "broker default", ClientBackoff: "kgo default"}
	if cfg.SessionTimeout > 0 {
		rep.SessionTimeout = cfg.SessionTimeout.String()
	}
	if cfg.ClientBackoff > 0 {
		rep.ClientBackoff = cfg.ClientBackoff.String()
	}
	err = runKills(ctx, cfg, pc, rep)
	rep.quantiles()
	if serr := pc.stop(); err == nil && serr != nil {
		err = fmt.Errorf("bench: stop brokers: %w", serr)
	}
	return rep, err
}

// runKills creates the topic, starts the producer and runs the cycles.
func runKills(ctx context.Context, cfg FailoverConfig, pc *procCluster, rep *FailoverReport) error {
	admin, err := kgo.NewClient(kgo.SeedBrokers(pc.seeds()...), kgo.ClientID("pitwall-bench-admin"))
	if err != nil {
		return err
	}
	if _, err := ensureTopic(ctx, admin, failoverTopic, 1, 3); err != nil {
		admin.Close()
		return err
	}
	admin.Close()
	if err := pc.waitTopic(ctx, failoverTopic, 3); err != nil {
		return err
	}
	p, err := startFailoverProducer(ctx, cfg, pc.seeds())
	if err != nil {
		return err
	}
	defer p.close()
	for i := range cfg.Kills {
		k, err := killCycle(ctx, cfg, pc, p)
		if err != nil {
			return fmt.Errorf("bench: kill %d: %w", i+1, err)
		}
		cfg.Logger.Info("bench: failover", "kill", i+1, "leader", k.Leader, "controller", k.Controller,
			"successor", k.Successor, "seconds", k.Seconds, "rejoin_s", k.Rejoin)
		rep.Kills = append(rep.Kills, k)
	}
	return p.failed()
}

// killCycle waits for a whole ISR and acknowledgements flowing, kills the
// leader, times the failover, restarts the killed broker and waits for
// its return to the ISR.
func killCycle(ctx context.Context, cfg FailoverConfig, pc *procCluster, p *failoverProducer) (Kill, error) {
	var k Kill
	if err := pc.waitTopic(ctx, failoverTopic, 3); err != nil {
		return k, err
	}
	if _, err := p.ackAfter(ctx, time.Now()); err != nil {
		return k, fmt.Errorf("before the kill: %w", err)
	}
	leader, controller, err := pc.leaderOf(ctx, failoverTopic)
	if err != nil {
		return k, err
	}
	k.Leader, k.Controller = leader, leader == controller
	i := pc.index(leader)
	if i < 0 {
		return k, fmt.Errorf("leader %d is not one of the brokers", leader)
	}
	cfg.Logger.Info("bench: stopping the leader", "broker", leader, "controller", k.Controller, "stop", cfg.Stop)
	killed := time.Now()
	p.watch(killed)
	if cfg.Stop == StopTerm {
		if err := pc.stopNode(i); err != nil {
			return k, fmt.Errorf("stopping broker %d: %w", leader, err)
		}
	} else {
		pc.killNode(i)
	}
	elected := make(chan time.Time, 1)
	go func() { elected <- pc.waitLeaderMoved(ctx, (i+1)%len(pc.nodes), leader) }()
	acked, err := p.ackAfter(ctx, time.Now())
	at := <-elected
	if err != nil {
		return k, fmt.Errorf("after killing broker %d: %w", leader, err)
	}
	k.Seconds = acked.Sub(killed).Seconds()
	k.Wait = p.longestWait().Seconds()
	if !at.IsZero() {
		k.Elected = at.Sub(killed).Seconds()
	}
	if k.Successor, _, err = pc.leaderOf(ctx, failoverTopic); err != nil {
		return k, err
	}
	if k.Successor == leader {
		return k, fmt.Errorf("broker %d still leads after its kill", leader)
	}
	restarted := time.Now()
	if err := pc.start(i); err != nil {
		return k, err
	}
	if err := pc.waitTopic(ctx, failoverTopic, 3); err != nil {
		return k, fmt.Errorf("broker %d back in the ISR: %w", leader, err)
	}
	k.Rejoin = time.Since(restarted).Seconds()
	return k, nil
}

// waitLeaderMoved polls node i's Metadata until it names a leader of
// failoverTopic other than old, and returns when; the zero time if the
// wait ends first.
func (pc *procCluster) waitLeaderMoved(ctx context.Context, i int, old int32) time.Time {
	deadline := time.Now().Add(failoverWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		m, err := pc.metadata(ctx, i, failoverTopic)
		if err == nil && len(m.Topics) == 1 && len(m.Topics[0].Partitions) == 1 {
			if l := m.Topics[0].Partitions[0].Leader; l >= 0 && l != old {
				return time.Now()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Time{}
}

// leaderOf returns topic's partition 0 leader and the active controller
// as the first running broker sees them.
func (pc *procCluster) leaderOf(ctx context.Context, topic string) (leader, controller int32, err error) {
	for i, nd := range pc.nodes {
		if nd.proc == nil {
			continue
		}
		m, err := pc.metadata(ctx, i, topic)
		if err != nil {
			return -1, -1, err
		}
		if len(m.Topics) != 1 || len(m.Topics[0].Partitions) != 1 {
			return -1, -1, fmt.Errorf("broker %d: no partition 0 of %s", nd.id, topic)
		}
		return m.Topics[0].Partitions[0].Leader, m.ControllerID, nil
	}
	return -1, -1, errors.New("no broker running")
}

// failoverProducer produces a record every Interval and tells when the
// first record produced after a given time is acknowledged.
type failoverProducer struct {
	cl   *kgo.Client
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	after time.Time      // a record produced at or after it ...
	acked chan time.Time // ... sends its acknowledgement time here, once
	// since: the records produced from then on count in longest, the
	// longest any of them waited for its acknowledgement.
	since   time.Time
	longest time.Duration
	err     error // the first produce error
}

func startFailoverProducer(ctx context.Context, cfg FailoverConfig, seeds []string) (*failoverProducer, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID("pitwall-bench-failover"),
		kgo.DefaultProduceTopic(failoverTopic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordRetries(1 << 30), // until the context ends: a failover is no error
		// A broker killed just after the client connected closes before
		// its first answer; franz-go takes that for missing SASL and
		// would not retry without this.
		kgo.AlwaysRetryEOF(),
	}
	if b := cfg.ClientBackoff; b > 0 {
		opts = append(opts, kgo.RetryBackoffFn(func(int) time.Duration { return b }), kgo.MetadataMinAge(b))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	p := &failoverProducer{cl: cl, stop: make(chan struct{}), done: make(chan struct{})}
	go p.loop(ctx, cfg.Interval)
	return p, nil
}

func (p *failoverProducer) loop(ctx context.Context, every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	value := make([]byte, 100)
	for n := 0; ; n++ {
		produced := time.Now()
		p.cl.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(n)), Value: value}, func(_ *kgo.Record, err error) {
			p.promise(produced, err)
		})
		select {
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *failoverProducer) promise(produced time.Time, err error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.since.IsZero() && !produced.Before(p.since) {
		p.longest = max(p.longest, now.Sub(produced))
	}
	if err != nil {
		if p.err == nil && !errors.Is(err, context.Canceled) {
			p.err = err
		}
		return
	}
	if p.acked != nil && !produced.Before(p.after) {
		p.acked <- now // buffered, one
		p.acked = nil
	}
}

// watch starts recording the longest wait for an acknowledgement of the
// records produced from t on.
func (p *failoverProducer) watch(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.since, p.longest = t, 0
}

// longestWait returns the longest wait recorded since watch. Called once
// a record produced later was acknowledged: one partition, acknowledged
// in order, so every record before it has been.
func (p *failoverProducer) longestWait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.since = time.Time{}
	return p.longest
}

// ackAfter waits for the acknowledgement of the first record produced
// at or after t and returns when it came.
func (p *failoverProducer) ackAfter(ctx context.Context, t time.Time) (time.Time, error) {
	ch := make(chan time.Time, 1)
	p.mu.Lock()
	p.after, p.acked = t, ch
	p.mu.Unlock()
	timeout := time.NewTimer(failoverWait)
	defer timeout.Stop()
	select {
	case at := <-ch:
		return at, nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	case <-timeout.C:
		return time.Time{}, errors.Join(fmt.Errorf("no record acknowledged within %v", failoverWait), p.failed())
	}
}

func (p *failoverProducer) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("bench: produce: %w", p.err)
	}
	return nil
}

func (p *failoverProducer) close() {
	close(p.stop)
	<-p.done
	p.cl.Close()
}

func (r *FailoverReport) quantiles() {
	if len(r.Kills) == 0 {
		return
	}
	qs := func(v func(Kill) float64) (p50, p99, top float64) {
		s := make([]float64, len(r.Kills))
		for i, k := range r.Kills {
			s[i] = v(k)
		}
		slices.Sort(s)
		q := func(f float64) float64 { return s[min(int(f*float64(len(s))), len(s)-1)] }
		return q(0.50), q(0.99), s[len(s)-1]
	}
	r.P50, r.P99, r.Max = qs(func(k Kill) float64 { return k.Seconds })
	r.WaitP50, r.WaitP99, r.WaitMax = qs(func(k Kill) float64 { return k.Wait })
}

// WriteJSON writes r as one indented JSON document.
func (r *FailoverReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints one row per kill and the quantiles.
func (r *FailoverReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "pitwall bench failover: 3 brokers, RF=3, acks=all, leaders stopped with %s, session timeout %s, client backoff %s\n", stopSignal(r.Stop), r.SessionTimeout, r.ClientBackoff)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kill\tleader\tcontroller\tsuccessor\telected s\tfailover s\tlongest wait s\trejoin s\t")
	for i, k := range r.Kills {
		fmt.Fprintf(tw, "%d\t%d\t%v\t%d\t%.3f\t%.3f\t%.3f\t%.2f\t\n", i+1, k.Leader, k.Controller, k.Successor, k.Elected, k.Seconds, k.Wait, k.Rejoin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "failover over %d kills: p50 %.3f s, p99 %.3f s, max %.3f s; a record's longest wait: p50 %.3f s, p99 %.3f s, max %.3f s\n",
		len(r.Kills), r.P50, r.P99, r.Max, r.WaitP50, r.WaitP99, r.WaitMax)
	return err
}

func stopSignal(stop string) string {
	if stop == StopTerm {
		return "SIGTERM"
	}
	return "SIGKILL"
}
