package alarm

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pitwall/pitwall/telemetry"
)

const t0 = int64(1_700_000_000_000_000_000)

func catalog(names ...string) *telemetry.ChannelCatalog {
	cat := &telemetry.ChannelCatalog{Car: "car01", Session: "s1"}
	for i, n := range names {
		unit := ""
		switch {
		case strings.Contains(n, "temp"):
			unit = "degC"
		case strings.Contains(n, "press"):
			unit = "bar"
		}
		cat.Channels = append(cat.Channels, telemetry.Channel{ID: int32(i + 1), Name: n, Unit: unit, RateHz: 10})
	}
	return cat
}

func parse(t *testing.T, src string) *Rules {
	t.Helper()
	rs, err := Parse("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// feed sends a frame of (channel id, value) pairs at t0+ms.
func feed(c *Car, ms int64, kv ...float64) []telemetry.Alarm {
	f := &telemetry.Frame{Car: "car01", Session: "s1", TimeNs: t0 + ms*1e6}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Samples = append(f.Samples, telemetry.Sample{ID: int32(kv[i]), Value: kv[i+1]})
	}
	return c.Frame(f, nil)
}

// A held rule is raised once its condition has held for its for, with
// since at the first sample that broke the limit; a glitch (one sample)
// and a shorter excursion raise nothing.
func TestAboveHeld(t *testing.T) {
	c := NewCar(parse(t, "rules:\n- {name: water_hot, channel: water_temp, above: 110, for: 2s, severity: critical}\n"), catalog("water_temp"))
	var got []telemetry.Alarm
	at := func(ms int64, v float64) { got = append(got, feed(c, ms, 1, v)...) }
	at(0, 100)
	at(500, 140) // a glitch
	at(1000, 100)
	for ms := int64(2000); ms <= 3500; ms += 500 { // 1.5 s over
		at(ms, 111)
	}
	at(4000, 109)
	if len(got) != 0 {
		t.Fatalf("raised on a glitch or a short excursion: %+v", got)
	}
	for ms := int64(5000); ms <= 8000; ms += 500 {
		at(ms, 112)
	}
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1 raise: %+v", len(got), got)
	}
	a := got[0]
	if !a.Active || a.TimeNs != t0+7000*1e6 || a.SinceNs != t0+5000*1e6 || a.Value != 112 || a.Rule != "water_hot" ||
		a.Channel != "water_temp" || a.Severity != telemetry.SeverityCritical || a.Condition != "water_temp > 110 degC for 2s" ||
		a.Message != a.Condition || a.Car != "car01" || a.Session != "s1" {
		t.Fatalf("raise %+v", a)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if act := c.Active(nil); len(act) != 1 || act[0].TimeNs != a.TimeNs {
		t.Fatalf("Active = %+v", act)
	}
	// Clears once under the limit for clear_after (default: for, 2 s).
	got = nil
	at(8500, 105)
	at(9000, 111) // back over: the clearing wait starts again
	for ms := int64(9500); ms <= 11500; ms += 500 {
		at(ms, 105)
	}
	if len(got) != 1 || got[0].Active || got[0].TimeNs != t0+11500*1e6 || got[0].SinceNs != a.TimeNs {
		t.Fatalf("clear: %+v", got)
	}
	if act := c.Active(nil); len(act) != 0 {
		t.Fatalf("Active after the clear = %+v", act)
	}
}

// A value hovering around the limit (a noisy sensor) raises and clears
// at most once per for + clear_after, and the deadband holds a raised
// alarm through the noise.
func TestFlickerDoesNotSpam(t *testing.T) {
	for _, tc := range []struct {
		rule    string
		maxEvts int
	}{
		{"{name: hot, channel: water_temp, above: 110, for: 1s}", 2 * 60 / 2},
		{"{name: hot, channel: water_temp, above: 110, for: 1s, deadband: 1}", 1},
	} {
		c := NewCar(parse(t, "rules:\n- "+tc.rule+"\n"), catalog("water_temp"))
		var n int
		for ms := int64(0); ms < 60_000; ms += 100 {
			v := 110.5 // over for 1.2 s, under for one sample: noise around 110
			if ms%1300 == 1200 {
				v = 109.8
			}
			n += len(feed(c, ms, 1, v))
		}
		if n == 0 || n > tc.maxEvts {
			t.Errorf("%s: %d events in a minute of noise at the limit, want 1..%d", tc.rule, n, tc.maxEvts)
		}
	}
}

// A guarded rule holds only while its guard does: low oil pressure at
// idle is no alarm, above 3000 rpm it is.
func TestGuard(t *testing.T) {
	c := NewCar(parse(t, "rules:\n- {name: oil_low, channel: oil_press, below: 1.5, when: {channel: rpm, above: 3000}, for: 1s}\n"),
		catalog("oil_press", "rpm"))
	var got []telemetry.Alarm
	for ms := int64(0); ms <= 3000; ms += 100 {
		got = append(got, feed(c, ms, 1, 1.0, 2, 1500)...) // idle
	}
	if len(got) != 0 {
		t.Fatalf("raised at idle: %+v", got)
	}
	got = append(got, feed(c, 3100, 2, 4000)...) // revs up: the hold starts
	for ms := int64(3200); ms <= 4100; ms += 100 {
		got = append(got, feed(c, ms, 1, 1.0)...)
	}
	if len(got) != 1 || got[0].SinceNs != t0+3100*1e6 || got[0].TimeNs != t0+4100*1e6 || got[0].Condition != "oil_press < 1.5 bar when rpm > 3000 for 1s" {
		t.Fatalf("got %+v", got)
	}
}

// A pattern raises one alarm per matching channel, each on its own.
func TestPatternPerChannel(t *testing.T) {
	c := NewCar(parse(t, "rules:\n- {name: tyres, channel: tyre_temp_*_mid, outside: [40, 120], for: 0s}\n- {name: brakes, channel: brake_temp_*, above: 900}\n"),
		catalog("tyre_temp_fl_mid", "tyre_temp_fr_mid", "tyre_temp_fl_inner", "speed"))
	if u := c.Unmatched(); len(u) != 1 || u[0] != "brakes" {
		t.Fatalf("Unmatched = %v", u)
	}
	got := feed(c, 0, 1, 80, 2, 30, 3, 10)
	if len(got) != 1 || got[0].Channel != "tyre_temp_fr_mid" || got[0].Value != 30 {
		t.Fatalf("got %+v", got)
	}
	got = feed(c, 100, 1, 130)
	if len(got) != 1 || got[0].Channel != "tyre_temp_fl_mid" {
		t.Fatalf("got %+v", got)
	}
}

// Fuel for fewer than N laps: the burn per lap is measured between
// crossings since the last refuel, and a refuel clears the alarm.
func TestFuelLaps(t *testing.T) {
	c := NewCar(parse(t, "rules:\n- {name: fuel_low, fuel_laps: 3, clear_after: 0s}\n"), catalog(telemetry.ChanFuel))
	var got []telemetry.Alarm
	fuel := 20.0
	ms := int64(0)
	lap := func() {
		for range 10 { // 4 l a lap
			ms += 1000
			fuel -= 0.4
			got = append(got, feed(c, ms, 1, fuel)...)
		}
		c.Crossing(t0 + ms*1e6)
	}
	got = append(got, feed(c, 0, 1, fuel)...)
	c.Crossing(t0)
	lap() // 16 l left, 4 laps
	lap() // 12 l, 3 laps
	if len(got) != 0 {
		t.Fatalf("raised with 3 or more laps of fuel: %+v", got)
	}
	ms += 1000
	fuel -= 0.4 // 11.6 l: 2.9 laps
	got = feed(c, ms, 1, fuel)
	if len(got) != 1 || !got[0].Active || got[0].Value < 2.89 || got[0].Value > 2.91 || got[0].Channel != telemetry.ChanFuel {
		t.Fatalf("got %+v", got)
	}
	// A pit stop fills the tank: cleared at once (clear_after 0), and
	// quiet until a lap at the new level is measured.
	fuel = 40
	ms += 30_000
	got = feed(c, ms, 1, fuel)
	if len(got) != 1 || got[0].Active {
		t.Fatalf("after refuelling: %+v", got)
	}
	c.Crossing(t0 + ms*1e6)
	if got := feed(c, ms+100, 1, 1); len(got) != 0 {
		t.Fatalf("raised before a lap was measured after the refuel: %+v", got)
	}
}

// Bad rules files give one error naming the file, the line and the rule.
func TestBadRules(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "rules.yaml is empty"},
		{"rules: []", "has no rules"},
		{"rule:\n  - name: x", `rules.yaml: line 1: unknown key "rule" (the file holds rules: [...])`},
		{"rules: {name: w}\n", `rules.yaml: line 1: cannot unmarshal !!map into a list of rules`},
		{"rules:\n  - name: hot\n    channel: water_temp\n", `rules.yaml:2: rule "hot": give exactly one of above, below, outside`},
		{"rules:\n  - {name: a, channel: x, above: 1}\n  - name: hot\n    channel: water_temp\n    abov: 110\n", `rules.yaml:3: rule 2: unknown key "abov" on line 5`},
		{"rules:\n  - name: hot\n    channel: water_temp\n    above: hot\n", `rules.yaml:2: rule 1: line 4: cannot unmarshal !!str` + " `hot`"},
		{"rules:\n  - {name: hot, channel: water_temp, above: 110, for: 2 seconds}\n", `rule "hot": for "2 seconds": want a duration`},
		{"rules:\n  - {name: hot, channel: water_temp, above: 110, severity: high}\n", `severity "high"`},
		{"rules:\n  - {name: t, channel: tyre_temp, outside: [120, 40]}\n", `outside [120 40]: want [low, high]`},
		{"rules:\n  - {name: t, channel: tyre_temp, outside: [40]}\n", `want [low, high]`},
		{"rules:\n  - {name: o, channel: oil_press, below: 1.5, when: {channel: rpm}}\n", `when: give exactly one of above or below`},
		{"rules:\n  - {name: o, channel: oil_press, below: 1.5, when: {channel: rpm, abve: 3000}}\n", `when: unknown key "abve"`},
		{"rules:\n  - {name: o, channel: oil_press, below: 1.5, when: {channel: rpm*, above: 3}}\n", `when: channel "rpm*"`},
		{"rules:\n  - {name: water hot, channel: water_temp, above: 110}\n", `rule "water hot": name must be`},
		{"rules:\n  - {name: w, channel: 'water temp', above: 110}\n", `channel "water temp"`},
		{"rules:\n  - {name: w, channel: 'tyre[', above: 110}\n", `channel "tyre["`},
		{"rules:\n  - {name: w, above: 110}\n", `no channel`},
		{"rules:\n  - {name: f, fuel_laps: 0}\n", `fuel_laps 0`},
		{"rules:\n  - {name: f, fuel_laps: 2, channel: 'fuel*'}\n", `not a pattern`},
		{"rules:\n  - {name: w, channel: w, above: .nan}\n", `finite`},
		{"rules:\n  - {name: w, channel: w, above: 1, deadband: -1}\n", `deadband -1 is negative`},
		{"rules:\n  - {name: w, channel: w, above: 1}\n  - {name: w, channel: v, above: 1}\n", `rules.yaml:3: rule "w": the name is used by the rule on line 2 too`},
		{"rules:\n  - just a string\n", `rules.yaml:2: rule 1 is not a mapping`},
	} {
		_, err := Parse("rules.yaml", []byte(tc.src))
		if !errors.Is(err, ErrRules) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q:\n got %v\nwant one line containing %q", tc.src, err, tc.want)
		}
	}
	if _, err := Load("/nonexistent/rules.yaml"); !errors.Is(err, ErrRules) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// The example shipped beside the dashboards holds the four rules.
