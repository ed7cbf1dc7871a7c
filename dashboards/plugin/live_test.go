package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/pitwall/pitwall/dashboards/plugin"
	"github.com/pitwall/pitwall/internal/topicread"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/up"
)

// lightRates keeps the simulated cars' fastest channels at 50 Hz, so
// three cars at ten times real time run beside the race detector.
var lightRates = map[string]int{telemetry.ChanGVert: 50, telemetry.ChanDamper + "_fl": 50, telemetry.ChanDamper + "_fr": 50,
	telemetry.ChanDamper + "_rl": 50, telemetry.ChanDamper + "_rr": 50}

// liveRow is one streamed or queried live row, by car and sensor time.
type liveRow struct {
	car    string
	t      time.Time
	values map[string]any // field name → value (nil for a null)
}

// liveRows reads a live frame: a long one (labels, time, fields...) or
// a wide one (time, fields labelled car).
func liveRows(t *testing.T, f *data.Frame) []liveRow {
	t.Helper()
	first := 0
	long := len(f.Fields) > 0 && f.Fields[0].Name == "labels"
	if long {
		first = 1
	}
	if len(f.Fields) < first+2 || f.Fields[first].Name != "time" {
		t.Fatalf("live frame fields %v", fieldNames(f))
	}
	var out []liveRow
	for r := 0; r < f.Rows(); r++ {
		row := liveRow{t: f.Fields[first].At(r).(time.Time), values: map[string]any{}}
		if long {
			row.car = strings.TrimPrefix(f.Fields[0].At(r).(string), "car=")
		} else {
			row.car = f.Fields[first+1].Labels["car"]
		}
		for _, fl := range f.Fields[first+1:] {
			v, ok := fl.ConcreteAt(r)
			if !ok {
				v = nil
			}
			row.values[fl.Name] = v
		}
		out = append(out, row)
	}
	return out
}

// want is what a live row must hold for the record l, field by field,
// exactly as published (lap_time_s from its times).
func want(l *telemetry.Live) map[string]any {
	var delta, session, lapTime any
	if l.DeltaBestS != nil {
		delta = *l.DeltaBestS
	}
	if l.DeltaSessionS != nil {
		session = *l.DeltaSessionS
	}
	if l.Lap > 0 {
		lapTime = float64(l.TimeNs-l.LapStartNs) / 1e9
	}
	return map[string]any{"delta_best_s": delta, "delta_session_s": session, "lap": l.Lap, "lap_time_s": lapTime, "sector": l.Sector, "distance_m": l.DistanceM,
		"speed": l.Speed, "throttle": l.Throttle, "brake": l.Brake, "gear": l.Gear, "rpm": l.RPM, "in_pit": l.InPit, "x": l.X, "y": l.Y}
}

