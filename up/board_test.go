package up

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
)

const sec = int64(time.Second)

func testLap(car string, n int32, start, end int64, top float64) *telemetry.Lap {
	third := (end - start) / 3
	return &telemetry.Lap{Car: car, Lap: n, StartNs: start, EndNs: end,
		SectorsNs: []int64{third, third, end - start - 2*third},
		Metrics:   []telemetry.Metric{{Name: lap.MTopSpeed, Value: top}}}
}

func TestBoardPositionsAndGaps(t *testing.T) {
	b := NewBoard([]string{"car01", "car02", "car03", "car04"})
	// car01 and car02 finish lap 1 and 2; car03 only lap 1; car04 none.
	b.Add(testLap("car01", 1, 0, 100*sec, 250))
	b.Add(testLap("car02", 1, sec, 101*sec+500e6, 260))
	b.Add(testLap("car03", 1, 2*sec, 103*sec, 240))
	b.Add(testLap("car02", 2, 101*sec+500e6, 199*sec, 255)) // car02 leads: first over the line on lap 2
	b.Add(testLap("car01", 2, 100*sec, 199*sec+250e6, 252))
	if b.Add(testLap("car01", 2, 100*sec, 199*sec+250e6, 252)) {
		t.Error("a redelivered lap was added again")
	}
	rows := b.Rows()
	want := []struct {
		car  string
		laps int
		gap  string
		last time.Duration
		best time.Duration
		top  float64
	}{
		{"car02", 2, "", 97500 * time.Millisecond, 97500 * time.Millisecond, 260},
		{"car01", 2, "+0.250", 99250 * time.Millisecond, 99250 * time.Millisecond, 252},
		{"car03", 1, "+1 lap", 101 * time.Second, 101 * time.Second, 240},
		{"car04", 0, "", 0, 0, 0},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Pos != i+1 || r.Car != w.car || r.Laps != w.laps || r.Gap != w.gap || r.Last != w.last || r.Best != w.best || r.TopSpeed != w.top {
			t.Errorf("row %d = %+v, want %+v", i, r, w)
		}
	}
	if got := rows[0].Sectors; len(got) != 3 || got[0]+got[1]+got[2] != rows[0].Last {
		t.Errorf("leader's sectors %v do not sum to its last lap %v", got, rows[0].Last)
	}
	var sb strings.Builder
	if err := b.Render(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, s := range []string{"POS", "TOP SPEED", "1:37.500", "leader", "+0.250", "+1 lap", "260.0 km/h"} {
		if !strings.Contains(out, s) {
			t.Errorf("board lacks %q:\n%s", s, out)
		}
	}
}

func TestBoardBestIsNotLast(t *testing.T) {
	b := NewBoard(nil)
	b.Add(testLap("car07", 1, 0, 90*sec, 0))
	b.Add(testLap("car07", 2, 90*sec, 185*sec, 0))
	r := b.Rows()[0]
	if r.Best != 90*time.Second || r.Last != 95*time.Second || r.TopSpeed != 0 {
		t.Errorf("row %+v: want best 1:30, last 1:35, no top speed", r)
	}
}

func TestLapLine(t *testing.T) {
	l := &telemetry.Lap{Car: "car01", Lap: 3, StartNs: 0, EndNs: 107728091000,
		SectorsNs: []int64{35120004000, 40001000000, 32607087000}}
	if got, want := LapLine(l), "car01 lap 3 1:47.728 s1 35.120 s2 40.001 s3 32.607"; got != want {
		t.Errorf("LapLine = %q, want %q", got, want)
	}
	l.PitLane = true
	if got := LapLine(l); !strings.HasSuffix(got, " pit") {
		t.Errorf("pit lap line %q lacks the pit mark", got)
	}
}

// The terminal tower fits 80 columns, paints the timing colours and
// marks a car in the pit lane.
func TestRenderTower(t *testing.T) {
	tw := web.NewTower(web.OrderRace, web.Drivers{"car01": {Number: "44", Name: "Lewis Hamilton"}}, 0)
	for _, l := range []telemetry.Lap{
		{Car: "car01", Lap: 1, StartNs: 0, EndNs: 95_123_000_000, SectorsNs: []int64{30_000_000_000, 35_000_000_000, 30_123_000_000}},
		{Car: "car02", Lap: 1, StartNs: 0, EndNs: 96_000_000_000, SectorsNs: []int64{29_000_000_000, 37_000_000_000, 30_000_000_000}},
		{Car: "car123456789", Lap: 1, StartNs: 0, EndNs: 99_000_000_000, SectorsNs: []int64{33_000_000_000, 33_000_000_000, 33_000_000_000}},
	} {
		tw.AddLap(&l)
	}
	tw.AddLive(&telemetry.Live{Car: "car02", Lap: 2, TimeNs: 97e9, InPit: true})
	var plain, coloured strings.Builder
	if err := RenderTower(&plain, tw.Rows(), false); err != nil {
		t.Fatal(err)
	}
	if err := RenderTower(&coloured, tw.Rows(), true); err != nil {
		t.Fatal(err)
	}
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if got := ansi.ReplaceAllString(coloured.String(), ""); got != plain.String() {
		t.Errorf("coloured tower without its colours:\n%s\nplain:\n%s", got, plain.String())
	}
	lines := strings.Split(strings.TrimRight(plain.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), plain.String())
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("%d columns: %q", n, l)
		}
	}
	want := []string{
		`^ P CAR +LAP +LAST +BEST +S1 +S2 +S3 +INT +GAP +PIT$`,
		`^ 1 44 Hamil +1 1:35\.123 1:35\.123 30\.000 35\.000 30\.123 +leader$`,
		`^ 2 car02 +1 1:36\.000 1:36\.000 29\.000 37\.000 30\.000 +\+0\.877 +\+0\.877 IN PIT$`,
		`^ 3 car12345 +1 1:39\.000 1:39\.000 33\.000 33\.000 33\.000 +\+3\.000 +\+3\.877$`,
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
	c := coloured.String()
	for _, code := range []string{"\x1b[1;35m1:35.123", "\x1b[1;35m29.000", "\x1b[1;35m33.000", "\x1b[1;32m37.000", "\x1b[1;32m1:36.000", "\x1b[30;43mIN PIT"} {
		if !strings.Contains(c, code) {
			t.Errorf("coloured tower lacks %q:\n%q", code, c)
		}
	}
}
