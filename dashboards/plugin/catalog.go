package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/telemetry"
)

// catalog returns car's channel catalog, reading the car's partition of
// the catalog topic when it is not cached (or refresh is set).
func (d *Datasource) catalog(ctx context.Context, car string, refresh bool) (*telemetry.ChannelCatalog, error) {
	d.mu.Lock()
	cat := d.cats[car]
	d.mu.Unlock()
	if cat != nil && !refresh {
		return cat, nil
	}
	c, err := d.kafka()
	if err != nil {
		return nil, err
	}
	topic := d.settings.ChannelsTopic
	var last *telemetry.ChannelCatalog
	err = readRange(ctx, c, topic, car, sarama.OffsetOldest, func(m *sarama.ConsumerMessage) {
		var cc telemetry.ChannelCatalog
		if err := d.codec.DecodeCatalog(m.Value, &cc); err != nil {
			d.badRecord("catalog", err)
			return
		}
		if cc.Car == car && cc.Validate() == nil {
			last = &cc
		}
	})
	if err != nil {
		return nil, err
	}
	if last == nil {
		return nil, fmt.Errorf("%w %q on %s", ErrNoCar, car, topic)
	}
	d.mu.Lock()
	d.cats[car] = last
	d.mu.Unlock()
	return last, nil
}

// carPartition is the partition holding car's records (murmur2, as the
// edge partitions them).
func carPartition(c sarama.Client, topic, car string) (int32, error) {
	parts, err := c.Partitions(topic)
	if err != nil {
		return 0, fmt.Errorf("plugin: topic %s: %w", topic, err)
	}
	if len(parts) == 0 {
		return 0, fmt.Errorf("plugin: topic %s has no partitions", topic)
	}
	return telemetry.Partition([]byte(car), int32(len(parts))), nil
}

// idleEnd ends readRange when no record arrives for this long.
const idleEnd = 2 * time.Second

// readRange calls fn for every record of car's partition of topic from
// offset from (an offset, or sarama.OffsetOldest) up to the end offset as
// it was when readRange started.
func readRange(ctx context.Context, c sarama.Client, topic, car string, from int64, fn func(*sarama.ConsumerMessage)) error {
	p, err := carPartition(c, topic, car)
	if err != nil {
		return err
	}
	end, err := c.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("plugin: %s/%d end offset: %w", topic, p, err)
	}
	if from == sarama.OffsetOldest {
		if from, err = c.GetOffset(topic, p, sarama.OffsetOldest); err != nil {
			return fmt.Errorf("plugin: %s/%d start offset: %w", topic, p, err)
		}
	}
	if from < 0 || from >= end {
		return nil
	}
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		return err
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(topic, p, from)
	if err != nil {
		return fmt.Errorf("plugin: %s/%d: %w", topic, p, err)
	}
	defer pc.Close()
	// The record at end-1 may have been compacted away: a partition that
	// stays quiet this long after the last record has nothing more below
	// end (the broker answers a fetch as soon as it has data).
	idle := time.NewTimer(idleEnd)
	defer idle.Stop()
	for {
		select {
		case <-idle.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case m := <-pc.Messages():
			if string(m.Key) == car {
				fn(m)
			}
			if m.Offset >= end-1 {
				return nil
			}
			idle.Reset(idleEnd)
		case err := <-pc.Errors():
			return fmt.Errorf("plugin: %s/%d: %w", topic, p, err)
		}
	}
}
