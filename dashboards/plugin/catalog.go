package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
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

// idleEnd ends readRange when no record arrives for this long: the
// record at the end offset minus one may have been compacted away.
const idleEnd = 2 * time.Second

// readRange calls fn for every record of car's partition of topic from
// offset from (an offset, or sarama.OffsetOldest) up to the end offset as
// it was when readRange started.
func readRange(ctx context.Context, c sarama.Client, topic, car string, from int64, fn func(*sarama.ConsumerMessage)) error {
	p, err := carPartition(c, topic, car)
	if err != nil {
		return err
	}
	cfg := topicread.Config{Partitions: []int32{p}, From: from, IdleEnd: idleEnd}
	err = topicread.ReadToEnd(ctx, c, topic, cfg, func(m *sarama.ConsumerMessage) {
		if string(m.Key) == car {
			fn(m)
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("plugin: %w", err)
	}
	return err
}
