package logs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

// These samples reproduce what real exports do beyond the published
// descriptions (docs/real-logs.md names the files they were seen in);
// the rows are made up.

// TrackAddict on a 1 Hz phone changes its Lap column on the first GPS fix
// after it timed a crossing, up to a second late, and writes the lap it
// timed by interpolation as "# Lap N" just before that row. The markers go
// where those lap times put them: their gaps are the app's own lap times,
// and none is after the row where the column changed. "# Pit Lane Entry"
// and "Exit" come between rows too.
const trackAddictLateLapColumn = `# RaceRender Data: TrackAddict 4.3.5 on Android 9 [phone] (Mode: 0)
# End Point: 52.000000, 13.600000  @ -1.00 deg
"Time","UTC Time","Lap","Predicted Lap Time","Predicted vs Best Lap","GPS_Update","GPS_Delay","Latitude","Longitude","Altitude (m)","Altitude (ft)","Speed (Km/h)","Heading","Accuracy (m)","Accel X","Accel Y","Accel Z"
0.000,1559734111.000,0,0,0,1,0.000,52.0000000,13.6000000,80.0,262,0.0,0.0,6.0,0.00,0.00,0.00
0.050,1559734111.050,0,0,0,0,0.000,52.0000000,13.6000000,80.0,262,0.0,0.0,6.0,0.01,0.00,0.00
# Lap 0: 00:00:10.138
10.286,1559734121.286,1,0,0,1,0.000,52.0001000,13.6000000,80.0,262,50.0,0.0,16.0,0.00,0.00,0.00
10.336,1559734121.336,1,0,0,0,0.000,52.0001000,13.6000000,80.0,262,50.0,0.0,16.0,0.00,0.00,0.00
# Lap 1: 00:01:47.089
117.280,1559734228.280,2,0,0,1,0.000,52.0001000,13.6000000,80.0,262,50.0,0.0,24.0,0.00,0.00,0.00
# Pit Lane Entry
# Lap 2: 00:01:56.145
233.256,1559734344.256,3,0,0,1,0.000,52.0001000,13.6000000,80.0,262,50.0,0.0,48.0,0.00,0.00,0.00
# Lap 3: 00:00:40.000
# Pit Lane Exit
353.256,1559734464.256,4,0,0,1,0.000,52.0001000,13.6000000,80.0,262,50.0,0.0,48.0,0.00,0.00,0.00
# Session End
`

