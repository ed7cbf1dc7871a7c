package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/dashboards/plugin"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

const uid = "pitwall-live"

// handlers returns the datasource instance for brokers the way Grafana's
// SDK builds it: through datasource.NewInstanceManager and the plugin's
// factory, from the datasource settings Grafana sends.
func handlers(t testing.TB, brokers string) (*plugin.Datasource, backend.PluginContext) {
	t.Helper()
	settings, _ := json.Marshal(map[string]string{"brokers": brokers})
	pctx := backend.PluginContext{Namespace: "default", PluginID: plugin.PluginID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{ID: 1, UID: uid, Name: "Pitwall Live", JSONData: settings, Updated: time.Now()}}
	im := datasource.NewInstanceManager(plugin.NewDatasource)
	inst, err := im.Get(context.Background(), pctx)
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*plugin.Datasource)
	t.Cleanup(ds.Dispose)
	return ds, pctx
}

// simConfig simulates cars for dur of sensor time into the broker, with
// the wall clock as sensor time so the record timestamps and frame times
// agree.
func simConfig(addr string, cars int, dur time.Duration, speed float64) simulator.Config {
	return simulator.Config{Track: "brands-indy", Cars: cars, Seed: 3, Duration: dur, Speed: speed, Start: time.Now().UTC(),
		Out: "kafka://" + addr + "/" + telemetry.TopicFrames}
}

func TestCheckHealth(t *testing.T) {
	b := brokertest.Start(t)
	ds, pctx := handlers(t, b.Addr)
	var h backend.CheckHealthHandler = ds
	res, err := h.CheckHealth(context.Background(), &backend.CheckHealthRequest{PluginContext: pctx})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "topic") {
		t.Errorf("before the topic exists: %v %q, want an error naming the topic", res.Status, res.Message)
	}
	if err := simulator.Run(context.Background(), simConfig(b.Addr, 1, 200*time.Millisecond, 0)); err != nil {
		t.Fatal(err)
	}
	res, _ = h.CheckHealth(context.Background(), &backend.CheckHealthRequest{PluginContext: pctx})
	if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "12 partitions") {
		t.Errorf("with the topic: %v %q, want OK with 12 partitions", res.Status, res.Message)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	down, dpctx := handlers(t, dead)
	res, _ = down.CheckHealth(context.Background(), &backend.CheckHealthRequest{PluginContext: dpctx})
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, dead) {
		t.Errorf("broker down: %v %q, want an error naming %s", res.Status, res.Message, dead)
	}
}

