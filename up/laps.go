package up

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrBadLap reports a record on telemetry.laps that does not decode.
var ErrBadLap = errors.New("up: bad lap record")

// lapTail reads telemetry.laps and hands on the laps of one session and
// consumer group.
type lapTail struct {
	brokers []string
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
	sc := sarama.NewConfig()
	sc.ClientID = "pitwall-up-board"
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	client, err := sarama.NewClient(t.brokers, sc)
	if err != nil {
		return fmt.Errorf("up: board: connect %v: %w", t.brokers, err)
	}
	defer client.Close()
	parts, err := waitPartitions(ctx, client, telemetry.TopicLaps)
	if err != nil || ctx.Err() != nil {
		return err
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("up: board: %w", err)
	}
	defer cons.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, p := range parts {
		pc, err := cons.ConsumePartition(telemetry.TopicLaps, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("up: board: partition %d: %w", p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.partition(ctx, pc, out)
		}()
	}
	<-ctx.Done()
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

// partition forwards one partition's laps until ctx ends, then closes pc.
func (t *lapTail) partition(ctx context.Context, pc sarama.PartitionConsumer, out chan<- telemetry.Lap) {
	defer pc.Close()
	codec := telemetry.MustNewCodec()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-pc.Messages():
			var l telemetry.Lap
			if !fromGroup(m, t.group) {
				continue
			}
			if err := codec.DecodeLap(m.Value, &l); err != nil {
				t.badLap("decode", err)
				continue
			}
			if err := l.Validate(); err != nil {
				t.badLap("invalid", err)
				continue
			}
			if l.Session != t.session {
				continue
			}
			select {
			case out <- l:
			case <-ctx.Done():
				return
			}
		}
	}
}

func fromGroup(m *sarama.ConsumerMessage, group string) bool {
	for _, h := range m.Headers {
		if string(h.Key) == processors.HeaderGroup {
			return string(h.Value) == group
		}
	}
	return false
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
