package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/pitwall/pitwall/internal/bench"
)

// generatorGOGC is the GC percent of a bench run against --brokers: the
// load generator allocates a request buffer per produce request (kgo's
// buffer pool empties on every GC), and at the default of 100 it spends
// about half again as much CPU per MB. Against the embedded broker the
// default stays, so the broker is measured as `pitwall broker` runs.
const generatorGOGC = 400

// runBench is `pitwall bench produce|consume|partitions|pipeline|web|failover [flags]`: see
// internal/bench.
func runBench(ctx context.Context, args []string) error {
	return benchMain(ctx, args, os.Stdout, os.Stderr)
}

func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "partitions" {
		return benchPartitions(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "pipeline" {
		return benchPipeline(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "web" {
		return benchWeb(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "failover" {
		return benchFailover(ctx, args[1:], stdout, stderr)
	}
	opts, err := bench.ParseArgs(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if opts.Verbose {
		level = slog.LevelInfo
	}
	opts.Config.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if _, set := os.LookupEnv("GOGC"); opts.Config.Brokers != "" && !set {
		defer debug.SetGCPercent(debug.SetGCPercent(generatorGOGC))
	}
	rep, err := bench.Run(ctx, opts.Config)
	if err != nil {
		return err
	}
	if opts.JSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}

// benchPartitions is `pitwall bench partitions [flags]`: the broker's idle
// cost and restart time as partitions grow (internal/bench/partitions.go).
func benchPartitions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := bench.ParsePartitionsArgs(args, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rs, err := bench.RunPartitions(ctx, cfg)
	if len(rs) > 0 {
		if werr := bench.WritePartitionsTable(stdout, rs); err == nil {
			err = werr
		}
	}
	return err
}

// benchPipeline is `pitwall bench pipeline [flags]`: the whole pipeline
// under a race weekend's load (internal/bench/pipeline.go). With --stage
// it is one of the run's stage processes, started by the run itself.
func benchPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if bench.IsStage(args) {
		return bench.RunStage(ctx, args, os.Stdin, stdout, stderr)
	}
	opts, err := bench.ParsePipelineArgs(args, stderr)
	if err != nil {
		return err
	}
	opts.Config.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var reps []*bench.PipelineReport
	for i, cars := range opts.Cars {
		cfg := opts.Config
		cfg.Cars = cars
		rep, err := bench.RunPipeline(ctx, cfg)
		if err != nil {
			return err
		}
		reps = append(reps, rep)
		if opts.JSON {
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		if err := rep.WriteTable(stdout); err != nil {
			return err
		}
	}
	if opts.JSON {
		if len(reps) == 1 {
			return reps[0].WriteJSON(stdout)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reps)
	}
	if len(reps) > 1 {
		if best := bench.HighestKeptUp(reps); best != nil {
			fmt.Fprintf(stdout, "\nhighest rate kept up: %d cars, %.0f samples/s\n", best.Cars, best.Nominal)
		} else {
			fmt.Fprintln(stdout, "\nhighest rate kept up: none of these")
		}
	}
	return nil
}

// benchWeb is `pitwall bench web [flags]`: the pit wall page under
// `pitwall up` with many cars, measured in headless Chromium
// (internal/bench/web.go).
func benchWeb(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := bench.ParseWebArgs(args, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err := bench.RunWeb(ctx, cfg)
	if err != nil {
		return err
	}
	return bench.WriteWebTable(stdout, res)
}

// benchFailover is `pitwall bench failover [flags]`: leader failover
// times of a 3-broker cluster under acks=all
// (internal/bench/cluster_failover.go).
func benchFailover(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := bench.ParseFailoverArgs(args, stderr)
	if err != nil {
		return err
	}
	opts.Config.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rep, err := bench.RunFailover(ctx, opts.Config)
	if rep != nil && len(rep.Kills) > 0 {
		werr := rep.WriteTable(stdout)
		if opts.JSON {
			werr = rep.WriteJSON(stdout)
		}
		if err == nil {
			err = werr
		}
	}
	return err
}
