package main

import (
	"context"
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

// runBench is `pitwall bench produce|consume [flags]`: see internal/bench.
func runBench(ctx context.Context, args []string) error {
	return benchMain(ctx, args, os.Stdout, os.Stderr)
}

func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
