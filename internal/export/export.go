// Package export writes a car's frames from the log as the CSV files
// analysis tools import: MoTeC i2 ("MoTeC CSV File": a header block, the
// channels at one sample rate, the laps as beacon markers) and RaceChrono
// (CSV export format 3: a row per sample time, lap numbers, sources).
// `pitwall export` and the pit wall page's export link use it.
//
// # Data flow
//
//	telemetry.channels ── the car's catalog (its partition, newest record) ─┐
//	telemetry ── the car's partition, from the oldest record ──▶ the car's frames in [From, To] ─▶ Write(format)
//	telemetry.laps ── the car's laps (one group) ──▶ the window of a lap or session, the lap markers
package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/telemetry"
)

// Formats Write writes.
const (
	FormatMoTeC      = "motec"
	FormatRaceChrono = "racechrono"
)

// ErrNoData reports a window with no frames of the car.
var ErrNoData = errors.New("export: no frames of the car in that window")

// Session is what an export holds: one car's frames in a window, with its
// catalog and the crossings that split it into laps.
type Session struct {
	Car     string
	Session string
	Venue   string
	Driver  string
	Catalog telemetry.ChannelCatalog
	Frames  []telemetry.Frame
	// Crossings are the start/finish crossings (sensor ns) inside or at
	// the window's ends: the laps' starts and ends.
	Crossings []int64
	// FirstLap is the number of the lap that starts at Crossings[0].
	FirstLap int32
}

// Read fills s with car's catalog and its frames of session (any session
// when empty) with sensor times in [fromNs, toNs].
func Read(ctx context.Context, client sarama.Client, car, session string, fromNs, toNs int64) (*Session, error) {
	codec := telemetry.MustNewCodec()
	s := &Session{Car: car, Session: session}
	cat, err := catalog(ctx, client, codec, car)
	if err != nil {
		return nil, err
	}
	s.Catalog = *cat
	parts, err := client.Partitions(telemetry.TopicFrames)
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", telemetry.TopicFrames, err)
	}
	p := telemetry.Partition([]byte(car), int32(len(parts)))
	var mu sync.Mutex
	var bad int
	err = topicread.ReadToEnd(ctx, client, telemetry.TopicFrames, topicread.Config{Partitions: []int32{p}}, func(m *sarama.ConsumerMessage) {
		if string(m.Key) != car {
			return
		}
		var f telemetry.Frame
		if err := codec.DecodeFrame(m.Value, &f); err != nil {
			mu.Lock()
			bad++
			mu.Unlock()
			return
		}
		if f.Car != car || f.TimeNs < fromNs || f.TimeNs > toNs || (session != "" && f.Session != session) {
			return
		}
		mu.Lock()
		s.Frames = append(s.Frames, f)
		mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if len(s.Frames) == 0 {
		return nil, fmt.Errorf("%w (%s, %d undecodable records skipped)", ErrNoData, car, bad)
	}
	// A frame sent twice (an edge replaying its spool) once, in time order.
	slices.SortStableFunc(s.Frames, func(a, b telemetry.Frame) int {
		return cmp.Or(cmp.Compare(a.TimeNs, b.TimeNs), cmp.Compare(a.Seq, b.Seq))
	})
	s.Frames = slices.CompactFunc(s.Frames, func(a, b telemetry.Frame) bool { return a.TimeNs == b.TimeNs && a.Seq == b.Seq })
	if s.Session == "" {
		s.Session = s.Frames[0].Session
	}
	return s, nil
}

// catalog reads car's newest catalog from telemetry.channels.
func catalog(ctx context.Context, client sarama.Client, codec *telemetry.Codec, car string) (*telemetry.ChannelCatalog, error) {
	parts, err := client.Partitions(telemetry.TopicChannels)
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", telemetry.TopicChannels, err)
	}
	p := telemetry.Partition([]byte(car), int32(len(parts)))
	var cat *telemetry.ChannelCatalog
	err = topicread.ReadToEnd(ctx, client, telemetry.TopicChannels, topicread.Config{Partitions: []int32{p}}, func(m *sarama.ConsumerMessage) {
		if string(m.Key) != car {
			return
		}
		var c telemetry.ChannelCatalog
		if codec.DecodeCatalog(m.Value, &c) == nil && c.Car == car {
			cat = &c
		}
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if cat == nil {
		return nil, fmt.Errorf("export: no channel catalog of %s on %s", car, telemetry.TopicChannels)
	}
	return cat, nil
}
