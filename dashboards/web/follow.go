package web

import (
	"context"
	"errors"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/timing"
	"github.com/pitwall/pitwall/telemetry"
)

// followAll follows topic's partitions in from (partition → first
// offset, or sarama.OffsetNewest) with one consumer, so one fetch request
// long-polls them all (topicread.FollowPartitions), calling fn for every
// message (from a goroutine per partition) until ctx ends or a partition
// fails.
func followAll(ctx context.Context, client sarama.Client, topic string, from map[int32]int64, fn func(*sarama.ConsumerMessage)) error {
	starts := make([]topicread.PartitionStart, 0, len(from))
	for p, off := range from {
		starts = append(starts, topicread.PartitionStart{Topic: topic, Partition: p, Offset: off})
	}
	return topicread.FollowPartitions(ctx, client, starts, fn)
}

// readLaps reads telemetry.laps from the start (timing.Read, the laps
// handed over sorted) and then follows it with one consumer (followAll)
// from where each partition ended before that read: a lap read twice is
// added once (Tower.AddLap), none is missed.
func (s *Server) readLaps(ctx context.Context, client sarama.Client) {
	f := timing.Filter{Group: s.cfg.Group, Session: s.cfg.Session}
	codec := telemetry.MustNewCodec()
	for ctx.Err() == nil {
		from := map[int32]int64{}
		parts, err := client.Partitions(telemetry.TopicLaps)
		for _, p := range parts {
			if from[p], err = client.GetOffset(telemetry.TopicLaps, p, sarama.OffsetNewest); err != nil {
				break
			}
		}
		if err == nil {
			err = timing.Read(ctx, client, f, false, func(rows []timing.Row) {
				for i := range rows {
					s.lap(&rows[i].Lap)
				}
			}, nil, func(err error) { s.bad("lap", err) })
		}
		if err == nil && len(from) > 0 {
			err = followAll(ctx, client, telemetry.TopicLaps, from, func(m *sarama.ConsumerMessage) {
				if s.cfg.Group != "" && !processors.FromGroup(m, s.cfg.Group) {
					return
				}
				var l telemetry.Lap
				if err := codec.DecodeLap(m.Value, &l); err != nil {
					s.bad("lap", err)
					return
				}
				s.lap(&l) // checks the session
			})
		}
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, timing.ErrNoLaps), errors.Is(err, sarama.ErrUnknownTopicOrPartition), len(parts) == 0:
			_ = client.RefreshMetadata(telemetry.TopicLaps)
		default:
			s.cfg.Logger.Warn("web: reading laps", "err", err)
		}
		sleep(ctx, time.Second)
	}
}
