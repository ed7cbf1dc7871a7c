package influx_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
)

// BenchmarkWriterWrite writes a 1 MB line-protocol batch (a processor's
// request while it keeps pace at 1.2 M samples/s: 100 points of 300
// channels' mean, min and max) to a real influxd; B/op is the writer's
// own memory per request.
func BenchmarkWriterWrite(b *testing.B) {
	srv := influxtest.Start(b)
	w, err := influx.New(influx.Config{URL: srv.URL, Bucket: "pitwall"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var batch []byte
	for p := range 100 {
		batch = fmt.Appendf(batch, "telemetry,car=car%02d,session=bench ", p%20+1)
		for c := range 300 {
			batch = fmt.Appendf(batch, "aux_%03d=%d.125,aux_%03d_min=%d.5,aux_%03d_max=%d.75,", c, c, c, c, c, c)
		}
		batch = fmt.Appendf(batch[:len(batch)-1], " %d\n", 1700000000000000000+int64(p/20)*50_000_000)
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
