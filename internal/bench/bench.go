package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Run measures cfg.Workload against the broker under test (cfg.Brokers, or
// an embedded Pitwall broker when that is empty), then, unless cfg.Peer is
// "none", runs the identical workload against an in-process kfake, and
// returns both results side by side.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := newReport(cfg)
	starters := []func() (*target, error){func() (*target, error) { return startUnderTest(ctx, cfg) }}
	switch cfg.Peer {
	case PeerKfake:
		starters = append(starters, startKfake)
	case PeerSingle: // one broker process, the peer of a cluster
		starters = append(starters, func() (*target, error) { return procTarget(ctx, cfg, TargetSingle, 1) })
	case PeerPlaintext: // the same embedded broker, on PLAINTEXT, in a fresh dir
		plain := cfg
		plain.Security, plain.DataDir = SecurityPlaintext, ""
		starters = append(starters, func() (*target, error) { return startEmbedded(ctx, plain) })
	}
	for _, start := range starters {
		res, err := measure(ctx, cfg, start)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, res)
	}
	rep.computeRatio()
	return rep, nil
}

func startUnderTest(ctx context.Context, cfg Config) (*target, error) {
	if cfg.Brokers != "" {
		return external(cfg)
	}
	if cfg.Cluster > 0 {
		return procTarget(ctx, cfg, TargetCluster, cfg.Cluster)
	}
	return startEmbedded(ctx, cfg)
}

// measure starts one target, runs the workload against it and stops it.
func measure(ctx context.Context, cfg Config, start func() (*target, error)) (res Result, err error) {
	t, err := start()
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if serr := t.stop(); serr != nil && err == nil {
			err = fmt.Errorf("bench: stop %s: %w", t.name, serr)
		}
	}()
	cfg.Logger.Info("bench: running", "target", t.name, "brokers", t.seeds, "workload", cfg.Workload)
	res, err = runWorkload(ctx, cfg, t)
	if err != nil {
		return Result{}, fmt.Errorf("%s at %s: %w", t.name, t.seeds[0], err)
	}
	res.Target = t.name
	res.Addr = t.seeds[0]
	return res, nil
}

// runWorkload creates the topic and runs the produce pass, and for Consume
// the read-back pass over exactly what the produce pass wrote.
// Every client connects with conn: t's seeds, then its security options.
func runWorkload(ctx context.Context, cfg Config, t *target) (Result, error) {
	if len(t.seeds) == 0 {
		return Result{}, errors.New("bench: no broker address")
	}
	conn := append([]kgo.Opt{kgo.SeedBrokers(t.seeds...)}, t.opts...)
	admin, err := kgo.NewClient(append([]kgo.Opt{kgo.ClientID("pitwall-bench-admin")}, conn...)...)
	if err != nil {
		return Result{}, fmt.Errorf("bench: admin client: %w", err)
	}
	defer admin.Close()
	parts, err := ensureTopic(ctx, admin, cfg.Topic, cfg.Partitions, max(t.rf, 1))
	if err != nil {
		return Result{}, err
	}
	if t.ready != nil {
		if err := t.ready(ctx, cfg.Topic); err != nil {
			return Result{}, err
		}
	}
	var before map[int32]int64
	if cfg.Workload == Consume {
		if before, err = endOffsets(ctx, admin, cfg.Topic, parts); err != nil {
			return Result{}, err
		}
	}
	var prod phase
	if cfg.Client == ClientRaw {
		prod, err = runProduceRaw(ctx, cfg, admin)
	} else {
		prod, err = runProduce(ctx, cfg, conn)
	}
	if err != nil {
		return Result{}, err
	}
	res := resultOf(prod)
	res.Partitions = parts
	if cfg.Workload == Produce {
		return res, nil
	}
	after, err := waitEndOffsets(ctx, cfg, admin, parts, before, prod.records)
	if err != nil {
		return Result{}, err
	}
	spans := make(map[int32]span, parts)
	for p, to := range after {
		spans[p] = span{from: before[p], to: to}
	}
	cons, err := runConsume(ctx, cfg, conn, spans)
	if err != nil {
		return Result{}, err
	}
	fill := res
	res = resultOf(cons)
	res.Partitions = parts
	res.Fill = &fill
	return res, nil
}

// hwmWaitTimeout bounds how long the consume pass waits for the high
// watermarks to cover every record the fill had acknowledged.
const hwmWaitTimeout = 10 * time.Second

// waitEndOffsets returns the end offsets once they cover the records the
// fill had acknowledged: a broker may acknowledge acks=1 before its high
// watermark (what ListOffsets reports) moves, for example until an fsync.
// After hwmWaitTimeout it returns what it has; with acks=0 a broker may
// rightly have fewer.
func waitEndOffsets(ctx context.Context, cfg Config, admin *kgo.Client, parts int, before map[int32]int64, want int64) (map[int32]int64, error) {
	deadline := time.Now().Add(hwmWaitTimeout)
	for {
		after, err := endOffsets(ctx, admin, cfg.Topic, parts)
		if err != nil {
			return nil, err
		}
		var have int64
		for p, o := range after {
			have += o - before[p]
		}
		if have >= want || time.Now().After(deadline) {
			if have < want {
				cfg.Logger.Warn("bench: high watermarks cover fewer records than were acknowledged", "have", have, "acknowledged", want)
			}
			return after, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
