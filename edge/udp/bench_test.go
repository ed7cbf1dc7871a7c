package udp

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// nopSink validates frames as the edge's emitter does and keeps nothing.
type nopSink struct{ frames int }

func (s *nopSink) Frame(f *telemetry.Frame, _ time.Time) error {
	s.frames++
	return f.Validate()
}
func (s *nopSink) Catalog(c *telemetry.ChannelCatalog, _ time.Time) error { return c.Validate() }
func (s *nopSink) Bad(string, []byte, error, time.Time)                   {}
func (s *nopSink) Note(string, error)                                     {}
func (s *nopSink) Up(bool, error)                                         {}
func (s *nopSink) Flush() error                                           { return nil }

// BenchmarkF1GameFrame: one game frame of a full 22-car session (Motion,
// Lap Data, Car Telemetry, Car Status) decoded into 22 frames. The game
// sends at most 60 frames a second.
func BenchmarkF1GameFrame(b *testing.B) {
	sink := &nopSink{}
	st := newF1Stream("car", "", 60, sink, quiet())
	p := f1Packet(F1PacketParticipants, 0, 0)
	p[29] = 22
	for i := range 22 {
		p[30+i*60+5] = uint8(i + 1)
	}
	recv := time.Now()
	st.packet(p, recv)
	ids := []uint8{F1PacketMotion, F1PacketLapData, F1PacketCarTelemetry, F1PacketCarStatus}
	pkts := make([][]byte, len(ids))
	for i, id := range ids {
		pkts[i] = f1Packet(id, 0, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		ts := float32(n) / 60
		for _, pk := range pkts {
			binary.LittleEndian.PutUint32(pk[15:], math.Float32bits(ts))
			binary.LittleEndian.PutUint32(pk[19:], uint32(n+1))
			st.packet(pk, recv)
		}
	}
	st.idle(recv)
	b.ReportMetric(float64(sink.frames)/b.Elapsed().Seconds(), "car-frames/s")
}

// BenchmarkForzaPacket: one Data Out Dash packet into a frame.
func BenchmarkForzaPacket(b *testing.B) {
	sink := &nopSink{}
	st := newForzaStream("car01", "", 60, sink)
	recv := time.Now()
	b.ReportAllocs()
	for n := range b.N {
		st.packet(forzaPacket(ForzaDashLen, uint32(n+1), 0, 1, 0), recv)
	}
}
