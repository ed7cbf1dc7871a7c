package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// ConnectTimeout bounds how long Connect waits for a cluster to answer
// its first metadata request.
const ConnectTimeout = 15 * time.Second

// ErrNoAnswer reports brokers that accepted the connection but did not
// answer in ConnectTimeout (a wrong port, a proxy, a hung broker).
var ErrNoAnswer = fmt.Errorf("admin: no answer within %v (is that a Kafka broker?)", ConnectTimeout)

// Connect is sarama.NewClient that gives up when ctx ends (Ctrl-C) or
// after ConnectTimeout: sarama takes no context, and against an address
// that accepts connections but never answers it blocks for its read
// timeout times its retries (minutes). The abandoned attempt is closed
// when it finishes in the background.
func Connect(ctx context.Context, seeds []string, cfg *sarama.Config) (sarama.Client, error) {
	type result struct {
		client sarama.Client
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(seeds, cfg)
		done <- result{c, err}
	}()
	timer := time.NewTimer(ConnectTimeout)
	defer timer.Stop()
	var err error
	select {
	case r := <-done:
		return r.client, r.err
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = ErrNoAnswer
	}
	go func() {
		if r := <-done; r.client != nil {
			r.client.Close()
		}
	}()
	return nil, err
}
