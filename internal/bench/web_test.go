package bench

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/simulator"
)

func TestParseWebArgs(t *testing.T) {
	c, err := ParseWebArgs(nil, io.Discard)
	if err != nil || c.Cars != 20 || c.Hz != 200 || c.Duration != time.Minute || c.Chromium != "/usr/bin/chromium" {
		t.Fatalf("defaults %+v %v", c, err)
	}
	c, err = ParseWebArgs([]string{"--cars", "4", "--hz", "100", "--duration", "5s", "--warmup", "0s"}, io.Discard)
	if err != nil || c.Cars != 4 || c.Hz != 100 || c.Duration != 5*time.Second || c.Warmup != 0 {
		t.Fatalf("parsed %+v %v", c, err)
	}
	for _, bad := range [][]string{{"--cars", "0"}, {"--hz", "300"}, {"--duration", "0s"}, {"extra"}} {
		if _, err := ParseWebArgs(bad, io.Discard); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", bad, err)
		}
	}
}

// The rates bench web gives pitwall up --rate name every channel of the
// simulator's standard set, and the simulator takes them.
func TestWebRates(t *testing.T) {
	rates, err := simulator.ParseRates(webRates(200))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(simulator.Config{Track: "brands-indy", Cars: 1, Rates: rates})
	if err != nil {
		t.Fatalf("the simulator refuses bench web's rates: %v", err)
	}
	cat := sim.Catalog(0)
	if len(cat.Channels) != len(webChannels()) {
		t.Errorf("the simulator has %d channels, bench web sets %d", len(cat.Channels), len(webChannels()))
	}
	for _, ch := range cat.Channels {
		if ch.RateHz != 200 {
			t.Errorf("%s at %v Hz, want 200", ch.Name, ch.RateHz)
		}
	}
	if !strings.Contains(webRates(100), "g_vert=100") {
		t.Errorf("rates %s", webRates(100))
	}
}

func TestDist(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(100 - i)
	}
	d := dist(v)
	if d.N != 100 || d.Min != 1 || d.P50 != 50 || d.P99 != 99 || d.Max != 100 {
		t.Errorf("dist %+v", d)
	}
	if d := dist(nil); d.N != 0 {
		t.Errorf("empty %+v", d)
	}
}

// A trace's long tasks on the page's main thread, with the time of each
// kind of event inside them counted without what is nested in it; other
// threads and short tasks are not counted.
func TestSummarizeTrace(t *testing.T) {
	ev := func(s string) []byte { return []byte(s) }
	events := [][]byte{
		ev(`{"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"CrRendererMain"}}`),
		ev(`{"ph":"M","name":"thread_name","pid":1,"tid":2,"args":{"name":"Compositor"}}`),
		// A 100 ms task: 60 ms of script (of which 20 ms GC), 30 ms
		// layout; half of it on a core (tdur).
		ev(`{"ph":"X","name":"RunTask","pid":1,"tid":1,"ts":1000,"dur":100000,"tdur":50000}`),
		ev(`{"ph":"X","name":"FunctionCall","pid":1,"tid":1,"ts":2000,"dur":60000,"tdur":30000}`),
		ev(`{"ph":"X","name":"MinorGC","pid":1,"tid":1,"ts":10000,"dur":20000,"tdur":10000}`),
		ev(`{"ph":"X","name":"Layout","pid":1,"tid":1,"ts":62000,"dur":30000,"tdur":15000}`),
		// A short task (counted in the CPU only), and a long one on
		// another thread: not counted.
		ev(`{"ph":"X","name":"RunTask","pid":1,"tid":1,"ts":200000,"dur":10000,"tdur":10000}`),
		ev(`{"ph":"X","name":"Layout","pid":1,"tid":1,"ts":201000,"dur":5000,"tdur":5000}`),
		ev(`{"ph":"X","name":"RunTask","pid":1,"tid":2,"ts":1000,"dur":90000}`),
		ev(`not json`),
	}
	lt := summarizeTrace(events, 50)
	if lt.Tasks != 1 || lt.TotalMs != 100 || lt.MaxMs != 100 || lt.BusyMs != 110 || lt.SpanMs != 209 {
		t.Fatalf("summary %+v", lt)
	}
	want := []NamedMs{{"FunctionCall", 40}, {"Layout", 30}, {"MinorGC", 20}, {"RunTask", 10}}
	if !slices.Equal(lt.Self, want) {
		t.Errorf("self times %v, want %v", lt.Self, want)
	}
	wantCPU := []NamedMs{{"FunctionCall", 20}, {"Layout", 20}, {"MinorGC", 10}, {"RunTask", 10}}
	if lt.CPUMs != 60 || !slices.Equal(lt.SelfCPU, wantCPU) {
		t.Errorf("CPU %v ms, by event %v; want 60 ms, %v", lt.CPUMs, lt.SelfCPU, wantCPU)
	}
}

// The benchmark names a live record as the page does
// (`${car}@${Math.round(time_ns / 1e6)}`): sample time rounded to the
// nearest ms.
func TestLiveKey(t *testing.T) {
	for ns, want := range map[int64]string{
		1796577426033728476: "car01@1796577426034",
		1796577426033499999: "car01@1796577426033",
		1796577426033000000: "car01@1796577426033",
	} {
		if got := liveKey("car01", ns); got != want {
			t.Errorf("liveKey(%d) = %s, want %s", ns, got, want)
		}
	}
}
