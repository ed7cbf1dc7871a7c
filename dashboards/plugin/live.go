package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/telemetry"
)

// Query kinds.
const (
	// KindFrames (the default) is a car's channels from the frames topic.
	KindFrames = "frames"
	// KindLive is the cars' laps in progress from the live topic
	// (telemetry.live, published by the lap processor): the numbers the
	// pit wall page shows.
	KindLive = "live"
)

// liveField is one column a live query may ask for, read from a Live
// record as the processor published it (no rounding).
type liveField struct {
	name string
	unit string // Grafana unit id
	// value appends the field's value of l to the column col (made by
	// newColumn) and returns it.
	value func(col any, l *telemetry.Live) any
	// newColumn returns an empty column of the field's type.
	newColumn func() any
}

func floatField(name, unit string, get func(*telemetry.Live) float64) liveField {
	return liveField{name: name, unit: unit, newColumn: func() any { return []float64{} },
		value: func(col any, l *telemetry.Live) any { return append(col.([]float64), get(l)) }}
}

func intField(name string, get func(*telemetry.Live) int32) liveField {
	return liveField{name: name, newColumn: func() any { return []int32{} },
		value: func(col any, l *telemetry.Live) any { return append(col.([]int32), get(l)) }}
}

func nullableField(name, unit string, get func(*telemetry.Live) *float64) liveField {
	return liveField{name: name, unit: unit, newColumn: func() any { return []*float64{} },
		value: func(col any, l *telemetry.Live) any { return append(col.([]*float64), get(l)) }}
}

// LiveFields are the fields of a live query, in their default order:
// the telemetry.live record's (telemetry/live.avsc) and lap_time_s, the
// running lap clock the page shows (time - lap_start; null before the
// car's first crossing).
var LiveFields = []string{"delta_best_s", "delta_session_s", "lap", "lap_time_s", "sector", "distance_m", "speed", "throttle", "brake",
	"gear", "rpm", "in_pit", "x", "y"}

var liveFields = map[string]liveField{
	"delta_best_s":    nullableField("delta_best_s", "s", func(l *telemetry.Live) *float64 { return l.DeltaBestS }),
	"delta_session_s": nullableField("delta_session_s", "s", func(l *telemetry.Live) *float64 { return l.DeltaSessionS }),
	"lap":             intField("lap", func(l *telemetry.Live) int32 { return l.Lap }),
	"lap_time_s": nullableField("lap_time_s", "s", func(l *telemetry.Live) *float64 {
		if l.Lap == 0 {
			return nil
		}
		v := float64(l.TimeNs-l.LapStartNs) / 1e9
		return &v
	}),
	"sector":     intField("sector", func(l *telemetry.Live) int32 { return l.Sector }),
	"distance_m": floatField("distance_m", "lengthm", func(l *telemetry.Live) float64 { return l.DistanceM }),
	"speed":      floatField("speed", "velocitykmh", func(l *telemetry.Live) float64 { return l.Speed }),
	"throttle":   floatField("throttle", "percent", func(l *telemetry.Live) float64 { return l.Throttle }),
	"brake":      floatField("brake", "pressurebar", func(l *telemetry.Live) float64 { return l.Brake }),
	"gear":       intField("gear", func(l *telemetry.Live) int32 { return l.Gear }),
	"rpm":        floatField("rpm", "rotrpm", func(l *telemetry.Live) float64 { return l.RPM }),
	"in_pit": {name: "in_pit", newColumn: func() any { return []bool{} },
		value: func(col any, l *telemetry.Live) any { return append(col.([]bool), l.InPit) }},
	"x": floatField("x", "", func(l *telemetry.Live) float64 { return l.X }),
	"y": floatField("y", "", func(l *telemetry.Live) float64 { return l.Y }),
}

