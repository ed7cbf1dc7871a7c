package edge

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	einride "go.einride.tech/can"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/can"
	"github.com/pitwall/pitwall/edge/slcan"
	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

func writeDBC(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "car.dbc")
	if err := os.WriteFile(path, simulator.DBC, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// An SLCAN adapter on a pty: the edge sends the open sequence (close, bit
// rate, timestamps, open), the adapter refuses one command (counted), then
// streams CAN frames with Z1 stamps. Frames with one stamp become one
// telemetry frame; the values are the DBC's decoding; the catalog is the
// DBC's signals.
func TestSLCANAdapterToBroker(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	a, bEnd, _ := socatPair(t)
	in := "slcan:" + a + "?bitrate=250000&dbc=" + writeDBC(t) + "&car=44&session=race1"
	e, stop := startEdge(t, testConfig(t, b.Addr, in))
	adapter, err := os.OpenFile(bEnd, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer adapter.Close()
	cmds := make([]byte, len("C\rS5\rZ1\rO\r"))
	if _, err := io.ReadFull(adapter, cmds); err != nil || string(cmds) != "C\rS5\rZ1\rO\r" {
		t.Fatalf("open sequence %q, %v", cmds, err)
	}
	var out bytes.Buffer
	out.WriteString("\r\a\r\r") // S5 refused
	const n = 200
	for i := range n {
		stamp := int32(i * 5 % 60000)
		var engine, wheels einride.Data
		engine.SetUnsignedBitsLittleEndian(0, 16, uint64(5000+i))  // rpm
		engine.SetUnsignedBitsLittleEndian(32, 16, uint64(1000+i)) // speed ×0.1
		engine.SetSignedBitsLittleEndian(48, 16, int64(-i))        // steering ×0.1
		wheels.SetUnsignedBitsLittleEndian(0, 16, uint64(990+i))   // wheel_speed_fl ×0.1
		out.Write(slcan.AppendFrame(nil, &can.Frame{ID: 0x100, Len: 8, Data: engine, Stamp: stamp}))
		out.Write(slcan.AppendFrame(nil, &can.Frame{ID: 0x120, Len: 8, Data: wheels, Stamp: stamp}))
	}
	if _, err := adapter.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every frame acknowledged", func() bool { return e.ackedFrames.Load() >= n })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if refused := testutil.ToFloat64(e.metrics.events.WithLabelValues("slcan:"+a, source.EventErrorReply)); refused != 1 {
		t.Fatalf("%v error replies counted, want 1", refused)
	}

	catRecs := readTopic(t, b.Addr, telemetry.TopicChannels)
	if len(catRecs) != 1 {
		t.Fatalf("%d catalogs", len(catRecs))
	}
	var cat telemetry.ChannelCatalog
	if err := telemetry.MustNewCodec().DecodeCatalog(catRecs[0].value, &cat); err != nil || cat.Car != "44" || cat.Session != "race1" {
		t.Fatalf("catalog %+v: %v", cat, err)
	}
	id := func(name string) int32 {
		ch, ok := cat.ByName(name)
		if !ok {
			t.Fatalf("no channel %s in the catalog", name)
		}
		return ch.ID
	}
	rpm, speed, steer, wfl := id(telemetry.ChanRPM), id(telemetry.ChanSpeed), id(telemetry.ChanSteering), id("wheel_speed_fl")
	got := framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions)["44"]
	if len(got) != n {
		t.Fatalf("%d frames, want %d (two CAN frames per stamp)", len(got), n)
	}
	for i, f := range got {
		if f.Session != "race1" || len(f.Samples) != 8 || (i > 0 && f.Seq != got[i-1].Seq+1) {
			t.Fatalf("frame %d: %+v", i, f)
		}
		if ms := f.TimeNs / 1e6 % 60000; ms != int64(i*5) {
			t.Fatalf("frame %d: %d ms into the minute, want %d", i, ms, i*5)
		}
		for ch, want := range map[int32]float64{rpm: float64(5000 + i), speed: float64(1000+i) * 0.1, steer: -float64(i) * 0.1, wfl: float64(990+i) * 0.1} {
			if v, _ := f.Value(ch); math.Abs(v-want) > 1e-9 {
				t.Fatalf("frame %d channel %d: %v, want %v", i, ch, v, want)
			}
		}
	}
}

// The simulator's SLCAN output on a pty (it answers the open sequence):
// its frames decode by the DBC to the simulated values.
func TestSLCANSimulatorToBroker(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	a, bEnd, _ := socatPair(t)
	e, stop := startEdge(t, testConfig(t, b.Addr, "slcan:"+a+"?dbc="+writeDBC(t)+"&car=car01"))
	waitFor(t, "the adapter open", func() bool { return e.sources[0].stats.up.Load() })
	cfg := simulator.Config{Cars: 1, Duration: 2 * time.Second, Speed: 4, Seed: 6, Quiet: true, Out: "slcan:" + bEnd, Logger: quietLogger()}
	want, _ := simFrames(t, cfg)
	if err := simulator.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a second of frames acknowledged", func() bool { return e.ackedFrames.Load() >= 1000 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The simulator's speed at every millisecond of the minute.
	speedAt := map[int64]float64{}
	simSpeed := speedID(t)
	for _, f := range want["car01"] {
		if v, ok := f.Value(simSpeed); ok {
			speedAt[f.TimeNs/1e6%60000] = v
		}
	}
	dec, _ := can.NewDecoder("pitwall.dbc", simulator.DBC, 100)
	cat := dec.Catalog("car01", "", 0)
	speed, _ := cat.ByName(telemetry.ChanSpeed)
	checked := 0
	for _, f := range framesByCar(t, readTopic(t, b.Addr, telemetry.TopicFrames), telemetry.DefaultPartitions)["car01"] {
		v, ok := f.Value(speed.ID)
		if !ok {
			continue
		}
		ms := f.TimeNs / 1e6 % 60000
		if w, ok := speedAt[ms]; ok {
			if math.Abs(v-w) > 1e-6 {
				t.Fatalf("at %d ms: speed %v, the simulator said %v", ms, v, w)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d speed samples matched to the simulation", checked)
	}
	for _, reason := range []string{source.ReasonMalformed, source.ReasonShortFrame, source.ReasonTooLong} {
		if n := testutil.ToFloat64(e.metrics.bad.WithLabelValues("slcan:"+a, reason)); n != 0 {
			t.Fatalf("%v %s records from the simulator", n, reason)
		}
	}
}

// speedID is the simulator catalog's id of the speed channel.
func speedID(t *testing.T) int32 {
	sim, err := simulator.New(simulator.Config{Cars: 1})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := sim.Catalog(0).ByName(telemetry.ChanSpeed)
	return ch.ID
}
