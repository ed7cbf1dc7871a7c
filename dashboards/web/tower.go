package web

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/pitwall/pitwall/processors/lap"
	"github.com/pitwall/pitwall/telemetry"
)

// Sector colours, as timing screens paint them.
const (
	Purple = "purple" // the session's best time of that sector
	Green  = "green"  // the car's own best of that sector
	Yellow = "yellow" // slower than the car's best
)

// Orders of the tower.
const (
	OrderRace = "race" // most laps, then who crossed the line first
	OrderBest = "best" // practice and qualifying: best lap first
)

// pitResume: a car back on the pit limiter this soon after it was off
// is still on the same stop (a limiter switched off at the box and on
// again), not on a new one.
const pitResume = 20 * time.Second

// Tower is the live timing tower: every car's laps (telemetry.laps) and
// lap in progress (telemetry.live). It is pure (no I/O, no clock) and
// not safe for concurrent use.
type Tower struct {
	order   string
	drivers Drivers
	trapM   float64 // speed trap: metres after the line; 0: none
	cars    map[string]*towerCar
	traces  *lapStore
	// session bests
	bestLap    time.Duration
	bestSector []time.Duration
}

type towerCar struct {
	car        string
	laps       []telemetry.Lap // by lap number, completed
	ends       map[int32]int64
	best       time.Duration
	bestSector []time.Duration
	top        float64
	live       telemetry.Live
	hasLive    bool
	pitStops   int
	pitSince   int64 // sensor time the car entered the pit lane; 0: not in it
	pitVisit   int64 // when the last stop began
	pitOutNs   int64 // when the car last left the pit lane
	lastPitNs  time.Duration
	trap       float64 // speed at the trap on its latest lap that passed it
	trapLap    int32
}

// NewTower returns an empty tower: order is OrderRace or OrderBest,
// trapM the distance after the line of the speed trap (0: none).
func NewTower(order string, drivers Drivers, trapM float64) *Tower {
	if order != OrderBest {
		order = OrderRace
	}
	return &Tower{order: order, drivers: drivers, trapM: trapM, cars: map[string]*towerCar{}, traces: newLapStore()}
}

func (t *Tower) car(id string) *towerCar {
	c := t.cars[id]
	if c == nil {
		c = &towerCar{car: id, ends: map[int32]int64{}}
		t.cars[id] = c
	}
	return c
}

// Expect lists car on the tower before its first lap or live record.
func (t *Tower) Expect(car string) { t.car(car) }

// AddLap records a completed lap and reports whether it was new.
func (t *Tower) AddLap(l *telemetry.Lap) bool {
	c := t.car(l.Car)
	if _, seen := c.ends[l.Lap]; seen {
		return false
	}
	c.ends[l.Lap] = l.EndNs
	cp := *l
	cp.SectorsNs = slices.Clone(l.SectorsNs)
	i, _ := slices.BinarySearchFunc(c.laps, l.Lap, func(x telemetry.Lap, n int32) int { return cmp.Compare(x.Lap, n) })
	c.laps = slices.Insert(c.laps, i, cp)
	valid := lapValid(l)
	if valid {
		lt := l.LapTime()
		if c.best == 0 || lt < c.best {
			c.best = lt
		}
		if t.bestLap == 0 || lt < t.bestLap {
			t.bestLap = lt
		}
		for i, s := range l.SectorsNs {
			d := time.Duration(s)
			c.bestSector = setMin(c.bestSector, i, d)
			t.bestSector = setMin(t.bestSector, i, d)
		}
	}
	for _, m := range l.Metrics {
		if m.Name == lap.MTopSpeed && m.Value > c.top {
			c.top = m.Value
		}
	}
	if l.PitLane && !c.hasLive && (i == 0 || !c.laps[i-1].PitLane) {
		c.pitStops++ // no live records: count pit visits from the laps
	}
	return true
}

func setMin(s []time.Duration, i int, d time.Duration) []time.Duration {
	for len(s) <= i {
		s = append(s, 0)
	}
	if s[i] == 0 || d < s[i] {
		s[i] = d
	}
	return s
}

// lapValid reads the lap's valid metric; a lap without one counts as
// valid unless it went through the pit lane.
func lapValid(l *telemetry.Lap) bool {
	for _, m := range l.Metrics {
		if m.Name == lap.MValid {
			return m.Value == 1
		}
	}
	return !l.PitLane
}

