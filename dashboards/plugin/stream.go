package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/pitwall/pitwall/telemetry"
)

// StreamEvery is the shortest interval between two pushed frames of one
// stream: at most one per frame of a 60 Hz screen (a panel draws the
// newest data once per animation frame; more pushes would be drawn no
// sooner), as the pit wall page pushes (web.DefaultPushEvery).
const StreamEvery = 16 * time.Millisecond

// streamPath is the Live path of a car's channels: car/<car>/<ch>/<ch>...
func streamPath(car string, channels []string) string {
	return "car/" + car + "/" + strings.Join(channels, "/")
}

// parsePath reads a path made by streamPath.
func parsePath(path string) (car string, channels []string, err error) {
	parts := strings.Split(path, "/")
	if len(parts) < 3 || parts[0] != "car" || !telemetry.ValidCar(parts[1]) || len(parts)-2 > MaxChannels {
		return "", nil, fmt.Errorf("%w: %q, want car/<car>/<channel>[/<channel>...]", ErrPath, path)
	}
	for _, ch := range parts[2:] {
		if !telemetry.ValidName(ch) {
			return "", nil, fmt.Errorf("%w: channel %q", ErrPath, ch)
		}
	}
	return parts[1], parts[2:], nil
}

// SubscribeStream allows a subscription to a car's channels that exist,
// or to live records (live/...) once the live topic exists.
func (d *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if strings.HasPrefix(req.Path, "live/") {
		return d.subscribeLive(req.Path), nil
	}
	car, chans, err := parsePath(req.Path)
	if err != nil {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	if _, err := d.selection(ctx, car, chans); err != nil {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream refuses: the stream is read-only.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream tails the car's partition from its end and pushes the car's
// rows, batched, at most every StreamEvery, until ctx ends (Grafana
// cancels it when the last subscriber leaves).
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	if strings.HasPrefix(req.Path, "live/") {
		return d.runLive(ctx, req.Path, sender)
	}
	car, chans, err := parsePath(req.Path)
	if err != nil {
		return err
	}
	sel, err := d.selection(ctx, car, chans)
	if err != nil {
		return err
	}
	c, err := d.kafka()
	if err != nil {
		return err
	}
	p, err := carPartition(c, d.settings.Topic, car)
	if err != nil {
		return err
	}
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		return err
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(d.settings.Topic, p, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("plugin: %s/%d: %w", d.settings.Topic, p, err)
	}
	defer pc.Close()
	fb := newFrameBuilder(car, sel)
	return pump(ctx, pc.Messages(), batch{
		add: func(m *sarama.ConsumerMessage) {
			if string(m.Key) == car {
				d.addRecord(fb, m.Value)
			}
		},
		rows:   fb.rows,
		frames: func() data.Frames { return data.Frames{fb.frame()} },
	}, sender)
}

// subscribeLive allows a subscription to a well-formed live path once
// the live topic exists.
func (d *Datasource) subscribeLive(path string) *backend.SubscribeStreamResponse {
	notFound := &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}
	car, _, err := parseLivePath(path)
	if err != nil {
		return notFound
	}
	c, err := d.kafka()
	if err != nil {
		return notFound
	}
	if _, err := d.livePartitions(c, car); err != nil {
		_ = c.RefreshMetadata(d.settings.LiveTopic)
		if _, err := d.livePartitions(c, car); err != nil {
			return notFound
		}
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}
}

// runLive tails the live topic (the car's partition, or every one) from
// its end and pushes the records, batched like RunStream's, until ctx
// ends.
func (d *Datasource) runLive(ctx context.Context, path string, sender *backend.StreamSender) error {
	car, fields, err := parseLivePath(path)
	if err != nil {
		return err
	}
	c, err := d.kafka()
	if err != nil {
		return err
	}
	msgs, stop, err := d.streamLive(ctx, c, car)
	if err != nil {
		return err
	}
	defer stop()
	b := newLiveBuilder(car, fields, car == "")
	return pump(ctx, msgs, batch{
		add: func(m *sarama.ConsumerMessage) {
			if car == "" || string(m.Key) == car {
				d.addLiveRecord(b, m.Value)
			}
		},
		rows:   b.rows,
		frames: b.frames,
	}, sender)
}

// batch is what pump fills and sends: add takes a record, rows counts
// what was added since the last frames, frames returns it and starts
// anew.
type batch struct {
	add    func(*sarama.ConsumerMessage)
	rows   func() int
	frames func() data.Frames
}

// pump batches rows from msgs and sends them: at once when StreamEvery
// has passed since the last send, else when it has. Records come in
// bursts (a fetch's worth at once); a send takes the rest of the burst
// that is already in msgs first, so that it does not wait a whole
// StreamEvery behind the record that started the send.
func pump(ctx context.Context, msgs <-chan *sarama.ConsumerMessage, b batch, sender *backend.StreamSender) error {
	var last time.Time
	var due <-chan time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	send := func() error {
		last, due = time.Now(), nil
		if b.rows() == 0 {
			return nil
		}
		for _, f := range b.frames() {
			if err := sender.SendFrame(f, data.IncludeAll); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			b.add(m)
			if wait := StreamEvery - time.Since(last); wait <= 0 {
				for n := len(msgs); n > 0; n-- { // the rest of the burst, delivered already
					m, ok := <-msgs
					if !ok {
						break
					}
					b.add(m)
				}
				if err := send(); err != nil {
					return err
				}
			} else if due == nil {
				timer.Reset(wait)
				due = timer.C
			}
		case <-due:
			if err := send(); err != nil {
				return err
			}
		}
	}
}
