package timing

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
)

// ErrNoLaps reports that telemetry.laps does not exist yet: no processor
// has run against this cluster.
var ErrNoLaps = errors.New("timing: " + telemetry.TopicLaps + " does not exist yet (has `pitwall process` run?)")

// Filter says which laps a read hands on; an empty field matches all.
type Filter struct {
	// Group is the consumer group that timed the laps (the HeaderGroup
	// header): one timing of the log.
	Group string
	// Car and Session are the lap's car id and session.
	Car, Session string
}

func (f Filter) keep(r *Row) bool {
	return (f.Group == "" || r.Group == f.Group) && (f.Car == "" || r.Lap.Car == f.Car) &&
		(f.Session == "" || r.Lap.Session == f.Session)
}

// Row is one lap read back from telemetry.laps.
type Row struct {
	// Group is the consumer group that produced it ("" for a record
	// without the header).
	Group string
	Lap   telemetry.Lap
}

// Valid returns the lap's valid metric; ok is false when it has none.
func (r *Row) Valid() (valid, ok bool) {
	for _, m := range r.Lap.Metrics {
		if m.Name == lap.MValid {
			return m.Value == 1, true
		}
	}
	return false, false
}

// Read reads the laps on telemetry.laps that f keeps. client should not
// allow auto topic creation (sarama's default does), or reading creates
// the topic with the broker's defaults. It hands the laps
// there now to backlog, sorted by end time, once all are read; with
// follow it then hands every new lap to fn as it comes, until ctx ends
// (and returns nil). Records that do not decode are counted in bad and
// skipped.
func Read(ctx context.Context, client sarama.Client, f Filter, follow bool, backlog func([]Row), fn func(Row), bad func(error)) error {
	codec := telemetry.MustNewCodec()
	decode := func(m *sarama.ConsumerMessage) (Row, bool) {
		r := Row{Group: group(m)}
		if err := codec.DecodeLap(m.Value, &r.Lap); err != nil {
			bad(fmt.Errorf("%s partition %d offset %d: %w", m.Topic, m.Partition, m.Offset, err))
			return r, false
		}
		return r, f.keep(&r)
	}
	var mu sync.Mutex // ReadToEnd calls back from every partition at once
	var rows []Row
	next := map[int32]int64{} // partition → offset after the last record read
	err := topicread.ReadToEnd(ctx, client, telemetry.TopicLaps, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		r, ok := decode(m)
		mu.Lock()
		defer mu.Unlock()
		next[m.Partition] = m.Offset + 1
		if ok {
			rows = append(rows, r)
		}
	})
	switch {
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		return ErrNoLaps
	case err != nil && ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("timing: %w", err)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := &rows[i].Lap, &rows[j].Lap
		if a.EndNs != b.EndNs {
			return a.EndNs < b.EndNs
		}
		return a.Car < b.Car
	})
	backlog(rows)
	if !follow {
		return nil
	}
	return followFrom(ctx, client, next, decode, fn)
}

// followFrom follows every partition of telemetry.laps from the offset
// in next (the oldest where none), handing on the laps decode keeps.
func followFrom(ctx context.Context, client sarama.Client, next map[int32]int64, decode func(*sarama.ConsumerMessage) (Row, bool), fn func(Row)) error {
	parts, err := client.Partitions(telemetry.TopicLaps)
	if err != nil {
		return fmt.Errorf("timing: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex // fn is called for one lap at a time
	errs := make(chan error, len(parts))
	for _, p := range parts {
		go func() {
			errs <- topicread.Follow(ctx, client, telemetry.TopicLaps, topicread.Config{Partitions: []int32{p}, From: next[p]},
				func(m *sarama.ConsumerMessage) {
					if r, ok := decode(m); ok {
						mu.Lock()
						fn(r)
						mu.Unlock()
					}
				})
		}()
	}
	var first error // Follow returns nil when ctx ends: any error is a failure
	for range parts {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("timing: %w", err)
			cancel()
		}
	}
	return first
}

func group(m *sarama.ConsumerMessage) string {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == processors.HeaderGroup {
			return string(h.Value)
		}
	}
	return ""
}
