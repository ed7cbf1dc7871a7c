package bench

import (
	"context"
	"errors"
)

// startEmbedded is a placeholder until the broker package builds.
func startEmbedded(ctx context.Context, cfg Config) (*target, error) {
	return nil, errors.New("bench: embedded broker not available yet; pass --brokers")
}
