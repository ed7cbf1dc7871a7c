package bench

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/pitwall/pitwall/broker"
)

// startEmbedded starts a Pitwall broker in this process on 127.0.0.1:0, in
// cfg.DataDir or a fresh temporary directory that stop removes again.
func startEmbedded(ctx context.Context, cfg Config) (*target, error) {
	dir, cleanup := cfg.DataDir, func() error { return nil }
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pitwall-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: data dir: %w", err)
		}
		dir, cleanup = tmp, func() error { return os.RemoveAll(tmp) }
	}
	srv, err := broker.New(broker.Config{
		Listen:     "127.0.0.1:0",
		DataDir:    dir,
		Fsync:      cfg.Fsync,
		Partitions: cfg.Partitions,
		Logger:     cfg.Logger,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: start embedded broker: %w", err), cleanup())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.WithoutCancel(ctx)) }()
	stop := func() error {
		cerr := srv.Close()
		serr := <-done
		return errors.Join(cerr, serr, cleanup())
	}
	return &target{name: TargetPitwall, seeds: []string{srv.Addr()}, stop: stop}, nil
}
