package simulator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// Recorded-log formats WriteLog writes: the CSV exports of lap timers and
// loggers that `pitwall import` reads (package edge/logs).
const (
	LogRaceChrono  = "racechrono"  // RaceChrono CSV export, format 3
	LogTrackAddict = "trackaddict" // TrackAddict / RaceRender CSV
	LogAiM         = "aim"         // AiM Race Studio CSV export
	LogCSV         = "csv"         // a generic CSV (time,lat,lon,...,lap), for --format csv
)

// LogFormats are the formats WriteLog writes.
var LogFormats = []string{LogRaceChrono, LogTrackAddict, LogAiM, LogCSV}

// WriteLog simulates cfg (one car; Laps or Duration must end it) and writes
// the session to w as the recorded log a lap timer or logger would have
// exported (one of LogFormats), with the device's lap markers at the
// truth's start/finish crossings as each device marks them (TrackAddict:
// its Lap column changes at the first fix after a crossing, beside a
// "# Lap N" comment with the exact lap time, as the app does). It returns
// the truth laps. Rows are written at each GPS fix (TrackAddict: also a
// row between fixes that repeats the last fix with GPS_Update=0, as the
// phone's accelerometer rows do), values at the resolution the device
// writes: 8 decimals of a degree, milliseconds.
func WriteLog(ctx context.Context, cfg Config, format string, w io.Writer) ([]telemetry.Lap, error) {
	if cfg.Cars > 1 {
		return nil, fmt.Errorf("%w: a recorded log holds one car; run with --cars 1", ErrConfig)
	}
	if cfg.Laps == 0 && cfg.Duration == 0 {
		return nil, fmt.Errorf("%w: a recorded log needs an end: set laps or duration", ErrConfig)
	}
	if !slices.Contains(LogFormats, format) {
		return nil, fmt.Errorf("%w: log format %q: want %s", ErrConfig, format, strings.Join(LogFormats, ", "))
	}
	sim, err := New(cfg)
	if err != nil {
		return nil, err
	}
	rec := newLogRecorder(sim.Catalog(0))
	var laps []telemetry.Lap
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if more, err = sim.Step(rec.frame); err != nil {
			return nil, err
		}
		laps = sim.DrainLaps(laps)
	}
	rec.laps(laps)
	bw := bufio.NewWriter(w)
	title := sim.Config().Session
	switch format {
	case LogRaceChrono:
		rec.writeRaceChrono(bw, title, sim.Track().Def.Title)
	case LogTrackAddict:
		rec.writeTrackAddict(bw)
	case LogAiM:
		rec.writeAiM(bw, title, sim.Track().Def.Title, sim.Config().GPSRateHz)
	case LogCSV:
		rec.writeCSV(bw)
	}
	return laps, bw.Flush()
}

// logRow is one GPS fix with the latest engine values beside it.
type logRow struct {
	ns                            int64
	lat, lon, gpsSpeed, heading   float64
	speed, rpm, throttle, gLat, g float64
}

// logRecorder keeps a car's GPS fixes and its lap crossings.
type logRecorder struct {
	ids     map[string]int32
	cur     logRow
	rows    []logRow
	crosses []int64 // start/finish crossings, in order
}

func newLogRecorder(cat *telemetry.ChannelCatalog) *logRecorder {
	r := &logRecorder{ids: map[string]int32{}}
	for _, c := range cat.Channels {
		r.ids[c.Name] = c.ID
	}
	return r
}

func (r *logRecorder) frame(f *telemetry.Frame) error {
	get := func(name string, dst *float64) bool {
		id, ok := r.ids[name]
		if !ok {
			return false
		}
		v, ok := f.Value(id)
		if ok {
			*dst = v
		}
		return ok
	}
	get(telemetry.ChanSpeed, &r.cur.speed)
	get(telemetry.ChanRPM, &r.cur.rpm)
	get(telemetry.ChanThrottle, &r.cur.throttle)
	get(telemetry.ChanGLat, &r.cur.gLat)
	get(telemetry.ChanGLong, &r.cur.g)
	if get(telemetry.ChanGPSLat, &r.cur.lat) {
		get(telemetry.ChanGPSLon, &r.cur.lon)
		get(telemetry.ChanGPSSpeed, &r.cur.gpsSpeed)
		get(telemetry.ChanGPSHeading, &r.cur.heading)
		r.cur.ns = f.TimeNs
		r.rows = append(r.rows, r.cur)
	}
	return nil
}

// laps records the crossings of the truth laps: each lap's start and end.
func (r *logRecorder) laps(laps []telemetry.Lap) {
	for _, l := range laps {
		for _, ns := range []int64{l.StartNs, l.EndNs} {
			if !slices.Contains(r.crosses, ns) {
				r.crosses = append(r.crosses, ns)
			}
		}
	}
	slices.Sort(r.crosses)
}

