package importer

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/broker/brokertest"
	"github.com/pitwall/pitwall/edge/logs"
	"github.com/pitwall/pitwall/telemetry"
	"github.com/pitwall/pitwall/track"
)

var update = flag.Bool("update", false, "rewrite the sample logs in testdata")

// The samples in testdata are sessions on a made-up oval (testdata/
// oval.yaml, written by hand), in each device's format as its published
// description has it, written by writeSamples below (go test -run
// TestSamples -update) from its own model of a car, not the simulator's:
//
//   - racechrono_25hz.csv: RaceChrono export v3 from a 25 Hz GPS logger
//     (7 decimals, 2 cm of noise), a row of its own at each crossing;
//   - aim_20hz.csv: AiM Race Studio export at 20 Hz, Beacon Markers;
//   - trackaddict_1hz.csv: TrackAddict on a phone: GPS at 1 Hz (1 m of
//     noise), 10 Hz accelerometer rows repeating the last fix, the Lap
//     column counting up on the first row after each crossing;
//   - racechrono_1hz.csv: RaceChrono Pro on a phone, as a real export
//     of one is laid out (docs/real-logs.md): GPS at 1 Hz (3 m of noise)
//     beside a 20 Hz CAN bus, every row carrying the GPS cells
//     interpolated along the chord between the fixes either side, and a
//     row at each crossing RaceChrono timed on those chords (timestamp to
//     the millisecond, elapsed_time to 10 µs).
//
// Each is an out lap from a standing start, sampleLaps timed laps and a
// part lap; lap samplePit ends in the pit lane (a stop at the box) and
// the next starts there.
const (
	sampleLaps = 3
	samplePit  = 2
)

