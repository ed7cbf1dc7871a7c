package up

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrBadLap reports a record on telemetry.laps that does not decode.
var ErrBadLap = errors.New("up: bad lap record")

// lapTail reads telemetry.laps and hands on the laps of one session and
// consumer group.
type lapTail struct {
	connect func() (sarama.Client, error)
	group   string
	session string
	log     *slog.Logger

	mu  sync.Mutex
	bad map[string]int64 // reason → count; logged on the first of each
}

// run reads every partition of telemetry.laps from its oldest record and
// sends the matching laps to out until ctx ends. It waits for the topic
// (the lap processor creates it) instead of creating it.
func (t *lapTail) run(ctx context.Context, out chan<- telemetry.Lap) error {
	client, err := t.connect()
	if err != nil {
		return err
	}
	defer client.Close()
	parts, err := waitPartitions(ctx, client, telemetry.TopicLaps)
	if err != nil || ctx.Err() != nil {
		return err
	}
	codec := telemetry.MustNewCodec()
	err = topicread.Follow(ctx, client, telemetry.TopicLaps, topicread.Config{Partitions: parts}, func(m *sarama.ConsumerMessage) {
		t.forward(ctx, codec, m, out)
	})
	if err != nil {
		return fmt.Errorf("up: board: %w", err)
	}
	return nil
}

// waitPartitions polls the topic's metadata until it exists.
func waitPartitions(ctx context.Context, client sarama.Client, topic string) ([]int32, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := client.RefreshMetadata(topic); err == nil {
			if parts, err := client.Partitions(topic); err == nil && len(parts) > 0 {
				return parts, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-tick.C:
		}
	}
}

// forward sends m on out if it is a lap of this run, waiting for out
// until ctx ends.
func (t *lapTail) forward(ctx context.Context, codec *telemetry.Codec, m *sarama.ConsumerMessage, out chan<- telemetry.Lap) {
	var l telemetry.Lap
	if !processors.FromGroup(m, t.group) {
		return
	}
	if err := codec.DecodeLap(m.Value, &l); err != nil {
		t.badLap("decode", err)
		return
	}
	if err := l.Validate(); err != nil {
		t.badLap("invalid", err)
		return
	}
	if l.Session != t.session {
		return
	}
	select {
	case out <- l:
	case <-ctx.Done():
	}
}

// badLap counts a record that is no lap and logs the first of each kind.
func (t *lapTail) badLap(reason string, err error) {
	t.mu.Lock()
	t.bad[reason]++
	n := t.bad[reason]
	t.mu.Unlock()
	if n == 1 {
		t.log.Warn("up: skipping records on "+telemetry.TopicLaps+" that are no laps (logged once)",
			"reason", reason, "err", fmt.Errorf("%w: %w", ErrBadLap, err))
	}
}