// AddLive records a car's lap in progress; an older record than the one
// held is ignored (a processor replaying after a restart).
func (t *Tower) AddLive(l *telemetry.Live) {
	t.traces.add(l)
	c := t.car(l.Car)
	if c.hasLive && l.TimeNs <= c.live.TimeNs {
		return
	}
	prev := c.live
	switch {
	case l.InPit && c.pitSince == 0 && c.pitOutNs != 0 && l.TimeNs-c.pitOutNs < int64(pitResume):
		c.pitSince = c.pitVisit // the limiter off for a moment: the same stop
	case l.InPit && c.pitSince == 0:
		c.pitSince, c.pitVisit = l.TimeNs, l.TimeNs
		c.pitStops++
	case !l.InPit && c.pitSince != 0:
		c.lastPitNs = time.Duration(l.TimeNs - c.pitSince)
		c.pitSince, c.pitOutNs = 0, l.TimeNs
	}
	if t.trapM > 0 && c.hasLive && prev.Lap == l.Lap && prev.DistanceM < t.trapM && l.DistanceM >= t.trapM && l.DistanceM > prev.DistanceM {
		f := (t.trapM - prev.DistanceM) / (l.DistanceM - prev.DistanceM)
		c.trap, c.trapLap = prev.Speed+f*(l.Speed-prev.Speed), l.Lap
	}
	c.live, c.hasLive = *l, true
}

// Sector is one sector time on the tower.
type Sector struct {
	// Ms is the time in milliseconds.
	Ms int64 `json:"ms"`
	// Colour is Purple, Green, Yellow or "" (an invalid lap's sector).
	Colour string `json:"colour,omitempty"`
}

// Row is one car on the tower.
type Row struct {
	Pos    int    `json:"pos"`
	Car    string `json:"car"`
	Number string `json:"number"`
	Driver string `json:"driver"`
	Team   string `json:"team"`
	Colour string `json:"colour"`
	Laps   int    `json:"laps"`
	// LastMs and BestMs are lap times in milliseconds (0: none).
	LastMs     int64  `json:"last_ms"`
	LastColour string `json:"last_colour,omitempty"`
	BestMs     int64  `json:"best_ms"`
	BestColour string `json:"best_colour,omitempty"`
	// Sectors are the last completed lap's.
	Sectors []Sector `json:"sectors"`
	// TheoreticalMs is the sum of the car's best sectors (0: not every
	// sector has a valid time yet).
	TheoreticalMs int64 `json:"theoretical_ms"`
	// Gap is behind the leader, Interval behind the car ahead: "+1.234",
	// "+1 lap", "" for the leader or when unknown.
	Gap      string `json:"gap"`
	Interval string `json:"interval"`
	// Live: the lap in progress. LapStartNs and TimeNs are sensor times;
	// the page runs the lap clock from TimeNs-LapStartNs.
	LiveLap    int32    `json:"live_lap"`
	LapStartNs int64    `json:"lap_start_ns"`
	TimeNs     int64    `json:"time_ns"`
	Sector     int32    `json:"sector"`
	DistanceM  float64  `json:"distance_m"`
	DeltaBestS *float64 `json:"delta_best_s"`
	// DeltaSessionS is the live delta to the session's best lap, as the
	// processor published it (telemetry.Live); nil before one.
	DeltaSessionS *float64 `json:"delta_session_s"`
	Speed         float64  `json:"speed"`
	InPit         bool     `json:"in_pit"`
	PitStops      int      `json:"pit_stops"`
	PitTimeMs     int64    `json:"pit_time_ms"` // in the pit lane now, or the last visit
	TrapKmh       float64  `json:"trap_kmh"`
	TopSpeedKmh   float64  `json:"top_speed_kmh"`
	X             float64  `json:"x"`
	Y             float64  `json:"y"`
	HasPos        bool     `json:"has_pos"`
	// Alarm is the severity of the car's most severe raised alarm, ""
	// for none (set by Alarms.Mark).
	Alarm string `json:"alarm,omitempty"`
}

// Rows returns the tower in order.
func (t *Tower) Rows() []Row {
	cs := make([]*towerCar, 0, len(t.cars))
	for _, c := range t.cars {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, t.compare)
	rows := make([]Row, len(cs))
	for i, c := range cs {
		r := t.row(c)
		r.Pos = i + 1
		if i > 0 {
			if t.order == OrderBest {
				r.Gap, r.Interval = bestGap(cs[0], c), bestGap(cs[i-1], c)
			} else {
				r.Gap, r.Interval = raceGap(cs[0], c), raceGap(cs[i-1], c)
			}
		}
		rows[i] = r
	}
	return rows
}

