package logs

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// Written from RaceChrono's published description of its CSV export v3:
// a preamble, a blank line, names / units / sources rows; GPS rows and
// OBD rows interleave, each leaving the other's cells empty; speed
// appears twice (GPS and OBD); lap_number is empty before the first
// crossing, where RaceChrono writes a row of its own.
const raceChronoSample = `This file is created using RaceChrono v9.1.3 ( http://racechrono.com/ ).
Format,3
Session title,"Club race 1"
Session type,Lap timing
Track name,"Brands Hatch Indy"
Driver name,
Created,05/07/2025,10:31
Note,

timestamp,fragment_id,lap_number,elapsed_time,distance_traveled,latitude,longitude,speed,bearing,speed,rpm
unix time,,,s,m,deg,deg,m/s,deg,m/s,rpm
,,,,,100: gps,100: gps,100: gps,100: gps,200: obd,200: obd
1751711460.000,0,,0.000,0.0,51.35600000,0.26300000,40.000,90.0,,
1751711460.020,0,,0.020,0.8,,,,,39.5,6100
1751711460.040,0,,0.040,1.6,51.35600000,0.26301148,40.000,90.0,,
1751711460.052,0,1,0.052,2.1,,,,,,
1751711460.080,0,1,0.080,3.2,51.35600000,0.26302296,40.000,90.0,39.6,6120
1751711460.120,0,2,0.120,4.8,51.35600000,0.26303444,40.000,90.0,,
`

