package influx

import (
	"math"
	"strconv"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// Downsampler turns one car's frames into MeasurementTelemetry points: the
// mean, minimum and maximum of every channel over fixed windows of sensor
// time aligned to the epoch (so a replay of the same frames writes the same
// points, which overwrite the first ones). Not safe for concurrent use.
type Downsampler struct {
	window  int64
	car     string
	session string
	names   []string // by channel id; "" for unknown ids
	sum     []float64
	min     []float64
	max     []float64
	n       []int32
	touched []int32 // ids with samples in the open window
	open    int64   // start of the open window; -1 before the first frame
	live    float64
	liveOK  bool
	dist    float64
	distOK  bool
}

// DefaultWindow is 100 ms: 10 points per second per car, each with every
// channel's mean, minimum and maximum (so no peak of the full-rate data
// is lost). InfluxDB 1.8 pays per field value, in its writes and again in
// every compaction: for a grid of 20 cars × 300 channels, 50 ms windows
// (360,000 values a second) kept influxd at 0.7 of a 2-core laptop's
// cores and its latency growing as its compactions deepened, 100 ms at
// 0.4 and steady (BENCHMARKS.md, issue 17). The full-rate data stays in
// the log and reaches the live stream and the lap timing; a team with a
// few cars can afford pitwall process --window 50ms.
const DefaultWindow = 100 * time.Millisecond

// NewDownsampler returns a downsampler for one car with the channel names
// of cat and windows of the given length (0: DefaultWindow).
func NewDownsampler(cat *telemetry.ChannelCatalog, session string, window time.Duration) *Downsampler {
	if window <= 0 {
		window = DefaultWindow
	}
	var top int32 = -1
	for _, c := range cat.Channels {
		top = max(top, c.ID)
	}
	d := &Downsampler{
		window: int64(window), car: cat.Car, session: session, open: -1,
		names: make([]string, top+1), sum: make([]float64, top+1),
		min: make([]float64, top+1), max: make([]float64, top+1), n: make([]int32, top+1),
	}
	for _, c := range cat.Channels {
		d.names[c.ID] = c.Name
	}
	return d
}

// Open returns the start of the open window (-1 before any frame).
func (d *Downsampler) Open() int64 { return d.open }

// WindowOf returns the start of the window holding time ns.
func (d *Downsampler) WindowOf(ns int64) int64 { return ns - ns%d.window }

// Live sets the live delta reported with the open window.
func (d *Downsampler) Live(delta float64, ok bool) { d.live, d.liveOK = delta, ok }

// Distance sets the lap distance reported with the open window.
func (d *Downsampler) Distance(m float64, ok bool) { d.dist, d.distOK = m, ok }

// Frame adds f's samples; when f starts a new window it first appends the
// closed window's point to dst.
func (d *Downsampler) Frame(dst []byte, f *telemetry.Frame) []byte {
	w := d.WindowOf(f.TimeNs)
	if w > d.open { // a late frame (w < open) is folded into the open window
		dst = d.Flush(dst)
		d.open = w
	}
	for _, s := range f.Samples {
		id := s.ID
		if id < 0 || int(id) >= len(d.names) || d.names[id] == "" {
			continue
		}
		if d.n[id] == 0 {
			d.touched = append(d.touched, id)
			d.sum[id], d.min[id], d.max[id] = 0, math.Inf(1), math.Inf(-1)
		}
		d.n[id]++
		d.sum[id] += s.Value
		d.min[id] = math.Min(d.min[id], s.Value)
		d.max[id] = math.Max(d.max[id], s.Value)
	}
	return dst
}

// Flush appends the open window's point, if it has samples, and empties
// it.
func (d *Downsampler) Flush(dst []byte) []byte {
	if len(d.touched) == 0 {
		return dst
	}
	dst = appendHead(dst, MeasurementTelemetry, d.car, d.session)
	for _, id := range d.touched {
		name := d.names[id]
		dst = appendField(dst, name, "", d.sum[id]/float64(d.n[id]))
		dst = appendField(dst, name, "_min", d.min[id])
		dst = appendField(dst, name, "_max", d.max[id])
		d.n[id] = 0
	}
	if d.liveOK {
		dst = appendField(dst, "live_delta", "", d.live)
	}
	if d.distOK {
		dst = appendField(dst, "lap_distance", "", d.dist)
	}
	dst = dst[:len(dst)-1] // the last field's comma
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, d.open, 10)
	dst = append(dst, '\n')
	d.touched = d.touched[:0]
	return dst
}

func appendField(dst []byte, name, suffix string, v float64) []byte {
	dst = append(dst, name...)
	dst = append(dst, suffix...)
	dst = append(dst, '=')
	dst = appendFloat(dst, v)
	return append(dst, ',')
}

// appendFloat appends v so that InfluxDB reads back exactly v. Samples
// have a resolution of a few decimals, so a minimum or a maximum (and many
// a mean) is a fixed-point number with at most 9 decimals, found without
// strconv's shortest-representation search, which was about a tenth of a
// processor's CPU under the pipeline's load (issue 17). Anything else is
// strconv's 'g' form, as before.
func appendFloat(dst []byte, v float64) []byte {
	if v != 0 || !math.Signbit(v) {
		for d, p := range pow10 {
			x := v * p
			if x > 1e15 || x < -1e15 {
				break
			}
			// n and 10^d are exact, so n/10^d is the correctly rounded
			// quotient, as is parsing "n with d decimals": equal means
			// the text reads back as v.
			if n := math.Round(x); n/p == v {
				return appendFixed(dst, int64(n), d)
			}
		}
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// pow10 are the powers of ten exact in a float64 that appendFloat tries.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// appendFixed appends n / 10^d with exactly d decimals.
func appendFixed(dst []byte, n int64, d int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [24]byte
	i := len(buf)
	for range d {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if d > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}
