package influx_test

import (
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// BenchmarkDownsample is one car of the pipeline benchmark's load (300
// channels, every one at 200 Hz) through the Downsampler: windows of the
// default length (DefaultWindow) of mean, min and max written as line
// protocol. Reported per sample.
//
//	go test -run '^$' -bench BenchmarkDownsample ./processors/influx
func BenchmarkDownsample(b *testing.B) {
	base := simulator.Config{Track: "monza", Cars: 1, Channels: 300, AuxRateHz: 200, Seed: 1, Quiet: true,
		Duration: 2 * time.Second, Start: time.Unix(1_700_000_000, 0)}
	probe, err := simulator.New(base)
	if err != nil {
		b.Fatal(err)
	}
	base.Rates = map[string]int{}
	for _, ch := range probe.Catalog(0).Channels {
		base.Rates[ch.Name] = 200
	}
	sim, err := simulator.New(base)
	if err != nil {
		b.Fatal(err)
	}
	var frames []telemetry.Frame
	samples := 0
	for more := true; more; {
		if more, err = sim.Step(func(f *telemetry.Frame) error {
			c := *f
			c.Samples = append([]telemetry.Sample(nil), f.Samples...)
			frames = append(frames, c)
			samples += len(f.Samples)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	cat := sim.Catalog(0)
	buf := make([]byte, 0, 8<<20)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ds := influx.NewDownsampler(cat, "s", 0)
		buf = buf[:0]
		for i := range frames {
			buf = ds.Frame(buf, &frames[i])
		}
		buf = ds.Flush(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*samples), "ns/sample")
	b.ReportMetric(float64(len(buf))/float64(samples), "bytes/sample")
}