func TestRaceChrono(t *testing.T) {
	l, err := Read(strings.NewReader(raceChronoSample), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != FormatRaceChrono || l.Title != "Club race 1" || l.Track != "Brands Hatch Indy" || l.Catalog.Session != "Club_race_1" {
		t.Errorf("format %s title %q track %q session %q", l.Format, l.Title, l.Track, l.Catalog.Session)
	}
	ch := channels(t, l)
	for name, unit := range map[string]string{telemetry.ChanGPSLat: "deg", telemetry.ChanGPSLon: "deg", telemetry.ChanGPSSpeed: "km/h",
		telemetry.ChanGPSHeading: "deg", telemetry.ChanSpeed: "km/h", telemetry.ChanRPM: "rpm", "distance_traveled": "m", telemetry.ChanDeviceLap: ""} {
		if c, ok := ch[name]; !ok || c.Unit != unit {
			t.Errorf("channel %s: %+v, want unit %q (channels %v)", name, c, unit, l.Catalog.Channels)
		}
	}
	if len(l.Frames) != 8 {
		t.Fatalf("%d frames, want 8 (one per row time, and one per marker)", len(l.Frames))
	}
	f0 := l.Frames[0]
	if f0.TimeNs != 1751711460_000_000_000 || f0.Seq != 0 || f0.Car != "car7" {
		t.Errorf("first frame %+v", f0)
	}
	if v, _ := f0.Value(ch[telemetry.ChanGPSSpeed].ID); math.Abs(v-144) > 1e-9 {
		t.Errorf("gps_speed %v km/h, want 144 (40 m/s)", v)
	}
	if v, _ := l.Frames[1].Value(ch[telemetry.ChanSpeed].ID); math.Abs(v-142.2) > 1e-9 {
		t.Errorf("OBD speed %v km/h, want 142.2 (39.5 m/s)", v)
	}
	if _, ok := l.Frames[1].Value(ch[telemetry.ChanGPSLat].ID); ok {
		t.Error("an OBD row carries a GPS latitude")
	}
	// Markers where lap_number changes: empty → 1 (the crossing row), 1 → 2.
	want := []int64{1751711460_052_000_000, 1751711460_120_000_000}
	if len(l.Markers) != 2 || l.Markers[0] != want[0] || l.Markers[1] != want[1] {
		t.Errorf("markers %v, want %v", l.Markers, want)
	}
	if v := markerAt(t, l, want[0]); v != 1 {
		t.Errorf("device_lap at the crossing row: %v, want 1", v)
	}
	checkValid(t, l)
}

// Written from TrackAddict's RaceRender CSV as published: comment lines,
// one header row, rows at the accelerometer's rate, GPS_Update=1 on rows
// with a new fix (the others repeat it), Speed in MPH here, "# Lap N"
// comments.
const trackAddictSample = `# RaceRender Data: TrackAddict 4.8.2 on Android 14 [Pixel 8] (Mode: 0)
# Vehicle: Miata
# End Point: 51.356000, 0.263000  @ -1.00 deg
"Time","UTC Time","Lap","Predicted Lap Time","Predicted vs Best Lap","GPS_Update","GPS_Delay","Latitude","Longitude","Altitude (m)","Speed (MPH)","Heading","Accuracy (m)","Accel X","Accel Y","Accel Z","Engine Speed (RPM) *OBD"
0.000,1751711460.000,0,0,0,1,0.000,51.3560000,0.2630000,80.0,60.00,90.0,3.0,0.01,0.02,1.00,5000
0.100,1751711460.100,0,0,0,0,0.000,51.3560000,0.2630000,80.0,60.00,90.0,3.0,0.03,0.02,1.00,5010
0.500,1751711460.500,1,0,0,0,0.000,51.3560000,0.2630000,80.0,60.00,90.0,3.0,0.03,0.02,1.00,5020
# Lap 0: 00:00:00.500
1.000,1751711461.000,1,0,0,1,0.000,51.3560000,0.2631000,80.0,61.00,90.5,3.0,0.02,0.02,1.00,5030
# Pit Lane Entry
2.000,1751711462.000,1,0,0,1,0.000,51.3560000,0.2632000,80.0,62.00,91.0,3.0,0.02,0.02,1.00,
# Session End
`

func TestTrackAddict(t *testing.T) {
	l, err := Read(strings.NewReader(trackAddictSample), Options{Car: "car7", Session: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != FormatTrackAddict || l.Catalog.Session != "s1" {
		t.Errorf("format %s session %q", l.Format, l.Catalog.Session)
	}
	ch := channels(t, l)
	lat := ch[telemetry.ChanGPSLat].ID
	var fixes []int64
	for _, f := range l.Frames {
		if _, ok := f.Value(lat); ok {
			fixes = append(fixes, f.TimeNs)
		}
	}
	if len(fixes) != 3 || fixes[1] != 1751711461_000_000_000 {
		t.Errorf("fixes at %v, want the three GPS_Update=1 rows only", fixes)
	}
	if v, _ := l.Frames[0].Value(ch[telemetry.ChanGPSSpeed].ID); math.Abs(v-60*1.609344) > 1e-9 {
		t.Errorf("gps_speed %v, want 60 mph in km/h", v)
	}
	if _, ok := ch["engine_speed"]; ok || ch[telemetry.ChanRPM].Unit != "RPM" {
		t.Errorf("Engine Speed (RPM) *OBD is not rpm: %v", l.Catalog.Channels)
	}
	if _, ok := ch["accel_x"]; !ok {
		t.Errorf("no accel_x channel: %v", l.Catalog.Channels)
	}
	if len(l.Markers) != 1 || l.Markers[0] != 1751711460_500_000_000 {
		t.Errorf("markers %v, want the row where Lap went 0 → 1", l.Markers)
	}
	checkValid(t, l)
}

// Written from AiM Race Studio's CSV export as published: quoted key /
// value rows, Beacon Markers (lap ends, seconds from the start, the last
// one the end of the recording), names and units rows, one rate.
const aimSample = `"Format","AiM CSV File"
"Venue","Brands Hatch"
"Vehicle","Caterham"
"Racer","A. Driver"
"Championship",""
"Date","Saturday, July 5, 2025"
"Time","10:31 AM"
"Sample Rate","20"
"Duration","0.200"
"Segment","Session"
"Session","Race 1"
"Beacon Markers","0.050","0.150","0.200"
"Segment Times","0:00.050","0:00.100","0:00.050"

"Time","GPS Speed","GPS Latitude","GPS Longitude","GPS Heading","RPM"
"s","km/h","deg","deg","deg","rpm"

"0.000","144.00","51.35600000","0.26300000","90.0","6100"
"0.050","144.00","51.35600000","0.26301148","90.0","6110"
"0.100","144.00","51.35600000","0.26302296","90.0","6120"
"0.150","144.00","51.35600000","0.26303444","90.0","6130"
"0.200","144.00","51.35600000","0.26304592","90.0","6140"
`

func TestAiM(t *testing.T) {
	l, err := Read(strings.NewReader(aimSample), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 7, 5, 10, 31, 0, 0, time.UTC).UnixNano()
	if l.Format != FormatAiM || l.Catalog.Session != "Race_1" || len(l.Frames) != 7 || l.Frames[0].TimeNs != start {
		t.Fatalf("format %s session %q frames %d first %v", l.Format, l.Catalog.Session, len(l.Frames), l.Frames[0].Time())
	}
	ch := channels(t, l)
	if v, _ := l.Frames[2].Value(ch[telemetry.ChanGPSLon].ID); v != 0.26301148 { // after the marker 1 ns before it
		t.Errorf("gps_lon %v", v)
	}
	// 0.200 is the end of the recording (Duration), not a crossing.
	if len(l.Markers) != 2 || l.Markers[0] != start+50e6 || l.Markers[1] != start+150e6 {
		t.Errorf("markers %v, want start+50ms and start+150ms", l.Markers)
	}
	if v := markerAt(t, l, start+150e6); v != 2 {
		t.Errorf("device_lap at the second beacon %v, want 2", v)
	}
	checkValid(t, l)
}

// An AiM export made with a decimal comma uses ';' between fields.
func TestAiMSemicolons(t *testing.T) {
	euro := strings.NewReplacer(`","`, `";"`, ".", ",").Replace(aimSample)
	l, err := Read(strings.NewReader(euro), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 7, 5, 10, 31, 0, 0, time.UTC).UnixNano()
	ch := channels(t, l)
	if l.Format != FormatAiM || len(l.Frames) != 7 || len(l.Markers) != 2 || l.Markers[1] != start+150e6 {
		t.Fatalf("format %s, %d frames, markers %v", l.Format, len(l.Frames), l.Markers)
	}
	if v, _ := l.Frames[2].Value(ch[telemetry.ChanGPSLon].ID); v != 0.26301148 {
		t.Errorf("gps_lon %v", v)
	}
	checkValid(t, l)
}

func TestGenericCSV(t *testing.T) {
	const csv = "# exported by a home-made logger\nT (s),Lat,Long,Vel (m/s),Engine RPM,LapNo\n" +
		"100.0,51.356,0.2630,40,6000,3\n100.1,51.356,0.2631,41,6010,3\n100.2,51.356,0.2632,42,6020,4\n"
	l, err := Read(strings.NewReader(csv), Options{Car: "c1", Format: FormatCSV,
		Map: map[string]string{"time": "T (s)", "lat": "Lat", "lon": "Long", "gps_speed": "Vel (m/s)", "rpm": "Engine RPM", "lap": "LapNo"}})
	if err != nil {
		t.Fatal(err)
	}
	ch := channels(t, l)
	if v, _ := l.Frames[1].Value(ch[telemetry.ChanGPSSpeed].ID); math.Abs(v-41*3.6) > 1e-9 {
		t.Errorf("gps_speed %v, want 41 m/s in km/h", v)
	}
	if v, _ := l.Frames[len(l.Frames)-1].Value(ch[telemetry.ChanRPM].ID); v != 6020 {
		t.Errorf("rpm %v", v)
	}
	// The log starts mid-lap at 3: only the change to 4 is a marker.
	if len(l.Markers) != 1 || l.Markers[0] != 100_200_000_000 {
		t.Errorf("markers %v", l.Markers)
	}
	checkValid(t, l)

	// Found by name without --map.
	l, err = Read(strings.NewReader("time,latitude,longitude,speed\n1,51.3,0.2,100\n2,51.3,0.2,101\n"), Options{Car: "c1"})
	if err != nil || l.Format != FormatCSV {
		t.Fatal(l, err)
	}
	if ch := channels(t, l); ch[telemetry.ChanSpeed].Unit != "km/h" || ch[telemetry.ChanGPSLat].Unit != "deg" {
		t.Errorf("channels %v", l.Catalog.Channels)
	}
	for _, m := range []map[string]string{{"time": "Nope"}, {"bad name!": "T (s)"}} {
		if _, err := Read(strings.NewReader(csv), Options{Car: "c1", Format: FormatCSV, Map: m}); !errors.Is(err, ErrConfig) {
			t.Errorf("--map %v: %v, want ErrConfig", m, err)
		}
	}
	if _, err := Read(strings.NewReader("a,b\n1,2\n"), Options{Car: "c1"}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "no time column") {
		t.Errorf("no time column: %v", err)
	}
}

// Rows that cannot be read are skipped and counted by kind, the first of
// each kind kept with its line; every other row is read.
func TestBadRows(t *testing.T) {
	bad := strings.Replace(raceChronoSample, "1751711460.040,0,,0.040,1.6,", "17517114xx.040,0,,0.040,1.6,", 1)
	bad = strings.Replace(bad, "39.6,6120", "39.6,lots", 1)
	bad += "1751711460.160,0,2,0.160,6.4,\"51.356,0.26304592,40.000,90.0,,\n"
	l, err := Read(strings.NewReader(bad), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Bad[BadTime] == nil || l.Bad[BadTime].Count != 1 || l.Bad[BadTime].Line != 15 {
		t.Errorf("bad time: %+v", l.Bad[BadTime])
	}
	if b := l.Bad[BadValue]; b == nil || b.Line != 17 || !strings.Contains(b.Err.Error(), `column "rpm": "lots" is not a number`) {
		t.Errorf("bad value: %+v", b)
	}
	if l.BadCount() != 3 || len(l.Frames) != 4+2 || !strings.Contains(l.BadSummary(), "bad_time, first line 15") {
		t.Errorf("%d bad, %d frames (want the 4 good rows); %s", l.BadCount(), len(l.Frames), l.BadSummary())
	}
	checkValid(t, l)

	// A log with no good row at all is an error naming the first bad one.
	_, err = Read(strings.NewReader("time,lat,lon\nx,1,2\n"), Options{Car: "c1"})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "first line 2") {
		t.Errorf("no good rows: %v", err)
	}
	if _, err := Read(strings.NewReader(raceChronoSample), Options{Car: "bad car"}); !errors.Is(err, ErrConfig) {
		t.Errorf("bad car id: %v", err)
	}
}

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
	}{
		{raceChronoSample, FormatRaceChrono},
		{"\xef\xbb\xbf" + raceChronoSample, FormatRaceChrono},
		{trackAddictSample, FormatTrackAddict},
		{"\"Time\",\"Lap\",\"GPS_Update\",\"Latitude\"\n0,0,1,51\n", FormatTrackAddict},
		{aimSample, FormatAiM},
		{"Format;AiM CSV File\n", FormatAiM},
		{"time,lat,lon\n", FormatCSV},
		{"# a comment\n\ntime,lat,lon\n", FormatCSV},
		{"", FormatCSV},
	} {
		if got := Sniff([]byte(c.head)); got != c.want {
			t.Errorf("Sniff(%.40q) = %s, want %s", c.head, got, c.want)
		}
	}
	if _, err := ParseFormat("motec"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParseFormat(motec): %v", err)
	}
	if m, err := ParseMap("time=Time, lat = Latitude"); err != nil || m["time"] != "Time" || m["lat"] != "Latitude" {
		t.Errorf("ParseMap: %v %v", m, err)
	}
	for _, s := range []string{"time", "=x", "time=a,time=b"} {
		if _, err := ParseMap(s); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseMap(%q): %v", s, err)
		}
	}
}

