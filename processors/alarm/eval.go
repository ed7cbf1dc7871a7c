package alarm

import (
	"path"
	"slices"

	"github.com/pitwall/pitwall/telemetry"
)

// refuelMin is how much more fuel (in the channel's unit) at a crossing
// than at the one before counts as a refuel.
const refuelMin = 1.0

// Car evaluates the rules on one car's frames (one session). It is not
// safe for concurrent use.
type Car struct {
	car, session string
	insts        []*instance
	// readers[id] are the instances reading channel id, as their value
	// or as their guard; a slice, not a map, because it is looked up for
	// every sample (catalog ids are small: at most telemetry.MaxChannels
	// channels, ids from 1). Ids beyond maxDenseID go to sparse.
	readers   [][]reader
	sparse    map[int32][]reader
	fuel      []*instance
	unmatched []string
	touched   []*instance
	gen       uint64
}

// reader is an instance reading a channel: as its value or its guard.
type reader struct {
	in    *instance
	guard bool
}

// maxDenseID is the largest channel id Car keeps in a slice.
const maxDenseID = 1 << 16

func (c *Car) addReader(id int32, r reader) {
	if id < 0 || id > maxDenseID {
		if c.sparse == nil {
			c.sparse = map[int32][]reader{}
		}
		c.sparse[id] = append(c.sparse[id], r)
		return
	}
	for int(id) >= len(c.readers) {
		c.readers = append(c.readers, nil)
	}
	c.readers[id] = append(c.readers[id], r)
}

func (c *Car) readersOf(id int32) []reader {
	if id >= 0 && int(id) < len(c.readers) {
		return c.readers[id]
	}
	return c.sparse[id]
}

// instance is one rule on one channel of the car.
type instance struct {
	rule      *Rule
	channel   string
	condition string

	value, guard       float64
	hasValue, hasGuard bool

	pending  bool  // the condition holds, since since
	since    int64 //
	active   bool  // raised at raised
	raised   int64
	clearing bool  // raised, and the condition has not held since clearSince
	clearAt  int64 //
	seen     uint64

	// fuel_laps
	baseFuel, lastFuel float64
	laps               int
	crossed            bool
}

// NewCar returns the evaluator of rs for a car with catalog cat.
func NewCar(rs *Rules, cat *telemetry.ChannelCatalog) *Car {
	c := &Car{car: cat.Car, session: cat.Session}
	ids := map[string]int32{}
	for _, ch := range cat.Channels {
		ids[ch.Name] = ch.ID
	}
	for ri := range rs.Rules {
		r := &rs.Rules[ri]
		gid, hasGuard := int32(0), true
		if r.When != nil {
			gid, hasGuard = ids[r.When.Channel]
		}
		matched := false
		for _, ch := range cat.Channels {
			if ok, _ := path.Match(r.Channel, ch.Name); !ok || !hasGuard {
				continue
			}
			matched = true
			in := &instance{rule: r, channel: ch.Name, condition: r.Condition(ch.Name, ch.Unit)}
			c.insts = append(c.insts, in)
			c.addReader(ch.ID, reader{in: in})
			if r.When != nil {
				c.addReader(gid, reader{in: in, guard: true})
			}
			if r.Op == FuelLaps {
				c.fuel = append(c.fuel, in)
			}
		}
		if !matched {
			c.unmatched = append(c.unmatched, r.Name)
		}
	}
	return c
}

// Unmatched names the rules that found no channel (or no guard channel)
// in the car's catalog: they raise nothing for it.
func (c *Car) Unmatched() []string { return c.unmatched }

// Frame evaluates the rules on f, the car's next frame, and appends the
// alarms raised and cleared at it to out.
func (c *Car) Frame(f *telemetry.Frame, out []telemetry.Alarm) []telemetry.Alarm {
	c.gen++
	c.touched = c.touched[:0]
	for _, s := range f.Samples {
		for _, r := range c.readersOf(s.ID) {
			if r.guard {
				r.in.guard, r.in.hasGuard = s.Value, true
			} else {
				r.in.value, r.in.hasValue = s.Value, true
			}
			c.touch(r.in)
		}
	}
	for _, in := range c.touched {
		out = c.step(in, f.TimeNs, out)
	}
	return out
}