func TestExampleFile(t *testing.T) {
	rs, err := Load("../../dashboards/alarms.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Rule{}
	for _, r := range rs.Rules {
		byName[r.Name] = r
	}
	w, o, ty, f := byName["water_hot"], byName["oil_pressure_low"], byName["tyre_temp_window"], byName["fuel_low"]
	if w.Channel != telemetry.ChanWaterTemp || w.Op != Above || w.Hi != 110 || w.For != 2*time.Second {
		t.Errorf("water: %+v", w)
	}
	if o.Channel != telemetry.ChanOilPress || o.Op != Below || o.Lo != 1.5 || o.When == nil || *o.When != (Guard{Channel: telemetry.ChanRPM, Above: true, Value: 3000}) {
		t.Errorf("oil: %+v", o)
	}
	if ty.Op != Outside || ty.Lo >= ty.Hi {
		t.Errorf("tyres: %+v", ty)
	}
	if f.Op != FuelLaps || f.Laps <= 0 || f.Channel != telemetry.ChanFuel {
		t.Errorf("fuel: %+v", f)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"rules:\n- {name: water_hot, channel: water_temp, above: 110, for: 2s, severity: critical}\n",
		"rules:\n- {name: o, channel: oil_press, below: 1.5, when: {channel: rpm, above: 3000}, for: 1s}\n",
		"rules:\n- {name: t, channel: tyre_temp_*_mid, outside: [40, 120], deadband: 2, clear_after: 5s}\n",
		"rules:\n- {name: f, fuel_laps: 2}\n",
		"rules: [[]]", "rules: &a [*a]", "",
	} {
		f.Add([]byte(s))
	}
	cat := catalog("water_temp", "oil_press", "rpm", "tyre_temp_fl_mid", telemetry.ChanFuel)
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Parse("fuzz.yaml", b)
		if err != nil {
			if !errors.Is(err, ErrRules) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error not one ErrRules line: %q", err)
			}
			return
		}
		c := NewCar(rs, cat)
		for ms := int64(0); ms < 5000; ms += 250 {
			for _, a := range feed(c, ms, 1, 200, 2, 0.5, 3, 9000, 4, 300, 5, 1) {
				if err := a.Validate(); err != nil {
					t.Fatalf("rule %+v gave an invalid alarm: %v", rs.Rules, err)
				}
			}
			c.Crossing(t0 + ms*1e6)
		}
	})
}

// Channel ids beyond the dense table (a device's own numbering) work the
// same.
func TestSparseChannelIDs(t *testing.T) {
	cat := &telemetry.ChannelCatalog{Car: "car01", Session: "s1", Channels: []telemetry.Channel{
		{ID: 70000, Name: "oil_press", Unit: "bar", RateHz: 10}, {ID: 3, Name: "rpm", RateHz: 10}}}
	c := NewCar(parse(t, "rules:\n- {name: oil_low, channel: oil_press, below: 1.5, when: {channel: rpm, above: 3000}}\n"), cat)
	if got := feed(c, 0, 3, 4000, 70000, 1.2); len(got) != 1 || got[0].Channel != "oil_press" {
		t.Fatalf("got %+v", got)
	}
}
