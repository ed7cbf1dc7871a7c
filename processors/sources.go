package processors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/telemetry"
)

// catalogs tails telemetry.channels (compacted, keyed by car) and keeps
// every car's latest ChannelCatalog.
type catalogs struct {
	mu      sync.Mutex
	byCar   map[string]*telemetry.ChannelCatalog
	changed chan struct{} // closed and replaced on every new catalog
}

func newCatalogs() *catalogs {
	return &catalogs{byCar: map[string]*telemetry.ChannelCatalog{}, changed: make(chan struct{})}
}

func (c *catalogs) put(cat *telemetry.ChannelCatalog) {
	c.mu.Lock()
	c.byCar[cat.Car] = cat
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// wait returns car's catalog, waiting for it until ctx ends.
func (c *catalogs) wait(ctx context.Context, car string) (*telemetry.ChannelCatalog, error) {
	for {
		c.mu.Lock()
		cat, ch := c.byCar[car], c.changed
		c.mu.Unlock()
		if cat != nil {
			return cat, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tail reads every partition of telemetry.channels from the oldest record
// until ctx ends.
func (c *catalogs) tail(ctx context.Context, client sarama.Client, codec *telemetry.Codec, bad *badInput) error {
	err := topicread.Follow(ctx, client, telemetry.TopicChannels, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		var cat telemetry.ChannelCatalog
		if err := codec.DecodeCatalog(m.Value, &cat); err != nil {
			bad.report("catalog", err)
			return
		}
		c.put(&cat)
	})
	if err != nil {
		return fmt.Errorf("processors: catalogs: %w", err)
	}
	return nil
}

// readLaps reads every lap published on telemetry.laps up to the high
// watermarks at the time of the call, for the cars keep accepts.
func readLaps(ctx context.Context, client sarama.Client, codec *telemetry.Codec, bad *badInput, group string, keep func(car string) bool) (map[string][]telemetry.Lap, error) {
	var mu sync.Mutex // the partitions are read at once; a car is on one
	out := map[string][]telemetry.Lap{}
	err := topicread.ReadToEnd(ctx, client, telemetry.TopicLaps, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		var l telemetry.Lap
		if !FromGroup(m, group) {
			return // another group's laps (reprocessing): not ours to dedupe against
		}
		if err := codec.DecodeLap(m.Value, &l); err != nil {
			bad.report("lap", err)
			return
		}
		if keep(l.Car) {
			mu.Lock()
			out[l.Car] = append(out[l.Car], l)
			mu.Unlock()
		}
	})
	switch {
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		return out, nil
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("processors: laps: %w", err)
	}
	return out, nil
}

// HeaderGroup is the header naming the consumer group that produced a
// record on telemetry.laps.
const HeaderGroup = "pitwall-group"

// FromGroup reports whether m, a record of telemetry.laps, was produced by
// the consumer group group.
func FromGroup(m *sarama.ConsumerMessage, group string) bool {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == HeaderGroup {
			return string(h.Value) == group
		}
	}
	return false
}

// badInput counts records that could not be used and logs the first of
// each kind.
type badInput struct {
	mu     sync.Mutex
	log    *slog.Logger
	counts map[string]int64
}

func (b *badInput) report(kind string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.counts[kind] == 0 {
		b.log.Warn("processors: skipping bad input (logged once per kind)", "kind", kind, "err", err)
	}
	b.counts[kind]++
}
