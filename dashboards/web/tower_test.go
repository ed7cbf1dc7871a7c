package web

import (
	"testing"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
)

const sec = int64(time.Second)

// mkLap is car's lap n ending at end (s), with sectors (s); valid unless
// pit.
func mkLap(car string, n int32, end float64, pit bool, sectors ...float64) *telemetry.Lap {
	l := &telemetry.Lap{Car: car, Lap: n, EndNs: int64(end * float64(sec)), PitLane: pit}
	var sum int64
	for _, s := range sectors {
		ns := int64(s * float64(sec))
		l.SectorsNs = append(l.SectorsNs, ns)
		sum += ns
	}
	l.StartNs = l.EndNs - sum
	v := 1.0
	if pit {
		v = 0
	}
	l.Metrics = []telemetry.Metric{{Name: lap.MValid, Value: v}, {Name: lap.MTopSpeed, Value: 200 + float64(n)}}
	return l
}

func rowOf(t *testing.T, rows []Row, car string) Row {
	t.Helper()
	for _, r := range rows {
		if r.Car == car {
			return r
		}
	}
	t.Fatalf("no row for %s in %+v", car, rows)
	return Row{}
}

func TestTowerColoursGapsOrder(t *testing.T) {
	tw := NewTower(OrderRace, Drivers{"car01": {Number: "44", Name: "Lewis", Team: "Ferrari", Colour: "#dc0000"}}, 0)
	// car01: lap 1 60.0 (20/20/20), lap 2 59.0 (19.5/20.5/19)
	// car02: lap 1 61.0 (19/21/21) ends 1.0 s after car01's, lap 2 pit.
	for _, l := range []*telemetry.Lap{
		mkLap("car01", 1, 100, false, 20, 20, 20),
		mkLap("car02", 1, 101, false, 19, 21, 21),
		mkLap("car01", 2, 159, false, 19.5, 20.5, 19),
		mkLap("car02", 2, 175, true, 25, 25, 24),
	} {
		if !tw.AddLap(l) {
			t.Fatalf("lap %s/%d not new", l.Car, l.Lap)
		}
	}
	if tw.AddLap(mkLap("car01", 2, 159, false, 19.5, 20.5, 19)) {
		t.Fatal("a lap seen before counted again")
	}
	rows := tw.Rows()
	if rows[0].Car != "car01" || rows[1].Car != "car02" {
		t.Fatalf("order %s, %s", rows[0].Car, rows[1].Car)
	}
	a, b := rows[0], rows[1]
	if a.Number != "44" || a.Driver != "Lewis" || a.Colour != "#dc0000" || b.Number != "2" || b.Driver != "car02" || b.Colour == "" {
		t.Errorf("drivers: %+v / %+v", a, b)
	}
	if a.LastMs != 59000 || a.LastColour != Purple || a.BestMs != 59000 || a.BestColour != Purple {
		t.Errorf("car01 last %d %s best %d %s", a.LastMs, a.LastColour, a.BestMs, a.BestColour)
	}
	// car01's sectors of lap 2: 19.5 (own best, car02 has 19: green),
	// 20.5 (slower than its 20: yellow), 19 (session best: purple).
	want := []Sector{{19500, Green}, {20500, Yellow}, {19000, Purple}}
	for i, s := range a.Sectors {
		if s != want[i] {
			t.Errorf("car01 S%d = %+v, want %+v", i+1, s, want[i])
		}
	}
	// car02's last lap went through the pit lane: invalid, no colours.
	if b.LastColour != "" || b.Sectors[0].Colour != "" || b.BestMs != 61000 || b.BestColour != Green {
		t.Errorf("car02 last %s sectors %+v best %d %s", b.LastColour, b.Sectors, b.BestMs, b.BestColour)
	}
	if b.Gap != "+16.000" || b.Interval != "+16.000" || a.Gap != "" {
		t.Errorf("gaps: car01 %q car02 %q / %q", a.Gap, b.Gap, b.Interval)
	}
	// Theoretical best: car01 19.5+20+19 = 58.5; car02 19+21+21 = 61.
	if a.TheoreticalMs != 58500 || b.TheoreticalMs != 61000 {
		t.Errorf("theoretical best %d, %d", a.TheoreticalMs, b.TheoreticalMs)
	}
	if b.PitStops != 1 || a.PitStops != 0 || a.TopSpeedKmh != 202 {
		t.Errorf("pit stops %d, %d; top speed %v", a.PitStops, b.PitStops, a.TopSpeedKmh)
	}

	// A third car a lap down; in best order car01 (59) leads car02 (61).
	tw.AddLap(mkLap("car03", 1, 110, false, 21, 21, 21))
	rows = tw.Rows()
	if c := rowOf(t, rows, "car03"); c.Pos != 3 || c.Gap != "+1 lap" || c.Interval != "+1 lap" {
		t.Errorf("car03: %+v", c)
	}
	best := NewTower(OrderBest, nil, 0)
	for _, l := range []*telemetry.Lap{mkLap("car02", 1, 100, false, 20, 20, 20), mkLap("car01", 1, 101, false, 19, 20, 20), mkLap("car03", 1, 90, true, 30, 30, 30)} {
		best.AddLap(l)
	}
	rows = best.Rows()
	if rows[0].Car != "car01" || rows[1].Car != "car02" || rows[1].Gap != "+1.000" || rows[2].Car != "car03" || rows[2].BestMs != 0 {
		t.Errorf("best order: %+v", rows)
	}
}