func (t *Tower) compare(x, y *towerCar) int {
	if t.order == OrderBest {
		switch {
		case x.best != 0 && y.best == 0:
			return -1
		case x.best == 0 && y.best != 0:
			return 1
		case x.best != y.best:
			return cmp.Compare(x.best, y.best)
		}
		return cmp.Compare(x.car, y.car)
	}
	xl, yl := len(x.laps), len(y.laps)
	if xl != yl {
		return cmp.Compare(yl, xl)
	}
	if xl > 0 {
		xe, ye := x.laps[xl-1].EndNs, y.laps[yl-1].EndNs
		if xe != ye {
			return cmp.Compare(xe, ye)
		}
	}
	return cmp.Compare(x.car, y.car)
}

func (t *Tower) row(c *towerCar) Row {
	d := t.drivers.Of(c.car)
	r := Row{Car: c.car, Number: d.Number, Driver: d.Name, Team: d.Team, Colour: d.Colour, Laps: len(c.laps),
		BestMs: c.best.Milliseconds(), PitStops: c.pitStops, TrapKmh: round1(c.trap), TopSpeedKmh: round1(c.top)}
	if c.best != 0 {
		r.BestColour = Green
		if c.best == t.bestLap {
			r.BestColour = Purple
		}
	}
	if n := len(c.laps); n > 0 {
		last := &c.laps[n-1]
		lt := last.LapTime()
		r.LastMs = lt.Milliseconds()
		valid := lapValid(last)
		r.LastColour = colour(valid, lt, c.best, t.bestLap)
		for i, s := range last.SectorsNs {
			d := time.Duration(s)
			r.Sectors = append(r.Sectors, Sector{Ms: d.Milliseconds(), Colour: colour(valid, d, at(c.bestSector, i), at(t.bestSector, i))})
		}
	}
	if len(c.bestSector) > 0 && !slices.Contains(c.bestSector, 0) && len(c.bestSector) == len(t.bestSector) {
		var sum time.Duration
		for _, s := range c.bestSector {
			sum += s
		}
		r.TheoreticalMs = sum.Milliseconds()
	}
	if c.hasLive {
		l := &c.live
		r.LiveLap, r.LapStartNs, r.TimeNs, r.Sector, r.DistanceM = l.Lap, l.LapStartNs, l.TimeNs, l.Sector, round1(l.DistanceM)
		r.DeltaBestS, r.DeltaSessionS, r.Speed, r.InPit = l.DeltaBestS, l.DeltaSessionS, round1(l.Speed), l.InPit
		r.X, r.Y, r.HasPos = l.X, l.Y, l.X != 0 || l.Y != 0
		if c.pitSince != 0 {
			r.PitTimeMs = (l.TimeNs - c.pitSince) / 1e6
		} else {
			r.PitTimeMs = c.lastPitNs.Milliseconds()
		}
	}
	return r
}

func at(s []time.Duration, i int) time.Duration {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// colour paints a time: purple for the session best, green for the
// car's own best, yellow otherwise; none for an invalid lap's.
func colour(valid bool, d, carBest, sessionBest time.Duration) string {
	switch {
	case !valid:
		return ""
	case d == sessionBest:
		return Purple
	case d == carBest:
		return Green
	}
	return Yellow
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// raceGap is how far c is behind ahead at the line: by the time between
// their crossings at the end of c's last lap, or in laps.
func raceGap(ahead, c *towerCar) string {
	n := len(c.laps)
	if n == 0 {
		return ""
	}
	if down := len(ahead.laps) - n; down > 0 {
		if down == 1 {
			return "+1 lap"
		}
		return "+" + itoa(down) + " laps"
	}
	at, ok := ahead.ends[c.laps[n-1].Lap]
	if !ok {
		return ""
	}
	return "+" + seconds(time.Duration(c.laps[n-1].EndNs-at))
}

// bestGap is how far c's best lap is behind ahead's.
func bestGap(ahead, c *towerCar) string {
	if c.best == 0 || ahead.best == 0 {
		return ""
	}
	return "+" + seconds(c.best-ahead.best)
}
