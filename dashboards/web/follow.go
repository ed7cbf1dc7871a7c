package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/processors"
	"github.com/pitwall/pitwall/processors/timing"
	"github.com/pitwall/pitwall/telemetry"
)

// followAll reads topic's partitions in from (partition → first offset,
// or sarama.OffsetNewest) with one consumer, so one fetch request
// long-polls them all, calling fn for every message (from a goroutine
// per partition) until ctx ends or a partition fails. A consumer per
// partition sends a long poll each on the shared connection, answered in
// order: with 12 partitions of telemetry.laps and 12 of
// telemetry.alarms, an idle round took 24 × 50 ms, and a lap reached the
// page 0.5-1.3 s after its crossing while live records took 0.1-0.4 s
// (pitwall up --cars 4, curl /events, load 25).
func followAll(ctx context.Context, client sarama.Client, topic string, from map[int32]int64, fn func(*sarama.ConsumerMessage)) error {
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer cons.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, len(from))
	for p, off := range from {
		pc, err := cons.ConsumePartition(topic, p, off)
		if err != nil {
			cancel()
			return fmt.Errorf("%s partition %d: %w", topic, p, err)
		}
		wg.Go(func() {
			defer pc.Close()
			for {
				select {
				case <-ctx.Done():
					return
				case m, ok := <-pc.Messages():
					if !ok {
						errc <- fmt.Errorf("%s partition %d: consumer closed", topic, p)
						cancel()
						return
					}
					fn(m)
				case err := <-pc.Errors():
					errc <- fmt.Errorf("%s partition %d: %w", topic, p, err)
					cancel()
					return
				}
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
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