// expectedRows counts, by re-running the same seeded simulation, the
// frames of car that carry any of ids.
func expectedRows(t *testing.T, cfg simulator.Config, car string, names []string) (rows int, first map[string]float64) {
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int32
	first = map[string]float64{}
	for i, c := range sim.Cars() {
		if c == car {
			for _, n := range names {
				ch, _ := sim.Catalog(i).ByName(n)
				ids = append(ids, ch.ID)
			}
		}
	}
	for more := true; more; {
		more, err = sim.Step(func(f *telemetry.Frame) error {
			if f.Car != car {
				return nil
			}
			for i, id := range ids {
				if v, ok := f.Value(id); ok {
					if _, seen := first[names[i]]; !seen {
						first[names[i]] = v
					}
				}
			}
			for _, id := range ids {
				if _, ok := f.Value(id); ok {
					rows++
					break
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return rows, first
}

func TestQueryData(t *testing.T) {
	b := brokertest.Start(t)
	cfg := simConfig(b.Addr, 2, 2*time.Second, 0)
	if err := simulator.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ds, pctx := handlers(t, b.Addr)
	var h backend.QueryDataHandler = ds
	q := func(ref, js string) backend.DataQuery {
		return backend.DataQuery{RefID: ref, JSON: json.RawMessage(js)}
	}
	resp, err := h.QueryData(context.Background(), &backend.QueryDataRequest{PluginContext: pctx, Queries: []backend.DataQuery{
		q("A", `{"car":"car02","channels":["speed","rpm"],"windowSeconds":120,"stream":true}`),
		q("B", `{"car":"car09","channels":["speed"]}`),
		q("C", `{"car":"car01","channels":["no_such_channel"]}`),
		q("D", `{"car":"car 1","channels":["speed"]}`),
		q("E", `{"car":"car01","channels":["speed"],"windowSeconds":100000}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	a := resp.Responses["A"]
	if a.Error != nil || len(a.Frames) != 1 {
		t.Fatalf("A: %v, %d frames", a.Error, len(a.Frames))
	}
	f := a.Frames[0]
	if len(f.Fields) != 3 || f.Fields[0].Name != "time" || f.Fields[1].Name != "speed" || f.Fields[2].Name != "rpm" {
		t.Fatalf("A: fields %v", fieldNames(f))
	}
	want, first := expectedRows(t, cfg, "car02", []string{"speed", "rpm"})
	if f.Rows() != want {
		t.Errorf("A: %d rows, want every one of car02's %d frames with speed or rpm", f.Rows(), want)
	}
	if got := firstValue(f, 1); got != first["speed"] {
		t.Errorf("A: first speed %v, want %v", got, first["speed"])
	}
	if f.Fields[1].Labels["car"] != "car02" || f.Fields[1].Config.Unit != "velocitykmh" {
		t.Errorf("A: speed field labels %v, config %+v", f.Fields[1].Labels, f.Fields[1].Config)
	}
	if f.Meta == nil || f.Meta.Channel != "ds/"+uid+"/car/car02/speed/rpm" {
		t.Errorf("A: meta %+v, want the live channel ds/%s/car/car02/speed/rpm", f.Meta, uid)
	}
	for _, ref := range []string{"B", "C", "D", "E"} {
		r := resp.Responses[ref]
		if r.Error == nil || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: status %v error %v, want a bad request", ref, r.Status, r.Error)
		}
	}
}

func fieldNames(f *data.Frame) []string {
	var out []string
	for _, fl := range f.Fields {
		out = append(out, fl.Name)
	}
	return out
}

// firstValue is the first non-null value of field i.
func firstValue(f *data.Frame, i int) float64 {
	for r := 0; r < f.Rows(); r++ {
		if v, ok := f.Fields[i].ConcreteAt(r); ok {
			return v.(float64)
		}
	}
	return -1
}

// packets collects what RunStream sends, as Grafana Live would receive it.
type packets struct {
	mu     sync.Mutex
	frames []*data.Frame
	at     []time.Time
	more   chan struct{}
}

func newPackets() *packets { return &packets{more: make(chan struct{}, 1)} }

func (p *packets) Send(pk *backend.StreamPacket) error {
	now := time.Now()
	var f data.Frame
	if err := json.Unmarshal(pk.Data, &f); err != nil {
		return fmt.Errorf("packet is no frame: %w", err)
	}
	p.mu.Lock()
	p.frames, p.at = append(p.frames, &f), append(p.at, now)
	p.mu.Unlock()
	select {
	case p.more <- struct{}{}:
	default:
	}
	return nil
}

func (p *packets) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.frames)
}

func TestStream(t *testing.T) {
	b := brokertest.Start(t)
	if err := simulator.Run(context.Background(), simConfig(b.Addr, 2, 200*time.Millisecond, 0)); err != nil {
		t.Fatal(err)
	}
	ds, pctx := handlers(t, b.Addr)
	var h backend.StreamHandler = ds
	ctx := context.Background()
	for path, want := range map[string]backend.SubscribeStreamStatus{
		"car/car01/speed/throttle": backend.SubscribeStreamStatusOK,
		"car/car07/speed":          backend.SubscribeStreamStatusNotFound,
		"car/car01/warp_drive":     backend.SubscribeStreamStatusNotFound,
		"lap/car01":                backend.SubscribeStreamStatusNotFound,
	} {
		res, err := h.SubscribeStream(ctx, &backend.SubscribeStreamRequest{PluginContext: pctx, Path: path})
		if err != nil || res.Status != want {
			t.Errorf("subscribe %s: %v %v, want %v", path, res, err, want)
		}
	}
	if res, _ := h.PublishStream(ctx, &backend.PublishStreamRequest{PluginContext: pctx, Path: "car/car01/speed"}); res.Status != backend.PublishStreamStatusPermissionDenied {
		t.Errorf("publish: %v, want permission denied", res.Status)
	}

	got := newPackets()
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := h.RunStream(sctx, &backend.RunStreamRequest{PluginContext: pctx, Path: "car/car01/speed/throttle"}, backend.NewStreamSender(got)); err != nil {
			t.Errorf("RunStream: %v", err)
		}
	}()
	go func() { // the cars keep driving, in real time, until the test has its frames
		defer wg.Done()
		cfg := simConfig(b.Addr, 2, 0, 1)
		cfg.Session = "stream"
		if err := simulator.Run(sctx, cfg); err != nil {
			t.Errorf("simulator: %v", err)
		}
	}()
	for got.count() < 20 {
		<-got.more
	}
	stop()
	wg.Wait()
	got.mu.Lock()
	defer got.mu.Unlock()
	for i, f := range got.frames {
		if names := fieldNames(f); len(names) != 3 || names[1] != "speed" || names[2] != "throttle" || f.Rows() == 0 {
			t.Fatalf("packet %d: fields %v, %d rows", i, names, f.Rows())
		}
		if f.Fields[1].Labels["car"] != "car01" {
			t.Errorf("packet %d: labels %v, want car01 only", i, f.Fields[1].Labels)
		}
		for r := 0; r < f.Rows(); r++ {
			if v, ok := f.Fields[1].ConcreteAt(r); ok && (v.(float64) < 0 || v.(float64) > 400) {
				t.Errorf("packet %d: speed %v out of the channel's range", i, v)
			}
		}
		if i > 0 {
			prev := got.frames[i-1].Fields[0].At(got.frames[i-1].Rows() - 1).(time.Time)
			if first := f.Fields[0].At(0).(time.Time); !first.After(prev) {
				t.Errorf("packet %d starts at %v, not after the previous packet's last row %v", i, first, prev)
			}
		}
	}
}
