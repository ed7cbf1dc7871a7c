package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/live"

	"github.com/pitwall/pitwall/telemetry"
)

// Query is a panel target.
type Query struct {
	// Kind is KindFrames (default: the car's channels) or KindLive (the
	// cars' laps in progress from the live topic).
	Kind string `json:"kind"`
	// Car is the car id. Required for KindFrames; for KindLive, empty
	// means every car.
	Car string `json:"car"`
	// Channels are channel names from the car's catalog. Required for
	// KindFrames.
	Channels []string `json:"channels"`
	// Fields are KindLive's columns, some of LiveFields. Default all.
	Fields []string `json:"fields"`
	// WindowSeconds is how far back QueryData reads. Default 30, at most
	// MaxWindowSeconds.
	WindowSeconds int `json:"windowSeconds"`
	// Stream asks Grafana to subscribe to the car's live stream after the
	// window. Default false.
	Stream bool `json:"stream"`
}

// Limits of a query.
const (
	MaxWindowSeconds = 600
	MaxRows          = 100_000
	MaxChannels      = 64
)

func parseQuery(raw json.RawMessage) (Query, error) {
	var q Query
	if err := json.Unmarshal(raw, &q); err != nil {
		return q, fmt.Errorf("%w: %w", ErrQuery, err)
	}
	if q.WindowSeconds == 0 {
		q.WindowSeconds = 30
	}
	if q.WindowSeconds < 0 || q.WindowSeconds > MaxWindowSeconds {
		return q, fmt.Errorf("%w: window %d s, want 1..%d", ErrQuery, q.WindowSeconds, MaxWindowSeconds)
	}
	switch q.Kind {
	case "", KindFrames:
		q.Kind = KindFrames
	case KindLive:
		return q, checkLive(&q)
	default:
		return q, fmt.Errorf("%w: kind %q, want %s or %s", ErrQuery, q.Kind, KindFrames, KindLive)
	}
	switch {
	case len(q.Fields) > 0:
		return q, fmt.Errorf("%w: fields are for kind %s; a %s query has channels", ErrQuery, KindLive, KindFrames)
	case !telemetry.ValidCar(q.Car):
		return q, fmt.Errorf("%w: car %q", ErrQuery, q.Car)
	case len(q.Channels) == 0 || len(q.Channels) > MaxChannels:
		return q, fmt.Errorf("%w: want 1 to %d channels", ErrQuery, MaxChannels)
	}
	for _, ch := range q.Channels {
		if !telemetry.ValidName(ch) {
			return q, fmt.Errorf("%w: channel %q", ErrQuery, ch)
		}
	}
	return q, nil
}

// QueryData answers each query with the car's chosen channels over its
// window, read from the log.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, dq backend.DataQuery) backend.DataResponse {
	q, err := parseQuery(dq.JSON)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	if q.Kind == KindLive {
		return d.queryLive(ctx, q)
	}
	sel, err := d.selection(ctx, q.Car, q.Channels)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	c, err := d.kafka()
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
	}
	from := time.Now().Add(-time.Duration(q.WindowSeconds) * time.Second)
	p, err := carPartition(c, d.settings.Topic, q.Car)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
	}
	start, err := c.GetOffset(d.settings.Topic, p, from.UnixMilli())
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
	}
	fb := newFrameBuilder(q.Car, sel)
	if start >= 0 {
		err = readRange(ctx, c, d.settings.Topic, q.Car, start, func(m *sarama.ConsumerMessage) {
			if fb.rows() < MaxRows {
				d.addRecord(fb, m.Value)
			}
		})
		if err != nil {
			return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
		}
	}
	frame := fb.frame()
	if q.Stream {
		ch := live.Channel{Scope: live.ScopeDatasource, Namespace: d.uid, Path: streamPath(q.Car, q.Channels)}
		frame.SetMeta(&data.FrameMeta{Channel: ch.String()})
	}
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// queryLive answers a live query with the window's live records: a
// frame per car, or with Stream for every car one long frame (see
// liveBuilder) naming the Live channel.
func (d *Datasource) queryLive(ctx context.Context, q Query) backend.DataResponse {
	c, err := d.kafka()
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
	}
	b := newLiveBuilder(q.Car, q.Fields, q.Stream && q.Car == "")
	if err := d.readLiveWindow(ctx, c, b, time.Now().Add(-time.Duration(q.WindowSeconds)*time.Second)); err != nil {
		return backend.ErrDataResponse(backend.StatusBadGateway, err.Error())
	}
	frames := b.frames()
	if q.Stream {
		ch := live.Channel{Scope: live.ScopeDatasource, Namespace: d.uid, Path: livePath(q.Car, q.Fields)}
		frames[0].SetMeta(&data.FrameMeta{Channel: ch.String()})
	}
	return backend.DataResponse{Frames: frames}
}

