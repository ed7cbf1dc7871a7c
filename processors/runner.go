package processors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/admin"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/telemetry/partitioner"
)

// Run consumes telemetry in the consumer group cfg.Group until ctx ends
// (a clean stop: marked offsets are committed on the way out).
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	// Three clients, because sarama sends one request at a time on a
	// broker connection (MaxOpenRequests 1, which the idempotent producer
	// needs): on one shared connection, every idle long-poll fetch of the
	// catalogs tail held the group's fetches, heartbeats and commits and
	// the laps produce back by up to Consumer.MaxWaitTime.
	client, err := newClient(ctx, cfg, false)
	if err != nil {
		return stopped(ctx, err)
	}
	defer client.Close()
	catClient, err := newClient(ctx, cfg, false)
	if err != nil {
		return stopped(ctx, err)
	}
	defer catClient.Close()
	prodClient, err := newClient(ctx, cfg, true)
	if err != nil {
		return stopped(ctx, err)
	}
	defer prodClient.Close()
	ensureTopics(client, cfg)
	r := &runner{cfg: cfg, client: client, codec: telemetry.MustNewCodec(), cats: newCatalogs(),
		bad: &badInput{log: cfg.Logger, counts: map[string]int64{}}, ignored: newTally(), best: map[string]int64{}}
	if cfg.Influx != nil {
		if r.influx, err = influx.New(*cfg.Influx); err != nil {
			return err
		}
		defer r.influx.Close()
		r.health = newInfluxHealth(r.influx, cfg.Logger)
		if err := r.health.prepare(ctx); err != nil {
			return err
		}
		r.writer = newInfluxWriter(r.health, cfg)
		defer r.writer.close() // after the group: every claim has ended
	}
	if r.producer, err = sarama.NewSyncProducerFromClient(prodClient); err != nil {
		return fmt.Errorf("processors: laps producer: %w", err)
	}
	defer r.producer.Close()
	if r.live, err = newLiveOut(ctx, cfg, r.bad); err != nil {
		return stopped(ctx, fmt.Errorf("processors: live producer: %w", err))
	}
	if r.live != nil {
		defer r.live.close()
	}
	group, err := sarama.NewConsumerGroupFromClient(cfg.Group, client)
	if err != nil {
		return fmt.Errorf("processors: group %s: %w", cfg.Group, err)
	}
	defer group.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.fail = func(err error) { cancel(&fatalError{err}) }
	defer r.bad.summary()
	defer r.ignored.summary(cfg.Logger, "processors: line crossings ignored, by reason")
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.cats.tail(ctx, catClient, r.codec, r.bad); err != nil {
			r.fail(err)
		}
	}()
	if cfg.Influx != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runPipelineStats(ctx, r)
		}()
	}
	waiting := false
	for ctx.Err() == nil {
		err := group.Consume(ctx, []string{telemetry.TopicFrames}, r)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, sarama.ErrClosedConsumerGroup):
			return failure(ctx)
		case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
			if !waiting {
				cfg.Logger.Warn("processors: waiting for topic "+telemetry.TopicFrames+" (no edge has produced yet?); retrying until it exists", "err", err)
				waiting = true
			}
			sleep(ctx, time.Second)
		default:
			cfg.Logger.Warn("processors: group session ended", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return failure(ctx)
}

// fatalError is a failure that ends Run (runner.fail), as opposed to
// the caller's context ending, which is a clean stop.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// failure returns the error that ended ctx if it was a failure, nil for
// a clean stop.
func failure(ctx context.Context) error {
	var f *fatalError
	if errors.As(context.Cause(ctx), &f) {
		return f.err
	}
	return nil
}

