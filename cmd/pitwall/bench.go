package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/pitwall/pitwall/internal/bench"
)

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
	rep, err := bench.Run(ctx, opts.Config)
	if err != nil {
		return err
	}
	if opts.JSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout)
}