// selection maps channel names to ids in car's catalog, re-reading the
// catalog once if a name is unknown (the car may have new channels).
func (d *Datasource) selection(ctx context.Context, car string, names []string) ([]telemetry.Channel, error) {
	for attempt := 0; attempt < 2; attempt++ {
		cat, err := d.catalog(ctx, car, attempt > 0)
		if err != nil {
			return nil, err
		}
		sel := make([]telemetry.Channel, 0, len(names))
		for _, n := range names {
			if ch, ok := cat.ByName(n); ok {
				sel = append(sel, ch)
			}
		}
		if len(sel) == len(names) {
			return sel, nil
		}
		if attempt > 0 {
			return nil, fmt.Errorf("%w: car %s has no channel among %v that is not in its catalog", ErrQuery, car, names)
		}
	}
	return nil, nil
}

// addRecord decodes one frames record into fb.
func (d *Datasource) addRecord(fb *frameBuilder, value []byte) {
	var f telemetry.Frame
	if err := d.codec.DecodeFrame(value, &f); err != nil {
		d.badRecord("frame", err)
		return
	}
	fb.add(&f)
}

// frameBuilder collects rows of one car's chosen channels.
type frameBuilder struct {
	car    string
	sel    []telemetry.Channel
	times  []time.Time
	values [][]*float64
}

func newFrameBuilder(car string, sel []telemetry.Channel) *frameBuilder {
	return &frameBuilder{car: car, sel: sel, values: make([][]*float64, len(sel))}
}

func (b *frameBuilder) rows() int { return len(b.times) }

// add appends a row if f is the car's and carries any chosen channel.
func (b *frameBuilder) add(f *telemetry.Frame) {
	if f.Car != b.car {
		return
	}
	row := make([]*float64, len(b.sel))
	any := false
	for i, ch := range b.sel {
		if v, ok := f.Value(ch.ID); ok {
			row[i], any = &v, true
		}
	}
	if !any {
		return
	}
	b.times = append(b.times, f.Time())
	for i := range row {
		b.values[i] = append(b.values[i], row[i])
	}
}

// frame returns the rows as a data.Frame and starts a new batch.
func (b *frameBuilder) frame() *data.Frame {
	fields := []*data.Field{data.NewField("time", nil, b.times)}
	for i, ch := range b.sel {
		f := data.NewField(ch.Name, data.Labels{"car": b.car}, b.values[i])
		f.Config = &data.FieldConfig{Unit: grafanaUnit(ch.Unit)}
		fields = append(fields, f)
	}
	b.times = nil
	b.values = make([][]*float64, len(b.sel))
	return data.NewFrame(b.car, fields...)
}

// grafanaUnit maps a catalog unit to Grafana's unit id, or keeps it as a
// suffix.
func grafanaUnit(u string) string {
	switch u {
	case "km/h":
		return "velocitykmh"
	case "degC":
		return "celsius"
	case "%":
		return "percent"
	case "rpm":
		return "rotrpm"
	case "":
		return ""
	}
	return "suffix:" + u
}