// lapAt is the device's lap number at ns: the crossings at or before it,
// at the millisecond the device writes.
func (r *logRecorder) lapAt(ns int64) int {
	n, _ := slices.BinarySearchFunc(r.crosses, ms(ns)+1, func(x, t int64) int { return int(ms(x) - t) })
	return n
}

// ms rounds ns down to the millisecond, as the devices write time.
func ms(ns int64) int64 { return ns / 1e6 * 1e6 }

func unixSeconds(ns int64) string { return fmt.Sprintf("%d.%03d", ns/1e9, ns%1e9/1e6) }

// writeRaceChrono writes a RaceChrono CSV export, format 3: GPS rows with
// the OBD values beside them and, at every crossing, a row of its own
// where lap_number changes.
func (r *logRecorder) writeRaceChrono(w *bufio.Writer, title, trackName string) {
	start := r.rows[0].ns
	fmt.Fprintf(w, "This file is created using RaceChrono v9.1.3 ( http://racechrono.com/ ).\n")
	fmt.Fprintf(w, "Format,3\nSession title,\"%s\"\nSession type,Lap timing\nTrack name,\"%s\"\nDriver name,\n", title, trackName)
	fmt.Fprintf(w, "Created,%s\nNote,Pitwall simulator\n\n", time.Unix(0, start).UTC().Format("02/01/2006,15:04"))
	fmt.Fprintln(w, "timestamp,fragment_id,lap_number,elapsed_time,latitude,longitude,speed,bearing,speed,rpm,throttle_position,lateral_acc,longitudinal_acc")
	fmt.Fprintln(w, "unix time,,,s,deg,deg,m/s,deg,m/s,rpm,%,G,G")
	fmt.Fprintln(w, ",,,,100: gps,100: gps,100: gps,100: gps,200: obd,200: obd,200: obd,calc,calc")
	lapCell := func(ns int64) string {
		if n := r.lapAt(ns); n > 0 {
			return fmt.Sprint(n)
		}
		return ""
	}
	c := 0
	for _, row := range r.rows {
		for ; c < len(r.crosses) && ms(r.crosses[c]) < ms(row.ns); c++ {
			x := ms(r.crosses[c])
			fmt.Fprintf(w, "%s,0,%s,%.3f,,,,,,,,,\n", unixSeconds(x), lapCell(x), float64(x-start)/1e9)
		}
		fmt.Fprintf(w, "%s,0,%s,%.3f,%.8f,%.8f,%.3f,%.1f,%.3f,%.0f,%.1f,%.3f,%.3f\n", unixSeconds(row.ns), lapCell(row.ns), float64(row.ns-start)/1e9,
			row.lat, row.lon, row.gpsSpeed/3.6, row.heading, row.speed/3.6, row.rpm, row.throttle, row.gLat, row.g)
	}
	for ; c < len(r.crosses); c++ {
		x := ms(r.crosses[c])
		fmt.Fprintf(w, "%s,0,%s,%.3f,,,,,,,,,\n", unixSeconds(x), lapCell(x), float64(x-start)/1e9)
	}
}

// writeTrackAddict writes TrackAddict's RaceRender CSV as the app does:
// a GPS_Update=1 row at every fix and a GPS_Update=0 row half way to the
// next one that repeats the last fix (the phone's accelerometer rows).
// The Lap column counts the crossings up to the fix a row carries, so it
// changes at the first fix after a crossing, not at the crossing; just
// before that row goes "# Lap N: H:MM:SS.mmm", the lap the app timed by
// interpolation (lap 0 from the first row).
func (r *logRecorder) writeTrackAddict(w *bufio.Writer) {
	start := r.rows[0].ns
	fmt.Fprintln(w, "# RaceRender Data: TrackAddict 4.8.2 on Pitwall simulator (Mode: 0)")
	fmt.Fprintln(w, "# Vehicle: Pitwall simulator")
	fmt.Fprintf(w, "# End Point: %.6f, %.6f  @ -1.00 deg\n", r.rows[0].lat, r.rows[0].lon)
	fmt.Fprintln(w, `"Time","UTC Time","Lap","Predicted Lap Time","Predicted vs Best Lap","GPS_Update","GPS_Delay","Latitude","Longitude","Altitude (m)","Speed (Km/h)","Heading","Accuracy (m)","Accel X","Accel Y","Accel Z","Engine Speed (RPM) *OBD","Throttle Position (%) *OBD"`)
	put := func(ns int64, upd int, fix logRow) {
		fmt.Fprintf(w, "%.3f,%s,%d,0,0,%d,0.000,%.8f,%.8f,100.0,%.2f,%.1f,3.0,%.3f,%.3f,1.000,%.0f,%.1f\n", float64(ms(ns)-ms(start))/1e9, unixSeconds(ns),
			r.lapAt(ms(fix.ns)), upd, fix.lat, fix.lon, fix.gpsSpeed, fix.heading, fix.gLat, fix.g, fix.rpm, fix.throttle)
	}
	c := 0
	laps := func(until int64) { // the comments of the laps ended by crossings before until
		for ; c < len(r.crosses) && ms(r.crosses[c]) < until; c++ {
			prev := ms(start)
			if c > 0 {
				prev = ms(r.crosses[c-1])
			}
			d := time.Duration(ms(r.crosses[c]) - prev)
			fmt.Fprintf(w, "# Lap %d: %02d:%02d:%06.3f\n", c, int(d.Hours()), int(d.Minutes())%60, math.Mod(d.Seconds(), 60))
		}
	}
	for i, row := range r.rows {
		laps(ms(row.ns) + 1)
		put(row.ns, 1, row)
		if i+1 < len(r.rows) {
			put(row.ns+(r.rows[i+1].ns-row.ns)/2, 0, row)
		}
	}
	if c < len(r.crosses) { // a crossing after the last fix: a row of its own
		last := r.rows[len(r.rows)-1]
		x := r.crosses[len(r.crosses)-1]
		laps(math.MaxInt64)
		last.ns = x
		put(x, 0, last)
	}
	fmt.Fprintln(w, "# Session End")
}