// checkLive validates a live query's car and fields; no fields means
// every one of LiveFields.
func checkLive(q *Query) error {
	if q.Car != "" && !telemetry.ValidCar(q.Car) {
		return fmt.Errorf("%w: car %q", ErrQuery, q.Car)
	}
	if len(q.Channels) > 0 {
		return fmt.Errorf("%w: a live query has fields, not channels", ErrQuery)
	}
	if len(q.Fields) == 0 {
		q.Fields = slices.Clone(LiveFields)
	}
	for i, f := range q.Fields {
		if _, ok := liveFields[f]; !ok || slices.Contains(q.Fields[:i], f) {
			return fmt.Errorf("%w: live field %q (want some of %s, each once)", ErrQuery, f, strings.Join(LiveFields, ", "))
		}
	}
	return nil
}

// livePath is the Live path of a live query: live/car/<car>/<field>...
// for one car, live/all/<field>... for every car.
func livePath(car string, fields []string) string {
	if car == "" {
		return "live/all/" + strings.Join(fields, "/")
	}
	return "live/car/" + car + "/" + strings.Join(fields, "/")
}

// parseLivePath reads a path made by livePath.
func parseLivePath(path string) (car string, fields []string, err error) {
	parts := strings.Split(path, "/")
	bad := fmt.Errorf("%w: %q, want live/car/<car>/<field>[/<field>] or live/all/<field>[/<field>]", ErrPath, path)
	switch {
	case len(parts) >= 3 && parts[0] == "live" && parts[1] == "all":
		fields = parts[2:]
	case len(parts) >= 4 && parts[0] == "live" && parts[1] == "car" && telemetry.ValidCar(parts[2]):
		car, fields = parts[2], parts[3:]
	default:
		return "", nil, bad
	}
	q := Query{Kind: KindLive, Car: car, Fields: fields}
	if err := checkLive(&q); err != nil {
		return "", nil, fmt.Errorf("%w: %w", bad, err)
	}
	return car, fields, nil
}

// liveBuilder collects live records as data frames: for one car (or for
// every car without streaming) a wide frame per car, time then the
// fields labelled car=<car>; for every car streamed, one long frame whose
// first field, "labels", holds car=<car> per row, which Grafana Live's
// streaming frame splits into a series per car (new cars included).
type liveBuilder struct {
	car    string // "" for every car
	fields []liveField
	long   bool
	cars   map[string]*liveColumns
	n      int
}

type liveColumns struct {
	times []time.Time
	cols  []any
	// labels: the long frame's labels column (one builder, one car key "").
	labels []string
}

func newLiveBuilder(car string, names []string, long bool) *liveBuilder {
	b := &liveBuilder{car: car, long: long, cars: map[string]*liveColumns{}}
	for _, n := range names {
		b.fields = append(b.fields, liveFields[n])
	}
	return b
}

func (b *liveBuilder) rows() int { return b.n }

// add appends l if it is the query's car's (any car's for every car).
func (b *liveBuilder) add(l *telemetry.Live) {
	if b.car != "" && l.Car != b.car {
		return
	}
	key := l.Car
	if b.long {
		key = ""
	}
	c := b.cars[key]
	if c == nil {
		c = &liveColumns{}
		for _, f := range b.fields {
			c.cols = append(c.cols, f.newColumn())
		}
		b.cars[key] = c
	}
	c.times = append(c.times, time.Unix(0, l.TimeNs).UTC())
	if b.long {
		c.labels = append(c.labels, "car="+l.Car)
	}
	for i, f := range b.fields {
		c.cols[i] = f.value(c.cols[i], l)
	}
	b.n++
}