// A channel has the same id in every log, whatever other columns the log
// has: the lap processor reads a car's frames with its latest catalog,
// which may come from another file.
func TestStableIDs(t *testing.T) {
	rc, err := Read(strings.NewReader(raceChronoSample), Options{Car: "c"})
	if err != nil {
		t.Fatal(err)
	}
	aim, err := Read(strings.NewReader(aimSample), Options{Car: "c"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := channels(t, rc), channels(t, aim)
	common := 0
	for name, c := range a {
		if d, ok := b[name]; ok {
			common++
			if c.ID != d.ID {
				t.Errorf("%s: id %d in one log, %d in the other", name, c.ID, d.ID)
			}
		}
	}
	if common < 5 {
		t.Errorf("only %d channels in common", common)
	}
}

func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{"Engine Coolant Temp (C)": "engine_coolant_temp_c", "GPS Speed": "gps_speed",
		"  ": "col", "x_acc": "x_acc", "Öl-Temp": "l_temp", strings.Repeat("a", 80): strings.Repeat("a", 64)} {
		if got := FoldName(in); got != want || !telemetry.ValidName(got) {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}

// markerAt returns the device_lap value of the marker at ns: in a frame
// of its own, at ns or, where a row has that time, 1 ns before.
func markerAt(t *testing.T, l *Log, ns int64) float64 {
	t.Helper()
	id := channels(t, l)[telemetry.ChanDeviceLap].ID
	for _, f := range l.Frames {
		if v, ok := f.Value(id); ok && (f.TimeNs == ns || f.TimeNs == ns-1) {
			if len(f.Samples) != 1 {
				t.Errorf("the marker at %d shares its frame: %v", ns, f.Samples)
			}
			return v
		}
	}
	t.Errorf("no marker at %d", ns)
	return 0
}

func channels(t *testing.T, l *Log) map[string]telemetry.Channel {
	t.Helper()
	m := map[string]telemetry.Channel{}
	for _, c := range l.Catalog.Channels {
		m[c.Name] = c
	}
	return m
}

// checkValid holds what every Log promises: a valid catalog, valid
// frames in time order with seq = index, every id in the catalog.
func checkValid(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Catalog.Validate(); err != nil {
		t.Fatalf("catalog: %v", err)
	}
	for i := range l.Frames {
		f := &l.Frames[i]
		if err := f.Validate(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Seq != int64(i) || i > 0 && f.TimeNs <= l.Frames[i-1].TimeNs {
			t.Fatalf("frame %d: seq %d time %d after %d", i, f.Seq, f.TimeNs, l.Frames[max(i-1, 0)].TimeNs)
		}
		for _, s := range f.Samples {
			if _, ok := l.Catalog.ByID(s.ID); !ok {
				t.Fatalf("frame %d: channel %d not in the catalog", i, s.ID)
			}
		}
	}
}
