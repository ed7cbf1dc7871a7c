package web

import (
	"cmp"
	"slices"

	"github.com/pitwall/pitwall/telemetry"
)

// MaxLapsPerCar bounds the lap traces kept per car (the oldest go first):
// about 30 KiB a lap at 10 records a second.
const MaxLapsPerCar = 300

// LapTrace is one lap of one car as its telemetry.live records drew it:
// one point a tenth of a second, by distance from the line. The lap
// analysis plots two of them against distance.
type LapTrace struct {
	Car string `json:"car"`
	Lap int32  `json:"lap"`
	// D is metres from the line; T seconds since the lap's start.
	D []float32 `json:"d"`
	T []float32 `json:"t"`
	// Speed (km/h), Throttle (%), Brake (bar) and Gear at each point.
	Speed    []float32 `json:"speed"`
	Throttle []float32 `json:"throttle"`
	Brake    []float32 `json:"brake"`
	Gear     []int8    `json:"gear"`
	// X and Y are the positions (see Map).
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

func (lt *LapTrace) add(l *telemetry.Live) {
	if n := len(lt.D); n > 0 && float32(l.DistanceM) <= lt.D[n-1] {
		return // a record again (a processor replaying), or standing still
	}
	lt.D = append(lt.D, float32(l.DistanceM))
	lt.T = append(lt.T, float32(float64(l.TimeNs-l.LapStartNs)/1e9))
	lt.Speed = append(lt.Speed, float32(l.Speed))
	lt.Throttle = append(lt.Throttle, float32(l.Throttle))
	lt.Brake = append(lt.Brake, float32(l.Brake))
	lt.Gear = append(lt.Gear, int8(max(-1, min(l.Gear, 20))))
	lt.X = append(lt.X, l.X)
	lt.Y = append(lt.Y, l.Y)
}

// at returns the lap's elapsed seconds at distance d, interpolated; ok is
// false outside the trace.
func (lt *LapTrace) at(d float64) (float64, bool) {
	n := len(lt.D)
	if n < 2 || d < float64(lt.D[0]) || d > float64(lt.D[n-1]) {
		return 0, false
	}
	i, _ := slices.BinarySearch(lt.D, float32(d))
	if i == 0 {
		return float64(lt.T[0]), true
	}
	d0, d1 := float64(lt.D[i-1]), float64(lt.D[i])
	t0, t1 := float64(lt.T[i-1]), float64(lt.T[i])
	if d1 == d0 {
		return t1, true
	}
	return t0 + (t1-t0)*(d-d0)/(d1-d0), true
}

// lapStore keeps every car's lap traces.
type lapStore struct {
	cars map[string]*carLaps
}

type carLaps struct {
	laps []*LapTrace // by lap number
}

func newLapStore() *lapStore { return &lapStore{cars: map[string]*carLaps{}} }

// add takes one live record into its lap's trace.
func (s *lapStore) add(l *telemetry.Live) {
	if l.Lap == 0 {
		return
	}
	c := s.cars[l.Car]
	if c == nil {
		c = &carLaps{}
		s.cars[l.Car] = c
	}
	i, found := slices.BinarySearchFunc(c.laps, l.Lap, func(t *LapTrace, n int32) int { return cmp.Compare(t.Lap, n) })
	if !found {
		c.laps = slices.Insert(c.laps, i, &LapTrace{Car: l.Car, Lap: l.Lap})
		if len(c.laps) > MaxLapsPerCar {
			c.laps = slices.Delete(c.laps, 0, 1)
			i--
		}
		if i < 0 {
			return
		}
	}
	c.laps[i].add(l)
}

// get returns car's trace of lap n, or nil.
func (s *lapStore) get(car string, n int32) *LapTrace {
	c := s.cars[car]
	if c == nil {
		return nil
	}
	i, found := slices.BinarySearchFunc(c.laps, n, func(t *LapTrace, n int32) int { return cmp.Compare(t.Lap, n) })
	if !found {
		return nil
	}
	return c.laps[i]
}

// LapInfo is a completed lap the lap analysis offers.
type LapInfo struct {
	Car    string `json:"car"`
	Number string `json:"number"`
	Lap    int32  `json:"lap"`
	TimeMs int64  `json:"time_ms"`
	Valid  bool   `json:"valid"`
	Pit    bool   `json:"pit"`
	// Trace is true when the server has the lap's trace (it saw the lap's
	// live records).
	Trace bool `json:"trace"`
	// Best marks the session's best lap.
	Best bool `json:"best"`
}

// Laps lists the completed laps, by car and lap.
func (t *Tower) Laps() []LapInfo {
	traces := t.traces
	var out []LapInfo
	for _, c := range t.cars {
		num := t.drivers.Of(c.car).Number
		for i := range c.laps {
			l := &c.laps[i]
			tr := traces.get(c.car, l.Lap)
			out = append(out, LapInfo{Car: c.car, Number: num, Lap: l.Lap, TimeMs: l.LapTime().Milliseconds(),
				Valid: lapValid(l), Pit: l.PitLane, Trace: tr != nil && len(tr.D) > 1,
				Best: lapValid(l) && l.LapTime() == t.bestLap})
		}
	}
	slices.SortFunc(out, func(a, b LapInfo) int {
		if a.Car != b.Car {
			return cmp.Compare(a.Car, b.Car)
		}
		return cmp.Compare(a.Lap, b.Lap)
	})
	return out
}

// Lap returns car's completed lap n.
func (t *Tower) Lap(car string, n int32) (telemetry.Lap, bool) {
	c := t.cars[car]
	if c == nil {
		return telemetry.Lap{}, false
	}
	for _, l := range c.laps {
		if l.Lap == n {
			return l, true
		}
	}
	return telemetry.Lap{}, false
}

// Trace returns car's trace of lap n, or nil.
func (t *Tower) Trace(car string, n int32) *LapTrace { return t.traces.get(car, n) }