func (c *Car) touch(in *instance) {
	if in.seen != c.gen {
		in.seen = c.gen
		c.touched = append(c.touched, in)
	}
}

// Crossing tells the fuel rules the car crossed the start/finish line at
// sensor time ns (the fuel per lap is measured between crossings).
func (c *Car) Crossing(ns int64) {
	for _, in := range c.fuel {
		if !in.hasValue {
			continue
		}
		switch {
		case !in.crossed || in.value > in.lastFuel+refuelMin:
			in.baseFuel, in.laps, in.crossed = in.value, 0, true
		default:
			in.laps++
		}
		in.lastFuel = in.value
	}
}

// Active appends the car's alarms raised and not cleared, as raised.
func (c *Car) Active(out []telemetry.Alarm) []telemetry.Alarm {
	for _, in := range c.insts {
		if in.active {
			out = append(out, c.event(in, true, in.raised, in.raised))
		}
	}
	return out
}

// step moves in's state on to sensor time t.
func (c *Car) step(in *instance, t int64, out []telemetry.Alarm) []telemetry.Alarm {
	holds := in.holds()
	r := in.rule
	if !in.active {
		switch {
		case !holds:
			in.pending = false
		case !in.pending:
			in.pending, in.since = true, t
		}
		if in.pending && t-in.since >= int64(r.For) {
			in.active, in.raised, in.clearing = true, t, false
			out = append(out, c.event(in, true, t, in.since))
		}
		return out
	}
	switch {
	case holds:
		in.clearing = false
	case !in.clearing:
		in.clearing, in.clearAt = true, t
	}
	if in.clearing && t-in.clearAt >= int64(r.ClearAfter) {
		in.active, in.pending, in.clearing = false, false, false
		out = append(out, c.event(in, false, t, in.raised))
	}
	return out
}

// holds reports whether in's condition holds now; while raised, the
// limits are moved by the deadband to the safe side.
func (in *instance) holds() bool {
	r := in.rule
	if !in.hasValue {
		return false
	}
	if g := r.When; g != nil {
		if !in.hasGuard || (g.Above && !(in.guard > g.Value)) || (!g.Above && !(in.guard < g.Value)) {
			return false
		}
	}
	db := 0.0
	if in.active {
		db = r.Deadband
	}
	v := in.value
	switch r.Op {
	case Above:
		return v > r.Hi-db
	case Below:
		return v < r.Lo+db
	case Outside:
		return v < r.Lo+db || v > r.Hi-db
	case FuelLaps:
		left, ok := in.lapsLeft()
		return ok && left < r.Laps+db
	}
	return false
}

// lapsLeft is the fuel left in laps, at the mean fuel per lap since the
// last refuel; ok is false until a lap has been measured.
func (in *instance) lapsLeft() (float64, bool) {
	if in.laps == 0 {
		return 0, false
	}
	per := (in.baseFuel - in.lastFuel) / float64(in.laps)
	if !(per > 0) {
		return 0, false
	}
	return in.value / per, true
}

func (c *Car) event(in *instance, active bool, t, since int64) telemetry.Alarm {
	v := in.value
	if in.rule.Op == FuelLaps {
		v, _ = in.lapsLeft()
	}
	msg := in.rule.Message
	if msg == "" {
		msg = in.condition
	}
	return telemetry.Alarm{Car: c.car, Session: c.session, Rule: in.rule.Name, Channel: in.channel, Severity: in.rule.Severity,
		Message: msg, Condition: clip(in.condition), Active: active, TimeNs: t, SinceNs: since, Value: v}
}

func clip(s string) string {
	if len(s) > telemetry.MaxAlarmText {
		return s[:telemetry.MaxAlarmText]
	}
	return s
}

// Names lists the rules, for a page that shows which are armed.
func (rs *Rules) Names() []string {
	out := make([]string, len(rs.Rules))
	for i := range rs.Rules {
		out[i] = rs.Rules[i].Name
	}
	return slices.Clip(out)
}
