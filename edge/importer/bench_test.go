package importer

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/simulator"
)

// benchLog is a 10-lap session at 25 Hz in format (about 12,000 rows).
func benchLog(b *testing.B, format string) []byte {
	var buf bytes.Buffer
	if _, err := simulator.WriteLog(context.Background(), simulator.Config{Track: testTrack, Laps: 10, GPSRateHz: 25, Quiet: true}, format, &buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkRead is the readers alone: a 25 Hz session's file to frames.
func BenchmarkRead(b *testing.B) {
	for _, format := range []string{simulator.LogRaceChrono, simulator.LogTrackAddict, simulator.LogAiM} {
		b.Run(format, func(b *testing.B) {
			content := benchLog(b, format)
			b.SetBytes(int64(len(content)))
			rows := 0
			for b.Loop() {
				l, err := logs.Read(bytes.NewReader(content), logs.Options{Car: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				rows = l.Rows
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkImport is `pitwall import --speed max` of that session into
// a Pitwall broker (brokertest, acks=all with fsync), each iteration a
// new car so nothing is "already imported".
func BenchmarkImport(b *testing.B) {
	addr := brokertest.Start(b).Addr
	content := benchLog(b, simulator.LogRaceChrono)
	cfg := testConfig(addr)
	b.SetBytes(int64(len(content)))
	frames, i := 0, 0
	for b.Loop() {
		i++
		res, err := Import(context.Background(), cfg, "bench.csv", content, logs.Options{Car: fmt.Sprintf("bench%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		frames = res.Sent
	}
	b.ReportMetric(float64(frames*b.N)/b.Elapsed().Seconds(), "frames/s")
}