// Each sample is imported and timed, with the oval's track file written
// by hand and with one derived from the 25 Hz log (track.Derive over the
// log's fixes and the device's lap markers, as `pitwall track derive`
// does): every lap the device timed is there once, none more, the pit
// laps are marked, and Pitwall's time is within 5 ms of the device's at
// 20-25 Hz, within 1 s at 1 Hz.
func TestSamples(t *testing.T) {
	if *update {
		writeSamples(t)
	}
	written, err := track.LoadTiming(filepath.Join("testdata", "oval.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t).Addr
	cfg := testConfig(b)
	samples := []sample{
		{"racechrono_25hz.csv", logs.FormatRaceChrono, 5 * time.Millisecond},
		{"aim_20hz.csv", logs.FormatAiM, 5 * time.Millisecond},
		{"trackaddict_1hz.csv", logs.FormatTrackAddict, time.Second},
		// The device timed its laps on the chords between its 1 Hz fixes
		// as Pitwall does: on the same line, the same time.
		{"racechrono_1hz.csv", logs.FormatRaceChrono, 5 * time.Millisecond},
	}
	var derived *track.Timing
	for i, s := range samples {
		res := importFile(t, cfg, filepath.Join("testdata", s.file), fmt.Sprintf("sample%d", i+1))
		if res.Log.Format != s.format || len(res.Log.Markers) != sampleLaps+1 || res.Log.BadCount() != 0 {
			t.Fatalf("%s: format %s, %d device lap markers (want %d), bad rows: %s", s.file, res.Log.Format, len(res.Log.Markers), sampleLaps+1, res.Log.BadSummary())
		}
		if i == 0 {
			fixes, markers := res.Log.Fixes(false)
			if derived, err = track.Derive(fixes, markers, track.DeriveConfig{Name: "oval-derived"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("written", func(t *testing.T) { timeSamples(t, b, "samples-written", written, samples) })
	t.Run("derived", func(t *testing.T) { timeSamples(t, b, "samples-derived", *derived, samples) })
}

type sample struct {
	file   string
	format logs.Format
	tol    time.Duration
}

// timeSamples times the imported samples (cars sample1, ...) on timing
// in a group of their own and checks the laps against the device's.
func timeSamples(t *testing.T, addr, group string, timing track.Timing, samples []sample) {
	startProcessorTiming(t, addr, group, timing)
	got := waitLaps(t, addr, group, len(samples)*sampleLaps)
	byCar := map[string][]telemetry.Lap{}
	for _, l := range got {
		byCar[l.Car] = append(byCar[l.Car], l)
	}
	for i, s := range samples {
		laps := byCar[fmt.Sprintf("sample%d", i+1)]
		sort.Slice(laps, func(i, j int) bool { return laps[i].Lap < laps[j].Lap })
		t.Logf("%s:\n%s", s.file, lapList(laps))
		if len(laps) != sampleLaps {
			t.Errorf("%s: %d laps, want the device's %d once each", s.file, len(laps), sampleLaps)
			continue
		}
		for j, l := range laps {
			pit := l.Lap == samplePit || l.Lap == samplePit+1
			if l.Lap != int32(j+1) || l.PitLane != pit || l.DeviceNs == nil || (l.LapTime()-time.Duration(*l.DeviceNs)).Abs() > s.tol {
				t.Errorf("%s lap %d: %v pit %v, device %v; want lap %d pit %v within %v of the device", s.file, l.Lap, l.LapTime(), l.PitLane,
					l.DeviceNs, j+1, pit, s.tol)
			}
		}
	}
}

// The oval: a bottom straight from (0,0) to (400,0) driven east, a
// left-hand half circle of radius 80 m, the top straight back west at
// y=160, another half circle; x east, y north, metres from origin.
// Start/finish crosses the bottom straight at x=200; the pit lane runs
// 15 m south of it.
const (
	ovalR      = 80.0
	ovalLen    = 800 + 2*math.Pi*ovalR
	ovalSF     = 200.0
	ovalPitY   = -15.0
	ovalLat0   = 52.0
	ovalLon0   = -1.0
	sampleStop = 12 * time.Second // at the pit box
)

var sampleStart = time.Date(2025, 7, 5, 10, 31, 0, 0, time.UTC)

// ovalAt is the centreline at s metres from the origin, and its heading
// (degrees clockwise from north).
func ovalAt(s float64) (x, y, heading float64) {
	s = math.Mod(s, ovalLen)
	switch {
	case s < 400:
		return s, 0, 90
	case s < 400+math.Pi*ovalR:
		a := -math.Pi/2 + (s-400)/ovalR
		return 400 + ovalR*math.Cos(a), ovalR + ovalR*math.Sin(a), math.Mod(90-(a+math.Pi/2)*180/math.Pi+360, 360)
	case s < 800+math.Pi*ovalR:
		return 400 - (s - 400 - math.Pi*ovalR), 2 * ovalR, 270
	default:
		a := math.Pi/2 + (s-800-math.Pi*ovalR)/ovalR
		return ovalR * math.Cos(a), ovalR + ovalR*math.Sin(a), math.Mod(90-(a+math.Pi/2)*180/math.Pi+360, 360)
	}
}

// ovalSpeed is the car's speed (m/s) at s: 42 on the straights, 24 in the
// bends, braking over the last 60 m of a straight and accelerating over
// the first 80 m of the next; through the pit lane 16.
func ovalSpeed(s float64, pit bool) float64 {
	s = math.Mod(s, ovalLen)
	const fast, slow = 42.0, 24.0
	straight := func(d float64) float64 { // d metres into a 400 m straight
		v := fast
		if d < 80 {
			v = slow + (fast-slow)*d/80
		}
		if d > 340 {
			v = min(v, slow+(fast-slow)*(400-d)/60)
		}
		return v
	}
	switch {
	case s < 400:
		v := straight(s)
		if pit && s > 40 && s < 360 {
			v = min(v, 16)
		}
		return v
	case s < 400+math.Pi*ovalR:
		return slow
	case s < 800+math.Pi*ovalR:
		return straight(s - 400 - math.Pi*ovalR)
	}
	return slow
}

// sampleFix is the car at one instant.
type sampleFix struct {
	ns                 int64
	x, y, speed, head  float64
	lat, lon, distance float64
}

// drive runs the car from x=100 on the bottom straight, standing, for
// an out lap, sampleLaps laps and 150 m, stepping 1 ms; it returns the
// state every step (decimated by the writers) and the start/finish
// crossings, interpolated within the step.
func drive() (fixes []sampleFix, crosses []int64) {
	s, v, dist, crossDist := 100.0, 0.0, 0.0, 0.0
	ns := sampleStart.UnixNano()
	lap := 0 // crossings so far
	stopLeft := time.Duration(-1)
	factor := []float64{1, 0.99, 1.01, 0.995, 1.005}
	prevX := 100.0
	for lap <= sampleLaps || math.Mod(s, ovalLen) < 350 {
		// The pit lane: the bottom straight up to the line on the lap
		// that ends in it, and from the line on the next.
		d, since := math.Mod(s, ovalLen), dist-crossDist
		pit := d < 400 && (lap == samplePit && since > ovalLen/2 || lap == samplePit+1 && since < ovalLen/2)
		x, y, h := ovalAt(s)
		if pit {
			y = ovalPitY * math.Max(0, math.Min(1, math.Min((d-40)/70, (360-d)/70)))
		}
		lat := ovalLat0 + y/track.EarthRadius*180/math.Pi
		lon := ovalLon0 + x/(track.EarthRadius*math.Cos(ovalLat0*math.Pi/180))*180/math.Pi
		fixes = append(fixes, sampleFix{ns: ns, x: x, y: y, speed: v, head: h, lat: lat, lon: lon, distance: dist})
		// The car's speed follows the profile, at most 6 m/s² up.
		target := ovalSpeed(s, pit) * factor[min(lap, len(factor)-1)]
		if pit && lap == samplePit+1 && stopLeft < 0 && d > 230 {
			stopLeft = sampleStop
		}
		if stopLeft > 0 {
			v, target = 0, 0
			stopLeft -= time.Millisecond
		}
		v = min(target, v+6*0.001)
		s += v * 0.001
		dist += v * 0.001
		ns += int64(time.Millisecond)
		nx, ny, _ := ovalAt(s)
		if prevX < ovalSF && nx >= ovalSF && ny < ovalR {
			// Crossed x=200 going east in this step: interpolate.
			crosses = append(crosses, ns-int64(time.Millisecond)+int64(float64(time.Millisecond)*(ovalSF-prevX)/(nx-prevX)))
			lap++
			crossDist = dist
		}
		prevX = nx
	}
	return fixes, crosses
}

// writeSamples writes the three sample logs from one drive.
func writeSamples(t *testing.T) {
	fixes, crosses := drive()
	if len(crosses) != sampleLaps+1 {
		t.Fatalf("the model crossed start/finish %d times, want %d", len(crosses), sampleLaps+1)
	}
	rng := rand.New(rand.NewPCG(15, 2025))
	noisy := func(f sampleFix, sigma float64) (lat, lon float64) {
		dy, dx := sigma*rng.NormFloat64(), sigma*rng.NormFloat64()
		return f.lat + dy/track.EarthRadius*180/math.Pi, f.lon + dx/(track.EarthRadius*math.Cos(ovalLat0*math.Pi/180))*180/math.Pi
	}
	lapsBefore := func(ns int64) int { // device laps started at or before ns (ms resolution)
		return sort.Search(len(crosses), func(i int) bool { return crosses[i]/1e6 > ns/1e6 })
	}
	unix := func(ns int64) string { return fmt.Sprintf("%d.%03d", ns/1e9, ns%1e9/1e6) }
	start := fixes[0].ns
	write := func(name string, fn func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fn(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}

	write("racechrono_25hz.csv", func(w *bufio.Writer) {
		fmt.Fprint(w, "This file is created using RaceChrono v9.1.3 ( http://racechrono.com/ ).\nFormat,3\nSession title,\"Oval test day\"\n"+
			"Session type,Lap timing\nTrack name,\"Oval\"\nDriver name,\nCreated,05/07/2025,10:31\nNote,\n\n")
		fmt.Fprintln(w, "timestamp,fragment_id,lap_number,elapsed_time,distance_traveled,accuracy,latitude,longitude,satellites,speed,bearing")
		fmt.Fprintln(w, "unix time,,,s,m,m,deg,deg,sats,m/s,deg")
		fmt.Fprintln(w, ",,,,,100: gps,100: gps,100: gps,100: gps,100: gps,100: gps")
		c := 0
		lapCell := func(ns int64) string {
			if n := lapsBefore(ns); n > 0 {
				return fmt.Sprint(n)
			}
			return ""
		}
		for i := 0; i < len(fixes); i += 40 {
			f := fixes[i]
			for ; c < len(crosses) && crosses[c]/1e6 < f.ns/1e6; c++ {
				x := crosses[c] / 1e6 * 1e6
				g := fixes[(x-start)/1e6]
				fmt.Fprintf(w, "%s,0,%s,%.3f,%.1f,,,,,,\n", unix(x), lapCell(x), float64(x-start)/1e9, g.distance)
			}
			lat, lon := noisy(f, 0.02)
			fmt.Fprintf(w, "%s,0,%s,%.3f,%.1f,0.5,%.7f,%.7f,14,%.2f,%.1f\n", unix(f.ns), lapCell(f.ns), float64(f.ns-start)/1e9, f.distance, lat, lon, f.speed, f.head)
		}
	})

	write("aim_20hz.csv", func(w *bufio.Writer) {
		q := func(cells ...string) {
			fmt.Fprintln(w, `"`+strings.Join(cells, `","`)+`"`)
		}
		end := fixes[len(fixes)-1].ns / 50e6 * 50e6
		rel := func(ns int64) string { return fmt.Sprintf("%.3f", float64(ns/1e6*1e6-start)/1e9) }
		beacons, segs := []string{"Beacon Markers"}, []string{"Segment Times"}
		prev := start
		for _, x := range append(slices.Clone(crosses), end) {
			d := time.Duration(x/1e6*1e6 - prev/1e6*1e6)
			beacons = append(beacons, rel(x))
			segs = append(segs, fmt.Sprintf("%d:%06.3f", int(d.Minutes()), math.Mod(d.Seconds(), 60)))
			prev = x
		}
		q("Format", "AiM CSV File")
		q("Venue", "Oval")
		q("Vehicle", "Caterham 7")
		q("Racer", "")
		q("Championship", "")
		q("Date", "Saturday, July 5, 2025")
		q("Time", "10:31 AM")
		q("Sample Rate", "20")
		q("Duration", rel(end))
		q("Segment", "Session")
		q("Session", "Oval test day")
		q(beacons...)
		q(segs...)
		fmt.Fprintln(w)
		q("Time", "GPS Speed", "GPS Nsat", "GPS LatAcc", "GPS Latitude", "GPS Longitude", "GPS Heading")
		q("s", "km/h", "", "g", "deg", "deg", "deg")
		fmt.Fprintln(w)
		for i := 0; i < len(fixes) && fixes[i].ns <= end; i += 50 {
			f := fixes[i]
			lat, lon := noisy(f, 0.02)
			q(rel(f.ns), fmt.Sprintf("%.2f", f.speed*3.6), "12", "0.00", fmt.Sprintf("%.8f", lat), fmt.Sprintf("%.8f", lon), fmt.Sprintf("%.1f", f.head))
		}
	})

	write("trackaddict_1hz.csv", func(w *bufio.Writer) {
		fmt.Fprintln(w, "# RaceRender Data: TrackAddict 4.8.2 on Android 14 [Pixel 6a] (Mode: 0)")
		fmt.Fprintln(w, "# Vehicle: Mazda MX-5")
		fmt.Fprintf(w, "# End Point: %.6f, %.6f  @ -1.00 deg\n", fixes[0].lat, fixes[0].lon)
		fmt.Fprintln(w, "# GPS: Android; Mode: Android")
		fmt.Fprintln(w, `"Time","UTC Time","Lap","Predicted Lap Time","Predicted vs Best Lap","GPS_Update","GPS_Delay","Latitude","Longitude","Altitude (m)","Altitude (ft)","Speed (MPH)","Heading","Accuracy (m)","Accel X","Accel Y","Accel Z"`)
		var fix sampleFix
		var lat, lon float64
		lap, lastCross := 0, start
		inPit := false
		for i := 0; i < len(fixes); i += 100 {
			f := fixes[i]
			upd := 0
			if i%1000 == 0 {
				fix, upd = f, 1
				lat, lon = noisy(f, 1.0)
			}
			if n := sort.Search(len(crosses), func(k int) bool { return crosses[k] > f.ns }); n != lap {
				if lap > 0 {
					d := time.Duration(f.ns - lastCross)
					fmt.Fprintf(w, "# Lap %d: %02d:%02d:%06.3f\n", lap, int(d.Hours()), int(d.Minutes())%60, math.Mod(d.Seconds(), 60))
				}
				lap, lastCross = n, f.ns
			}
			if p := f.y < ovalPitY/2; p != inPit {
				inPit = p
				fmt.Fprintln(w, map[bool]string{true: "# Pit Lane Entry", false: "# Pit Lane Exit"}[p])
			}
			fmt.Fprintf(w, "%.3f,%s,%d,0,0,%d,0.000,%.7f,%.7f,95.0,311.7,%.2f,%.1f,5.0,0.01,0.02,1.00\n", float64(f.ns-start)/1e9, unix(f.ns), lap,
				upd, lat, lon, fix.speed/0.44704, fix.head)
		}
		fmt.Fprintln(w, "# Session End")
	})

	write("racechrono_1hz.csv", func(w *bufio.Writer) {
		// The receiver's fixes, a second apart, with a phone's noise.
		type gpsFix struct {
			f        sampleFix
			lat, lon float64
		}
		var gps []gpsFix
		for i := 0; i < len(fixes); i += 1000 {
			lat, lon := noisy(fixes[i], 3)
			gps = append(gps, gpsFix{fixes[i], lat, lon})
		}
		east := func(lon float64) float64 {
			return (lon - ovalLon0) * math.Pi / 180 * track.EarthRadius * math.Cos(ovalLat0*math.Pi/180)
		}
		// RaceChrono's crossings: where a chord between two fixes on the
		// bottom straight passes x = 200 going east.
		type crossing struct {
			ns int64
			k  int // the chord from gps[k]
			t  float64
		}
		var devCross []crossing
		for k := 0; k+1 < len(gps); k++ {
			a, b := gps[k], gps[k+1]
			xa, xb := east(a.lon), east(b.lon)
			if xa < ovalSF && xb >= ovalSF && a.f.y < ovalR {
				t := (ovalSF - xa) / (xb - xa)
				devCross = append(devCross, crossing{a.f.ns + int64(t*1e9), k, t})
			}
		}
		if len(devCross) != sampleLaps+1 {
			t.Fatalf("racechrono_1hz: %d crossings on the chords, want %d", len(devCross), sampleLaps+1)
		}
		fmt.Fprint(w, "This file is created using RaceChrono Pro v9.1.3 ( http://racechrono.com/ ).\nFormat,3\nSession title,\"Oval phone\"\n"+
			"Session type,Lap timing\nTrack name,\"Oval\"\nDriver name,\nCreated,05/07/2025,10:31\nNote,\n\n")
		fmt.Fprintln(w, "timestamp,fragment_id,lap_number,elapsed_time,distance_traveled,accuracy,bearing,device_update_rate,latitude,longitude,speed,speed")
		fmt.Fprintln(w, "unix time,,,s,m,m,deg,Hz,deg,deg,m/s,m/s")
		fmt.Fprintln(w, ",,,,,100: gps,100: gps,100: gps,100: gps,100: gps,100: gps,200: canbus")
		laps := func(ns int64) string { // crossings at or before ns
			n := sort.Search(len(devCross), func(i int) bool { return devCross[i].ns > ns })
			if n == 0 {
				return ""
			}
			return fmt.Sprint(n)
		}
		// One row: the GPS cells interpolated on the chord from gps[k]
		// at fraction t, the CAN speed as the car had it.
		row := func(ts, elapsed string, ns int64, k int, t float64, can float64) {
			a, b := gps[k], gps[min(k+1, len(gps)-1)]
			lerp := func(x, y float64) float64 { return x + (y-x)*t }
			fmt.Fprintf(w, "%s,0,%s,%s,%.3f,3.0,%.1f,1.0,%.7f,%.7f,%.3f,%.3f\n", ts, laps(ns), elapsed, lerp(a.f.distance, b.f.distance),
				a.f.head, lerp(a.lat, b.lat), lerp(a.lon, b.lon), lerp(a.f.speed, b.f.speed), can)
		}
		c := 0
		for i := 0; i < len(fixes) && i/1000 < len(gps)-1; i += 50 {
			f := fixes[i]
			for ; c < len(devCross) && devCross[c].ns < f.ns; c++ {
				x := devCross[c]
				ms := (x.ns + 5e5) / 1e6 * 1e6
				row(unix(ms), fmt.Sprintf("%.5f", float64(x.ns-start)/1e9), x.ns, x.k, x.t, fixes[(ms-start)/1e6].speed)
			}
			row(unix(f.ns), fmt.Sprintf("%.3f", float64(f.ns-start)/1e9), f.ns, i/1000, float64(i%1000)/1000, f.speed)
		}
	})
}
