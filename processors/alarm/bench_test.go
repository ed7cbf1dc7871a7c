package alarm

import (
	"testing"

	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// BenchmarkCarFrame is the cost of the example rules on the simulator's
// standard channels, per frame and per sample: what --alarms adds to the
// lap processor's work.
func BenchmarkCarFrame(b *testing.B) {
	rs, err := Load("../../dashboards/alarms.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sim, err := simulator.New(simulator.Config{Track: "brands-indy", Duration: 60e9, Quiet: true})
	if err != nil {
		b.Fatal(err)
	}
	var frames []telemetry.Frame
	samples := 0
	for more := true; more; {
		more, err = sim.Step(func(f *telemetry.Frame) error {
			cp := *f
			cp.Samples = append([]telemetry.Sample(nil), f.Samples...)
			frames = append(frames, cp)
			samples += len(f.Samples)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	c := NewCar(rs, sim.Catalog(0))
	var out []telemetry.Alarm
	b.ResetTimer()
	for i := range b.N {
		out = c.Frame(&frames[i%len(frames)], out[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(samples)/float64(len(frames))), "ns/sample")
}
