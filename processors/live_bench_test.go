package processors

import (
	"testing"

	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

// BenchmarkLiveCarFrame: what a processor does with every frame for the
// telemetry.live records (the newest value of the channels they carry),
// on a frame of the pipeline benchmark's 300-channel car. Per sample.
//
//	go test -run '^$' -bench BenchmarkLiveCarFrame ./processors
func BenchmarkLiveCarFrame(b *testing.B) {
	sim, err := simulator.New(simulator.Config{Track: "monza", Cars: 1, Channels: 300, AuxRateHz: 200, Seed: 1, Quiet: true})
	if err != nil {
		b.Fatal(err)
	}
	var f telemetry.Frame
	for len(f.Samples) < 300 {
		if _, err := sim.Step(func(fr *telemetry.Frame) error {
			if len(fr.Samples) > len(f.Samples) {
				f = *fr
				f.Samples = append([]telemetry.Sample(nil), fr.Samples...)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	lc := newLiveCar(sim.Catalog(0), false)
	for b.Loop() {
		lc.frame(&f)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(f.Samples)), "ns/sample")
}
