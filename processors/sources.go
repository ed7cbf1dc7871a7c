package processors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/IBM/sarama"

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
// until ctx ends. It returns after its goroutines exit.
func (c *catalogs) tail(ctx context.Context, client sarama.Client, codec *telemetry.Codec, bad *badInput) error {
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("processors: catalogs: %w", err)
	}
	defer cons.Close()
	parts, err := cons.Partitions(telemetry.TopicChannels)
	if err != nil {
		return fmt.Errorf("processors: catalogs: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, p := range parts {
		pc, err := cons.ConsumePartition(telemetry.TopicChannels, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("processors: catalogs partition %d: %w", p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.Close()
			for {
				select {
				case m := <-pc.Messages():
					var cat telemetry.ChannelCatalog
					if err := codec.DecodeCatalog(m.Value, &cat); err != nil {
						bad.report("catalog", err)
						continue
					}
					c.put(&cat)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	<-ctx.Done()
	return nil
}

// readLaps reads every lap published on telemetry.laps up to the high
// watermarks at the time of the call, for the cars keep accepts.
func readLaps(ctx context.Context, client sarama.Client, codec *telemetry.Codec, bad *badInput, group string, keep func(car string) bool) (map[string][]telemetry.Lap, error) {
	out := map[string][]telemetry.Lap{}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("processors: laps: %w", err)
	}
	defer cons.Close()
	parts, err := cons.Partitions(telemetry.TopicLaps)
	if err != nil {
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return out, nil
		}
		return nil, fmt.Errorf("processors: laps: %w", err)
	}
	for _, p := range parts {
		hw, err := client.GetOffset(telemetry.TopicLaps, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("processors: laps partition %d: %w", p, err)
		}
		if hw == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(telemetry.TopicLaps, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("processors: laps partition %d: %w", p, err)
		}
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				var l telemetry.Lap
				if !fromGroup(m, group) {
					// another group's laps (reprocessing): not ours to dedupe against
				} else if err := codec.DecodeLap(m.Value, &l); err != nil {
					bad.report("lap", err)
				} else if keep(l.Car) {
					out[l.Car] = append(out[l.Car], l)
				}
				done = m.Offset+1 >= hw
			case <-ctx.Done():
				pc.Close()
				return nil, ctx.Err()
			}
		}
		pc.Close()
	}
	return out, nil
}

// HeaderGroup is the header naming the consumer group that produced a
// record on telemetry.laps.
const HeaderGroup = "pitwall-group"

func fromGroup(m *sarama.ConsumerMessage, group string) bool {
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
