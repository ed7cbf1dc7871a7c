package simulator

import (
	"io"
	"testing"

	"github.com/pitwall/pitwall/telemetry"
)

// BenchmarkGenerate measures the generator alone at --speed max on one
// core: 20 cars of 300 channels (the end-to-end target's load), frames
// handed to a sink that only counts them.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name     string
		cars     int
		channels int
	}{
		{"20cars-300ch", 20, 300},
		{"20cars-standard", 20, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := New(Config{Cars: bc.cars, Channels: bc.channels})
			if err != nil {
				b.Fatal(err)
			}
			frames := 0
			sink := func(*telemetry.Frame) error { frames++; return nil }
			start := s.Samples()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Step(sink); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.Samples()-start)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(s.Samples()-start)/float64(b.N), "samples/op")
		})
	}
}

// BenchmarkSerialOutput is the generator plus the serial line encoding
// (what `pitwall sim --speed max --out serial:...` costs), to io.Discard.
func BenchmarkSerialOutput(b *testing.B) {
	s, err := New(Config{Cars: 20, Channels: 300})
	if err != nil {
		b.Fatal(err)
	}
	o := newLineOutput(io.Discard, nil)
	for i := range s.Cars() {
		if err := o.Catalog(s.Catalog(i)); err != nil {
			b.Fatal(err)
		}
	}
	start := s.Samples()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Step(o.Frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.Samples()-start)/b.Elapsed().Seconds(), "samples/s")
}
