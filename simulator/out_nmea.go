package simulator

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/pitwall/pitwall/telemetry"
)

// nmeaOutput behaves like an NMEA 0183 GPS receiver in one car: for every
// GPS fix (a frame carrying gps_lat and gps_lon, at Config.GPSRateHz) it
// writes the epoch's $GPRMC, $GPVTG and $GPGGA sentences, as a u-blox
// receiver does, with the fix's UTC time to the millisecond, the position
// to a millionth of a minute (2 mm), the speed in knots and km/h and the
// course. While the simulated receiver has a dropout it writes nothing.
type nmeaOutput struct {
	w      *bufio.Writer
	closer io.Closer
	car    string
	lat    int32 // channel ids; -1 until the catalog names them
	lon    int32
	speed  int32
	head   int32
	buf    []byte
}

func newNMEAOutput(w io.Writer, closer io.Closer) *nmeaOutput {
	return &nmeaOutput{w: bufio.NewWriterSize(w, 16<<10), closer: closer, lat: -1, lon: -1, speed: -1, head: -1}
}

func (o *nmeaOutput) Catalog(cat *telemetry.ChannelCatalog) error {
	if o.car != "" {
		return fmt.Errorf("%w: an NMEA receiver is in one car; run with --cars 1", ErrConfig)
	}
	o.car = cat.Car
	for _, c := range cat.Channels {
		switch c.Name {
		case telemetry.ChanGPSLat:
			o.lat = c.ID
		case telemetry.ChanGPSLon:
			o.lon = c.ID
		case telemetry.ChanGPSSpeed:
			o.speed = c.ID
		case telemetry.ChanGPSHeading:
			o.head = c.ID
		}
	}
	if o.lat < 0 || o.lon < 0 {
		return fmt.Errorf("%w: nmea output needs the gps_lat and gps_lon channels", ErrConfig)
	}
	return nil
}

func (o *nmeaOutput) Frame(f *telemetry.Frame) error {
	lat, ok1 := f.Value(o.lat)
	lon, ok2 := f.Value(o.lon)
	if !ok1 || !ok2 {
		return nil
	}
	kmh, _ := f.Value(o.speed)
	head, _ := f.Value(o.head)
	t := f.Time()
	tod := t.Format("150405.000")
	date := t.Format("020106")
	la, ns := nmeaAngle(lat, 2, "N", "S")
	lo, ew := nmeaAngle(lon, 3, "E", "W")
	kn := strconv.FormatFloat(kmh/1.852, 'f', 3, 64)
	course := strconv.FormatFloat(math.Mod(head+360, 360), 'f', 2, 64)
	b := o.buf[:0]
	b = nmeaSentence(b, "GPRMC,"+tod+",A,"+la+","+ns+","+lo+","+ew+","+kn+","+course+","+date+",,,A")
	b = nmeaSentence(b, "GPVTG,"+course+",T,,M,"+kn+",N,"+strconv.FormatFloat(kmh, 'f', 2, 64)+",K,A")
	b = nmeaSentence(b, "GPGGA,"+tod+","+la+","+ns+","+lo+","+ew+",1,12,0.8,52.3,M,47.1,M,,")
	o.buf = b
	_, err := o.w.Write(b)
	return err
}

// nmeaAngle formats degrees as NMEA's d..dmm.mmmmmm and its hemisphere.
func nmeaAngle(v float64, degDigits int, pos, neg string) (string, string) {
	hemi := pos
	if v < 0 {
		hemi, v = neg, -v
	}
	micro := int64(math.Round(v * 60e6)) // millionths of a minute
	deg, min := micro/60e6, float64(micro%60e6)/1e6
	return fmt.Sprintf("%0*d%09.6f", degDigits, deg, min), hemi
}

// nmeaSentence appends "$" body "*HH\r\n".
func nmeaSentence(b []byte, body string) []byte {
	var sum byte
	for i := 0; i < len(body); i++ {
		sum ^= body[i]
	}
	return fmt.Appendf(append(b, '$'), "%s*%02X\r\n", body, sum)
}

func (o *nmeaOutput) Flush() error { return o.w.Flush() }

func (o *nmeaOutput) Close() error {
	err := o.w.Flush()
	if o.closer != nil {
		if cerr := o.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
