package telemetry

import (
	"testing"

	"github.com/hamba/avro/v2"
)

// benchFrame is a frame of a 300-channel car: what the end-to-end target
// (20 cars x 300 channels x 200 Hz) carries.
func benchFrame() *Frame {
	f := &Frame{Car: "car07", Session: "monza-fp1", Seq: 123456, TimeNs: 1_704_067_200_123_456_789}
	for i := range 300 {
		// Sensor values have a resolution: two decimals here.
		f.Samples = append(f.Samples, Sample{ID: int32(i + 1), Value: float64(i*137+25) / 100})
	}
	return f
}

func reportSamples(b *testing.B, n int) {
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkAppendFrame(b *testing.B) {
	c, f := MustNewCodec(), benchFrame()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = c.AppendFrame(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
	reportSamples(b, len(f.Samples))
}

func BenchmarkDecodeFrame(b *testing.B) {
	c := MustNewCodec()
	data, _ := c.AppendFrame(nil, benchFrame())
	var f Frame
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.DecodeFrame(data, &f); err != nil {
			b.Fatal(err)
		}
	}
	reportSamples(b, len(f.Samples))
}

// The same work through hamba/avro's reflection codec: why frames have a
// hand-written one.
func BenchmarkHambaMarshalFrame(b *testing.B) {
	c, f := MustNewCodec(), benchFrame()
	schema := c.readers[NameFrame]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := avro.Marshal(schema, f); err != nil {
			b.Fatal(err)
		}
	}
	reportSamples(b, len(f.Samples))
}

func BenchmarkHambaUnmarshalFrame(b *testing.B) {
	c := MustNewCodec()
	schema := c.readers[NameFrame]
	body := appendFrameBody(nil, benchFrame())
	var f Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := avro.Unmarshal(schema, body, &f); err != nil {
			b.Fatal(err)
		}
	}
	reportSamples(b, len(f.Samples))
}

func BenchmarkAppendFrameLine(b *testing.B) {
	f := benchFrame()
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFrameLine(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
	reportSamples(b, len(f.Samples))
}

func BenchmarkParseLine(b *testing.B) {
	line, _ := AppendFrameLine(nil, benchFrame())
	var f Frame
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := ParseLine(line, &f, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportSamples(b, len(f.Samples))
}

func BenchmarkPartition(b *testing.B) {
	key := []byte("car07")
	for b.Loop() {
		Partition(key, 12)
	}
}