// frames returns what was added, a frame per car in car order (one long
// frame for every car streamed), and starts a new batch. Without rows it
// returns one empty frame of the right shape, so a panel still learns the
// fields (and subscribes).
func (b *liveBuilder) frames() data.Frames {
	keys := make([]string, 0, len(b.cars))
	for k := range b.cars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		keys = []string{b.car}
		if b.long {
			keys = []string{""}
		}
	}
	out := make(data.Frames, 0, len(keys))
	for _, k := range keys {
		c := b.cars[k]
		if c == nil {
			c = &liveColumns{times: []time.Time{}, labels: []string{}}
			for _, f := range b.fields {
				c.cols = append(c.cols, f.newColumn())
			}
		}
		var fields []*data.Field
		var labels data.Labels
		name := "live"
		if b.long {
			fields = append(fields, data.NewField("labels", nil, c.labels))
		} else {
			labels, name = data.Labels{"car": k}, k
		}
		fields = append(fields, data.NewField("time", nil, c.times))
		for i, f := range b.fields {
			fl := data.NewField(f.name, labels, c.cols[i])
			if f.unit != "" {
				fl.Config = &data.FieldConfig{Unit: f.unit}
			}
			fields = append(fields, fl)
		}
		out = append(out, data.NewFrame(name, fields...))
	}
	b.cars, b.n = map[string]*liveColumns{}, 0
	return out
}

// addLiveRecord decodes one live record into b.
func (d *Datasource) addLiveRecord(b *liveBuilder, value []byte) {
	var l telemetry.Live
	if err := d.codec.DecodeLive(value, &l); err != nil {
		d.badRecord("live", err)
		return
	}
	b.add(&l)
}

// livePartitions are the partitions of the live topic a query reads: the
// car's (murmur2, as the processor keys them) or every one.
func (d *Datasource) livePartitions(c sarama.Client, car string) ([]int32, error) {
	if car != "" {
		p, err := carPartition(c, d.settings.LiveTopic, car)
		return []int32{p}, err
	}
	parts, err := c.Partitions(d.settings.LiveTopic)
	if err == nil && len(parts) == 0 {
		err = fmt.Errorf("plugin: topic %s has no partitions", d.settings.LiveTopic)
	}
	return parts, err
}

// readLiveWindow adds to b every live record of b's car(s) from from to
// the end each partition had when the read began, partitions read at
// once.
func (d *Datasource) readLiveWindow(ctx context.Context, c sarama.Client, b *liveBuilder, from time.Time) error {
	parts, err := d.livePartitions(c, b.car)
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, p := range parts {
		wg.Go(func() {
			start, err := c.GetOffset(d.settings.LiveTopic, p, from.UnixMilli())
			if err == nil && start >= 0 {
				cfg := topicread.Config{Partitions: []int32{p}, From: start}
				err = topicread.ReadToEnd(ctx, c, d.settings.LiveTopic, cfg, func(m *sarama.ConsumerMessage) {
					if b.car != "" && string(m.Key) != b.car {
						return
					}
					mu.Lock()
					if b.rows() < MaxRows {
						d.addLiveRecord(b, m.Value)
					}
					mu.Unlock()
				})
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("plugin: %s/%d: %w", d.settings.LiveTopic, p, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// streamLive tails the live topic's partitions of b's car(s) from their
// ends into one channel, until ctx ends.
func (d *Datasource) streamLive(ctx context.Context, c sarama.Client, car string) (<-chan *sarama.ConsumerMessage, func(), error) {
	parts, err := d.livePartitions(c, car)
	if err != nil {
		return nil, nil, err
	}
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		return nil, nil, err
	}
	out := make(chan *sarama.ConsumerMessage, 256)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() {
		cancel()
		wg.Wait()
		cons.Close()
	}
	for _, p := range parts {
		pc, err := cons.ConsumePartition(d.settings.LiveTopic, p, sarama.OffsetNewest)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("plugin: %s/%d: %w", d.settings.LiveTopic, p, err)
		}
		wg.Go(func() {
			defer pc.Close()
			for {
				select {
				case <-ctx.Done():
					return
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case out <- m:
					case <-ctx.Done():
						return
					}
				}
			}
		})
	}
	return out, stop, nil
}