func TestTowerLive(t *testing.T) {
	tw := NewTower(OrderRace, nil, 1000)
	d := -0.25
	at := func(tsec float64, lapN int32, dist, speed float64, pit bool) *telemetry.Live {
		return &telemetry.Live{Car: "car01", TimeNs: int64(tsec * float64(sec)), Lap: lapN, LapStartNs: 10 * sec, Sector: 2,
			DistanceM: dist, Speed: speed, X: 0.26, Y: 51.35, InPit: pit, DeltaBestS: &d}
	}
	tw.AddLive(at(20, 2, 990, 200, false))
	tw.AddLive(at(20.1, 2, 1010, 210, false)) // passes the trap at 1000 m: 205 km/h
	tw.AddLive(at(19, 2, 900, 100, false))    // older: ignored
	r := tw.Rows()[0]
	if r.TrapKmh != 205 || r.DistanceM != 1010 || r.LiveLap != 2 || r.Sector != 2 || *r.DeltaBestS != -0.25 || !r.HasPos {
		t.Errorf("live row %+v", r)
	}
	tw.AddLive(at(30, 2, 1500, 60, true))
	tw.AddLive(at(52.5, 3, 100, 60, true))
	r = tw.Rows()[0]
	if !r.InPit || r.PitStops != 1 || r.PitTimeMs != 22500 {
		t.Errorf("in pit: %+v", r)
	}
	tw.AddLive(at(55, 3, 200, 150, false))
	r = tw.Rows()[0]
	if r.InPit || r.PitStops != 1 || r.PitTimeMs != 25000 {
		t.Errorf("out of the pit: %+v", r)
	}
}

func TestParseDrivers(t *testing.T) {
	d, err := ParseDrivers([]byte("car01: {number: \"44\", name: Lewis Hamilton, team: Ferrari, colour: \"#DC0000\"}\n"))
	if err != nil || d.Of("car01").Name != "Lewis Hamilton" {
		t.Fatalf("%v %+v", err, d)
	}
	for _, bad := range []string{"", "car 1: {number: \"1\"}", "car01: {colour: red}", "car01: {nmber: \"1\"}"} {
		if _, err := ParseDrivers([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// A limiter switched off for a moment inside the pit lane is one stop.
func TestTowerPitStopOnce(t *testing.T) {
	tw := NewTower(OrderRace, nil, 0)
	for i, pit := range []bool{false, true, true, false, true, true, false, false} {
		tw.AddLive(&telemetry.Live{Car: "car01", TimeNs: int64(i) * 5 * sec, Lap: 2, InPit: pit})
	}
	if r := tw.Rows()[0]; r.PitStops != 1 || r.PitTimeMs != 25000 {
		t.Errorf("stops %d, time in pit %d ms; want 1 stop of 25 s", r.PitStops, r.PitTimeMs)
	}
	// Back in the pit lane a minute later: a second stop.
	tw.AddLive(&telemetry.Live{Car: "car01", TimeNs: 100 * sec, Lap: 3, InPit: true})
	if r := tw.Rows()[0]; r.PitStops != 2 || !r.InPit {
		t.Errorf("stops %d in pit %v; want 2, true", r.PitStops, r.InPit)
	}
}

// Lap traces from live records, the lap list and the live deltas.
func TestLapTraces(t *testing.T) {
	tw := NewTower(OrderRace, nil, 0)
	// car01 lap 1: 1000 m at 20 m/s (50 s); car02 lap 1 at 25 m/s (40 s).
	for car, v := range map[string]float64{"car01": 20, "car02": 25} {
		for i := 0; i <= 10; i++ {
			d := float64(i) * 100
			tw.AddLive(&telemetry.Live{Car: car, Lap: 1, LapStartNs: sec, TimeNs: sec + int64(d/v*float64(sec)),
				DistanceM: d, Speed: v * 3.6, Gear: 3, X: 1, Y: 1})
		}
		lt := 1000 / v
		tw.AddLap(mkLap(car, 1, 1+lt, false, lt/2, lt/2))
	}
	// A record sent again changes nothing.
	tw.AddLive(&telemetry.Live{Car: "car01", Lap: 1, LapStartNs: sec, TimeNs: 6 * sec, DistanceM: 100})
	tr := tw.Trace("car01", 1)
	if tr == nil || len(tr.D) != 11 || tr.T[10] != 50 || tr.Gear[3] != 3 {
		t.Fatalf("trace %+v", tr)
	}
	if at, ok := tr.at(250); !ok || at != 12.5 {
		t.Errorf("at 250 m: %v %v, want 12.5 s", at, ok)
	}
	laps := tw.Laps()
	if len(laps) != 2 || !laps[1].Best || laps[0].Best || !laps[0].Trace || laps[1].TimeMs != 40000 {
		t.Errorf("laps %+v", laps)
	}
	// car01 on lap 2: the tower shows both live deltas as the processor
	// published them.
	d, ds := -1.0, 4.0
	tw.AddLive(&telemetry.Live{Car: "car01", Lap: 2, LapStartNs: 100 * sec, TimeNs: 124 * sec, DistanceM: 500, DeltaBestS: &d, DeltaSessionS: &ds})
	r := rowOf(t, tw.Rows(), "car01")
	if r.DeltaSessionS == nil || *r.DeltaSessionS != 4 || *r.DeltaBestS != -1 {
		t.Errorf("delta to the session best %v, to the car's best %v", r.DeltaSessionS, r.DeltaBestS)
	}
}