func TestTrackAddictLapTimes(t *testing.T) {
	l, err := Read(strings.NewReader(trackAddictLateLapColumn), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	sec := func(s float64) int64 { return 1559734111_000_000_000 + int64(s*1e9+0.5) }
	// Chained from 10.286 by the app's lap times, 107.089 s and 116.145 s,
	// they would end at 117.375 s and 233.520 s, after their rows (117.280,
	// 233.256): moved back together by 0.264 s. Lap 3's "40 s" is 80 s
	// from its row: a comment that disagrees, so that marker stays.
	want := []int64{sec(10.022), sec(117.111), sec(233.256), sec(353.256)}
	if len(l.Markers) != len(want) {
		t.Fatalf("markers %v, want %v", l.Markers, want)
	}
	for i := range want {
		if l.Markers[i] != want[i] {
			t.Errorf("marker %d at %v, want %v", i, time.Duration(l.Markers[i]-sec(0)), time.Duration(want[i]-sec(0)))
		}
	}
	if d := time.Duration(l.Markers[2] - l.Markers[1]); d != 116145*time.Millisecond {
		t.Errorf("device lap 2: %v, want the app's 1:56.145", d)
	}
	if len(l.Notes) != 1 || !strings.Contains(l.Notes[0], "3 of 4 lap markers placed by TrackAddict's own lap times") {
		t.Errorf("notes %q", l.Notes)
	}
	if v := markerAt(t, l, sec(117.111)); v != 2 {
		t.Errorf("device_lap %v at the second marker, want 2", v)
	}
	// The app's pit lane comments: pit_limiter 1 from the row after
	// "# Pit Lane Entry", 0 from the row after "# Pit Lane Exit", so the
	// lap processor marks the laps in between as pit laps.
	pit := channels(t, l)[telemetry.ChanPitLimiter].ID
	var pits []string
	for _, f := range l.Frames {
		if v, ok := f.Value(pit); ok {
			pits = append(pits, fmt.Sprintf("%v@%.3f", v, float64(f.TimeNs-sec(0))/1e9))
		}
	}
	if got := strings.Join(pits, " "); got != "1@233.256 0@353.256" {
		t.Errorf("pit_limiter %q, want 1 at the row after the entry comment and 0 after the exit", got)
	}
	checkValid(t, l)

	// A lap time that is no time is a bad marker, and breaks the chain:
	// the first marker stays at its row.
	bad := strings.Replace(trackAddictLateLapColumn, "# Lap 1: 00:01:47.089", "# Lap 1: 1:47,0x9", 1)
	l, err = Read(strings.NewReader(bad), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	if b := l.Bad[BadMarker]; b == nil || b.Count != 1 || b.Line != 9 || len(l.Markers) != 4 || l.Markers[0] != sec(10.286) || l.Markers[1] != sec(117.111) {
		t.Errorf("bad lap comment: %+v, markers %v", b, l.Markers)
	}
}

// A real AiM export: a blank line after the Segment Times row and after
// the units row, a unit that is one space, the date as MM/DD/YYYY with a
// 24-hour time, and the last beacon a little after Duration (the end).
const aimRealQuirks = `"Format","AiM CSV File"
"Session","Practice"
"Vehicle","SFJ"
"Racer","X"
"Championship","Practice"
"Comment",""
"Date","11/04/2025"
"Time","15:50:07"
"Sample Rate","20"
"Duration","0.140"
"Segment","Session"
"Beacon Markers","0.050","0.100","0.160"
"Segment Times","0:00.050","0:00.050","0:00.060"

"Time","GPS Speed","GPS Heading","GPS Latitude","GPS Longitude","GPS Nsat","StartRec"
"s","km/h","deg","deg","deg"," "," "

"0.000","190.0000","51.4843","35.37171378","138.92639076","14","1"
"0.050","190.0000","51.4843","35.37172873","138.92641379","14","1"
"0.100","190.0000","51.4843","35.37174365","138.92643683","14","1"
"0.150","190.0000","51.4843","35.37175852","138.92645992","14","1"
`

func TestAiMRealQuirks(t *testing.T) {
	l, err := Read(strings.NewReader(aimRealQuirks), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 11, 4, 15, 50, 7, 0, time.UTC).UnixNano()
	if len(l.Frames) != 6 || l.Frames[0].TimeNs != start || len(l.Notes) != 0 {
		t.Fatalf("%d frames from %v, notes %q", len(l.Frames), l.Frames[0].Time(), l.Notes)
	}
	if len(l.Markers) != 2 || l.Markers[0] != start+50e6 || l.Markers[1] != start+100e6 {
		t.Errorf("markers %v, want 50 and 100 ms (0.160 s is the end, after Duration)", l.Markers)
	}
	ch := channels(t, l)
	if c, ok := ch["gps_nsat"]; !ok || c.Unit != "" {
		t.Errorf("GPS Nsat with unit \" \": %+v", c)
	}
	checkValid(t, l)
}

// A real RaceChrono Pro export with a 25 Hz receiver and OBD: every row
// carries every source's cells (OBD rows at their own milliseconds), a
// row now and then written twice, speed three times (GPS, calc, OBD),
// device_update_rate twice, and the crossing row's elapsed_time finer
// than its timestamp.
const raceChronoRealQuirks = `This file is created using RaceChrono Pro v9.1.3 ( http://racechrono.com/ ).
Format,3
Session title,"Test"
Session type,Lap timing
Track name,"Test"
Driver name,
Created,31/12/2025,02:54
Note,

timestamp,fragment_id,lap_number,elapsed_time,distance_traveled,bearing,device_update_rate,latitude,longitude,speed,device_update_rate,speed,rpm,speed
unix time,,,s,m,deg,Hz,deg,deg,m/s,Hz,m/s,rpm,m/s
,,,,,100: gps,100: gps,100: gps,100: gps,100: gps,calc,calc,200: obd,200: obd
1767150801.4,0,8,1153.04,17984.571,291.08,25.0,31.0789187,121.1151353,41.967,20.0,41.9,3500.0,18.8
1767150801.41,0,8,1153.05,17984.99475,291.08,25.0,31.07892,121.1151312,42.02175,20.0,42.0,3501.0,18.8
1767150801.425,0,9,1153.06491,17985.62671,291.08,25.0,31.078922,121.115125,42.1034,20.0,42.1,3502.0,18.9
1767150801.44,0,9,1153.08,17986.266,290.6,25.0,31.078924,121.1151187,42.186,20.0,42.2,3503.0,18.9
1767150801.44,0,9,1153.08,17986.266,290.6,25.0,31.078924,121.1151187,42.186,20.0,42.2,3503.0,18.9
1767150801.454,0,9,1153.094,17986.9,290.6,25.0,31.0789259,121.1151128,42.2,20.0,42.2,3504.0,18.9
`

func TestRaceChronoRealQuirks(t *testing.T) {
	l, err := Read(strings.NewReader(raceChronoRealQuirks), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Frames) != 6 || l.BadCount() != 0 {
		t.Fatalf("%d frames (want 5 row times and the marker's), %d bad rows", len(l.Frames), l.BadCount())
	}
	ch := channels(t, l)
	for _, name := range []string{"gps_speed", "speed_calc", "speed", "device_update_rate", "device_update_rate_calc", "rpm"} {
		if _, ok := ch[name]; !ok {
			t.Errorf("no channel %s: %v", name, l.Catalog.Channels)
		}
	}
	// The crossing row is at 1153.06491 s of elapsed_time, its timestamp
	// rounded to .425: the marker is at the finer time.
	if len(l.Markers) != 1 || l.Markers[0] != 1767150801_424_910_000 {
		t.Errorf("markers %v, want the crossing row's time to 10 µs, as its elapsed_time has it", l.Markers)
	}
	checkValid(t, l)
}

// A real RaceChrono Pro export from a phone's 1 Hz GPS beside a 20 Hz
// CAN bus: the GPS cells of the rows between two fixes are RaceChrono's
// interpolation, and the crossing row's elapsed_time (here .69946 beside
// timestamp .699, and .14695 beside .147) is finer than its timestamp.
// The values are made up; the layout is the export's.
const raceChrono1HzPhone = `This file is created using RaceChrono Pro v9.1.3 ( http://racechrono.com/ ).
Format,3
Session title,"Race 2"
Session type,Lap timing
Track name,"Test"
Driver name,
Created,13/11/2022,05:06
Note,

timestamp,fragment_id,lap_number,elapsed_time,distance_traveled,accuracy,bearing,device_update_rate,latitude,longitude,speed,speed
unix time,,,s,m,m,deg,Hz,deg,deg,m/s,m/s
,,,,,100: gps,100: gps,100: gps,100: gps,100: gps,100: gps,200: canbus
1676148524.0,0,5,581.0,14441.188,15.0,322.6,1.0,-38.6,176.1,23.25,31.9
1676148524.5,0,5,581.5,14466.858,14.0,322.6,1.0,-38.59986,176.09976,28.375,32.6
1676148524.699,0,6,581.69946,14477.099,13.60108,322.6,1.0,-38.5998,176.09966,30.41946,32.8
1676148525.0,0,6,582.0,14492.529,13.0,313.4,1.0,-38.59972,176.09952,33.5,33.8
1676148631.0,0,6,688.0,18140.429,12.0,316.0,1.0,-38.59975,176.0997,30.25,32.6
1676148631.147,0,7,688.14695,18145.234,12.0,316.0,1.0,-38.59972,176.09966,30.61737,32.9
1676148632.0,0,7,689.0,18173.126,12.0,314.1,1.0,-38.59956,176.0994,32.75,34.8
`

func TestRaceChrono1HzPhone(t *testing.T) {
	l, err := Read(strings.NewReader(raceChrono1HzPhone), Options{Car: "car7"})
	if err != nil {
		t.Fatal(err)
	}
	if l.BadCount() != 0 || len(l.Markers) != 2 {
		t.Fatalf("%d bad rows, markers %v", l.BadCount(), l.Markers)
	}
	if got, want := l.Markers, []int64{1676148524_699_460_000, 1676148631_146_950_000}; got[0] != want[0] || got[1] != want[1] {
		t.Errorf("markers %v, want %v: the crossing rows' elapsed_time, to 10 µs", got, want)
	}
	if lap := time.Duration(l.Markers[1] - l.Markers[0]); lap != 106447490*time.Microsecond {
		t.Errorf("device lap %v, want RaceChrono's 1:46.44749", lap)
	}
	// Every row is a fix (RaceChrono's own interpolation between the
	// receiver's), the crossing rows at their finer time.
	fixes, _ := l.Fixes(false)
	if len(fixes) != 7 || fixes[2].TimeNs != 1676148524_699_460_000 || fixes[1].TimeNs != 1676148524_500_000_000 {
		t.Errorf("%d fixes, the crossing row's at %d", len(fixes), fixes[2].TimeNs)
	}
	ch := channels(t, l)
	if ch["gps_speed"].ID == 0 || ch["speed"].ID == 0 {
		t.Errorf("GPS speed and CAN speed: %v", l.Catalog.Channels)
	}
	checkValid(t, l)
}

// Exports saved on Windows or passed through a spreadsheet: a UTF-8
// byte-order mark and CRLF line ends read as the plain file does.
func TestBOMAndCRLF(t *testing.T) {
	for name, sample := range map[string]string{
		"racechrono": raceChronoRealQuirks, "trackaddict": trackAddictLateLapColumn, "aim": aimRealQuirks,
		"csv": "time,lat,lon,gps_speed,lap\n1751711460.0,51.0,0.0,100,0\n1751711461.0,51.0,0.001,100,1\n",
		"trackaddict without comments": "\"Time\",\"UTC Time\",\"Lap\",\"GPS_Update\",\"Latitude\",\"Longitude\"\n" +
			"0.000,1751711460.000,0,1,51.0,0.0\n1.000,1751711461.000,1,1,51.0,0.001\n",
	} {
		plain, err := Read(strings.NewReader(sample), Options{Car: "car7"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		windows := "\xef\xbb\xbf" + strings.ReplaceAll(sample, "\n", "\r\n")
		l, err := Read(strings.NewReader(windows), Options{Car: "car7"})
		if err != nil {
			t.Fatalf("%s with BOM and CRLF: %v", name, err)
		}
		if l.Format != plain.Format || len(l.Frames) != len(plain.Frames) || fmt.Sprint(l.Markers) != fmt.Sprint(plain.Markers) ||
			len(l.Catalog.Channels) != len(plain.Catalog.Channels) || l.BadCount() != 0 {
			t.Errorf("%s with BOM and CRLF: %s, %d frames, %d channels, markers %v, %d bad; plain: %s, %d frames, %d channels, markers %v",
				name, l.Format, len(l.Frames), len(l.Catalog.Channels), l.Markers, l.BadCount(), plain.Format, len(plain.Frames), len(plain.Catalog.Channels), plain.Markers)
		}
		checkValid(t, l)
	}
}

// A generic CSV with a units row under the names (as many loggers'
// exports have): it gives the channels their units and converts a speed,
// and is no bad row.
func TestGenericUnitsRow(t *testing.T) {
	l, err := Read(strings.NewReader("time,lat,lon,speed,oil temp\ns,deg,deg,mph,°C\n1751711460.0,51.0,0.0,60,90\n1751711461.0,51.0,0.001,61,91\n"),
		Options{Car: "car7", Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	ch := channels(t, l)
	if len(l.Frames) != 2 || l.BadCount() != 0 || l.Rows != 2 || ch["oil_temp"].Unit != "C" || ch[telemetry.ChanSpeed].Unit != "km/h" {
		t.Fatalf("%d frames, %d bad, %d rows, channels %v", len(l.Frames), l.BadCount(), l.Rows, l.Catalog.Channels)
	}
	if v, _ := l.Frames[0].Value(ch[telemetry.ChanSpeed].ID); v != 60*1.609344 {
		t.Errorf("speed %v, want 60 mph in km/h", v)
	}
	checkValid(t, l)
}
