package processors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"time"

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

// get returns car's catalog, nil if it has not come.
func (c *catalogs) get(car string) *telemetry.ChannelCatalog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byCar[car]
}

// wait returns car's catalog, waiting for it up to d (wall time); nil
// if it did not come, with ctx's error if ctx ended first.
func (c *catalogs) wait(ctx context.Context, car string, d time.Duration) (*telemetry.ChannelCatalog, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		cat, ch := c.byCar[car], c.changed
		c.mu.Unlock()
		if cat != nil {
			return cat, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tail reads every partition of telemetry.channels from the oldest record
// until ctx ends. A topic that does not exist yet (no edge has run) is
// waited for; any other failure ends the tail with an error.
func (c *catalogs) tail(ctx context.Context, client sarama.Client, codec *telemetry.Codec, bad *badInput) error {
	for {
		if err := waitTopic(ctx, client, telemetry.TopicChannels, bad.log); err != nil {
			return stopped(ctx, err)
		}
		err := topicread.Follow(ctx, client, telemetry.TopicChannels, topicread.Config{}, func(m *sarama.ConsumerMessage) {
			var cat telemetry.ChannelCatalog
			if err := codec.DecodeCatalog(m.Value, &cat); err != nil {
				bad.report("catalog", err)
				return
			}
			c.put(&cat)
		})
		switch {
		case err == nil || ctx.Err() != nil:
			return nil
		case transient(err):
			bad.log.Warn("processors: reading channel catalogs failed; starting over", "err", err)
			if !sleep(ctx, time.Second) {
				return nil
			}
		default:
			return fmt.Errorf("processors: catalogs: %w", err)
		}
	}
}

// waitTopic returns once topic exists, logging once while it does not
// (a processor may start before any edge created it); ctx's error if
// ctx ends first. Other errors (a broker restarting) are waited out too.
func waitTopic(ctx context.Context, client sarama.Client, topic string, log *slog.Logger) error {
	wait, logged := 250*time.Millisecond, false
	for {
		_, err := client.Partitions(topic)
		if err == nil {
			if logged {
				log.Info("processors: topic exists now", "topic", topic)
			}
			return nil
		}
		if !logged {
			log.Warn("processors: waiting for topic "+topic+" (no edge has produced yet?); retrying until it exists", "err", err)
			logged = true
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// transient reports an error a read of a topic is retried after: the
// topic or its leader is not there yet, or no broker answers.
func transient(err error) bool {
	for _, e := range []error{sarama.ErrUnknownTopicOrPartition, sarama.ErrLeaderNotAvailable,
		sarama.ErrNotLeaderForPartition, sarama.ErrOutOfBrokers, sarama.ErrBrokerNotAvailable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
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

// summary logs how many records of each kind were skipped, if any.
func (b *badInput) summary() {
	b.mu.Lock()
	t := &tally{counts: maps.Clone(b.counts)}
	b.mu.Unlock()
	t.summary(b.log, "processors: bad input skipped, by kind")
}

func (b *badInput) report(kind string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.counts[kind] == 0 {
		b.log.Warn("processors: skipping bad input (logged once per kind)", "kind", kind, "err", err)
	}
	b.counts[kind]++
}

// tally counts events by kind: the crossings the lap detectors ignored.
type tally struct {
	mu     sync.Mutex
	counts map[string]int64
	seen   map[string]bool
}

func newTally() *tally { return &tally{counts: map[string]int64{}, seen: map[string]bool{}} }

func (t *tally) add(kind string) {
	t.mu.Lock()
	t.counts[kind]++
	t.mu.Unlock()
}

// first reports whether this is the first call with key.
func (t *tally) first(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen[key] {
		return false
	}
	t.seen[key] = true
	return true
}

// summary logs the counts, if any, at INFO.
func (t *tally) summary(log *slog.Logger, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.counts) == 0 {
		return
	}
	kinds := make([]string, 0, len(t.counts))
	for k := range t.counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	args := make([]any, 0, 2*len(kinds))
	for _, k := range kinds {
		args = append(args, k, t.counts[k])
	}
	log.Info(msg, args...)
}
