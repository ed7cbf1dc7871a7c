package processors_test

import (
	"testing"

	"github.com/pitwall/pitwall/processors/alarm"
	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

// BenchmarkPartition measures what one partition goroutine does per
// record, on one core: decode the Avro frame, time laps, downsample into
// line protocol. Reported as samples/s (target >= 1.5 M per core).
//
//	go test -run '^$' -bench BenchmarkPartition -benchtime 3x ./processors
func BenchmarkPartition(b *testing.B) { benchPartition(b, nil) }

// BenchmarkPartitionAlarms is BenchmarkPartition with the example alarm
// rules (dashboards/alarms.example.yaml) evaluated on every frame, as
// --alarms does.
func BenchmarkPartitionAlarms(b *testing.B) {
	rs, err := alarm.Load("../dashboards/alarms.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	benchPartition(b, rs)
}

func benchPartition(b *testing.B, rules *alarm.Rules) {
	cfg := simulator.Config{Track: "monza", Cars: 1, Laps: 1, Seed: 1, GPSRateHz: 10, PitEvery: -1}
	s, err := simulator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	codec := telemetry.MustNewCodec()
	cat := s.Catalog(0)
	var recs [][]byte
	samples := 0
	for more := true; more; {
		if more, err = s.Step(func(f *telemetry.Frame) error {
			v, err := codec.AppendFrame(nil, f)
			recs = append(recs, v)
			samples += len(f.Samples)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	tr, _ := track.LookupTiming("monza")
	ch := lap.NewChannels(cat, "")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		det, _ := lap.NewDetector(lap.Config{Track: tr}, ch, cat.Car, "")
		ds := influx.NewDownsampler(cat, "", 0)
		var alarms *alarm.Car
		var events []telemetry.Alarm
		if rules != nil {
			alarms = alarm.NewCar(rules, cat)
		}
		var f telemetry.Frame
		var laps []telemetry.Lap
		batch := make([]byte, 0, 4<<20)
		for _, r := range recs {
			if err := codec.DecodeFrame(r, &f); err != nil {
				b.Fatal(err)
			}
			laps = det.Frame(&f, laps[:0])
			batch = ds.Frame(batch, &f)
			if alarms != nil {
				events = alarms.Frame(&f, events[:0])
			}
			if len(batch) > 4<<20-64<<10 {
				batch = batch[:0]
			}
		}
	}
	b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