// newClient connects a sarama client; a producer's is idempotent (one
// request in flight), a consumer's polls with a short MaxWaitTime. A
// broker that is not up yet is waited for, as the edge waits and spools:
// the processor may start first.
func newClient(ctx context.Context, cfg Config, producer bool) (sarama.Client, error) {
	sc := saramaConfig(cfg, producer)
	wait, logged := 500*time.Millisecond, false
	for {
		client, err := sarama.NewClient(cfg.Brokers, sc)
		if err == nil {
			if logged {
				cfg.Logger.Info("processors: connected", "brokers", cfg.Brokers)
			}
			return client, nil
		}
		if !errors.Is(err, sarama.ErrOutOfBrokers) {
			return nil, fmt.Errorf("processors: connect %v: %w", cfg.Brokers, err)
		}
		if !logged {
			cfg.Logger.Warn("processors: no broker reachable yet; retrying until one answers", "brokers", cfg.Brokers, "err", err)
			logged = true
		}
		if !sleep(ctx, wait) {
			return nil, ctx.Err()
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// saramaConfig is the consumer's or the producer's configuration, with
// TLS and SASL as cfg.Security says. Security was checked by withDefaults;
// a file that has gone since is logged, and the connection then fails.
func saramaConfig(cfg Config, producer bool) *sarama.Config {
	sc := sarama.NewConfig()
	if err := cfg.Security.Sarama(sc); err != nil {
		cfg.Logger.Error("processors: TLS/SASL settings", "err", err)
	}
	sc.ClientID = "pitwall-process"
	sc.MetricRegistry = nilMetrics{}
	sc.Version = sarama.V2_8_0_0
	sc.Metadata.AllowAutoTopicCreation = false
	if producer {
		sc.Producer.Partitioner = partitioner.New
		sc.Producer.RequiredAcks = sarama.WaitForAll
		sc.Producer.Idempotent = true
		sc.Producer.Return.Successes = true
		sc.Producer.Retry.Max = 10
		sc.Net.MaxOpenRequests = 1
		return sc
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	sc.Consumer.Return.Errors = false
	sc.Consumer.Group.Session.Timeout = cfg.SessionTimeout
	sc.Consumer.Group.Heartbeat.Interval = cfg.SessionTimeout / 5
	sc.Consumer.Group.Rebalance.Timeout = 2 * cfg.SessionTimeout
	// A fetch with nothing to return holds the connection (heartbeats,
	// commits) this long; closing a partition consumer waits for it too.
	sc.Consumer.MaxWaitTime = 100 * time.Millisecond
	return sc
}

// ensureTopics creates the topics the processor writes, telemetry.laps,
// telemetry.deadletter, telemetry.live and (with alarms)
// telemetry.alarms, as telemetry.Topics says unless they exist.
func ensureTopics(client sarama.Client, cfg Config) {
	laps, _ := telemetry.Topic(telemetry.TopicLaps)
	dead, _ := telemetry.Topic(telemetry.TopicDeadLetter)
	live, _ := telemetry.Topic(telemetry.TopicLive)
	specs := []telemetry.TopicSpec{laps, dead, live}
	if cfg.Alarms != nil {
		alarms, _ := telemetry.Topic(telemetry.TopicAlarms)
		specs = append(specs, alarms)
	}
	if err := admin.EnsureTopics(client, specs...); err != nil {
		cfg.Logger.Warn("processors: cannot create topics", "err", err)
	}
}

// runner is the sarama.ConsumerGroupHandler: one ConsumeClaim goroutine
// (started by sarama) per claimed partition.
type runner struct {
	cfg      Config
	client   sarama.Client
	codec    *telemetry.Codec
	cats     *catalogs
	bad      *badInput
	influx   *influx.Writer
	health   *influxHealth // nil without InfluxDB
	writer   *influxWriter // nil without InfluxDB
	producer sarama.SyncProducer
	live     *liveOut    // nil: no telemetry.live records
	fail     func(error) // ends Run with the error (a failure, not a stop)
	ignored  *tally      // line crossings the detectors ignored, by reason

	// claimed is what Setup read for the group session's claims; the
	// ConsumeClaim goroutines (started after Setup) only read it.
	claimed *claimState

	// positions maps each partition claimed now (int32) to its
	// *atomic.Int64: the offset after the last record handled, which the
	// pipeline stats read for the consumer lag.
	positions sync.Map
	// member is the group member id of the current session (Setup).
	member atomic.Pointer[string]

	mu   sync.Mutex
	best map[string]int64 // session → best valid lap time seen, for delta_session_best
}

// claimState is read once per group session, for all its claims: one
// offset fetch and one pass over telemetry.laps instead of one per
// partition (which took seconds per rebalance).
type claimState struct {
	meta  map[int32]string           // partition → committed offset metadata
	known map[string][]telemetry.Lap // car → laps already on telemetry.laps
	parts int32                      // telemetry's partition count (0: unknown)
}

// Setup reads the committed metadata and the published laps of the
// session's partitions.
func (r *runner) Setup(sess sarama.ConsumerGroupSession) error {
	parts := sess.Claims()[telemetry.TopicFrames]
	id := sess.MemberID()
	r.member.Store(&id)
	st := &claimState{parts: int32(len(r.partitionsOf(telemetry.TopicFrames)))}
	var err error
	if st.meta, err = r.committedMetadata(telemetry.TopicFrames, parts); err != nil {
		return err
	}
	mine := map[int32]bool{}
	for _, p := range parts {
		mine[p] = true
	}
	st.known, err = readLaps(sess.Context(), r.client, r.codec, r.bad, r.cfg.Group, func(c string) bool {
		return st.parts == 0 || mine[telemetry.Partition([]byte(c), st.parts)]
	})
	if err != nil {
		return err
	}
	r.claimed = st
	return nil
}

func (r *runner) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (r *runner) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	p, err := r.newPartition(sess, claim)
	if err != nil {
		return err
	}
	r.positions.Store(p.id, p.pos)
	defer r.positions.CompareAndDelete(p.id, p.pos)
	tick := newFlushClock(r.cfg.FlushInterval)
	defer tick.stop()
	ctx := sess.Context()
	if r.writer != nil {
		p.w = r.writer.partition(p.id, p.mk)
		defer p.w.close() // before the claim ends: no mark after it
	}
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return p.end(ctx)
			}
			if err := p.handle(ctx, m); err != nil {
				return err
			}
			if len(p.batch) >= r.cfg.FlushBytes {
				if err := p.flush(ctx, true); err != nil {
					return err
				}
			}
		case <-tick.C:
			tick.fired()
			if err := p.flush(ctx, false); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// sessionBest records a valid lap and returns the session's best before it.
func (r *runner) sessionBest(session string, lapNs int64, valid bool) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	best, ok := r.best[session]
	if valid && (!ok || lapNs < best) {
		r.best[session] = lapNs
	}
	return best, ok
}

// stopped turns an error caused by ctx ending (Ctrl-C while waiting for
// a broker) into a clean stop.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// retry runs fn until it succeeds or ctx ends, backing off up to 5 s.
func retry(ctx context.Context, what string, r *runner, fn func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err() // the session ended (a rebalance): not a failure to report
		}
		r.bad.report(what, err)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