// readAllLive reads every record on telemetry.live, by car and time.
func readAllLive(t *testing.T, addr string) map[string]map[int64]*telemetry.Live {
	t.Helper()
	client, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	codec := telemetry.MustNewCodec()
	var mu sync.Mutex
	out := map[string]map[int64]*telemetry.Live{}
	err = topicread.ReadToEnd(context.Background(), client, telemetry.TopicLive, topicread.Config{}, func(m *sarama.ConsumerMessage) {
		var l telemetry.Live
		if err := codec.DecodeLive(m.Value, &l); err != nil {
			t.Errorf("live record %d/%d: %v", m.Partition, m.Offset, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if out[l.Car] == nil {
			out[l.Car] = map[int64]*telemetry.Live{}
		}
		out[l.Car][l.TimeNs] = &l
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pageRow is the part of a row of the page's /api/state the plugin shares.
type pageRow struct {
	Car       string   `json:"car"`
	LiveLap   int32    `json:"live_lap"`
	TimeNs    int64    `json:"time_ns"`
	Sector    int32    `json:"sector"`
	DistanceM float64  `json:"distance_m"`
	Delta     *float64 `json:"delta_best_s"`
	Session   *float64 `json:"delta_session_s"`
	InPit     bool     `json:"in_pit"`
}

func pageState(t *testing.T, url string) []pageRow {
	t.Helper()
	res, err := http.Get(url + "api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st struct{ Rows []pageRow }
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Rows
}

// The plugin's live kind against `pitwall up` (broker, simulator, edge,
// the real lap processor publishing telemetry.live, the pit wall page):
// the every-car stream carries each car's live records exactly as they
// are on telemetry.live — every field, none lost between its first and
// last row — and the numbers the page shows at one moment (/api/state:
// live delta, lap, sector, distance) are the streamed row's of the same
// sensor time. QueryData answers the same records for a window, a frame
// per car or one long frame naming the Live channel.
func TestLiveStream(t *testing.T) {
	t.Parallel() // own pitwall up
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	run, stopUp := context.WithCancel(context.Background())
	upDone := make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		upDone <- up.Run(run, up.Config{Listen: addr, Cars: 3, Track: "brands-indy", Speed: 10, PitEvery: -1, Rates: lightRates,
			Web: "127.0.0.1:0", OnWeb: func(u string) { urls <- u }, Stdout: io.Discard})
	}()
	defer func() {
		stopUp()
		if err := <-upDone; err != nil {
			t.Errorf("pitwall up: %v", err)
		}
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-upDone:
		upDone <- err
		t.Fatalf("pitwall up ended before serving the page: %v", err)
	}
	url = strings.TrimSuffix(url, "/") + "/"

	ds, pctx := handlers(t, addr)
	var h backend.StreamHandler = ds
	path := "live/all/" + strings.Join(plugin.LiveFields, "/")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := h.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: pctx, Path: path})
		if err == nil && res.Status == backend.SubscribeStreamStatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribe %s: %v %v, not OK once telemetry.live exists", path, res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, bad := range []string{"live/all", "live/car/car01", "live/all/warp", "live/car/c a r/lap", "live/all/lap/lap", "live/cars/lap"} {
		if res, _ := h.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{PluginContext: pctx, Path: bad}); res.Status != backend.SubscribeStreamStatusNotFound {
			t.Errorf("subscribe %s: %v, want not found", bad, res.Status)
		}
	}

	got := newPackets()
	sctx, stopStream := context.WithCancel(context.Background())
	streamDone := make(chan error, 1)
	go func() {
		streamDone <- h.RunStream(sctx, &backend.RunStreamRequest{PluginContext: pctx, Path: path}, backend.NewStreamSender(got))
	}()
	streamed := map[string][]liveRow{}
	seen := 0
	collect := func() {
		got.mu.Lock()
		frames := got.frames[seen:]
		seen = len(got.frames)
		got.mu.Unlock()
		for _, f := range frames {
			for _, r := range liveRows(t, f) {
				streamed[r.car] = append(streamed[r.car], r)
			}
		}
	}
	// Stream until every car has a live delta (its second lap).
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for collect(); !cond(); collect() {
			select {
			case <-got.more:
			case <-time.After(time.Until(deadline)):
				t.Fatalf("stream: no %s after 3 minutes (%d packets)", what, got.count())
			}
		}
	}
	waitFor("live delta for every car", func() bool {
		n := 0
		for _, rs := range streamed {
			if rs[len(rs)-1].values["delta_best_s"] != nil {
				n++
			}
		}
		return n == 3
	})
	// The page at a moment it shows every car's live delta; then stream
	// on until every car's row of that moment is streamed.
	var page []pageRow
	for deadline := time.Now().Add(2 * time.Minute); ; {
		page = pageState(t, url)
		withDelta := 0
		for _, p := range page {
			if p.Delta != nil && p.Session != nil {
				withDelta++
			}
		}
		if withDelta == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page rows %+v, want 3 cars with both live deltas", page)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor("rows as new as the page's", func() bool {
		for _, p := range page {
			rs := streamed[p.Car]
			if len(rs) == 0 || rs[len(rs)-1].t.UnixNano() < p.TimeNs {
				return false
			}
		}
		return true
	})
	stopStream()
	if err := <-streamDone; err != nil {
		t.Fatalf("RunStream: %v", err)
	}

	// QueryData over the last minute, while the records are there.
	qd := func(js string) backend.DataResponse {
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{PluginContext: pctx,
			Queries: []backend.DataQuery{{RefID: "A", JSON: json.RawMessage(js)}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Responses["A"]
	}
	perCar := qd(`{"kind":"live","windowSeconds":60}`)
	longFrame := qd(`{"kind":"live","fields":["delta_best_s","lap","sector"],"windowSeconds":60,"stream":true}`)
	oneCar := qd(`{"kind":"live","car":"car02","fields":["delta_best_s"],"windowSeconds":60,"stream":true}`)
	live := readAllLive(t, addr)

	// The stream: every row is its record, and no record is missing
	// between a car's first and last streamed rows.
	for car, rs := range streamed {
		recs := live[car]
		for _, r := range rs {
			l := recs[r.t.UnixNano()]
			if l == nil {
				t.Fatalf("%s: streamed row at %v is on no telemetry.live record", car, r.t)
			}
			for k, v := range want(l) {
				if r.values[k] != v {
					t.Errorf("%s at %v: %s streamed %v, telemetry.live has %v", car, r.t, k, r.values[k], v)
				}
			}
		}
		// Distinct times: a processor replaying after a rebalance
		// publishes a record again, and both copies are streamed.
		times := map[int64]bool{}
		lo, hi := rs[0].t.UnixNano(), rs[0].t.UnixNano()
		for _, r := range rs {
			ns := r.t.UnixNano()
			times[ns], lo, hi = true, min(lo, ns), max(hi, ns)
		}
		n := 0
		for ns := range recs {
			if ns >= lo && ns <= hi {
				n++
			}
		}
		if n != len(times) {
			t.Errorf("%s: %d sensor times streamed, telemetry.live has %d records between the first and the last", car, len(times), n)
		}
	}
	// The page's numbers at its moment are the stream's.
	for _, p := range page {
		var row *liveRow
		for i, r := range streamed[p.Car] {
			if r.t.UnixNano() == p.TimeNs {
				row = &streamed[p.Car][i]
			}
		}
		if row == nil {
			t.Errorf("%s: the page's record at %d was not streamed", p.Car, p.TimeNs)
			continue
		}
		var pd, ps any
		if p.Delta != nil {
			pd = *p.Delta
		}
		if p.Session != nil {
			ps = *p.Session
		}
		dist := row.values["distance_m"].(float64)
		if row.values["delta_best_s"] != pd || row.values["delta_session_s"] != ps || row.values["lap"] != p.LiveLap ||
			row.values["sector"] != p.Sector || fmt.Sprintf("%.1f", dist) != fmt.Sprintf("%.1f", p.DistanceM) || row.values["in_pit"] != p.InPit {
			t.Errorf("%s at %d: page shows delta %v, to the session's best %v, lap %d sector %d %.1f m in pit %v; the stream %v", p.Car, p.TimeNs,
				pd, ps, p.LiveLap, p.Sector, p.DistanceM, p.InPit, row.values)
		}
		t.Logf("%s: page and stream agree: delta %v, to the session's best %v, lap %d sector %d %.1f m", p.Car, pd, ps, p.LiveLap, p.Sector, p.DistanceM)
	}

	// QueryData: a wide frame per car with every field; a long frame
	// naming the every-car channel; one car's frame naming its channel.
	if perCar.Error != nil || len(perCar.Frames) != 3 {
		t.Fatalf("per car: %v, %d frames, want 3", perCar.Error, len(perCar.Frames))
	}
	for i, f := range perCar.Frames {
		car := fmt.Sprintf("car%02d", i+1)
		if names := fieldNames(f); len(names) != 1+len(plugin.LiveFields) || f.Name != car || f.Fields[1].Labels["car"] != car {
			t.Errorf("per car frame %d: %s %v %v", i, f.Name, names, f.Fields[1].Labels)
		}
		checkRecords(t, f, live)
	}
	if longFrame.Error != nil || len(longFrame.Frames) != 1 {
		t.Fatalf("every car streamed: %v, %d frames", longFrame.Error, len(longFrame.Frames))
	}
	lf := longFrame.Frames[0]
	if names := fieldNames(lf); strings.Join(names, ",") != "labels,time,delta_best_s,lap,sector" ||
		lf.Meta == nil || lf.Meta.Channel != "ds/"+uid+"/live/all/delta_best_s/lap/sector" {
		t.Errorf("every car streamed: fields %v meta %+v", names, lf.Meta)
	}
	checkRecords(t, lf, live)
	if oneCar.Error != nil || len(oneCar.Frames) != 1 || oneCar.Frames[0].Meta == nil || oneCar.Frames[0].Meta.Channel != "ds/"+uid+"/live/car/car02/delta_best_s" {
		t.Fatalf("one car: %v %v", oneCar.Error, oneCar.Frames)
	}
	checkRecords(t, oneCar.Frames[0], live)
	for _, r := range liveRows(t, oneCar.Frames[0]) {
		if r.car != "car02" {
			t.Fatalf("one car's frame has a row of %s", r.car)
		}
	}
}

// checkRecords holds every row of f to its telemetry.live record, and
// counts a minute's worth.
func checkRecords(t *testing.T, f *data.Frame, live map[string]map[int64]*telemetry.Live) {
	t.Helper()
	rows := liveRows(t, f)
	if len(rows) < 100 {
		t.Errorf("frame %s: %d rows in a minute, want ten a second of sensor time", f.Name, len(rows))
	}
	for _, r := range rows {
		l := live[r.car][r.t.UnixNano()]
		if l == nil {
			t.Fatalf("frame %s: row of %s at %v is on no telemetry.live record", f.Name, r.car, r.t)
		}
		w := want(l)
		for k, v := range r.values {
			if w[k] != v {
				t.Fatalf("frame %s: %s at %v: %s is %v, telemetry.live has %v", f.Name, r.car, r.t, k, v, w[k])
			}
		}
	}
}