// writeAiM writes an AiM Race Studio CSV export: one row per fix at the
// GPS rate, every value quoted, the crossings as Beacon Markers (seconds
// from the start, the end of the recording last) and Segment Times.
func (r *logRecorder) writeAiM(w *bufio.Writer, title, venue string, rateHz int) {
	start := time.Unix(0, r.rows[0].ns).UTC().Truncate(time.Minute)
	end := r.rows[len(r.rows)-1].ns
	rel := func(ns int64) string { return fmt.Sprintf("%.3f", float64(ms(ns)-start.UnixNano())/1e9) }
	q := func(cells ...string) {
		for i := range cells {
			cells[i] = `"` + cells[i] + `"`
		}
		fmt.Fprintln(w, strings.Join(cells, ","))
	}
	beacons := []string{"Beacon Markers"}
	segments := []string{"Segment Times"}
	prev := start.UnixNano()
	for _, x := range append(slices.Clone(r.crosses), end) {
		beacons = append(beacons, rel(x))
		d := time.Duration(ms(x) - ms(prev))
		segments = append(segments, fmt.Sprintf("%d:%06.3f", int(d.Minutes()), math.Mod(d.Seconds(), 60)))
		prev = x
	}
	q("Format", "AiM CSV File")
	q("Venue", venue)
	q("Vehicle", "Pitwall simulator")
	q("Racer", "")
	q("Championship", "")
	q("Date", start.Format("Monday, January 2, 2006"))
	q("Time", start.Format("3:04 PM"))
	q("Sample Rate", fmt.Sprint(rateHz))
	q("Duration", rel(end))
	q("Segment", "Session")
	q("Session", title)
	q(beacons...)
	q(segments...)
	fmt.Fprintln(w)
	q("Time", "GPS Speed", "GPS Latitude", "GPS Longitude", "GPS Heading", "RPM", "Throttle", "GPS LatAcc", "GPS LonAcc")
	q("s", "km/h", "deg", "deg", "deg", "rpm", "%", "g", "g")
	fmt.Fprintln(w)
	for _, row := range r.rows {
		q(rel(row.ns), fmt.Sprintf("%.2f", row.gpsSpeed), fmt.Sprintf("%.8f", row.lat), fmt.Sprintf("%.8f", row.lon), fmt.Sprintf("%.1f", row.heading),
			fmt.Sprintf("%.0f", row.rpm), fmt.Sprintf("%.1f", row.throttle), fmt.Sprintf("%.3f", row.gLat), fmt.Sprintf("%.3f", row.g))
	}
}

// writeCSV writes a generic CSV as a home-made logger might: a header
// row, a row per fix with Unix seconds, and a row of its own at every
// crossing where the lap column counts up.
func (r *logRecorder) writeCSV(w *bufio.Writer) {
	fmt.Fprintln(w, "time,lat,lon,gps_speed,heading,rpm,throttle,lap")
	c := 0
	cross := func(until int64) {
		for ; c < len(r.crosses) && ms(r.crosses[c]) < until; c++ {
			x := ms(r.crosses[c])
			fmt.Fprintf(w, "%s,,,,,,,%d\n", unixSeconds(x), r.lapAt(x))
		}
	}
	for _, row := range r.rows {
		cross(ms(row.ns))
		fmt.Fprintf(w, "%s,%.8f,%.8f,%.2f,%.1f,%.0f,%.1f,%d\n", unixSeconds(row.ns), row.lat, row.lon, row.gpsSpeed, row.heading, row.rpm, row.throttle, r.lapAt(row.ns))
	}
	cross(math.MaxInt64)
}
