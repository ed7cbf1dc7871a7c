package nmea

import (
	"fmt"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

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

// BenchmarkEpoch: one receiver epoch (RMC, VTG, GGA: 220 bytes) split,
// checked and decoded into a frame. A 25 Hz receiver sends 25 a second.
func BenchmarkEpoch(b *testing.B) {
	var epochs [][]byte
	for i := range 1000 {
		tod := fmt.Sprintf("12%02d%02d.%03d", i/60%60, i%60, i%1000)
		epochs = append(epochs, sentences(
			"GPRMC,"+tod+",A,4807.038123,N,01131.000456,E,022.4,084.4,230394,,,A",
			"GPVTG,084.4,T,,M,022.4,N,41.48,K,A",
			"GPGGA,"+tod+",4807.038123,N,01131.000456,E,1,08,0.9,545.4,M,46.9,M,,"))
	}
	sink := &nopSink{}
	st := newStream("car01", "", sink)
	recv := time.Now()
	b.SetBytes(int64(len(epochs[0])))
	b.ResetTimer()
	b.ReportAllocs()
	for n := range b.N {
		st.feed(epochs[n%len(epochs)], recv)
	}
}
